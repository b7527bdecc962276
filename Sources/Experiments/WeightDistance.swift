import NN
import Pruning

/// `EWG(W, W') = mean_i (w_i - w'_i)^2` over the unpruned weights (SILO Definition 2): how
/// far one training epoch moved the surviving weights.
///
/// Usage: take a snapshot at an epoch's start (`WeightDistance.values(model.parameters)` or
/// a Pruning `WeightSnapshot`), train one epoch (`trainer.batcher.batchesPerEpoch` steps),
/// then call `ewg(before:after:)`. The current masks decide which weights count, and only
/// the selected prunable weights do (biases and norm parameters are not "weights" here).
package enum WeightDistance {
    /// One EWG per parameter.
    package struct ParameterDistance: Sendable, Codable, Equatable {
        package var name: String
        package var unpruned: Int
        package var ewg: Double
    }

    /// Copies of every parameter's values, in order.
    package static func values(_ parameters: [Parameter]) -> [[Float]] { parameters.map(\.value.array) }

    /// EWG against `before`, aligned with `after` by position (as `values(_:)` returns it).
    /// 0 when no weight is unpruned.
    package static func ewg(before: [[Float]], after: [Parameter], selection: PrunableSelection = .all) -> Double {
        precondition(before.count == after.count, "snapshot of \(before.count) parameters for \(after.count)")
        return pooled(zip(after, before).filter { selection.includes($0.0) }.map { p, v in
            precondition(v.count == p.count, "snapshot of \(v.count) values for \(p.name) with \(p.count)")
            return layer(p, v)
        })
    }

    /// EWG against a `WeightSnapshot`, matched by parameter name.
    package static func ewg(before: WeightSnapshot, after: [Parameter], selection: PrunableSelection = .all) throws -> Double {
        pooled(try ewgByLayer(before: before, after: after, selection: selection))
    }

    /// EWG of each selected parameter separately (SILO's Theorem 2 concerns the last layer).
    package static func ewgByLayer(before: WeightSnapshot, after: [Parameter],
                                  selection: PrunableSelection = .all) throws -> [ParameterDistance] {
        try selection.select(after).map { p in
            guard let e = before[p.name] else { throw PruningError.snapshotMissing(parameter: p.name) }
            guard e.shape == p.value.shape else {
                throw PruningError.shapeMismatch(what: "snapshot entry", parameter: p.name,
                                                 expected: p.value.shape, got: e.shape)
            }
            return layer(p, e.values)
        }
    }

    private static func layer(_ p: Parameter, _ before: [Float]) -> ParameterDistance {
        let w = p.value.data, m = p.mask?.data
        var sum = 0.0, n = 0
        before.withUnsafeBufferPointer { b in
            for i in 0..<p.count where m == nil || m![i] != 0 {
                let d = Double(w[i]) - Double(b[i])
                sum += d * d
                n += 1
            }
        }
        return ParameterDistance(name: p.name, unpruned: n, ewg: n > 0 ? sum / Double(n) : 0)
    }

    /// Mean over all unpruned weights (not the mean of the per-layer means).
    private static func pooled(_ layers: [ParameterDistance]) -> Double {
        let n = layers.reduce(0) { $0 + $1.unpruned }
        return n > 0 ? layers.reduce(0) { $0 + $1.ewg * Double($1.unpruned) } / Double(n) : 0
    }
}
