import Tensor

/// Fills reusable input / label buffers with mini-batches, in a seeded shuffled
/// order per epoch (or in stored order for evaluation).
public final class Batcher {
    public let dataset: Dataset
    public let batchSize: Int
    public let inputs: Tensor
    public private(set) var labels: [Int32]
    private var order: [Int]
    private var position = 0
    private var rng: RNG
    private let shuffle: Bool
    /// Optional per-sample transform applied while copying (augmentation); gets the sample buffer.
    public var transform: ((UnsafeMutablePointer<Float>, inout RNG) -> Void)?

    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool, rng: RNG) {
        precondition(batchSize > 0)
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.rng = rng
        inputs = Tensor(shape: [batchSize] + dataset.sampleShape)
        labels = [Int32](repeating: 0, count: batchSize)
        order = Array(0..<dataset.count)
        if shuffle { self.rng.shuffle(&order) }
    }

    /// Batches per epoch (the last one may be smaller).
    public var batchesPerEpoch: Int { (dataset.count + batchSize - 1) / batchSize }

    /// Loads the next batch into `inputs` / `labels` and returns its size; a new
    /// epoch (reshuffled) starts automatically when the data is exhausted.
    @discardableResult
    public func next() -> Int {
        if position >= order.count {
            position = 0
            if shuffle { rng.shuffle(&order) }
        }
        let b = Swift.min(batchSize, order.count - position)
        let d = dataset.sampleSize
        inputs.resize([b] + dataset.sampleShape)
        labels.removeAll(keepingCapacity: true)
        dataset.features.withUnsafeBufferPointer { src in
            for k in 0..<b {
                let i = order[position + k]
                let dst = inputs.data + k * d
                dst.update(from: src.baseAddress! + i * d, count: d)
                transform?(dst, &rng)
                labels.append(dataset.labels[i])
            }
        }
        position += b
        return b
    }

    /// True when the next call to `next()` starts a new epoch.
    public var atEpochEnd: Bool { position >= order.count }

    /// Where the data stream stands: this epoch's order, the position in it and the generator
    /// that shuffles later epochs and draws the augmentation. Restoring it continues the
    /// stream exactly (mid-cycle checkpoints).
    public struct State: Sendable, Equatable, Codable {
        public var order: [Int]
        public var position: Int
        public var rng: [UInt64]
    }

    public var state: State { State(order: order, position: position, rng: rng.state) }

    /// Continues from `state`; false (and nothing changed) when it does not fit this dataset.
    public func restore(_ state: State) -> Bool {
        guard state.order.count == dataset.count, state.position >= 0, state.position <= dataset.count,
              state.order.allSatisfy({ $0 >= 0 && $0 < dataset.count }), let r = RNG(state: state.rng) else { return false }
        order = state.order
        position = state.position
        rng = r
        return true
    }

    /// Restarts at the beginning of the current order.
    public func rewind() { position = 0 }
}
