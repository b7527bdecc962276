import NN
import Tensor

/// A model's state under the names of its PyTorch `state_dict()`.
///
/// Topiary's parameter names were chosen to be PyTorch module paths already (`conv1.weight`,
/// `layer2.0.shortcut.bn.bias`, `block3.attn.qkv.weight`), so parameters keep their own
/// names; `python/topiary_models.py` builds each zoo network with exactly this module tree.
/// BatchNorm buffers have no names in the engine: they are named after their layer's γ,
/// `X.weight` → `X.running_mean`, `X.running_var`, `X.num_batches_tracked`.
public enum PyTorchState {
    public enum Role {
        case parameter(Parameter)
        case runningMean, runningVar
        /// PyTorch's batch counter; Topiary's BatchNorm uses a fixed momentum and keeps none.
        case batchCount
    }

    public struct Entry {
        public let name: String
        public let shape: [Int]
        /// The tensor holding the values (nil for the batch counter).
        public let tensor: Tensor?
        public let role: Role
    }

    /// Every parameter and BatchNorm buffer, each layer's parameters followed by its
    /// buffers (the order `state_dict()` lists them in).
    public static func entries(of model: Model) -> [Entry] {
        var buffersAfter: [ObjectIdentifier: [Entry]] = [:]
        for layer in model.network.leaves {
            let stats: (gamma: Parameter, mean: Tensor, variance: Tensor)
            if let bn = layer as? BatchNorm2d {
                stats = (bn.gamma, bn.runningMean, bn.runningVar)
            } else if let bn = layer as? BatchNorm1d {
                stats = (bn.gamma, bn.runningMean, bn.runningVar)
            } else {
                continue
            }
            let prefix = String(stats.gamma.name.dropLast(".weight".count))
            buffersAfter[ObjectIdentifier(stats.gamma)] = [
                Entry(name: "\(prefix).running_mean", shape: stats.mean.shape, tensor: stats.mean, role: .runningMean),
                Entry(name: "\(prefix).running_var", shape: stats.variance.shape, tensor: stats.variance, role: .runningVar),
                Entry(name: "\(prefix).num_batches_tracked", shape: [], tensor: nil, role: .batchCount),
            ]
        }
        var out: [Entry] = []
        let parameters = model.parameters
        for (k, p) in parameters.enumerated() {
            out.append(Entry(name: p.name, shape: p.value.shape, tensor: p.value, role: .parameter(p)))
            // A BatchNorm's buffers follow its β, the parameter after γ.
            if k > 0, let buffers = buffersAfter[ObjectIdentifier(parameters[k - 1])] { out += buffers }
        }
        return out
    }

    /// A writer holding the model's state; with `masks`, one `NAME_mask` tensor per masked
    /// parameter (the buffer name `torch.nn.utils.prune` gives it).
    public static func writer(for model: Model, masks: Bool = false, metadata: [String: String] = [:]) -> SafetensorsWriter {
        var w = SafetensorsWriter()
        w.metadata = metadata
        for e in entries(of: model) {
            if let t = e.tensor {
                w.add(e.name, t)
            } else {
                w.add(e.name, shape: [], integers: [0])
            }
            if masks, case .parameter(let p) = e.role, let m = p.mask { w.add("\(p.name)_mask", m) }
        }
        return w
    }

    /// What an import left out (only with `allowPartial`).
    public struct ImportReport: Equatable, Sendable {
        /// Model tensors the file did not provide (they keep their current values).
        public var missing: [String] = []
        /// File tensors the model has no place for.
        public var unexpected: [String] = []
        /// Parameters that received a mask from a `NAME_mask` tensor.
        public var masked: [String] = []
    }

    /// Copies the file's tensors into `model`. Every mismatch is collected before anything
    /// is written, so a failed import leaves the model as it was.
    public static func load(_ file: SafetensorsFile, into model: Model, allowPartial: Bool = false) throws(ImportError) -> ImportReport {
        var problems: [String] = []
        var report = ImportReport()
        var assignments: [(Tensor, String)] = []
        var maskAssignments: [(Parameter, String)] = []
        var used = Set<String>()
        for e in entries(of: model) {
            if case .batchCount = e.role {
                // Optional, and its value has no counterpart: accept it if present.
                used.insert(e.name)
                continue
            }
            // A network pruned with torch.nn.utils.prune stores `NAME_orig` and `NAME_mask`
            // (for a weight, and for a bias or BatchNorm γ/β that structured pruning masked).
            var source = e.name
            if file.entry(source) == nil, case .parameter = e.role, file.entry(e.name + "_orig") != nil { source = e.name + "_orig" }
            guard let f = file.entry(source) else {
                report.missing.append(e.name)
                continue
            }
            used.insert(source)
            var fits = true
            if !f.dtype.isFloatingPoint {
                problems.append("\(source) has dtype \(f.dtype.rawValue), the model needs a floating-point type")
                fits = false
            }
            if f.shape != e.shape {
                problems.append("\(source) has shape \(shapeText(f.shape)), the model's is \(shapeText(e.shape))")
                fits = false
            }
            if fits, let t = e.tensor { assignments.append((t, source)) }
            if case .parameter(let p) = e.role, let m = file.entry("\(p.name)_mask") {
                used.insert(m.name)
                // Any parameter may carry a mask: structured pruning masks a removed unit's
                // bias and BatchNorm γ/β along with its filter.
                if m.shape != e.shape {
                    problems.append("\(m.name) has shape \(shapeText(m.shape)), the model's \(p.name) is \(shapeText(e.shape))")
                } else {
                    maskAssignments.append((p, m.name))
                }
            }
        }
        report.unexpected = file.names.filter { !used.contains($0) }
        if !allowPartial {
            problems += report.missing.map { "\($0) is missing from the file" }
            problems += report.unexpected.map { "\($0) is not a tensor of \(model.name)" }
        }
        var masks: [(Parameter, Tensor)] = []
        for (p, name) in maskAssignments {
            // Entries are validated, so reading cannot fail; keep the typed path anyway.
            guard let values = try? file.values(name) else { continue }
            if let bad = values.first(where: { $0 != 0 && $0 != 1 }) {
                problems.append("\(name) holds \(bad), a mask holds only 0 and 1")
            } else {
                masks.append((p, Tensor(shape: p.value.shape, values: values)))
            }
        }
        guard problems.isEmpty else { throw .mismatch(model: model.name, problems: problems) }
        for (t, name) in assignments {
            guard let values = try? file.values(name) else { continue }
            values.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
        for (p, m) in masks {
            p.setMask(m)
            report.masked.append(p.name)
        }
        return report
    }

    static func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
}

public enum ImportError: Error, CustomStringConvertible, Equatable {
    case mismatch(model: String, problems: [String])

    public var description: String {
        switch self {
        case .mismatch(let m, let p):
            // One line stays readable: a file of another architecture mismatches everywhere.
            let shown = p.prefix(8).joined(separator: "; ")
            return "the weights do not fit \(m): " + shown + (p.count > 8 ? "; and \(p.count - 8) more" : "")
        }
    }
}
