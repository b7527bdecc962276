import Data
import Foundation
import Interop
import NN
import Pruning
import Tensor

/// Networks as safetensors files: what an export carries besides the tensors, and the
/// per-cycle files a run keeps under `models/` when the spec asks for them.
public enum ModelFiles {
    /// Metadata that lets a network be used elsewhere: the architecture and input it
    /// expects, including the standardisation it was trained with (apply
    /// `(x - normalization_mean[c]) / normalization_std[c]` per channel first). Values are
    /// strings (the format's rule); lists are JSON arrays.
    public static func metadata(model: Model, dataset: String?, normalization: ChannelStatistics?) -> [String: String] {
        var m: [String: String] = [
            "format": "pt",
            "topiary_version": RunEnvironment.topiaryVersion,
            "model": model.name,
            "input_shape": jsonList(model.inputShape.map(String.init)),
            "classes": String(model.classes),
        ]
        if let dataset { m["dataset"] = dataset }
        if let n = normalization {
            m["normalization_mean"] = jsonList(n.mean.map { "\($0)" })
            m["normalization_std"] = jsonList(n.std.map { "\($0)" })
        }
        let prunable = model.parameters.filter(\.prunable)
        let kept = prunable.reduce(0) { $0 + $1.unprunedCount }, total = prunable.reduce(0) { $0 + $1.count }
        m["prunable_percent_remaining"] = "\(total == 0 ? 100 : 100 * Double(kept) / Double(total))"
        return m
    }

    /// A finished cycle's record as metadata.
    public static func metadata(record r: CycleRecord, spec: ExperimentSpec) -> [String: String] {
        [
            "spec_name": spec.name, "spec_hash": spec.hash, "schedule": r.schedule, "seed": String(r.seed),
            "cycle": String(r.cycle), "lambda": "\(r.percentRemaining)", "measured_lambda": "\(r.measuredPercentRemaining)",
            "best_val_accuracy": "\(r.bestValAccuracy)", "early_stop_test_accuracy": "\(r.earlyStopTestAccuracy)",
            "final_test_accuracy": "\(r.finalTestAccuracy)", "peak_lr": "\(r.peakLR)",
        ]
    }

    static func jsonList(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    /// `model` rebuilt with its removed filters physically gone (`compact`), and metadata
    /// saying so: `compacted` = "true", `compacted_channels` (per compacted layer's weight,
    /// the original output channels it kept, a JSON object) and `compacted_from` (their
    /// original counts). The smaller shapes are the tensors' own.
    public static func compacted(_ model: Model, metadata: [String: String]) throws -> (Model, [String: String]) {
        let c = try compact(model)
        var meta = metadata
        let names = c.keptChannels.keys.sorted()
        meta["compacted"] = "true"
        meta["compacted_channels"] = "{" + names.map { "\"\($0)\": " + jsonList(c.keptChannels[$0]!.map(String.init)) }
            .joined(separator: ", ") + "}"
        meta["compacted_from"] = "{" + names.map { "\"\($0)\": \(c.originalChannels[$0]!)" }.joined(separator: ", ") + "}"
        return (c.model, meta)
    }

    /// Reads `path` into `model`; problems become one `RunError` naming the file.
    @discardableResult
    public static func load(_ path: String, into model: Model, allowPartial: Bool = false) throws -> PyTorchState.ImportReport {
        do {
            let file = try SafetensorsFile(contentsOf: path)
            return try PyTorchState.load(file, into: model, allowPartial: allowPartial)
        } catch let e as SafetensorsError {
            throw RunError.io("\(path): \(e)")
        } catch let e as ImportError {
            throw RunError.io("\(path): \(e)")
        }
    }

    public static func write(_ writer: SafetensorsWriter, to path: String) throws {
        do { try writer.write(to: path) } catch { throw RunError.io(error.description) }
    }

    /// The network of one finished cycle of a run directory, with its metadata.
    ///
    /// The cycle comes from `models/` when the run kept it (`output: {models: every_cycle}`)
    /// and otherwise from the checkpoint, which holds the last finished cycle only. The
    /// dataset is loaded for the input shape and the training split's standardisation.
    /// `model` (full width, as `ModelZoo` builds it) reshaped to the file that `metadata`
    /// describes: unchanged unless the file was written by `compacted(_:metadata:)` (`export
    /// --compact`), else with the channels its `compacted_channels` does not list removed, so
    /// the file's tensors fit it. Values are to be loaded from the file afterwards.
    public static func shaped(_ model: Model, like metadata: [String: String]) throws -> Model {
        guard metadata["compacted"] == "true" else { return model }
        guard let text = metadata["compacted_channels"],
              let object = try? JSONSerialization.jsonObject(with: Foundation.Data(text.utf8)) as? [String: [Int]] else {
            throw RunError.io("the file says it is compacted but its compacted_channels metadata is not a JSON object of channel lists")
        }
        let units = FilterUnits(model)
        for (name, keep) in object {
            guard let unit = units[name], unit.exact, unit.weight !== units.classifier else {
                throw RunError.io("the file's compacted_channels names '\(name)', which \(model.name) cannot compact")
            }
            let channels = unit.weight.value.shape[0]
            guard !keep.isEmpty, keep.allSatisfy({ (0..<channels).contains($0) }) else {
                throw RunError.io("the file's compacted_channels for '\(name)' are not channels of \(model.name) (it has \(channels))")
            }
            let removed = (0..<channels).filter { !keep.contains($0) }
            try maskFilters(of: unit.weight, removed: removed)
            try maskUnit(unit, removed: removed)
        }
        return try compact(model).model
    }

    /// With `compact`, the network is written physically smaller (`compacted(_:metadata:)`).
    public static func export(runDirectory: String, schedule: String, seed: UInt64, cycle: Int?, masks: Bool,
                              dataDirectory: String?, compact: Bool = false) throws -> SafetensorsWriter {
        let store = RunStore(directory: runDirectory)
        let spec = try store.loadSpec()
        guard spec.schedules.contains(where: { $0.name == schedule }) else {
            throw RunError.spec("\(runDirectory) has no schedule '\(schedule)' (known: \(spec.schedules.map(\.name).joined(separator: ", ")))")
        }
        guard spec.seeds.contains(seed) else {
            throw RunError.spec("\(runDirectory) has no seed \(seed) (known: \(spec.seeds.map(String.init).joined(separator: ", ")))")
        }
        let ckptURL = store.checkpointURL(schedule: schedule, seed: seed)
        let ckpt: Checkpoint? = try FileManager.default.contents(atPath: ckptURL.path).map { try Checkpoint.decode($0, file: ckptURL.path) }
        let last = ckpt?.cycle
        let wanted = cycle ?? last
        guard let wanted else { throw RunError.io("run \(schedule) seed \(seed) in \(runDirectory) has no finished cycle yet") }
        let records = try store.allRecords(spec: spec).filter { $0.schedule == schedule && $0.seed == seed }
        guard let record = records.first(where: { $0.cycle == wanted }) else {
            throw RunError.io("run \(schedule) seed \(seed) in \(runDirectory) has not finished cycle \(wanted) (finished: \(records.map { String($0.cycle) }.joined(separator: ", ")))")
        }
        let splits = try DataSource.load(dataset: spec.data.dataset, directory: dataDirectory, split: spec.data.split,
                                         validationFraction: spec.data.validationFraction, seed: seed)
        let model = try ModelZoo.make(spec.model, inputShape: splits.train.sampleShape, classes: splits.train.classes,
                                      seed: seed, initialize: false)
        let kept = cycleModelURL(store, schedule: schedule, seed: seed, cycle: wanted)
        if FileManager.default.fileExists(atPath: kept.path) {
            try load(kept.path, into: model)
        } else if let ckpt, ckpt.cycle == wanted {
            try ckpt.restore(into: model.parameters, buffers: model.buffers, file: ckptURL.path)
        } else {
            throw RunError.io("cycle \(wanted) of run \(schedule) seed \(seed) was not kept (the checkpoint holds cycle \(last.map(String.init) ?? "none")); set output: {models: every_cycle} in the spec to keep every cycle")
        }
        var meta = metadata(model: model, dataset: spec.data.dataset, normalization: splits.normalization)
        meta.merge(metadata(record: record, spec: spec)) { $1 }
        if compact {
            let (small, smallMeta) = try compacted(model, metadata: meta)
            return PyTorchState.writer(for: small, masks: masks, metadata: smallMeta)
        }
        return PyTorchState.writer(for: model, masks: masks, metadata: meta)
    }

    /// models/SCHEDULE--seedN--cycleM.safetensors
    static func cycleModelURL(_ store: RunStore, schedule: String, seed: UInt64, cycle: Int) -> URL {
        store.directory.appendingPathComponent("models/\(RunStore.runName(schedule: schedule, seed: seed))--cycle\(cycle).safetensors")
    }

    /// Keeps a finished cycle's network (with masks) when the spec asks for it.
    static func keepCycle(model: Model, record: CycleRecord, spec: ExperimentSpec, store: RunStore, normalization: ChannelStatistics?) throws {
        guard let policy = spec.output?.models else { return }
        if policy == .last, record.cycle != spec.pruning.cycles { return }
        var meta = metadata(model: model, dataset: spec.data.dataset, normalization: normalization)
        meta.merge(metadata(record: record, spec: spec)) { $1 }
        let url = cycleModelURL(store, schedule: record.schedule, seed: record.seed, cycle: record.cycle)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(Data(PyTorchState.writer(for: model, masks: true, metadata: meta).bytes()), to: url)
    }
}

/// `output:` in a spec.
public struct OutputSpec: Codable, Equatable, Sendable {
    public enum Models: String, Codable, Sendable, CaseIterable {
        /// Every finished cycle's network under `models/` (any point of the accuracy-vs-λ curve).
        case everyCycle = "every_cycle"
        /// Only the final cycle's.
        case last
    }
    public var models: Models?
    public init(models: Models? = nil) { self.models = models }
}
