import ArgumentParser
import Experiments
import Foundation

struct Linreg: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sparse linear regression: does PGD (weight recovery) find the true support where one-shot pruning fails?",
        discussion: """
            The study of section 4 of the cyclical-pruning paper (SPEC §6). Choices the paper leaves \
            open are fixed as follows. Each trial draws X (d x n) with N(0, 1/n) entries (so \
            E[X X^T] = I), the zero index c uniformly in 0..<d (or --zero-index), and alpha with \
            alpha_c = 0: standard-normal entries (random) or alpha_i = A[c, i] with \
            A = (X X^T + l I)^(-1) X X^T (adversarial); y = alpha^T X without noise.

            Dense training is ridge regression with l = --ridge (default 1, the scale of X X^T's \
            eigenvalues; with a tiny ridge and n > d both methods recover the support almost \
            always, unlike the paper's table). One-shot removes the smallest-|w| dense weight and \
            refits ridge (same l) on the other d - 1 features. PGD starts from the dense ridge \
            solution, as in the paper, and runs --iterations (default 1000) steps of gradient descent \
            on the unregularised loss 0.5 ||y - w^T X||^2 with step --step-scale / L (L = largest \
            eigenvalue of X X^T), each followed by zeroing the smallest |w_i|. Success: the final \
            support is exactly every index but c. Trial i uses its own random stream, so random \
            and adversarial runs with one seed see the same X and c.

            Prints both success rates with 95% Wilson intervals and paired counts. With --json, \
            stdout is one JSON object: one_shot, pgd (fractions), one_shot_ci, pgd_ci ([low, high]), \
            trials.
            """)

    @Option(help: "Features d (at least 2; the paper uses 5).")
    var d = 5
    @Option(help: "Samples n (the paper uses 2, 4 and 10).")
    var n = 4
    @Option(help: "Choice of alpha: random (standard normal) or adversarial (alpha_i = A[c, i]).")
    var alpha = "random"
    @Option(help: "Number of simulated problems.")
    var trials = 2000
    @Option(help: "Random seed; trial i uses its own stream, so random and adversarial share X and c.")
    var seed: UInt64 = 1
    @Option(help: "Ridge strength l for dense training, the one-shot refit and the adversarial A.")
    var ridge = 1.0
    @Option(help: "PGD iterations (gradient step + keep the d - 1 largest weights).")
    var iterations = 1000
    @Option(help: "PGD step as a multiple of 1/L, L = largest eigenvalue of X X^T (in (0, 2)).")
    var stepScale = 1.0
    @Option(help: "Fix the zero index c (0-based) instead of drawing it per trial.")
    var zeroIndex: Int?
    @Flag(help: "Print one JSON object on stdout instead of the summary.")
    var json = false

    func run() throws {
        guard d > 0 else { throw CLIError("--d must be positive, got \(d)") }
        guard n > 0 else { throw CLIError("--n must be positive, got \(n)") }
        guard trials > 0 else { throw CLIError("--trials must be positive, got \(trials)") }
        guard let choice = AlphaChoice(rawValue: alpha.lowercased()) else {
            throw CLIError("--alpha must be random or adversarial, got '\(alpha)'")
        }
        let study: SparseRegressionStudy
        do {
            study = try SparseRegressionStudy(d: d, n: n, alpha: choice, trials: trials, seed: seed, ridge: ridge,
                                              pgdIterations: iterations, stepScale: stepScale, zeroIndex: zeroIndex)
        } catch {
            throw CLIError(error.description)
        }
        let start = Date()
        let r = study.run()
        let seconds = Date().timeIntervalSince(start)
        if json {
            try printJSON([
                "one_shot": r.oneShot, "pgd": r.pgd,
                "one_shot_ci": [r.oneShotCI.low, r.oneShotCI.high], "pgd_ci": [r.pgdCI.low, r.pgdCI.high],
                "trials": r.trials,
            ] as [String: Any])
            return
        }
        print("sparse linear regression: d \(d), n \(n), alpha \(choice.rawValue), \(trials) trials, seed \(seed), "
              + "ridge \(ridge), PGD \(iterations) iterations at \(stepScale)/L")
        print(String(format: "  one-shot  %.3f  (95%% CI %.3f–%.3f, %d/%d)", r.oneShot, r.oneShotCI.low, r.oneShotCI.high,
                     r.oneShotSuccesses, r.trials))
        print(String(format: "  PGD       %.3f  (95%% CI %.3f–%.3f, %d/%d)", r.pgd, r.pgdCI.low, r.pgdCI.high,
                     r.pgdSuccesses, r.trials))
        print("  same problems: PGD right where one-shot failed in \(r.pgdOnlySuccesses) trials, the reverse in "
              + "\(r.oneShotOnlySuccesses)")
        print(String(format: "  PGD regrew a pruned weight in %d of %d trials  (%@)", r.pgdRecoveredTrials, r.trials,
                     duration(seconds)))
    }
}
