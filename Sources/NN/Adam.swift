import CKernels
import Tensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam with L2 weight decay added to the gradient (not decoupled: that is AdamW),
/// matching PyTorch's `torch.optim.Adam`:
/// g = grad + wd * w; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
///
/// State per parameter: `[m, v]`, plus the step count `t` (see `stepCount(of:)`).
public final class Adam: Optimizer {
    /// The hyperparameters, as in PyTorch.
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    private let store = StateStore(perParameter: 2)

    /// An optimizer with no state yet; moments are created on a parameter's first step.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// The first and second moments of `p` (empty before its first step).
    public func state(of p: Parameter) -> [Tensor] { store.existing(for: p) }
    /// Forgets all moments and step counts.
    public func reset() { store.reset() }
    public func exportState(_ parameters: [Parameter]) -> OptimizerState { store.export(parameters) }
    public func importState(_ state: OptimizerState, into parameters: [Parameter]) -> Bool { store.load(state, into: parameters) }
    /// Steps taken on `p` since creation or `reset` (bias correction uses it).
    public func stepCount(of p: Parameter) -> Int { store.stepCount(of: p) }

    /// One Adam update of `parameters` with learning rate `lr`, honouring their masks.
    public func step(_ parameters: [Parameter], lr: Float) {
        let b1 = beta1, b2 = beta2, wd = weightDecay, eps = eps
        for p in parameters {
            let t = store.advance(p)
            let s = store.slots(for: p)
            let n = p.count, w = p.value.data, g = p.grad.data, m = s[0].data, v = s[1].data
            // Corrections in Double, as PyTorch computes them in Python floats.
            let correction1 = 1 - pow(Double(b1), Double(t))
            let correction2 = 1 - pow(Double(b2), Double(t))
            let stepSize = Float(Double(lr) / correction1)
            let invSqrtCorrection2 = Float(1 / correction2.squareRoot())
            // Masked entries by select (0 * NaN would leak a NaN gradient): CKernels' tk_adam.
            tk_adam(n, w, g, m, v, p.mask?.data, stepSize, b1, b2, wd, eps, invSqrtCorrection2)
        }
    }
}
