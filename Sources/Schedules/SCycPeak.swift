import Foundation

/// The S-Cyc / SILO peak learning rate (`max_lr`) at pruning cycle `m`:
///
///     max_lr(m) = eps                                             if m <= q
///     max_lr(m) = delta / (1 + (gamma / (1 - gamma))^(-beta)) + eps  otherwise,
///                 gamma = 1 - (1 - p)^(m - q)
///
/// It grows in an S-shape from `eps` towards `eps + delta` as the network is pruned
/// (no growth, slow growth I, fast growth, slow growth II), because a sparser ReLU
/// network has narrower gradients and needs a larger LR (Liu et al., S-Cyc and SILO).
/// The papers' tables (and SPEC's worked example) print these values truncated, not
/// rounded: m = 3 of the SPEC example is 0.045460, printed 0.0454.
public struct SCycPeak: Equatable, Sendable, CustomStringConvertible {
    /// Lower bound `eps`: the dense network's peak LR.
    public var epsilon: Double
    /// Range `delta`: the peak approaches `eps + delta` for very sparse networks.
    public var delta: Double
    /// Delay `q`: cycles with no growth (papers: 0 ... 3, default 1).
    public var q: Int
    /// S-shape control `beta`: larger enters fast growth later (papers: 3 ... 6, default 5).
    public var beta: Double
    /// Pruning rate `p`: fraction of the remaining weights removed per cycle.
    public var pruningRate: Double

    /// The papers' parameters; `validate()` checks them.
    public init(epsilon: Double, delta: Double, q: Int = 1, beta: Double = 5, pruningRate: Double) {
        self.epsilon = epsilon
        self.delta = delta
        self.q = q
        self.beta = beta
        self.pruningRate = pruningRate
    }

    /// `max_lr(m)` for `m` completed pruning cycles (`m = 0`: dense training, `m >= 0`).
    public func maxLR(cycle m: Int) -> Double {
        if m <= q { return epsilon }
        // (gamma / (1 - gamma))^(-beta) = ((1 - gamma) / gamma)^beta, and 1 - gamma is
        // computed directly as (1 - p)^(m - q) to avoid cancellation for large m.
        let kept = pow(1 - pruningRate, Double(m - q))
        let gamma = 1 - kept
        return delta / (1 + pow(kept / gamma, beta)) + epsilon
    }

    /// Throws the first parameter out of range, by name.
    public func validate() throws(ScheduleError) {
        try Check.positive("epsilon (lower bound of max_lr)", epsilon)
        try Check.nonNegative("delta (range of max_lr)", delta)
        try Check.nonNegative("q (delay in cycles)", q)
        try Check.positive("beta (S-shape control)", beta)
        try PruningRate.check(pruningRate)
    }

    public var description: String {
        "sCyc(eps: \(epsilon), delta: \(delta), q: \(q), beta: \(beta), p: \(pruningRate))"
    }
}
