import Tensor

/// Inverted dropout: in training each entry is zeroed with probability `p` and the
/// survivors are scaled by `1 / (1 - p)`, so evaluation is the identity.
public final class Dropout: Layer {
    public let p: Float
    /// The layer's own stream (DESIGN.md: one derived stream per use); public so that
    /// checkpoints can save it and tests can replay a forward pass.
    public var rng: RNG
    /// Per-entry multiplier of the last training forward pass: 0 or 1/(1-p).
    public let mask = Tensor(shape: [0])
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var lastTraining = false

    public init(p: Float, rng: RNG) {
        precondition(p >= 0 && p <= 1, "dropout probability \(p) outside [0, 1]")
        self.p = p
        self.rng = rng
    }

    public var summary: String { "Dropout(\(p))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            lastTraining = training && p > 0
            guard lastTraining else {
                output.copy(from: x)
                return output
            }
            output.resize(x.shape)
            mask.resize(x.shape)
            let n = x.count, xp = x.data, yp = output.data, mp = mask.data
            // p == 1 would scale by infinity; PyTorch returns zeros, and so do we.
            let scale: Float = p < 1 ? 1 / (1 - p) : 0
            for i in 0..<n { mp[i] = rng.uniform() < p ? 0 : scale }
            for i in 0..<n { yp[i] = xp[i] * mp[i] }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            guard lastTraining else {
                gradInput.copy(from: dy)
                return gradInput
            }
            precondition(dy.count == mask.count, "Dropout.backward: gradient \(dy.shape) for output \(mask.shape)")
            gradInput.resize(dy.shape)
            let n = dy.count, gp = dy.data, mp = mask.data, out = gradInput.data
            for i in 0..<n { out[i] = gp[i] * mp[i] }
            return gradInput
        }
    }
}
