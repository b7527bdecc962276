import Tensor

/// Layers applied in order; backward runs them in reverse.
public final class Sequential: Layer {
    /// The layers in forward order.
    public let layers: [any Layer]
    /// A network that runs `layers` one after the other.
    public init(_ layers: [any Layer]) { self.layers = layers }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Tensor] { layers.flatMap(\.buffers) }
    public var sublayers: [any Layer] { layers }
    public var summary: String { "Sequential(" + layers.map(\.summary).joined(separator: ", ") + ")" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            // A BatchNorm2d computes the ReLU after it in the same pass (`BatchNorm2d.fuse`).
            if let bn = layer as? BatchNorm2d, let relu = bn.fusedReLU, i + 1 < layers.count, layers[i + 1] === relu {
                h = bn.forward(h, training: training, fusing: relu)
            } else {
                h = layer.forward(h, training: training)
            }
        }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for layer in layers.reversed() { g = layer.backward(g) }
        return g
    }
}
