import Foundation

/// One independently runnable piece of a study: a (schedule, seed) of the iterative
/// runner, or a (method, target, seed) of TV-PGD. Units are numbered in the order the
/// runners execute them (seeds outermost), so index `i` names the same work on every
/// machine that reads the same spec: a Slurm array task id or a `--unit` argument.
public struct RunUnit: Sendable, Equatable, Codable {
    public var index: Int
    /// The file-safe name its records and checkpoint are stored under (`s-cyc--seed1`).
    public var name: String
    public var seed: UInt64
    /// Schedule name (iterative runner) or method name (TV-PGD).
    public var schedule: String
    /// TV-PGD's target sparsity; nil for the iterative runner.
    public var target: Double?
    /// Training iterations of the whole unit, every candidate of an oracle counted.
    public var iterations: Int
}

extension ExperimentSpec {
    /// The study's units in execution order. Throws for a schedule that cannot be planned.
    public func units() throws -> [RunUnit] {
        if let tv = tvpgd {
            var out: [RunUnit] = []
            for seed in seeds {
                for m in tv.methods {
                    for target in tv.targets {
                        let run = TVPGDRunner.runName(method: m.name, target: target, seed: seed)
                        out.append(RunUnit(index: out.count, name: RunStore.runName(schedule: run, seed: seed), seed: seed,
                                           schedule: m.name, target: target, iterations: tv.denseIterations + tv.iterations))
                    }
                }
            }
            return out
        }
        let plans = try schedules.map { try SchedulePlan($0, spec: self) }
        var out: [RunUnit] = []
        for seed in seeds {
            for plan in plans {
                out.append(RunUnit(index: out.count, name: RunStore.runName(schedule: plan.spec.name, seed: seed), seed: seed,
                                   schedule: plan.spec.name, target: nil, iterations: iterations(plan, from: 0)))
            }
        }
        return out
    }

    /// Iterations of `unit`'s cycles `0 ..< cycles` (every oracle candidate counted).
    public func iterations(of unit: RunUnit, firstCycles cycles: Int) -> Int {
        if tvpgd != nil { return cycles > 0 ? unit.iterations : 0 }
        guard let s = schedules.first(where: { $0.name == unit.schedule }), let plan = try? SchedulePlan(s, spec: self) else { return 0 }
        return unit.iterations - iterations(plan, from: cycles)
    }

    /// Iterations of cycles `from ... cycles` of one schedule.
    func iterations(_ plan: SchedulePlan, from: Int) -> Int {
        guard from <= pruning.cycles else { return 0 }
        return (from...pruning.cycles).reduce(0) { total, m in
            let budget = m == 0 ? training.denseBudget : training.iterationsPerCycle
            return total + budget * (plan.isOracle ? ((try? plan.candidates(cycle: m).count) ?? 1) : 1)
        }
    }
}

/// Decides, right before a unit starts, whether this process runs it: returns a lease to
/// release when the unit is done (or fails), or nil when someone else holds the unit.
/// The runners call it for every unit they would run; `Cluster` implements it with locks.
public typealias UnitGate = (RunUnit) throws -> UnitLease?

/// A held claim on a unit. `progress` lets the holder publish where the unit is.
public protocol UnitLease: AnyObject {
    func progress(_ p: RunProgress)
    func release()
}

/// Where a unit stands in a run directory, judged from its files alone (a claim held by a
/// live process is `Cluster`'s to add).
public enum StoredUnitState: String, Sendable, Codable {
    case pending, interrupted, finished
}

extension RunStore {
    /// The unit's state from its checkpoint (iterative) or records file (TV-PGD).
    public func storedState(of unit: RunUnit, spec: ExperimentSpec) -> StoredUnitState {
        // A checkpoint without records: stopped in dense training, or a stopped TV-PGD unit.
        let stopped = FileManager.default.fileExists(atPath: directory.appendingPathComponent("checkpoints/\(unit.name).ckpt").path)
        if spec.tvpgd != nil {
            let url = directory.appendingPathComponent("records/\(unit.name).jsonl")
            return FileManager.default.fileExists(atPath: url.path) ? .finished : stopped ? .interrupted : .pending
        }
        guard let cycle = finishedCycle(of: unit) else { return stopped ? .interrupted : .pending }
        return cycle >= spec.pruning.cycles ? .finished : .interrupted
    }

    /// The last finished cycle of an iterative unit, counted from its records (cheap, unlike
    /// decoding the checkpoint; the records are written right after it). nil: none yet.
    public func finishedCycle(of unit: RunUnit) -> Int? {
        let n = recordLines(of: unit).count
        return n > 0 ? n - 1 : nil
    }

    /// The stored records of one unit (iterative records or TV-PGD records as JSON objects).
    public func recordLines(of unit: RunUnit) -> [Data] {
        let url = directory.appendingPathComponent("records/\(unit.name).jsonl")
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return data.split(separator: 0x0A).map { Data($0) }
    }
}

extension RunStore {
    /// Creates the run directory with `spec.json` (refusing one that holds another experiment),
    /// as the runners do before their first unit: for tools that prepare a study elsewhere.
    public func prepare(for spec: ExperimentSpec) throws { try claim(for: spec) }
}
