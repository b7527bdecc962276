import Tensor

/// ResNet's basic block (He et al. 2016): conv3x3-BN-ReLU-conv3x3-BN added to a shortcut,
/// then ReLU. The shortcut is the identity when shapes agree, otherwise a 1x1 convolution
/// with the block's stride followed by BN (the "option B" projection).
///
/// Backward sends the gradient after the final ReLU down both paths and sums what arrives
/// at the input.
public final class ResidualBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm2d, relu1: ReLU
    public let conv2: Conv2d, bn2: BatchNorm2d
    /// nil for the identity shortcut.
    public let projection: (conv: Conv2d, bn: BatchNorm2d)?
    let relu2: ReLU
    /// The ReLU whose output is this block's input in the current training step (set by
    /// `Sequential`, nil when unknown): backward may apply its mask (`ReLU.gradientArrivesMasked`).
    weak var inputReLU: ReLU?
    private let gradInput = Tensor(shape: [0])
    public let inChannels: Int, outChannels: Int, stride: Int
    /// Channels between the two convolutions (`outChannels` unless compacted).
    public var innerChannels: Int { conv1.outChannels }

    /// A block from `inChannels` to `outChannels`. `innerChannels` (default `outChannels`) is
    /// the width between the two convolutions, which only the block sees: a compacted block
    /// (structured pruning, `compact`) has fewer there while its output still matches the shortcut.
    public init(_ inChannels: Int, _ outChannels: Int, innerChannels: Int? = nil, stride: Int = 1, name: String = "block",
                initializer: Initializer = .heNormal, workspace: ConvWorkspace? = nil, rng: inout RNG) {
        let ws = workspace ?? ConvWorkspace()
        let inner = innerChannels ?? outChannels
        precondition(inner > 0, "ResidualBlock: inner width \(inner) must be positive")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        conv1 = Conv2d(inChannels, inner, kernel: 3, stride: stride, padding: 1, bias: false,
                       name: "\(name).conv1", initializer: initializer, workspace: ws, rng: &rng)
        bn1 = BatchNorm2d(inner, name: "\(name).bn1")
        relu1 = ReLU(name: "\(name).relu1")
        conv2 = Conv2d(inner, outChannels, kernel: 3, padding: 1, bias: false,
                       name: "\(name).conv2", initializer: initializer, workspace: ws, rng: &rng)
        bn2 = BatchNorm2d(outChannels, name: "\(name).bn2")
        relu2 = ReLU(name: "\(name).relu2")
        if stride != 1 || inChannels != outChannels {
            projection = (Conv2d(inChannels, outChannels, kernel: 1, stride: stride, bias: false,
                                 name: "\(name).shortcut.conv", initializer: initializer, workspace: ws, rng: &rng),
                          BatchNorm2d(outChannels, name: "\(name).shortcut.bn"))
        } else {
            projection = nil
        }
    }

    public var parameters: [Parameter] {
        var p = conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters
        if let (c, b) = projection { p += c.parameters + b.parameters }
        return p
    }

    public var buffers: [Tensor] { bn1.buffers + bn2.buffers + (projection?.1.buffers ?? []) }

    /// Forward order: the main path, the projection, the ReLU after the sum.
    public var sublayers: [any Layer] {
        var l: [any Layer] = [conv1, bn1, relu1, conv2, bn2]
        if let (c, b) = projection { l += [c, b] }
        return l + [relu2]
    }

    public var summary: String {
        "ResidualBlock(\(inChannels)→\(innerChannels != outChannels ? "\(innerChannels)→" : "")\(outChannels)\(stride != 1 ? ", stride \(stride)" : "")\(projection != nil ? ", projection" : ""))"
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            var h = conv1.forward(x, training: training)
            if training, relu1.observer == nil, conv2.acceptsNormalizedInput(h.shape) {
                // bn1 and relu1 applied by conv2 as it reads h (the same bits): their output is never written.
                let norm = bn1.forwardStatistics(h, fusing: relu1)
                relu1.skipForFusion()
                h = conv2.forward(h, normalizing: norm)
            } else {
                h = bn1.forward(h, training: training, fusing: relu1)
                h = relu1.forward(h, training: training)
                h = conv2.forward(h, training: training)
            }
            let shortcut: Tensor
            if let (c, b) = projection {
                shortcut = b.forward(c.forward(x, training: training), training: training)
            } else {
                shortcut = x
            }
            // bn2, the sum and relu2 in one pass.
            let y = bn2.forward(h, training: training, adding: shortcut, thenInto: relu2)
            relu2.tookFusedOutput()
            return y
        }
    }

    /// `forward(x, training: false)` without backward: each convolution that runs sparse applies
    /// its BatchNorm (and ReLU, or the shortcut's sum and ReLU) as it writes its output.
    public func infer(_ x: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            if let y = inferChained(x) { return y }
            let h = conv1.inferFolding(x, into: bn1, activation: relu1)
                ?? relu1.forward(bn1.forward(conv1.forward(x, training: false), training: false, fusing: relu1),
                                 training: false)
            let shortcut = inferShortcut(x)
            if let y = conv2.inferFolding(h, into: bn2, activation: relu2, adding: shortcut) { return y }
            let y = bn2.forward(conv2.forward(h, training: false), training: false, adding: shortcut, thenInto: relu2)
            relu2.tookFusedOutput()
            return y
        }
    }

    /// The shortcut in evaluation: `x`, or the projection (folded when its convolution runs sparse).
    func inferShortcut(_ x: Tensor) -> Tensor {
        guard let (c, b) = projection else { return x }
        return c.inferFolding(x, into: b, activation: nil) ?? b.forward(c.forward(x, training: false), training: false)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            let g = relu2.backward(dy)
            var d = Self.backward(g, through: bn2, conv2)
            d = relu1.backward(d)
            let side = projection.map { Self.backward(g, through: $0.bn, $0.conv) } ?? g
            let planeSums = conv2.sparse.inputPlaneSums
            if bn1.lastTrainingStep, conv1.acceptsBatchNormGradient, conv1.addsToInputGradient {
                // conv1 adds the shortcut's gradient as it writes its own (the same bits as the
                // sum below) and, when the ReLU before this block produced its input, applies
                // that ReLU's mask too, which that ReLU's backward then skips.
                let relu = inputReLU.flatMap { $0.output === conv1.input ? $0 : nil }
                let dx = conv1.backward(bn1.backwardDeferringInput(d, planeSums: planeSums), adding: side,
                                        maskingByInput: relu != nil)
                relu?.gradientArrivesMasked()
                return dx
            }
            let main = Self.backward(d, through: bn1, planeSums: planeSums, conv1)
            gradInput.resize(main.shape)
            let n = main.count, a = main.data, s = side.data, o = gradInput.data
            Ops.add(n, a, s, into: o)
            return gradInput
        }
    }

    /// `conv.backward(bn.backward(d))`; when `conv` ran sparse in a training step it computes
    /// `bn`'s input gradient as it stages it instead (`BatchNorm2d.backwardDeferringInput`): the same bits.
    private static func backward(_ d: Tensor, through bn: BatchNorm2d, planeSums: Tensor? = nil, _ conv: Conv2d) -> Tensor {
        guard bn.lastTrainingStep, conv.acceptsBatchNormGradient else { return conv.backward(bn.backward(d, planeSums: planeSums)) }
        return conv.backward(bn.backwardDeferringInput(d, planeSums: planeSums))
    }
}
