import NN
import Tensor
import Testing
@testable import Pruning

@Suite struct ScopeTests {
    @Test func globalMagnitudeEmptiesTheSmallLayer() throws {
        let a = param("a", [2, 2], [0.1, -0.2, 0.3, 0.4])
        let b = param("b", [2, 2], [1, -2, 3, 4])
        let r = try prune(parameters: [a, b], criterion: .magnitude, scope: .global, rate: 0.5)
        #expect(mask(a) == [0, 0, 0, 0])
        #expect(mask(b) == [1, 1, 1, 1])
        #expect(a.value.array == [0, 0, 0, 0])
        #expect(b.value.array == [1, -2, 3, 4])
        #expect(r.removed == 4)
        #expect(r.layers.map(\.removed) == [4, 0])
    }

    @Test func layerwiseMagnitudeTakesHalfOfEachLayer() throws {
        let a = param("a", [2, 2], [0.1, -0.2, 0.3, 0.4])
        let b = param("b", [2, 2], [1, -2, 3, 4])
        try prune(parameters: [a, b], criterion: .magnitude, scope: .layerwise, rate: 0.5)
        #expect(mask(a) == [0, 0, 1, 1])
        #expect(mask(b) == [0, 0, 1, 1])
        #expect(a.value.array == [0, 0, 0.3, 0.4])
        #expect(b.value.array == [0, 0, 3, 4])
    }

    @Test func tiesGoToTheEarlierPosition() throws {
        let a = param("a", [4], [1, -1, 1, -1])
        try prune(parameters: [a], criterion: .magnitude, scope: .layerwise, rate: 0.5)
        #expect(mask(a) == [0, 0, 1, 1])
        let b = param("b", [2], [2, 2]), c = param("c", [2], [2, 2])
        try prune(parameters: [b, c], criterion: .magnitude, scope: .global, rate: 0.5)
        #expect(mask(b) == [0, 0])
        #expect(mask(c) == [1, 1])
    }

    @Test func negativeZeroRanksAsZero() throws {
        let a = param("a", [3], [0.5, -0.0, 0.25])
        try prune(parameters: [a], criterion: .magnitude, scope: .layerwise, rate: 0.34)
        #expect(mask(a) == [1, 0, 1])
    }

    @Test func countIsRoundedHalfAwayFromZero() throws {
        #expect(pruneCount(rate: 0.2, of: 12) == 2)   // 2.4
        #expect(pruneCount(rate: 0.5, of: 5) == 3)    // 2.5
        #expect(pruneCount(rate: 0.25, of: 2) == 1)   // 0.5
        #expect(pruneCount(rate: 0.2, of: 2) == 0)    // 0.4
        #expect(pruneCount(rate: 1, of: 7) == 7)
        let a = param("a", [5], [5, 4, 3, 2, 1])
        try prune(parameters: [a], criterion: .magnitude, scope: .global, rate: 0.5)
        #expect(mask(a) == [1, 1, 0, 0, 0])
    }

    @Test func rateZeroInstallsAllOnesMasks() throws {
        let a = param("a", [3], [1, 2, 3])
        try prune(parameters: [a], criterion: .magnitude, scope: .global, rate: 0)
        #expect(mask(a) == [1, 1, 1])
    }

    /// Ten cycles at p = 0.2 on LeNet-300-100's weights: remaining counts by hand
    /// (r -= round(0.2 r) globally; per layer for layerwise), lambda close to 100 * 0.8^m,
    /// and no pruned weight ever comes back.
    @Test(arguments: [PruningScope.global, .layerwise])
    func tenCyclesFollowTheGeometricSchedule(scope: PruningScope) throws {
        let weights = lenetWeights(seed: 7)
        let expected: [Int] = scope == .global
            ? [212960, 170368, 136294, 109035, 87228, 69782, 55826, 44661, 35729, 28583]
            : [212960, 170368, 136294, 109036, 87228, 69782, 55826, 44661, 35728, 28582]
        let lambda = [80.0, 64.0, 51.2, 40.96, 32.768, 26.2144, 20.97152, 16.777216, 13.4217728, 10.737418]
        var previous: [[Float]] = weights.map { [Float](repeating: 1, count: $0.count) }
        for m in 0..<10 {
            try prune(parameters: weights, criterion: .magnitude, scope: scope, rate: 0.2)
            let report = SparsityReport(parameters: weights)
            #expect(report.total == 266_200)
            #expect(report.remaining == expected[m])
            #expect(abs(report.percentRemaining - lambda[m]) < 0.01)
            for (p, old) in zip(weights, previous) {
                let now = p.mask!.array
                var revived = 0, nonzeroPruned = 0
                for i in 0..<now.count {
                    if old[i] == 0 && now[i] != 0 { revived += 1 }
                    if now[i] == 0 && p.value[i] != 0 { nonzeroPruned += 1 }
                }
                #expect(revived == 0)
                #expect(nonzeroPruned == 0)
            }
            previous = weights.map { $0.mask!.array }
        }
        if scope == .layerwise {
            #expect(SparsityReport(parameters: weights).layers.map(\.remaining) == [25254, 3221, 107])
        }
    }

    @Test func globalRankingOfLeNetMatchesAFullSort() throws {
        let weights = lenetWeights(seed: 3)
        var all = weights.flatMap { $0.value.array.map { abs($0) } }
        all.sort()
        let k = pruneCount(rate: 0.2, of: all.count)
        try prune(parameters: weights, criterion: .magnitude, scope: .global, rate: 0.2)
        // Every survivor is at least the k-th smallest magnitude, every removed one at most.
        for p in weights {
            for i in 0..<p.count {
                let original = abs(p.value[i])
                if p.mask![i] != 0 { #expect(original >= all[k - 1]) }
            }
        }
        #expect(SparsityReport(parameters: weights).remaining == all.count - k)
    }

    @Test func excludedOutputLayerStaysDenseButCounts() throws {
        let hidden = param("fc1.weight", [2, 5], (1...10).map(Float.init))
        let output = param("out.weight", [1, 10], (1...10).map(Float.init))
        let bias = param("fc1.bias", [2], [1, 1], prunable: false)
        let params = [hidden, bias, output]
        try prune(parameters: params, criterion: .magnitude, scope: .global, rate: 0.5,
                  selection: .excluding(["out.weight"]))
        #expect(mask(hidden) == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        #expect(output.mask == nil)
        #expect(bias.mask == nil)
        let report = SparsityReport(parameters: params)
        #expect(report.layers.map(\.name) == ["fc1.weight", "out.weight"])
        #expect(report.remaining == 15)
        #expect(report.total == 20)
        #expect(report.percentRemaining == 75)
        #expect(report["fc1.weight"]?.percentRemaining == 50)
        #expect(report["out.weight"]?.pruned == 0)
    }

    @Test func prunerStructAppliesItsConfiguration() throws {
        let a = param("a", [4], [4, 3, 2, 1])
        let pruner = try Pruner(criterion: .magnitude, scope: .layerwise, rate: 0.25)
        try pruner.prune([a])
        try pruner.prune([a])
        #expect(mask(a) == [1, 1, 0, 0])   // 4 → 3 → 2 (round(0.75) = 1)
    }

    @Test func quickselectAgreesWithSorting() {
        var rng = RNG(seed: 11, stream: "test.select")
        for n in [1, 2, 3, 10, 257, 5000] {
            for pattern in 0..<4 {
                var keys: [UInt64] = (0..<n).map { i in
                    switch pattern {
                    case 0: return UInt64(i)
                    case 1: return UInt64(n - i)
                    case 2: return UInt64(rng.below(4)) << 32 | UInt64(i)
                    default: return rng.next()
                    }
                }
                let sorted = keys.sorted()
                let k = rng.below(n)
                #expect(LowestSelection.kthSmallest(&keys, k) == sorted[k])
            }
        }
    }
}
