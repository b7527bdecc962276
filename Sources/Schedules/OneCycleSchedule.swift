import Foundation

/// Cyclic LR restarting (CLR), the 1-cycle schedule as used by Le & Hua ("Network
/// pruning that matters"): a cosine rise from the smallest LR of the original training
/// (`minLR`) to its largest (`maxLR`) over the first `warmupFraction` of the budget
/// (10% in the paper), then a cosine decay back to `minLR` at the end of the budget.
/// Ending at `minLR` is SPEC §3's reading; the paper only says "decay ... according to
/// cosine function" (Smith & Topin's own 1-cycle ends below the minimum).
public struct OneCycleSchedule: PeakScalable, Equatable {
    public var minLR: Double
    public var maxLR: Double
    /// Retraining budget in iterations.
    public var length: Int
    /// Share of the budget spent rising (0.1 in the paper; its appendix F finds 0–15% alike).
    public var warmupFraction: Double

    /// Rises from `minLR` to `maxLR` over the first `warmupFraction` of `budget` iterations, then anneals back.
    public init(minLR: Double, maxLR: Double, budget: Int, warmupFraction: Double = 0.1) {
        self.minLR = minLR
        self.maxLR = maxLR
        self.length = budget
        self.warmupFraction = warmupFraction
    }

    public var budget: Int? { length }

    /// The rise ends at a real-valued iteration so that 10% of any budget is exact.
    var warmupEnd: Double { warmupFraction * Double(length) }

    public func lr(at t: Int) -> Double {
        let time = Double(t)
        if time < warmupEnd {
            return Ramp.cosine.value(from: minLR, to: maxLR, progress: time / warmupEnd)
        }
        let progress = (time - warmupEnd) / (Double(length) - warmupEnd)
        return Ramp.cosine.value(from: maxLR, to: minLR, progress: progress)
    }

    public var peak: Double { maxLR }
    /// The same schedule with `maxLR` = `peak` (how S-Cyc re-peaks it every cycle).
    public func withPeak(_ peak: Double) -> OneCycleSchedule {
        OneCycleSchedule(minLR: min(minLR, peak), maxLR: peak, budget: length, warmupFraction: warmupFraction)
    }

    public func validate() throws(ScheduleError) {
        try Check.nonNegative("minLR", minLR)
        try Check.positive("maxLR", maxLR)
        try Check.ordered("minLR", minLR, "maxLR", maxLR)
        try Check.positive("budget", length)
        try Check.fraction("warmupFraction", warmupFraction)
    }

    public var description: String {
        "oneCycle(min: \(minLR), max: \(maxLR), budget: \(length), warmup: \(warmupFraction))"
    }
}
