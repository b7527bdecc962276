/// Weight initialisers. `fanIn`/`fanOut` count inputs/outputs per unit
/// (for a conv kernel: channels x kernel area).
public enum Initializer: Sendable {
    /// He (Kaiming) normal, std = sqrt(2 / fanIn): keeps ReLU activations' variance.
    case heNormal
    /// He uniform, bound sqrt(6 / fanIn): the same variance as `heNormal`.
    case heUniform
    /// Glorot (Xavier) uniform, bound sqrt(6 / (fanIn + fanOut)).
    case glorotUniform
    /// Glorot normal, std = sqrt(2 / (fanIn + fanOut)).
    case glorotNormal
    case zeros

    public func fill(_ t: Tensor, fanIn: Int, fanOut: Int, rng: inout RNG) {
        let n = t.count, p = t.data
        switch self {
        case .heNormal:
            let std = (2 / Float(fanIn)).squareRoot()
            for i in 0..<n { p[i] = rng.normal() * std }
        case .heUniform:
            let b = (6 / Float(fanIn)).squareRoot()
            for i in 0..<n { p[i] = (rng.uniform() * 2 - 1) * b }
        case .glorotUniform:
            let b = (6 / Float(fanIn + fanOut)).squareRoot()
            for i in 0..<n { p[i] = (rng.uniform() * 2 - 1) * b }
        case .glorotNormal:
            let std = (2 / Float(fanIn + fanOut)).squareRoot()
            for i in 0..<n { p[i] = rng.normal() * std }
        case .zeros:
            t.zero()
        }
    }
}
