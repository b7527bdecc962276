import Tensor

/// Batch normalisation over the batch dimension of `[N, C]` inputs, as PyTorch's
/// `BatchNorm1d`: training normalises with the batch mean and biased variance and
/// moves the running statistics towards the batch's mean and *unbiased* variance;
/// evaluation normalises with the running statistics.
///
/// A channel whose γ and β are masked (structured pruning) outputs exactly 0 in both modes:
/// `0 * xHat + 0`, with xHat finite for any finite running statistics (variance >= 0, plus
/// eps). Its input gradient is 0 too (`γ * invStd`), and the optimizers keep masked γ, β
/// and their state at 0 whatever gradient they accumulate.
public final class BatchNorm1d: Layer {
    public let features: Int
    public let eps: Float
    public let momentum: Float
    public let gamma: Parameter
    public let beta: Parameter
    /// Not trained, but part of the model's state (checkpoints must save them).
    public let runningMean: Tensor
    public let runningVar: Tensor

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    /// Normalised input of the last forward pass, kept for backward.
    private let xHat = Tensor(shape: [0])
    private let mean: Tensor
    private let invStd: Tensor
    private let sumDy: Tensor
    private let sumDyXHat: Tensor
    private var lastTraining = false

    public init(_ features: Int, eps: Float = 1e-5, momentum: Float = 0.1, name: String = "bn") {
        self.features = features
        self.eps = eps
        self.momentum = momentum
        gamma = Parameter(name: "\(name).weight", shape: [features], prunable: false, kind: "norm")
        beta = Parameter(name: "\(name).bias", shape: [features], prunable: false, kind: "norm")
        gamma.value.fill(1)
        runningMean = Tensor(shape: [features])
        runningVar = Tensor(shape: [features], repeating: 1)
        mean = Tensor(shape: [features])
        invStd = Tensor(shape: [features])
        sumDy = Tensor(shape: [features])
        sumDyXHat = Tensor(shape: [features])
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [Tensor] { [runningMean, runningVar] }
    public var summary: String { "BatchNorm1d(\(features))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.batchNorm) {
            let c = features
            precondition(x.rank == 2 && x.shape[1] == c, "BatchNorm1d(\(c)) needs [N, \(c)], got \(x.shape)")
            let rows = x.shape[0]
            lastTraining = training
            output.resize(x.shape)
            xHat.resize(x.shape)
            let xp = x.data, hp = xHat.data, yp = output.data
            let mp = mean.data, sp = invStd.data, g = gamma.value.data, b = beta.value.data

            if training {
                // PyTorch refuses a single row too: its unbiased variance would divide by zero.
                precondition(rows > 1, "BatchNorm1d in training needs more than one row per batch, got \(rows)")
                let invRows = 1 / Float(rows)
                // Two passes (mean, then squared deviations) avoid E[x^2] - E[x]^2 cancellation.
                Ops.sumRows(rows, c, xp, into: mp, accumulate: false)
                for j in 0..<c { mp[j] *= invRows }
                sp.update(repeating: 0, count: c)
                for r in 0..<rows {
                    let row = xp + r * c
                    for j in 0..<c {
                        let d = row[j] - mp[j]
                        sp[j] += d * d
                    }
                }
                let unbias = Float(rows) / Float(rows - 1)
                let rm = runningMean.data, rv = runningVar.data, mom = momentum
                for j in 0..<c {
                    let variance = sp[j] * invRows
                    rm[j] = (1 - mom) * rm[j] + mom * mp[j]
                    rv[j] = (1 - mom) * rv[j] + mom * variance * unbias
                    sp[j] = 1 / (variance + eps).squareRoot()
                }
            } else {
                let rm = runningMean.data, rv = runningVar.data
                for j in 0..<c {
                    mp[j] = rm[j]
                    sp[j] = 1 / (rv[j] + eps).squareRoot()
                }
            }

            for r in 0..<rows {
                let row = xp + r * c, hRow = hp + r * c, yRow = yp + r * c
                for j in 0..<c {
                    let h = (row[j] - mp[j]) * sp[j]
                    hRow[j] = h
                    yRow[j] = g[j] * h + b[j]
                }
            }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.batchNorm) {
            let c = features
            precondition(dy.count == xHat.count, "BatchNorm1d.backward: gradient \(dy.shape) for output \(xHat.shape)")
            let rows = xHat.shape[0]
            gradInput.resize(xHat.shape)
            let gp = dy.data, hp = xHat.data, dx = gradInput.data
            let sDy = sumDy.data, sDyH = sumDyXHat.data, sp = invStd.data, g = gamma.value.data

            sDy.update(repeating: 0, count: c)
            sDyH.update(repeating: 0, count: c)
            for r in 0..<rows {
                let gRow = gp + r * c, hRow = hp + r * c
                for j in 0..<c {
                    sDy[j] += gRow[j]
                    sDyH[j] += gRow[j] * hRow[j]
                }
            }
            let dGamma = gamma.grad.data, dBeta = beta.grad.data
            for j in 0..<c {
                dGamma[j] += sDyH[j]
                dBeta[j] += sDy[j]
            }

            if lastTraining {
                // The batch statistics depend on every row, hence the two correction terms:
                // dx = gamma * invStd / N * (N dy - sum(dy) - xHat * sum(dy * xHat)).
                let invRows = 1 / Float(rows)
                for r in 0..<rows {
                    let gRow = gp + r * c, hRow = hp + r * c, dRow = dx + r * c
                    for j in 0..<c {
                        let centred = gRow[j] - (sDy[j] + hRow[j] * sDyH[j]) * invRows
                        dRow[j] = g[j] * sp[j] * centred
                    }
                }
            } else {
                for r in 0..<rows {
                    let gRow = gp + r * c, dRow = dx + r * c
                    for j in 0..<c { dRow[j] = g[j] * sp[j] * gRow[j] }
                }
            }
            return gradInput
        }
    }
}
