import Schedules

/// A schedule entry made concrete: which peaks cycle `m` tries (one, or the oracle's
/// grid) and the per-iteration schedule for a given peak. Every schedule restarts at
/// t = 0 each cycle (SPEC §3: all schedules are rewound every cycle).
///
/// Cycle 0 (dense training) runs `denseBudget` iterations. Without a shared
/// `training.dense_schedule` it uses the entry's own shape stretched to that budget: the
/// iterations the entry gives (warmup, drops, linear `decay`, cyclical `half_period`) are
/// scaled by `denseBudget / budget` and rounded; shapes defined by fractions of the budget
/// (cosine, one-cycle, slr) simply take the dense budget. To give the dense phase other
/// iterations, set `training.dense_schedule`.
public struct SchedulePlan {
    public let spec: ScheduleSpec
    /// The per-iteration shape that peak policies re-peak each cycle (cycles m >= 1).
    private let shape: (any PeakScalable)?
    /// The same shape stretched to the dense budget, for cycle 0 when no dense schedule is shared.
    private let denseShape: (any PeakScalable)?
    private let policy: PeakPolicy
    /// Dense-relative strategies (FT, LRW): the schedule for retraining cycles m >= 1.
    private let retrain: (any LearningRateSchedule)?
    /// Shared dense schedule for cycle 0, when the spec names one.
    private let dense: (any PeakScalable)?
    /// 0 when cycle 0 only evaluates given weights (`dense_iterations: 0`): no schedule runs then.
    private let denseBudget: Int

    init(_ s: ScheduleSpec, spec: ExperimentSpec) throws {
        try self.init(s, rate: spec.pruning.rate, budget: spec.training.iterationsPerCycle,
                      denseSchedule: spec.training.denseSchedule, denseBudget: spec.training.denseBudget)
    }

    /// `rate` is the pruning rate p (S-Cyc's peak depends on it); `budget` the iterations per cycle.
    public init(_ s: ScheduleSpec, rate: Double, budget: Int, denseSchedule: ScheduleSpec? = nil, denseBudget: Int? = nil) throws {
        self.spec = s
        let denseBudget = denseBudget ?? budget
        self.denseBudget = denseBudget
        dense = try denseSchedule.map { try Self.shape($0, budget: denseBudget) }
        switch s.kind {
        case "finetune", "lr-rewind":
            guard let dense else { throw SchedulePlanError("'\(s.kind)' retrains relative to the dense training: set training.dense_schedule") }
            shape = nil
            denseShape = nil
            policy = .fixed(dense.peak)
            retrain = s.kind == "finetune"
                ? try ConstantSchedule.fineTuning(after: dense, originalLength: denseBudget, budget: budget)
                : Self.rewound(dense, originalLength: denseBudget, budget: budget)
        case "scyc", "oracle", "table":
            let first: Double
            switch s.kind {
            case "scyc":
                let peak = SCycPeak(epsilon: try Self.need(s.epsilon, "epsilon"), delta: try Self.need(s.delta, "delta"),
                                    q: s.q ?? 1, beta: s.beta ?? 5, pruningRate: rate)
                policy = .sCyc(peak)
                first = peak.epsilon
            case "oracle":
                let grid = try s.grid ?? PeakPolicy.logGrid(from: 1e-4, to: 1e-1, perDecade: 3)
                policy = .oracle(grid: grid)
                first = grid.first ?? 0.1
            default:
                let peaks = try Self.need(s.peaks, "peaks")
                policy = .table(peaks)
                first = peaks.first ?? 0.1
            }
            let stretched = Self.stretched(s, from: budget, to: denseBudget)
            shape = WarmupSchedule(a: first, b: s.warmup ?? 0, drops: s.drops ?? [], budget: budget)
            denseShape = WarmupSchedule(a: first, b: stretched.warmup ?? 0, drops: stretched.drops ?? [], budget: denseBudget)
            retrain = nil
        default:
            let plain = try Self.shape(s, budget: budget)
            shape = plain
            denseShape = try Self.shape(Self.stretched(s, from: budget, to: denseBudget), budget: denseBudget)
            policy = .fixed(plain.peak)
            retrain = nil
        }
    }

    /// The entry with every iteration count it gives scaled from `budget` to `target`
    /// (rounded to the nearest iteration), so cycle 0 keeps the shape of a retraining cycle.
    static func stretched(_ s: ScheduleSpec, from budget: Int, to target: Int) -> ScheduleSpec {
        guard budget != target else { return s }
        let scale = { (x: Int) -> Int in Int((Double(x) * Double(target) / Double(budget)).rounded()) }
        var out = s
        out.warmup = s.warmup.map(scale)
        out.drops = s.drops?.map(scale)
        out.decay = s.decay.map(scale)
        out.halfPeriod = s.halfPeriod.map(scale)
        return out
    }

    /// A plain per-iteration shape from its spec entry (SPEC §4 parameter names in comments).
    static func shape(_ s: ScheduleSpec, budget: Int) throws -> any PeakScalable {
        let peak = { () throws -> Double in try need(s.peak ?? s.lr, "peak (or lr)") }
        switch s.kind {
        case "constant": return ConstantSchedule(a: try need(s.lr ?? s.peak, "lr"), budget: budget)
        case "linear": return LinearDecaySchedule(a: try peak(), b: s.decay ?? budget, budget: budget)
        case "cyclical":
            return TriangularSchedule(a: try need(s.minLR, "min_lr"), b: try peak(), c: try need(s.halfPeriod, "half_period"), budget: budget)
        case "warmup": return WarmupSchedule(a: try peak(), b: s.warmup ?? 0, drops: s.drops ?? [], budget: budget)
        case "cosine": return CosineSchedule(a: try peak(), T: budget, warmup: s.warmup ?? 0)
        case "one-cycle": return OneCycleSchedule(minLR: try need(s.minLR, "min_lr"), maxLR: try peak(), budget: budget)
        case "slr": return ScaledRestartSchedule(peak: try peak(), budget: budget, warmupStart: s.minLR ?? 0)
        default: throw SchedulePlanError("kind '\(s.kind)' is not a plain schedule shape")
        }
    }

    /// LR rewinding of `original` (opens the existential for the generic wrapper).
    static func rewound<S: LearningRateSchedule>(_ original: S, originalLength: Int, budget: Int) -> any LearningRateSchedule {
        RewoundSchedule(original: original, originalLength: originalLength, budget: budget)
    }

    static func need<T>(_ v: T?, _ key: String) throws -> T {
        guard let v else { throw SchedulePlanError("missing \(key)") }
        return v
    }

    public var isOracle: Bool { if case .oracle = policy { return true }; return false }

    /// The peaks cycle `m` trains: the oracle's whole grid, else exactly one.
    public func candidates(cycle m: Int) throws -> [Double] {
        if m == 0, let dense { return [dense.peak] }
        if retrain != nil { return [try policy.candidates(cycle: 0)[0]] }
        return try policy.candidates(cycle: m)
    }

    /// The schedule of cycle `m` trained at `peak` (one of `candidates(cycle:)`).
    public func schedule(cycle m: Int, peak: Double) throws -> any LearningRateSchedule {
        if m == 0, let dense { return dense.withPeak(peak) }
        if m == 0, let denseShape { return denseShape.withPeak(peak) }
        // FT / LRW always have a dense schedule, so here m >= 1.
        if let retrain { return retrain }
        return shape!.withPeak(peak)
    }

    /// The peak LR of cycle `m` (the largest LR its schedule reaches); the oracle has none.
    public func peak(cycle m: Int) throws -> Double {
        let peaks = try candidates(cycle: m)
        guard peaks.count == 1 else { throw SchedulePlanError("the oracle chooses its peak by search, per cycle") }
        let s = try schedule(cycle: m, peak: peaks[0])
        return (0..<(s.budget ?? 1)).reduce(0.0) { max($0, s.lr(at: $1)) }
    }

    /// The LR at every iteration of cycle `m`.
    public func trace(cycle m: Int, budget: Int) throws -> [Double] {
        let peaks = try candidates(cycle: m)
        guard peaks.count == 1 else { throw SchedulePlanError("the oracle chooses its peak by search, per cycle") }
        return try schedule(cycle: m, peak: peaks[0]).trace(budget)
    }

    /// Checks every cycle's schedule against that cycle's own budget (cycle 0: the dense
    /// budget), so a drop that fits a retraining cycle but not the dense phase is caught.
    public func validate(cycles: Int) throws {
        try dense?.validate()
        try retrain?.validate()
        if let shape { try shape.validate() }
        try policy.validate(cycles: cycles)
        for m in 0...cycles where m > 0 || denseBudget > 0 {
            for p in try candidates(cycle: m) {
                do { try schedule(cycle: m, peak: p).validate() } catch let e as ScheduleError where m == 0 && dense == nil {
                    throw SchedulePlanError("cycle 0 runs training.dense_iterations, so the shape is stretched to that budget: \(e); "
                                            + "set training.dense_schedule to give the dense phase its own iterations")
                }
            }
        }
    }
}

public struct SchedulePlanError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
