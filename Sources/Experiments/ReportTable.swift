import Foundation

/// One cell of the papers' results table: a statistic of one schedule at one cycle,
/// aggregated over the seeds that reached that cycle.
public struct ReportRow: Codable, Equatable, Sendable {
    public var schedule: String
    public var cycle: Int
    /// Nominal lambda of the cycle (percent of prunable weights remaining).
    public var percentRemaining: Double
    /// Mean over seeds (for the accuracy table: a fraction in 0...1).
    public var mean: Double
    /// Sample standard deviation (n - 1 in the denominator); 0 for a single run.
    public var std: Double
    /// Number of seeds that contributed.
    public var runs: Int

    public init(schedule: String, cycle: Int, percentRemaining: Double, mean: Double, std: Double, runs: Int) {
        self.schedule = schedule
        self.cycle = cycle
        self.percentRemaining = percentRemaining
        self.mean = mean
        self.std = std
        self.runs = runs
    }

    enum CodingKeys: String, CodingKey {
        case schedule, cycle, percentRemaining = "percent_remaining", mean, std, runs
    }
}

/// Early-stop test accuracy per (schedule, cycle): mean ± sample std over seeds (SPEC §5).
/// Rows come schedule by schedule in spec order, cycles ascending. Encodes as a JSON array
/// of rows, which is what `topiary report --json` prints.
public struct ReportTable: Codable, Equatable, Sendable {
    public var rows: [ReportRow]

    public init(rows: [ReportRow]) { self.rows = rows }

    /// Aggregates the early-stop test accuracy of `records`.
    public init(records: [CycleRecord], spec: ExperimentSpec) {
        rows = Self.aggregate(records, spec: spec) { $0.earlyStopTestAccuracy }
    }

    public init(from decoder: Decoder) throws { rows = try decoder.singleValueContainer().decode([ReportRow].self) }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rows)
    }

    /// The row of `schedule` at `cycle`, if any seed reached it.
    public func row(schedule: String, cycle: Int) -> ReportRow? {
        rows.first { $0.schedule == schedule && $0.cycle == cycle }
    }

    /// Mean ± sample std of any per-record `metric`, grouped by (schedule, cycle).
    /// A (schedule, seed, cycle) that occurs twice counts once, with its last record:
    /// a resumed run may have rewritten a cycle, and a seed must not be weighted twice.
    public static func aggregate(_ records: [CycleRecord], spec: ExperimentSpec,
                                 metric: (CycleRecord) -> Double) -> [ReportRow] {
        let unique = Self.latest(records)
        var out: [ReportRow] = []
        for schedule in scheduleOrder(records: unique, spec: spec) {
            let mine = unique.filter { $0.schedule == schedule }
            for cycle in Set(mine.map(\.cycle)).sorted() {
                let here = mine.filter { $0.cycle == cycle }
                let values = here.map(metric)
                out.append(ReportRow(schedule: schedule, cycle: cycle, percentRemaining: here[0].percentRemaining,
                                     mean: mean(values), std: sampleStandardDeviation(values), runs: values.count))
            }
        }
        return out
    }

    /// Schedules of the spec in its order, then any others found in the records (a
    /// record set need not match the spec exactly; nothing is silently dropped).
    static func scheduleOrder(records: [CycleRecord], spec: ExperimentSpec) -> [String] {
        var order = spec.schedules.map(\.name)
        for r in records where !order.contains(r.schedule) { order.append(r.schedule) }
        return order
    }

    /// Keeps the last record of each (schedule, seed, cycle), in first-seen order.
    static func latest(_ records: [CycleRecord]) -> [CycleRecord] {
        struct Key: Hashable { var schedule: String; var seed: UInt64; var cycle: Int }
        var index: [Key: Int] = [:]
        var out: [CycleRecord] = []
        for r in records {
            let k = Key(schedule: r.schedule, seed: r.seed, cycle: r.cycle)
            if let i = index[k] { out[i] = r } else {
                index[k] = out.count
                out.append(r)
            }
        }
        return out
    }

    public static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }

    /// Two-pass sample standard deviation; 0 when fewer than two values (no spread to estimate).
    public static func sampleStandardDeviation(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        let ss = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        return (ss / Double(xs.count - 1)).squareRoot()
    }
}
