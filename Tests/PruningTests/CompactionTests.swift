import NN
import Tensor
import Testing
@testable import Pruning

/// `compact`: a structured-pruned network rebuilt smaller computes what the masked one does.
@Suite struct CompactionTests {
    /// Nonzero biases, BN affine parameters and running statistics, so a channel removed with
    /// any of them live would change the output.
    static func trainedLooking(_ model: Model, seed: UInt64) -> Model {
        var rng = RNG(seed: seed, stream: "test.compact")
        for p in model.parameters {
            for i in 0..<p.count { p.value[i] = p.prunable ? rng.normal() * 0.3 : 0.5 + rng.uniform() }
        }
        for b in model.buffers {
            for i in 0..<b.count { b[i] = 0.5 + rng.uniform() }
        }
        return model
    }

    static func vggChain(seed: UInt64) -> Model {
        var rng = RNG(seed: seed, stream: "test.vgg")
        let net = Sequential([
            Conv2d(3, 8, kernel: 3, padding: 1, name: "conv1", rng: &rng), BatchNorm2d(8, name: "conv1.bn"), ReLU(),
            MaxPool2d(kernel: 2),
            Conv2d(8, 10, kernel: 3, padding: 1, name: "conv2", rng: &rng), BatchNorm2d(10, name: "conv2.bn"), ReLU(),
            Conv2d(10, 6, kernel: 3, padding: 1, name: "conv3", rng: &rng), BatchNorm2d(6, name: "conv3.bn"), ReLU(),
            GlobalAvgPool(), Linear(6, 4, name: "fc", rng: &rng),
        ])
        return trainedLooking(Model(name: "vgg-chain", network: net, inputShape: [3, 8, 8], classes: 4), seed: seed)
    }

    static func zoo(_ name: String, _ shape: [Int], seed: UInt64 = 1) throws -> Model {
        trainedLooking(try ModelZoo.make(name, inputShape: shape, classes: 10, seed: seed), seed: seed)
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed, stream: "test.input")
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = rng.normal() }
        return t
    }

    static func close(_ a: Tensor, _ b: Tensor, _ what: String, tolerance: Float = 1e-5) {
        #expect(a.shape == b.shape, "\(what): shape")
        var scale: Float = 1
        for i in 0..<b.count { scale = max(scale, abs(b[i])) }
        var worst: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i])) }
        #expect(worst <= tolerance * scale, "\(what): max difference \(worst) at scale \(scale)")
    }

    /// Forward (evaluation, then training, twice, so running statistics move) and gradients of
    /// `masked` and of its compacted copy on the same batch; returns the compaction.
    @discardableResult
    static func expectSameFunction(_ masked: Model, batch: Int = 3, seed: UInt64 = 7) throws -> CompactedModel {
        let c = try compact(masked)
        let small = c.model
        let x = random([batch] + masked.inputShape, seed: seed)
        for training in [false, true, true, false] {
            let a = masked.forward(x, training: training).clone(), b = small.forward(x, training: training).clone()
            close(b, a, "\(masked.name) logits, training \(training)")
            guard training else { continue }
            let dy = random(a.shape, seed: seed + 1)
            masked.zeroGradients()
            small.zeroGradients()
            masked.backward(dy)
            small.backward(dy)
            let original = Dictionary(uniqueKeysWithValues: masked.parameters.map { ($0.name, $0) })
            for q in small.parameters {
                guard let p = original[q.name] else {
                    Issue.record("compacted parameter \(q.name) has no original")
                    continue
                }
                let src = c.sourceIndices[q.name] ?? Array(0..<p.count)
                #expect(src.count == q.count, "\(q.name): source indices")
                let g = Tensor(shape: q.value.shape), v = Tensor(shape: q.value.shape)
                for (i, s) in src.enumerated() {
                    g[i] = p.grad[s]
                    v[i] = p.value[s]
                }
                #expect(q.value.array == v.array, "\(q.name): values")
                close(q.grad, g, "\(masked.name) gradient of \(q.name)", tolerance: 1e-4)
                if let m = q.mask {
                    #expect(src.enumerated().allSatisfy { m[$0.offset] == p.mask![$0.element] }, "\(q.name): mask")
                }
            }
        }
        #expect(zip(masked.buffers, small.buffers).allSatisfy { $0.count >= $1.count })
        return c
    }

    static func shape(_ m: Model, _ name: String) -> [Int]? { m.parameters.first { $0.name == name }?.value.shape }

    @Test func aVGGChainWithBatchNormShrinksAndComputesTheSame() throws {
        let m = Self.vggChain(seed: 1)
        try pruneUnits(FilterUnits(m), parameters: m.parameters, criterion: .l1Norm, rate: 0.5)
        // Only kept channels' statistics are copied, in order, bit for bit.
        let fresh = try compact(m)
        let kept = fresh.keptChannels["conv2.weight"]!, old = m.network.layers[5] as! BatchNorm2d
        let copied = fresh.model.network.layers[5] as! BatchNorm2d
        #expect((0..<5).allSatisfy { copied.runningVar[$0] == old.runningVar[kept[$0]] })
        #expect((0..<5).allSatisfy { copied.runningMean[$0] == old.runningMean[kept[$0]] })
        let c = try Self.expectSameFunction(m)
        #expect(c.keptChannels.mapValues(\.count) == ["conv1.weight": 4, "conv2.weight": 5, "conv3.weight": 3])
        #expect(Self.shape(c.model, "conv2.weight") == [5, 4, 3, 3])
        #expect(Self.shape(c.model, "conv2.bn.weight") == [5])
        #expect(Self.shape(c.model, "conv3.weight") == [3, 5, 3, 3])
        #expect(Self.shape(c.model, "fc.weight") == [4, 3])
        #expect(c.model.buffers.map(\.count) == [4, 4, 5, 5, 3, 3])
        #expect(c.removedChannels == 12)
        // After training steps on both, the statistics moved alike (to rounding: the two
        // networks' convolutions have other channel counts, so a GEMM may sum in another order).
        let bn = c.model.network.layers[5] as! BatchNorm2d
        let moved = Tensor(shape: [5])
        for i in 0..<5 { moved[i] = old.runningVar[kept[i]] }
        Self.close(bn.runningVar, moved, "running variance after training")
    }

    @Test func theSmallConvNetWithHalfTheFiltersRemoved() throws {
        let m = try Self.zoo("convnet", [3, 8, 8])
        try pruneUnits(FilterUnits(m), parameters: m.parameters, criterion: .l1Norm, rate: 0.5)
        let c = try Self.expectSameFunction(m)
        #expect(Self.shape(c.model, "conv1.weight") == [16, 3, 3, 3])
        #expect(Self.shape(c.model, "conv4.weight") == [32, 32, 3, 3])
        // Flatten: each removed channel takes its 2x2 columns of fc1 with it.
        #expect(Self.shape(c.model, "fc1.weight") == [128, 32 * 4])
        #expect(Self.shape(c.model, "fc2.weight") == [10, 128])
    }

    @Test func anMLPLosesWholeNeuronsButNeverLogits() throws {
        let m = try Self.zoo("mlp", [1, 6, 6])
        try pruneUnits(FilterUnits(m), parameters: m.parameters, criterion: .l1Norm, rate: 0.75)
        let c = try Self.expectSameFunction(m, batch: 5)
        #expect(Self.shape(c.model, "fc1.weight") == [64, 36])
        #expect(Self.shape(c.model, "fc2.bias") == [64])
        #expect(Self.shape(c.model, "fc4.weight") == [10, 64])
        #expect(c.keptChannels["fc4.weight"] == nil)
    }

    @Test func aResNetCompactsOnlyTheInnerConvolutionOfEachBlock() throws {
        let m = try Self.zoo("resnet20", [3, 8, 8])
        // Every filter-shaped weight is pruned; only the blocks' first convs may shrink.
        try pruneUnits(FilterUnits(m), parameters: m.parameters, criterion: .l1Norm, rate: 0.5)
        let c = try Self.expectSameFunction(m, batch: 2)
        #expect(c.keptChannels.count == 9)
        #expect(c.keptChannels.keys.allSatisfy { $0.hasSuffix(".conv1.weight") && $0.hasPrefix("layer") })
        #expect(Self.shape(c.model, "layer2.0.conv1.weight") == [16, 16, 3, 3])
        #expect(Self.shape(c.model, "layer2.0.bn1.weight") == [16])
        #expect(Self.shape(c.model, "layer2.0.conv2.weight") == [32, 16, 3, 3])
        #expect(Self.shape(c.model, "layer2.0.bn2.weight") == [32])
        #expect(Self.shape(c.model, "layer2.0.shortcut.conv.weight") == [32, 16, 1, 1])
        #expect(Self.shape(c.model, "conv1.weight") == [16, 3, 3, 3])
        #expect((c.model.network.layers[3] as! ResidualBlock).summary == "ResidualBlock(16→8→16)")
    }

    @Test func aLayerLeftWithOneFilterAndALayerWithNoneLeftKeepOne() throws {
        let m = Self.vggChain(seed: 2)
        let units = FilterUnits(m)
        for (name, survivors) in [("conv1.weight", [5]), ("conv2.weight", [])] {
            let unit = units[name]!, removed = (0..<unit.weight.value.shape[0]).filter { !survivors.contains($0) }
            try maskFilters(of: unit.weight, removed: removed)
            try maskUnit(unit, removed: removed)
        }
        let c = try Self.expectSameFunction(m)
        #expect(c.keptChannels["conv1.weight"] == [5])
        #expect(Self.shape(c.model, "conv2.weight") == [1, 1, 3, 3])
        #expect(c.keptChannels["conv3.weight"] == nil)
    }

    @Test func nothingRemovedLeavesTheNetworkAsItWas() throws {
        let m = try Self.zoo("convnet", [3, 8, 8])
        let c = try Self.expectSameFunction(m)
        #expect(c.keptChannels.isEmpty && c.sourceIndices.isEmpty)
        #expect(c.model.parameters.map(\.value.shape) == m.parameters.map(\.value.shape))
        let x = Self.random([2, 3, 8, 8], seed: 3)
        #expect(c.model.forward(x, training: false).array == m.forward(x, training: false).array)
    }

    @Test func filtersPrunedWithoutTheirBatchNormStayBecauseTheyStillEmitAConstant() throws {
        let m = Self.vggChain(seed: 3)
        _ = try pruneFilters(parameters: m.parameters, criterion: .l1Norm, rate: 0.5,
                         selection: PrunableSelection { $0.value.rank == 4 })
        let c = try Self.expectSameFunction(m)
        #expect(c.keptChannels.isEmpty)
    }

    @Test func anUnsupportedLayerIsOneClearError() throws {
        var rng = RNG(seed: 1)
        let m = Model(name: "odd", network: Sequential([Linear(4, 4, rng: &rng), ReLU6(), Linear(4, 2, rng: &rng)]),
                      inputShape: [4], classes: 2)
        #expect(throws: PruningError.self) { try compact(m) }
        do { _ = try compact(m) } catch { #expect(!"\(error)".contains("\n") && "\(error)".contains("ReLU6")) }
    }
}
