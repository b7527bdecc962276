import Foundation
import Testing
@testable import Experiments

@Suite(.serialized) struct LateRewindTests {
    func dir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("topiary-rewind-\(UUID().uuidString)").path
    }

    func spec(_ schedule: String, rewind: String = "iteration:5") throws -> ExperimentSpec {
        try SpecParser.parse("""
            name: late-oracle
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 64, iterations_per_cycle: 20, eval_every: 10}
            pruning: {criterion: magnitude, scope: global, rate: 0.3, cycles: 1, rewind: "\(rewind)"}
            schedules:
              - \(schedule)
            seeds: [1]
            """)
    }

    /// The oracle's dense cycle trains every grid peak from the same start; the run continues
    /// from the best, so late rewinding must go back to the best candidate's iteration K, not
    /// to whichever candidate trained last.
    @Test func oracleRewindsToTheChosenCandidate() throws {
        // 0.05 wins by far over 1e-9 (which barely leaves the initialisation), and trains first.
        let oracle = try spec("{name: o, kind: oracle, grid: [0.05, 1.0e-9], warmup: 2}")
        let alone = try spec("{name: o, kind: warmup, peak: 0.05, warmup: 2}")
        let a = dir(), b = dir()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try Runner(spec: oracle, directory: a).run(resume: false)
        try Runner(spec: alone, directory: b).run(resume: false)
        let dense = try #require(try RunStore(directory: a).allRecords(spec: oracle).first { $0.cycle == 0 })
        #expect(dense.oracle?.bestPeak == 0.05)
        let rewindA = try Data(contentsOf: RunStore(directory: a).rewindURL(schedule: "o", seed: 1))
        let rewindB = try Data(contentsOf: RunStore(directory: b).rewindURL(schedule: "o", seed: 1))
        #expect(rewindA == rewindB)
    }

    @Test func rewindIterationMustBeADenseIteration() throws {
        // Dense training is 20 iterations (0 ... 19): iteration 20 is never reached.
        #expect { try spec("{name: c, kind: constant, lr: 0.01}", rewind: "iteration:20") } throws: {
            "\($0)".contains("outside") && "\($0)".contains("[0, 20)")
        }
        #expect(throws: Never.self) { try spec("{name: c, kind: constant, lr: 0.01}", rewind: "iteration:19") }
    }
}
