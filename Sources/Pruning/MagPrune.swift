import NN
import Tensor

/// The mask step of time-varying projected gradient descent (SPEC §6): keep the
/// largest-magnitude `1 - sparsity` fraction of the given parameters, per layer
/// (`.layerwise`, the paper's "local") or over all of them (`.global`).
///
/// Unlike `prune`, it ranks *every* entry by its current magnitude, ignoring earlier
/// masks, so a weight that grew back during a dense update may be kept again; the count
/// pruned is `round(sparsity * n)` and ties go to the lower position, as in `prune`.
/// Returns one 0/1 mask per parameter (in order) without installing it: TV-PGD trains
/// densely and multiplies by the mask itself. To install, call `setMask` — but a masked
/// parameter's pruned weights stay frozen at 0 under the optimizer, so they cannot regrow.
public func magprune(_ parameters: [Parameter], sparsity: Double,
                     scope: PruningScope = .layerwise) throws -> [Tensor] {
    guard sparsity >= 0, sparsity <= 1 else { throw PruningError.invalidSparsity(sparsity) }
    let layers = parameters.map {
        ScoredLayer(name: $0.name, scores: PruningScores.magnitude($0), eligible: nil,
                    keep: Tensor(shape: $0.value.shape, repeating: 1))
    }
    switch scope {
    case .global: try LowestSelection.removeLowest(layers, rate: sparsity)
    case .layerwise: for l in layers { try LowestSelection.removeLowest([l], rate: sparsity) }
    }
    return layers.map(\.keep)
}
