import NN
import Tensor

/// What one pruning step removed, per selected parameter in order.
public struct PruningResult: Sendable, Equatable {
    /// One parameter's part of the step.
    public struct Layer: Sendable, Equatable {
        public let name: String
        /// Unpruned entries before the step.
        public let remainingBefore: Int
        /// Entries removed by the step.
        public let removed: Int
        public var remainingAfter: Int { remainingBefore - removed }
    }
    /// Per selected parameter, in order.
    public let layers: [Layer]
    /// Entries removed in all.
    public var removed: Int { layers.reduce(0) { $0 + $1.removed } }
    /// Unpruned entries before the step, in all.
    public var remainingBefore: Int { layers.reduce(0) { $0 + $1.remainingBefore } }
}

/// One cycle's unstructured pruning configuration (SPEC §1 step 1–2).
public struct Pruner: Sendable {
    /// How weights are scored.
    public var criterion: PruningCriterion
    /// Over the whole network or per layer.
    public var scope: PruningScope
    /// Fraction `p` of the remaining weights removed per cycle.
    public var rate: Double
    /// Which parameters may lose weights.
    public var selection: PrunableSelection

    /// Checks that `criterion` supports `scope` and that `rate` is in [0, 1].
    public init(criterion: PruningCriterion, scope: PruningScope, rate: Double,
                selection: PrunableSelection = .all) throws {
        guard criterion.supports(scope) else {
            throw PruningError.unsupportedScope(criterion: criterion.name, scope: scope)
        }
        guard rate >= 0, rate <= 1 else { throw PruningError.invalidRate(rate) }
        self.criterion = criterion
        self.scope = scope
        self.rate = rate
        self.selection = selection
    }

    @discardableResult
    public func prune(_ parameters: [Parameter]) throws -> PruningResult {
        try Pruning.prune(parameters: parameters, criterion: criterion, scope: scope,
                          rate: rate, selection: selection)
    }
}

/// Removes `round(rate * remaining)` of the selected parameters' unpruned weights — of all
/// of them together (`.global`) or of each layer (`.layerwise`) — lowest scores first,
/// ties to the earlier parameter and lower flat index.
///
/// Every selected parameter ends with a mask (all ones where it had none), installed with
/// `setMask`, so pruned values and gradients are zeroed at once. Pruned weights stay
/// pruned: they are never eligible and the new mask starts from the old one. Parameters
/// outside the selection are untouched but still serve as lookahead neighbours.
@discardableResult
public func prune(parameters: [Parameter], criterion: PruningCriterion, scope: PruningScope,
                  rate: Double, selection: PrunableSelection = .all) throws -> PruningResult {
    guard criterion.supports(scope) else {
        throw PruningError.unsupportedScope(criterion: criterion.name, scope: scope)
    }
    guard rate >= 0, rate <= 1 else { throw PruningError.invalidRate(rate) }
    try requireUniqueNames(parameters)
    let selected = selection.select(parameters)
    guard !selected.isEmpty else { throw PruningError.noPrunableParameters }

    let scores = try score(selected, all: parameters, criterion: criterion)
    let layers = zip(selected, scores).map { p, s in
        ScoredLayer(name: p.name, scores: s, eligible: p.mask.map { UnsafePointer($0.data) },
                    keep: p.mask?.clone() ?? Tensor(shape: p.value.shape, repeating: 1))
    }
    let before = layers.map(\.eligibleCount)
    var removed: [Int]
    switch scope {
    case .global:
        removed = try LowestSelection.removeLowest(layers, rate: rate)
    case .layerwise:
        removed = []
        for l in layers { removed += try LowestSelection.removeLowest([l], rate: rate) }
    }
    for (p, l) in zip(selected, layers) { p.setMask(l.keep) }
    return PruningResult(layers: selected.indices.map {
        PruningResult.Layer(name: selected[$0].name, remainingBefore: before[$0], removed: removed[$0])
    })
}

func requireUniqueNames(_ parameters: [Parameter]) throws {
    var seen = Set<String>()
    for p in parameters where !seen.insert(p.name).inserted {
        throw PruningError.duplicateParameterName(p.name)
    }
}

private func score(_ selected: [Parameter], all: [Parameter],
                   criterion: PruningCriterion) throws -> [[Float]] {
    switch criterion {
    case .magnitude:
        return selected.map(PruningScores.magnitude)
    case .gradient(let grads):
        return try selected.map { p in
            guard let g = grads[p.name] else { throw PruningError.missingGradient(parameter: p.name) }
            return try PruningScores.saliency(p, gradient: g)
        }
    case .random(let seed):
        var rng = RNG(seed: seed, stream: "pruning.random")
        return selected.map { PruningScores.random(count: $0.count, rng: &rng) }
    case .lamp:
        return try selected.map(PruningScores.lamp)
    case .lookahead(let given):
        let chain = given ?? all.filter { $0.value.rank >= 2 }
        return try selected.map { p in
            guard let i = chain.firstIndex(where: { $0 === p }) else {
                throw PruningError.notInLookaheadChain(parameter: p.name)
            }
            return try PruningScores.lookahead(chain: chain, index: i)
        }
    }
}
