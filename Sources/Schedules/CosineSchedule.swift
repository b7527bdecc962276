import Foundation

/// Cosine annealing `(a, T)`: `a * (1 + cos(pi * t / T)) / 2`, from `a` at `t = 0` to 0
/// at `t = T`, optionally after a linear warmup of `warmup` iterations from 0 to `a`
/// (then the cosine runs over the remaining `T - warmup` iterations).
public struct CosineSchedule: PeakScalable, Equatable {
    /// Peak learning rate.
    public var a: Double
    /// Total length `T` in iterations, warmup included.
    public var T: Int
    /// Linear warmup iterations (0: none).
    public var warmup: Int

    public init(a: Double, T: Int, warmup: Int = 0) {
        self.a = a
        self.T = T
        self.warmup = warmup
    }

    public var budget: Int? { T }

    public func lr(at t: Int) -> Double {
        if t < warmup { return Ramp.linear.value(from: 0, to: a, progress: Double(t) / Double(warmup)) }
        // Clamped at T so that the LR stays at 0 instead of climbing the next half wave.
        let progress = min(Double(t - warmup) / Double(T - warmup), 1)
        return a * (1 + cos(Double.pi * progress)) / 2
    }

    public var peak: Double { a }
    public func withPeak(_ peak: Double) -> CosineSchedule { CosineSchedule(a: peak, T: T, warmup: warmup) }

    public func validate() throws(ScheduleError) {
        try Check.positive("a (peak learning rate)", a)
        try Check.positive("T (length)", T)
        try Check.nonNegative("warmup", warmup)
        if warmup >= T { throw .beyondBudget(parameter: "warmup", value: warmup, budget: T) }
    }

    public var description: String {
        warmup == 0 ? "cosine(a: \(a), T: \(T))" : "cosine(a: \(a), T: \(T), warmup: \(warmup))"
    }
}
