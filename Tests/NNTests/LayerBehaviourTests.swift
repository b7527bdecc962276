import Testing
import NN
import Tensor

@Suite struct BatchNormTests {
    @Test func trainingUsesBatchStatisticsAndUpdatesRunningOnes() {
        let bn = BatchNorm1d(2)
        // Batch mean [2, 4]; biased variance [1, 4]; unbiased [2, 8].
        let x = Tensor(shape: [2, 2], values: [1, 2, 3, 6])
        let y = bn.forward(x, training: true)
        let a = 1 / (1 + 1e-5).squareRoot(), b = 2 / (4 + 1e-5).squareRoot()
        expectClose(y.array, [-a, -b, a, b], rel: 1e-6)
        // running = 0.9 * initial + 0.1 * batch, initial mean 0 and variance 1.
        expectClose(bn.runningMean.array, [0.2, 0.4], rel: 1e-6)
        expectClose(bn.runningVar.array, [1.1, 1.7], rel: 1e-6)
        _ = bn.forward(x, training: true)
        expectClose(bn.runningMean.array, [0.38, 0.76], rel: 1e-6)
        expectClose(bn.runningVar.array, [1.19, 2.33], rel: 1e-6)
    }

    @Test func evaluationUsesRunningStatisticsAndLeavesThemAlone() {
        let bn = BatchNorm1d(2)
        bn.runningMean[0] = 1; bn.runningMean[1] = -2
        bn.runningVar[0] = 4; bn.runningVar[1] = 0.25
        bn.gamma.value[0] = 2; bn.gamma.value[1] = 1
        bn.beta.value[0] = 0.5; bn.beta.value[1] = 0
        let x = Tensor(shape: [2, 2], values: [3, -1.5, 1, -2])
        let y = bn.forward(x, training: false)
        // (3 - 1) / sqrt(4 + 1e-5) * 2 + 0.5 ; (-1.5 + 2) / sqrt(0.25 + 1e-5) ; row 2 sits on the means.
        expectClose(y.array, [2.4999975, 0.99998, 0.5, 0], rel: 1e-6, abs: 1e-7)
        expectClose(bn.runningMean.array, [1, -2])
        expectClose(bn.runningVar.array, [4, 0.25])
    }

    @Test func parametersAreNormParametersThatAreNotPrunable() {
        let bn = BatchNorm1d(3, name: "bn1")
        #expect(bn.parameters.map(\.name) == ["bn1.weight", "bn1.bias"])
        #expect(bn.parameters.allSatisfy { !$0.prunable && $0.kind == "norm" })
        #expect(bn.gamma.value.array == [1, 1, 1] && bn.beta.value.array == [0, 0, 0])
    }
}

@Suite struct DropoutTests {
    @Test func trainingZeroesAboutPAndScalesSurvivors() {
        let d = Dropout(p: 0.25, rng: RNG(seed: 1, stream: "dropout"))
        let x = Tensor(shape: [100, 100], repeating: 2)
        let y = d.forward(x, training: true)
        var zeros = 0
        for i in 0..<y.count {
            if y[i] == 0 { zeros += 1 } else { #expect(y[i] == 2 / 0.75) }
            #expect(d.mask[i] == 0 || d.mask[i] == 1 / Float(0.75))
        }
        #expect(abs(Double(zeros) / 10_000 - 0.25) < 0.02)
        // Backward passes the gradient through the same entries with the same scale.
        let g = d.backward(Tensor(shape: [100, 100], repeating: 1))
        for i in 0..<g.count { #expect(g[i] == d.mask[i]) }
    }

    @Test func evaluationIsTheIdentity() {
        let d = Dropout(p: 0.5, rng: RNG(seed: 2))
        let x = Tensor(shape: [3, 4], values: (0..<12).map(Float.init))
        #expect(d.forward(x, training: false).array == x.array)
        #expect(d.backward(x).array == x.array)
    }

    @Test func successivePassesDrawFreshMasksButReplaysRepeat() {
        let d = Dropout(p: 0.5, rng: RNG(seed: 3))
        let x = Tensor(shape: [1, 64], repeating: 1)
        let saved = d.rng
        let first = d.forward(x, training: true).array
        let second = d.forward(x, training: true).array
        #expect(first != second)
        d.rng = saved
        #expect(d.forward(x, training: true).array == first)
    }

    @Test func extremeProbabilities() {
        let x = Tensor(shape: [2, 3], repeating: 1.5)
        #expect(Dropout(p: 0, rng: RNG(seed: 4)).forward(x, training: true).array == x.array)
        #expect(Dropout(p: 1, rng: RNG(seed: 4)).forward(x, training: true).array == Array(repeating: 0, count: 6))
    }
}

@Suite struct FlattenTests {
    @Test func reshapesAndRestores() {
        let f = Flatten()
        let x = Tensor(shape: [2, 3, 2], values: (0..<12).map(Float.init))
        let y = f.forward(x, training: true)
        #expect(y.shape == [2, 6] && y.array == x.array)
        let g = f.backward(y)
        #expect(g.shape == [2, 3, 2] && g.array == x.array)
    }
}

@Suite struct GradientAccumulationTests {
    /// Layer.backward accumulates parameter gradients (gradient accumulation over batches
    /// and saliency criteria rely on it), so two backward passes give twice the gradient.
    @Test func parameterGradientsAccumulate() {
        var rng = RNG(seed: 11)
        let net = Sequential([Linear(4, 3, rng: &rng), BatchNorm1d(3), GELU()])
        let x = randomTensor([5, 4], &rng)
        let dy = randomTensor([5, 3], &rng)
        for p in net.parameters { p.grad.zero() }
        _ = net.forward(x, training: true)
        _ = net.backward(dy)
        let once = net.parameters.map(\.grad.array)
        _ = net.backward(dy)
        for (p, g) in zip(net.parameters, once) {
            expectClose(p.grad.array, g.map { 2 * Double($0) }, rel: 1e-5, abs: 1e-6, p.name)
        }
    }
}
