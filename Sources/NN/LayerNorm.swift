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
            let xp = x.data, hp = xHat.data, yp = output.data, sp = invStd.data
            let g = gamma.value.data, b = beta.value.data
            let invD = 1 / Float(d)
            for r in 0..<rows {
                let row = xp + r * d, hRow = hp + r * d, yRow = yp + r * d
                // Two passes (mean, then squared deviations) avoid E[x^2] - E[x]^2 cancellation.
                let mean = Ops.sum(d, row) * invD
                let variance = Ops.sumSquaredDeviations(d, row, mean: mean) * invD
                let s = 1 / (variance + eps).squareRoot()
                sp[r] = s
                for j in 0..<d {
                    let h = (row[j] - mean) * s
                    hRow[j] = h
                    yRow[j] = g[j] * h + b[j]
                }
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
            let invD = 1 / Float(d)
            for r in 0..<rows {
                let gRow = gp + r * d, hRow = hp + r * d, dRow = dx + r * d
                // With u = gamma * dy, the row's mean and variance give the two correction terms:
                // dx = invStd * (u - mean(u) - xHat * mean(u * xHat)).
                var sumU: Float = 0, sumUH: Float = 0
                for j in 0..<d {
                    let u = g[j] * gRow[j]
                    sumU += u
                    sumUH += u * hRow[j]
                    dGamma[j] += gRow[j] * hRow[j]
                    dBeta[j] += gRow[j]
                }
                let meanU = sumU * invD, meanUH = sumUH * invD, s = sp[r]
                for j in 0..<d { dRow[j] = s * (g[j] * gRow[j] - meanU - hRow[j] * meanUH) }
            }
            return gradInput
        }
    }
}
