import ArgumentParser
import Data
import Experiments
import Foundation
import Interop
import NN
import Tensor

/// Exit with one line for the errors of files and imports.
func interopError(_ error: Error) -> CLIError { CLIError(String(describing: error)) }

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the network of a finished cycle of a run as a safetensors file (PyTorch state_dict names).",
        discussion: """
            Pruned entries are exactly 0. The file's metadata carries the model, input shape, classes, the input \
            standardisation (normalization_mean / normalization_std per channel), spec hash, cycle, lambda, accuracies \
            and Topiary version. Without --cycle, the last finished cycle (from the checkpoint); other cycles need \
            output: {models: every_cycle} in the spec. Load in PyTorch with python/topiary_models.py.
            """)

    @Argument(help: "The run directory (runs/NAME-HASH).")
    var runDir: String
    @Option(help: "Schedule name.")
    var schedule: String
    @Option(help: "Seed of the run.")
    var seed: UInt64
    @Option(help: "Cycle to export (default: the last finished one).")
    var cycle: Int?
    @Option(help: "Output file (default: RUN_DIR/export/SCHEDULE--seedN--cycleM.safetensors).")
    var out: String?
    @Flag(help: "Add one NAME_mask tensor per pruned parameter (for torch.nn.utils.prune.custom_from_mask).")
    var masks = false
    @Option(help: "Directory of the dataset files (needed for the input standardisation).")
    var dataDir: String?
    @Flag(help: "Write the network physically smaller: filters removed by structured pruning (l1-filter, random-filter) are deleted with their BatchNorm and the next layer's input channels (for residual networks only each block's inner convolution); metadata compacted_channels lists the channels kept.")
    var compact = false

    func run() throws {
        if let c = cycle, c < 0 { throw CLIError("--cycle must be non-negative, got \(c)") }
        let writer: SafetensorsWriter
        do {
            writer = try ModelFiles.export(runDirectory: runDir, schedule: schedule, seed: seed, cycle: cycle,
                                           masks: masks, dataDirectory: dataDir, compact: compact)
        } catch { throw interopError(error) }
        let cycleText = writer.metadata["cycle"] ?? "last"
        let path = out ?? "\(runDir)/export/\(schedule)--seed\(seed)--cycle\(cycleText).safetensors"
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try ModelFiles.write(writer, to: path)
        } catch { throw interopError(error) }
        log("wrote \(path): \(writer.metadata["model"] ?? "") cycle \(cycleText), lambda \(writer.metadata["measured_lambda"] ?? "?")% remaining")
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report loss, accuracy and sparsity of a stored network (safetensors) on a dataset.",
        discussion: "With --json, the last line of stdout is one JSON object.")

    @Option(help: "The safetensors file.")
    var weights: String
    @Option(help: "Model name (\(ModelZoo.names.joined(separator: ", "))); default: the file's metadata.")
    var model: String?
    @OptionGroup var data: DataOptions
    @Option(help: "Seed of the split (the validation hold-out).")
    var seed: UInt64 = 1
    @Flag(help: "Skip the tensors the model lacks and keep its own for those the file lacks (listed on stderr).")
    var allowPartial = false
    @Flag(help: "End with one JSON object on the last line of stdout.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: weights) } catch { throw CLIError("\(weights): \(error)") }
        guard let name = model ?? file.metadata["model"] else {
            throw CLIError("\(weights) names no model in its metadata; pass --model")
        }
        let splits = try data.load(seed: seed)
        let full = try ModelZoo.make(name, inputShape: splits.train.sampleShape, classes: splits.train.classes, seed: seed, initialize: false)
        // A file from `export --compact` has the smaller shapes it lists in its metadata.
        let net: Model
        do { net = try ModelFiles.shaped(full, like: file.metadata) } catch { throw CLIError("\(weights): \(error)") }
        let report: PyTorchState.ImportReport
        do { report = try PyTorchState.load(file, into: net, allowPartial: allowPartial) } catch {
            let holds = file.metadata["model"].map { $0 != name ? " (the file holds a \($0))" : "" } ?? ""
            throw CLIError("\(weights)\(holds): \(error)")
        }
        logSkipped(report)
        if let mean = file.metadata["normalization_mean"], let ours = splits.normalization,
           mean != "[" + ours.mean.map({ "\($0)" }).joined(separator: ", ") + "]" {
            log("note: the file was trained with input mean \(mean); this dataset is standardised with its own training statistics \(ours.mean)")
        }
        let trainer = Trainer(model: net, optimizer: SGD(momentum: 0, weightDecay: 0), splits: splits, batchSize: 1, seed: seed)
        let test = trainer.evaluate(splits.test), val = trainer.evaluate(splits.validation)
        let prunable = net.parameters.filter(\.prunable)
        var zeros = 0, total = 0
        for p in prunable {
            total += p.count
            for i in 0..<p.count where p.value[i] == 0 { zeros += 1 }
        }
        let sparsity = total == 0 ? 0 : Double(zeros) / Double(total)
        print(String(format: "%@ on %@: test accuracy %.2f%%  loss %.4f  |  validation %.2f%%  loss %.4f  |  sparsity %.2f%% of %d prunable weights (%.2f%% remaining)",
                     name, splits.summary, 100 * test.accuracy, test.loss, 100 * val.accuracy, val.loss, 100 * sparsity, total, 100 * (1 - sparsity)))
        if json {
            try printJSON([
                "model": name, "dataset": data.dataset, "split": data.split, "weights": weights,
                "test_accuracy": test.accuracy, "test_loss": test.loss, "val_accuracy": val.accuracy, "val_loss": val.loss,
                "sparsity": sparsity, "percent_remaining": 100 * (1 - sparsity), "prunable_weights": total,
            ] as [String: Any])
        }
    }
}

func logSkipped(_ report: PyTorchState.ImportReport) {
    if !report.missing.isEmpty { log("skipped (not in the file, kept as initialised): \(report.missing.joined(separator: ", "))") }
    if !report.unexpected.isEmpty { log("skipped (not in the model): \(report.unexpected.joined(separator: ", "))") }
}

struct Crosscheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model's weights and its logits, loss and gradients on a fixed batch, for comparison with PyTorch.",
        discussion: """
            DIR/weights.safetensors holds the network (with NAME_mask tensors when --prune is given); \
            DIR/reference.safetensors the input, labels and, for mode eval then train, logits.MODE, loss.MODE, \
            grad.MODE/NAME per parameter (masked entries zero, i.e. the gradient of weight * mask) and, after the \
            training-mode pass, running.train/NAME for every BatchNorm buffer. Benchmarks/pytorch_crosscheck.sh reads them.
            """)

    @Option(help: "Model name.")
    var model: String
    @Option(help: "Output directory.")
    var out: String
    @Option(help: "Sample shape CxHxW (default: 1x28x28 for mlp and lenet300, 3x32x32 otherwise).")
    var input: String?
    @Option(help: "Batch size.")
    var batchSize = 8
    @Option(help: "Classes.")
    var classes = 10
    @Option(help: "Seed of the weights, batch and mask.")
    var seed: UInt64 = 1
    @Option(help: "Fraction of every prunable parameter's entries to mask at random (0: dense).")
    var prune = 0.0
    @Flag(help: "Also write DIR/activations.safetensors: every activation layer's output (ReLU, ReLU6, GELU), MODE/INDEX in forward order, for locating where two implementations part.")
    var activations = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        let shapeText = input ?? (["mlp", "lenet300"].contains(model) ? "1x28x28" : "3x32x32")
        let shape = shapeText.split(separator: "x").compactMap { Int($0) }
        guard shape.count == shapeText.split(separator: "x", omittingEmptySubsequences: false).count, shape.allSatisfy({ $0 > 0 }) else {
            throw CLIError("--input must look like 3x32x32, got '\(shapeText)'")
        }
        guard batchSize > 1 else { throw CLIError("--batch-size must be at least 2 (training-mode BatchNorm), got \(batchSize)") }
        guard classes > 1 else { throw CLIError("--classes must be at least 2, got \(classes)") }
        guard prune >= 0, prune < 1 else { throw CLIError("--prune must be in [0, 1), got \(prune)") }
        let net = try ModelZoo.make(model, inputShape: shape, classes: classes, seed: seed)
        var rng = RNG(seed: seed, stream: "crosscheck")
        // Running statistics away from (0, 1), so evaluation mode tests that they travel.
        for b in PyTorchState.entries(of: net) {
            guard let t = b.tensor else { continue }
            switch b.role {
            case .runningMean: for i in 0..<t.count { t[i] = 0.2 * rng.normal() }
            case .runningVar: for i in 0..<t.count { t[i] = 0.5 + rng.uniform() }
            case .parameter(let p) where p.kind == "norm":
                // γ and β away from 1 and 0.
                for i in 0..<t.count { t[i] += 0.1 * rng.normal() }
            default: break
            }
        }
        if prune > 0 {
            for p in net.parameters where p.prunable {
                let m = Tensor(shape: p.value.shape, repeating: 1)
                for i in 0..<m.count where Double(rng.uniform()) < prune { m[i] = 0 }
                p.setMask(m)
            }
        }
        let x = Tensor(shape: [batchSize] + shape)
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels = (0..<batchSize).map { _ in Int32(rng.below(classes)) }

        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var meta = ModelFiles.metadata(model: net, dataset: nil, normalization: nil)
        meta["seed"] = String(seed)
        do { try ModelFiles.write(PyTorchState.writer(for: net, masks: prune > 0, metadata: meta), to: "\(out)/weights.safetensors") } catch { throw interopError(error) }

        var ref = SafetensorsWriter()
        ref.metadata = ["model": model, "prune": "\(prune)"]
        ref.add("input", x)
        ref.add("labels", shape: [batchSize], values: labels.map(Float.init))
        let dLogits = Tensor(shape: [0])
        var observed = SafetensorsWriter()
        let hidden = net.network.leaves.compactMap { $0 as? any Activation }
        for (mode, training) in [("eval", false), ("train", true)] {
            net.zeroGradients()
            if activations {
                var index = 0
                for a in hidden {
                    a.observer = { [a] y in
                        observed.add(String(format: "\(mode)/%03d", index), y)
                        observed.metadata[String(format: "\(mode)/%03d", index)] = a.name
                        index += 1
                    }
                }
            }
            let logits = net.forward(x, training: training)
            for a in hidden { a.observer = nil }
            ref.add("logits.\(mode)", logits)
            let loss = labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: dLogits).loss
            }
            ref.add("loss.\(mode)", shape: [], values: [loss])
            net.backward(dLogits)
            for p in net.parameters {
                let g = p.grad.clone()
                if let m = p.mask { for i in 0..<g.count where m[i] == 0 { g[i] = 0 } }
                ref.add("grad.\(mode)/\(p.name)", g)
            }
        }
        for e in PyTorchState.entries(of: net) {
            switch e.role {
            case .runningMean, .runningVar: ref.add("running.train/\(e.name)", e.tensor!)
            default: break
            }
        }
        do {
            try ModelFiles.write(ref, to: "\(out)/reference.safetensors")
            if activations { try ModelFiles.write(observed, to: "\(out)/activations.safetensors") }
        } catch { throw interopError(error) }
        log("wrote \(out)/weights.safetensors and \(out)/reference.safetensors (\(model), batch \(batchSize)x\(shapeText))")
    }
}

extension Train {
    func loadInitialWeights(_ path: String, into net: Model, allowPartial: Bool) throws {
        do {
            logSkipped(try ModelFiles.load(path, into: net, allowPartial: allowPartial))
        } catch { throw interopError(error) }
        log("initialised \(net.name) from \(path)")
    }

    func saveTrained(_ net: Model, to path: String, dataset: String, splits: Splits) throws {
        let meta = ModelFiles.metadata(model: net, dataset: dataset, normalization: splits.normalization)
        do { try ModelFiles.write(PyTorchState.writer(for: net, metadata: meta), to: path) } catch { throw interopError(error) }
        log("wrote \(path)")
    }
}
