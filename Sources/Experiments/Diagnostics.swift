import Data
import NN
import Pruning
import Tensor

/// Measures SPEC §7's per-cycle diagnostics on a few fixed batches.
///
/// The model runs in evaluation mode, so the measurement neither moves BatchNorm running
/// statistics nor draws from Dropout's stream: training after a measurement is the same
/// as without it. Parameter values are untouched; gradients are left zeroed.
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
    ///   - learningRate: the LR at the end of the cycle; weight updates are `learningRate * g`.
    ///   - tailThresholds: `|g|` thresholds for the tail mass. nil takes this measurement's
    ///     own 95th and 99th percentile `|g|` over the unpruned weights — pass nil on the
    ///     dense network (cycle 0) and its `tailThresholds` in later cycles.
    ///   - selection: which prunable parameters the gradient statistics cover (the run's).
    public static func measure(model: Model, batcher: Batcher, batches: Int, learningRate: Double,
                               tailThresholds: [Double]? = nil,
                               selection: PrunableSelection = .all) -> CycleDiagnostics {
        precondition(batches > 0, "diagnostics need at least one batch")
        let leaves = leafLayers(model.network)
        // An activation that is the network's last layer is its output, not a hidden layer.
        let hidden = leaves.indices.filter { $0 < leaves.count - 1 && isActivation(leaves[$0]) }
        var outputs = [[Float]](repeating: [], count: hidden.count)
        var units = [Int](repeating: 0, count: hidden.count)
        let dLogits = Tensor(shape: [0])
        var lossSum = 0.0
        var samples = 0

        model.zeroGradients()
        for _ in 0..<batches {
            let n = batcher.next()
            samples += n
            // Leaf by leaf, which is what Sequential.forward does, so hidden outputs can be
            // read; model.backward then uses the caches these calls left.
            var h = batcher.inputs
            var k = 0
            for (i, layer) in leaves.enumerated() {
                h = layer.forward(h, training: false)
                if k < hidden.count, hidden[k] == i {
                    outputs[k].append(contentsOf: h.buffer)
                    units[k] = n > 0 ? h.count / n : 0
                    k += 1
                }
            }
            let loss = batcher.labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: h, labels: $0.baseAddress!, grad: dLogits).loss
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
        for (k, i) in hidden.enumerated() {
            let d = DistributionSummary(outputs[k])
            var zeros = 0
            for v in outputs[k] where v == 0 { zeros += 1 }
            activations.append(ActivationDistribution(
                name: "hidden\(k + 1)", layer: leaves[i].summary, units: units[k], eaa: d.meanSquare,
                zeroFraction: outputs[k].isEmpty ? 0 : Double(zeros) / Double(outputs[k].count), distribution: d))
        }
        var pooled: [Float] = []
        pooled.reserveCapacity(outputs.reduce(0) { $0 + $1.count })
        for o in outputs { pooled.append(contentsOf: o) }

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

    /// The non-container layers in forward order (nested Sequentials unrolled).
    static func leafLayers(_ network: Sequential) -> [any Layer] {
        network.layers.flatMap { layer -> [any Layer] in
            if let s = layer as? Sequential { return leafLayers(s) }
            return [layer]
        }
    }

    static func isActivation(_ layer: any Layer) -> Bool { layer is ReLU || layer is ReLU6 || layer is GELU }
}
