/// The TV-PGD part of a spec (`method: tv-pgd`, SPEC §6): one-shot, gradual and cyclical
/// magnitude pruning compared at the same total budget, for each target sparsity.
///
///     method: tv-pgd
///     tvpgd:
///       iterations: 6000            # total budget T of every method
///       dense_iterations: 2000      # shared dense pre-training (per seed)
///       dt: 20                      # mask update interval
///       targets: [0.9, 0.95, 0.98]
///       scope: layerwise            # or global
///       lr: 0.01                    # restarts every cycle, divided by 10 at lr_drop of it
///       lr_drop: 0.75
///       methods:
///         - {name: one-shot, kind: one-shot}
///         - {name: gradual, kind: gradual, pruning_fraction: 0.8}
///         - {name: cyclical, kind: cyclical, cycles: 3, later_init_fraction: 0.5, ramp_fraction: 0.8}
public struct TVPGDSpec: Codable, Equatable, Sendable {
    public struct Method: Codable, Equatable, Sendable {
        public var name: String
        /// one-shot | gradual | cyclical
        public var kind: String
        /// gradual: the cubic runs over this fraction of T.
        public var pruningFraction = 0.8
        /// cyclical: k, the fraction of the target each later cycle starts from, and the
        /// fraction of a cycle its cubic ramp takes.
        public var cycles = 3
        public var laterInitFraction = 0.5
        public var rampFraction = 0.8
        enum CodingKeys: String, CodingKey {
            case name, kind, pruningFraction = "pruning_fraction", cycles
            case laterInitFraction = "later_init_fraction", rampFraction = "ramp_fraction"
        }
        public init(name: String, kind: String) {
            self.name = name
            self.kind = kind
        }
    }

    public var iterations = 3000
    public var denseIterations = 1000
    public var dt = 10
    public var targets: [Double] = [0.9]
    public var scope = "layerwise"
    public var lr = 0.01
    public var lrDrop = 0.75
    public var methods: [Method] = []

    enum CodingKeys: String, CodingKey {
        case iterations, denseIterations = "dense_iterations", dt, targets, scope, lr, lrDrop = "lr_drop", methods
    }

    public init() {}

    public static let kinds = ["one-shot", "gradual", "cyclical"]
}
