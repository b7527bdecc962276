import Tensor

/// Updates parameters from their accumulated gradients.
///
/// Mask invariant (SPEC §1): for an entry whose mask is 0, the value stays 0 and
/// every state slot (momentum, moments) is 0 after each step, whatever the gradient.
public protocol Optimizer: AnyObject {
    func step(_ parameters: [Parameter], lr: Float)
    /// The state tensors of `parameter` (e.g. momentum buffer), for checkpoints and tests.
    func state(of parameter: Parameter) -> [Tensor]
    /// Forget all state (a fresh optimizer, as at the start of a retraining cycle if wanted).
    func reset()
}

/// Per-parameter state keyed by identity, created lazily on first use.
final class StateStore {
    private var slots: [ObjectIdentifier: [Tensor]] = [:]
    let perParameter: Int
    init(perParameter: Int) { self.perParameter = perParameter }

    func slots(for p: Parameter) -> [Tensor] {
        if let s = slots[ObjectIdentifier(p)] { return s }
        let s = (0..<perParameter).map { _ in Tensor(shape: p.value.shape) }
        slots[ObjectIdentifier(p)] = s
        return s
    }

    func existing(for p: Parameter) -> [Tensor] { slots[ObjectIdentifier(p)] ?? [] }
    func reset() { slots = [:] }
}

/// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay,
/// matching PyTorch's `torch.optim.SGD`:
/// g = grad + wd * w; buf = mu * buf + g; step = nesterov ? g + mu * buf : buf; w -= lr * step.
public final class SGD: Optimizer {
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private let store = StateStore(perParameter: 1)

    public init(momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func state(of p: Parameter) -> [Tensor] { store.existing(for: p) }
    public func reset() { store.reset() }

    public func step(_ parameters: [Parameter], lr: Float) {
        for p in parameters {
            let n = p.count, w = p.value.data, g = p.grad.data
            let m = p.mask?.data
            let wd = weightDecay, mu = momentum
            if mu == 0 {
                for i in 0..<n {
                    let keep: Float = m?[i] ?? 1
                    w[i] = (w[i] - lr * (g[i] + wd * w[i])) * keep
                }
                continue
            }
            let buf = store.slots(for: p)[0].data
            if nesterov {
                for i in 0..<n {
                    let keep: Float = m?[i] ?? 1
                    let d = g[i] + wd * w[i]
                    let b = (mu * buf[i] + d) * keep
                    buf[i] = b
                    w[i] = (w[i] - lr * (d + mu * b)) * keep
                }
            } else {
                for i in 0..<n {
                    let keep: Float = m?[i] ?? 1
                    let b = (mu * buf[i] + g[i] + wd * w[i]) * keep
                    buf[i] = b
                    w[i] = (w[i] - lr * b) * keep
                }
            }
        }
    }
}
