import CKernels
import Tensor

/// Layer normalisation over the last dimension (Ba et al. 2016), as PyTorch's
/// `LayerNorm(features)`: each row of `features` values (a token of `[N, T, D]`, a sample
/// of `[N, D]`) is normalised with its own mean and biased variance, then scaled by a
/// learned gain (initialised 1) and shifted by a learned bias (initialised 0). Training
/// and evaluation behave alike: no running statistics.
public final class LayerNorm: Layer {
    public let features: Int
    public let eps: Float
    public let gamma: Parameter
    public let beta: Parameter

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    /// Normalised input of the last forward pass and each row's 1/std, kept for backward.
    private let xHat = Tensor(shape: [0])
    private let invStd = Tensor(shape: [0])
    /// gamma * dy of one row, in backward.
    private let scratch = Tensor(shape: [0])

    public init(_ features: Int, eps: Float = 1e-5, name: String = "ln") {
        precondition(features > 0, "LayerNorm needs a positive feature count, got \(features)")
        self.features = features
        self.eps = eps
        gamma = Parameter(name: "\(name).weight", shape: [features], prunable: false, kind: "norm")
        beta = Parameter(name: "\(name).bias", shape: [features], prunable: false, kind: "norm")
        gamma.value.fill(1)
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var summary: String { "LayerNorm(\(features))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.layerNorm) {
            let d = features
            precondition(x.rank >= 2 && x.shape[x.rank - 1] == d, "LayerNorm(\(d)) needs [..., \(d)], got \(x.shape)")
            let rows = x.count / d
            output.resize(x.shape)
            xHat.resize(x.shape)
            invStd.resize([rows])
            let xp = SendablePointer(x.data), hp = SendablePointer(xHat.data), yp = SendablePointer(output.data)
            let sp = SendablePointer(invStd.data), g = SendablePointer(gamma.value.data), b = SendablePointer(beta.value.data)
            let eps = eps
            // Rows are independent (two passes each: mean, then squared deviations, avoiding
            // E[x^2] - E[x]^2 cancellation), so chunks of rows run in parallel.
            Parallel.forChunks(rows, minimum: Swift.max(1, Parallel.minimumWork / d)) { lo, hi in
                let o = lo * d
                tk_layernorm_forward(hi - lo, d, xp.p + o, g.p, b.p, eps, hp.p + o, yp.p + o, sp.p + lo)
            }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.layerNorm) {
            let d = features
            precondition(dy.count == xHat.count, "LayerNorm.backward: gradient \(dy.shape) for output \(xHat.shape)")
            let rows = xHat.count / d
            gradInput.resize(xHat.shape)
            let gp = dy.data, hp = xHat.data, dx = gradInput.data, sp = invStd.data
            let g = gamma.value.data, dGamma = gamma.grad.data, dBeta = beta.grad.data
            scratch.resize([d])
            // With u = gamma * dy, the row's mean and variance give the two correction terms:
            // dx = invStd * (u - mean(u) - xHat * mean(u * xHat)); dGamma and dBeta add up
            // over the rows in order.
            tk_layernorm_backward(rows, d, gp, hp, sp, g, dx, dGamma, dBeta, scratch.data)
            return gradInput
        }
    }
}
