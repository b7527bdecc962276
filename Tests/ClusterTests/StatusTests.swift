import Foundation
import Testing
@testable import Cluster
import Experiments

/// Wraps a real lease and looks at the study's status each time the unit reports progress.
private final class Spy: UnitLease {
    let inner: UnitLease
    let directory: String
    var seen: [StudyStatus.Unit] = []
    init(_ inner: UnitLease, directory: String) { self.inner = inner; self.directory = directory }
    func progress(_ p: RunProgress) {
        inner.progress(p)
        if let s = try? StudyStatus(directory: directory) { seen.append(s.units[1]) }
    }
    func release() { inner.release() }
}

@Suite(.serialized) struct StatusTests {
    @Test func aRunningUnitShowsWhereItIsAndFinishedOnesTheirAccuracy() throws {
        let spec = try tinySpec()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let claims = UnitClaims(directory: dir)
        claims.progressInterval = 0
        var spy: Spy?
        try Runner(spec: spec, directory: dir).run(resume: false, only: [1]) { unit in
            spy = Spy(try claims.claim(unit)!, directory: dir)
            return spy
        }
        let seen = try #require(spy?.seen)
        // The last report comes after the last cycle's records: the unit is finished by then.
        #expect(seen.count > 3 && seen.dropLast().allSatisfy { $0.state == .running && $0.holder?.pid == getpid() })
        #expect(seen.last?.state == .finished)
        #expect(seen.contains { $0.progress?.cycle == 1 && $0.progress?.iteration == 10 && $0.cyclesDone == 1 })
        #expect(seen.last?.lastAccuracy != nil)
        let status = try StudyStatus(directory: dir)
        #expect(status.units.map(\.state) == [.pending, .finished, .pending, .pending])
        #expect(status.units[1].cyclesDone == 3 && status.units[1].cycles == 3)
        #expect(status.iterationsDone == 60 && status.iterations == 240)
        #expect(status.secondsLeft != nil)
        // The progress file goes with the claim.
        #expect(!FileManager.default.fileExists(atPath: dir + "/progress/s-cyc--seed1.json"))
        #expect(status.text().contains("1 finished"))
    }

    @Test func anInterruptedUnitIsInterruptedUntilResumed() throws {
        let spec = try tinySpec()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = Runner(spec: spec, directory: dir)
        runner.stopAfterCycles = 1
        #expect(throws: RunError.self) { try runner.run(resume: false, only: [2], gate: UnitClaims(directory: dir).gate) }
        #expect(try StudyStatus(directory: dir).units[2].state == .interrupted)
        // Without --resume the claimed unit is reported, not restarted.
        #expect(throws: RunError.self) { try Runner(spec: spec, directory: dir).run(resume: false, only: [2], gate: UnitClaims(directory: dir).gate) }
        try Runner(spec: spec, directory: dir).run(resume: true, only: [2], gate: UnitClaims(directory: dir).gate)
        #expect(try StudyStatus(directory: dir).units[2].state == .finished)
    }

    @Test func planListsUnitsWithStateAndEstimate() throws {
        let spec = try tinySpec()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false, only: [0])
        let plan = try StudyPlan(spec: spec, directory: dir, probeSteps: 2)
        #expect(plan.units.map(\.state) == [.finished, .pending, .pending, .pending])
        #expect(plan.iterations == 240)
        #expect(plan.units.allSatisfy { ($0.estimatedSeconds ?? 0) > 0 })
        #expect(try StudyPlan(spec: spec, directory: tempDir(), probeSteps: 0).estimatedSeconds == nil)
        var other = spec
        other.seeds = [5]
        #expect(throws: RunError.self) { try StudyPlan(spec: other, directory: dir, probeSteps: 0) }
    }
}

@Suite(.serialized) struct JobsTests {
    /// `--jobs 2` runs single-threaded children; their records equal a one-thread run's.
    @Test func jobsGiveTheRecordsOfOneProcess() throws {
        guard topiaryBinary != nil else {
            print("skipped jobsGiveTheRecordsOfOneProcess: the topiary executable is not built next to the tests")
            return
        }
        let text = tinySpecText.replacingOccurrences(of: "seeds: [1, 2]", with: "seeds: [3]")
        let spec = try writeSpec(text)
        let one = tempDir(), two = tempDir()
        defer { for p in [spec, one, two] { try? FileManager.default.removeItem(atPath: p) } }
        let (s1, e1) = try runTopiary(["run", spec, "--out", one, "--threads", "1"])
        #expect(s1 == 0, "\(e1)")
        let (s2, e2) = try runTopiary(["run", spec, "--out", two, "--jobs", "2", "--threads", "2"])
        #expect(s2 == 0, "\(e2)")
        #expect(e2.contains("2 of 2 units to run, 2 at a time with 1 threads each"))
        #expect(e2.contains("[unit 0]") && e2.contains("[unit 1]") && e2.contains("report: "))
        for u in try tinySpec(text).units() {
            #expect(!records(one, u).isEmpty)
            #expect(records(one, u) == records(two, u))
        }
        // Nothing left to do: a second --jobs run starts no child.
        let (s3, e3) = try runTopiary(["run", spec, "--out", two, "--jobs", "2"])
        #expect(s3 == 0 && e3.contains("0 of 2 units to run"))
    }
}
