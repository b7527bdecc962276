/// NN: layers with explicit forward and backward passes (Caffe / llm.c style), models,
/// losses and optimizers. Every pruning guarantee rests on `Parameter`'s mask.
import Tensor

/// A trainable tensor with its gradient and, once pruned, a 0/1 mask.
///
/// The mask is the single source of truth for sparsity: `applyMask` zeroes pruned
/// values, and every optimizer multiplies its update and its state by the mask, so a
/// pruned weight stays exactly zero and carries no momentum that could revive it.
public final class Parameter: @unchecked Sendable {
    /// A name unique within its model, e.g. "fc1.weight"; records, checkpoints and selections refer to it.
    public let name: String
    /// The trained values.
    public let value: Tensor
    /// dLoss/dValue, accumulated by `backward` until zeroed.
    public let grad: Tensor
    /// 1 = keep, 0 = pruned, the shape of `value`; `nil` while never pruned.
    public private(set) var mask: Tensor?
    /// Whether pruning criteria may remove entries (weights of Linear / Conv layers).
    public var prunable: Bool
    /// Kind of layer that owns it, e.g. "linear" or "conv" (for configurable prunable sets).
    public let kind: String

    /// A zero-filled parameter (the owning layer initialises `value`), without a mask.
    public init(name: String, shape: [Int], prunable: Bool, kind: String) {
        self.name = name
        value = Tensor(shape: shape)
        grad = Tensor(shape: shape)
        self.prunable = prunable
        self.kind = kind
    }

    /// Number of scalars.
    public var count: Int { value.count }

    /// Installs `mask` (1 = keep, 0 = pruned) and zeroes the pruned values and gradients.
    public func setMask(_ newMask: Tensor) {
        precondition(newMask.shape == value.shape, "mask \(newMask.shape) for parameter \(name) \(value.shape)")
        mask = newMask
        applyMask()
    }

    /// Forgets the mask (every entry may be trained again); values stay as they are.
    public func removeMask() { mask = nil }

    /// Re-zeroes pruned entries of the value and the gradient.
    public func applyMask() {
        guard let m = mask else { return }
        let v = value.data, g = grad.data, mp = m.data
        // Select, not multiply: 0 * NaN would leave a pruned entry NaN after divergence.
        for i in 0..<value.count where mp[i] == 0 {
            v[i] = 0
            g[i] = 0
        }
    }

    /// Number of entries the mask keeps (all of them when unmasked).
    public var unprunedCount: Int {
        guard let m = mask else { return count }
        var n = 0
        for i in 0..<m.count where m.data[i] != 0 { n += 1 }
        return n
    }
}
