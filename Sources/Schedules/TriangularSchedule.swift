import Foundation

/// Cyclical LR `(a, b, c)` (Smith 2017, "triangular" policy): linear between the lower
/// bound `a` and the upper bound `b` with a half period (step size) of `c` iterations.
/// `cyc = floor(1 + t/(2c))`, `x = |t/c - 2 cyc + 1|`, `lr = a + (b - a) * max(0, 1 - x)`.
/// It starts at `a`, reaches `b` at `t = c`, is back at `a` at `t = 2c`, and repeats.
public struct TriangularSchedule: PeakScalable, Equatable {
    /// Lower bound (`base_lr`).
    public var a: Double
    /// Upper bound (`max_lr`).
    public var b: Double
    /// Half period (step size) in iterations.
    public var c: Int
    public var budget: Int?

    public init(a: Double, b: Double, c: Int, budget: Int? = nil) {
        self.a = a
        self.b = b
        self.c = c
        self.budget = budget
    }

    public func lr(at t: Int) -> Double {
        // Real division, as in Smith's formulation: the ramp is linear inside a step.
        let phase = Double(t) / Double(c)
        let cyc = (1 + phase / 2).rounded(.down)
        let x = abs(phase - 2 * cyc + 1)
        return a + (b - a) * max(0, 1 - x)
    }

    public var peak: Double { b }
    /// Moves the upper bound only; the lower bound stays (clamped so it never exceeds the peak).
    public func withPeak(_ peak: Double) -> TriangularSchedule {
        TriangularSchedule(a: min(a, peak), b: peak, c: c, budget: budget)
    }

    public func validate() throws(ScheduleError) {
        try Check.nonNegative("a (lower bound)", a)
        try Check.positive("b (upper bound)", b)
        try Check.ordered("a (lower bound)", a, "b (upper bound)", b)
        try Check.positive("c (step size)", c)
        if let budget { try Check.positive("budget", budget) }
    }

    public var description: String { "cyclical(a: \(a), b: \(b), c: \(c))" }
}
