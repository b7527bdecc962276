import NN
import Tensor

/// How whole output filters (conv [out, in, kh, kw]) or neurons (Linear rows) are scored.
public enum FilterCriterion: Sendable {
    /// PFEC (Li et al. 2017): the L1 norm of the filter's weights; the smallest go.
    case l1Norm
    /// Uniform random per filter from `RNG(seed:stream: "pruning.randomFilter")`, drawn for
    /// every filter in parameter order so a filter's score depends only on the seed.
    case random(seed: UInt64)

    public var name: String {
        switch self {
        case .l1Norm: return "l1Norm"
        case .random: return "randomFilter"
        }
    }
}

/// Output filters removed by one structured step, per selected parameter in order.
public struct FilterPruningResult: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public let name: String
        public let remainingBefore: Int
        /// Indices along dimension 0, ascending.
        public let removedFilters: [Int]
    }
    public let layers: [Layer]
}

/// Structured, layerwise pruning: in each selected parameter, removes
/// `round(rate * remaining filters)` whole output filters (dimension 0), lowest score
/// first, ties to the lower index. A filter counts as remaining while any of its entries
/// is unpruned; its score uses the current values, pruned entries being zero.
/// A layer always keeps its best remaining filter: with `rate` ≥ 0.5 the rounding would
/// otherwise remove a layer's last filter, and the network's output would stop depending
/// on its input.
///
/// Only the weights are masked: the filter's bias and a following BatchNorm's β would
/// still emit a trained constant. `pruneUnits` removes the whole unit (bias, BatchNorm,
/// the next layer's kernels that read the channel) and is what the runner uses.
@discardableResult
public func pruneFilters(parameters: [Parameter], criterion: FilterCriterion, rate: Double,
                         selection: PrunableSelection = .all) throws -> FilterPruningResult {
    guard rate >= 0, rate <= 1 else { throw PruningError.invalidRate(rate) }
    try requireUniqueNames(parameters)
    let selected = selection.select(parameters)
    guard !selected.isEmpty else { throw PruningError.noPrunableParameters }
    for p in selected where p.value.rank < 2 || p.value.shape[0] == 0 {
        throw PruningError.notFilterShaped(parameter: p.name, shape: p.value.shape)
    }
    var rng: RNG?
    if case .random(let seed) = criterion { rng = RNG(seed: seed, stream: "pruning.randomFilter") }
    var layers: [FilterPruningResult.Layer] = []
    for p in selected {
        let filters = p.value.shape[0], size = p.count / filters
        let v = p.value.data, m = p.mask?.data
        var scores = [Float](repeating: 0, count: filters)
        var alive = [Float](repeating: 1, count: filters)
        for f in 0..<filters {
            if rng != nil {
                scores[f] = rng!.uniform()
            } else {
                var s: Float = 0
                for i in f * size ..< (f + 1) * size { s += abs(v[i]) }
                scores[f] = s
            }
            if let m {
                var any = false
                for i in f * size ..< (f + 1) * size where m[i] != 0 {
                    any = true
                    break
                }
                alive[f] = any ? 1 : 0
            }
        }
        // Rank only the remaining filters: their aliveness is the eligibility mask.
        let drop = Tensor(shape: [filters], repeating: 1)
        try alive.withUnsafeBufferPointer { a in
            let layer = ScoredLayer(name: p.name, scores: scores, eligible: a.baseAddress!, keep: drop)
            try LowestSelection.removeLowest([layer], rate: rate)
        }
        let before = alive.reduce(0) { $0 + Int($1) }
        var removed = (0..<filters).filter { alive[$0] != 0 && drop[$0] == 0 }
        if before > 0, removed.count == before {
            // The highest score, ties to the higher index: the filter ranked last for removal.
            let best = removed.max { (scores[$0], $0) < (scores[$1], $1) }!
            removed.removeAll { $0 == best }
        }
        layers.append(.init(name: p.name, remainingBefore: before, removedFilters: removed))
    }
    // Masks change only once every layer has been ranked, so an error leaves none half-pruned.
    for (p, l) in zip(selected, layers) { try maskFilters(of: p, removed: l.removedFilters) }
    return FilterPruningResult(layers: layers)
}

/// Masks whole slices along dimension 0 of `parameter` (a weight's filters, or a bias's
/// entries), keeping whatever its mask already removed.
public func maskFilters(of parameter: Parameter, removed: [Int]) throws {
    let shape = parameter.value.shape
    guard let filters = shape.first, filters > 0 else {
        throw PruningError.notFilterShaped(parameter: parameter.name, shape: shape)
    }
    let size = parameter.count / filters
    let keep = parameter.mask?.clone() ?? Tensor(shape: shape, repeating: 1)
    for f in removed {
        precondition(f >= 0 && f < filters, "filter \(f) out of range for \(parameter.name)")
        for i in f * size ..< (f + 1) * size { keep[i] = 0 }
    }
    parameter.setMask(keep)
}
