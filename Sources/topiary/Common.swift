import ArgumentParser
import Experiments
import Foundation
import NN
import Tensor

/// Options shared by every command that computes.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for BLAS and Topiary's own loops (default: all cores).")
    var threads: Int?
    @Option(help: "Kernels for pruned layers: dense, auto (sparse kernels below a measured density) or sparse (default: TOPIARY_KERNELS, else auto).")
    var kernels: String?
    @Option(help: "Library for matrix products: openblas or onednn (default: TOPIARY_GEMM, else onednn on AMD processors and openblas on others).")
    var gemm: String?
    @Option(help: "With auto kernels: the largest kept fraction (0-1] at which a layer runs sparse, for every layer (default: the thresholds measured per layer kind; topiary bench --calibrate-sparse measures them on this machine).")
    var sparseThreshold: Double?

    func apply() throws {
        let names = BLAS.Backend.allCases.map(\.rawValue).joined(separator: ", ")
        if let env = ProcessInfo.processInfo.environment["TOPIARY_GEMM"], BLAS.Backend(rawValue: env) == nil {
            throw CLIError("TOPIARY_GEMM must be one of \(names), got \(env)")
        }
        if let gemm {
            guard let backend = BLAS.Backend(rawValue: gemm) else { throw CLIError("--gemm must be one of \(names), got \(gemm)") }
            BLAS.backend = backend
        }
        if let kernels {
            guard let mode = KernelMode(rawValue: kernels) else {
                throw CLIError("--kernels must be one of \(KernelMode.allCases.map(\.rawValue).joined(separator: ", ")), got \(kernels)")
            }
            SparseKernels.mode = mode
        }
        if let t = sparseThreshold {
            guard t > 0 && t <= 1 else { throw CLIError("--sparse-threshold must be in (0, 1], got \(t)") }
            SparseKernels.linearThreshold = t
            SparseKernels.convolutionThreshold = t
        }
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard n > 0 else { throw CLIError("--threads must be positive, got \(n)") }
        Parallel.threads = n
        BLAS.threads = n
    }
}

/// The spec a command works on, with the dataset directory it may override.
struct SpecOptions: ParsableArguments {
    @Argument(help: "Experiment spec (YAML).")
    var spec: String
    @Option(help: "Override the spec's dataset directory.")
    var dataDir: String?

    /// The parsed spec, its dataset directory overridden when --data-dir is given.
    func load() throws -> ExperimentSpec {
        var experiment = try SpecParser.load(path: spec)
        if let dataDir { experiment.data.dataDir = dataDir }
        return experiment
    }
}

enum OptimizerName: String, CaseIterable {
    case sgd, adam, rmsprop
}

struct OptimizerOptions: ParsableArguments {
    @Option(help: "Optimizer: sgd, adam or rmsprop.")
    var optimizer = "sgd"
    @Option(help: "Momentum (default: 0.9 for SGD, 0 for RMSProp; Adam ignores it).")
    var momentum: Float?
    @Option(help: "L2 weight decay.")
    var weightDecay: Float = 1e-4
    @Flag(help: "Nesterov momentum (SGD).")
    var nesterov = false

    func make() throws -> any Optimizer {
        // Parsed here rather than by ArgumentParser so a typo gets one line, not a usage screen.
        guard let name = OptimizerName(rawValue: optimizer) else {
            throw CLIError("unknown optimizer '\(optimizer)' (known: sgd, adam, rmsprop)")
        }
        let mu = momentum ?? (name == .sgd ? 0.9 : 0)
        guard mu >= 0, mu < 1 else { throw CLIError("--momentum must be in [0, 1), got \(mu)") }
        guard weightDecay >= 0 else { throw CLIError("--weight-decay must be non-negative, got \(weightDecay)") }
        switch name {
        case .sgd: return SGD(momentum: mu, weightDecay: weightDecay, nesterov: nesterov)
        case .adam: return Adam(weightDecay: weightDecay)
        case .rmsprop: return RMSProp(momentum: mu, weightDecay: weightDecay)
        }
    }
}

/// Writes a line to stderr (progress, never mixed into --json output on stdout).
func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Formats seconds as "1m05s" / "12.3s".
func duration(_ s: Double) -> String {
    if s >= 60 { return "\(Int(s) / 60)m\(String(format: "%02d", Int(s) % 60))s" }
    return String(format: "%.1fs", s)
}

/// Prints `object` as one line of JSON on stdout.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
