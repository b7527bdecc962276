import Tensor

/// DenseNet's dense block without bottleneck (Huang et al. 2017): each of its layers is
/// BN-ReLU-conv3x3 (no bias, padding 1) producing `growth` channels, and its output is
/// concatenated to its input, so layer `i` sees `inChannels + i * growth` channels and the
/// block returns `inChannels + layers * growth`.
///
/// Forward writes every layer's output into its channel slice of one `[N, C_out, H, W]`
/// feature tensor, whose first `inChannels + i * growth` channels layer `i`'s BN reads in
/// place (`BatchNorm2d.readsChannelPrefix`: a channel prefix is contiguous within a sample
/// but not across samples, so a copy would cost a pass per layer). Backward
/// walks the layers in reverse over a copy of the output gradient: once the layers after
/// `i` have added what they send back, the slice of layer `i`'s output is complete; its
/// input gradient is then added to the channel prefix it read.
///
/// Memory-efficient, as Pleiss et al. 2017's DenseNet: the layers share one set of buffers
/// for their BN-ReLU output, convolution output and every input gradient, instead of each
/// keeping its own (which grows quadratically with depth). Each BN and its ReLU run as one
/// pass (`BatchNorm2d.forward(_:training:fusing:)`), and backward recomputes layer `i`'s
/// BN-ReLU output from the feature tensor with the statistics its forward used (the same
/// bits) just before running its backward; the convolutions do not keep a library-layout
/// copy of their input either. The cost is one BN-ReLU pass per layer and one oneDNN input
/// reorder.
public final class DenseBlock: Layer {
    /// One layer of the block: BN, ReLU, 3x3 conv.
    public struct Unit {
        public let bn: BatchNorm2d, relu: ReLU, conv: Conv2d
    }

    public let units: [Unit]
    public let inChannels: Int, growth: Int
    public var outChannels: Int { inChannels + units.count * growth }

    private let features = Tensor(shape: [0])
    private let gradFeatures = Tensor(shape: [0])
    /// Scratch for one layer's output gradient (backward).
    private let gradSlice = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init(_ inChannels: Int, layers: Int, growth: Int, name: String = "dense",
                initializer: Initializer = .heNormal, workspace: ConvWorkspace? = nil, rng: inout RNG) {
        precondition(inChannels > 0 && layers > 0 && growth > 0,
                     "DenseBlock: bad in \(inChannels), layers \(layers), growth \(growth)")
        let ws = workspace ?? ConvWorkspace()
        self.inChannels = inChannels
        self.growth = growth
        var units: [Unit] = []
        for i in 0..<layers {
            let c = inChannels + i * growth
            units.append(Unit(bn: BatchNorm2d(c, name: "\(name).\(i).bn"), relu: ReLU(name: "\(name).\(i).relu"),
                              conv: Conv2d(c, growth, kernel: 3, padding: 1, bias: false, name: "\(name).\(i).conv",
                                           initializer: initializer, workspace: ws, rng: &rng)))
        }
        self.units = units
        // One set of buffers for all layers: each layer's BN and ReLU outputs are recomputed
        // before its backward (see the type's documentation).
        let bnOut = Tensor(shape: [0]), bnGrad = Tensor(shape: [0])
        let reluOut = Tensor(shape: [0]), reluGrad = Tensor(shape: [0])
        let convOut = Tensor(shape: [0]), convGrad = Tensor(shape: [0])
        for u in units {
            (u.bn.output, u.bn.gradInput) = (bnOut, bnGrad)
            (u.relu.output, u.relu.gradInput) = (reluOut, reluGrad)
            (u.conv.output, u.conv.gradInput) = (convOut, convGrad)
            u.conv.keepsLibraryInput = false
            u.bn.readsChannelPrefix = true
        }
    }

    public var parameters: [Parameter] { units.flatMap { $0.bn.parameters + $0.conv.parameters } }
    public var buffers: [Tensor] { units.flatMap(\.bn.buffers) }
    public var sublayers: [any Layer] { units.flatMap { [$0.bn, $0.relu, $0.conv] as [any Layer] } }
    public var summary: String { "DenseBlock(\(inChannels)→\(outChannels), \(units.count) layers, growth \(growth))" }

    /// Copies channels `from ..< from + count` of `src` (`srcChannels` per sample) into
    /// channels `to ..< to + count` of `dst` (`dstChannels` per sample), adding when asked.
    private static func copyChannels(_ src: UnsafePointer<Float>, _ srcChannels: Int, from: Int,
                                     _ dst: UnsafeMutablePointer<Float>, _ dstChannels: Int, to: Int,
                                     count: Int, batch: Int, area: Int, add: Bool = false) {
        let run = count * area
        for s in 0..<batch {
            let a = src + (s * srcChannels + from) * area, b = dst + (s * dstChannels + to) * area
            if add { Ops.axpy(run, 1, a, b) } else { b.update(from: a, count: run) }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(x.rank == 4 && x.shape[1] == inChannels, "\(summary) needs [N, \(inChannels), H, W], got \(x.shape)")
            let n = x.shape[0], h = x.shape[2], w = x.shape[3], area = h * w, total = outChannels
            features.resize([n, total, h, w])
            Self.copyChannels(x.data, inChannels, from: 0, features.data, total, to: 0, count: inChannels, batch: n, area: area)
            for (i, u) in units.enumerated() {
                let c = inChannels + i * growth
                // BN and ReLU in one pass into the ReLU's output, which its forward passes on.
                let r = u.relu.forward(u.bn.forward(features, training: training, fusing: u.relu), training: training)
                let y = u.conv.forward(r, training: training)
                Self.copyChannels(y.data, growth, from: 0, features.data, total, to: c, count: growth, batch: n, area: area)
            }
            return features
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(dy.count == features.count, "\(summary).backward: gradient \(dy.shape) for output \(features.shape)")
            let n = features.shape[0], h = features.shape[2], w = features.shape[3], area = h * w, total = outChannels
            gradFeatures.resize(features.shape)
            gradFeatures.copy(from: dy)
            for (i, u) in units.enumerated().reversed() {
                let c = inChannels + i * growth
                // The shared buffers hold the last layer's forward: recompute this layer's.
                u.bn.renormalize(features, into: u.relu)
                gradSlice.resize([n, growth, h, w])
                Self.copyChannels(gradFeatures.data, total, from: c, gradSlice.data, growth, to: 0, count: growth, batch: n, area: area)
                let d = u.bn.backward(u.relu.backward(u.conv.backward(gradSlice)))
                Self.copyChannels(d.data, c, from: 0, gradFeatures.data, total, to: 0, count: c, batch: n, area: area, add: true)
            }
            gradInput.resize([n, inChannels, h, w])
            Self.copyChannels(gradFeatures.data, total, from: 0, gradInput.data, inChannels, to: 0,
                              count: inChannels, batch: n, area: area)
            return gradInput
        }
    }
}

extension ModelZoo.ConvBuilder {
    /// BN then ReLU on the current channels: DenseNet's pre-activation before a conv or the pooling.
    /// The pair runs fused (`BatchNorm2d.fuse`): both sit in the network's top-level `Sequential`.
    mutating func bnReLU(name: String) {
        layers += [BatchNorm2d(channels, name: "\(name).bn"), ReLU(name: "\(name).relu")]
    }

    mutating func dense(layers count: Int, growth: Int, name: String) throws {
        guard height > 0, width > 0 else { throw tooSmall(name) }
        let block = DenseBlock(channels, layers: count, growth: growth, name: name,
                               initializer: initializer ?? .heNormal, workspace: workspace, rng: &rng)
        layers.append(block)
        channels = block.outChannels
    }

    /// DenseNet's transition without compression: BN-ReLU-conv1x1 (no bias, same channels)
    /// followed by 2x2 average pooling.
    mutating func transition(name: String) throws {
        guard height >= 2, width >= 2 else { throw tooSmall(name) }
        bnReLU(name: name)
        try conv(channels, kernel: 1, bias: false, relu: false, name: "\(name).conv")
        layers.append(AvgPool2d(kernel: 2))
        (height, width) = (height / 2, width / 2)
    }
}

extension ModelZoo {
    /// Huang et al. 2017's CIFAR DenseNet without bottleneck or compression (depth 3L + 4):
    /// a 3x3 conv to 16 channels, three dense blocks of L = (depth - 4) / 3 layers with
    /// transitions between them, then BN-ReLU, global average pooling and
    /// Linear(16 + 3 L growth, classes). DenseNet-40 (L = 12, growth 12) ends with 448 channels.
    static func densenet(_ b: inout ConvBuilder, depth: Int, growth: Int, _ classes: Int) throws {
        precondition((depth - 4) % 3 == 0 && depth > 4, "DenseNet depth must be 3L + 4, got \(depth)")
        let perBlock = (depth - 4) / 3
        try b.conv(16, kernel: 3, padding: 1, bias: false, relu: false, name: "conv1")
        for block in 1...3 {
            try b.dense(layers: perBlock, growth: growth, name: "dense\(block)")
            if block < 3 { try b.transition(name: "trans\(block)") }
        }
        b.bnReLU(name: "final")
        b.globalAvgPool()
        b.linear(classes, relu: false, name: "fc")
    }
}
