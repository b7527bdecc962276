import Tensor

/// MobileNetV2's inverted residual block (Sandler et al. 2018): a 1x1 expansion to
/// `expansion * in` channels with BN and ReLU6 (left out when the expansion is 1), a 3x3
/// depthwise conv carrying the stride with BN and ReLU6, and a linear 1x1 projection with
/// BN. The input is added to the result when the stride is 1 and the channels agree; other
/// blocks have no shortcut (the paper's, and torchvision's; kuangliu's CIFAR code adds a
/// 1x1 projection there instead). Convolutions have no bias.
///
/// Each hidden BN and its ReLU6 run as one pass (`BatchNorm2d.forward(_:training:fusing:)`).
/// Memory: the expanded (`expansion * in`-channel) ReLU6 outputs, and the gradients inside the
/// block, live in buffers that all blocks of a network share (its `ConvWorkspace`'s): a block
/// keeps only its expansion and depthwise convolution outputs, and backward recomputes the
/// ReLU6 outputs from them with the statistics the forward used (the same bits, again in one
/// pass: `BatchNorm2d.renormalize(_:into:)`) before running through the block. The
/// hidden-width convolutions do not keep a library-layout copy of their input either.
public final class InvertedResidual: Layer {
    /// nil when the expansion is 1.
    public let expand: (conv: Conv2d, bn: BatchNorm2d, relu: ReLU6)?
    public let depthwise: Conv2d, bn2: BatchNorm2d, relu2: ReLU6
    public let project: Conv2d, bn3: BatchNorm2d
    public let inChannels: Int, outChannels: Int, expansion: Int, stride: Int
    public var hasResidual: Bool { stride == 1 && inChannels == outChannels }

    private let sum = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init(_ inChannels: Int, _ outChannels: Int, expansion: Int, stride: Int = 1, name: String = "block",
                initializer: Initializer = .heNormal, workspace: ConvWorkspace? = nil, rng: inout RNG) {
        precondition(expansion > 0, "InvertedResidual: expansion must be positive, got \(expansion)")
        let ws = workspace ?? ConvWorkspace()
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.expansion = expansion
        self.stride = stride
        let hidden = inChannels * expansion
        if expansion != 1 {
            expand = (Conv2d(inChannels, hidden, kernel: 1, bias: false, name: "\(name).expand",
                             initializer: initializer, workspace: ws, rng: &rng),
                      BatchNorm2d(hidden, name: "\(name).expand.bn"), ReLU6(name: "\(name).expand.relu"))
        } else {
            expand = nil
        }
        depthwise = Conv2d(hidden, hidden, kernel: 3, stride: stride, padding: 1, groups: hidden, bias: false,
                           name: "\(name).depthwise", initializer: initializer, workspace: ws, rng: &rng)
        bn2 = BatchNorm2d(hidden, name: "\(name).depthwise.bn")
        relu2 = ReLU6(name: "\(name).depthwise.relu")
        project = Conv2d(hidden, outChannels, kernel: 1, bias: false, name: "\(name).project",
                         initializer: initializer, workspace: ws, rng: &rng)
        bn3 = BatchNorm2d(outChannels, name: "\(name).project.bn")
        // Forward: the hidden ReLU6 outputs (recomputed in backward; the fused BNs write no
        // output of their own). Backward: two alternating hidden-width gradient buffers,
        // consumed before the block returns, and s[4] where an evaluation-mode backward masks
        // the gradient. A layer's input and output gradients never share a buffer.
        let s = ws.sharedActivations(8)
        (bn2.output, relu2.output) = (s[3], s[5])
        (project.gradInput, bn2.gradInput, relu2.gradInput) = (s[6], s[7], s[4])
        if let (_, b, r) = expand {
            (b.output, r.output) = (s[0], s[2])
            // Without the expansion the depthwise input gradient is the block's: its own buffer.
            (depthwise.gradInput, b.gradInput, r.gradInput) = (s[6], s[7], s[4])
        }
        depthwise.keepsLibraryInput = false
        project.keepsLibraryInput = false
    }

    public var parameters: [Parameter] {
        var p: [Parameter] = []
        if let (c, b, _) = expand { p += c.parameters + b.parameters }
        return p + depthwise.parameters + bn2.parameters + project.parameters + bn3.parameters
    }

    public var buffers: [Tensor] { (expand?.bn.buffers ?? []) + bn2.buffers + bn3.buffers }

    public var sublayers: [any Layer] {
        var l: [any Layer] = []
        if let (c, b, r) = expand { l = [c, b, r] }
        return l + [depthwise, bn2, relu2, project, bn3]
    }

    public var summary: String {
        "InvertedResidual(\(inChannels)→\(outChannels), expansion \(expansion)"
            + (stride != 1 ? ", stride \(stride)" : "") + (hasResidual ? ", residual" : "") + ")"
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            var h = x
            if let (c, b, r) = expand {
                h = r.forward(b.forward(c.forward(h, training: training), training: training, fusing: r), training: training)
            }
            h = relu2.forward(bn2.forward(depthwise.forward(h, training: training), training: training, fusing: relu2),
                              training: training)
            h = bn3.forward(project.forward(h, training: training), training: training)
            guard hasResidual else { return h }
            precondition(x.shape == h.shape, "\(summary): input \(x.shape) vs main path \(h.shape)")
            sum.resize(h.shape)
            let n = h.count, a = h.data, s = x.data, o = sum.data
            Ops.add(n, a, s, into: o)
            return sum
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            // Recompute the shared hidden activations of this block's forward.
            // BN and ReLU6 in one pass each: only the ReLU6 outputs are read again.
            if let (c, b, r) = expand { b.renormalize(c.output, into: r) }
            bn2.renormalize(depthwise.output, into: relu2)
            var d = project.backward(bn3.backward(dy))
            d = depthwise.backward(bn2.backward(relu2.backward(d)))
            if let (c, b, r) = expand { d = c.backward(b.backward(r.backward(d))) }
            guard hasResidual else { return d }
            gradInput.resize(d.shape)
            let n = d.count, a = d.data, s = dy.data, o = gradInput.data
            Ops.add(n, a, s, into: o)
            return gradInput
        }
    }
}

extension ModelZoo.ConvBuilder {
    mutating func invertedResidual(_ out: Int, expansion: Int, stride: Int, name: String) throws {
        guard height > 0, width > 0 else { throw tooSmall(name) }
        layers.append(InvertedResidual(channels, out, expansion: expansion, stride: stride, name: name,
                                       initializer: initializer ?? .heNormal, workspace: workspace, rng: &rng))
        (channels, height, width) = (out, (height - 1) / stride + 1, (width - 1) / stride + 1)
    }

    /// A conv with BN and ReLU6 (MobileNetV2's stem and last 1x1 conv).
    mutating func convBNReLU6(_ out: Int, kernel: Int, padding: Int = 0, name: String) throws {
        try conv(out, kernel: kernel, padding: padding, bias: false, bn: true, relu: false, name: name)
        layers.append(ReLU6(name: "\(name).relu"))
    }
}

extension ModelZoo {
    /// MobileNetV2's blocks as (expansion t, output channels c, repeats n, first stride s).
    /// The CIFAR variant (as in kuangliu/pytorch-cifar) keeps stride 1 in the stem and in the
    /// second group, where ImageNet's has 2, so 32x32 input ends at 4x4.
    static let mobileNetV2Config: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    /// CIFAR MobileNetV2: a 3x3 conv (stride 1) to 32 channels with BN and ReLU6, the 17
    /// inverted residual blocks of `mobileNetV2Config`, a 1x1 conv to 1280 with BN and ReLU6,
    /// global average pooling and Linear(1280, classes). ReLU6 as in the paper (kuangliu
    /// uses ReLU); no shortcut where shapes differ, as in the paper and torchvision.
    static func mobilenetv2(_ b: inout ConvBuilder, _ classes: Int) throws {
        try b.convBNReLU6(32, kernel: 3, padding: 1, name: "conv1")
        var index = 0
        for (t, c, n, s) in mobileNetV2Config {
            for i in 0..<n {
                try b.invertedResidual(c, expansion: t, stride: i == 0 ? s : 1, name: "block\(index)")
                index += 1
            }
        }
        try b.convBNReLU6(1280, kernel: 1, name: "conv2")
        b.globalAvgPool()
        b.linear(classes, relu: false, name: "fc")
    }
}
