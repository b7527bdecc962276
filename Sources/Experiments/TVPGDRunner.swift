import Data
import Foundation
import NN
import Pruning
import Tensor

/// Time-varying projected gradient descent (SPEC §6): dense gradient updates, then the
/// weights are projected onto the current mask; every `dt` iterations the mask is
/// recomputed from current magnitudes at sparsity `s(t)`, so pruned weights can grow back.
/// Once a ramp has reached the target the mask is fixed and installed on the parameters
/// (masked updates) until the next cycle's ramp; one-shot fixes the dense network's mask.
/// The weights pruned are the prunable ones minus `pruning.exclude`, as in `Runner`.
///
/// Every method of the spec starts from the same dense network per seed (trained for
/// `dense_iterations`; parameters and BatchNorm statistics) and gets the same total budget `T`. The LR restarts at `lr` at the
/// start of every cycle and drops 10x after `lr_drop` of the cycle. A (method, target, seed)
/// run is short: it is written once, atomically, when it finishes; finished runs are skipped.
/// A unit stopped by `shouldStop` (a signal) writes a checkpoint (`TVPGDProgress`) and the
/// next run continues it from there, with the records of a run never stopped.
public final class TVPGDRunner {
    public let spec: ExperimentSpec
    public let tv: TVPGDSpec
    public let store: RunStore
    public var progress: ((RunProgress) -> Void)?
    /// One-off lines (a unit resumed from its checkpoint).
    public var log: ((String) -> Void)?
    /// Called after every iteration's projection with (t, model, optimizer, masks): for tests.
    var afterIteration: ((Int, Model, any Optimizer, [Tensor]) -> Void)?
    /// Asked after every iteration: true stops the unit after it with a checkpoint
    /// (`RunError.stopped`). During the shared dense training there is no checkpoint: the
    /// dense start is a pure function of the spec and seed, trained again by the next run.
    public var shouldStop: () -> Bool = { false }
    /// Stop as a signal would once this many iterations (dense ones included) have run in this call: for tests.
    var stopAfterIterations: Int?
    private var iterationsThisCall = 0
    private var stopRequested: Bool { shouldStop() || stopAfterIterations.map { iterationsThisCall >= $0 } ?? false }

    public init(spec: ExperimentSpec, directory: String) throws {
        guard let tv = spec.tvpgd else { throw RunError.spec("spec \(spec.name) has no tvpgd section") }
        self.spec = spec
        self.tv = tv
        store = RunStore(directory: directory)
    }

    static func runName(method: String, target: Double, seed: UInt64) -> String {
        "\(method)--s\(String(format: "%.4g", target))"
    }

    func recordsURL(method: String, target: Double, seed: UInt64) -> URL {
        store.recordsURL(schedule: Self.runName(method: method, target: target, seed: seed), seed: seed)
    }

    func checkpointURL(method: String, target: Double, seed: UInt64) -> URL {
        store.checkpointURL(schedule: Self.runName(method: method, target: target, seed: seed), seed: seed)
    }

    /// Runs the missing units (all, or those in `only`); `gate` as in `Runner.run`. Returns
    /// the units this call ran. The dense start is shared by the units of one seed that run
    /// in this call; it is a pure function of the spec and the seed, so a unit run alone trains
    /// the same dense network itself and ends with the same records.
    @discardableResult
    public func run(only: Set<Int>? = nil, gate: UnitGate? = nil) throws -> [RunUnit] {
        try store.claim(for: spec)
        let methods = Dictionary(tv.methods.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let pending = try spec.units().filter { u in
            (only?.contains(u.index) ?? true) && !FileManager.default.fileExists(atPath: recordsURL(method: u.schedule, target: u.target!, seed: u.seed).path)
        }
        let started = Date()
        var done = 0
        var ran: [RunUnit] = []
        var loaded: (seed: UInt64, splits: Splits)?
        var dense: (seed: UInt64, state: Checkpoint)?
        for (i, unit) in pending.enumerated() {
            if stopRequested { throw RunError.stopped("stopped before unit \(unit.index) (\(unit.name)) started") }
            let (method, target, seed) = (methods[unit.schedule]!, unit.target!, unit.seed)
            let lease = try gate?(unit)
            if gate != nil && lease == nil { continue }
            defer { lease?.release() }
            if FileManager.default.fileExists(atPath: recordsURL(method: method.name, target: target, seed: seed).path) { continue }
            if loaded?.seed != seed {
                let splits = try DataSource.load(dataset: spec.data.dataset, directory: spec.data.dataDir, split: spec.data.split,
                                                 validationFraction: spec.data.validationFraction, seed: seed)
                if loaded == nil { try MemoryEstimate.requireFit(model: spec.model, splits: splits, batchSize: spec.training.batchSize) }
                loaded = (seed, splits)
            }
            let splits = loaded!.splits
            let ckptURL = checkpointURL(method: method.name, target: target, seed: seed)
            var saved: Checkpoint?
            if FileManager.default.fileExists(atPath: ckptURL.path) {
                guard let data = FileManager.default.contents(atPath: ckptURL.path) else { throw RunError.io("cannot read checkpoint \(ckptURL.path)") }
                saved = try Checkpoint.decode(data, file: ckptURL.path)
            }
            if saved == nil && dense?.seed != seed { dense = (seed, try trainDense(seed: seed, splits: splits)) }
            let records = try runOne(method: method, target: target, seed: seed, splits: splits, from: saved ?? dense!.state,
                                     resuming: saved != nil, file: ckptURL.path) { t in
                let total = Double(pending.count * self.tv.iterations)
                let fraction = Double(done * self.tv.iterations + t) / total
                let elapsed = Date().timeIntervalSince(started)
                let p = RunProgress(run: i + 1, runs: pending.count, schedule: "\(method.name) s=\(target)", seed: seed,
                                    cycle: 0, cycles: 0, iteration: t, iterations: self.tv.iterations,
                                    secondsLeft: fraction > 0 ? elapsed / fraction * (1 - fraction) : nil, message: nil)
                self.progress?(p)
                lease?.progress(p)
            }
            done += 1
            try AtomicFile.write(RunStore.encodeLines(records), to: recordsURL(method: method.name, target: target, seed: seed))
            // The records mark the unit finished; its checkpoint has served.
            if saved != nil { try? FileManager.default.removeItem(at: ckptURL) }
            ran.append(unit)
            let last = records.last!
            progress?(RunProgress(run: i + 1, runs: pending.count, schedule: "\(method.name) s=\(target)", seed: seed,
                                  cycle: last.cycle, cycles: last.cycles, iteration: tv.iterations, iterations: tv.iterations,
                                  secondsLeft: nil,
                                  message: String(format: "sparsity %.4f  final test %.2f%%  mask distance %.3f  (%.1fs)",
                                                  last.measuredSparsity, 100 * last.finalTestAccuracy, last.maskDistance,
                                                  records.reduce(0) { $0 + $1.seconds })))
        }
        return ran
    }

    func makeModel(splits: Splits, seed: UInt64) throws -> Model {
        try ModelZoo.make(spec.model, inputShape: splits.train.sampleShape, classes: splits.train.classes, seed: seed)
    }

    /// The shared dense start of one seed: parameters and buffers (BatchNorm running
    /// statistics), held as the iterative runner's checkpoints hold them.
    func trainDense(seed: UInt64, splits: Splits) throws -> Checkpoint {
        let model = try makeModel(splits: splits, seed: seed)
        let trainer = Trainer(model: model, optimizer: makeOptimizer(), splits: splits, batchSize: spec.training.batchSize,
                              seed: seed, stream: "batches.dense", augment: spec.data.augment)
        var state = TrainingState()
        guard trainer.train(from: &state, iterations: tv.denseIterations, evalEvery: max(1, tv.denseIterations),
                            lr: { _ in self.iterationsThisCall += 1; return Float(self.tv.lr) },
                            shouldStop: { self.stopRequested }) != nil else {
            throw RunError.stopped("stopped the dense training of seed \(seed) at iteration \(state.iteration); the next run trains it again (the same dense start)")
        }
        return Checkpoint(cycle: 0, recordsJSON: Data(), parameters: model.parameters, buffers: model.buffers)
    }

    /// A fresh model at the dense start.
    func startModel(from dense: Checkpoint, splits: Splits, seed: UInt64) throws -> Model {
        let model = try makeModel(splits: splits, seed: seed)
        try dense.restore(into: model.parameters, buffers: model.buffers, file: "dense start of seed \(seed)")
        return model
    }

    func makeOptimizer() -> any Optimizer {
        Runner(spec: spec, directory: store.directory.path).makeOptimizer()
    }

    func sparsitySchedule(_ m: TVPGDSpec.Method, target: Double) throws -> SparsitySchedule {
        switch m.kind {
        case "one-shot": return try .oneShot(target: target, total: tv.iterations, interval: tv.dt)
        case "gradual":
            let phase = max(1, Int((m.pruningFraction * Double(tv.iterations)).rounded()))
            return try .cubic(target: target, pruningPhase: phase, total: tv.iterations, interval: tv.dt)
        default:
            return try .cyclical(target: target, cycles: m.cycles, total: tv.iterations, interval: tv.dt,
                                 laterInitFraction: m.laterInitFraction, rampFraction: m.rampFraction)
        }
    }

    /// Trains one unit from the dense start, or (`resuming`) from a stopped unit's checkpoint
    /// `start` (stored at `file`); returns its records.
    func runOne(method: TVPGDSpec.Method, target: Double, seed: UInt64, splits: Splits, from start: Checkpoint,
                resuming: Bool = false, file: String? = nil, onIteration: (Int) -> Void) throws -> [TVPGDRecord] {
        let schedule = try sparsitySchedule(method, target: target)
        let model = try startModel(from: start, splits: splits, seed: seed)
        let weights = model.parameters.filter(spec.pruning.selection.includes)
        let scope: PruningScope = tv.scope == "global" ? .global : .layerwise
        let optimizer = makeOptimizer()
        let trainer = Trainer(model: model, optimizer: optimizer, splits: splits, batchSize: spec.training.batchSize,
                              seed: seed, stream: "batches.tvpgd", augment: spec.data.augment)
        let dropouts = model.network.leaves.compactMap { $0 as? Dropout }
        var masks: [Tensor] = weights.map { Tensor(shape: $0.value.shape, repeating: 1) }
        var recovery = WeightRecoveryTracker()
        var recovered = 0
        var maskInstalled = false
        var records: [TVPGDRecord] = []
        var firstCycleMasks: [Tensor]?
        var early = EarlyStopAccuracy()
        var first = 0
        let ckptFile = file ?? checkpointURL(method: method.name, target: target, seed: seed).path
        if resuming {
            guard let blob = start.midCycle else { throw RunError.corruptCheckpoint(ckptFile, reason: "holds no TV-PGD state") }
            let p = try TVPGDProgress.decode(blob, model: model, weights: weights, file: ckptFile)
            let streams = p.dropout.compactMap(RNG.init(state:))
            guard p.iteration > 0, p.iteration < tv.iterations, optimizer.importState(p.optimizer, into: model.parameters),
                  trainer.batcher.restore(p.batcher), streams.count == dropouts.count else {
                throw RunError.corruptCheckpoint(ckptFile, reason: "its TV-PGD state does not fit unit \(method.name) s=\(target)")
            }
            for (d, rng) in zip(dropouts, streams) { d.rng = rng }
            let shaped = { (g: [[Float]]) in zip(weights, g).map { Tensor(shape: $0.value.shape, values: $1) } }
            masks = shaped(p.masks)
            firstCycleMasks = p.firstCycleMasks.map(shaped)
            recovery = WeightRecoveryTracker(everPruned: p.everPruned)
            recovered = p.recovered
            maskInstalled = p.maskInstalled
            records = p.records
            early = p.earlyStop
            first = p.iteration
            log?("resuming TV-PGD unit \(method.name) s=\(target) seed \(seed) at iteration \(first)")
        } else if schedule.fixesMask(at: 0) {
            // One-shot (the paper's dt > T, eta(0) = 0): prune the dense network itself, once.
            masks = try magprune(weights, sparsity: target, scope: scope)
            recovered = try recovery.record(masks)
        }
        var cycleStart = Date()
        let k = schedule.cycle(at: max(0, tv.iterations - 1)).cycle + 1
        for t in first..<tv.iterations {
            iterationsThisCall += 1
            let position = schedule.cycle(at: t)
            let lr = position.offset < Int(tv.lrDrop * Double(position.length)) ? tv.lr : tv.lr / 10
            if schedule.fixesMask(at: t) != maskInstalled {
                maskInstalled.toggle()
                if maskInstalled { install(weights, masks) } else { release(weights) }
            }
            trainer.step(lr: Float(lr))
            if schedule.updatesMask(at: t) {
                masks = try magprune(weights, sparsity: schedule.sparsity(at: t), scope: scope)
                recovered = try recovery.record(masks)
            }
            project(weights, masks)
            afterIteration?(t, model, trainer.optimizer, masks)
            let done = t + 1
            let endOfCycle = done == tv.iterations || schedule.cycle(at: done).cycle != position.cycle
            let atTarget = abs(schedule.sparsity(at: t) - target) < 1e-12
            if atTarget && (done % spec.training.evalEvery == 0 || endOfCycle) {
                let val = trainer.evaluate(splits.validation).accuracy
                let test = trainer.evaluate(splits.test).accuracy
                early.record(iteration: done, validation: val, test: test)
            }
            if done % 50 == 0 { onIteration(done) }
            if endOfCycle {
                let finalTest = trainer.evaluate(splits.test).accuracy
                if firstCycleMasks == nil { firstCycleMasks = masks }
                let kept = masks.reduce(0) { $0 + Int(Ops.sum($1.count, $1.data)) }
                let total = masks.reduce(0) { $0 + $1.count }
                records.append(TVPGDRecord(
                    method: method.name, kind: method.kind, target: target, seed: seed, cycle: position.cycle + 1, cycles: k,
                    measuredSparsity: 1 - Double(kept) / Double(total),
                    bestValAccuracy: early.isEmpty ? 0 : early.bestValidation,
                    earlyStopTestAccuracy: early.isEmpty ? finalTest : early.testAtBest,
                    finalTestAccuracy: finalTest, weightsRecovered: recovered,
                    maskDistance: try MaskMetrics.jaccardDistance(masks, firstCycleMasks!),
                    seconds: Date().timeIntervalSince(cycleStart), environment: .current))
                early = EarlyStopAccuracy()
                cycleStart = Date()
            }
            if done < tv.iterations && stopRequested {
                let p = TVPGDProgress(iteration: done, masks: masks.map(\.array), firstCycleMasks: firstCycleMasks?.map(\.array),
                                      everPruned: recovery.everPruned, recovered: recovered, maskInstalled: maskInstalled,
                                      earlyStop: early, records: records, optimizer: optimizer.exportState(model.parameters),
                                      batcher: trainer.batcher.state, dropout: dropouts.map(\.rng.state))
                try AtomicFile.write(Checkpoint(cycle: -1, recordsJSON: Data(), parameters: model.parameters, buffers: model.buffers,
                                                midCycle: try p.encoded()).encoded(), to: URL(fileURLWithPath: ckptFile))
                throw RunError.stopped("stopped TV-PGD unit \(method.name) s=\(target) seed \(seed) after iteration \(done) of \(tv.iterations); --resume continues from the checkpoint \(ckptFile)")
            }
        }
        return records
    }

    /// Fine-tuning at a fixed mask: the optimizer's masked update keeps pruned weights at 0
    /// and clears their momentum / moments on the next step.
    private func install(_ weights: [Parameter], _ masks: [Tensor]) {
        for (p, m) in zip(weights, masks) { p.setMask(m) }
    }

    /// The next ramp starts: dense updates again, so pruned weights may regrow. Optimizer
    /// state is kept, as in the paper, which trains all cycles with one optimizer and restarts
    /// only the learning rate: kept weights keep their momentum, pruned ones regrow from none.
    private func release(_ weights: [Parameter]) {
        for p in weights { p.removeMask() }
    }

    /// theta = theta * M, by select so a diverged value cannot turn a pruned weight into NaN.
    private func project(_ weights: [Parameter], _ masks: [Tensor]) {
        for (p, m) in zip(weights, masks) {
            let v = p.value.data, mp = m.data
            for i in 0..<p.count where mp[i] == 0 { v[i] = 0 }
        }
    }

    /// All stored records, in spec order.
    public func allRecords() throws -> [TVPGDRecord] {
        var out: [TVPGDRecord] = []
        let dec = JSONDecoder()
        for seed in spec.seeds {
            for m in tv.methods {
                for target in tv.targets {
                    let url = recordsURL(method: m.name, target: target, seed: seed)
                    guard let data = FileManager.default.contents(atPath: url.path) else { continue }
                    for (i, line) in data.split(separator: 0x0A).enumerated() {
                        do { out.append(try dec.decode(TVPGDRecord.self, from: Data(line))) } catch {
                            throw RunError.io("\(url.path):\(i + 1): unreadable record")
                        }
                    }
                }
            }
        }
        return out
    }
}
