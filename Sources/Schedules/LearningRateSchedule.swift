import Foundation

/// A learning rate as a function of the iteration within the current training cycle.
///
/// `t` starts at 0 at the beginning of every cycle: a pruning run asks the same (or a
/// re-peaked) schedule again for each cycle, which is exactly "rewinding the schedule".
public protocol LearningRateSchedule: Sendable, CustomStringConvertible {
    /// The learning rate at iteration `t` (0-based, within the current cycle; `t >= 0`).
    func lr(at t: Int) -> Double
    /// The number of iterations per cycle when the schedule has one, else `nil`
    /// (a constant LR is meaningful for any length).
    var budget: Int? { get }
    /// Throws the first parameter that makes the schedule meaningless.
    func validate() throws(ScheduleError)
}

/// A schedule whose height is set by one peak learning rate, so a peak policy can
/// rebuild it for every cycle with that cycle's `max_lr` (S-Cyc, oracle, tables).
public protocol PeakScalable: LearningRateSchedule {
    /// The largest learning rate the schedule reaches.
    var peak: Double { get }
    /// The same shape with its peak replaced.
    func withPeak(_ peak: Double) -> Self
}

extension LearningRateSchedule {
    /// The learning rates of iterations `0 ..< count`, for traces and plots.
    public func trace(_ count: Int) -> [Double] {
        (0..<max(0, count)).map { lr(at: $0) }
    }
}

/// How a warmup climbs from its start value to its peak.
public enum Ramp: String, Sendable, CaseIterable {
    /// Straight line, as in LR warmup (Goyal et al.; S-Cyc / SILO).
    case linear
    /// Half cosine, as in 1-cycle / CLR (Le et al., "Network pruning that matters").
    case cosine

    /// The value at `progress` in [0, 1] along the ramp from `start` to `end`.
    func value(from start: Double, to end: Double, progress: Double) -> Double {
        let s = min(max(progress, 0), 1)
        switch self {
        case .linear: return start + (end - start) * s
        case .cosine: return start + (end - start) * (1 - cos(Double.pi * s)) / 2
        }
    }
}
