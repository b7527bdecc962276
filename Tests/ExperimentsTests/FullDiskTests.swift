import Foundation
import Testing
@testable import Experiments

private func diskSpec() throws -> ExperimentSpec {
    try SpecParser.parse("""
        name: disk
        data: {dataset: synthetic}
        model: mlp
        optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0001}
        training: {batch_size: 64, iterations_per_cycle: 20, eval_every: 10}
        pruning: {criterion: magnitude, scope: global, rate: 0.2, cycles: 2, rewind: none}
        schedules:
          - {name: constant, kind: constant, lr: 0.05}
        seeds: [1]
        """)
}

private func scratch() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("topiary-disk-\(UUID().uuidString)").path
}

private func records(_ dir: String, _ spec: ExperimentSpec) throws -> [CycleRecord] {
    try RunStore(directory: dir).allRecords(spec: spec).map { var r = $0; r.seconds = 0; return r }
}

private func leftovers(_ dir: String) -> [String] {
    (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).filter { $0.contains(".tmp-") }
}

private func shell(_ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
}

@Suite(.serialized) struct FullDiskTests {
    /// A failed checkpoint write (injected: half the bytes, then ENOSPC) says what and where in
    /// one line, leaves no temporary file and the previous checkpoint, and --resume finishes
    /// with the records of an undisturbed run.
    @Test func aFailedCheckpointWriteKeepsThePreviousOneAndResumes() throws {
        let spec = try diskSpec()
        let full = scratch(), dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: full); try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: full).run(resume: false)
        let ckpt = RunStore(directory: dir).checkpointURL(schedule: "constant", seed: 1)
        var writes = 0
        AtomicFile.injectedFailure = { url in
            guard url == ckpt else { return nil }
            writes += 1
            return writes == 2 ? ENOSPC : nil
        }
        defer { AtomicFile.injectedFailure = nil }
        do {
            try Runner(spec: spec, directory: dir).run(resume: false)
            Issue.record("the run should have failed")
        } catch let e as RunError {
            #expect(e.description.hasPrefix("cannot write constant--seed1.ckpt ("))
            #expect(e.description.contains("in \(ckpt.deletingLastPathComponent().path): no space left on the device of \(ckpt.deletingLastPathComponent().path)"))
            #expect(!e.description.contains("\n") && !e.description.contains("NSCocoaErrorDomain"))
        }
        #expect(leftovers(dir).isEmpty)
        let kept = try Checkpoint.decode(try Data(contentsOf: ckpt), file: ckpt.path)
        #expect(kept.cycle == 0)
        AtomicFile.injectedFailure = nil
        try Runner(spec: spec, directory: dir).run(resume: true)
        #expect(try records(dir, spec) == records(full, spec))
    }

    /// The same on a real full device: a 4 MB tmpfs (root only; skipped with a line otherwise).
    @Test func aFullTmpfsStopsTheRunCleanlyAndResumeContinues() throws {
        let spec = try diskSpec()
        let dir = scratch(), full = scratch()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: full) }
        guard geteuid() == 0, shell(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]) == 0 else {
            print("skipped aFullTmpfsStopsTheRunCleanlyAndResumeContinues: needs root and permission to mount a tmpfs")
            return
        }
        defer { _ = shell(["umount", dir]) }
        try Runner(spec: spec, directory: full).run(resume: false)
        // 2 MB of filler: the cycle-0 checkpoint (0.8 MB) fits, the cycle-1 one (1.6 MB) does not.
        let filler = dir + "/filler"
        try Data(count: 2 << 20).write(to: URL(fileURLWithPath: filler))
        let run = dir + "/run"
        #expect {
            try Runner(spec: spec, directory: run).run(resume: false)
        } throws: { e in
            let d = (e as? RunError)?.description ?? ""
            return d.hasPrefix("cannot write constant--seed1.ckpt") && d.contains("no space left on the device of \(run)/checkpoints")
        }
        #expect(leftovers(run).isEmpty)
        let ckpt = RunStore(directory: run).checkpointURL(schedule: "constant", seed: 1)
        #expect(try Checkpoint.decode(try Data(contentsOf: ckpt), file: ckpt.path).cycle == 0)
        try FileManager.default.removeItem(atPath: filler)
        try Runner(spec: spec, directory: run).run(resume: true)
        #expect(try records(run, spec) == records(full, spec))
    }
}
