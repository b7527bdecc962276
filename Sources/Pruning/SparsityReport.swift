import NN
import Tensor

/// Remaining weights counted from the masks (SPEC §1: `lambda_m = 100 (1 - p)^m`).
///
/// It counts the parameters it is given. The default selection is every parameter with
/// `prunable` set, including ones left out of pruning (e.g. a dense output layer), which
/// is how the papers arrive at values such as 5.72 instead of 5.50.
public struct SparsityReport: Sendable, Equatable, Codable {
    /// One parameter's counts.
    public struct Layer: Sendable, Equatable, Codable {
        public let name: String
        /// Entries of the parameter.
        public let total: Int
        /// Entries its mask keeps.
        public let remaining: Int
        public var pruned: Int { total - remaining }
        /// `100 * remaining / total` (100 for an empty tensor).
        public var percentRemaining: Double { total == 0 ? 100 : 100 * Double(remaining) / Double(total) }
    }

    /// Per selected parameter, in order.
    public let layers: [Layer]
    public var total: Int { layers.reduce(0) { $0 + $1.total } }
    public var remaining: Int { layers.reduce(0) { $0 + $1.remaining } }
    /// The papers' lambda.
    public var percentRemaining: Double { total == 0 ? 100 : 100 * Double(remaining) / Double(total) }
    /// `1 - remaining / total`, as a fraction.
    public var sparsity: Double { 1 - percentRemaining / 100 }

    public init(layers: [Layer]) { self.layers = layers }

    /// Counts the masks of the selected parameters (by default every prunable one).
    public init(parameters: [Parameter], selection: PrunableSelection = .all) {
        layers = selection.select(parameters).map {
            Layer(name: $0.name, total: $0.count, remaining: $0.unprunedCount)
        }
    }

    /// The counts of the parameter named `name`.
    public subscript(name: String) -> Layer? { layers.first { $0.name == name } }
}
