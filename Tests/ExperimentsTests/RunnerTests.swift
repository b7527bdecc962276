import Foundation
import NN
import Tensor
import Testing
@testable import Experiments

/// A small synthetic experiment: fast enough for the default suite.
private func smallSpec(criterion: String = "magnitude", scope: String = "global", rewind: String = "none",
                       schedules: String? = nil, cycles: Int = 3) throws -> ExperimentSpec {
    try SpecParser.parse("""
        name: tiny
        data: {dataset: synthetic}
        model: lenet300
        optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0001}
        training: {batch_size: 64, iterations_per_cycle: 30, eval_every: 15}
        pruning: {criterion: \(criterion), scope: \(scope), rate: 0.2, cycles: \(cycles), rewind: \(rewind)}
        schedules:
        \(schedules ?? """
          - {name: constant, kind: constant, lr: 0.05}
          - {name: s-cyc, kind: scyc, epsilon: 0.02, delta: 0.1, q: 1, beta: 5, warmup: 5, drops: [20, 25]}
        """)
        seeds: [1, 2]
        """)
}

private func tempDir() -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-test-\(UUID().uuidString)")
    return d.path
}

private func records(_ dir: String, _ spec: ExperimentSpec) throws -> [CycleRecord] {
    try RunStore(directory: dir).allRecords(spec: spec).map {
        var r = $0
        r.seconds = 0  // wall time is the one field allowed to differ
        return r
    }
}

@Suite(.serialized) struct RunnerTests {
    @Test func recordsEveryCycleWithMeasuredSparsity() throws {
        let spec = try smallSpec()
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let recs = try records(dir, spec)
        #expect(recs.count == 2 * 2 * 4)
        for r in recs {
            let nominal = 100 * pow(0.8, Double(r.cycle))
            #expect(r.percentRemaining == nominal)
            #expect(abs(r.measuredPercentRemaining - nominal) < 0.01)
            #expect(r.earlyStopTestAccuracy > 0.2)  // above chance (0.1) on a 10-class problem
        }
        let scyc = recs.filter { $0.schedule == "s-cyc" && $0.seed == 1 }.map(\.peakLR)
        #expect(abs(scyc[0] - 0.02) < 1e-12 && abs(scyc[1] - 0.02) < 1e-12)
        #expect(scyc[2] > scyc[1] && scyc[3] > scyc[2])
    }

    @Test func resumeAfterInterruptionGivesIdenticalRecords() throws {
        let spec = try smallSpec()
        let a = tempDir(), b = tempDir()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try Runner(spec: spec, directory: a).run(resume: false)

        let interrupted = Runner(spec: spec, directory: b)
        interrupted.stopAfterCycles = 6  // inside the second run
        #expect(throws: RunError.self) { try interrupted.run(resume: false) }
        // Without --resume an interrupted run is reported, not restarted.
        #expect(throws: RunError.self) { try Runner(spec: spec, directory: b).run(resume: false) }
        try Runner(spec: spec, directory: b).run(resume: true)
        #expect(try records(a, spec) == records(b, spec))
    }

    @Test func finishedRunsAreNotRecomputed() throws {
        let spec = try smallSpec(cycles: 1)
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let url = RunStore(directory: dir).recordsURL(schedule: "constant", seed: 1)
        let before = try Data(contentsOf: url)
        let runner = Runner(spec: spec, directory: dir)
        var progressCalls = 0
        runner.progress = { _ in progressCalls += 1 }
        try runner.run(resume: false)
        #expect(progressCalls == 0)
        #expect(try Data(contentsOf: url) == before)
    }

    @Test func corruptCheckpointIsReportedOnResume() throws {
        let spec = try smallSpec(cycles: 2)
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = Runner(spec: spec, directory: dir)
        r.stopAfterCycles = 2
        #expect(throws: RunError.self) { try r.run(resume: false) }
        let ckpt = RunStore(directory: dir).checkpointURL(schedule: "constant", seed: 1)
        var bytes = try Data(contentsOf: ckpt)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: ckpt)
        do {
            try Runner(spec: spec, directory: dir).run(resume: true)
            Issue.record("a damaged checkpoint was accepted")
        } catch let e as RunError {
            guard case .corruptCheckpoint = e else { Issue.record("wrong error \(e)"); return }
        }
    }

    @Test func impRewindsSurvivorsToInitialisation() throws {
        // Dense training moves the weights far (lr 0.05); retraining at lr 1e-9 barely
        // moves them, so after cycle 1 the survivors must sit at their initial values.
        let text = """
            name: imp
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 64, iterations_per_cycle: 5, dense_iterations: 40, eval_every: 5,
                       dense_schedule: {kind: constant, lr: 0.05}}
            pruning: {criterion: imp, scope: global, rate: 0.5, cycles: 1}
            schedules:
              - {name: tiny, kind: constant, lr: 1.0e-9}
            seeds: [3]
            """
        let spec = try SpecParser.parse(text)
        #expect(spec.pruning.rewind == "init")
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let store = RunStore(directory: dir)
        let ckpt = try Checkpoint.decode(try Data(contentsOf: store.checkpointURL(schedule: "tiny", seed: 3)), file: "ckpt")
        let fresh = try ModelZoo.make("lenet300", inputShape: [1, 16, 16], classes: 10, seed: 3)
        var kept = 0
        for (p, t) in zip(fresh.parameters, ckpt.tensors) where p.prunable {
            let mask = try #require(t.mask)
            for i in 0..<p.count {
                if mask[i] == 0 {
                    #expect(t.values[i] == 0)
                } else {
                    kept += 1
                    #expect(abs(t.values[i] - p.value[i]) < 1e-5)
                }
            }
        }
        #expect(kept > 0)
    }

    @Test func oracleRecordsBestPeakAndFeasibleInterval() throws {
        let spec = try smallSpec(schedules: "  - {name: oracle, kind: oracle, grid: [0.001, 0.05], warmup: 5}", cycles: 1)
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        for r in try records(dir, spec) {
            let o = try #require(r.oracle)
            #expect(o.candidates.map(\.peak) == [0.001, 0.05])
            let best = o.candidates.max { $0.valAccuracy < $1.valAccuracy }!
            #expect(o.bestPeak == best.peak && r.peakLR == best.peak)
            #expect(r.bestValAccuracy == best.valAccuracy)
        }
    }

    /// SPEC §4: the feasible interval holds every peak within 0.5 points of the best
    /// validation accuracy, on accuracies constructed so each side of the rule is hit.
    @Test func feasibleIntervalFollowsTheHalfPointRule() throws {
        let c = { (peak: Double, acc: Double) in CycleRecord.Candidate(peak: peak, valAccuracy: acc) }
        let o = try #require(CycleRecord.OracleOutcome(candidates: [
            c(1e-4, 0.700), c(1e-3, 0.8951), c(1e-2, 0.900), c(3e-2, 0.8952), c(1e-1, 0.8948),
        ]))
        #expect(o.bestPeak == 1e-2)
        #expect(o.feasibleLow == 1e-3 && o.feasibleHigh == 3e-2)  // 0.8952 is in, 0.8948 is out
        // Not contiguous in the grid: the interval spans the extremes of the feasible peaks.
        let gap = try #require(CycleRecord.OracleOutcome(candidates: [c(1e-3, 0.90), c(1e-2, 0.5), c(1e-1, 0.899)]))
        #expect(gap.bestPeak == 1e-3 && gap.feasibleLow == 1e-3 && gap.feasibleHigh == 1e-1)
        // Ties go to the first candidate in grid order, as the runner continues from it.
        let tie = try #require(CycleRecord.OracleOutcome(candidates: [c(1e-3, 0.8), c(1e-2, 0.8)]))
        #expect(tie.bestPeak == 1e-3)
        #expect(CycleRecord.OracleOutcome(candidates: []) == nil)
    }
}

@Suite(.serialized) struct RunnerDiagnosticsTests {
    @Test func diagnosticsAreStoredPerCycleAndReported() throws {
        let spec = try SpecParser.parse("""
            name: diag
            diagnostics: true
            data: {dataset: synthetic}
            model: mlp
            training: {batch_size: 64, iterations_per_cycle: 80, eval_every: 40}
            pruning: {criterion: magnitude, scope: global, rate: 0.5, cycles: 2}
            schedules:
              - {name: constant, kind: constant, lr: 0.02}
            seeds: [1]
            """)
        #expect(spec.diagnostics)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-diag-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let store = RunStore(directory: dir)
        let recs = try store.allRecords(spec: spec)
        let ds = try recs.map { try #require($0.diagnostics) }
        #expect(ds.count == 3)
        // Tails are measured against the dense network's percentiles in every cycle.
        #expect(ds.allSatisfy { $0.tailThresholds == ds[0].tailThresholds })
        #expect(abs(ds[0].gradientsUnpruned.tailMass[0] - 0.05) < 0.01)
        // The two accountings agree on the dense network and split once weights are pruned.
        #expect(ds[0].gradientsUnpruned.std == ds[0].gradientsAll.std)
        #expect(ds[2].gradientsAll.count == ds[0].gradientsAll.count)
        #expect(ds[2].gradientsUnpruned.count < ds[0].gradientsUnpruned.count)
        #expect(ds.allSatisfy { ($0.ewg ?? -1) > 0 && $0.activations.count == 3 })
        _ = try Report.render(store: store, spec: spec)
        let md = try String(contentsOf: store.file("report.md"), encoding: .utf8)
        #expect(md.contains("## Diagnostics"))
        #expect(FileManager.default.fileExists(atPath: store.file("diagnostics-constant-gradients.svg").path))
        // Records with diagnostics differ, so the run directory must too.
        var off = spec
        off.diagnostics = false
        #expect(off.hash != spec.hash)
    }
}

@Suite(.serialized) struct RunnerCriteriaTests {
    @Test(arguments: [("magnitude", "layerwise"), ("gradient", "global"), ("random", "layerwise"),
                      ("lamp", "global"), ("lookahead", "layerwise"), ("l1-filter", "layerwise"),
                      ("random-filter", "layerwise")])
    func everyCriterionPrunesToTheNominalSparsity(criterion: String, scope: String) throws {
        let spec = try SpecParser.parse("""
            name: crit
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 64, iterations_per_cycle: 10, eval_every: 10}
            pruning: {criterion: \(criterion), scope: \(scope), rate: 0.2, cycles: 2, gradient_batches: 2, exclude: [fc3]}
            schedules:
              - {name: c, kind: constant, lr: 0.02}
            seeds: [1]
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-crit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let recs = try RunStore(directory: dir).allRecords(spec: spec)
        #expect(recs.map(\.cycle) == [0, 1, 2])
        for r in recs {
            // Lambda over the pruned layers; measuredPercentRemaining also counts the dense fc3.
            let pruned = try #require(r.prunedLayersPercentRemaining)
            if criterion.hasSuffix("filter") {
                // Whole units: fc2 loses its own rows and the columns reading removed fc1
                // neurons, so lenet300 ends below lambda; fc3 keeps its rows (the logits) but not
                // the columns reading removed fc2 neurons.
                let lambda = pow(0.8, Double(r.cycle))
                #expect(pruned <= r.percentRemaining + 0.01)
                #expect(pruned > 100 * lambda * lambda - 0.5)
                #expect(abs(r.layers["fc3.weight"]! - 100 * lambda) < 0.5)
            } else {
                #expect(abs(pruned - r.percentRemaining) < 0.01)
                #expect(r.layers["fc3.weight"] == 100)  // excluded: left dense
            }
        }
    }

    /// SPEC §1: structured pruning never removes class logits, excluded or not, and says so.
    @Test func structuredPruningKeepsTheClassifierAndCountsTheNextLayersKernels() throws {
        let spec = try SpecParser.parse("""
            name: units
            data: {dataset: synthetic}
            model: lenet5
            training: {batch_size: 32, iterations_per_cycle: 4, eval_every: 4}
            pruning: {criterion: l1-filter, scope: layerwise, rate: 0.2, cycles: 2}
            schedules:
              - {name: c, kind: constant, lr: 0.02}
            seeds: [1]
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-units-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = Runner(spec: spec, directory: dir)
        var lines: [String] = []
        runner.log = { lines.append($0) }
        try runner.run(resume: false)
        #expect(lines.count == 1 && lines[0].contains("fc3.weight keeps all 10 outputs"))
        let last = try #require(try RunStore(directory: dir).allRecords(spec: spec).last)
        // Synthetic 1x16x16: conv1 6 → 5 → 4 filters, conv2 16 → 13 → 10 reading 4 of 6
        // channels; fc3 keeps its 10 rows but reads 54 of fc2's 84 neurons (84 → 67 → 54).
        #expect(abs(last.layers["conv1.weight"]! - 100 * 4.0 / 6) < 1e-9)
        #expect(abs(last.layers["conv2.weight"]! - 100 * (10.0 * 4) / (16 * 6)) < 1e-9)
        #expect(abs(last.layers["fc3.weight"]! - 100 * 54.0 / 84) < 1e-9)
    }

    @Test func anUnknownExcludeNameStopsTheRunBeforeTraining() throws {
        var spec = try SpecParser.parse("""
            name: typo
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 64, iterations_per_cycle: 10, eval_every: 10}
            pruning: {criterion: magnitude, scope: global, rate: 0.2, cycles: 1}
            schedules:
              - {name: c, kind: constant, lr: 0.02}
            seeds: [1]
            """)
        spec.pruning.exclude = ["fc4"]  // built in code, past the parser's check
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-typo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: RunError.spec("pruning.exclude: 'fc4' names no prunable layer of lenet300 (layers: fc1, fc2, fc3)")) {
            try Runner(spec: spec, directory: dir).run(resume: false)
        }
        #expect(!FileManager.default.fileExists(atPath: dir))  // nothing claimed, nothing trained
    }

    @Test func lateRewindingResumesExactly() throws {
        let spec = try SpecParser.parse("""
            name: late
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 64, iterations_per_cycle: 20, eval_every: 10}
            pruning: {criterion: magnitude, scope: global, rate: 0.3, cycles: 3, rewind: "iteration:5"}
            schedules:
              - {name: c, kind: constant, lr: 0.02}
            seeds: [1]
            """)
        let a = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-late-\(UUID().uuidString)").path
        let b = a + "-b"
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try Runner(spec: spec, directory: a).run(resume: false)
        let stopped = Runner(spec: spec, directory: b)
        stopped.stopAfterCycles = 2
        #expect(throws: RunError.self) { try stopped.run(resume: false) }
        try Runner(spec: spec, directory: b).run(resume: true)
        func strip(_ rs: [CycleRecord]) -> [CycleRecord] { rs.map { var r = $0; r.seconds = 0; return r } }
        #expect(strip(try RunStore(directory: a).allRecords(spec: spec)) == strip(try RunStore(directory: b).allRecords(spec: spec)))
    }
}

@Suite(.serialized) struct RunnerConvTests {
    /// Every criterion, unstructured and structured, on the ConvNet (conv and linear layers).
    @Test(arguments: [("magnitude", "layerwise"), ("magnitude", "global"), ("gradient", "global"), ("random", "layerwise"),
                      ("lamp", "global"), ("lookahead", "layerwise"), ("imp", "global"), ("l1-filter", "layerwise"),
                      ("random-filter", "layerwise")])
    func convolutionalModelsPruneThroughTheRunner(criterion: String, scope: String) throws {
        let spec = try SpecParser.parse("""
            name: conv
            data: {dataset: synthetic, augment: true}
            model: convnet
            training: {batch_size: 32, iterations_per_cycle: 4, eval_every: 4}
            pruning: {criterion: \(criterion), scope: \(scope), rate: 0.5, cycles: 1}
            schedules:
              - {name: c, kind: constant, lr: 0.01}
            seeds: [1]
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-conv-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let store = RunStore(directory: dir)
        let recs = try store.allRecords(spec: spec)
        #expect(recs.count == 2)
        let convLayers = recs[1].layers.filter { $0.key.hasPrefix("conv") }
        #expect(convLayers.count == 4)
        if criterion.hasSuffix("-filter") {
            // Whole units: conv1 loses half its filters; each later layer half its filters and
            // the kernels reading the previous layer's removed channels, so a quarter of it remains.
            #expect(recs[1].layers["conv1.weight"] == 50)
            for name in ["conv2.weight", "conv3.weight", "conv4.weight"] { #expect(recs[1].layers[name] == 25, "\(name)") }
            let pruned = try #require(recs[1].prunedLayersPercentRemaining)  // the classifier is not pruned here
            #expect(pruned > 24 && pruned < 26)
        } else {
            #expect(abs(recs[1].measuredPercentRemaining - 50) < 1)
        }
        if scope == "layerwise" && !criterion.hasSuffix("-filter") {
            #expect(convLayers.values.allSatisfy { abs($0 - 50) < 10 })
        }
        if criterion.hasSuffix("-filter") {
            // Whole output filters go: every filter's mask is all zeros or all ones.
            let ckpt = try Checkpoint.decode(try Data(contentsOf: store.checkpointURL(schedule: "c", seed: 1)), file: "ckpt")
            let conv = try #require(ckpt.tensors.first { $0.name.hasPrefix("conv") && $0.mask != nil })
            let mask = try #require(conv.mask)
            let filters = 32, size = mask.count / filters
            for f in 0..<filters {
                let slice = mask[f * size ..< (f + 1) * size]
                #expect(slice.allSatisfy { $0 == 0 } || slice.allSatisfy { $0 == 1 })
            }
        }
    }
}

@Suite struct SparseResumeTests {
    /// A pruned net (below the `auto` density threshold from the second cycle on, so its Linear
    /// layers run the sparse kernels and SGD visits only kept weights) resumes exactly.
    @Test func prunedRunWithSparseKernelsResumesExactly() throws {
        let spec = try SpecParser.parse("""
            name: sparse-resume
            data: {dataset: synthetic}
            model: lenet300
            optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0001}
            training: {batch_size: 64, iterations_per_cycle: 20, eval_every: 10}
            pruning: {criterion: magnitude, scope: global, rate: 0.6, cycles: 4}
            schedules:
              - {name: constant, kind: constant, lr: 0.05}
            seeds: [4]
            """)
        let a = tempDir(), b = tempDir()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try Runner(spec: spec, directory: a).run(resume: false)
        let interrupted = Runner(spec: spec, directory: b)
        interrupted.stopAfterCycles = 3
        #expect(throws: RunError.self) { try interrupted.run(resume: false) }
        try Runner(spec: spec, directory: b).run(resume: true)
        let full = try records(a, spec), resumed = try records(b, spec)
        #expect(full.count == 5)  // the dense cycle and four pruned ones
        #expect(full == resumed)
        // The last cycles ran at densities where `auto` picks the sparse kernels.
        #expect(full.last!.percentRemaining / 100 <= SparseKernels.threshold(for: .linear))
    }
}
