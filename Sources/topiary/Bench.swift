import ArgumentParser
import Experiments
import Foundation
import NN
import Pruning
import Schedules
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
    @Option(name: .customLong("compact"), help: "Remove this fraction of the filters (L1 norm) of every layer compaction can shrink, and time the masked network against its compacted copy side by side (see --compact-rounds).")
    var compactRate: Double?
    @Option(help: "With --compact: alternating timed rounds of --steps steps each.")
    var compactRounds = 5
    @OptionGroup var compute: ComputeOptions
    @Flag(help: "Print one JSON object with ms_per_step, cpu_ms_per_step (process CPU time) and samples_per_second.")
    var json = false
    @Flag(help: "Also print where a step's time goes: per top-level layer (forward and backward; training steps only, as inference folds layers into one pass), and per kind of operation (convolution, GEMM, normalisation, activation, pooling, attention, loss, optimizer, other).")
    var profile = false
    @Flag(help: "Time the pruning and schedule code paths instead of training steps: per step, five cycles each of global magnitude, LAMP and L1-filter pruning of the model, and S-Cyc 1-cycle traces.")
    var pruning = false
    @Option(help: "Prune this fraction of the weights first (0..<1): global magnitude on the initial weights, or L1 filter pruning with --structured.")
    var sparsity = 0.0
    @Flag(help: "With --sparsity: prune whole filters (L1 norm) instead of single weights.")
    var structured = false
    @Flag(help: "With --sparsity: prune every layer to the same density (layerwise magnitude) instead of global magnitude, to time the kernels of each layer at one density.")
    var layerwise = false
    @Flag(help: "Measure auto's break-even densities on this machine: single Linear and Conv2d layers of the shapes the thresholds are for, dense against sparse training steps at 80% down to 5% kept (--compare rounds, at least 3; --batch-size), next to the thresholds auto uses.")
    var calibrateSparse = false
    @Flag(help: "Time evaluation-mode forward passes instead of training steps.")
    var inference = false
    @Option(help: "Alternate timed rounds of dense kernels and of --kernels' mode (default auto) this many times in one process, and print both and their ratio (medians over rounds).")
    var compare = 0
    @Flag(help: "With --compare: compare process CPU time per step instead of wall time (with --threads 1, the compute time even while other processes share the cores).")
    var cpuTime = false

    func run() throws {
        guard batchSize > 0 else { throw CLIError("--batch-size must be positive, got \(batchSize)") }
        guard steps > 0 else { throw CLIError("--steps must be positive, got \(steps)") }
        guard warmup >= 0 else { throw CLIError("--warmup must be non-negative, got \(warmup)") }
        let shape = try parseShape(input)
        try compute.apply()
        try MemoryEstimate.check(model: model, inputShape: shape, classes: classes, batchSize: batchSize)
        let net = try ModelZoo.make(model, inputShape: shape, classes: classes, seed: 1)
        if let compactRate { return try benchCompaction(net, rate: compactRate, rounds: compactRounds) }
        if pruning { return try benchPruning(net) }
        if calibrateSparse { return try benchSparseCalibration() }
        if sparsity > 0 {
            guard sparsity < 1 else { throw CLIError("--sparsity must be in [0, 1), got \(sparsity)") }
            if structured {
                let filters = PrunableSelection { $0.prunable && $0.value.rank == 4 }
                _ = try pruneFilters(parameters: net.parameters, criterion: .l1Norm, rate: sparsity, selection: filters)
            } else {
                _ = try prune(parameters: net.parameters, criterion: .magnitude, scope: layerwise ? .layerwise : .global, rate: sparsity)
            }
        }
        let opt = SGD(momentum: 0.9, weightDecay: 1e-4)
        var rng = RNG(seed: 1, stream: "bench")
        let x = Tensor(shape: [batchSize] + shape)
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels = (0..<batchSize).map { _ in Int32(rng.below(classes)) }
        let dLogits = Tensor(shape: [0])
        // Inference folds a convolution with the layers after it (`infer`): no per-layer times there.
        var profiler = profile && !inference ? LayerProfiler(net.network) : nil
        OpProfile.enabled = profile
        defer { OpProfile.enabled = false }
        func step() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            if inference {
                _ = net.infer(x)
                stepNanos += DispatchTime.now().uptimeNanoseconds - t0
                return
            }
            OpProfile.measure(.elementwise) { net.zeroGradients() }
            let out = profiler?.forward(x) ?? net.forward(x, training: true)
            OpProfile.measure(.loss) {
                labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: dLogits) }
            }
            if profiler != nil { profiler!.backward(dLogits) } else { net.backward(dLogits) }
            OpProfile.measure(.optimizer) { opt.step(net.parameters, lr: 0.01) }
            stepNanos += DispatchTime.now().uptimeNanoseconds - t0
        }
        var stepNanos: UInt64 = 0
        if compare > 0 { return try compareRounds(step) }
        for _ in 0..<warmup { step() }
        profiler?.reset()
        OpProfile.reset()
        stepNanos = 0
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let ms = seconds * 1000 / Double(steps)
        let cpuMS = (processCPUSeconds() - cpuStart) * 1000 / Double(steps)
        let sps = Double(steps * batchSize) / seconds
        let peakMB = peakResidentMegabytes()
        if json {
            try printJSON(["model": model, "batch_size": batchSize, "steps": steps, "threads": Parallel.threads,
                           "ms_per_step": ms, "cpu_ms_per_step": cpuMS, "samples_per_second": sps,
                           "peak_rss_mb": peakMB, "kernels": VectorISA.active.rawValue,
                           "gemm": BLAS.backend.rawValue, "openblas_core": BLASCore.choice.inUse] as [String: Any])
        } else {
            print(String(format: "%@ batch %d: %.3f ms/step, %.0f samples/s, peak memory %.0f MB (%d steps, %d threads, %@ kernels, GEMM on %@, OpenBLAS %@)",
                         model, batchSize, ms, sps, peakMB, steps, Parallel.threads, VectorISA.active.rawValue,
                         BLAS.backend.rawValue, BLASCore.choice.inUse))
        }
        if profile {
            if let profiler { print(profiler.table(steps: steps)) }
            print(Self.kindTable(OpProfile.nanoseconds, stepNanos: stepNanos, steps: steps))
        }
    }
}

extension Bench {
    /// `--compare`: rounds alternating dense kernels and the chosen mode, so both see the same
    /// machine load; medians over rounds and their ratio.
    func compareRounds(_ step: () -> Void) throws {
        let chosen = SparseKernels.mode == .dense ? KernelMode.auto : SparseKernels.mode
        defer { SparseKernels.mode = chosen }
        var times: [KernelMode: [Double]] = [.dense: [], chosen: []]
        for mode in [KernelMode.dense, chosen] {
            SparseKernels.mode = mode
            for _ in 0..<warmup { step() }
        }
        for round in 0..<compare {
            for mode in round % 2 == 0 ? [KernelMode.dense, chosen] : [chosen, .dense] {
                SparseKernels.mode = mode
                step()
                let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
                for _ in 0..<steps { step() }
                let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps)
                let cpu = (processCPUSeconds() - cpuStart) * 1000 / Double(steps)
                times[mode]!.append(cpuTime ? cpu : wall)
            }
        }
        let dense = median(times[.dense]!), other = median(times[chosen]!)
        if json {
            try printJSON(["model": model, "batch_size": batchSize, "sparsity": sparsity, "structured": structured,
                           "inference": inference, "threads": Parallel.threads, "isa": VectorISA.active.rawValue,
                           "clock": cpuTime ? "cpu" : "wall",
                           "dense_ms": dense, "\(chosen.rawValue)_ms": other, "speedup": dense / other] as [String: Any])
        } else {
            print(String(format: "%@ batch %d sparsity %.3f %@: dense %.3f ms/step, %@ %.3f ms/step (%@), speedup %.2fx (%d rounds of %d steps)",
                         model, batchSize, sparsity, inference ? "inference" : "training", dense, chosen.rawValue, other,
                         cpuTime ? "CPU time" : "wall time", dense / other, compare, steps))
        }
    }

    /// Milliseconds per step for each kind of operation (exclusive time), largest first, with
    /// the share of the step; "other" is the step's time outside every measured operation.
    static func kindTable(_ nanos: [OpKind: UInt64], stepNanos: UInt64, steps: Int) -> String {
        let ms = { (n: UInt64) in Double(n) / 1e6 / Double(max(steps, 1)) }
        let total = ms(stepNanos)
        var rows = OpKind.allCases.map { ($0.label, ms(nanos[$0, default: 0])) }.filter { $0.1 > 0 }
        rows.append(("other", max(0, total - rows.map(\.1).reduce(0, +))))
        rows.sort { $0.1 > $1.1 }
        let width = max(10, rows.map(\.0.count).max() ?? 0)
        var lines = ["op kind".padding(toLength: width, withPad: " ", startingAt: 0) + "  ms/step   share"]
        for (label, v) in rows {
            lines.append(label.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %7.2f  %5.1f%%", v, total > 0 ? 100 * v / total : 0))
        }
        lines.append("step".padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "  %7.2f", total))
        return lines.joined(separator: "\n")
    }

    /// What `--pruning` times: the code a pruning cycle runs besides training (ranking,
    /// masking, structured scores, schedule evaluation), on the model's real parameters.
    func benchPruning(_ net: Model) throws {
        let params = net.parameters
        let filterShaped = PrunableSelection { $0.prunable && $0.value.rank >= 2 }
        let peak = SCycPeak(epsilon: 0.05, delta: 0.15, pruningRate: 0.2)
        var checksum = 0.0
        func step() throws {
            for criterion in [PruningCriterion.magnitude, .lamp] {
                for p in params { p.removeMask() }
                for _ in 0..<5 { try prune(parameters: params, criterion: criterion, scope: .global, rate: 0.2) }
            }
            for p in params { p.removeMask() }
            for _ in 0..<5 { try pruneFilters(parameters: params, criterion: .l1Norm, rate: 0.2, selection: filterShaped) }
            for p in params { p.removeMask() }
            for m in 0..<5 {
                let schedule = OneCycleSchedule(minLR: 0.001, maxLR: peak.maxLR(cycle: m), budget: 20_000)
                checksum += schedule.trace(20_000).reduce(0, +)
            }
        }
        for _ in 0..<warmup { try step() }
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
        for _ in 0..<steps { try step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let ms = seconds * 1000 / Double(steps)
        let cpuMS = (processCPUSeconds() - cpuStart) * 1000 / Double(steps)
        if json {
            try printJSON(["model": model, "mode": "pruning", "steps": steps, "threads": Parallel.threads,
                           "ms_per_step": ms, "cpu_ms_per_step": cpuMS, "checksum": checksum] as [String: Any])
        } else {
            print(String(format: "%@ pruning and schedules: %.3f ms/step (%d steps, %d threads)",
                         model, ms, steps, Parallel.threads))
        }
    }
}

/// The median of timed rounds (the upper one of an even count).
func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }

/// CPU time of the whole process (all threads), user and system. With `--threads 1` it is
/// the bench's compute time even while other processes share the cores, which is what an
/// A/B comparison on a busy machine needs (Benchmarks/ab-unchecked.sh).
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// The process's peak resident set size (Linux reports ru_maxrss in KiB).
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
