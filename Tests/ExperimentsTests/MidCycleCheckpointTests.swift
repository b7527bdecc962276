import Foundation
import Data
import NN
import Tensor
import Testing
@testable import Experiments

/// A stopped unit (a signal; here `stopAfterIterations`) writes a mid-cycle checkpoint, and
/// `--resume` (`run(resume: true)`) ends with exactly the records and weights of a run that
/// was never stopped: for every optimizer, schedule kind, the oracle, late rewinding, early
/// stopping (several evaluations per cycle), augmentation, BatchNorm and diagnostics.
@Suite(.serialized) struct MidCycleCheckpointTests {
    private static func spec(optimizer: String, schedule: String, rewind: String = "none", batch: Int = 64,
                             iterations: Int = 20, cycles: Int = 2, diagnostics: Bool = false) throws -> ExperimentSpec {
        try SpecParser.parse("""
            name: mid
            data: {dataset: synthetic}
            model: lenet300
            optimizer: \(optimizer)
            training: {batch_size: \(batch), iterations_per_cycle: \(iterations), eval_every: 5}
            pruning: {criterion: magnitude, scope: global, rate: 0.3, cycles: \(cycles), rewind: "\(rewind)"}
            schedules:
              - \(schedule)
            seeds: [3]
            diagnostics: \(diagnostics)
            """)
    }

    private func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("topiary-mid-\(UUID().uuidString)").path
    }

    private func records(_ dir: String, _ spec: ExperimentSpec) throws -> [CycleRecord] {
        try RunStore(directory: dir).allRecords(spec: spec).map {
            var r = $0
            r.seconds = 0  // wall time is the one field allowed to differ
            return r
        }
    }

    private func checkpoint(_ dir: String, _ spec: ExperimentSpec) throws -> Checkpoint {
        let url = RunStore(directory: dir).checkpointURL(schedule: spec.schedules[0].name, seed: spec.seeds[0])
        return try Checkpoint.decode(try Data(contentsOf: url), file: url.path)
    }

    /// Runs `spec` uninterrupted, then stopped after each of `stops` iterations (of each call)
    /// and resumed; expects every stop to leave a mid-cycle checkpoint and the ends to agree.
    private func expectIdentical(_ spec: ExperimentSpec, stops: [Int]) throws {
        let a = tempDir(), b = tempDir()
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try Runner(spec: spec, directory: a).run(resume: false)
        for (i, k) in stops.enumerated() {
            let r = Runner(spec: spec, directory: b)
            r.stopAfterIterations = k
            #expect(throws: RunError.self) { try r.run(resume: i > 0) }
            let mid = try checkpoint(b, spec)
            let blob = try #require(mid.midCycle, "stop \(k) left no mid-cycle checkpoint")
            let model = try ModelZoo.make("lenet300", inputShape: [1, 16, 16], classes: 10, seed: 0)
            let progress = try CycleProgress.decode(blob, model: model, file: "mid")
            #expect(progress.training.iteration > 0)
            #expect(try records(b, spec).count == progress.cycle)  // the records file holds the finished cycles only
            #expect(RunStore(directory: b).storedState(of: try spec.units()[0], spec: spec) == .interrupted)
        }
        // Without --resume a stopped run is reported, not restarted.
        #expect(throws: RunError.self) { try Runner(spec: spec, directory: b).run(resume: false) }
        try Runner(spec: spec, directory: b).run(resume: true)
        #expect(try records(a, spec) == records(b, spec))
        let (x, y) = (try checkpoint(a, spec), try checkpoint(b, spec))
        #expect(x.midCycle == nil && y.midCycle == nil)  // superseded by the last cycle's
        #expect(x.tensors.map(\.name) == y.tensors.map(\.name))
        #expect(x.tensors.map(\.values) == y.tensors.map(\.values))
        #expect(x.tensors.map(\.mask) == y.tensors.map(\.mask))
        #expect(x.buffers == y.buffers)
    }

    @Test(arguments: [
        ("{name: sgd, momentum: 0.9, weight_decay: 0.0001}", "{name: constant, kind: constant, lr: 0.05}"),
        ("{name: sgd, momentum: 0.9, nesterov: true}", "{name: step, kind: warmup, peak: 0.05, warmup: 3, drops: [12, 16]}"),
        ("{name: adam, weight_decay: 0.0001}", "{name: cosine, kind: cosine, peak: 0.001, warmup: 2}"),
        ("{name: rmsprop, momentum: 0.5}", "{name: one-cycle, kind: one-cycle, min_lr: 0.0001, peak: 0.001}"),
        ("{name: sgd, momentum: 0}", "{name: cyclic, kind: cyclical, min_lr: 0.001, peak: 0.05, half_period: 5}"),
        ("{name: sgd, momentum: 0.9}", "{name: s-cyc, kind: scyc, epsilon: 0.02, delta: 0.1, q: 1, beta: 5, warmup: 5, drops: [12, 16]}"),
        ("{name: sgd, momentum: 0.9}", "{name: linear, kind: linear, peak: 0.05}"),
    ])
    func everyOptimizerAndScheduleResumesMidCycle(optimizer: String, schedule: String) throws {
        // Stops inside dense training between two evaluations (iteration 7), right after an
        // evaluation of cycle 1 (7 + 23 = 20 + 10) and in cycle 2 (30 + 16 = 40 + 6).
        try expectIdentical(try Self.spec(optimizer: optimizer, schedule: schedule), stops: [7, 23, 16])
    }

    /// The oracle trains every grid peak from one start; a stop inside the second candidate
    /// must keep the first one's outcome and snapshot, and the common start. Late rewinding's
    /// weights (iteration 5 of the dense cycle) are taken before one stop and after another.
    @Test func oracleWithLateRewindingResumesMidCandidate() throws {
        let spec = try Self.spec(optimizer: "{name: sgd, momentum: 0.9}",
                                 schedule: "{name: oracle, kind: oracle, grid: [0.001, 0.05, 0.02], warmup: 2}",
                                 rewind: "iteration:5", iterations: 12)
        // Three candidates of 12 iterations per cycle. Stops: dense cycle, first candidate,
        // iteration 3 (before its capture at 5); +17 = 20: second candidate, iteration 8 (after
        // its capture); +20 = 40: cycle 1, first candidate, iteration 4; +26 = 66: its third, iteration 6.
        try expectIdentical(spec, stops: [3, 17, 20, 26])
    }

    /// IMP rewinds the survivors to initialisation after every pruning step: a resumed cycle
    /// must neither prune nor rewind again, and later cycles still rewind to the same weights.
    @Test func impRewindingResumesMidCycle() throws {
        let spec = try Self.spec(optimizer: "{name: sgd, momentum: 0.9}", schedule: "{name: constant, kind: constant, lr: 0.05}",
                                 rewind: "init")
        try expectIdentical(spec, stops: [23, 16])
    }

    /// Augmentation draws from the batcher's generator, BatchNorm keeps running statistics and
    /// Dropout has its own stream: a loop stopped after iteration k and continued in a new model,
    /// optimizer and trainer from the saved state (what a mid-cycle checkpoint holds) ends equal.
    /// (On the loop itself: the zoo's BatchNorm models are too slow for the Runner in a debug build.)
    @Test func augmentationBatchNormAndDropoutContinueExactly() throws {
        func make() -> Model {
            var rng = RNG(seed: 5)
            return Model(name: "bn", network: Sequential([
                Conv2d(1, 4, kernel: 3, padding: 1, name: "c1", rng: &rng), BatchNorm2d(4, name: "c1.bn"), ReLU(),
                GlobalAvgPool(), Dropout(p: 0.3, rng: RNG(seed: 9, stream: "dropout")), Linear(4, 3, name: "fc", rng: &rng),
            ]), inputShape: [1, 6, 6], classes: 3)
        }
        let all = Synthetic.classification(count: 120, sampleShape: [1, 6, 6], classes: 3, seed: 2)
        let splits = Splits(train: all.subset(Array(0..<80), name: "t"), validation: all.subset(Array(80..<100), name: "v"),
                            test: all.subset(Array(100..<120), name: "s"))
        func trainer(_ m: Model) -> Trainer {
            Trainer(model: m, optimizer: Adam(), splits: splits, batchSize: 16, seed: 4, stream: "b", augment: true)
        }
        let lr: (Int) -> Float = { t in 0.01 / Float(1 + t) }
        let whole = make()
        var done = TrainingState()
        let expected = try #require(trainer(whole).train(from: &done, iterations: 17, evalEvery: 4, lr: lr))

        let first = make(), t1 = trainer(first)
        var state = TrainingState()
        var asked = 0  // shouldStop is asked after every iteration but the last
        let stopped = t1.train(from: &state, iterations: 17, evalEvery: 4, lr: lr, shouldStop: { asked += 1; return asked == 9 })
        #expect(stopped == nil)
        #expect(state.iteration == 9 && state.points.count == 2)
        // What the checkpoint carries, put into fresh objects.
        let ckpt = try Checkpoint.decode(Checkpoint(cycle: -1, recordsJSON: Data(), parameters: first.parameters,
                                                    buffers: first.buffers).encoded(), file: "t")
        #expect(ckpt.cycle == -1)
        let second = make(), t2 = trainer(second)
        try ckpt.restore(into: second.parameters, buffers: second.buffers, file: "t")
        #expect(t2.optimizer.importState(t1.optimizer.exportState(first.parameters), into: second.parameters))
        #expect(t2.batcher.restore(t1.batcher.state))
        let dropouts = { (m: Model) in m.network.leaves.compactMap { $0 as? Dropout } }
        for (d, s) in zip(dropouts(second), dropouts(first)) { d.rng = try #require(RNG(state: s.rng.state)) }
        let resumed = try #require(t2.train(from: &state, iterations: 17, evalEvery: 4, lr: lr))
        #expect(state == done)
        #expect(resumed.earlyStop == expected.earlyStop && resumed.points == expected.points)
        #expect(second.parameters.map(\.value.array) == whole.parameters.map(\.value.array))
        #expect(second.buffers.map(\.array) == whole.buffers.map(\.array))
        #expect(!whole.buffers.isEmpty)
    }

    /// With diagnostics the weights at the start of the last epoch (EWG) are part of the state.
    @Test func diagnosticsResumeMidCycle() throws {
        // 4000 training samples / 1000 per batch: the last epoch is the last 4 iterations.
        let spec = try Self.spec(optimizer: "{name: sgd, momentum: 0.9}", schedule: "{name: constant, kind: constant, lr: 0.05}",
                                 batch: 1000, iterations: 8, cycles: 1, diagnostics: true)
        try expectIdentical(spec, stops: [6, 5])
    }

    /// TV-PGD units (one loop over all cycles, the mask recomputed every dt iterations, fixed
    /// while fine-tuning) stop with their own checkpoint and continue identically: stops inside
    /// the shared dense training, inside a ramp and inside a fine-tuning phase.
    @Test func tvpgdUnitsResumeMidRun() throws {
        let spec = try SpecParser.parse("""
            name: tv
            data: {dataset: synthetic}
            model: lenet300
            optimizer: {name: sgd, momentum: 0.9}
            training: {batch_size: 64, eval_every: 10}
            method: tv-pgd
            tvpgd:
              iterations: 60
              dense_iterations: 10
              dt: 5
              targets: [0.8]
              lr: 0.05
              methods:
                - {name: cyc, kind: cyclical, cycles: 2}
                - {name: gradual, kind: gradual}
            seeds: [1]
            """)
        let a = tempDir(), b = tempDir()
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try TVPGDRunner(spec: spec, directory: a).run()
        let units = try spec.units()
        // Units of 60 iterations after a 10-iteration dense start, which a stopped unit's resume
        // skips; cyc ramps for 24 of each 30-iteration cycle, gradual prunes for 48. Stops: dense
        // iteration 5; dense again, then cyc at 26 (10 + 26 = 36: fine-tuning at cycle 1's fixed
        // mask, so cycle 2's regrowth is counted against what was pruned before the stop); cyc at
        // 42 (+16, a ramp); cyc to its end (18), dense again (10), gradual at 52 (fine-tuning).
        for k in [5, 36, 16, 80] {
            let r = try TVPGDRunner(spec: spec, directory: b)
            r.stopAfterIterations = k
            #expect(throws: RunError.self) { try r.run() }
            if k != 5 {
                #expect(units.contains { RunStore(directory: b).storedState(of: $0, spec: spec) == .interrupted })
            }
        }
        try TVPGDRunner(spec: spec, directory: b).run()
        func strip(_ rs: [TVPGDRecord]) -> [TVPGDRecord] { rs.map { var r = $0; r.seconds = 0; return r } }
        let expected = strip(try TVPGDRunner(spec: spec, directory: a).allRecords())
        #expect(expected.count == 3)
        #expect(expected[1].weightsRecovered > 0 && expected[1].maskDistance > 0)  // cycle 2 regrows weights
        #expect(strip(try TVPGDRunner(spec: spec, directory: b).allRecords()) == expected)
        // Finished units' checkpoints are gone.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: b + "/checkpoints")) ?? []
        #expect(left.isEmpty, "\(left)")
    }

    @Test func optimizerStateRoundTripsForEveryOptimizer() throws {
        let model = try ModelZoo.make("lenet300", inputShape: [1, 4, 4], classes: 3, seed: 1)
        let makers: [() -> any Optimizer] = [{ SGD(momentum: 0.9) }, { Adam() }, { RMSProp(momentum: 0.5) }, { SGD() }]
        for make in makers {
            let o = make()
            for p in model.parameters { for i in 0..<p.count { p.grad.data[i] = Float(i % 7) - 3 } }
            o.step(model.parameters, lr: 0.01)
            o.step(model.parameters, lr: 0.01)
            let state = o.exportState(model.parameters)
            let fresh = make()
            #expect(fresh.importState(state, into: model.parameters))
            #expect(fresh.exportState(model.parameters) == state)
            if let adam = fresh as? Adam { #expect(adam.stepCount(of: model.parameters[0]) == 2) }
            // State for other parameters is refused, leaving the optimizer as it was.
            #expect(!make().importState(state, into: Array(model.parameters.dropFirst())))
        }
    }

    @Test func aDamagedMidCycleCheckpointIsAClearError() throws {
        let spec = try Self.spec(optimizer: "{name: adam}", schedule: "{name: constant, kind: constant, lr: 0.001}")
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = Runner(spec: spec, directory: dir)
        r.stopAfterIterations = 25
        #expect(throws: RunError.self) { try r.run(resume: false) }
        let url = RunStore(directory: dir).checkpointURL(schedule: "constant", seed: 3)
        var bytes = try Data(contentsOf: url)
        #expect(try Checkpoint.decode(bytes, file: url.path).midCycle != nil)
        bytes[bytes.count - 100] ^= 0x01  // inside the mid-cycle state
        try bytes.write(to: url)
        do {
            try Runner(spec: spec, directory: dir).run(resume: true)
            Issue.record("a damaged mid-cycle checkpoint was accepted")
        } catch let e as RunError {
            #expect(e == .corruptCheckpoint(url.path, reason: "checksum mismatch (truncated or damaged)"))
            #expect(e.description.contains("delete it to restart that run"))
        }
    }

    /// Cycle-boundary checkpoints of format 2 (before mid-cycle checkpoints) still resume.
    @Test func version2CheckpointsStillResume() throws {
        let spec = try Self.spec(optimizer: "{name: sgd, momentum: 0.9}", schedule: "{name: constant, kind: constant, lr: 0.05}")
        let a = tempDir(), b = tempDir()
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try Runner(spec: spec, directory: a).run(resume: false)
        let r = Runner(spec: spec, directory: b)
        r.stopAfterCycles = 2
        #expect(throws: RunError.self) { try r.run(resume: false) }
        let url = RunStore(directory: b).checkpointURL(schedule: "constant", seed: 3)
        let c = try Checkpoint.decode(try Data(contentsOf: url), file: url.path)
        try Self.version2(c).write(to: url)
        #expect(try Checkpoint.decode(try Data(contentsOf: url), file: url.path).cycle == 1)
        try Runner(spec: spec, directory: b).run(resume: true)
        #expect(try records(a, spec) == records(b, spec))
    }

    /// The format-2 layout: version 2, no mid-cycle flag.
    private static func version2(_ c: Checkpoint) -> Data {
        var w = BinaryWriter()
        w.u32(Checkpoint.magic); w.u32(2)
        w.u64(UInt64(c.cycle))
        w.bytes(c.recordsJSON)
        w.u64(UInt64(c.tensors.count))
        for t in c.tensors {
            w.bytes(Data(t.name.utf8))
            w.floats(t.values)
            w.u32(t.mask == nil ? 0 : 1)
            if let m = t.mask { w.floats(m) }
        }
        w.u64(UInt64(c.buffers.count))
        for b in c.buffers { w.floats(b) }
        w.u64(Checkpoint.checksum(w.data))
        return w.data
    }
}
