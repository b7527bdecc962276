import CKernels
import Tensor

/// RMSProp (uncentred) with optional momentum and L2 weight decay, matching PyTorch's
/// `torch.optim.RMSprop`:
/// g = grad + wd * w; s = alpha s + (1 - alpha) g^2; a = sqrt(s) + eps;
/// without momentum w -= lr * g / a; with momentum buf = mu buf + g / a, w -= lr * buf.
///
/// State per parameter: `[s]`, or `[s, buf]` with momentum.
public final class RMSProp: Optimizer {
    /// The hyperparameters, as in PyTorch.
    public let alpha: Float, eps: Float, momentum: Float, weightDecay: Float
    private let store: StateStore

    /// An optimizer with no state yet; its averages are created on a parameter's first step.
    public init(alpha: Float = 0.99, eps: Float = 1e-8, momentum: Float = 0, weightDecay: Float = 0) {
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        self.weightDecay = weightDecay
        store = StateStore(perParameter: momentum > 0 ? 2 : 1)
    }

    /// The running averages (and momentum buffer) of `p`.
    public func state(of p: Parameter) -> [Tensor] { store.existing(for: p) }
    /// Forgets all state.
    public func reset() { store.reset() }
    public func exportState(_ parameters: [Parameter]) -> OptimizerState { store.export(parameters) }
    public func importState(_ state: OptimizerState, into parameters: [Parameter]) -> Bool { store.load(state, into: parameters) }

    /// One RMSProp update of `parameters` with learning rate `lr`, honouring their masks.
    public func step(_ parameters: [Parameter], lr: Float) {
        let a = alpha, wd = weightDecay, eps = eps, mu = momentum
        for p in parameters {
            let s = store.slots(for: p)
            let n = p.count, w = p.value.data, g = p.grad.data, sq = s[0].data
            // Masked entries by select (0 * NaN would leak a NaN gradient): CKernels' tk_rmsprop.
            let buf = mu > 0 ? s[1].data : nil
            tk_rmsprop(n, w, g, sq, buf, p.mask?.data, lr, a, mu, wd, eps)
        }
    }
}
