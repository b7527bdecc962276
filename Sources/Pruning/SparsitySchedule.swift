/// Why a sparsity schedule could not be built, as one clear line.
public enum SparsityScheduleError: Error, Equatable, CustomStringConvertible {
    /// Target sparsity outside [0, 1) (1 would prune everything).
    case targetOutOfRange(Double)
    /// Initial sparsity outside [0, target] (the schedules only ever increase within a phase).
    case initialOutOfRange(initial: Double, target: Double)
    /// Mask update interval `dt` is not positive.
    case nonPositiveInterval(Int)
    /// Cycle count `k` is not positive, or exceeds the total so some cycle would be empty.
    case invalidCycles(cycles: Int, total: Int)
    /// Total iterations `T` is not positive.
    case nonPositiveTotal(Int)
    /// Pruning phase `T_p` outside (0, T].
    case pruningPhaseOutOfRange(phase: Int, total: Int)
    /// A fraction parameter (`laterInitFraction`, `rampFraction`) outside its range.
    case fractionOutOfRange(name: String, value: Double)

    public var description: String {
        switch self {
        case .targetOutOfRange(let s):
            return "target sparsity \(s) is outside [0, 1)"
        case .initialOutOfRange(let i, let s):
            return "initial sparsity \(i) is outside [0, target \(s)]"
        case .nonPositiveInterval(let dt):
            return "mask update interval dt must be positive, got \(dt)"
        case .invalidCycles(let k, let total):
            return "cycle count k must be in [1, T = \(total)], got \(k)"
        case .nonPositiveTotal(let t):
            return "total iterations T must be positive, got \(t)"
        case .pruningPhaseOutOfRange(let p, let t):
            return "pruning phase T_p must be in (0, T = \(t)], got \(p)"
        case .fractionOutOfRange(let name, let v):
            return "\(name) \(v) is outside its range"
        }
    }
}

/// Where iteration `t` falls in a cyclical schedule.
public struct CyclePosition: Sendable, Equatable {
    /// Zero-based cycle index.
    public let cycle: Int
    /// First iteration of the cycle.
    public let start: Int
    /// Iterations in the cycle.
    public let length: Int
    /// `t - start`.
    public let offset: Int
    /// True on the first iteration of every cycle after the first: the learning rate jumps back
    /// to its peak there (the first cycle's start is the beginning of training, not a restart).
    public var restartsLearningRate: Bool { cycle > 0 && offset == 0 }
}

/// A sparsity function `s(t)` for time-varying projected gradient descent (SPEC §6).
///
/// Training runs `T` iterations; at every iteration with `t % dt == 0` the mask is recomputed
/// from current magnitudes at sparsity `s(t)`, until the ramp of the current cycle has reached
/// the target: from then on the mask is fixed (fine-tuning) until the next cycle's ramp starts.
/// All shapes are pure functions of `t`:
///
/// - one-shot / step: `s(t) = s_t`; the paper's `dt > T`: the mask is chosen once, from the
///   dense network before the first update, and fixed for the whole run;
/// - linear: `s_init + (s_t - s_init) t / T_p` for `t < T_p`, then `s_t`;
/// - cubic (Zhu & Gupta): `s_t + (s_init - s_t)(1 - t/T_p)^3` for `t < T_p`, then `s_t`;
/// - cyclical: `k` cycles of (nearly) equal length over `T`; each runs the cubic from its own
///   `s_init` (0 in the first cycle, `laterInitFraction * s_t` afterwards) to `s_t` over the first
///   `rampFraction` of the cycle, then holds `s_t` (fine-tuning at a fixed mask).
///
/// Cycle `i` starts at `i * T / k` (integer division), so lengths are exactly equal when `k`
/// divides `T` and otherwise differ by at most one iteration. Iterations at or past `T` keep
/// the final value `s_t`.
public struct SparsitySchedule: Sendable, Equatable {
    public enum Shape: Sendable, Equatable {
        case oneShot
        case linear(initial: Double, pruningPhase: Int)
        case cubic(initial: Double, pruningPhase: Int)
        case cyclical(cycles: Int, laterInitFraction: Double, rampFraction: Double)
    }

    public let shape: Shape
    /// Target sparsity `s_t` in [0, 1).
    public let target: Double
    /// Total iterations `T`.
    public let total: Int
    /// Mask update interval `dt`.
    public let interval: Int

    public init(shape: Shape, target: Double, total: Int, interval: Int = 1) throws(SparsityScheduleError) {
        guard target >= 0, target < 1 else { throw .targetOutOfRange(target) }
        guard total > 0 else { throw .nonPositiveTotal(total) }
        guard interval > 0 else { throw .nonPositiveInterval(interval) }
        switch shape {
        case .oneShot:
            break
        case .linear(let initial, let phase), .cubic(let initial, let phase):
            guard initial >= 0, initial <= target else { throw .initialOutOfRange(initial: initial, target: target) }
            guard phase > 0, phase <= total else { throw .pruningPhaseOutOfRange(phase: phase, total: total) }
        case .cyclical(let k, let later, let ramp):
            guard k > 0, k <= total else { throw .invalidCycles(cycles: k, total: total) }
            guard later >= 0, later <= 1 else { throw .fractionOutOfRange(name: "laterInitFraction (range [0, 1])", value: later) }
            guard ramp > 0, ramp <= 1 else { throw .fractionOutOfRange(name: "rampFraction (range (0, 1])", value: ramp) }
        }
        self.shape = shape
        self.target = target
        self.total = total
        self.interval = interval
    }

    public static func oneShot(target: Double, total: Int, interval: Int = 1) throws(SparsityScheduleError) -> SparsitySchedule {
        try SparsitySchedule(shape: .oneShot, target: target, total: total, interval: interval)
    }

    public static func linear(target: Double, initial: Double = 0, pruningPhase: Int, total: Int,
                              interval: Int = 1) throws(SparsityScheduleError) -> SparsitySchedule {
        try SparsitySchedule(shape: .linear(initial: initial, pruningPhase: pruningPhase),
                             target: target, total: total, interval: interval)
    }

    public static func cubic(target: Double, initial: Double = 0, pruningPhase: Int, total: Int,
                             interval: Int = 1) throws(SparsityScheduleError) -> SparsitySchedule {
        try SparsitySchedule(shape: .cubic(initial: initial, pruningPhase: pruningPhase),
                             target: target, total: total, interval: interval)
    }

    /// The paper's defaults: later cycles start from half the target, the ramp takes 80% of a cycle.
    public static func cyclical(target: Double, cycles: Int, total: Int, interval: Int = 1,
                                laterInitFraction: Double = 0.5,
                                rampFraction: Double = 0.8) throws(SparsityScheduleError) -> SparsitySchedule {
        try SparsitySchedule(shape: .cyclical(cycles: cycles, laterInitFraction: laterInitFraction,
                                              rampFraction: rampFraction),
                             target: target, total: total, interval: interval)
    }

    /// `s_t + (s_init - s_t)(1 - x)^3` for progress `x` in [0, 1), `s_t` from `x >= 1`.
    static func cubicRamp(from initial: Double, to target: Double, progress x: Double) -> Double {
        guard x < 1 else { return target }
        let r = 1 - x
        return target + (initial - target) * r * r * r
    }

    /// Sparsity at iteration `t >= 0`.
    public func sparsity(at t: Int) -> Double {
        precondition(t >= 0, "iteration must be non-negative")
        switch shape {
        case .oneShot:
            return target
        case .linear(let initial, let phase):
            guard t < phase else { return target }
            return initial + (target - initial) * Double(t) / Double(phase)
        case .cubic(let initial, let phase):
            return Self.cubicRamp(from: initial, to: target, progress: Double(t) / Double(phase))
        case .cyclical(_, let later, let ramp):
            let p = cycle(at: t)
            let initial = p.cycle == 0 ? 0 : later * target
            let rampLength = ramp * Double(p.length)
            return Self.cubicRamp(from: initial, to: target, progress: Double(p.offset) / rampLength)
        }
    }

    /// Whether iteration `t` recomputes the mask after its dense update: `t % dt == 0` while
    /// the mask is not fixed. Never for one-shot, whose only mask comes from the dense network.
    public func updatesMask(at t: Int) -> Bool {
        t % interval == 0 && !fixesMask(at: t)
    }

    /// Whether the mask is fixed during iteration `t`, so its update is masked (SPEC §6: once a
    /// ramp has reached the target, fine-tune at that mask until the next ramp starts).
    /// One-shot: always. Otherwise: after the cycle's last mask update, which is the first
    /// `t % dt == 0` at which `s(t)` is the target.
    public func fixesMask(at t: Int) -> Bool {
        if case .oneShot = shape { return true }
        guard let f = fixingIteration(ofCycleAt: t) else { return false }
        return t > f
    }

    /// The mask update at the target in the cycle of `t` after which the mask is fixed; nil
    /// when the cycle ends before one (e.g. a ramp over the whole cycle).
    func fixingIteration(ofCycleAt t: Int) -> Int? {
        let p = cycle(at: t)
        let end = p.start + p.length
        // The ramp's end: the first u with s(u) = s_t (exactly, see cubicRamp). s rises
        // monotonically within a cycle, so bisect.
        var lo = p.start, hi = end
        while lo < hi {
            let mid = (lo + hi) / 2
            if sparsity(at: mid) >= target { hi = mid } else { lo = mid + 1 }
        }
        let u = (lo + interval - 1) / interval * interval  // the next mask update
        return u < end ? u : nil
    }

    /// Which cycle `t` is in. Non-cyclical shapes are one cycle spanning `T`; iterations past
    /// `T` belong to the last cycle.
    public func cycle(at t: Int) -> CyclePosition {
        precondition(t >= 0, "iteration must be non-negative")
        let k: Int
        if case .cyclical(let cycles, _, _) = shape { k = cycles } else { k = 1 }
        // Cycle i covers [i*T/k, (i+1)*T/k); the largest i with i*T/k <= t, capped at k - 1.
        var i = min(k - 1, (t * k) / total)
        while i > 0, i * total / k > t { i -= 1 }
        while i < k - 1, (i + 1) * total / k <= t { i += 1 }
        let start = i * total / k
        let end = (i + 1) * total / k
        return CyclePosition(cycle: i, start: start, length: end - start, offset: t - start)
    }
}
