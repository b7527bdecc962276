import Foundation
import Testing
@testable import Cluster
import Experiments

/// The built `topiary` stopped by SIGTERM (what the sbatch script sends on USR1, and Slurm on
/// preemption) and killed by SIGKILL at random moments, each time followed by `--resume`,
/// ends with exactly the records of an uninterrupted run.
@Suite(.serialized) struct PreemptionTests {
    @Test func stoppedAndKilledAtRandomMomentsThenResumedGivesIdenticalRecords() throws {
        guard topiaryBinary != nil else {
            print("skipped stoppedAndKilledAtRandomMomentsThenResumedGivesIdenticalRecords: the topiary executable is not built")
            return
        }
        let text = tinySpecText
        let spec = try writeSpec(text)
        let whole = tempDir(), stopped = tempDir()
        defer { for p in [spec, whole, stopped] { try? FileManager.default.removeItem(atPath: p) } }
        let (code, err) = try runTopiary(["run", spec, "--out", whole, "--threads", "1"])
        try #require(code == 0, "\(err)")
        var rng = SystemRandomNumberGenerator()

        // SIGTERM once training runs: a checkpoint, one line saying where, status 75.
        let first = try startTopiary(["run", spec, "--out", stopped, "--threads", "1"])
        waitForFirstRecord(stopped, try tinySpec(text).units()[0])
        let termDelay = Double.random(in: 0...0.5, using: &rng)
        Thread.sleep(forTimeInterval: termDelay)
        kill(first.processIdentifier, SIGTERM)
        let log = String(decoding: (first.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        first.waitUntilExit()
        #expect(first.terminationStatus == 75, "SIGTERM after \(termDelay) s: \(log)")
        #expect(log.contains("SIGTERM: stopping after the current iteration and writing a checkpoint"), "\(log)")
        #expect(log.contains("--resume continues from the mid-cycle checkpoint"), "\(log)")
        #expect(try StudyStatus(directory: stopped).units.contains { $0.state == .interrupted })

        // SIGKILL at a random moment of the resumed run: no checkpoint written then, the last one stays.
        let second = try startTopiary(["run", spec, "--out", stopped, "--resume", "--threads", "1"])
        let killDelay = Double.random(in: 0.1...1.2, using: &rng)
        Thread.sleep(forTimeInterval: killDelay)
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()

        let (last, lastLog) = try runTopiary(["run", spec, "--out", stopped, "--resume", "--threads", "1"])
        #expect(last == 0, "SIGKILL after \(killDelay) s: \(lastLog)")
        for u in try tinySpec(text).units() {
            #expect(records(stopped, u).count == 3)
            #expect(records(stopped, u) == records(whole, u), "unit \(u.name), SIGTERM after \(termDelay) s, SIGKILL after \(killDelay) s")
        }
    }

    /// `--jobs`: SIGTERM to the parent is passed on to its running children, which write their
    /// checkpoints; the parent exits 75 and `--resume` ends with the uninterrupted records.
    @Test func aStoppedJobsRunPassesTheStopOnAndResumes() throws {
        guard topiaryBinary != nil else {
            print("skipped aStoppedJobsRunPassesTheStopOnAndResumes: the topiary executable is not built")
            return
        }
        let spec = try writeSpec(tinySpecText)
        let whole = tempDir(), stopped = tempDir()
        defer { for p in [spec, whole, stopped] { try? FileManager.default.removeItem(atPath: p) } }
        let units = try tinySpec().units()
        let parent = try startTopiary(["run", spec, "--out", stopped, "--jobs", "2", "--threads", "2"])
        waitForFirstRecord(stopped, units[0])
        kill(parent.processIdentifier, SIGTERM)
        let log = String(decoding: (parent.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        parent.waitUntilExit()
        #expect(parent.terminationStatus == 75, "\(log)")
        #expect(log.contains("[unit 0] SIGTERM: stopping after the current iteration"), "\(log)")
        #expect(log.contains("stopped: the running units wrote their checkpoints"), "\(log)")
        let (code, err) = try runTopiary(["run", spec, "--out", stopped, "--jobs", "2", "--threads", "2", "--resume"])
        #expect(code == 0, "\(err)")
        #expect(err.contains("[unit 0] resuming schedule constant seed 1 at cycle"), "\(err)")
        let (local, localErr) = try runTopiary(["run", spec, "--out", whole, "--jobs", "2", "--threads", "2"])
        try #require(local == 0, "\(localErr)")
        for u in units { #expect(records(stopped, u) == records(whole, u), "unit \(u.name)") }
    }
}
