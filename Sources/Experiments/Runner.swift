import Data
import Foundation
import NN
import Pruning
import Schedules
import Tensor

/// Where the runner is, for progress lines.
public struct RunProgress: Sendable {
    public var run: Int
    public var runs: Int
    public var schedule: String
    public var seed: UInt64
    public var cycle: Int
    public var cycles: Int
    public var iteration: Int
    public var iterations: Int
    /// Seconds left in the whole experiment, estimated from the iterations done so far.
    public var secondsLeft: Double?
    public var message: String?
}

/// Runs every (schedule, seed) of a spec: dense training (cycle 0), then `L` cycles of
/// prune → (rewind) → retrain, writing one record and one checkpoint per finished cycle.
///
/// Determinism and resumption: each cycle draws its batches, saliency batches and random
/// scores from streams named after the cycle, and starts a fresh optimizer, so the state
/// at a cycle boundary is the parameters and masks alone. When `shouldStop` says so (a
/// signal), a unit stops after its current iteration and writes a mid-cycle checkpoint with
/// the rest of the cycle's state (`CycleProgress`). A resumed run therefore continues bit
/// for bit as if it had never stopped.
public final class Runner {
    public let spec: ExperimentSpec
    public let store: RunStore
    public var progress: ((RunProgress) -> Void)?
    /// One-off lines about how the spec is applied (e.g. what structured pruning keeps).
    public var log: ((String) -> Void)?
    /// Stop (throwing `RunError.interrupted`) once this many cycles have finished in this
    /// call, as a kill would: for tests of resumption.
    public var stopAfterCycles: Int?
    /// Asked after every iteration (and before every unit): true stops the unit after that
    /// iteration with a mid-cycle checkpoint, throwing `RunError.stopped`. A request at a cycle
    /// boundary takes effect after the next cycle's first iteration, so a stop is always
    /// mid-cycle. The CLI answers it from SIGTERM / SIGUSR1 (Slurm's time limit, preemption).
    public var shouldStop: () -> Bool = { false }
    /// Stop as a signal would once this many iterations have run in this call: for tests.
    public var stopAfterIterations: Int?
    private var iterationsThisCall = 0
    private var cyclesFinished = 0
    private var iterationsDone = 0
    private var iterationsTotal = 0
    private var started = Date()

    /// A runner for `spec` storing into the run directory `directory`; `run(resume:)` does the work.
    public init(spec: ExperimentSpec, directory: String) {
        self.spec = spec
        store = RunStore(directory: directory)
    }

    /// Runs what is missing. Finished runs are skipped; an interrupted run continues only
    /// with `resume` (otherwise it is reported, never silently restarted).
    /// `only` restricts the run to those unit indices (`ExperimentSpec.units()`); `gate`, when
    /// given, is asked for every unit right before it starts and may refuse it (claimed elsewhere).
    /// Returns the units this call ran to the end. Nothing carries over from one unit to the
    /// next: each builds its model, trainer and streams from the spec and its seed alone.
    @discardableResult
    public func run(resume: Bool, only: Set<Int>? = nil, gate: UnitGate? = nil) throws -> [RunUnit] {
        // Specs built in code skip the parser's check; a typo must not prune the layer it meant to keep.
        if let problem = ExcludeNames.problem(spec.pruning.exclude, model: spec.model) {
            throw RunError.spec("pruning.exclude: \(problem)")
        }
        try store.claim(for: spec)
        let plans = try spec.schedules.map { try SchedulePlan($0, spec: spec) }
        let units = try spec.units().filter { only?.contains($0.index) ?? true }
        var pending: [(SchedulePlan, RunUnit)] = []
        var iterations = 0
        for unit in units {
            let plan = plans.first { $0.spec.name == unit.schedule }!
            // With a gate the check waits for the claim: an interruption may be a live claim's.
            let (finished, ckpt) = try state(of: unit, resume: resume || gate != nil)
            if finished { continue }
            pending.append((plan, unit))
            iterations += spec.iterations(plan, from: (ckpt?.cycle ?? -1) + 1)
        }
        iterationsTotal = iterations
        iterationsDone = 0
        started = Date()
        var ran: [RunUnit] = []
        var splitsBySeed: [UInt64: Splits] = [:]
        for (i, (plan, unit)) in pending.enumerated() {
            if stopRequested { throw RunError.stopped("stopped before unit \(unit.index) (\(unit.name)) started") }
            let lease = try gate?(unit)
            if gate != nil && lease == nil { continue }
            defer { lease?.release() }
            // Read again under the claim: another process may have advanced or finished it meanwhile.
            let (finished, ckpt) = try state(of: unit, resume: resume)
            if finished { continue }
            if splitsBySeed[unit.seed] == nil {
                // Loading is a pure function of the spec and the seed, so keeping one seed's
                // splits across units cannot make a unit depend on its neighbours.
                let splits = try DataSource.load(dataset: spec.data.dataset, directory: spec.data.dataDir, split: spec.data.split,
                                                 validationFraction: spec.data.validationFraction, seed: unit.seed)
                if splitsBySeed.isEmpty {
                    try MemoryEstimate.requireFit(model: spec.model, splits: splits, batchSize: spec.training.batchSize)
                }
                splitsBySeed = [unit.seed: splits]
            }
            let report = progress
            if let lease {
                progress = { p in report?(p); lease.progress(p) }
            }
            defer { progress = report }
            try runOne(plan: plan, seed: unit.seed, splits: splitsBySeed[unit.seed]!, from: ckpt, index: i + 1, of: pending.count)
            ran.append(unit)
        }
        return ran
    }

    func budget(cycle m: Int) -> Int { m == 0 ? spec.training.denseBudget : spec.training.iterationsPerCycle }

    /// Whether `unit` has nothing left to run, and its checkpoint if it has one. An interrupted
    /// unit is an error unless `resume`: it is reported, never silently restarted.
    private func state(of unit: RunUnit, resume: Bool) throws -> (finished: Bool, checkpoint: Checkpoint?) {
        let ckpt = try loadCheckpoint(schedule: unit.schedule, seed: unit.seed)
        if let ckpt, ckpt.cycle >= spec.pruning.cycles { return (true, ckpt) }
        if let ckpt, !resume {
            let when = ckpt.midCycle == nil ? "after cycle \(ckpt.cycle)" : "during cycle \(ckpt.cycle + 1)"
            throw RunError.interrupted("run \(unit.schedule) seed \(unit.seed) in \(store.directory.path) was interrupted \(when); pass --resume to continue it")
        }
        return (false, ckpt)
    }

    func loadCheckpoint(schedule: String, seed: UInt64) throws -> Checkpoint? {
        let url = store.checkpointURL(schedule: schedule, seed: seed)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RunError.io("cannot read checkpoint \(url.path)")
        }
        return try Checkpoint.decode(data, file: url.path)
    }

    private var stopRequested: Bool {
        shouldStop() || stopAfterIterations.map { iterationsThisCall >= $0 } ?? false
    }

    func makeOptimizer() -> any Optimizer {
        let o = spec.optimizer
        switch o.name {
        case "adam": return Adam(weightDecay: Float(o.weightDecay))
        case "rmsprop": return RMSProp(momentum: Float(o.momentum), weightDecay: Float(o.weightDecay))
        default: return SGD(momentum: Float(o.momentum), weightDecay: Float(o.weightDecay), nesterov: o.nesterov)
        }
    }

    var isStructured: Bool { ["l1-filter", "random-filter"].contains(spec.pruning.criterion) }

    /// The weights pruned and counted in `prunedLayersPercentRemaining`: every prunable weight
    /// outside `pruning.exclude`, and for structured criteria never the classifier, whose
    /// filters are the class logits (SPEC §1).
    func prunedSelection(_ units: FilterUnits?) -> PrunableSelection {
        let base = spec.pruning.selection
        guard isStructured, let classifier = units?.classifier else { return base }
        return PrunableSelection { p in p !== classifier && base.includes(p) }
    }

    private var loggedClassifier = false

    /// Says once per runner which classifier structured pruning keeps whole.
    private func logClassifier(_ units: FilterUnits) {
        guard isStructured, !loggedClassifier, let c = units.classifier else { return }
        loggedClassifier = true
        log?("\(spec.pruning.criterion): the classifier \(c.name) keeps all \(c.value.shape[0]) outputs (structured pruning never removes logits); its input columns reading a removed channel are masked")
    }

    private func runOne(plan: SchedulePlan, seed: UInt64, splits: Splits, from ckpt: Checkpoint?, index: Int, of count: Int) throws {
        let name = plan.spec.name
        let model = try ModelZoo.make(spec.model, inputShape: splits.train.sampleShape, classes: splits.train.classes, seed: seed)
        if let weights = spec.modelWeights, ckpt == nil { try ModelFiles.load(weights, into: model) }
        let units = FilterUnits(model)
        logClassifier(units)
        let selection = prunedSelection(units)
        let ckptURL = store.checkpointURL(schedule: name, seed: seed)
        var records: [CycleRecord] = []
        var start = 0
        // IMP: rewinding to initialisation needs the initial values; late rewinding stores iteration k's.
        var rewindTarget: WeightSnapshot? = spec.pruning.rewind == "init" ? try WeightSnapshot(parameters: model.parameters) : nil
        var resuming: CycleProgress?
        if let ckpt {
            try ckpt.restore(into: model.parameters, buffers: model.buffers, file: ckptURL.path)
            records = try RunStore.decodeLines(ckpt.recordsJSON, file: ckptURL.path)
            start = ckpt.cycle + 1
            if let mid = ckpt.midCycle {
                let p = try CycleProgress.decode(mid, model: model, file: ckptURL.path)
                guard p.cycle == start, records.count == start else {
                    throw RunError.corruptCheckpoint(ckptURL.path, reason: "mid-cycle state of cycle \(p.cycle) after \(records.count) finished cycles")
                }
                resuming = p
                let candidate = plan.isOracle ? " candidate \(p.candidate + 1)" : ""
                log?("resuming schedule \(name) seed \(seed) at cycle \(p.cycle)\(candidate) iteration \(p.training.iteration)")
            } else {
                log?("resuming schedule \(name) seed \(seed) after cycle \(ckpt.cycle)")
            }
            if start > 0, SpecParser.rewindIteration(spec.pruning.rewind) != nil {
                rewindTarget = try loadRewindSnapshot(schedule: name, seed: seed, like: model)
            }
        }
        for m in start...spec.pruning.cycles {
            let t0 = Date()
            let continuing = m == start ? resuming : nil
            // A resumed mid-cycle checkpoint holds the weights after this cycle's pruning and rewinding.
            if m > 0 && continuing == nil {
                try prune(model: model, units: units, selection: selection, splits: splits, seed: seed, cycle: m)
                if let target = rewindTarget { try target.rewind(model.parameters) }
            }
            let lateRewind = m == 0 ? SpecParser.rewindIteration(spec.pruning.rewind) : nil
            let outcome = try trainCycle(model: model, plan: plan, splits: splits, seed: seed, cycle: m, captureAt: lateRewind,
                                         resuming: continuing, file: ckptURL.path, run: index, runs: count)
            guard case let .finished(result, peak, oracle, snapshot, epochStart) = outcome else {
                guard case let .stopped(progress) = outcome else { fatalError("unreachable") }
                try AtomicFile.write(Checkpoint(cycle: m - 1, recordsJSON: try RunStore.encodeLines(records), parameters: model.parameters,
                                                buffers: model.buffers, midCycle: try progress.encoded()).encoded(), to: ckptURL)
                let candidate = plan.isOracle ? " (oracle candidate \(progress.candidate + 1))" : ""
                throw RunError.stopped("stopped schedule \(name) seed \(seed) in cycle \(m) after iteration \(progress.training.iteration) of \(budget(cycle: m))\(candidate); --resume continues from the mid-cycle checkpoint \(ckptURL.path)")
            }
            if let snapshot {
                rewindTarget = snapshot
                try saveRewindSnapshot(snapshot, schedule: name, seed: seed, model: model)
            }
            var diagnostics: CycleDiagnostics?
            if spec.diagnostics {
                let schedule = try plan.schedule(cycle: m, peak: plan.isOracle ? peak : try plan.candidates(cycle: m)[0])
                diagnostics = Diagnostics.measure(
                    model: model, dataset: splits.train, batchSize: spec.training.batchSize, seed: seed,
                    learningRate: schedule.lr(at: budget(cycle: m) - 1),
                    tailThresholds: records.first?.diagnostics?.tailThresholds, selection: selection)
                diagnostics?.ewg = epochStart.map { WeightDistance.ewg(before: $0, after: model.parameters, selection: selection) }
            }
            let report = SparsityReport(parameters: model.parameters, selection: selection)
            let all = SparsityReport(parameters: model.parameters)
            records.append(CycleRecord(
                schedule: name, seed: seed, cycle: m,
                percentRemaining: percentRemaining(rate: spec.pruning.rate, cycle: m),
                measuredPercentRemaining: all.percentRemaining,
                layers: Dictionary(uniqueKeysWithValues: all.layers.map { ($0.name, $0.percentRemaining) }),
                peakLR: peak, bestValAccuracy: result.earlyStop.bestValidation,
                earlyStopTestAccuracy: result.earlyStop.testAtBest, finalTestAccuracy: result.finalTestAccuracy,
                trainLoss: result.trainLoss, iterations: budget(cycle: m),
                seconds: Date().timeIntervalSince(t0), oracle: oracle, diagnostics: diagnostics,
                prunedLayersPercentRemaining: report.percentRemaining, environment: .current))
            // Checkpoint first (it carries the records), then the records file: both atomic,
            // so a kill at any moment leaves either the old or the new consistent pair.
            let lines = try RunStore.encodeLines(records)
            try AtomicFile.write(Checkpoint(cycle: m, recordsJSON: lines, parameters: model.parameters, buffers: model.buffers).encoded(), to: ckptURL)
            try AtomicFile.write(lines, to: store.recordsURL(schedule: name, seed: seed))
            try ModelFiles.keepCycle(model: model, record: records[records.count - 1], spec: spec, store: store,
                                     normalization: splits.normalization)
            cyclesFinished += 1
            if let limit = stopAfterCycles, cyclesFinished >= limit {
                throw RunError.interrupted("stopped after \(cyclesFinished) cycles")
            }
            progress?(RunProgress(run: index, runs: count, schedule: name, seed: seed, cycle: m, cycles: spec.pruning.cycles,
                                  iteration: budget(cycle: m), iterations: budget(cycle: m), secondsLeft: secondsLeft,
                                  message: String(format: "cycle %d  lambda %.2f  peak lr %.4g  early-stop test %.2f%%  (%.1fs)",
                                                  m, records.last!.measuredPercentRemaining, peak,
                                                  100 * result.earlyStop.testAtBest, records.last!.seconds)))
        }
    }

    private var secondsLeft: Double? {
        guard iterationsDone > 0 else { return nil }
        return Date().timeIntervalSince(started) / Double(iterationsDone) * Double(max(0, iterationsTotal - iterationsDone))
    }

    /// How a cycle's training ended: finished (its result, peak, oracle outcome, late-rewinding
    /// weights and, with diagnostics, the weights at the start of its last epoch), or stopped
    /// by `shouldStop` with the state to continue from.
    private enum CycleOutcome {
        case finished(TrainingResult, Double, CycleRecord.OracleOutcome?, WeightSnapshot?, [[Float]]?)
        case stopped(CycleProgress)
    }

    /// Trains cycle `m`: one candidate peak, or the oracle's grid (each from the same start,
    /// continuing from the best on validation), from its start or from `resuming`. Also
    /// captures the weights `captureAt` asks for (late rewinding) and, with diagnostics on,
    /// those at the start of the last epoch (EWG).
    private func trainCycle(model: Model, plan: SchedulePlan, splits: Splits, seed: UInt64, cycle m: Int,
                            captureAt: Int?, resuming: CycleProgress?, file: String, run: Int, runs: Int) throws -> CycleOutcome {
        let peaks = try plan.candidates(cycle: m)
        let iterations = budget(cycle: m)
        let dropouts = model.network.leaves.compactMap { $0 as? Dropout }
        if let r = resuming {
            guard r.candidate >= 0, r.candidate < peaks.count, r.candidates.count == r.candidate, (r.start != nil) == (peaks.count > 1),
                  r.training.iteration < iterations, r.dropout.count == dropouts.count else {
                throw RunError.corruptCheckpoint(file, reason: "mid-cycle state does not fit cycle \(m) of schedule '\(plan.spec.name)'")
            }
        }
        // A resumed cycle's model is mid-candidate: the candidates' common start comes from the checkpoint.
        let startState = resuming.map(\.start) ?? (peaks.count > 1 ? ModelState(model) : nil)
        var best = resuming?.best
        var candidates = resuming?.candidates ?? []
        let perEpoch = (splits.train.count + spec.training.batchSize - 1) / spec.training.batchSize
        let lastEpoch = spec.diagnostics ? max(0, iterations - perEpoch) : -1
        for (index, peak) in peaks.enumerated() where index >= resuming?.candidate ?? 0 {
            let continuing = index == resuming?.candidate ? resuming : nil
            // Per candidate; the run continues from (and late rewinding uses) the best one's.
            var captured = continuing?.captured
            var epochStart = continuing?.epochStart
            var training = continuing?.training ?? TrainingState()
            if continuing == nil { startState?.restore(model) }
            let schedule = try plan.schedule(cycle: m, peak: peak)
            let optimizer = makeOptimizer()
            let trainer = Trainer(model: model, optimizer: optimizer, splits: splits, batchSize: spec.training.batchSize,
                                  seed: seed, stream: "batches.cycle\(m)", augment: spec.data.augment)
            if let c = continuing {
                let streams = c.dropout.compactMap(RNG.init(state:))
                guard optimizer.importState(c.optimizer, into: model.parameters), trainer.batcher.restore(c.batcher),
                      streams.count == dropouts.count else {
                    throw RunError.corruptCheckpoint(file, reason: "its optimizer or data-stream state does not fit the model and data")
                }
                for (d, rng) in zip(dropouts, streams) { d.rng = rng }
            }
            var snapshotError: Error?
            let result = trainer.train(from: &training, iterations: iterations, evalEvery: spec.training.evalEvery, lr: { t in
                iterationsThisCall += 1
                if t == captureAt {
                    do { captured = try WeightSnapshot(parameters: model.parameters) } catch { snapshotError = error }
                }
                if t == lastEpoch { epochStart = WeightDistance.values(model.parameters) }
                return Float(schedule.lr(at: t))
            }, progress: { p in
                self.progress?(RunProgress(run: run, runs: runs, schedule: plan.spec.name, seed: seed, cycle: m,
                                           cycles: self.spec.pruning.cycles, iteration: p.iteration, iterations: iterations,
                                           secondsLeft: self.secondsLeft(adding: p.iteration), message: nil))
            }, shouldStop: { self.stopRequested })
            if let snapshotError { throw snapshotError }
            guard let result else {
                return .stopped(CycleProgress(
                    cycle: m, candidate: index, candidates: candidates, best: best, start: startState, training: training,
                    optimizer: optimizer.exportState(model.parameters), batcher: trainer.batcher.state,
                    dropout: dropouts.map(\.rng.state), captured: captured, epochStart: epochStart))
            }
            iterationsDone += iterations
            candidates.append(.init(peak: peak, valAccuracy: result.earlyStop.bestValidation))
            if best == nil || result.earlyStop.bestValidation > best!.training.earlyStop.bestValidation {
                best = .init(peak: peak, training: training, state: peaks.count > 1 ? ModelState(model) : nil,
                             captured: captured, epochStart: epochStart)
            }
        }
        guard let best else { throw RunError.spec("schedule '\(plan.spec.name)' has no peak to train at cycle \(m)") }
        best.state?.restore(model)
        var oracle: CycleRecord.OracleOutcome?
        if plan.isOracle {
            oracle = CycleRecord.OracleOutcome(candidates: candidates)
            assert(oracle?.bestPeak == best.peak, "the run continues from the candidate the outcome names")
        }
        let peakLR = plan.isOracle ? best.peak : try plan.peak(cycle: m)
        return .finished(TrainingResult(best.training), peakLR, oracle, best.captured, best.epochStart)
    }

    private func secondsLeft(adding partial: Int) -> Double? {
        let done = iterationsDone + partial
        guard done > 0 else { return nil }
        return Date().timeIntervalSince(started) / Double(done) * Double(max(0, iterationsTotal - done))
    }

    /// Scores and removes `p` of the remaining prunable weights (SPEC §1 step 1–2).
    private func prune(model: Model, units: FilterUnits, selection: PrunableSelection, splits: Splits,
                       seed: UInt64, cycle m: Int) throws {
        let p = spec.pruning
        // Structured (SPEC §1–2): whole units (filter or neuron, its bias and BatchNorm, the
        // next layer's kernels that read it); `FilterUnits` documents what that is per model.
        switch p.criterion {
        case "l1-filter":
            try pruneUnits(units, parameters: model.parameters, criterion: .l1Norm, rate: p.rate, selection: selection)
            return
        case "random-filter":
            try pruneUnits(units, parameters: model.parameters, criterion: .random(seed: seed &* 1_000_003 &+ UInt64(m)),
                           rate: p.rate, selection: selection)
            return
        default: break
        }
        let scope: PruningScope = p.scope == "layerwise" ? .layerwise : .global
        let criterion: PruningCriterion
        switch p.criterion {
        case "gradient": criterion = .gradient(accumulated: accumulateGradients(model: model, splits: splits, seed: seed, cycle: m))
        case "random": criterion = .random(seed: seed &* 1_000_003 &+ UInt64(m))
        case "lamp": criterion = .lamp
        case "lookahead": criterion = .lookahead()
        default: criterion = .magnitude
        }
        try Pruning.prune(parameters: model.parameters, criterion: criterion, scope: scope, rate: p.rate, selection: selection)
    }

    /// dL/dw summed over `gradient_batches` training batches at the current weights.
    private func accumulateGradients(model: Model, splits: Splits, seed: UInt64, cycle m: Int) -> [String: Tensor] {
        let trainer = Trainer(model: model, optimizer: SGD(), splits: splits, batchSize: spec.training.batchSize,
                              seed: seed, stream: "saliency.cycle\(m)")
        model.zeroGradients()
        let dLogits = Tensor(shape: [0])
        // The saliency reads every entry's gradient, so sparse layers compute the full dW here.
        SparseKernels.withDenseWeightGradients {
            for _ in 0..<spec.pruning.gradientBatches {
                trainer.batcher.next()
                let out = model.forward(trainer.batcher.inputs, training: true)
                trainer.batcher.labels.withUnsafeBufferPointer {
                    _ = SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: dLogits)
                }
                model.backward(dLogits)
            }
        }
        var grads: [String: Tensor] = [:]
        for p in model.parameters where p.prunable { grads[p.name] = p.grad.clone() }
        model.zeroGradients()
        return grads
    }

    private func saveRewindSnapshot(_ s: WeightSnapshot, schedule: String, seed: UInt64, model: Model) throws {
        // Stored in checkpoint format (values only) so a resumed run rewinds to the same weights.
        let current = try WeightSnapshot(parameters: model.parameters)
        try s.rewind(model.parameters)
        let data = Checkpoint(cycle: 0, recordsJSON: Data(), parameters: model.parameters).encoded()
        try current.rewind(model.parameters)
        try AtomicFile.write(data, to: store.rewindURL(schedule: schedule, seed: seed))
    }

    private func loadRewindSnapshot(schedule: String, seed: UInt64, like model: Model) throws -> WeightSnapshot {
        let url = store.rewindURL(schedule: schedule, seed: seed)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RunError.corruptCheckpoint(url.path, reason: "missing (late-rewinding weights)")
        }
        let ckpt = try Checkpoint.decode(data, file: url.path)
        let scratch = try ModelZoo.make(spec.model, inputShape: model.inputShape, classes: model.classes, seed: 0)
        try ckpt.restore(into: scratch.parameters, file: url.path)
        return try WeightSnapshot(parameters: scratch.parameters)
    }
}
