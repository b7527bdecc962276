import Data
import Foundation
import NN
import Tensor

/// How much memory training a model at a batch size needs, estimated before anything large
/// is allocated, so an impossible batch is refused with one line instead of an allocation
/// failure or the kernel's out-of-memory killer.
///
/// A scratch copy of the model takes one training step at batch 2 and one at batch 4; the
/// buffers its layers then hold (found by reflection: every `Tensor` and `[Float]` a layer or
/// its sub-layers store) grow by the per-sample size. The estimate is parameters ×4 (values,
/// gradients, up to two optimizer moments) + fixed buffers + per sample × the larger of the
/// training and evaluation batch + two copies of the input batch (batcher, augmentation).
/// Work that lives outside layers (library scratch space) is not counted: it is an estimate.
package struct MemoryEstimate: Sendable, Equatable {
    package let parameterBytes: Double
    package let fixedBytes: Double
    package let bytesPerSample: Double
    package let inputBytesPerSample: Double
    /// The model has BatchNorm (its running statistics are the zoo's only buffers), which in
    /// training needs at least two samples per batch.
    package let usesBatchNorm: Bool

    package static func measure(model name: String, inputShape: [Int], classes: Int) throws -> MemoryEstimate {
        let model = try ModelZoo.make(name, inputShape: inputShape, classes: classes, seed: 0)
        let grad = Tensor(shape: [0])
        func held(batch: Int) -> Double {
            let x = Tensor(shape: [batch] + inputShape)
            let labels = [Int32](repeating: 0, count: batch)
            let out = model.forward(x, training: true)
            labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: grad) }
            model.backward(grad)
            var seen = Set<ObjectIdentifier>()
            return layerBytes(model.network, seen: &seen)
        }
        // Batches of 2 and 4, not 1: BatchNorm in training needs two values per channel, and
        // a network's last maps can be 1x1 (VGG on 28x28 inputs).
        let two = held(batch: 2), four = held(batch: 4)
        let perSample = max(0, four - two) / 2
        let params = Double(model.parameters.reduce(0) { $0 + $1.count }) * 4
        return MemoryEstimate(parameterBytes: params, fixedBytes: max(0, two - 2 * perSample), bytesPerSample: perSample,
                              inputBytesPerSample: Double(inputShape.reduce(1, *)) * 4, usesBatchNorm: !model.buffers.isEmpty)
    }

    /// Bytes for training at `batchSize` and evaluating at `evalBatchSize`.
    package func bytes(batchSize: Int, evalBatchSize: Int = 0) -> Double {
        let samples = Double(max(batchSize, evalBatchSize))
        return parameterBytes * 4 + fixedBytes + samples * (bytesPerSample + 2 * inputBytesPerSample)
    }

    /// Buffers held by `layer` and its sub-layers, each tensor counted once.
    static func layerBytes(_ layer: Any, seen: inout Set<ObjectIdentifier>) -> Double {
        var total = 0.0
        var mirror: Mirror? = Mirror(reflecting: layer)
        while let m = mirror {
            for child in m.children { total += valueBytes(child.value, seen: &seen) }
            mirror = m.superclassMirror
        }
        return total
    }

    private static func valueBytes(_ value: Any, seen: inout Set<ObjectIdentifier>) -> Double {
        switch value {
        case is Parameter: return 0  // counted with the parameters
        case let t as Tensor:
            return seen.insert(ObjectIdentifier(t)).inserted ? Double(t.capacity) * 4 : 0
        case let a as [Float]: return Double(a.count) * 4
        case let ts as [Tensor]: return ts.reduce(0) { $0 + valueBytes($1, seen: &seen) }
        case let l as any Layer:
            return seen.insert(ObjectIdentifier(l)).inserted ? layerBytes(l, seen: &seen) : 0
        case let ls as [any Layer]: return ls.reduce(0) { $0 + valueBytes($1, seen: &seen) }
        default: return 0
        }
    }

    /// Memory this process may still use: MemAvailable, capped by a cgroup (v2) limit.
    package static var availableBytes: Double? {
        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        var available: Double?
        if let info = read("/proc/meminfo"),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
            available = kb * 1024
        }
        if let limit = read("/sys/fs/cgroup/memory.max").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           let used = read("/sys/fs/cgroup/memory.current").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            available = min(available ?? .infinity, max(0, limit - used))
        }
        return available
    }

    /// Throws one line naming the estimate and the memory available when training `name` at
    /// `batchSize` cannot fit.
    package static func check(model name: String, inputShape: [Int], classes: Int, batchSize: Int,
                             evalBatchSize: Int = 0) throws {
        let estimate = try measure(model: name, inputShape: inputShape, classes: classes)
        if batchSize < 2, estimate.usesBatchNorm {
            throw RunError.spec("batch size \(batchSize) is too small for \(name): BatchNorm in training needs at least 2 samples per batch")
        }
        guard let available = availableBytes else { return }
        let need = estimate.bytes(batchSize: batchSize, evalBatchSize: evalBatchSize)
        guard need > available else { return }
        throw RunError.spec("batch size \(batchSize) needs about \(gib(need)) of memory for \(name) (estimate), "
                            + "more than the \(gib(available)) available; use a smaller batch")
    }

    static func gib(_ bytes: Double) -> String {
        let gib = 1024.0 * 1024 * 1024
        return bytes >= gib ? String(format: "%.1f GiB", bytes / gib) : String(format: "%.0f MiB", bytes / (gib / 1024))
    }

    /// The checks every command that trains makes once its data is loaded: the batch must not
    /// be larger than the training set (an error, not a silent cap: the budget in iterations
    /// would no longer mean what the spec says), and it must fit in memory.
    package static func requireFit(model name: String, splits: Splits, batchSize: Int, evalBatchSize: Int = 1000) throws {
        let n = splits.train.count
        guard batchSize <= n else {
            throw RunError.spec("batch size \(batchSize) is larger than the training set (\(n) samples)")
        }
        try check(model: name, inputShape: splits.train.sampleShape, classes: splits.train.classes, batchSize: batchSize,
                  evalBatchSize: min(evalBatchSize, max(splits.validation.count, splits.test.count)))
    }
}
