import NN
import Tensor
import Testing
@testable import Pruning

@Suite struct CriteriaTests {
    @Test func lampScoresByHand() throws {
        // Sorted squares 1, 4, 9: 1/(1+4+9), 4/(4+9), 9/9.
        let w = param("w", [3], [1, 2, 3])
        #expect(close(try PruningScores.lamp(w), [1.0 / 14, 4.0 / 13, 1]))
        // Order and sign do not matter: the score follows the weight.
        let v = param("v", [3], [3, -1, 2])
        #expect(close(try PruningScores.lamp(v), [1, 1.0 / 14, 4.0 / 13]))
    }

    @Test func lampIgnoresPrunedWeights() throws {
        // With 5 pruned only [1, 2, 3] remain, and 5's square must not enter any denominator.
        let w = param("w", [4], [1, 2, 3, 5])
        w.setMask(Tensor(shape: [4], values: [1, 1, 1, 0]))
        let s = try PruningScores.lamp(w)
        #expect(close(Array(s[0..<3]), [1.0 / 14, 4.0 / 13, 1]))
    }

    @Test func lampRanksLayersRelativeToThemselves() throws {
        // Both layers get scores 1/14, 4/13, 1; removing round(6/3) = 2 takes each layer's
        // smallest, where global magnitude would empty the first layer of its two smallest.
        let a = param("a", [3], [1, 2, 3]), b = param("b", [3], [10, 20, 30])
        try prune(parameters: [a, b], criterion: .lamp, scope: .global, rate: 1.0 / 3)
        #expect(mask(a) == [0, 1, 1])
        #expect(mask(b) == [0, 1, 1])
        let c = param("c", [3], [1, 2, 3]), d = param("d", [3], [10, 20, 30])
        try prune(parameters: [c, d], criterion: .magnitude, scope: .global, rate: 1.0 / 3)
        #expect(mask(c) == [0, 0, 1])
    }

    /// Chain W1 [2,2], W2 [2,2], W3 [1,2]:
    /// row norms of W1: sqrt(5), 5; column norms of W3: 2, 1;
    /// column norms of W2: sqrt(10), sqrt(1.25); row norms of W2: sqrt(2), sqrt(9.25).
    @Test func lookaheadScoresByHand() throws {
        let w1 = param("w1", [2, 2], [1, 2, 3, 4])
        let w2 = param("w2", [2, 2], [1, -1, 3, 0.5])
        let w3 = param("w3", [1, 2], [2, 1])
        let chain = [w1, w2, w3]
        let s5: Float = Float(5.0).squareRoot(), s10: Float = Float(10.0).squareRoot(), s125: Float = Float(1.25).squareRoot()
        // W2[j,k] * ||W1[k,:]|| * ||W3[:,j]||
        #expect(close(try PruningScores.lookahead(chain: chain, index: 1),
                      [1 * s5 * 2, 1 * 5 * 2, 3 * s5 * 1, 0.5 * 5 * 1]))
        // First layer: no previous neighbour (1) times W2's column norms.
        #expect(close(try PruningScores.lookahead(chain: chain, index: 0),
                      [1 * s10, 2 * s10, 3 * s125, 4 * s125]))
        // Last layer: W2's row norms, no next neighbour.
        #expect(close(try PruningScores.lookahead(chain: chain, index: 2),
                      [2 * Float(2.0).squareRoot(), 1 * Float(9.25).squareRoot()]))
    }

    @Test func lookaheadPrunesDifferentlyFromMagnitude() throws {
        // W1's LAP scores 3.16, 6.32, 3.35, 4.47 drop indices 0 and 2; magnitude would drop 0 and 1.
        let w1 = param("w1", [2, 2], [1, 2, 3, 4])
        let w2 = param("w2", [2, 2], [1, -1, 3, 0.5])
        let w3 = param("w3", [1, 2], [2, 1])
        let b1 = param("b1", [2], [0, 0], prunable: false)
        try prune(parameters: [w1, b1, w2, w3], criterion: .lookahead(), scope: .layerwise, rate: 0.5,
                  selection: .only(["w1"]))
        #expect(mask(w1) == [0, 1, 0, 1])
        #expect(w2.mask == nil)
    }

    @Test func lookaheadFlattensConvKernelsPerChannel() throws {
        // conv1 [2,1,1,2]: filter norms sqrt(5), 5. conv2 [1,2,1,2]: channel k's weights
        // times conv1's filter-k norm; conv2's per-input-channel norms sqrt(5), sqrt(1.25).
        let c1 = param("c1", [2, 1, 1, 2], [1, 2, 3, 4])
        let c2 = param("c2", [1, 2, 1, 2], [1, -2, 0.5, 1])
        let s5: Float = Float(5.0).squareRoot(), s125: Float = Float(1.25).squareRoot()
        #expect(close(try PruningScores.lookahead(chain: [c1, c2], index: 1), [s5, 2 * s5, 2.5, 5]))
        #expect(close(try PruningScores.lookahead(chain: [c1, c2], index: 0),
                      [1 * s5, 2 * s5, 3 * s125, 4 * s125]))
        // conv [2,1,1,1] → flatten (2 channels x 2 positions) → linear [1,4].
        let conv = param("conv", [2, 1, 1, 1], [1, 2])
        let fc = param("fc", [1, 4], [1, 1, 1, 1])
        #expect(close(try PruningScores.lookahead(chain: [conv, fc], index: 1), [1, 1, 2, 2]))
        let s2: Float = Float(2.0).squareRoot()
        #expect(close(try PruningScores.lookahead(chain: [conv, fc], index: 0), [s2, 2 * s2]))
    }

    @Test func gradientCriterionUsesWeightTimesGradient() throws {
        // |w*g| = 4, 2, 0.3, 1: drops indices 2 and 3 (magnitude would drop 3 and 0).
        let w = param("w", [4], [1, -2, 3, 0.5])
        let g = Tensor(shape: [4], values: [4, 1, -0.1, 2])
        #expect(close(try PruningScores.saliency(w, gradient: g), [4, 2, 0.3, 1]))
        try prune(parameters: [w], criterion: .gradient(accumulated: ["w": g]), scope: .global, rate: 0.5)
        #expect(mask(w) == [1, 1, 0, 0])
    }

    @Test func randomIsSeededDeterministic() throws {
        func run(_ seed: UInt64) throws -> [[Float]] {
            let weights = [param("a", [1000], [Float](repeating: 1, count: 1000)),
                           param("b", [500], [Float](repeating: 1, count: 500))]
            try prune(parameters: weights, criterion: .random(seed: seed), scope: .layerwise, rate: 0.2)
            #expect(SparsityReport(parameters: weights).layers.map(\.remaining) == [800, 400])
            return weights.map { $0.mask!.array }
        }
        let first = try run(42), again = try run(42), other = try run(43)
        #expect(first == again)
        #expect(first != other)
    }

    @Test func randomGlobalRemovesTheRightCount() throws {
        var rng = RNG(seed: 5)
        let weights = [randomParam("a", [30, 40], rng: &rng), randomParam("b", [10, 10], rng: &rng)]
        try prune(parameters: weights, criterion: .random(seed: 9), scope: .global, rate: 0.3)
        #expect(SparsityReport(parameters: weights).remaining == 1300 - 390)
    }
}
