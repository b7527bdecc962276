import Experiments
import Foundation
import NN
import Pruning
import Tensor

extension Bench {
    /// `--compact RATE`: L1-filter prunes RATE of the filters of every unit that compaction can
    /// remove (all hidden layers of chains; the inner convolution of each residual block), then
    /// times the masked network against its compacted copy (`compact`), in alternating rounds
    /// so both see the same machine load, for training steps and evaluation-mode forwards.
    /// Prints the medians over rounds and their ratios.
    func benchCompaction(_ net: Model, rate: Double, rounds: Int) throws {
        guard rate > 0, rate < 1 else { throw CLIError("--compact must be in (0, 1), got \(rate)") }
        guard rounds > 0 else { throw CLIError("--compact-rounds must be positive, got \(rounds)") }
        let units = FilterUnits(net)
        let removable = Set(units.units.filter { $0.exact && $0.weight !== units.classifier }.map { ObjectIdentifier($0.weight) })
        guard !removable.isEmpty else { throw CLIError("model \(model) has no layer whose filters compaction can remove") }
        try pruneUnits(units, parameters: net.parameters, criterion: .l1Norm, rate: rate,
                       selection: PrunableSelection { removable.contains(ObjectIdentifier($0)) })
        let compacted = try compact(net)
        let small = compacted.model
        var rng = RNG(seed: 1, stream: "bench")
        let x = Tensor(shape: [batchSize] + net.inputShape)
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels = (0..<batchSize).map { _ in Int32(rng.below(classes)) }
        let dLogits = Tensor(shape: [0])
        let optimizers = [SGD(momentum: 0.9, weightDecay: 1e-4), SGD(momentum: 0.9, weightDecay: 1e-4)]
        let models = [net, small]
        func train(_ i: Int) {
            let m = models[i]
            m.zeroGradients()
            let out = m.forward(x, training: true)
            labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: dLogits) }
            m.backward(dLogits)
            optimizers[i].step(m.parameters, lr: 0.01)
        }
        func infer(_ i: Int) { _ = models[i].forward(x, training: false) }
        for i in 0..<2 {
            for _ in 0..<warmup { train(i) }
            infer(i)
        }
        func timed(_ body: () -> Void) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps { body() }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps)
        }
        var trainMS: [[Double]] = [[], []], inferMS: [[Double]] = [[], []]
        for round in 0..<rounds {
            for i in round % 2 == 0 ? [0, 1] : [1, 0] {
                trainMS[i].append(timed { train(i) })
                inferMS[i].append(timed { infer(i) })
            }
        }
        let (mt, ct) = (median(trainMS[0]), median(trainMS[1])), (mi, ci) = (median(inferMS[0]), median(inferMS[1]))
        let weights = (net.prunableParameterCount, small.prunableParameterCount)
        if json {
            try printJSON(["model": model, "batch_size": batchSize, "rate": rate, "rounds": rounds, "steps": steps,
                           "threads": Parallel.threads, "compacted_units": compacted.keptChannels.count,
                           "removed_channels": compacted.removedChannels,
                           "weights": weights.0, "compacted_weights": weights.1,
                           "masked_train_ms": mt, "compacted_train_ms": ct, "train_speedup": mt / ct,
                           "masked_inference_ms": mi, "compacted_inference_ms": ci, "inference_speedup": mi / ci]
                          as [String: Any])
        } else {
            print(String(format: "%@ batch %d, %.0f%% of the filters of %d layers removed (%d channels; weights %d → %d)",
                         model, batchSize, rate * 100, compacted.keptChannels.count, compacted.removedChannels,
                         weights.0, weights.1))
            print(String(format: "  training step: masked %.3f ms, compacted %.3f ms, speedup %.2fx", mt, ct, mt / ct))
            print(String(format: "  inference:     masked %.3f ms, compacted %.3f ms, speedup %.2fx", mi, ci, mi / ci))
            print(String(format: "  (medians of %d alternating rounds of %d steps, %d threads)", rounds, steps, Parallel.threads))
        }
    }
}
