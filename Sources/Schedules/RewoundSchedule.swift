/// Learning-rate rewinding (LRW, Renda et al.): retrain with the original schedule
/// restarted. When the retraining budget is shorter than the original training, reuse
/// the original schedule's *last* `budget` iterations:
/// `lr(t) = original.lr(t + originalLength - budget)`.
/// With a budget at least as long as the original, the offset is 0 (a full restart).
public struct RewoundSchedule<Original: LearningRateSchedule>: LearningRateSchedule {
    public var original: Original
    /// Length of the original training in iterations.
    public var originalLength: Int
    /// Retraining budget in iterations.
    public var length: Int

    public init(original: Original, originalLength: Int, budget: Int) {
        self.original = original
        self.originalLength = originalLength
        self.length = budget
    }

    /// Uses the original schedule's own budget as its length.
    public init(original: Original, budget: Int) throws(ScheduleError) {
        guard let originalLength = original.budget else { throw .unknownLength(schedule: original.description) }
        self.init(original: original, originalLength: originalLength, budget: budget)
    }

    public var budget: Int? { length }

    /// Iterations of the original schedule skipped at the start of each retraining cycle.
    public var offset: Int { max(0, originalLength - length) }

    public func lr(at t: Int) -> Double { original.lr(at: t + offset) }

    public func validate() throws(ScheduleError) {
        try original.validate()
        try Check.positive("original length", originalLength)
        try Check.positive("budget", length)
    }

    public var description: String {
        "rewound(\(original), originalLength: \(originalLength), budget: \(length))"
    }
}

extension RewoundSchedule: Equatable where Original: Equatable {}
