import Testing
@testable import Experiments

@Suite struct SmallLinearAlgebraTests {
    func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-12) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < tol }
    }

    @Test func ridgeMatchesHandComputed2x2() throws {
        // X rows (features) [1 1 0], [0 1 1]: X X^T = [[2 1][1 2]]; + I = [[3 1][1 3]], inverse
        // [[3 -1][-1 3]] / 8. y = [1 2 3]: X y = [3 5], w = [9 - 5, -3 + 15] / 8 = [0.5, 1.5].
        let w = try #require(SmallLinearAlgebra.ridge(x: [1, 1, 0, 0, 1, 1], y: [1, 2, 3], d: 2, n: 3, lambda: 1))
        #expect(close(w, [0.5, 1.5]))
    }

    @Test func solves3x3AndPivots() throws {
        // [[2 1 0][1 3 1][0 1 4]] [1 2 3] = [4 10 14].
        let x = try #require(SmallLinearAlgebra.solve([2, 1, 0, 1, 3, 1, 0, 1, 4], [4, 10, 14], n: 3))
        #expect(close(x, [1, 2, 3]))
        // Zero leading pivot needs a row swap.
        let p = try #require(SmallLinearAlgebra.solve([0, 1, 1, 0], [2, 3], n: 2))
        #expect(close(p, [3, 2]))
        #expect(SmallLinearAlgebra.solve([1, 2, 2, 4], [1, 2], n: 2) == nil)
    }

    @Test func gramAndLargestEigenvalue() {
        let g = SmallLinearAlgebra.gram([1, 1, 0, 0, 1, 1], d: 2, n: 3)
        #expect(g == [2, 1, 1, 2])
        #expect(abs(SmallLinearAlgebra.largestEigenvalue(g, d: 2) - 3) < 1e-9)   // eigenvalues 1 and 3
        #expect(abs(SmallLinearAlgebra.largestEigenvalue([5, 0, 0, 0, 2, 0, 0, 0, 7], d: 3) - 7) < 1e-6)
    }
}

@Suite struct WilsonIntervalTests {
    @Test func knownValues() {
        func check(_ s: Int, _ n: Int, _ low: Double, _ high: Double) {
            let w = WilsonInterval(successes: s, trials: n)
            #expect(abs(w.low - low) < 1e-4 && abs(w.high - high) < 1e-4, "\(s)/\(n): \(w)")
        }
        check(0, 10, 0, 0.2775)          // the classic "zero events in 10" upper bound
        check(5, 10, 0.2366, 0.7634)
        check(81, 263, 0.2553, 0.3662)
        check(20, 20, 0.8389, 1)
    }
}

@Suite struct SparseRegressionTests {
    @Test func rejectsBadSetups() {
        func fails(_ expected: SparseRegressionError, _ body: () throws -> SparseRegressionStudy) {
            do {
                _ = try body()
                Issue.record("expected \(expected)")
            } catch let error as SparseRegressionError {
                #expect(error == expected)
                #expect(!error.description.isEmpty)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        fails(.tooFewFeatures(1)) { try SparseRegressionStudy(d: 1, n: 4, alpha: .random, trials: 10) }
        fails(.nonPositiveSamples(0)) { try SparseRegressionStudy(d: 5, n: 0, alpha: .random, trials: 10) }
        fails(.nonPositiveTrials(-1)) { try SparseRegressionStudy(d: 5, n: 4, alpha: .random, trials: -1) }
        fails(.invalidRidge(0)) { try SparseRegressionStudy(d: 5, n: 4, alpha: .random, trials: 10, ridge: 0) }
        fails(.invalidStepScale(2)) { try SparseRegressionStudy(d: 5, n: 4, alpha: .random, trials: 10, stepScale: 2) }
        fails(.zeroIndexOutOfRange(index: 5, d: 5)) {
            try SparseRegressionStudy(d: 5, n: 4, alpha: .random, trials: 10, zeroIndex: 5)
        }
    }

    @Test func deterministicPerSeed() throws {
        let a = try SparseRegressionStudy(d: 5, n: 4, alpha: .adversarial, trials: 50, seed: 7)
        let b = try SparseRegressionStudy(d: 5, n: 4, alpha: .adversarial, trials: 50, seed: 7)
        let c = try SparseRegressionStudy(d: 5, n: 4, alpha: .adversarial, trials: 50, seed: 8)
        #expect(a.trial(3).pgd == b.trial(3).pgd && a.trial(3).dense == b.trial(3).dense)
        #expect(a.trial(3).dense != c.trial(3).dense)
        let ra = a.run(), rb = b.run()
        #expect(ra.oneShotSuccesses == rb.oneShotSuccesses && ra.pgdSuccesses == rb.pgdSuccesses)
        // Random and adversarial with one seed share X and c.
        let r = try SparseRegressionStudy(d: 5, n: 4, alpha: .random, trials: 50, seed: 7)
        #expect(r.trial(3).zeroIndex == a.trial(3).zeroIndex)
    }

    @Test func trialInvariants() throws {
        let s = try SparseRegressionStudy(d: 5, n: 4, alpha: .adversarial, trials: 20, seed: 3, zeroIndex: 2)
        for i in 0 ..< 20 {
            let t = s.trial(i)
            #expect(t.zeroIndex == 2 && t.alpha[2] == 0)
            #expect(t.oneShot[t.oneShotPruned] == 0)
            #expect(t.pgd.filter { $0 == 0 }.count == 1)          // exactly d - 1 weights kept
            #expect(t.oneShotSucceeded == (t.oneShotPruned == 2))
        }
    }

    @Test func tinyRidgeWithManySamplesIsEasyForBoth() throws {
        // n > d and l -> 0: the ridge solution is alpha itself, so the zero weight is the smallest.
        let r = try SparseRegressionStudy(d: 5, n: 10, alpha: .random, trials: 200, seed: 1, ridge: 1e-8).run()
        #expect(r.oneShot > 0.97 && r.pgd > 0.97)
    }

    /// The paper's Table 1 pattern at d = 5 (margins generous for 300 trials, yet a PGD that
    /// never moved from the dense solution would equal one-shot and fail the n = 4, 10 checks).
    @Test func qualitativePattern() throws {
        func rates(_ n: Int, _ alpha: AlphaChoice) throws -> SparseRegressionResult {
            try SparseRegressionStudy(d: 5, n: n, alpha: alpha, trials: 300, seed: 11).run()
        }
        for alpha in AlphaChoice.allCases {
            let r2 = try rates(2, alpha)
            #expect(abs(r2.pgd - r2.oneShot) < 0.08, "n = 2 \(alpha): \(r2.oneShot) vs \(r2.pgd)")
            let r4 = try rates(4, alpha)
            #expect(r4.pgd - r4.oneShot > 0.03, "n = 4 \(alpha): \(r4.oneShot) vs \(r4.pgd)")
            let r10 = try rates(10, alpha)
            #expect(r10.pgd - r10.oneShot > 0.15, "n = 10 \(alpha): \(r10.oneShot) vs \(r10.pgd)")
        }
        let adversarial4 = try rates(4, .adversarial)
        #expect(adversarial4.oneShot < 0.10 && adversarial4.pgd > 0.08)
        // Paired counts add up to the difference in successes.
        #expect(adversarial4.pgdSuccesses - adversarial4.oneShotSuccesses
                == adversarial4.pgdOnlySuccesses - adversarial4.oneShotOnlySuccesses)
        #expect(adversarial4.pgdRecoveredTrials > 0)
    }
}
