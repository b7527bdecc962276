import Testing
import NN
import Tensor

/// A tensor of standard-normal entries times `scale`.
func randomTensor(_ shape: [Int], _ rng: inout RNG, scale: Float = 1) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.normal() * scale }
    return t
}

/// Expects `actual` to match `expected` entrywise within `rel` relative (floor `abs`).
func expectClose(_ actual: [Float], _ expected: [Double], rel: Double = 1e-5, abs: Double = 1e-7,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): count", sourceLocation: sourceLocation)
    for (a, e) in zip(actual, expected) {
        let ok = Swift.abs(Double(a) - e) <= Swift.max(abs, rel * Swift.abs(e))
        #expect(ok, "\(what): got \(actual), expected \(expected)", sourceLocation: sourceLocation)
        if !ok { return }
    }
}

/// The largest relative error of each checked tensor, by name ("input", parameter names).
struct GradientErrors {
    var errors: [String: Double] = [:]
    var worst: Double { errors.values.max() ?? 0 }
}

/// Compares a layer's backward pass with central finite differences.
///
/// The scalar loss is `sum(output * R)` for a fixed random `R`, so backward receives `R`
/// as dLoss/dOutput. Losses accumulate in Double; each difference divides by the step
/// actually taken in Float, `(x + h) - (x - h)`, not by `2h`. The relative error of an
/// entry is `|analytic - numeric| / max(|analytic|, |numeric|, floor)`; the floor keeps
/// entries whose gradient is nearly zero from dominating through rounding noise.
/// `prepare` runs before every forward pass (Dropout uses it to replay its generator).
func gradientErrors(of layer: any Layer, input x: Tensor, training: Bool = true,
                    checkInput: Bool = true, step h: Float = 1e-2, floor: Double = 1e-2,
                    seed: UInt64 = 99, prepare: () -> Void = {}) -> GradientErrors {
    var rng = RNG(seed: seed, stream: "gradient-check")
    prepare()
    let y0 = layer.forward(x, training: training)
    let r = randomTensor(y0.shape, &rng)
    let params = layer.parameters
    for p in params { p.grad.zero() }
    let analyticInput = layer.backward(r).clone()
    let analyticParams = params.map { $0.grad.clone() }

    func loss() -> Double {
        prepare()
        let y = layer.forward(x, training: training)
        var s: Double = 0
        for i in 0..<y.count { s += Double(y[i]) * Double(r[i]) }
        return s
    }
    func maxError(_ t: Tensor, _ analytic: Tensor) -> Double {
        var worst: Double = 0
        for i in 0..<t.count {
            let v = t[i]
            let up = v + h, down = v - h
            t[i] = up
            let lp = loss()
            t[i] = down
            let lm = loss()
            t[i] = v
            let numeric = (lp - lm) / (Double(up) - Double(down))
            let a = Double(analytic[i])
            let err = Swift.abs(a - numeric) / Swift.max(Swift.abs(a), Swift.abs(numeric), floor)
            worst = Swift.max(worst, err)
        }
        return worst
    }

    var result = GradientErrors()
    if checkInput { result.errors["input"] = maxError(x, analyticInput) }
    for (p, a) in zip(params, analyticParams) { result.errors[p.name] = maxError(p.value, a) }
    return result
}

/// A residual block pruned at random to about `kept` of every convolution's weights, each
/// convolution forced sparse, and BatchNorms with non-trivial affine parameters and running
/// statistics.
func sparseResidualBlock(_ cin: Int, _ cout: Int, stride: Int, kept: Float = 0.3, _ rng: inout RNG) -> ResidualBlock {
    let block = ResidualBlock(cin, cout, stride: stride, rng: &rng)
    for p in block.parameters where p.prunable {
        let m = Tensor(shape: p.value.shape)
        for i in 0..<m.count { m[i] = rng.uniform() < kept ? 1 : 0 }
        p.setMask(m)
    }
    let projection = block.projection.map { [$0] } ?? []
    for bn in [block.bn1, block.bn2] + projection.map(\.bn) {
        for c in 0..<bn.channels {
            bn.gamma.value[c] = 1 + 0.5 * rng.normal()
            bn.beta.value[c] = 0.3 * rng.normal()
            bn.runningMean[c] = 0.2 * rng.normal()
            bn.runningVar[c] = 0.5 + rng.uniform()
        }
    }
    for conv in [block.conv1, block.conv2] + projection.map(\.conv) { conv.kernels = .sparse }
    return block
}
