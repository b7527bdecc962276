import NN
import Tensor
import Testing
@testable import Pruning

@Suite struct RewindTests {
    @Test func impRewindRestoresInitialValuesExactly() throws {
        var rng = RNG(seed: 2024, stream: "init")
        let layer = Linear(6, 4, rng: &rng)
        for i in 0..<layer.bias!.count { layer.bias!.value[i] = Float(i) * 0.1 }
        let init0 = try WeightSnapshot(parameters: layer.parameters)
        let w0 = layer.weight.value.array, b0 = layer.bias!.value.array
        // "Training": every value moves.
        for p in layer.parameters { for i in 0..<p.count { p.value[i] += 0.5 } }
        try prune(parameters: layer.parameters, criterion: .magnitude, scope: .global, rate: 0.5)
        try rewind(layer.parameters, to: init0)
        let m = layer.weight.mask!.array
        #expect(m.filter { $0 == 0 }.count == 12)
        for i in 0..<w0.count {
            #expect(layer.weight.value[i] == (m[i] != 0 ? w0[i] : 0))
        }
        #expect(layer.bias!.value.array == b0)
    }

    @Test func rewindChecksNamesAndShapes() throws {
        let a = param("a", [2], [1, 2])
        let snap = try WeightSnapshot(parameters: [a])
        #expect(snap["a"]?.values == [1, 2])
        #expect(throws: PruningError.self) { try snap.rewind([param("b", [2], [0, 0])]) }
        #expect(throws: PruningError.self) { try snap.rewind([param("a", [3], [0, 0, 0])]) }
        #expect(throws: PruningError.self) { try WeightSnapshot(parameters: [a, param("a", [1], [0])]) }
    }
}

@Suite struct MagpruneTests {
    @Test func magpruneAllowsRegrowth() throws {
        let w = param("w", [4], [0.1, 0.9, -0.5, 0.3])
        let first = try magprune([w], sparsity: 0.5)
        #expect(first[0].array == [0, 1, 1, 0])
        // theta = theta * M, then a dense step regrows index 0 past index 1.
        for i in 0..<4 { w.value[i] *= first[0][i] }
        for (i, v) in [Float(0.8), 0.2, -0.5, 0].enumerated() { w.value[i] = v }
        let second = try magprune([w], sparsity: 0.5, scope: .local)
        #expect(second[0].array == [1, 0, 1, 0])
        #expect(try MaskMetrics.recovered(earlier: first, now: second) == 1)
        // Kept {1, 2} vs {0, 2}: 1 - 1/3.
        #expect(abs(try MaskMetrics.jaccardDistance(first, second) - 2.0 / 3) < 1e-12)
        #expect(w.mask == nil)
    }

    @Test func magpruneGlobalAndLocal() throws {
        let a = param("a", [2], [0.1, 0.2]), b = param("b", [2], [1, 2])
        #expect(try magprune([a, b], sparsity: 0.5, scope: .global).map(\.array) == [[0, 0], [1, 1]])
        #expect(try magprune([a, b], sparsity: 0.5, scope: .layerwise).map(\.array) == [[0, 1], [0, 1]])
        #expect(try magprune([a, b], sparsity: 0).map(\.array) == [[1, 1], [1, 1]])
        #expect(try magprune([a, b], sparsity: 1).map(\.array) == [[0, 0], [0, 0]])
    }

    @Test func maskMetricsOnHandMadeMasks() throws {
        let s1 = [Tensor(shape: [4], values: [1, 1, 0, 0])]
        let s2 = [Tensor(shape: [4], values: [0, 1, 1, 0])]
        let s3 = [Tensor(shape: [4], values: [0, 0, 1, 1])]
        // Pairwise: only index 3 was pruned in s2 and kept in s3.
        #expect(try MaskMetrics.recovered(earlier: s2, now: s3) == 1)
        // Since the start: index 2 (pruned in s1) and 3 (pruned in s1, s2) are back.
        var tracker = WeightRecoveryTracker()
        #expect(try tracker.record(s1) == 0)
        #expect(try tracker.record(s2) == 1)
        #expect(try tracker.record(s3) == 2)
        #expect(try MaskMetrics.jaccardDistance(s1, s1) == 0)
        #expect(try MaskMetrics.jaccardDistance(s1, s3) == 1)
        let empty = [Tensor(shape: [2], values: [0, 0])]
        #expect(try MaskMetrics.jaccardDistance(empty, empty) == 0)
        #expect(throws: PruningError.self) { try MaskMetrics.jaccardDistance(s1, s1 + s2) }
        #expect(throws: PruningError.self) { try MaskMetrics.recovered(earlier: s1, now: [Tensor(shape: [3])]) }
    }
}
