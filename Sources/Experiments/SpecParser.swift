import Foundation
import NN
import Schedules

/// Reads an experiment YAML strictly: unknown keys, wrong types and impossible values
/// are rejected before any training, each naming the key and line (issue: bad input).
public enum SpecParser {
    /// Reads and validates the YAML spec at `path`; errors name the file and key at fault.
    public static func load(path: String) throws -> ExperimentSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(file: path, line: nil, key: "", message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses and validates a YAML spec; `file` names it in errors.
    public static func parse(_ text: String, file: String = "<spec>") throws -> ExperimentSpec {
        let root = try SpecNode.parse(text, file: file)
        var spec = ExperimentSpec(name: try root.required("name").string())
        guard spec.name.range(of: "^[A-Za-z0-9._-]+$", options: .regularExpression) != nil else {
            throw root.child("name")!.error("use letters, digits, '.', '_' and '-' only (it names the run directory)")
        }
        if let d = root.child("data") { spec.data = try data(d.mapping()) }
        if let m = root.child("model") {
            try readModel(m, into: &spec)
            guard ModelZoo.names.contains(spec.model) else {
                throw m.error("unknown model '\(spec.model)' (known: \(ModelZoo.names.joined(separator: ", ")))")
            }
        }
        if let o = root.child("optimizer") { spec.optimizer = try optimizer(o.mapping()) }
        if let t = root.child("training") { spec.training = try training(t.mapping()) }
        if spec.training.denseIterations == 0, spec.modelWeights == nil {
            throw root.child("training")!.child("dense_iterations")!.error("0 (evaluate cycle 0 without training) needs model: {weights: FILE}")
        }
        if let m = root.child("method") {
            spec.method = try m.string()
            guard ["iterative", "tv-pgd"].contains(spec.method) else { throw m.error("unknown method '\(spec.method)' (known: iterative, tv-pgd)") }
        }
        if let s = root.child("seeds") {
            spec.seeds = try s.list().map { n in
                let v = try n.int()
                guard v >= 0 else { throw n.error("seeds must be non-negative") }
                return UInt64(v)
            }
            guard !spec.seeds.isEmpty, Set(spec.seeds).count == spec.seeds.count else {
                throw s.error("list one or more distinct seeds")
            }
        }
        if let d = root.child("diagnostics") { spec.diagnostics = try d.bool() }
        if let o = root.child("output") { spec.output = try output(o.mapping()) }
        if spec.method == "tv-pgd" {
            spec.tvpgd = try tvpgd(try root.required("tvpgd").mapping())
            if let p = root.child("pruning") {
                let n = try p.mapping()
                spec.pruning.exclude = try excludeOnly(n)
                if let problem = ExcludeNames.problem(spec.pruning.exclude, model: spec.model) {
                    throw (n.child("exclude") ?? n).error(problem)
                }
            }
            try root.finish()
            return spec
        }
        if let p = root.child("pruning") {
            let n = try p.mapping()
            spec.pruning = try pruning(n)
            // Checked against the model's parameter names here, before anything trains.
            if let problem = ExcludeNames.problem(spec.pruning.exclude, model: spec.model) {
                throw (n.child("exclude") ?? n).error(problem)
            }
        }
        let schedulesNode = try root.required("schedules")
        // Each entry may expand into several (an S-Cyc sensitivity sweep); keep its node for errors.
        var entries: [(ScheduleSpec, SpecNode)] = []
        for node in try schedulesNode.list() {
            entries += try scheduleEntries(node.mapping()).map { ($0, node) }
        }
        guard !entries.isEmpty else { throw schedulesNode.error("list at least one schedule") }
        var names = Set<String>()
        for (s, node) in entries where !names.insert(s.name).inserted {
            throw node.error("duplicate schedule name '\(s.name)'")
        }
        spec.schedules = entries.map(\.0)
        try root.finish()
        try validateAgainstBudget(spec, nodes: entries.map(\.1), root: root)
        return spec
    }

    static func data(_ n: SpecNode) throws -> ExperimentSpec.DataSpec {
        var d = ExperimentSpec.DataSpec()
        if let v = n.child("dataset") {
            d.dataset = try v.string()
            guard DataSource.names.contains(d.dataset) else {
                throw v.error("unknown dataset '\(d.dataset)' (known: \(DataSource.names.joined(separator: ", ")))")
            }
        }
        if let v = n.child("split") {
            d.split = try v.string()
            guard d.split == "standard" || DataSource.parseFractions(d.split) != nil else {
                throw v.error("use standard or train/val/test percentages such as 60/20/20")
            }
        }
        if let v = n.child("validation_fraction") {
            d.validationFraction = try v.double()
            guard d.validationFraction > 0, d.validationFraction < 1 else { throw v.error("must be in (0, 1)") }
        }
        d.dataDir = try n.optional("data_dir") { try $0.string() }
        if let v = n.child("augment") { d.augment = try v.bool() }
        try n.finish()
        return d
    }

    static func optimizer(_ n: SpecNode) throws -> ExperimentSpec.OptimizerSpec {
        var o = ExperimentSpec.OptimizerSpec()
        if let v = n.child("name") {
            o.name = try v.string()
            guard ["sgd", "adam", "rmsprop"].contains(o.name) else { throw v.error("unknown optimizer '\(o.name)' (known: sgd, adam, rmsprop)") }
            if o.name != "sgd" { o.momentum = 0 }
        }
        if let v = n.child("momentum") {
            o.momentum = try v.double()
            guard o.momentum >= 0, o.momentum < 1 else { throw v.error("must be in [0, 1)") }
        }
        if let v = n.child("weight_decay") {
            o.weightDecay = try v.double()
            guard o.weightDecay >= 0 else { throw v.error("must be non-negative") }
        }
        if let v = n.child("nesterov") { o.nesterov = try v.bool() }
        try n.finish()
        return o
    }

    static func training(_ n: SpecNode) throws -> ExperimentSpec.TrainingSpec {
        var t = ExperimentSpec.TrainingSpec()
        func positive(_ key: String) throws -> Int? {
            guard let v = n.child(key) else { return nil }
            let x = try v.int()
            guard x > 0 else { throw v.error("must be positive") }
            return x
        }
        t.batchSize = try positive("batch_size") ?? t.batchSize
        t.iterationsPerCycle = try positive("iterations_per_cycle") ?? t.iterationsPerCycle
        // 0 (only with given weights, checked by the caller) evaluates cycle 0 without training.
        if let v = n.child("dense_iterations") {
            t.denseIterations = try v.int()
            guard t.denseIterations! >= 0 else { throw v.error("must be non-negative") }
        }
        t.evalEvery = try positive("eval_every") ?? t.evalEvery
        if let s = n.child("dense_schedule") {
            t.denseSchedule = try schedule(s.mapping(), named: false)
            if ["finetune", "lr-rewind", "oracle", "scyc", "table"].contains(t.denseSchedule!.kind) {
                throw s.error("the dense schedule must be a plain shape, not '\(t.denseSchedule!.kind)'")
            }
        }
        try n.finish()
        return t
    }

    static func pruning(_ n: SpecNode) throws -> ExperimentSpec.PruningSpec {
        var p = ExperimentSpec.PruningSpec()
        let criteria = ["magnitude", "gradient", "random", "lamp", "lookahead", "imp", "l1-filter", "random-filter"]
        if let v = n.child("criterion") {
            p.criterion = try v.string()
            guard criteria.contains(p.criterion) else { throw v.error("unknown criterion '\(p.criterion)' (known: \(criteria.joined(separator: ", ")))") }
        }
        if let v = n.child("scope") {
            p.scope = try v.string()
            guard ["global", "layerwise"].contains(p.scope) else { throw v.error("unknown scope '\(p.scope)' (known: global, layerwise)") }
        }
        if p.criterion == "lamp" || p.criterion == "imp", p.scope != "global" {
            throw (n.child("scope") ?? n).error("\(p.criterion) ranks globally; use scope: global")
        }
        if p.criterion == "lookahead" || p.criterion.hasSuffix("-filter"), p.scope != "layerwise" {
            throw (n.child("scope") ?? n).error("\(p.criterion) ranks per layer; use scope: layerwise")
        }
        if let v = n.child("rate") {
            p.rate = try v.double()
            guard p.rate > 0, p.rate < 1 else { throw v.error("must be in (0, 1), got \(p.rate)") }
        }
        if let v = n.child("cycles") {
            p.cycles = try v.int()
            guard p.cycles >= 0 else { throw v.error("must be non-negative") }
        }
        if let v = n.child("rewind") {
            p.rewind = try v.string()
            guard p.rewind == "none" || p.rewind == "init" || rewindIteration(p.rewind) != nil else {
                throw v.error("use none, init or iteration:K")
            }
        }
        if p.criterion == "imp", p.rewind == "none" { p.rewind = "init" }
        if let v = n.child("gradient_batches") {
            p.gradientBatches = try v.int()
            guard p.gradientBatches > 0 else { throw v.error("must be positive") }
        }
        if let v = n.child("exclude") { p.exclude = try v.list().map { try $0.string() } }
        try n.finish()
        return p
    }

    /// TV-PGD's `pruning` section: only `exclude` (the layers left dense) applies; criterion,
    /// rate and cycles belong to iterative pruning and are rejected rather than ignored.
    static func excludeOnly(_ n: SpecNode) throws -> [String] {
        let exclude = try n.child("exclude").map { try $0.list().map { try $0.string() } } ?? []
        do { try n.finish() } catch let e as SpecError {
            throw SpecError(file: e.file, line: e.line, key: e.key, message: "method tv-pgd reads only pruning.exclude")
        }
        return exclude
    }

    static func tvpgd(_ n: SpecNode) throws -> TVPGDSpec {
        var t = TVPGDSpec()
        func positive(_ key: String) throws -> Int? {
            guard let v = n.child(key) else { return nil }
            let x = try v.int()
            guard x > 0 else { throw v.error("must be positive, got \(x)") }
            return x
        }
        func fraction(_ v: SpecNode, open: Bool = true) throws -> Double {
            let x = try v.double()
            guard x > 0, open ? x < 1 : x <= 1 else { throw v.error(open ? "must be in (0, 1), got \(x)" : "must be in (0, 1], got \(x)") }
            return x
        }
        t.iterations = try positive("iterations") ?? t.iterations
        if let v = n.child("dense_iterations") {
            t.denseIterations = try v.int()
            guard t.denseIterations >= 0 else { throw v.error("must be non-negative") }
        }
        t.dt = try positive("dt") ?? t.dt
        if let v = n.child("targets") {
            t.targets = try v.list().map { item in
                let s = try item.double()
                guard s >= 0, s < 1 else { throw item.error("target sparsity must be in [0, 1), got \(s)") }
                return s
            }
            guard !t.targets.isEmpty else { throw v.error("list at least one target sparsity") }
        }
        if let v = n.child("scope") {
            t.scope = try v.string()
            guard ["global", "layerwise"].contains(t.scope) else { throw v.error("unknown scope '\(t.scope)' (known: global, layerwise)") }
        }
        if let v = n.child("lr") {
            t.lr = try v.double()
            guard t.lr > 0 else { throw v.error("must be positive, got \(t.lr)") }
        }
        if let v = n.child("lr_drop") { t.lrDrop = try fraction(v, open: false) }
        let list = try n.required("methods")
        var names = Set<String>()
        t.methods = try list.list().map { item in
            let m = try item.mapping()
            let kindNode = try m.required("kind")
            var method = TVPGDSpec.Method(name: try m.required("name").string(), kind: try kindNode.string())
            guard TVPGDSpec.kinds.contains(method.kind) else {
                throw kindNode.error("unknown method kind '\(method.kind)' (known: \(TVPGDSpec.kinds.joined(separator: ", ")))")
            }
            guard names.insert(method.name).inserted else { throw item.error("duplicate method name '\(method.name)'") }
            if let v = m.child("pruning_fraction") { method.pruningFraction = try fraction(v, open: false) }
            if let v = m.child("cycles") {
                method.cycles = try v.int()
                guard method.cycles > 0 else { throw v.error("k must be positive, got \(method.cycles)") }
                guard method.cycles <= t.iterations else { throw v.error("more cycles than iterations") }
            }
            if let v = m.child("later_init_fraction") {
                method.laterInitFraction = try v.double()
                guard method.laterInitFraction >= 0, method.laterInitFraction <= 1 else { throw v.error("must be in [0, 1]") }
            }
            if let v = m.child("ramp_fraction") { method.rampFraction = try fraction(v, open: false) }
            try m.finish()
            return method
        }
        guard !t.methods.isEmpty else { throw list.error("list at least one method") }
        try n.finish()
        return t
    }

    static func rewindIteration(_ s: String) -> Int? {
        guard s.hasPrefix("iteration:"), let k = Int(s.dropFirst("iteration:".count)), k >= 0 else { return nil }
        return k
    }

    static func schedule(_ n: SpecNode, named: Bool = true) throws -> ScheduleSpec {
        let kindNode = try n.required("kind")
        let kind = try kindNode.string()
        guard ScheduleSpec.kinds.contains(kind) else {
            throw kindNode.error("unknown schedule kind '\(kind)' (known: \(ScheduleSpec.kinds.joined(separator: ", ")))")
        }
        var s = ScheduleSpec(name: named ? try n.required("name").string() : "dense", kind: kind)
        // A parameter the kind does not use is a mistake (a typo or the wrong kind), not a no-op.
        if let mapping = n.node.mapping, let allowed = ScheduleSpec.parameters[kind] {
            for (k, v) in mapping {
                let key = k.string ?? "?"
                guard key == "name" || key == "kind" || allowed.contains(key) else {
                    throw SpecError(file: n.file, line: v.mark?.line ?? n.line, key: "\(n.path).\(key)",
                                    message: "not a parameter of kind \(kind) (it takes: \(allowed.sorted().joined(separator: ", ")))")
                }
            }
        }
        s.lr = try n.optional("lr") { try $0.double() }
        s.peak = try n.optional("peak") { try $0.double() }
        s.minLR = try n.optional("min_lr") { try $0.double() }
        s.warmup = try n.optional("warmup") { try $0.int() }
        s.drops = try n.optional("drops") { try $0.list().map { try $0.int() } }
        s.decay = try n.optional("decay") { try $0.int() }
        s.halfPeriod = try n.optional("half_period") { try $0.int() }
        s.epsilon = try n.optional("epsilon") { try $0.double() }
        s.delta = try n.optional("delta") { try $0.double() }
        // Lists of q / beta (a sweep) are expanded by `scheduleEntries`.
        s.q = try n.optional("q") { $0.node.sequence == nil ? try $0.int() : 1 }
        s.beta = try n.optional("beta") { $0.node.sequence == nil ? try $0.double() : 5 }
        s.grid = try n.optional("grid") { try $0.list().map { try $0.double() } }
        s.peaks = try n.optional("peaks") { try $0.list().map { try $0.double() } }
        try n.finish()
        return s
    }

    /// One entry, or for `kind: scyc` with lists for `q` and/or `beta`, the sensitivity sweep
    /// (the papers' Table 8): one schedule per (q, beta) pair, named "NAME q=Q beta=B".
    static func scheduleEntries(_ n: SpecNode) throws -> [ScheduleSpec] {
        let base = try schedule(n)
        let qs = try n.child("q").flatMap { $0.node.sequence == nil ? nil : try $0.list().map { try $0.int() } }
        let betas = try n.child("beta").flatMap { $0.node.sequence == nil ? nil : try $0.list().map { try $0.double() } }
        guard qs != nil || betas != nil else { return [base] }
        guard base.kind == "scyc" else { throw n.error("only scyc schedules take lists of q or beta (a sensitivity sweep)") }
        return (qs ?? [base.q ?? 1]).flatMap { q in
            (betas ?? [base.beta ?? 5]).map { beta in
                var s = base
                s.q = q
                s.beta = beta
                s.name = "\(base.name) q=\(q) beta=\(String(format: "%g", beta))"
                return s
            }
        }
    }

    /// Builds every schedule for the budget so parameter errors (negative peak, q < 0,
    /// drops beyond the budget) surface now, naming the entry and its line.
    static func validateAgainstBudget(_ spec: ExperimentSpec, nodes: [SpecNode], root: SpecNode) throws {
        for (s, node) in zip(spec.schedules, nodes) {
            do {
                let plan = try SchedulePlan(s, spec: spec)
                try plan.validate(cycles: spec.pruning.cycles)
            } catch let e as ScheduleError {
                throw node.error("schedule '\(s.name)': \(e)")
            } catch let e as SchedulePlanError {
                throw node.error("schedule '\(s.name)': \(e)")
            }
        }
        if let dense = spec.training.denseSchedule {
            do { try SchedulePlan.shape(dense, budget: spec.training.denseBudget).validate() } catch let e as ScheduleError {
                throw (root.child("training")?.child("dense_schedule") ?? root).error("\(e)")
            }
        }
        // Iteration K's weights are captured before step K of dense training, so K must be one of its steps.
        if let k = rewindIteration(spec.pruning.rewind), k >= spec.training.denseBudget {
            throw (root.child("pruning")?.child("rewind") ?? root).error(
                "iteration \(k) is outside the dense training's iterations [0, \(spec.training.denseBudget)): late rewinding would capture nothing")
        }
    }
}
