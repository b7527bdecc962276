import Testing
import NN
import Tensor

/// Finite-difference checks of every layer's backward pass (DESIGN.md: each layer has one).
@Suite struct LayerGradientTests {
    let tolerance = 1e-2

    @Test func linear() {
        var rng = RNG(seed: 1)
        let layer = Linear(5, 4, rng: &rng)
        for i in 0..<layer.bias!.count { layer.bias!.value[i] = rng.normal() }
        let e = gradientErrors(of: layer, input: randomTensor([3, 5], &rng))
        #expect(Set(e.errors.keys) == ["input", "linear.weight", "linear.bias"])
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func reluAwayFromTheKink() {
        var rng = RNG(seed: 2)
        let x = randomTensor([4, 6], &rng)
        // Central differences straddling 0 would average the two slopes.
        for i in 0..<x.count { x[i] = x[i] < 0 ? x[i] - 0.1 : x[i] + 0.1 }
        let e = gradientErrors(of: ReLU(), input: x)
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func relu6AwayFromTheKinks() {
        var rng = RNG(seed: 11)
        let x = randomTensor([4, 8], &rng, scale: 4)
        // Keep central differences off both kinks (0 and 6); values past 6 check the flat top.
        for i in 0..<x.count {
            for k: Float in [0, 6] where abs(x[i] - k) < 0.1 { x[i] = k + (x[i] < k ? -0.1 : 0.1) }
        }
        #expect(x.array.contains { $0 > 6 } && x.array.contains { $0 > 0 && $0 < 6 } && x.array.contains { $0 < 0 })
        let e = gradientErrors(of: ReLU6(), input: x)
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func relu6ValuesAndGradientAtTheKinks() {
        let layer = ReLU6()
        let x = Tensor(shape: [1, 6], values: [-1, 0, 3, 6, 7, .infinity])
        #expect(layer.forward(x, training: true).array == [0, 0, 3, 6, 6, 6])
        // PyTorch's hardtanh backward: zero at both kinks and outside.
        #expect(layer.backward(Tensor(shape: [1, 6], values: [1, 1, 1, 1, 1, 1])).array == [0, 0, 1, 0, 0, 0])
    }

    @Test func gelu() {
        var rng = RNG(seed: 3)
        let e = gradientErrors(of: GELU(), input: randomTensor([4, 6], &rng, scale: 2))
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func geluValuesMatchTheErfForm() {
        // 0.5 x (1 + erf(x / sqrt 2)), computed in Python's math module.
        let x = Tensor(shape: [1, 5], values: [-3, -1, 0, 0.5, 2])
        let y = GELU().forward(x, training: false)
        expectClose(y.array, [-0.0040496941, -0.15865525393, 0, 0.34573123083, 1.9544997361], rel: 1e-5, abs: 1e-7)
    }

    @Test func batchNormTrainingMode() {
        var rng = RNG(seed: 4)
        let bn = BatchNorm1d(3)
        for i in 0..<3 {
            bn.gamma.value[i] = 1 + 0.5 * rng.normal()
            bn.beta.value[i] = rng.normal()
        }
        let x = randomTensor([5, 3], &rng, scale: 2)
        let e = gradientErrors(of: bn, input: x, training: true)
        #expect(Set(e.errors.keys) == ["input", "bn.weight", "bn.bias"])
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func batchNormEvaluationMode() {
        var rng = RNG(seed: 5)
        let bn = BatchNorm1d(3)
        for i in 0..<3 {
            bn.gamma.value[i] = 1 + 0.5 * rng.normal()
            bn.runningMean[i] = rng.normal()
            bn.runningVar[i] = 0.5 + rng.uniform()
        }
        let e = gradientErrors(of: bn, input: randomTensor([4, 3], &rng), training: false)
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func dropoutReplayingItsGenerator() {
        var rng = RNG(seed: 6)
        let dropout = Dropout(p: 0.4, rng: RNG(seed: 7, stream: "dropout"))
        let saved = dropout.rng
        let e = gradientErrors(of: dropout, input: randomTensor([4, 8], &rng)) { dropout.rng = saved }
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func flatten() {
        var rng = RNG(seed: 8)
        let e = gradientErrors(of: Flatten(), input: randomTensor([2, 3, 2, 2], &rng))
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func sequentialOfSeveralLayers() throws {
        // Find a seed whose pre-ReLU activations stay clear of 0 under the perturbations.
        for seed: UInt64 in 10..<60 {
            var rng = RNG(seed: seed)
            let first = Linear(8, 6, name: "l1", rng: &rng)
            let hidden = Linear(6, 5, name: "l2", rng: &rng)
            let net = Sequential([Flatten(), first, BatchNorm1d(6, name: "bn"), GELU(), hidden, ReLU(),
                                  Linear(5, 3, name: "l3", rng: &rng)])
            for p in net.parameters where p.name.hasSuffix("bias") {
                for i in 0..<p.count { p.value[i] = 0.3 * rng.normal() }
            }
            let x = randomTensor([4, 2, 4], &rng)
            let pre = Sequential(Array(net.layers.prefix(5))).forward(x, training: true)
            let margin = pre.array.map { abs($0) }.min()!
            guard margin > 0.1 else { continue }

            let e = gradientErrors(of: net, input: x)
            #expect(e.errors.count == 1 + net.parameters.count)
            #expect(e.worst < tolerance, "seed \(seed): \(e.errors)")
            return
        }
        Issue.record("no seed gave pre-activations clear of the ReLU kink")
    }

    @Test func softmaxCrossEntropyGradient() {
        var rng = RNG(seed: 9)
        let logits = randomTensor([4, 5], &rng, scale: 2)
        let labels: [Int32] = [0, 3, 4, 1]
        let grad = Tensor(shape: [0])
        func loss() -> Double {
            labels.withUnsafeBufferPointer {
                Double(SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: nil).loss)
            }
        }
        labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad) }
        var worst: Double = 0
        let h: Float = 1e-2
        for i in 0..<logits.count {
            let v = logits[i]
            logits[i] = v + h
            let lp = loss()
            logits[i] = v - h
            let lm = loss()
            logits[i] = v
            let numeric = (lp - lm) / (Double(v + h) - Double(v - h))
            let a = Double(grad[i])
            worst = max(worst, abs(a - numeric) / max(abs(a), abs(numeric), 1e-2))
        }
        #expect(worst < tolerance)
    }
}
