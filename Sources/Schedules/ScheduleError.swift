/// Why a schedule or peak policy is not usable. Each case names the parameter at fault
/// so that the CLI can print one clear line about the user's experiment file.
public enum ScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A learning rate, length or shape parameter that must be strictly positive.
    case notPositive(parameter: String, value: Double)
    /// A parameter that may be zero but not negative (warmup length, `q`, `delta`, cycle).
    case negative(parameter: String, value: Double)
    /// NaN or infinity where a real number is needed.
    case notFinite(parameter: String)
    /// A fraction that must lie strictly between 0 and 1 (the pruning rate `p`).
    case outsideOpenUnitInterval(parameter: String, value: Double)
    /// A fraction that must lie in [0, 1) (a warmup fraction of the budget).
    case outsideHalfOpenUnitInterval(parameter: String, value: Double)
    /// Drop iterations must be strictly increasing.
    case dropsNotIncreasing(drops: [Int])
    /// A drop that happens while the LR is still warming up.
    case dropBeforeWarmupEnd(drop: Int, warmup: Int)
    /// An iteration parameter at or past the cycle's budget, so it would never be reached.
    case beyondBudget(parameter: String, value: Int, budget: Int)
    /// The lower bound of a range exceeds its upper bound.
    case lowerAboveUpper(lower: String, lowerValue: Double, upper: String, upperValue: Double)
    /// An explicit per-cycle table has no entry for this cycle.
    case tableTooShort(cycle: Int, count: Int)
    /// An oracle grid with no candidates.
    case emptyGrid
    /// The oracle's peak is chosen by a search over its grid, not by a formula.
    case peakChosenBySearch(cycle: Int)
    /// The length of the original schedule is needed but was not given.
    case unknownLength(schedule: String)

    public var description: String {
        switch self {
        case let .notPositive(parameter, value):
            "\(parameter) must be > 0, got \(value)"
        case let .negative(parameter, value):
            "\(parameter) must be >= 0, got \(value)"
        case let .notFinite(parameter):
            "\(parameter) must be a finite number"
        case let .outsideOpenUnitInterval(parameter, value):
            "\(parameter) must lie strictly between 0 and 1, got \(value)"
        case let .outsideHalfOpenUnitInterval(parameter, value):
            "\(parameter) must lie in [0, 1), got \(value)"
        case let .dropsNotIncreasing(drops):
            "drops must be strictly increasing, got \(drops)"
        case let .dropBeforeWarmupEnd(drop, warmup):
            "drop at iteration \(drop) comes before the warmup ends at iteration \(warmup)"
        case let .beyondBudget(parameter, value, budget):
            "\(parameter) = \(value) is not inside the budget of \(budget) iterations"
        case let .lowerAboveUpper(lower, lowerValue, upper, upperValue):
            "\(lower) (\(lowerValue)) must not exceed \(upper) (\(upperValue))"
        case let .tableTooShort(cycle, count):
            "peak table has \(count) entries, none for cycle \(cycle)"
        case .emptyGrid:
            "oracle grid of peaks is empty"
        case let .peakChosenBySearch(cycle):
            "the oracle's peak for cycle \(cycle) is chosen by grid search; pass the candidate peak explicitly"
        case let .unknownLength(schedule):
            "the length of \(schedule) is needed but not known; give it explicitly"
        }
    }
}

/// Small shared checks; they keep every `validate()` to one line per parameter.
enum Check {
    static func positive(_ name: String, _ value: Double) throws(ScheduleError) {
        guard value.isFinite else { throw .notFinite(parameter: name) }
        guard value > 0 else { throw .notPositive(parameter: name, value: value) }
    }

    static func nonNegative(_ name: String, _ value: Double) throws(ScheduleError) {
        guard value.isFinite else { throw .notFinite(parameter: name) }
        guard value >= 0 else { throw .negative(parameter: name, value: value) }
    }

    static func positive(_ name: String, _ value: Int) throws(ScheduleError) {
        guard value > 0 else { throw .notPositive(parameter: name, value: Double(value)) }
    }

    static func nonNegative(_ name: String, _ value: Int) throws(ScheduleError) {
        guard value >= 0 else { throw .negative(parameter: name, value: Double(value)) }
    }

    static func fraction(_ name: String, _ value: Double) throws(ScheduleError) {
        guard value.isFinite else { throw .notFinite(parameter: name) }
        guard value >= 0, value < 1 else { throw .outsideHalfOpenUnitInterval(parameter: name, value: value) }
    }

    static func ordered(_ lower: String, _ lo: Double, _ upper: String, _ hi: Double) throws(ScheduleError) {
        guard lo <= hi else { throw .lowerAboveUpper(lower: lower, lowerValue: lo, upper: upper, upperValue: hi) }
    }
}
