import Tensor

/// How the ground-truth weights `alpha` are drawn.
public enum AlphaChoice: String, Sendable, CaseIterable {
    /// `alpha_i ~ N(0, 1)` for `i != c`.
    case random
    /// `alpha_i = A[c, i]` for `i != c`, `A = (X X^T + l I)^(-1) X X^T`: the ridge solution
    /// `w = A alpha` is then large at `c`, luring magnitude pruning away from it.
    case adversarial
}

/// Why a sparse-regression study could not be set up, as one clear line.
public enum SparseRegressionError: Error, Equatable, CustomStringConvertible {
    case tooFewFeatures(Int)
    case nonPositiveSamples(Int)
    case nonPositiveTrials(Int)
    case nonPositiveIterations(Int)
    case invalidRidge(Double)
    case invalidStepScale(Double)
    case zeroIndexOutOfRange(index: Int, d: Int)

    public var description: String {
        switch self {
        case .tooFewFeatures(let d): return "d (features) must be at least 2, got \(d)"
        case .nonPositiveSamples(let n): return "n (samples) must be positive, got \(n)"
        case .nonPositiveTrials(let t): return "trials must be positive, got \(t)"
        case .nonPositiveIterations(let i): return "PGD iterations must be positive, got \(i)"
        case .invalidRidge(let l): return "ridge strength must be a positive number, got \(l)"
        case .invalidStepScale(let s): return "PGD step scale must be in (0, 2) (times 1/L), got \(s)"
        case .zeroIndexOutOfRange(let c, let d): return "zero index c must be in 0 ..< \(d), got \(c)"
        }
    }
}

/// One simulated problem and both methods' outcomes.
public struct SparseRegressionTrial: Sendable {
    /// The index `c` with `alpha_c = 0`.
    public let zeroIndex: Int
    public let alpha: [Double]
    /// Ridge solution (dense training).
    public let dense: [Double]
    /// One-shot: index removed (smallest |dense weight|) and the refit weights (0 there).
    public let oneShotPruned: Int
    public let oneShot: [Double]
    /// PGD: final weights and how many times the pruned index changed between iterations
    /// (each change regrows a previously pruned weight: weight recovery).
    public let pgd: [Double]
    public let pgdSwitches: Int

    /// Support of `w` (indices of non-zero entries) equals the true support (all but `c`).
    static func recovers(_ w: [Double], zeroIndex c: Int) -> Bool {
        w.indices.allSatisfy { ($0 == c) == (w[$0] == 0) }
    }

    public var oneShotSucceeded: Bool { Self.recovers(oneShot, zeroIndex: zeroIndex) }
    public var pgdSucceeded: Bool { Self.recovers(pgd, zeroIndex: zeroIndex) }
}

/// Success rates over many trials, with 95% Wilson intervals.
public struct SparseRegressionResult: Sendable {
    public let trials: Int
    public let oneShotSuccesses: Int
    public let pgdSuccesses: Int
    /// Trials in which PGD regrew at least one weight it had pruned.
    public let pgdRecoveredTrials: Int
    /// Paired counts (both methods see the same problem): PGD right and one-shot wrong, and
    /// the reverse. Their imbalance is a sharper comparison than two overlapping intervals.
    public let pgdOnlySuccesses: Int
    public let oneShotOnlySuccesses: Int

    public var oneShot: Double { Double(oneShotSuccesses) / Double(trials) }
    public var pgd: Double { Double(pgdSuccesses) / Double(trials) }
    public var oneShotCI: WilsonInterval { WilsonInterval(successes: oneShotSuccesses, trials: trials) }
    public var pgdCI: WilsonInterval { WilsonInterval(successes: pgdSuccesses, trials: trials) }
}

/// The sparse linear regression study of the cyclical-pruning paper, section 4 (SPEC §6):
/// does weight recovery (PGD) find the true support where one-shot magnitude pruning fails?
///
/// Each trial draws `X` (`d x n`), an index `c` and `alpha` with `alpha_c = 0`, sets
/// `y = alpha^T X` (noise-free), trains densely, prunes one weight with each method and checks
/// whether the surviving support is `{0 ..< d} \ {c}`.
///
/// Choices the paper leaves open, and what this implementation does:
/// - **Scaling of X**: entries `N(0, 1/n)` (the usual scaled-Gaussian RIP construction), so
///   `E[X X^T] = I` whatever `n`.
/// - **Ridge strength** `l` (default 1, i.e. the scale of `X X^T`'s eigenvalues): used for dense
///   training, for the one-shot refit and in `A` for the adversarial alpha. The paper's one-shot
///   rates at `n = 10` (0.35 random, 0.04 adversarial) need a ridge of this size: with a tiny
///   ridge and `n > d` the ridge solution is essentially `alpha`, so both methods would recover
///   the support almost always.
/// - **c**: uniform over `0 ..< d` per trial unless fixed (the paper quotes `c = 3` for one
///   experiment; by symmetry of the Gaussian `X` the rates do not depend on it).
/// - **Random alpha**: standard-normal non-zero entries.
/// - **One-shot**: remove the smallest-|w| ridge weight, refit ridge (same `l`) on the other
///   `d - 1` features. Success is decided by the removed index alone.
/// - **PGD**: starts from the ridge solution (the paper: "we perform either one-shot pruning or
///   PGD on the regularized least squares solution"), then `iterations` (default 1000) steps of
///   `w -= eta * X (X^T w - y)` on the *unregularised* squared loss `0.5 ||y - w^T X||^2`, each
///   followed by zeroing the smallest |w_i| (keep the `d - 1` largest; ties go to the lower
///   index). Step `eta = stepScale / L` with `L` the largest eigenvalue of `X X^T` (default
///   `stepScale` 1, the classical safe step for iterative hard thresholding). The count matters
///   only where convergence is slow: at d = 5, n = 4 adversarial PGD recovers ~0.07 after 100
///   iterations, ~0.16 after 1000 and ~0.20 after 10^4; the other cells move by under 0.02.
/// - **Randomness**: trial `i` uses its own stream of `RNG(seed:stream:)`, drawing `X`, then `c`,
///   then alpha; so random and adversarial runs with one seed share their `X` and `c`.
public struct SparseRegressionStudy: Sendable {
    public let d: Int
    public let n: Int
    public let alpha: AlphaChoice
    public let trials: Int
    public let seed: UInt64
    public let ridge: Double
    public let pgdIterations: Int
    public let stepScale: Double
    /// Fixed `c`, or nil for uniform per trial.
    public let zeroIndex: Int?

    public init(d: Int, n: Int, alpha: AlphaChoice, trials: Int, seed: UInt64 = 1,
                ridge: Double = 1, pgdIterations: Int = 1000, stepScale: Double = 1,
                zeroIndex: Int? = nil) throws(SparseRegressionError) {
        guard d >= 2 else { throw .tooFewFeatures(d) }
        guard n > 0 else { throw .nonPositiveSamples(n) }
        guard trials > 0 else { throw .nonPositiveTrials(trials) }
        guard pgdIterations > 0 else { throw .nonPositiveIterations(pgdIterations) }
        guard ridge > 0, ridge.isFinite else { throw .invalidRidge(ridge) }
        guard stepScale > 0, stepScale < 2 else { throw .invalidStepScale(stepScale) }
        if let c = zeroIndex, !(0 ..< d).contains(c) { throw .zeroIndexOutOfRange(index: c, d: d) }
        self.d = d
        self.n = n
        self.alpha = alpha
        self.trials = trials
        self.seed = seed
        self.ridge = ridge
        self.pgdIterations = pgdIterations
        self.stepScale = stepScale
        self.zeroIndex = zeroIndex
    }

    /// Standard normal in Double (Box–Muller; `RNG.normal()` rounds to Float).
    static func normal(_ rng: inout RNG) -> Double {
        let u1 = Swift.max(rng.uniformDouble(), 1e-300)
        let u2 = rng.uniformDouble()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// Index of the smallest |w_i| (lowest index on ties).
    static func smallestMagnitude(_ w: [Double]) -> Int {
        var best = 0
        for i in 1 ..< w.count where abs(w[i]) < abs(w[best]) { best = i }
        return best
    }

    /// Runs trial `index` (deterministic in `seed` and `index`).
    public func trial(_ index: Int) -> SparseRegressionTrial {
        typealias LA = SmallLinearAlgebra
        var rng = RNG(seed: seed, stream: "linreg/trial/\(index)")
        let scale = 1 / Double(n).squareRoot()
        let x = (0 ..< d * n).map { _ in Self.normal(&rng) * scale }
        let c = zeroIndex ?? rng.below(d)
        let gram = LA.gram(x, d: d, n: n)

        var a = [Double](repeating: 0, count: d)
        switch alpha {
        case .random:
            for i in 0 ..< d where i != c { a[i] = Self.normal(&rng) }
        case .adversarial:
            // Row c of A = (G + l I)^(-1) G; A is symmetric (both factors are functions of G),
            // so row c is the solution of (G + l I) r = G e_c.
            var shifted = gram
            for i in 0 ..< d { shifted[i * d + i] += ridge }
            let column = (0 ..< d).map { gram[$0 * d + c] }
            let row = LA.solve(shifted, column, n: d) ?? [Double](repeating: 0, count: d)
            for i in 0 ..< d where i != c { a[i] = row[i] }
        }
        // y = alpha^T X (length n).
        let y = (0 ..< n).map { k in (0 ..< d).reduce(0.0) { $0 + a[$1] * x[$1 * n + k] } }

        // Dense training: ridge regression. Positive definite for l > 0, so never nil.
        let dense = LA.ridge(x: x, y: y, d: d, n: n, lambda: ridge) ?? [Double](repeating: 0, count: d)

        // One-shot: remove the smallest weight, refit on the rest.
        let pruned = Self.smallestMagnitude(dense)
        let keep = (0 ..< d).filter { $0 != pruned }
        let xKeep = keep.flatMap { i in x[(i * n) ..< (i * n + n)] }
        let refit = LA.ridge(x: xKeep, y: y, d: d - 1, n: n, lambda: ridge) ?? [Double](repeating: 0, count: d - 1)
        var oneShot = [Double](repeating: 0, count: d)
        for (slot, i) in keep.enumerated() { oneShot[i] = refit[slot] }

        // PGD (iterative hard thresholding) from the dense solution.
        let eta = stepScale / LA.largestEigenvalue(gram, d: d)
        var w = dense
        var last = -1
        var switches = 0
        var residual = [Double](repeating: 0, count: n)
        for _ in 0 ..< pgdIterations {
            // residual = X^T w - y; gradient = X residual.
            for k in 0 ..< n {
                var s = -y[k]
                for i in 0 ..< d { s += w[i] * x[i * n + k] }
                residual[k] = s
            }
            for i in 0 ..< d {
                var g = 0.0
                for k in 0 ..< n { g += x[i * n + k] * residual[k] }
                w[i] -= eta * g
            }
            let j = Self.smallestMagnitude(w)
            w[j] = 0
            if last >= 0, j != last { switches += 1 }
            last = j
        }
        return SparseRegressionTrial(zeroIndex: c, alpha: a, dense: dense, oneShotPruned: pruned,
                                     oneShot: oneShot, pgd: w, pgdSwitches: switches)
    }

    /// Runs all trials.
    public func run() -> SparseRegressionResult {
        var one = 0, pgd = 0, recovered = 0, pgdOnly = 0, oneOnly = 0
        for i in 0 ..< trials {
            let t = trial(i)
            let o = t.oneShotSucceeded, p = t.pgdSucceeded
            if o { one += 1 }
            if p { pgd += 1 }
            if p && !o { pgdOnly += 1 }
            if o && !p { oneOnly += 1 }
            if t.pgdSwitches > 0 { recovered += 1 }
        }
        return SparseRegressionResult(trials: trials, oneShotSuccesses: one, pgdSuccesses: pgd,
                                      pgdRecoveredTrials: recovered, pgdOnlySuccesses: pgdOnly,
                                      oneShotOnlySuccesses: oneOnly)
    }
}
