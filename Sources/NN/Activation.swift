import Tensor

/// An elementwise nonlinearity (ReLU, ReLU6, GELU). Its outputs are the network's hidden
/// representations, which SPEC §7's diagnostics read through `observer`.
public protocol Activation: Layer {
    /// Its place in the network, in the form of parameter names (e.g. "layer1.0.relu1");
    /// "" when built without one.
    var name: String { get }
    /// While set, called with the output of every forward pass; the tensor is the layer's
    /// own and only valid during the call. nil (the default) costs training one test per pass.
    var observer: ((Tensor) -> Void)? { get set }
}
