import Data
import NN
import Pruning
import Tensor

/// Measures SPEC §7's per-cycle diagnostics on a few fixed batches.
///
/// The model runs in training mode, so the gradients are the ones training follows
/// (BatchNorm normalises with batch statistics, Dropout drops) and the hidden
/// representations are the ones those gradients flow through. What training mode moves is
/// put back afterwards: BatchNorm running statistics (`model.buffers`) and Dropout streams
/// (no zoo model has Dropout), so training after a measurement is the same as without it.
/// Parameter values are untouched; gradients are left zeroed.
///
/// Hidden layers are all activation layers (`Activation`), inside blocks too, named by
/// their path in the network ("layer1.0.relu1", "block3.mlp.gelu"); an activation that is
/// the network's last layer is its output and left out.
public enum Diagnostics {
    /// Percentiles of the dense network's `|g|` used as tail thresholds when none are given.
    public static let tailPercentiles: [Double] = [95, 99]

    /// Measures on `batches` batches drawn from `dataset` by a stream seeded with `seed`
    /// (stream "diagnostics"): the same seed gives the same batches in every cycle, so
    /// cycles are compared on identical inputs.
    public static func measure(model: Model, dataset: Dataset, batches: Int = 4, batchSize: Int = 128,
                               seed: UInt64, learningRate: Double, tailThresholds: [Double]? = nil,
                               selection: PrunableSelection = .all) -> CycleDiagnostics {
        let batcher = Batcher(dataset, batchSize: batchSize, shuffle: true, rng: RNG(seed: seed, stream: "diagnostics"))
        return measure(model: model, batcher: batcher, batches: batches, learningRate: learningRate,
                       tailThresholds: tailThresholds, selection: selection)
    }

    /// Measures on the next `batches` batches of `batcher` (which advances).
    ///
    /// - Parameters:
    ///   - model: the network; its values are untouched and its gradients left zeroed.
    ///   - batcher: where the batches come from.
    ///   - batches: how many batches the statistics pool (at least 1).
    ///   - learningRate: the LR at the end of the cycle; weight updates are `learningRate * g`.
    ///   - tailThresholds: `|g|` thresholds for the tail mass. nil takes this measurement's
    ///     own 95th and 99th percentile `|g|` over the unpruned weights — pass nil on the
    ///     dense network (cycle 0) and its `tailThresholds` in later cycles.
    ///   - selection: which prunable parameters the gradient statistics cover (the run's).
    public static func measure(model: Model, batcher: Batcher, batches: Int, learningRate: Double,
                               tailThresholds: [Double]? = nil,
                               selection: PrunableSelection = .all) -> CycleDiagnostics {
        precondition(batches > 0, "diagnostics need at least one batch")
        let leaves = model.network.leaves
        // The last leaf is the network's output, not a hidden layer.
        let hidden = leaves.dropLast().compactMap { $0 as? any Activation }
        let outputs = hidden.map { _ in ObservedOutputs() }
        for (a, o) in zip(hidden, outputs) { a.observer = o.record }

        let buffers = model.buffers.map { $0.clone() }
        let dropouts = leaves.compactMap { $0 as? Dropout }
        let streams = dropouts.map(\.rng)
        defer {
            for a in hidden { a.observer = nil }
            for (b, saved) in zip(model.buffers, buffers) { b.copy(from: saved) }
            for (d, rng) in zip(dropouts, streams) { d.rng = rng }
        }

        let dLogits = Tensor(shape: [0])
        var lossSum = 0.0
        var samples = 0
        model.zeroGradients()
        for _ in 0..<batches {
            samples += batcher.next()
            let logits = model.forward(batcher.inputs, training: true)
            let loss = batcher.labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: dLogits).loss
            }
            lossSum += Double(loss)
            model.backward(dLogits)
        }

        let (unpruned, all) = meanGradients(selection.select(model.parameters), batches: batches)
        model.zeroGradients()

        let thresholds = tailThresholds ?? unpruned.withUnsafeBufferPointer {
            Percentile.of($0, tailPercentiles, absolute: true).compactMap { $0 }
        }
        let lr = Float(learningRate)
        let updates = unpruned.map { lr * $0 }

        var activations: [ActivationDistribution] = []
        for (k, (a, o)) in zip(hidden, outputs).enumerated() {
            let d = DistributionSummary(o.values)
            var zeros = 0
            for v in o.values where v == 0 { zeros += 1 }
            activations.append(ActivationDistribution(
                name: a.name.isEmpty ? "hidden\(k + 1)" : a.name, layer: a.summary,
                // Per sample: a layer may see the batch flattened (ViT's MLP: [N * T, features]).
                units: samples > 0 ? o.values.count / samples : 0, eaa: d.meanSquare,
                zeroFraction: o.values.isEmpty ? 0 : Double(zeros) / Double(o.values.count), distribution: d))
        }
        var pooled: [Float] = []
        pooled.reserveCapacity(outputs.reduce(0) { $0 + $1.values.count })
        for o in outputs { pooled.append(contentsOf: o.values) }

        return CycleDiagnostics(
            percentRemaining: all.isEmpty ? 100 : 100 * Double(unpruned.count) / Double(all.count),
            batches: batches, samples: samples, loss: lossSum / Double(batches), learningRate: learningRate,
            tailThresholds: thresholds,
            gradientsUnpruned: DistributionSummary(unpruned, tailThresholds: thresholds),
            gradientsAll: DistributionSummary(all, tailThresholds: thresholds),
            updates: DistributionSummary(updates),
            activations: activations,
            allActivations: DistributionSummary(pooled))
    }

    /// The accumulated gradients divided by the batch count (each batch's loss is already a
    /// mean), flattened in parameter order under SPEC §7's two accountings: unpruned entries
    /// only, and every entry with pruned ones as 0. Backward computes dense gradients, so a
    /// pruned entry's raw gradient is generally non-zero and must be replaced, not read.
    static func meanGradients(_ parameters: [Parameter], batches: Int) -> (unpruned: [Float], all: [Float]) {
        let total = parameters.reduce(0) { $0 + $1.count }
        var unpruned: [Float] = [], all: [Float] = []
        unpruned.reserveCapacity(total)
        all.reserveCapacity(total)
        let scale = 1 / Float(batches)
        for p in parameters {
            let g = p.grad.data
            if let m = p.mask?.data {
                for i in 0..<p.count {
                    if m[i] != 0 {
                        let v = g[i] * scale
                        unpruned.append(v)
                        all.append(v)
                    } else {
                        all.append(0)
                    }
                }
            } else {
                for i in 0..<p.count { unpruned.append(g[i] * scale) }
                all.append(contentsOf: unpruned.suffix(p.count))
            }
        }
        return (unpruned, all)
    }

    static func isActivation(_ layer: any Layer) -> Bool { layer is any Activation }
}

/// One activation layer's outputs over the diagnostic batches, appended by its observer.
final class ObservedOutputs {
    var values: [Float] = []
    func record(_ h: Tensor) { values.append(contentsOf: h.buffer) }
}
