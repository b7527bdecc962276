import CKernels
import Tensor

/// Updates parameters from their accumulated gradients.
///
/// Mask invariant (SPEC §1): for an entry whose mask is 0, the value stays 0 and
/// every state slot (momentum, moments) is 0 after each step, whatever the gradient.
public protocol Optimizer: AnyObject {
    /// Updates `parameters` from their gradients with learning rate `lr`. Masked entries, and their optimizer state, are set to exactly zero.
    func step(_ parameters: [Parameter], lr: Float)
    /// The state tensors of `parameter` (e.g. momentum buffer), for checkpoints and tests.
    func state(of parameter: Parameter) -> [Tensor]
    /// Forget all state (a fresh optimizer, as at the start of a retraining cycle if wanted).
    func reset()
    /// All state of `parameters`, in their order (for mid-cycle checkpoints).
    func exportState(_ parameters: [Parameter]) -> OptimizerState
    /// Replaces all state with `state` exported for the same parameters; false (nothing
    /// changed) when it does not fit them.
    func importState(_ state: OptimizerState, into parameters: [Parameter]) -> Bool
}

/// Per-parameter state keyed by identity, created lazily on first use.
///
/// Each entry retains its parameter: keyed by `ObjectIdentifier` alone, a parameter
/// freed and a new one allocated at the same address would inherit the old state.
final class StateStore {
    private var slots: [ObjectIdentifier: (owner: Parameter, tensors: [Tensor])] = [:]
    private var steps: [ObjectIdentifier: Int] = [:]
    let perParameter: Int
    init(perParameter: Int) { self.perParameter = perParameter }

    func slots(for p: Parameter) -> [Tensor] {
        if let s = slots[ObjectIdentifier(p)] { return s.tensors }
        let s = (0..<perParameter).map { _ in Tensor(shape: p.value.shape) }
        slots[ObjectIdentifier(p)] = (p, s)
        return s
    }

    func existing(for p: Parameter) -> [Tensor] { slots[ObjectIdentifier(p)]?.tensors ?? [] }

    /// Counts one more step of `p` and returns the new count (1 on the first step), for
    /// optimizers whose update depends on it (Adam's bias correction).
    func advance(_ p: Parameter) -> Int {
        _ = slots(for: p)
        let t = (steps[ObjectIdentifier(p)] ?? 0) + 1
        steps[ObjectIdentifier(p)] = t
        return t
    }

    func stepCount(of p: Parameter) -> Int { steps[ObjectIdentifier(p)] ?? 0 }

    func setStepCount(_ t: Int, of p: Parameter) {
        guard t > 0 else { return }
        _ = slots(for: p)  // the slot entry retains `p`, so its identifier stays its own
        steps[ObjectIdentifier(p)] = t
    }

    func reset() {
        slots = [:]
        steps = [:]
    }
}

/// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay,
/// matching PyTorch's `torch.optim.SGD`:
/// g = grad + wd * w; buf = mu * buf + g; step = nesterov ? g + mu * buf : buf; w -= lr * step.
public final class SGD: Optimizer {
    /// The hyperparameters, as in PyTorch.
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private let store = StateStore(perParameter: 1)
    /// Whether masked updates may visit only the kept entries (`keptIndices`) instead of every
    /// entry; nil follows `SparseKernels.mode` (not `dense`). The results are the same bits:
    /// the first step after each mask change visits every entry, zeroing pruned values and
    /// momentum, and later steps leave those zeros alone.
    public var kernels: KernelMode?
    /// Per parameter, the mask version its last full masked update saw.
    private var swept: [ObjectIdentifier: (owner: Parameter, version: Int)] = [:]

    /// An optimizer with no state yet: momentum buffers are created on a parameter's first step.
    public init(momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// The momentum buffer of `p` (empty before its first step or without momentum).
    public func state(of p: Parameter) -> [Tensor] { store.existing(for: p) }
    /// Forgets all momentum.
    public func reset() {
        store.reset()
        swept = [:]
    }
    public func exportState(_ parameters: [Parameter]) -> OptimizerState { store.export(parameters) }
    /// A restored state starts with a full sweep (its mask versions are this process's own).
    public func importState(_ state: OptimizerState, into parameters: [Parameter]) -> Bool {
        swept = [:]
        return store.load(state, into: parameters)
    }

    /// The kept entries of `p` when this step may visit only those: masked, swept fully since
    /// its mask last changed, and sparse enough for the index list to pay.
    private func keptOnly(_ p: Parameter) -> [Int32]? {
        let mode = kernels ?? SparseKernels.mode
        guard mode != .dense, p.mask != nil else { return nil }
        let id = ObjectIdentifier(p)
        guard let s = swept[id], s.owner === p, s.version == p.maskVersion else {
            swept[id] = (p, p.maskVersion)
            return nil
        }
        let kept = p.keptIndices
        return mode == .sparse || kept.count * 2 <= p.count ? kept : nil
    }

    /// The update of `keptOnly`'s entries (every other entry is already 0 with 0 momentum).
    private func stepKept(_ p: Parameter, _ kept: [Int32], lr: Float) {
        let buf = momentum == 0 ? nil : store.slots(for: p)[0].data
        tk_sgd_kept(kept.count, kept, p.value.data, p.grad.data, buf, lr, momentum, weightDecay, nesterov ? 1 : 0)
    }

    /// One SGD update of `parameters` with learning rate `lr`, honouring their masks.
    public func step(_ parameters: [Parameter], lr: Float) {
        let wd = weightDecay, mu = momentum
        for p in parameters {
            if let kept = keptOnly(p) {
                stepKept(p, kept, lr: lr)
                continue
            }
            // Masked entries go through a select, not a multiply by the mask: 0 * NaN is
            // NaN, and the invariant must hold whatever the gradient (CKernels' tk_sgd).
            let buf = mu == 0 ? nil : store.slots(for: p)[0].data
            tk_sgd(p.count, p.value.data, p.grad.data, buf, p.mask?.data, lr, mu, wd, nesterov ? 1 : 0)
        }
    }
}
