import NN
import Tensor

/// Where the lowest scores are taken from (SPEC §2).
public enum PruningScope: String, Sendable, CaseIterable, Codable {
    /// The lowest fraction of all remaining prunable weights of the network at once.
    case global
    /// The same fraction of each layer's remaining weights (the TV-PGD paper's "local").
    case layerwise

    /// The cyclical-pruning paper's name for `layerwise`.
    public static var local: PruningScope { .layerwise }
}

/// How an unpruned prunable weight is scored; the lowest scores are removed (SPEC §2).
public enum PruningCriterion: Sendable {
    /// `|w|`.
    case magnitude
    /// Saliency `|w * g|`, with `g` the gradient the caller accumulated over several
    /// batches at the end of the cycle's training, keyed by `Parameter.name`. Sum or
    /// mean makes no difference: one positive factor cannot change the ranking.
    case gradient(accumulated: [String: Tensor])
    /// Uniform random scores from `RNG(seed:stream: "pruning.random")`, drawn for every
    /// entry in parameter order (pruned ones included) so a weight's score depends only
    /// on the seed. Removing the lowest-scored survivors is a uniform random choice;
    /// pass a different seed per cycle for fresh draws.
    case random(seed: UInt64)
    /// Layer-adaptive magnitude (Lee et al. 2021): per layer, with the unpruned weights
    /// sorted ascending by `|w|`, the one at index `u` scores `w_u^2 / sum_{v>=u} w_v^2`.
    /// Global only: ranked within one layer it orders exactly like magnitude.
    case lamp
    /// Lookahead pruning (Park et al. 2020) over a chain of consecutive weight tensors
    /// `W_1..W_L` ([out, in] or [out, in, kh, kw]):
    /// `|W_i[j,k]| * ||W_{i-1}[k,:]|| * ||W_{i+1}[:,j]||`, a missing neighbour counting 1.
    /// `chain == nil` takes, in order, every parameter of rank >= 2 passed to `prune`
    /// (pruned or not, selected or not: a dense output layer is still a neighbour).
    /// Models that are not a plain chain (residual blocks, embeddings) must pass it.
    /// Layerwise only, as in the paper.
    case lookahead(chain: [Parameter]? = nil)

    /// A short name for messages and records.
    public var name: String {
        switch self {
        case .magnitude: return "magnitude"
        case .gradient: return "gradient"
        case .random: return "random"
        case .lamp: return "lamp"
        case .lookahead: return "lookahead"
        }
    }

    /// Whether the criterion is defined for `scope` (LAMP is global only, lookahead layerwise only).
    public func supports(_ scope: PruningScope) -> Bool {
        switch self {
        case .magnitude, .gradient, .random: return true
        case .lamp: return scope == .global
        case .lookahead: return scope == .layerwise
        }
    }
}

/// Which parameters may lose weights. The default takes every parameter whose
/// `prunable` flag is set (Linear / Conv weights); `excluding` leaves e.g. the output
/// layer dense while it still counts in a `SparsityReport` over all prunable weights.
public struct PrunableSelection: Sendable {
    /// Whether a parameter is selected.
    public let includes: @Sendable (Parameter) -> Bool

    /// A selection by any rule of your own.
    public init(_ includes: @escaping @Sendable (Parameter) -> Bool) { self.includes = includes }

    /// Every parameter whose `prunable` flag is set.
    public static let all = PrunableSelection { $0.prunable }

    /// Prunable parameters except those named.
    public static func excluding(_ names: Set<String>) -> PrunableSelection {
        PrunableSelection { $0.prunable && !names.contains($0.name) }
    }

    /// Exactly the named parameters (whatever their `prunable` flag says).
    public static func only(_ names: Set<String>) -> PrunableSelection {
        PrunableSelection { names.contains($0.name) }
    }

    /// The selected parameters, in their order.
    public func select(_ parameters: [Parameter]) -> [Parameter] { parameters.filter(includes) }
}

/// Count removed from `n` remaining entries at rate `p`: `round(p * n)`, halves away from
/// zero (so 0.2 of 12 removes 2, 0.5 of 5 removes 3). Rounding per cycle, not truncation,
/// keeps the remaining count within half a weight per round of `(1 - p)^m`.
@inlinable
public func pruneCount(rate p: Double, of n: Int) -> Int {
    Swift.min(n, Swift.max(0, Int((p * Double(n)).rounded(.toNearestOrAwayFromZero))))
}
