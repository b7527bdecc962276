/// LR decay `(a, b)`: `lr(t) = a * max(0, 1 - t/b)`, from `a` down to 0 over `b` iterations.
public struct LinearDecaySchedule: PeakScalable, Equatable {
    /// Initial learning rate.
    public var a: Double
    /// Iterations to reach 0.
    public var b: Int
    public var budget: Int?

    public init(a: Double, b: Int, budget: Int? = nil) {
        self.a = a
        self.b = b
        self.budget = budget
    }

    public func lr(at t: Int) -> Double {
        a * max(0, 1 - Double(t) / Double(b))
    }

    public var peak: Double { a }
    public func withPeak(_ peak: Double) -> LinearDecaySchedule { LinearDecaySchedule(a: peak, b: b, budget: budget) }

    public func validate() throws(ScheduleError) {
        try Check.positive("a (initial learning rate)", a)
        try Check.positive("b (decay length)", b)
        if let budget { try Check.positive("budget", budget) }
    }

    public var description: String { "linearDecay(a: \(a), b: \(b))" }
}
