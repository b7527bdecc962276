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
    /// Changes whenever `setMask` or `removeMask` runs, so layers and optimizers that derive
    /// structures from the mask (sparse kernels' patterns, kept-index lists) rebuild them only
    /// then. Writing into `mask`'s storage directly does not count: install a new mask instead.
    public private(set) var maskVersion = 0
    private var keptCache: (version: Int, indices: [Int32])?
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
        maskVersion += 1
        applyMask()
    }

    /// Forgets the mask (every entry may be trained again); values stay as they are.
    public func removeMask() {
        mask = nil
        maskVersion += 1
    }

    /// The flat indices the mask keeps, ascending (every index when unmasked), cached per
    /// `maskVersion`.
    public var keptIndices: [Int32] {
        if let c = keptCache, c.version == maskVersion { return c.indices }
        var out: [Int32] = []
        if let m = mask?.data {
            for i in 0..<count where m[i] != 0 { out.append(Int32(i)) }
        } else {
            out = (0..<Int32(count)).map { $0 }
        }
        keptCache = (maskVersion, out)
        return out
    }

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
