import NN
import Tensor
import Testing
@testable import Pruning

@Suite struct StructuredTests {
    @Test func pfecRemovesTheSmallestL1Filters() throws {
        // Filter L1 norms: 4, 2, 3.
        let conv = param("conv.weight", [3, 1, 2, 2], [1, 1, 1, 1,  0.5, -0.5, 0.5, 0.5,  3, 0, 0, 0])
        var r = try pruneFilters(parameters: [conv], criterion: .l1Norm, rate: 1.0 / 3)
        #expect(r.layers[0].removedFilters == [1])
        #expect(mask(conv) == [1, 1, 1, 1,  0, 0, 0, 0,  1, 1, 1, 1])
        // Next round: 2 filters remain, round(0.5 * 2) = 1 goes: norm 3 < 4.
        r = try pruneFilters(parameters: [conv], criterion: .l1Norm, rate: 0.5)
        #expect(r.layers[0].remainingBefore == 2)
        #expect(r.layers[0].removedFilters == [2])
        #expect(mask(conv) == [1, 1, 1, 1,  0, 0, 0, 0,  0, 0, 0, 0])
        #expect(conv.value.array == [1, 1, 1, 1,  0, 0, 0, 0,  0, 0, 0, 0])
    }

    /// round(0.5 * 1) = 1 would remove a layer's last filter; the best one always stays.
    @Test func aLayerKeepsItsBestFilter() throws {
        let conv = param("conv.weight", [2, 1, 1, 2], [1, 1,  3, 0])
        var r = try pruneFilters(parameters: [conv], criterion: .l1Norm, rate: 1)
        #expect(r.layers[0].removedFilters == [0])
        #expect(mask(conv) == [0, 0, 1, 1])
        r = try pruneFilters(parameters: [conv], criterion: .l1Norm, rate: 0.5)
        #expect(r.layers[0].remainingBefore == 1)
        #expect(r.layers[0].removedFilters.isEmpty)
        #expect(mask(conv) == [0, 0, 1, 1])
        let fc = param("fc.weight", [3, 1], [2, 2, 2])
        r = try pruneFilters(parameters: [fc], criterion: .random(seed: 3), rate: 1)
        #expect(r.layers[0].removedFilters.count == 2)
        #expect(mask(fc)!.reduce(0, +) == 1)
    }

    @Test func linearRowsAreNeurons() throws {
        let fc = param("fc.weight", [3, 2], [1, -1,  0.1, 0.2,  5, 0])
        let bias = param("fc.bias", [3], [1, 2, 3], prunable: false)
        let r = try pruneFilters(parameters: [fc, bias], criterion: .l1Norm, rate: 0.34)
        #expect(r.layers.map(\.name) == ["fc.weight"])
        #expect(mask(fc) == [1, 1, 0, 0, 1, 1])
        try maskFilters(of: bias, removed: r.layers[0].removedFilters)
        #expect(bias.value.array == [1, 0, 3])
    }

    @Test func randomFiltersAreSeededAndWhole() throws {
        func run(_ seed: UInt64) throws -> [Float] {
            var rng = RNG(seed: 1)
            let conv = randomParam("conv", [10, 3, 3, 3], rng: &rng)
            try pruneFilters(parameters: [conv], criterion: .random(seed: seed), rate: 0.3)
            return conv.mask!.array
        }
        let m = try run(8)
        #expect(m == (try run(8)))
        // Whole filters only: each block of 27 is all 0 or all 1, and 3 of 10 are gone.
        var gone = 0
        for f in 0..<10 {
            let block = Set(m[f * 27 ..< (f + 1) * 27])
            #expect(block.count == 1)
            if block == [0] { gone += 1 }
        }
        #expect(gone == 3)
    }

    @Test func anErrorLeavesEveryLayerUnmasked() {
        let a = param("a", [2, 1], [1, 2]), b = param("b", [2, 1], [.nan, 1])
        #expect(throws: PruningError.self) {
            try pruneFilters(parameters: [a, b], criterion: .l1Norm, rate: 0.5)
        }
        #expect(a.mask == nil)
        #expect(b.mask == nil)
    }
}
