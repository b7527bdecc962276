import Tensor

/// A differentiable building block with an explicit backward pass.
///
/// `forward` caches what `backward` needs; `backward` receives dLoss/dOutput,
/// *accumulates* into its parameters' gradients and returns dLoss/dInput.
/// Returned tensors are owned by the layer and overwritten by its next call.
public protocol Layer: AnyObject {
    /// The output for a batch (first dimension: the batch size), caching what `backward`
    /// needs; `training` is true in training steps (dropout active, BatchNorm updating its
    /// running statistics). The result is owned by the layer and overwritten by its next call.
    func forward(_ input: Tensor, training: Bool) -> Tensor
    /// Given dLoss/dOutput of the last `forward`, adds dLoss/dParameter into each parameter's `grad` and returns dLoss/dInput (owned by the layer).
    func backward(_ gradOutput: Tensor) -> Tensor
    /// The layer's own parameters and its children's, in a stable order.
    var parameters: [Parameter] { get }
    /// A short name for summaries, e.g. "Linear(784→256)".
    var summary: String { get }
    /// State that is not trained but must survive a checkpoint (BatchNorm running statistics).
    var buffers: [Tensor] { get }
    /// The child layers a composite runs, in forward order (its own arithmetic, such as a
    /// residual sum, is not a layer and not listed); empty for a leaf.
    var sublayers: [any Layer] { get }
    /// The evaluation-mode output with no backward to follow: what `forward(_:training: false)`
    /// computes, the same bits, but free to skip what only backward needs (a pruned
    /// convolution then applies the BatchNorm after it as it writes its output). Calling
    /// `backward` after it is an error.
    func infer(_ input: Tensor) -> Tensor
}

extension Layer {
    /// No parameters: the default for layers without weights.
    public var parameters: [Parameter] { [] }
    /// No buffers: the default for layers without non-trained state.
    public var buffers: [Tensor] { [] }
    /// No children: the default for leaf layers.
    public var sublayers: [any Layer] { [] }
    /// `forward(_:training: false)`: the default.
    public func infer(_ input: Tensor) -> Tensor { forward(input, training: false) }

    /// The leaf layers in forward order, composites unrolled (itself when a leaf), so code
    /// that inspects a network sees inside residual, dense, inverted-residual and
    /// transformer blocks.
    public var leaves: [any Layer] { sublayers.isEmpty ? [self] : sublayers.flatMap(\.leaves) }
}

/// Layers that can skip computing dLoss/dInput (the network's first layer, whose input is data).
public protocol InputGradientSkippable: Layer {
    var computesInputGradient: Bool { get set }
}
