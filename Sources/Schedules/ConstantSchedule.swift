/// `lr(t) = a`: the constant-LR benchmark, and fine-tuning's schedule.
public struct ConstantSchedule: PeakScalable, Equatable {
    /// The learning rate `a`.
    public var a: Double
    public var budget: Int?

    public init(a: Double, budget: Int? = nil) {
        self.a = a
        self.budget = budget
    }

    public func lr(at t: Int) -> Double { a }

    public var peak: Double { a }
    public func withPeak(_ peak: Double) -> ConstantSchedule { ConstantSchedule(a: peak, budget: budget) }

    public func validate() throws(ScheduleError) {
        try Check.positive("a (learning rate)", a)
        if let budget { try Check.positive("budget", budget) }
    }

    public var description: String { "constant(a: \(a))" }
}

extension ConstantSchedule {
    /// Fine-tuning (FT): retrain at the last (smallest) learning rate of the original
    /// training, i.e. the original schedule's value at its final iteration.
    /// - Parameters:
    ///   - original: the schedule of the original (dense) training.
    ///   - originalLength: its length in iterations; defaults to `original.budget`.
    ///   - budget: the retraining budget, recorded on the result.
    public static func fineTuning(
        after original: some LearningRateSchedule, originalLength: Int? = nil, budget: Int? = nil
    ) throws(ScheduleError) -> ConstantSchedule {
        guard let length = originalLength ?? original.budget else {
            throw .unknownLength(schedule: original.description)
        }
        try Check.positive("original length", length)
        return ConstantSchedule(a: original.lr(at: length - 1), budget: budget)
    }
}
