import Foundation

/// How the peak learning rate (`max_lr`) of each pruning cycle is chosen: the
/// "schedule of schedules". Cycle `m` counts completed pruning cycles (0: dense training).
public enum PeakPolicy: Equatable, Sendable, CustomStringConvertible {
    /// The same peak every cycle: the LR-rewinding-style benchmarks.
    case fixed(Double)
    /// S-Cyc / SILO's S-shaped growth.
    case sCyc(SCycPeak)
    /// One explicit peak per cycle, index `m`.
    case table([Double])
    /// A grid of candidate peaks; the per-cycle grid search that picks one lives with
    /// the experiment runner, which passes its choice to `CycleSchedule.schedule(cycle:peak:)`.
    case oracle(grid: [Double])

    /// The peak for cycle `m`. The oracle has none of its own and throws `.peakChosenBySearch`.
    public func peak(cycle m: Int) throws(ScheduleError) -> Double {
        try Check.nonNegative("cycle m", m)
        switch self {
        case let .fixed(peak):
            return peak
        case let .sCyc(sCyc):
            return sCyc.maxLR(cycle: m)
        case let .table(peaks):
            guard m < peaks.count else { throw .tableTooShort(cycle: m, count: peaks.count) }
            return peaks[m]
        case .oracle:
            throw .peakChosenBySearch(cycle: m)
        }
    }

    /// The peaks worth training at cycle `m`: the whole grid for the oracle, else the one peak.
    public func candidates(cycle m: Int) throws(ScheduleError) -> [Double] {
        if case let .oracle(grid) = self {
            try Check.nonNegative("cycle m", m)
            return grid
        }
        return [try peak(cycle: m)]
    }

    /// Checks the policy's parameters; `cycles`, when given, is the number of pruning
    /// cycles `L`, so a table must cover `m = 0 ... L`.
    public func validate(cycles: Int? = nil) throws(ScheduleError) {
        switch self {
        case let .fixed(peak):
            try Check.positive("peak", peak)
        case let .sCyc(sCyc):
            try sCyc.validate()
        case let .table(peaks):
            for (m, peak) in peaks.enumerated() { try Check.positive("peak[\(m)]", peak) }
            if let cycles, peaks.count <= cycles { throw .tableTooShort(cycle: cycles, count: peaks.count) }
        case let .oracle(grid):
            guard !grid.isEmpty else { throw .emptyGrid }
            for (i, peak) in grid.enumerated() { try Check.positive("grid[\(i)]", peak) }
        }
    }

    public var description: String {
        switch self {
        case let .fixed(peak): "fixed(\(peak))"
        case let .sCyc(sCyc): sCyc.description
        case let .table(peaks): "table(\(peaks))"
        case let .oracle(grid): "oracle(grid: \(grid))"
        }
    }

    /// A log-spaced grid from `lower` to `upper` inclusive with `perDecade` points per
    /// factor of 10, like the papers' 1e-4 ... 1e-1 search.
    public static func logGrid(from lower: Double, to upper: Double, perDecade: Int) throws(ScheduleError) -> [Double] {
        try Check.positive("lower", lower)
        try Check.positive("upper", upper)
        try Check.ordered("lower", lower, "upper", upper)
        try Check.positive("perDecade", perDecade)
        let steps = Int((log10(upper / lower) * Double(perDecade)).rounded())
        return (0...steps).map { lower * pow(10, Double($0) / Double(perDecade)) }
    }
}
