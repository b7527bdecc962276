import Foundation
import Testing
import struct Data.Splits
import NN
import Pruning
import Tensor
@testable import Experiments

private func tvSpec(_ tvpgd: String, model: String = "lenet300", batchSize: Int = 64, extra: String = "") throws -> ExperimentSpec {
    try SpecParser.parse("""
        name: tv
        data: {dataset: synthetic}
        model: \(model)
        training: {batch_size: \(batchSize), eval_every: 20}
        method: tv-pgd
        tvpgd:
        \(tvpgd)
        seeds: [1]
        \(extra)
        """)
}

struct TVPGDSpecTests {
    @Test func parsesMethodsAndDefaults() throws {
        let s = try tvSpec("""
              iterations: 90
              dense_iterations: 30
              dt: 5
              targets: [0.5, 0.9]
              methods:
                - {name: one-shot, kind: one-shot}
                - {name: cyc, kind: cyclical, cycles: 3}
            """)
        let tv = try #require(s.tvpgd)
        #expect(tv.targets == [0.5, 0.9] && tv.dt == 5 && tv.scope == "layerwise")
        #expect(tv.methods.map(\.kind) == ["one-shot", "cyclical"])
        #expect(tv.methods[1].laterInitFraction == 0.5 && tv.methods[1].rampFraction == 0.8)
    }

    @Test func impossibleValuesNameTheirKey() {
        let cases = [("targets: [1.0]", "tvpgd.targets[0]"), ("targets: [-0.1]", "tvpgd.targets[0]"),
                     ("dt: 0", "tvpgd.dt"), ("iterations: -5", "tvpgd.iterations")]
        for (line, key) in cases {
            do {
                _ = try tvSpec("  \(line)\n  methods:\n    - {name: a, kind: one-shot}")
                Issue.record("\(line) was accepted")
            } catch let e as SpecError {
                #expect(e.key == key, "\(line): \(e)")
            } catch { Issue.record("\(error)") }
        }
        #expect(throws: SpecError.self) { try tvSpec("  methods:\n    - {name: a, kind: cyclical, cycles: 0}") }
        #expect(throws: SpecError.self) { try tvSpec("  methods:\n    - {name: a, kind: sawtooth}") }
        #expect(throws: SpecError.self) { try tvSpec("  targets: [0.5]") }  // no methods
    }
}

@Suite(.serialized) struct TVPGDRunnerTests {
    @Test func reachesTheTargetAndTracksCycles() throws {
        let spec = try tvSpec("""
              iterations: 90
              dense_iterations: 30
              dt: 5
              targets: [0.8]
              lr: 0.05
              methods:
                - {name: one-shot, kind: one-shot}
                - {name: gradual, kind: gradual}
                - {name: cyc, kind: cyclical, cycles: 3}
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-tv-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = try TVPGDRunner(spec: spec, directory: dir)
        try runner.run()
        let recs = try runner.allRecords()
        #expect(recs.filter { $0.method == "one-shot" }.count == 1)
        #expect(recs.filter { $0.method == "gradual" }.count == 1)
        let cyc = recs.filter { $0.method == "cyc" }
        #expect(cyc.map(\.cycle) == [1, 2, 3])
        for r in recs {
            // Layerwise projection to 80% keeps round(20%) of each layer.
            #expect(abs(r.measuredSparsity - 0.8) < 0.001)
            #expect(r.finalTestAccuracy > 0.1)
        }
        #expect(cyc[0].maskDistance == 0 && cyc[0].weightsRecovered == 0)
        // Later cycles re-grow part of the network, so the kept set moves.
        #expect(cyc[2].maskDistance > 0)
        // Finished runs are skipped on a second call.
        let before = try Data(contentsOf: runner.recordsURL(method: "cyc", target: 0.8, seed: 1))
        try TVPGDRunner(spec: spec, directory: dir).run()
        #expect(try Data(contentsOf: runner.recordsURL(method: "cyc", target: 0.8, seed: 1)) == before)
        let table = try TVPGDReport.render(store: RunStore(directory: dir), spec: spec, records: recs)
        #expect(table.rows.map(\.schedule) == ["one-shot", "gradual", "cyc"])
        let md = try String(contentsOf: RunStore(directory: dir).file("report.md"), encoding: .utf8)
        #expect(md.contains("| cyc | mask distance |"))
        #expect(recs.allSatisfy { $0.environment == RunEnvironment.current })
        #expect(md.contains("## Computed on") && md.contains(RunEnvironment.current.cpu))
    }
}

/// One (method, target) run of a small spec, observed after every iteration.
private struct ObservedRun {
    let runner: TVPGDRunner
    let splits: Splits
    let dense: Checkpoint

    init(_ spec: ExperimentSpec) throws {
        runner = try TVPGDRunner(spec: spec, directory: FileManager.default.temporaryDirectory.path)
        splits = try DataSource.load(dataset: "synthetic", directory: "", split: "standard", validationFraction: 0.1, seed: 1)
        dense = try runner.trainDense(seed: 1, splits: splits)
    }

    func run(_ method: Int = 0, observe: @escaping (Int, Model, any Optimizer, [Tensor]) -> Void) throws -> [TVPGDRecord] {
        runner.afterIteration = observe
        defer { runner.afterIteration = nil }
        return try runner.runOne(method: runner.tv.methods[method], target: runner.tv.targets[0], seed: 1, splits: splits,
                                 from: dense, onIteration: { _ in })
    }

    func schedule(_ method: Int = 0) throws -> SparsitySchedule {
        try runner.sparsitySchedule(runner.tv.methods[method], target: runner.tv.targets[0])
    }
}

private func same(_ a: [Tensor], _ b: [Tensor]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.array == $1.array }
}

@Suite(.serialized) struct TVPGDMaskTests {
    @Test func oneShotChoosesTheDenseNetworksMaskOnce() throws {
        let run = try ObservedRun(try tvSpec("""
              iterations: 40
              dense_iterations: 20
              dt: 5
              targets: [0.8]
              lr: 0.05
              methods:
                - {name: one-shot, kind: one-shot}
            """))
        let start = try run.runner.startModel(from: run.dense, splits: run.splits, seed: 1)
        let dense = try magprune(start.parameters.filter { $0.prunable }, sparsity: 0.8)
        var masks: [Int: [Tensor]] = [:]
        let records = try run.run { t, _, _, m in masks[t] = m }
        #expect(same(masks[0]!, dense))
        #expect(same(masks[39]!, dense))
        #expect(records.map(\.weightsRecovered) == [0])
    }

    @Test func fineTuningKeepsTheMaskFixedWithNoOptimizerStateOnPrunedWeights() throws {
        let run = try ObservedRun(try tvSpec("""
              iterations: 60
              dense_iterations: 20
              dt: 5
              targets: [0.8]
              lr: 0.05
              methods:
                - {name: cyc, kind: cyclical, cycles: 2, ramp_fraction: 0.5}
            """))
        let schedule = try run.schedule()
        var fixedMask: [Tensor]?
        var fixedIterations = 0, releasedAfterFixing = false
        _ = try run.run { t, model, optimizer, masks in
            let weights = model.parameters.filter(\.prunable)
            guard schedule.fixesMask(at: t) else {
                if fixedMask != nil { releasedAfterFixing = weights.allSatisfy { $0.mask == nil } }
                fixedMask = nil
                return
            }
            fixedIterations += 1
            if fixedMask == nil { fixedMask = masks }
            #expect(same(masks, fixedMask!), "t = \(t)")
            for (p, m) in zip(weights, masks) {
                #expect(p.mask?.array == m.array, "\(p.name) at t = \(t): mask not installed")
                let state = optimizer.state(of: p)
                #expect(!state.isEmpty)
                var stray = 0
                for i in 0..<p.count where m[i] == 0 {
                    if p.value[i] != 0 || state.contains(where: { $0[i] != 0 }) { stray += 1 }
                }
                #expect(stray == 0, "\(p.name) at t = \(t): \(stray) pruned entries with a value or momentum")
            }
        }
        // Cycles of 30 whose ramps end at offset 15: fixed after the updates at 15 and 45.
        #expect(fixedIterations == 2 * 14)
        #expect(releasedAfterFixing)
    }

    @Test func recoveryCountsWeightsPrunedAtAnyEarlierStep() throws {
        let run = try ObservedRun(try tvSpec("""
              iterations: 90
              dense_iterations: 20
              dt: 5
              targets: [0.8]
              lr: 0.05
              methods:
                - {name: cyc, kind: cyclical, cycles: 3}
            """))
        let schedule = try run.schedule()
        var history: [[Tensor]] = []
        var planted: (layer: Int, index: Int)?
        let records = try run.run { t, model, _, masks in
            history.append(masks)
            // Construct a recovery: a weight pruned at the end of cycle 1 is made the largest of its
            // layer as cycle 2 starts, so it is kept at the ends of cycles 2 and 3.
            guard t == 30, planted == nil else { return }
            let endOfCycle1 = history[29]
            let i = try! #require((0..<endOfCycle1[0].count).first { endOfCycle1[0][$0] == 0 })
            let w = model.parameters.filter(\.prunable)[0].value
            w[i] = 2 * w.array.map(abs).max()!
            planted = (0, i)
        }
        let p = try #require(planted)
        let ends = [29, 59, 89]
        #expect(history[59][p.layer][p.index] != 0 && history[89][p.layer][p.index] != 0)
        for (c, end) in ends.enumerated() {
            var everPruned = history[0].map { m in (0..<m.count).map { _ in false } }
            for masks in history[0..<end] {
                for (l, m) in masks.enumerated() { for i in 0..<m.count where m[i] == 0 { everPruned[l][i] = true } }
            }
            var truth = 0
            for (l, m) in history[end].enumerated() { for i in 0..<m.count where m[i] != 0 && everPruned[l][i] { truth += 1 } }
            #expect(records[c].weightsRecovered == truth, "cycle \(c + 1)")
        }
        // Counting only weights pruned at the previous cycle's end misses the planted one.
        let previousEndOnly = try MaskMetrics.recovered(earlier: history[59], now: history[89])
        #expect(records[2].weightsRecovered > previousEndOnly)
        #expect(schedule.cycle(at: 30).restartsLearningRate)
    }

    @Test func excludedLayersStayDense() throws {
        let spec = try tvSpec("""
              iterations: 30
              dense_iterations: 10
              dt: 2
              targets: [0.8]
              methods:
                - {name: cyc, kind: cyclical, cycles: 2}
            """, extra: "pruning: {exclude: [fc3]}")
        #expect(spec.pruning.exclude == ["fc3"])
        let run = try ObservedRun(spec)
        var final: Model?
        var maskCount = 0
        let records = try run.run { _, model, _, masks in
            final = model
            maskCount = masks.count
        }
        let byName = Dictionary(uniqueKeysWithValues: final!.parameters.map { ($0.name, $0) })
        let fc3 = try #require(byName["fc3.weight"])
        #expect(fc3.mask == nil && !fc3.value.array.contains(0))
        #expect(maskCount == 2)
        let fc1 = try #require(byName["fc1.weight"])
        #expect(abs(Double(fc1.value.array.filter { $0 == 0 }.count) / Double(fc1.count) - 0.8) < 0.01)
        #expect(records.allSatisfy { abs($0.measuredSparsity - 0.8) < 0.001 })
        // Only exclude applies to tv-pgd: iterative pruning's keys are rejected, naming the key.
        do {
            _ = try tvSpec("  methods:\n    - {name: a, kind: one-shot}", extra: "pruning: {rate: 0.2}")
            Issue.record("pruning.rate was accepted for tv-pgd")
        } catch let e as SpecError {
            #expect(e.key == "pruning.rate")
        }
    }

    @Test func denseStartCarriesBatchNormStatistics() throws {
        let run = try ObservedRun(try tvSpec("""
              iterations: 4
              dense_iterations: 3
              targets: [0.5]
              methods:
                - {name: one-shot, kind: one-shot}
            """, model: "resnet20", batchSize: 8))
        let fresh = try run.runner.makeModel(splits: run.splits, seed: 1)
        let start = try run.runner.startModel(from: run.dense, splits: run.splits, seed: 1)
        #expect(!start.buffers.isEmpty)
        let startBuffers = start.buffers.map { $0.array }, freshBuffers = fresh.buffers.map { $0.array }
        #expect(startBuffers == run.dense.buffers)
        #expect(startBuffers != freshBuffers)
        #expect(start.parameters.map { $0.value.array } == run.dense.tensors.map { $0.values })
    }
}
