import Tensor

/// A network with its name and the data shape it expects.
public final class Model {
    /// The model's name, e.g. a `ModelZoo` name.
    public let name: String
    /// The layers, run in order.
    public let network: Sequential
    /// Shape of one input sample, e.g. [1, 28, 28].
    public let inputShape: [Int]
    /// Number of output classes (the width of the logits).
    public let classes: Int

    /// Wraps `network`; its first layer is told not to compute an input gradient (the input is data).
    public init(name: String, network: Sequential, inputShape: [Int], classes: Int) {
        self.name = name
        self.network = network
        self.inputShape = inputShape
        self.classes = classes
        // The input is data: no layer needs dLoss/dInput for it.
        if let first = network.layers.first as? any InputGradientSkippable { first.computesInputGradient = false }
    }

    /// Every parameter, in the network's stable order (what optimizers and pruning take).
    public var parameters: [Parameter] { network.parameters }
    /// Non-trained state that a checkpoint must keep (BatchNorm running statistics).
    public var buffers: [Tensor] { network.buffers }
    /// Number of scalars in all parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    /// Number of scalars in prunable parameters (the denominator of sparsity).
    public var prunableParameterCount: Int { parameters.filter(\.prunable).reduce(0) { $0 + $1.count } }

    /// The logits for batch `x` (`[batch] + inputShape`).
    public func forward(_ x: Tensor, training: Bool) -> Tensor { network.forward(x, training: training) }
    /// The logits for batch `x` in evaluation mode with no backward to follow (`Layer.infer`):
    /// the bits of `forward(x, training: false)`, faster where pruned convolutions apply
    /// the BatchNorm after them in their own pass.
    public func infer(_ x: Tensor) -> Tensor { network.infer(x) }
    /// Back-propagates dLoss/dLogits, accumulating every parameter's gradient.
    public func backward(_ dy: Tensor) { _ = network.backward(dy) }

    /// Sets every parameter's gradient to zero (before each training step: `backward` accumulates).
    public func zeroGradients() {
        for p in parameters { p.grad.zero() }
    }
}

/// Errors building a model; each names the model or shape at fault.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, known: [String])
    case incompatibleInput(model: String, shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .unknownModel(let n, let known):
            return "unknown model '\(n)' (known: \(known.joined(separator: ", ")))"
        case .incompatibleInput(let m, let s, let r):
            return "model \(m) cannot take input of shape \(s.map(String.init).joined(separator: "x")): \(r)"
        }
    }
}
