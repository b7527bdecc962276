import Tensor

/// A pre-norm transformer encoder block, as in ViT:
/// `x1 = x + MHSA(LN1(x))`, `y = x1 + MLP(LN2(x1))` with `MLP = Linear(dim, r dim) → GELU →
/// Linear(r dim, dim)` on every token. Input and output are `[N, T, dim]`.
///
/// Backward sends the gradient down both the residual and the branch of each sum and adds
/// what arrives.
public final class TransformerBlock: Layer {
    public let dim: Int, hiddenDim: Int
    public let norm1: LayerNorm
    public let attention: MultiHeadAttention
    public let norm2: LayerNorm
    public let fc1: Linear
    public let gelu: GELU
    public let fc2: Linear

    /// x1 = x + attention; the MLP branch's input and the second residual.
    private let residual = Tensor(shape: [0])
    private let output = Tensor(shape: [0])
    private let gradResidual = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init(dim: Int, heads: Int, mlpRatio: Int = 4, name: String = "block",
                initializer: Initializer = .glorotUniform, rng: inout RNG) {
        precondition(mlpRatio > 0, "TransformerBlock: MLP ratio must be positive, got \(mlpRatio)")
        self.dim = dim
        hiddenDim = mlpRatio * dim
        norm1 = LayerNorm(dim, name: "\(name).norm1")
        attention = MultiHeadAttention(dim: dim, heads: heads, name: "\(name).attn", initializer: initializer, rng: &rng)
        norm2 = LayerNorm(dim, name: "\(name).norm2")
        fc1 = Linear(dim, hiddenDim, name: "\(name).mlp.fc1", initializer: initializer, rng: &rng)
        gelu = GELU(name: "\(name).mlp.gelu")
        fc2 = Linear(hiddenDim, dim, name: "\(name).mlp.fc2", initializer: initializer, rng: &rng)
    }

    public var parameters: [Parameter] {
        norm1.parameters + attention.parameters + norm2.parameters + fc1.parameters + fc2.parameters
    }

    public var sublayers: [any Layer] { [norm1, attention, norm2, fc1, gelu, fc2] }

    public var summary: String { "TransformerBlock(\(dim), \(attention.heads) heads, MLP \(hiddenDim))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(x.rank == 3 && x.shape[2] == dim, "\(summary) needs [N, T, \(dim)], got \(x.shape)")
            let a = attention.forward(norm1.forward(x, training: training), training: training)
            Self.add(x, a, into: residual)
            var m = norm2.forward(residual, training: training)
            m = fc1.forward(m, training: training)
            m = gelu.forward(m, training: training)
            m = fc2.forward(m, training: training)
            Self.add(residual, m, into: output)
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(dy.count == output.count, "\(summary).backward: gradient \(dy.shape) for output \(output.shape)")
            var g = fc2.backward(dy)
            g = gelu.backward(g)
            g = fc1.backward(g)
            g = norm2.backward(g)
            Self.add(dy, g, into: gradResidual)
            let a = norm1.backward(attention.backward(gradResidual))
            Self.add(gradResidual, a, into: gradInput)
            return gradInput
        }
    }

    /// out = a + b elementwise, shaped like `a` (`b` may be the same values in a flat shape).
    private static func add(_ a: Tensor, _ b: Tensor, into out: Tensor) {
        precondition(a.count == b.count, "TransformerBlock: adding \(a.shape) and \(b.shape)")
        out.resize(a.shape)
        let n = a.count, ap = a.data, bp = b.data, op = out.data
        Ops.add(n, ap, bp, into: op)
    }
}
