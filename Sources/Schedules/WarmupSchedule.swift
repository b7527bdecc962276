/// LR warmup `(a, b, c, d, e)`: rise linearly from 0 to the peak `a` over `b` iterations
/// (`a * t / b`), hold, then divide by 10 at each drop iteration reached (`c, d, e`; any
/// number of drops, possibly none). This is the per-cycle shape of S-Cyc / SILO and the
/// oracle, and the "LR-warmup" benchmark (Frankle & Carbin; Renda et al.).
public struct WarmupSchedule: PeakScalable, Equatable {
    /// Peak learning rate.
    public var a: Double
    /// Warmup length in iterations (0: start at the peak).
    public var b: Int
    /// Iterations at which the LR is divided by 10; strictly increasing.
    public var drops: [Int]
    public var budget: Int?

    public init(a: Double, b: Int, drops: [Int] = [], budget: Int? = nil) {
        self.a = a
        self.b = b
        self.drops = drops
        self.budget = budget
    }

    public func lr(at t: Int) -> Double {
        if t < b { return a * Double(t) / Double(b) }
        var value = a
        // Drops are few (the papers use up to three), so a linear scan is cheapest.
        for drop in drops where t >= drop { value /= 10 }
        return value
    }

    public var peak: Double { a }
    public func withPeak(_ peak: Double) -> WarmupSchedule {
        WarmupSchedule(a: peak, b: b, drops: drops, budget: budget)
    }

    public func validate() throws(ScheduleError) {
        try Check.positive("a (peak learning rate)", a)
        try Check.nonNegative("b (warmup iterations)", b)
        if let budget {
            try Check.positive("budget", budget)
            if b >= budget { throw .beyondBudget(parameter: "b (warmup iterations)", value: b, budget: budget) }
        }
        for (previous, next) in zip(drops, drops.dropFirst()) where next <= previous {
            throw .dropsNotIncreasing(drops: drops)
        }
        for drop in drops {
            // A drop equal to b is allowed: the papers' LR-warmup (3e-3, 20K, 20K, 25K) does it.
            if drop < b { throw .dropBeforeWarmupEnd(drop: drop, warmup: b) }
            if let budget, drop >= budget { throw .beyondBudget(parameter: "drop", value: drop, budget: budget) }
        }
    }

    public var description: String { "warmup(a: \(a), b: \(b), drops: \(drops))" }
}
