import Foundation
@testable import Experiments
import Schedules

/// A record with only the fields a test cares about set.
func record(_ schedule: String, seed: UInt64, cycle: Int, acc: Double, peak: Double = 0.1,
            rate: Double = 0.2, oracle: CycleRecord.OracleOutcome? = nil) -> CycleRecord {
    let lambda = percentRemaining(rate: rate, cycle: cycle)
    return CycleRecord(schedule: schedule, seed: seed, cycle: cycle, percentRemaining: lambda,
                       measuredPercentRemaining: lambda, layers: ["fc1.weight": lambda, "fc2.weight": lambda],
                       peakLR: peak, bestValAccuracy: acc + 0.01, earlyStopTestAccuracy: acc,
                       finalTestAccuracy: acc - 0.01, trainLoss: 0.25, iterations: 100, seconds: 1.5,
                       oracle: oracle)
}

func spec(schedules: [ScheduleSpec], seeds: [UInt64] = [1, 2, 3], cycles: Int = 2) -> ExperimentSpec {
    var s = ExperimentSpec(name: "test-exp")
    s.schedules = schedules
    s.seeds = seeds
    s.pruning.cycles = cycles
    return s
}

func sched(_ name: String, _ kind: String = "constant") -> ScheduleSpec { ScheduleSpec(name: name, kind: kind) }

func tempDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
