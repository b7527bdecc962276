import Tensor

/// Layers applied in order; backward runs them in reverse.
public final class Sequential: Layer {
    /// The layers in forward order.
    public let layers: [any Layer]
    /// A network that runs `layers` one after the other; a BatchNorm2d followed by a ReLU or
    /// ReLU6 computes it in the same pass (`BatchNorm2d.fuse`), also in networks rebuilt from
    /// layers (compaction).
    public init(_ layers: [any Layer]) {
        self.layers = layers
        for (a, b) in zip(layers, layers.dropFirst()) {
            if let bn = a as? BatchNorm2d, let act = b as? any BatchNormFusable { bn.fuse(act) }
        }
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Tensor] { layers.flatMap(\.buffers) }
    public var sublayers: [any Layer] { layers }
    public var summary: String { "Sequential(" + layers.map(\.summary).joined(separator: ", ") + ")" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for i in layers.indices { h = forwardLayer(i, h, training: training) }
        return h
    }

    /// Layer `i`'s forward as this network runs it: a BatchNorm2d computes the ReLU or ReLU6
    /// after it in the same pass (`BatchNorm2d.fuse`), which then passes its input on. For
    /// profilers that time the layers one by one.
    package func forwardLayer(_ i: Int, _ h: Tensor, training: Bool) -> Tensor {
        if let block = layers[i] as? ResidualBlock {
            // Its backward may apply the mask of the ReLU that produced its input (`ResidualBlock.inputReLU`).
            block.inputReLU = training && i > 0 ? Self.relu(before: layers[i - 1], producing: h) : nil
        }
        if let bn = layers[i] as? BatchNorm2d, let a = bn.fusedActivation, i + 1 < layers.count, layers[i + 1] === a {
            return bn.forward(h, training: training, fusing: a)
        }
        return layers[i].forward(h, training: training)
    }

    /// The ReLU whose output `h` is when `layer` (a ReLU, or a residual block ending in one) produced it.
    private static func relu(before layer: any Layer, producing h: Tensor) -> ReLU? {
        let relu = (layer as? ReLU) ?? (layer as? ResidualBlock)?.relu2
        return relu.flatMap { $0.output === h ? $0 : nil }
    }

    /// Evaluation without backward (`Layer.infer`): a pruned convolution followed by a
    /// BatchNorm2d (and the ReLU or ReLU6 fused with it) computes the three in one pass when it
    /// runs sparse (`Conv2d.inferFolding`), and fully connected layers that run sparse one after
    /// the other keep the transposed layout between them (`Linear.inferChained`); every other
    /// layer as `forward` runs it.
    public func infer(_ x: Tensor) -> Tensor {
        var h = x, i = 0
        while i < layers.count {
            let run = Linear.sparseInferenceRun(layers, from: i)
            if !run.isEmpty {
                h = Linear.inferChained(run, h)
                i += run.count + run.filter { $0.1 != nil }.count
                continue
            }
            if let conv = layers[i] as? Conv2d, i + 1 < layers.count, let bn = layers[i + 1] as? BatchNorm2d {
                let next = bn.fusedActivation.flatMap { i + 2 < layers.count && layers[i + 2] === $0 ? $0 : nil }
                if let y = conv.inferFolding(h, into: bn, activation: next) {
                    h = y
                    i += next == nil ? 2 : 3
                    continue
                }
            }
            h = layers[i] is BatchNorm2d ? forwardLayer(i, h, training: false) : layers[i].infer(h)
            i += 1
        }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for layer in layers.reversed() { g = layer.backward(g) }
        return g
    }
}
