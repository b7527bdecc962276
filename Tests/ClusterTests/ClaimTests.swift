import Foundation
import Testing
@testable import Cluster
import Experiments

@Suite(.serialized) struct ClaimTests {
    @Test func aClaimedUnitIsSkippedAndShownRunning() throws {
        let spec = try tinySpec()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let units = try spec.units()
        let holder = UnitClaims(directory: dir)
        let lease = try #require(try holder.claim(units[1]))
        let claims = UnitClaims(directory: dir)
        var lines: [String] = []
        claims.log = { lines.append($0) }
        let ran = try Runner(spec: spec, directory: dir).run(resume: false, only: [0, 1], gate: claims.gate)
        #expect(ran.map(\.index) == [0])
        #expect(lines.contains { $0.contains("unit 1 (s-cyc--seed1) is claimed by host") && $0.contains("pid \(getpid())") })
        let status = try StudyStatus(directory: dir)
        #expect(status.units.map(\.state) == [.finished, .running, .pending, .pending])
        #expect(status.units[1].holder?.pid == getpid())
        lease.release()
        #expect(try StudyStatus(directory: dir).units[1].state == .pending)
        // Released cleanly: the next claim is not a takeover.
        lines = []
        let again = try #require(try claims.claim(units[1]))
        again.release()
        #expect(lines.isEmpty)
    }

    @Test func aStaleClaimIsTakenOver() throws {
        let spec = try tinySpec()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let unit = try spec.units()[2]
        let claims = UnitClaims(directory: dir)
        // What a killed holder leaves: its claim file, written, no longer locked.
        let dead = ClaimHolder(host: "node7", pid: 999_999, started: 1_700_000_000, unit: 2)
        let url = claims.claimURL(unit)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONEncoder().encode(dead).write(to: url)
        var lines: [String] = []
        claims.log = { lines.append($0) }
        try Runner(spec: spec, directory: dir).run(resume: false, only: [2], gate: claims.gate)
        #expect(lines.count == 1 && lines[0].contains("taking over the stale claim of host node7 pid 999999"))
        #expect(try StudyStatus(directory: dir).units[2].state == .finished)
    }

    @Test func aSecondProcessSkipsTheUnitTheFirstHolds() throws {
        guard let _ = topiaryBinary else {
            print("skipped: the topiary executable is not built next to the tests")
            return
        }
        let spec = try writeSpec(tinySpecText.replacingOccurrences(of: "iterations_per_cycle: 20", with: "iterations_per_cycle: 60"))
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: spec) }
        let first = try startTopiary(["run", spec, "--out", dir, "--unit", "1", "--threads", "1"])
        let unit = try SpecParser.load(path: spec).units()[1]
        let claims = UnitClaims(directory: dir)
        let deadline = Date().addingTimeInterval(60)
        // The holder locks its claim file before writing its name into it: wait for both.
        while (claims.liveHolder(unit)?.pid ?? 0) == 0 && first.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let holder = try #require(claims.liveHolder(unit))
        #expect(holder.pid == first.processIdentifier)
        let (status, err) = try runTopiary(["run", spec, "--out", dir, "--units", "1", "--threads", "1"])
        #expect(status == 0)
        #expect(err.contains("unit 1 (s-cyc--seed1) is claimed by host") && err.contains("pid \(first.processIdentifier)"))
        #expect(first.isRunning)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(try StudyStatus(directory: dir).units.map(\.state) == [.pending, .finished, .pending, .pending])
    }

    /// kill -9 mid-unit: the claim goes stale, status says interrupted, and the next process
    /// takes the claim over and resumes to the records of an undisturbed run.
    @Test func aKilledHoldersClaimIsTakenOverAndTheUnitResumes() throws {
        guard topiaryBinary != nil else {
            print("skipped aKilledHoldersClaimIsTakenOverAndTheUnitResumes: the topiary executable is not built next to the tests")
            return
        }
        let text = tinySpecText.replacingOccurrences(of: "iterations_per_cycle: 20", with: "iterations_per_cycle: 40")
        let spec = try writeSpec(text)
        let dir = tempDir(), clean = tempDir()
        defer { for p in [spec, dir, clean] { try? FileManager.default.removeItem(atPath: p) } }
        let unit = try tinySpec(text).units()[3]
        let victim = try startTopiary(["run", spec, "--out", dir, "--unit", "3", "--threads", "1"])
        let deadline = Date().addingTimeInterval(60)
        while records(dir, unit).count < 1 && victim.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        try #require(victim.isRunning, "the unit finished before it could be killed")
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        let status = try StudyStatus(directory: dir)
        #expect(status.units[3].state == .interrupted)
        let (code, err) = try runTopiary(["run", spec, "--out", dir, "--unit", "3", "--threads", "1", "--resume"])
        #expect(code == 0, "\(err)")
        #expect(err.contains("unit 3 (s-cyc--seed2): taking over the stale claim of host") && err.contains("pid \(victim.processIdentifier)"))
        let (code2, err2) = try runTopiary(["run", spec, "--out", clean, "--unit", "3", "--threads", "1"])
        #expect(code2 == 0, "\(err2)")
        #expect(records(dir, unit).count == 3 && records(dir, unit) == records(clean, unit))
    }
}
