import NN
import Tensor
import Testing
@testable import Pruning

/// Pruning the model zoo's DenseNet-40 and MobileNetV2: their weights sit inside composite
/// blocks (dense blocks, inverted residuals), so these check that every weight tensor is
/// reached and nothing else is.
@Suite struct ModelZooPruningTests {
    @Test func globalMagnitudeOnDenseNet40() throws {
        let model = try ModelZoo.make("densenet40", inputShape: [3, 32, 32], classes: 10, seed: 1)
        let r = try prune(parameters: model.parameters, criterion: .magnitude, scope: .global, rate: 0.5)
        // 39 convs and the Linear; 1,001,616 prunable weights, half of them go.
        #expect(r.layers.count == 40)
        #expect(r.remainingBefore == 1_001_616 && r.removed == 500_808)
        #expect(model.parameters.allSatisfy { ($0.mask != nil) == $0.prunable })
        let weights = model.parameters.filter(\.prunable)
        #expect(weights.reduce(0) { $0 + $1.unprunedCount } == 1_001_616 - 500_808)
        // Global: every pruned magnitude is at most every kept one, and pruned values are zero.
        var largestPruned: Float = 0, smallestKept = Float.infinity, nonzeroPruned = 0
        for p in weights {
            let v = p.value.data, m = p.mask!.data
            for i in 0..<p.count {
                if m[i] == 0 {
                    if v[i] != 0 { nonzeroPruned += 1 }
                } else {
                    smallestKept = min(smallestKept, abs(v[i]))
                }
            }
        }
        // Values are zeroed by the mask, so compare against a fresh copy of the model.
        let fresh = try ModelZoo.make("densenet40", inputShape: [3, 32, 32], classes: 10, seed: 1)
        for (p, q) in zip(weights, fresh.parameters.filter(\.prunable)) {
            let m = p.mask!.data, v = q.value.data
            for i in 0..<p.count where m[i] == 0 { largestPruned = max(largestPruned, abs(v[i])) }
        }
        #expect(nonzeroPruned == 0)
        #expect(largestPruned <= smallestKept)
        // Kaiming-initialised layers differ in scale, so the global cut is uneven across layers.
        let fractions = r.layers.map { Double($0.removed) / Double($0.remainingBefore) }
        #expect(fractions.min()! < 0.4 && fractions.max()! > 0.6)
    }

    @Test func layerwiseMagnitudeOnMobileNetV2() throws {
        let model = try ModelZoo.make("mobilenetv2", inputShape: [1, 28, 28], classes: 10, seed: 1)
        let r = try prune(parameters: model.parameters, criterion: .magnitude, scope: .layerwise, rate: 0.2)
        // 52 convs (17 depthwise [c, 1, 3, 3]) and the Linear, each losing round(0.2 n).
        #expect(r.layers.count == 53)
        #expect(r.layers.filter { $0.name.hasSuffix("depthwise.weight") }.count == 17)
        #expect(r.layers.allSatisfy { $0.removed == pruneCount(rate: 0.2, of: $0.remainingBefore) })
        #expect(r.remainingBefore == 2_201_984)
        #expect(model.parameters.allSatisfy { ($0.mask != nil) == $0.prunable })
        // The masks hold through an SGD step on the blocks' dense gradients.
        var rng = RNG(seed: 4)
        let x = Tensor(shape: [2, 1, 28, 28])
        for i in 0..<x.count { x[i] = rng.normal() }
        model.zeroGradients()
        _ = model.forward(x, training: true)
        model.backward(Tensor(shape: [2, 10], repeating: 1))
        SGD(momentum: 0.9).step(model.parameters, lr: 0.1)
        var revived = 0, moved = 0
        for p in model.parameters where p.prunable {
            let m = p.mask!.data, v = p.value.data
            for i in 0..<p.count where m[i] == 0 && v[i] != 0 { revived += 1 }
        }
        for p in model.parameters where p.prunable && p.grad.array.contains(where: { $0 != 0 }) { moved += 1 }
        #expect(revived == 0)
        #expect(moved == 53)
    }

    @Test func filterPruningReachesDepthwiseAndDenseConvs() throws {
        let model = try ModelZoo.make("mobilenetv2", inputShape: [3, 32, 32], classes: 10, seed: 2)
        let depthwise = model.parameters.filter { $0.name.hasSuffix("depthwise.weight") }
        let r = try pruneFilters(parameters: depthwise, criterion: .l1Norm, rate: 0.25)
        #expect(zip(r.layers, depthwise).allSatisfy {
            $0.removedFilters.count == pruneCount(rate: 0.25, of: $1.value.shape[0])
        })
        let dense = try ModelZoo.make("densenet40", inputShape: [3, 32, 32], classes: 10, seed: 2)
        let convs = dense.parameters.filter { $0.kind == "conv" }
        let f = try pruneFilters(parameters: convs, criterion: .random(seed: 3), rate: 0.5)
        // Growth-12 dense layers lose 6 filters each, the 16-filter stem 8.
        #expect(f.layers.filter { $0.name.hasPrefix("dense") }.allSatisfy { $0.removedFilters.count == 6 })
        #expect(f.layers[0].removedFilters.count == 8)
    }

    @Test(arguments: ["densenet40", "mobilenetv2"])
    func lookaheadNeedsAnExplicitChainOnTheseModels(_ name: String) throws {
        // Neither is a plain chain (concatenation; depthwise convs read one channel each), so
        // the default chain is refused with a typed error rather than a wrong score.
        let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        #expect(throws: PruningError.self) {
            try prune(parameters: model.parameters, criterion: .lookahead(), scope: .layerwise, rate: 0.2)
        }
        #expect(model.parameters.allSatisfy { $0.mask == nil })
    }
}
