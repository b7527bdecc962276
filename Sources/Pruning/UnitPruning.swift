import NN
import Tensor

/// Structured pruning that removes whole units (SPEC §1–2): ranks and removes filters as
/// `pruneFilters` does, then, for every removed filter of a selected weight, masks its
/// companions (bias, BatchNorm γ and β) and the entries of the next layer's weights that
/// read it (`FilterUnits` says which, per model). With γ = β = 0 a BatchNorm outputs
/// exactly 0 for the channel in training and evaluation alike, whatever its running
/// statistics, so an exact unit's channel is 0 for every input.
///
/// The classifier (`units.classifier`) is never filter-pruned, whatever `selection` says:
/// its rows are the class logits. Its input columns that read a removed channel are masked
/// like any reader's. An excluded layer keeps its own filters, but loses those input
/// kernels too: they read a channel that is gone.
///
/// Companions and readers follow every filter that is dead after the step (removed now,
/// earlier, or left with no unpruned entry), so the masks stay consistent after a resume.
@discardableResult
public func pruneUnits(_ units: FilterUnits, parameters: [Parameter], criterion: FilterCriterion, rate: Double,
                       selection: PrunableSelection = .all) throws -> FilterPruningResult {
    let classifier = units.classifier
    let filterable = PrunableSelection { p in p !== classifier && selection.includes(p) }
    let result = try pruneFilters(parameters: parameters, criterion: criterion, rate: rate, selection: filterable)
    for layer in result.layers {
        guard let unit = units[layer.name] else { continue }
        try maskUnit(unit, removed: deadFilters(unit.weight))
    }
    return result
}

/// Masks, for each filter index in `removed`, the unit's companions and its readers' kernels.
package func maskUnit(_ unit: FilterUnit, removed: [Int]) throws {
    guard !removed.isEmpty else { return }
    for p in unit.companions { try maskFilters(of: p, removed: removed) }
    for r in unit.readers { try maskInputChannels(of: r, removed: removed) }
}

/// Masks the entries of `reader.weight` that read the given input channels: in every row,
/// the `entriesPerChannel` consecutive entries starting at `channel * entriesPerChannel`.
package func maskInputChannels(of reader: FilterUnit.Reader, removed: [Int]) throws {
    let w = reader.weight, k = reader.entriesPerChannel
    guard w.value.rank >= 2, k > 0, (w.count / w.value.shape[0]) % k == 0 else {
        throw PruningError.notFilterShaped(parameter: w.name, shape: w.value.shape)
    }
    let rows = w.value.shape[0], row = w.count / rows, channels = row / k
    let keep = w.mask?.clone() ?? Tensor(shape: w.value.shape, repeating: 1)
    for c in removed {
        precondition(c >= 0 && c < channels, "input channel \(c) out of range for \(w.name)")
        for r in 0..<rows {
            for i in r * row + c * k ..< r * row + (c + 1) * k { keep[i] = 0 }
        }
    }
    w.setMask(keep)
}

/// Filters (dimension-0 slices) of `weight` whose every entry is masked.
func deadFilters(_ weight: Parameter) -> [Int] {
    guard let m = weight.mask else { return [] }
    let filters = weight.value.shape[0], size = weight.count / filters
    return (0..<filters).filter { f in (f * size ..< (f + 1) * size).allSatisfy { m[$0] == 0 } }
}
