import Foundation
import Pruning

/// An experiment as written in YAML (see examples/). `SpecParser` fills it strictly;
/// its canonical JSON (sorted keys) is what the run directory's hash is taken over.
public struct ExperimentSpec: Codable, Equatable, Sendable {
    public struct DataSpec: Codable, Equatable, Sendable {
        public var dataset = "fashion-mnist"
        /// "standard" (the dataset's own train/test, validation held out of train) or "60/20/20" (pooled).
        public var split = "standard"
        public var validationFraction = 0.1
        /// Where the files are; not part of the hash (moving data does not change results).
        public var dataDir: String?
        public var augment = false
        enum CodingKeys: String, CodingKey { case dataset, split, validationFraction = "validation_fraction", augment }
    }

    public struct OptimizerSpec: Codable, Equatable, Sendable {
        public var name = "sgd"
        public var momentum = 0.9
        public var weightDecay = 1e-4
        public var nesterov = false
        enum CodingKeys: String, CodingKey { case name, momentum, weightDecay = "weight_decay", nesterov }
    }

    public struct TrainingSpec: Codable, Equatable, Sendable {
        public var batchSize = 128
        /// Retraining budget of each pruning cycle, in iterations.
        public var iterationsPerCycle = 1000
        /// Budget of the dense training (cycle 0); defaults to `iterationsPerCycle`.
        public var denseIterations: Int?
        public var evalEvery = 200
        /// Optional schedule for the dense training shared by every entry (needed by
        /// `finetune` and `lr-rewind`, which retrain relative to it).
        public var denseSchedule: ScheduleSpec?
        enum CodingKeys: String, CodingKey {
            case batchSize = "batch_size", iterationsPerCycle = "iterations_per_cycle"
            case denseIterations = "dense_iterations", evalEvery = "eval_every", denseSchedule = "dense_schedule"
        }
        public var denseBudget: Int { denseIterations ?? iterationsPerCycle }
    }

    public struct PruningSpec: Codable, Equatable, Sendable {
        public var criterion = "magnitude"
        public var scope = "global"
        public var rate = 0.2
        public var cycles = 10
        /// "none", "init" (IMP: rewind survivors to initialisation) or "iteration:K" (late rewinding).
        public var rewind = "none"
        /// Batches over which the gradient criterion accumulates dL/dw.
        public var gradientBatches = 10
        /// Parameter names (or name prefixes) left dense, e.g. the output layer "fc4".
        public var exclude: [String] = []
        enum CodingKeys: String, CodingKey {
            case criterion, scope, rate, cycles, rewind, gradientBatches = "gradient_batches", exclude
        }
    }

    public var name: String
    /// "iterative" (prune p per cycle, retrain; SPEC §1–§5) or "tv-pgd" (SPEC §6).
    public var method = "iterative"
    public var tvpgd: TVPGDSpec?
    public var data = DataSpec()
    public var model = "mlp"
    /// A safetensors file to start from instead of a seeded initialisation (`model: {weights:}`).
    public var modelWeights: String?
    /// What a run keeps besides records and checkpoints (nil: nothing; absent from the
    /// canonical JSON then, so older specs keep their hash).
    public var output: OutputSpec?
    public var optimizer = OptimizerSpec()
    public var training = TrainingSpec()
    public var pruning = PruningSpec()
    public var schedules: [ScheduleSpec] = []
    public var seeds: [UInt64] = [1]
    /// Record SPEC §7's diagnostics (gradient, activation and update distributions, EAA, EWG)
    /// with every cycle.
    public var diagnostics = false

    public init(name: String) { self.name = name }

    /// Canonical JSON: sorted keys, so equal specs hash equally.
    public func canonicalJSON() -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return (try? enc.encode(self)) ?? Data()
    }

    /// Raised whenever a fix changes what a spec computes, so runs made before it land in a
    /// directory of their own instead of being taken as finished. 2: the round-2 review fixes
    /// (cycle 0's schedule, lambda with excluded layers, TV-PGD masks, structured units).
    public static let resultsVersion = 2

    /// Short stable hash of the resolved spec and `resultsVersion`, naming the run directory.
    public var hash: String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in Array("results-v\(Self.resultsVersion)".utf8) + canonicalJSON() { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return String(String(h, radix: 16).suffix(10))
    }
}

/// One schedule entry: a name, a kind and the kind's parameters (SPEC §3–§4).
public struct ScheduleSpec: Codable, Equatable, Sendable {
    public var name: String
    public var kind: String
    public var lr: Double?
    public var peak: Double?
    public var minLR: Double?
    public var warmup: Int?
    public var drops: [Int]?
    public var decay: Int?
    public var halfPeriod: Int?
    public var epsilon: Double?
    public var delta: Double?
    public var q: Int?
    public var beta: Double?
    public var grid: [Double]?
    public var peaks: [Double]?
    enum CodingKeys: String, CodingKey {
        case name, kind, lr, peak, minLR = "min_lr", warmup, drops, decay, halfPeriod = "half_period"
        case epsilon, delta, q, beta, grid, peaks
    }

    public init(name: String, kind: String) {
        self.name = name
        self.kind = kind
    }

    public static let kinds = ["constant", "linear", "cyclical", "warmup", "cosine", "one-cycle", "slr",
                               "scyc", "oracle", "table", "finetune", "lr-rewind"]

    /// The YAML keys each kind takes (besides name and kind); `lr` and `peak` are synonyms.
    public static let parameters: [String: Set<String>] = [
        "constant": ["lr", "peak"], "linear": ["lr", "peak", "decay"],
        "cyclical": ["lr", "peak", "min_lr", "half_period"], "warmup": ["lr", "peak", "warmup", "drops"],
        "cosine": ["lr", "peak", "warmup"], "one-cycle": ["lr", "peak", "min_lr"], "slr": ["lr", "peak", "min_lr"],
        "scyc": ["epsilon", "delta", "q", "beta", "warmup", "drops"], "oracle": ["grid", "warmup", "drops"],
        "table": ["peaks", "warmup", "drops"], "finetune": [], "lr-rewind": [],
    ]
}

extension ExperimentSpec.PruningSpec {
    /// The weights pruning may touch, for both methods: prunable ones, minus those `exclude`
    /// names (exactly, or as a prefix before a ".").
    public var selection: PrunableSelection {
        let excluded = exclude
        if excluded.isEmpty { return .all }
        return PrunableSelection { p in p.prunable && !excluded.contains { ExcludeNames.covers($0, p.name) } }
    }
}
