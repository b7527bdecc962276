import ArgumentParser
import Experiments
import Foundation
import NN
import Tensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps (forward, backward, SGD with momentum) on random data.",
        discussion: "Warm-up steps are not timed. Compare with Benchmarks/pytorch_compare.sh.")

    @Option(help: "Model name (\(ModelZoo.names.joined(separator: ", "))).")
    var model = "mlp"
    @Option(help: "Mini-batch size.")
    var batchSize = 64
    @Option(help: "Timed steps.")
    var steps = 500
    @Option(help: "Untimed warm-up steps.")
    var warmup = 50
    @Option(help: "Input sample shape, e.g. 1x28x28 or 3x32x32.")
    var input = "1x28x28"
    @Option(help: "Number of classes.")
    var classes = 10
    @OptionGroup var compute: ComputeOptions
    @Flag(help: "Print one JSON object with ms_per_step and samples_per_second.")
    var json = false
    @Flag(help: "Also print where a step's time goes, per kind of layer (forward and backward).")
    var profile = false

    func run() throws {
        guard batchSize > 0 else { throw CLIError("--batch-size must be positive, got \(batchSize)") }
        guard steps > 0 else { throw CLIError("--steps must be positive, got \(steps)") }
        guard warmup >= 0 else { throw CLIError("--warmup must be non-negative, got \(warmup)") }
        let shape = try parseShape(input)
        try compute.apply()
        try MemoryEstimate.check(model: model, inputShape: shape, classes: classes, batchSize: batchSize)
        let net = try ModelZoo.make(model, inputShape: shape, classes: classes, seed: 1)
        let opt = SGD(momentum: 0.9, weightDecay: 1e-4)
        var rng = RNG(seed: 1, stream: "bench")
        let x = Tensor(shape: [batchSize] + shape)
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels = (0..<batchSize).map { _ in Int32(rng.below(classes)) }
        let dLogits = Tensor(shape: [0])
        var profiler = profile ? LayerProfiler(net.network.layers) : nil
        func step() {
            net.zeroGradients()
            let out = profiler?.forward(x) ?? net.forward(x, training: true)
            labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: dLogits) }
            if profiler != nil { profiler!.backward(dLogits) } else { net.backward(dLogits) }
            opt.step(net.parameters, lr: 0.01)
        }
        for _ in 0..<warmup { step() }
        profiler?.reset()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let ms = seconds * 1000 / Double(steps)
        let sps = Double(steps * batchSize) / seconds
        let peakMB = peakResidentMegabytes()
        if json {
            try printJSON(["model": model, "batch_size": batchSize, "steps": steps, "threads": Parallel.threads,
                           "ms_per_step": ms, "samples_per_second": sps, "peak_rss_mb": peakMB] as [String: Any])
        } else {
            print(String(format: "%@ batch %d: %.3f ms/step, %.0f samples/s, peak memory %.0f MB (%d steps, %d threads)",
                         model, batchSize, ms, sps, peakMB, steps, Parallel.threads))
        }
        if let profiler { print(profiler.table(steps: steps)) }
    }
}

/// The process's peak resident set size (Linux reports ru_maxrss in KiB).
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
