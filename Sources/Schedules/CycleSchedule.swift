/// A per-iteration shape composed with a per-cycle peak policy: cycle `m` trains with
/// `template` re-peaked at the policy's `max_lr(m)`, and `t` restarts at 0 every cycle.
/// `CycleSchedule<WarmupSchedule>` with an `.sCyc` policy is S-Cyc / SILO; with
/// `.oracle` it is the papers' oracle; with `.fixed` it is the rewound LR-warmup benchmark.
public struct CycleSchedule<Shape: PeakScalable>: Sendable, CustomStringConvertible {
    /// The shape; its own peak is ignored in favour of the policy's.
    public var template: Shape
    public var policy: PeakPolicy

    public init(template: Shape, policy: PeakPolicy) {
        self.template = template
        self.policy = policy
    }

    /// The schedule for pruning cycle `m` (0: dense training).
    public func schedule(cycle m: Int) throws(ScheduleError) -> Shape {
        template.withPeak(try policy.peak(cycle: m))
    }

    /// The schedule for cycle `m` with an explicit peak, e.g. one oracle candidate.
    public func schedule(cycle m: Int, peak: Double) throws(ScheduleError) -> Shape {
        try Check.nonNegative("cycle m", m)
        try Check.positive("peak", peak)
        return template.withPeak(peak)
    }

    /// The learning rate at iteration `t` of cycle `m`.
    public func lr(cycle m: Int, at t: Int) throws(ScheduleError) -> Double {
        try schedule(cycle: m).lr(at: t)
    }

    public func validate(cycles: Int? = nil) throws(ScheduleError) {
        try template.validate()
        try policy.validate(cycles: cycles)
    }

    public var description: String { "\(template) with peak \(policy)" }
}

extension CycleSchedule: Equatable where Shape: Equatable {}

/// S-Cyc / SILO `(eps, delta, q, beta, b, c, d, e)`: LR warmup `(max_lr(m), b, c, d, e)`.
public typealias SCycSchedule = CycleSchedule<WarmupSchedule>

extension CycleSchedule where Shape == WarmupSchedule {
    /// S-Cyc / SILO with warmup `b` and drops `[c, d, e]` each cycle.
    public static func sCyc(
        _ peak: SCycPeak, warmup b: Int, drops: [Int], budget: Int? = nil
    ) -> SCycSchedule {
        SCycSchedule(template: WarmupSchedule(a: peak.epsilon, b: b, drops: drops, budget: budget), policy: .sCyc(peak))
    }
}
