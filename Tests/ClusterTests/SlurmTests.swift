import Foundation
import Testing
@testable import Cluster
import Experiments

struct SlurmScriptTests {
    @Test func arrayRangesCompressRuns() {
        #expect(SlurmScripts.arrayRange([0, 1, 2, 3]) == "0-3")
        #expect(SlurmScripts.arrayRange([7, 0, 3, 5, 6]) == "0,3,5-7")
        #expect(SlurmScripts.arrayRange([4]) == "4")
    }

    @Test func impossibleOptionsGetOneLine() {
        var o = SlurmOptions()
        #expect(o.problem() == nil)
        o.time = "1-02:03:04"
        #expect(o.problem() == nil && SlurmOptions.seconds("1-02:03:04") == 93_784)
        for bad in ["10", "1:2", "00:61:00", "x-01:00:00"] {
            o.time = bad
            #expect(o.problem()?.hasPrefix("--time must be") == true)
        }
        o.time = "00:01:00"
        #expect(o.problem()?.contains("--signal-seconds") == true)
        o = SlurmOptions()
        o.maxParallel = 0
        #expect(o.problem() == "--max-parallel must be positive, got 0")
        o = SlurmOptions()
        o.extra = ["account=x"]
        #expect(o.problem()?.hasPrefix("--sbatch-arg") == true)
    }

    @Test func theArrayScriptRunsOneUnitPerTaskAndRequeuesOnUSR1() {
        var o = SlurmOptions()
        o.partition = "cpu"
        o.time = "02:00:00"
        o.cpusPerTask = 4
        o.mem = "8G"
        o.gres = "gpu:1"
        o.maxParallel = 3
        o.signalSeconds = 300
        o.extra = ["--account=lab"]
        let s = SlurmScripts.units(name: "study", units: [1, 2, 3, 6], directory: "/shared/run", topiary: "/opt/topiary",
                                   spec: "/shared/run/slurm/spec.yaml", dataDir: nil, options: o)
        for line in ["#SBATCH --array=1-3,6%3", "#SBATCH --signal=B:USR1@300", "#SBATCH --requeue", "#SBATCH --partition=cpu",
                     "#SBATCH --time=02:00:00", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G", "#SBATCH --gres=gpu:1",
                     "#SBATCH --account=lab", "#SBATCH --output=/shared/run/slurm/unit-%a.out",
                     "'/opt/topiary' run '/shared/run/slurm/spec.yaml' --out '/shared/run' --unit env --resume",
                     "trap requeue USR1", "scontrol requeue"] {
            #expect(s.contains(line + "\n") || s.contains(line + " ") || s.contains(line + "\""), "\(line)")
        }
        let r = SlurmScripts.report(name: "study", directory: "/shared/run", topiary: "/opt/topiary", options: o)
        #expect(r.contains("'/opt/topiary' report '/shared/run'\n") && r.contains("#SBATCH --partition=cpu\n"))
    }
}

/// The one-node cluster of scripts/slurm-cluster.sh (scripts/test.sh starts it as root).
private var slurmConf: String? {
    let conf = ProcessInfo.processInfo.environment["SLURM_CONF"] ?? "/tmp/topiary-slurm/slurm.conf"
    return FileManager.default.fileExists(atPath: conf) ? conf : nil
}

private func tool(_ args: [String], conf: String) -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(["SLURM_CONF": conf]) { $1 }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return (-1, "") }
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: d, as: UTF8.self))
}

@Suite(.serialized) struct SlurmIntegrationTests {
    /// 2 schedules x 2 seeds through `topiary slurm` on a real (one-node) cluster: the array and
    /// the report job run, and the records equal those of the same spec run locally.
    @Test func aStudyRunThroughSlurmGivesTheLocalRecords() throws {
        guard geteuid() == 0 else {
            print("skipped aStudyRunThroughSlurmGivesTheLocalRecords: needs root (scripts/test.sh starts a one-node Slurm cluster as root)")
            return
        }
        let answers = slurmConf.map { conf in ["idle", "mix", "alloc"].contains { tool(["sinfo", "-h", "-o", "%T"], conf: conf).1.contains($0) } }
        guard let conf = slurmConf, answers == true else {
            print("skipped aStudyRunThroughSlurmGivesTheLocalRecords: no Slurm cluster answers (start one with scripts/slurm-cluster.sh start and set SLURM_CONF)")
            return
        }
        guard topiaryBinary != nil else {
            print("skipped aStudyRunThroughSlurmGivesTheLocalRecords: the topiary executable is not built next to the tests")
            return
        }
        let spec = try writeSpec(tinySpecText)
        let viaSlurm = tempDir(), local = tempDir()
        defer { for p in [spec, viaSlurm, local] { try? FileManager.default.removeItem(atPath: p) } }
        let localRun = try startTopiary(["run", spec, "--out", local, "--threads", "1"])

        let p = Process()
        p.executableURL = URL(fileURLWithPath: topiaryBinary!)
        p.arguments = ["slurm", spec, "--out", viaSlurm, "--max-parallel", "2", "--time", "00:10:00"]
        p.environment = ProcessInfo.processInfo.environment.merging(["SLURM_CONF": conf]) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let words = printed.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        try #require(words.count == 4 && words[0] == "units" && words[2] == "report", "\(printed)")
        let (array, report) = (words[1], words[3])
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !tool(["squeue", "-h", "-j", "\(array),\(report)", "-o", "%i"], conf: conf).1.isEmpty {
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(tool(["squeue", "-h", "-j", "\(array),\(report)", "-o", "%i"], conf: conf).1.isEmpty, "the jobs did not end in 120 s")
        localRun.waitUntilExit()
        #expect(localRun.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: viaSlurm + "/report.md"))
        let reportLog = (try? String(contentsOfFile: viaSlurm + "/slurm/report.out", encoding: .utf8)) ?? ""
        #expect(reportLog.contains("4 finished"))
        for u in try tinySpec().units() {
            #expect(records(viaSlurm, u).count == 3)
            #expect(records(viaSlurm, u) == records(local, u))
        }
    }

    /// USR1 to a task's batch shell (what --signal=B:USR1@S sends before the time limit): the
    /// task stops its unit (which writes a mid-cycle checkpoint) and requeues itself; the
    /// requeued task resumes at the iteration the unit stopped after and ends with the local records.
    @Test func aSignalledTaskRequeuesAndResumes() throws {
        guard geteuid() == 0, topiaryBinary != nil else {
            print("skipped aSignalledTaskRequeuesAndResumes: needs root and the built topiary executable")
            return
        }
        let answers = slurmConf.map { conf in ["idle", "mix", "alloc"].contains { tool(["sinfo", "-h", "-o", "%T"], conf: conf).1.contains($0) } }
        guard let conf = slurmConf, answers == true else {
            print("skipped aSignalledTaskRequeuesAndResumes: no Slurm cluster answers (start one with scripts/slurm-cluster.sh start and set SLURM_CONF)")
            return
        }
        let text = tinySpecText
            .replacingOccurrences(of: "iterations_per_cycle: 20", with: "iterations_per_cycle: 40")
            .replacingOccurrences(of: "cycles: 2", with: "cycles: 3")
            .replacingOccurrences(of: "seeds: [1, 2]", with: "seeds: [4]")
            .replacingOccurrences(of: "  - {name: s-cyc, kind: scyc, epsilon: 0.02, delta: 0.1, q: 1, beta: 5, warmup: 5, drops: [12, 16]}\n", with: "")
        let spec = try writeSpec(text)
        let viaSlurm = tempDir(), local = tempDir()
        defer { for p in [spec, viaSlurm, local] { try? FileManager.default.removeItem(atPath: p) } }
        let unit = try #require(try tinySpec(text).units().first)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: topiaryBinary!)
        p.arguments = ["slurm", spec, "--out", viaSlurm]
        p.environment = ProcessInfo.processInfo.environment.merging(["SLURM_CONF": conf]) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let words = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").map(String.init)
        p.waitUntilExit()
        try #require(words.count == 4, "\(words)")
        let array = words[1], report = words[3].trimmingCharacters(in: .whitespacesAndNewlines)
        var deadline = Date().addingTimeInterval(60)
        while records(viaSlurm, unit).isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(tool(["scancel", "--signal=USR1", "--batch", "\(array)_0"], conf: conf).0 == 0)
        let (code, err) = try runTopiary(["run", spec, "--out", local, "--threads", "1"])
        #expect(code == 0, "\(err)")
        deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !tool(["squeue", "-h", "-j", "\(array),\(report)", "-o", "%i"], conf: conf).1.isEmpty {
            Thread.sleep(forTimeInterval: 0.5)
        }
        let log = (try? String(contentsOfFile: viaSlurm + "/slurm/unit-0.out", encoding: .utf8)) ?? ""
        #expect(log.contains("USR1: the time limit is near; stopping unit 0 and requeueing it"), "\(log)")
        // The unit finished its iteration, wrote a mid-cycle checkpoint and released its claim;
        // the requeued task continued inside that cycle, not from its start.
        #expect(log.contains("SIGTERM: stopping after the current iteration and writing a checkpoint"), "\(log)")
        #expect(log.contains("--resume continues from the mid-cycle checkpoint"), "\(log)")
        let resumed = try #require(log.firstMatch(of: /resuming schedule constant seed 4 at cycle (\d+) iteration (\d+)/), "\(log)")
        let stoppedAt = try #require(log.firstMatch(of: /stopped schedule constant seed 4 in cycle (\d+) after iteration (\d+) of 40/), "\(log)")
        #expect(resumed.1 == stoppedAt.1 && resumed.2 == stoppedAt.2)
        #expect(Int(resumed.2)! > 0)
        #expect(records(viaSlurm, unit).count == 4)
        #expect(records(viaSlurm, unit) == records(local, unit))
    }
}
