import Tensor

/// A differentiable building block with an explicit backward pass.
///
/// `forward` caches what `backward` needs; `backward` receives dLoss/dOutput,
/// *accumulates* into its parameters' gradients and returns dLoss/dInput.
/// Returned tensors are owned by the layer and overwritten by its next call.
public protocol Layer: AnyObject {
    func forward(_ input: Tensor, training: Bool) -> Tensor
    func backward(_ gradOutput: Tensor) -> Tensor
    /// The layer's own parameters and its children's, in a stable order.
    var parameters: [Parameter] { get }
    /// A short name for summaries, e.g. "Linear(784→256)".
    var summary: String { get }
    /// State that is not trained but must survive a checkpoint (BatchNorm running statistics).
    var buffers: [Tensor] { get }
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [Tensor] { [] }
}

/// Layers that can skip computing dLoss/dInput (the network's first layer, whose input is data).
public protocol InputGradientSkippable: Layer {
    var computesInputGradient: Bool { get set }
}
