import NN
import Tensor
import Testing
@testable import Pruning

@Suite struct ErrorTests {
    func expectError(_ body: () throws -> Void, matching: (PruningError) -> Bool) {
        do {
            try body()
            Issue.record("expected a PruningError")
        } catch let e as PruningError {
            #expect(matching(e), "unexpected \(e)")
            #expect(!e.description.isEmpty)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func rejectsBadRatesAndScopes() {
        let a = param("a", [2], [1, 2])
        expectError({ try prune(parameters: [a], criterion: .magnitude, scope: .global, rate: 1.5) }) {
            if case .invalidRate(1.5) = $0 { return true } else { return false }
        }
        expectError({ try prune(parameters: [a], criterion: .magnitude, scope: .global, rate: -0.1) }) {
            if case .invalidRate = $0 { return true } else { return false }
        }
        expectError({ try prune(parameters: [a], criterion: .lookahead(), scope: .global, rate: 0.2) }) {
            if case .unsupportedScope("lookahead", .global) = $0 { return true } else { return false }
        }
        expectError({ try prune(parameters: [a], criterion: .lamp, scope: .layerwise, rate: 0.2) }) {
            if case .unsupportedScope("lamp", .layerwise) = $0 { return true } else { return false }
        }
        expectError({ _ = try Pruner(criterion: .lamp, scope: .layerwise, rate: 0.2) }) {
            if case .unsupportedScope = $0 { return true } else { return false }
        }
        expectError({ _ = try magprune([a], sparsity: 2) }) {
            if case .invalidSparsity = $0 { return true } else { return false }
        }
        #expect(a.mask == nil)
    }

    @Test func rejectsBadParameterSets() {
        let bias = param("b", [2], [1, 2], prunable: false)
        expectError({ try prune(parameters: [bias], criterion: .magnitude, scope: .global, rate: 0.2) }) {
            if case .noPrunableParameters = $0 { return true } else { return false }
        }
        expectError({
            try prune(parameters: [param("w", [2], [1, 2]), param("w", [2], [1, 2])],
                      criterion: .magnitude, scope: .global, rate: 0.2)
        }) { if case .duplicateParameterName("w") = $0 { return true } else { return false } }
        expectError({ try pruneFilters(parameters: [bias], criterion: .l1Norm, rate: 0.2, selection: .only(["b"])) }) {
            if case .notFilterShaped = $0 { return true } else { return false }
        }
    }

    @Test func rejectsMissingOrMisshapenGradients() {
        let w = param("w", [2], [1, 2])
        expectError({ try prune(parameters: [w], criterion: .gradient(accumulated: [:]), scope: .global, rate: 0.5) }) {
            if case .missingGradient("w") = $0 { return true } else { return false }
        }
        let g = Tensor(shape: [3])
        expectError({ try prune(parameters: [w], criterion: .gradient(accumulated: ["w": g]), scope: .global, rate: 0.5) }) {
            if case .shapeMismatch = $0 { return true } else { return false }
        }
    }

    @Test func rejectsNaNScoresWithoutTouchingMasks() {
        let w = param("w", [3], [1, .nan, 3])
        expectError({ try prune(parameters: [w], criterion: .magnitude, scope: .global, rate: 0.5) }) {
            if case .invalidScore(parameter: "w", index: 1, score: _) = $0 { return true } else { return false }
        }
        #expect(w.mask == nil)
    }

    @Test func rejectsBrokenLookaheadChains() {
        let w1 = param("w1", [3, 2], [Float](repeating: 1, count: 6))
        let w2 = param("w2", [2, 4], [Float](repeating: 1, count: 8))   // 4 inputs from 3 outputs
        expectError({ try prune(parameters: [w1, w2], criterion: .lookahead(), scope: .layerwise, rate: 0.5) }) {
            if case .lookaheadNeighbourMismatch = $0 { return true } else { return false }
        }
        expectError({
            try prune(parameters: [w1, w2], criterion: .lookahead(chain: [w1]), scope: .layerwise, rate: 0.5)
        }) { if case .notInLookaheadChain("w2") = $0 { return true } else { return false } }
    }
}
