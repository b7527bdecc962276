/// Scaled LR restarting (SLR, Le & Hua): the original step schedule scaled to the
/// retraining budget — warm up over the first 10% of the budget to `peak`, then divide by
/// 10 at 50% and at 75% of the budget.
///
/// The paper says the warmup of SLR and CLR rises "from the smallest learning rate of
/// original training to the largest one according to cosine function", so the default
/// ramp is a cosine from `warmupStart`; pass `.linear` and `warmupStart: 0` for the
/// plain linear warmup of the S-Cyc papers.
public struct ScaledRestartSchedule: PeakScalable, Equatable {
    public var peak: Double
    /// Retraining budget in iterations.
    public var length: Int
    /// LR at `t = 0` (the smallest LR of the original training in the paper).
    public var warmupStart: Double
    public var ramp: Ramp
    /// Share of the budget spent warming up.
    public var warmupFraction: Double
    /// Shares of the budget at which the LR is divided by 10.
    public var dropFractions: [Double]

    public init(
        peak: Double, budget: Int, warmupStart: Double = 0, ramp: Ramp = .cosine,
        warmupFraction: Double = 0.1, dropFractions: [Double] = [0.5, 0.75]
    ) {
        self.peak = peak
        self.length = budget
        self.warmupStart = warmupStart
        self.ramp = ramp
        self.warmupFraction = warmupFraction
        self.dropFractions = dropFractions
    }

    public var budget: Int? { length }

    public func lr(at t: Int) -> Double {
        // Real-valued boundaries keep 10%, 50%, 75% exact for budgets not divisible by 20.
        let time = Double(t), total = Double(length)
        let warmupEnd = warmupFraction * total
        if time < warmupEnd { return ramp.value(from: warmupStart, to: peak, progress: time / warmupEnd) }
        var value = peak
        for fraction in dropFractions where time >= fraction * total { value /= 10 }
        return value
    }

    public func withPeak(_ peak: Double) -> ScaledRestartSchedule {
        var copy = self
        copy.peak = peak
        copy.warmupStart = min(warmupStart, peak)
        return copy
    }

    public func validate() throws(ScheduleError) {
        try Check.positive("peak", peak)
        try Check.positive("budget", length)
        try Check.nonNegative("warmupStart", warmupStart)
        try Check.ordered("warmupStart", warmupStart, "peak", peak)
        try Check.fraction("warmupFraction", warmupFraction)
        for (previous, next) in zip(dropFractions, dropFractions.dropFirst()) where next <= previous {
            throw .dropsNotIncreasing(drops: dropFractions.map { Int(($0 * Double(length)).rounded(.up)) })
        }
        for fraction in dropFractions {
            try Check.fraction("drop fraction", fraction)
            if fraction < warmupFraction {
                throw .dropBeforeWarmupEnd(
                    drop: Int((fraction * Double(length)).rounded(.up)),
                    warmup: Int((warmupFraction * Double(length)).rounded(.up)))
            }
        }
    }

    public var description: String {
        "scaledRestart(peak: \(peak), budget: \(length), warmup: \(warmupFraction) \(ramp.rawValue) from \(warmupStart), drops: \(dropFractions))"
    }
}
