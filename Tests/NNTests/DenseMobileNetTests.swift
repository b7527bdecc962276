import Testing
@testable import NN
import Tensor

/// Channels `from ..< from + count` of `[N, C, H, W]` tensor `t`, as a new `[N, count, H, W]` tensor.
func channels(_ t: Tensor, _ from: Int, _ count: Int) -> Tensor {
    let n = t.shape[0], c = t.shape[1], area = t.shape[2] * t.shape[3]
    let out = Tensor(shape: [n, count, t.shape[2], t.shape[3]])
    for s in 0..<n {
        (out.data + s * count * area).update(from: t.data + (s * c + from) * area, count: count * area)
    }
    return out
}

/// Gradient checks of DenseNet's dense block and transition and MobileNetV2's inverted
/// residual block.
@Suite struct DenseAndInvertedResidualTests {
    let tolerance = 1e-2
    /// Pre-activations this far from a kink stay on their side when a step of 5e-3 moves one
    /// input or weight (they move by ~0.02 at most here). Every pre-activation must clear it,
    /// hence the small tensors: the chance that all do shrinks geometrically with their number.
    let margin: Float = 0.04

    /// Gives every BN a non-trivial scale and shift so the checks do not hinge on gamma = 1, beta = 0.
    func perturbNorms(_ parameters: [Parameter], _ rng: inout RNG) {
        for p in parameters where p.kind == "norm" {
            for i in 0..<p.count { p.value[i] += 0.3 * rng.normal() }
        }
    }

    /// Smallest |pre-activation| of the block's ReLUs: layer `i` normalises the first
    /// `in + i * growth` channels of the block's output.
    func reluMargin(_ block: DenseBlock, _ x: Tensor) -> Float {
        let y = block.forward(x, training: true).clone()
        var margin = Float.infinity
        for (i, u) in block.units.enumerated() {
            let pre = u.bn.forward(channels(y, 0, block.inChannels + i * block.growth), training: true)
            for j in 0..<pre.count { margin = min(margin, abs(pre[j])) }
        }
        return margin
    }

    @Test func denseBlockConcatenatesEachLayersOutput() {
        var rng = RNG(seed: 1, stream: "dense")
        let block = DenseBlock(3, layers: 2, growth: 2, name: "d", rng: &rng)
        perturbNorms(block.parameters, &rng)
        #expect(block.outChannels == 7)
        #expect(block.parameters.map(\.name) == ["d.0.bn.weight", "d.0.bn.bias", "d.0.conv.weight",
                                                 "d.1.bn.weight", "d.1.bn.bias", "d.1.conv.weight"])
        #expect(block.parameters.map(\.count) == [3, 3, 2 * 3 * 9, 5, 5, 2 * 5 * 9])
        #expect(block.buffers.map(\.count) == [3, 3, 5, 5])
        let x = randomTensor([2, 3, 4, 4], &rng)
        let y = block.forward(x, training: false).clone()
        #expect(y.shape == [2, 7, 4, 4])
        #expect(channels(y, 0, 3).array == x.array)
        // Each layer's output, recomputed by hand from the channels it reads.
        for (i, u) in block.units.enumerated() {
            let c = 3 + 2 * i
            let z = u.conv.forward(u.relu.forward(u.bn.forward(channels(y, 0, c), training: false), training: false),
                                   training: false)
            #expect(channels(y, c, 2).array == z.array, "layer \(i)")
        }
    }

    @Test func denseBlockGradients() {
        for seed: UInt64 in 0..<2000 {
            var rng = RNG(seed: seed, stream: "dense")
            let block = DenseBlock(3, layers: 2, growth: 2, name: "d", rng: &rng)
            perturbNorms(block.parameters, &rng)
            let x = randomTensor([1, 3, 4, 4], &rng)
            guard reluMargin(block, x) > margin else { continue }
            let e = gradientErrors(of: block, input: x, step: 5e-3)
            #expect(e.errors.count == 1 + block.parameters.count)
            #expect(e.worst < tolerance, "seed \(seed): \(e.errors)")
            return
        }
        Issue.record("no seed gave pre-activations clear of the ReLU kinks")
    }

    @Test func denseBlockEvaluationModeGradients() {
        // Running statistics instead of batch statistics: BN is affine, only the ReLU kinks matter.
        for seed: UInt64 in 0..<2000 {
            var rng = RNG(seed: seed, stream: "dense.eval")
            let block = DenseBlock(2, layers: 3, growth: 1, name: "d", rng: &rng)
            perturbNorms(block.parameters, &rng)
            let x = randomTensor([1, 2, 3, 3], &rng)
            let y = block.forward(x, training: false).clone()
            var margin = Float.infinity
            for (i, u) in block.units.enumerated() {
                let pre = u.bn.forward(channels(y, 0, 2 + i), training: false)
                for j in 0..<pre.count { margin = min(margin, abs(pre[j])) }
            }
            guard margin > self.margin else { continue }
            let e = gradientErrors(of: block, input: x, training: false, step: 5e-3)
            #expect(e.worst < tolerance, "seed \(seed): \(e.errors)")
            return
        }
        Issue.record("no seed gave pre-activations clear of the ReLU kinks")
    }

    @Test func transitionGradients() throws {
        for seed: UInt64 in 0..<2000 {
            var b = ModelZoo.ConvBuilder([3, 4, 4], rng: RNG(seed: seed, stream: "transition"), model: "t")
            try b.transition(name: "trans")
            #expect([b.channels, b.height, b.width] == [3, 2, 2])
            #expect(b.layers.map(\.summary) == ["BatchNorm2d(3)", "ReLU", "Conv2d(3→3, 1x1)", "AvgPool2d(2)"])
            let net = Sequential(b.layers)
            var rng = RNG(seed: seed, stream: "transition.data")
            perturbNorms(net.parameters, &rng)
            let x = randomTensor([2, 3, 4, 4], &rng)
            let pre = b.layers[0].forward(x, training: true)
            guard pre.array.allSatisfy({ abs($0) > margin }) else { continue }
            let e = gradientErrors(of: net, input: x, step: 5e-3)
            #expect(Set(e.errors.keys) == ["input", "trans.bn.weight", "trans.bn.bias", "trans.conv.weight"])
            #expect(e.worst < tolerance, "seed \(seed): \(e.errors)")
            return
        }
        Issue.record("no seed gave pre-activations clear of the ReLU kink")
    }

    /// Smallest distance of the block's ReLU6 inputs from the kinks at 0 and 6.
    func relu6Margin(_ block: InvertedResidual, _ x: Tensor) -> Float {
        var margin = Float.infinity
        func visit(_ t: Tensor) {
            for i in 0..<t.count { margin = min(margin, abs(t[i]), abs(t[i] - 6)) }
        }
        var h = x
        if let (c, b, r) = block.expand {
            let pre = b.forward(c.forward(h, training: true), training: true)
            visit(pre)
            h = r.forward(pre, training: true)
        }
        visit(block.bn2.forward(block.depthwise.forward(h, training: true), training: true))
        return margin
    }

    /// [in, out, expansion, stride]: residual without expansion, residual with expansion (depthwise
    /// over 2 channels), strided and widening (no residual), widening without expansion (no residual).
    @Test(arguments: [[1, 1, 1, 1], [1, 1, 2, 1], [1, 2, 3, 2], [2, 3, 1, 1]])
    func invertedResidual(_ config: [Int]) {
        let (inC, outC, t, stride) = (config[0], config[1], config[2], config[3])
        for seed: UInt64 in 0..<2000 {
            var rng = RNG(seed: seed, stream: "inverted")
            let block = InvertedResidual(inC, outC, expansion: t, stride: stride, name: "b", rng: &rng)
            perturbNorms(block.parameters, &rng)
            let x = randomTensor([2, inC, 3, 3], &rng)
            guard relu6Margin(block, x) > margin else { continue }
            #expect(block.hasResidual == (inC == outC && stride == 1))
            #expect((block.expand == nil) == (t == 1))
            #expect(block.depthwise.groups == inC * t && block.depthwise.stride == stride)
            #expect(block.forward(x, training: true).shape == [2, outC, (3 - 1) / stride + 1, (3 - 1) / stride + 1])
            let e = gradientErrors(of: block, input: x, step: 5e-3)
            #expect(e.errors.count == 1 + block.parameters.count)
            #expect(e.worst < tolerance, "seed \(seed): \(e.errors)")
            return
        }
        Issue.record("no seed gave ReLU6 inputs clear of the kinks")
    }

    @Test func invertedResidualAddsItsInput() {
        var rng = RNG(seed: 3)
        let block = InvertedResidual(2, 2, expansion: 2, name: "b", rng: &rng)
        // A zero projection leaves BN3's shift as the main path: the output is x + beta.
        block.project.weight.value.zero()
        block.bn3.beta.value.copy(from: Tensor(shape: [2], values: [0.5, -1]))
        let x = randomTensor([2, 2, 3, 3], &rng)
        let y = block.forward(x, training: true)
        for i in 0..<x.count {
            let channel = (i / 9) % 2
            #expect(abs(y[i] - (x[i] + (channel == 0 ? 0.5 : -1))) < 1e-6)
        }
        #expect(block.buffers.count == 6)
    }
}

/// DenseNet-40 and MobileNetV2 in the model zoo.
@Suite struct DenseNetAndMobileNetModelTests {
    /// DenseNet-40 (growth 12, no bottleneck, no compression) for `inC` input channels and
    /// 10 classes, layer by layer. Returns (all, prunable).
    static func densenet40Count(inputChannels inC: Int) -> (Int, Int) {
        let k = 12
        // Dense layer at c input channels: BN (2c) + 3x3 conv c→k without bias (9ck).
        let denseConv = { (c: Int) in 9 * c * k }
        let denseBN = { (c: Int) in 2 * c }
        let block1 = (0..<12).map { 16 + k * $0 }    // 16 ... 148, ends at 160
        let block2 = (0..<12).map { 160 + k * $0 }   // 160 ... 292, ends at 304
        let block3 = (0..<12).map { 304 + k * $0 }   // 304 ... 436, ends at 448
        let dense = block1 + block2 + block3
        #expect(block1.reduce(0, +) == 984 && block2.reduce(0, +) == 2_712 && block3.reduce(0, +) == 4_440)
        let stem = 9 * inC * 16                       // 432 for RGB
        let transitions = 160 * 160 + 304 * 304       // 1x1 convs, no bias: 25,600 + 92,416
        let transitionBN = 2 * 160 + 2 * 304
        let finalBN = 2 * 448
        let fc = 448 * 10, fcBias = 10
        let prunable = stem + dense.map(denseConv).reduce(0, +) + transitions + fc
        let all = prunable + dense.map(denseBN).reduce(0, +) + transitionBN + finalBN + fcBias
        return (all, prunable)
    }

    /// MobileNetV2 as built (paper / torchvision structure, CIFAR strides) for `inC` input
    /// channels and 10 classes. Returns (all, prunable, kuangliu's count).
    static func mobilenetv2Count(inputChannels inC: Int) -> (Int, Int, Int) {
        var prunable = 9 * inC * 32, norm = 2 * 32      // stem 3x3 conv + BN
        var kuangliuExtra = 0
        var c = 32
        for (t, out, n, s) in ModelZoo.mobileNetV2Config {
            for i in 0..<n {
                let h = c * t
                if t != 1 {
                    prunable += c * h; norm += 2 * h    // 1x1 expand + BN
                } else {
                    kuangliuExtra += c * h + 2 * h      // kuangliu expands even at t = 1
                }
                prunable += 9 * h; norm += 2 * h        // 3x3 depthwise + BN
                prunable += h * out; norm += 2 * out    // 1x1 project + BN
                // kuangliu: 1x1 conv + BN shortcut where stride is 1 but channels change.
                if (i == 0 ? s : 1) == 1 && c != out { kuangliuExtra += c * out + 2 * out }
                c = out
            }
        }
        prunable += 320 * 1280; norm += 2 * 1280        // last 1x1 conv + BN
        prunable += 1280 * 10; norm += 10               // Linear (its bias counted with the rest)
        let all = prunable + norm
        return (all, prunable, all + kuangliuExtra)
    }

    @Test func densenet40ParameterCount() throws {
        let (all, prunable) = Self.densenet40Count(inputChannels: 3)
        // 432 stem + 108 * 8,136 dense convs + 118,016 transitions + 4,480 fc weights = 1,001,616 prunable;
        // + 2 * 8,136 dense BN + 928 transition BN + 896 final BN + 10 fc bias = 1,019,722 (the paper's "1.0M").
        #expect(prunable == 1_001_616 && all == 1_019_722)
        let model = try ModelZoo.make("densenet40", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        #expect(model.parameterCount == all)
        #expect(model.prunableParameterCount == prunable)
        let gray = try ModelZoo.make("densenet40", inputShape: [1, 28, 28], classes: 10, seed: 1, initialize: false)
        #expect(gray.parameterCount == 1_019_434 && gray.parameterCount == Self.densenet40Count(inputChannels: 1).0)
        #expect(gray.prunableParameterCount == 1_001_328)
    }

    @Test func mobilenetv2ParameterCount() throws {
        let (all, prunable, kuangliu) = Self.mobilenetv2Count(inputChannels: 3)
        // torchvision's mobilenet_v2(num_classes=10) has the same 2,236,682 (strides change no
        // shapes of weights); kuangliu/pytorch-cifar's 2,296,922 adds 60,240: the t = 1 block's
        // expand conv + BN (1,088) and four 1x1 conv + BN shortcuts (544 + 432 + 6,336 + 51,840).
        #expect(all == 2_236_682 && prunable == 2_202_560 && kuangliu == 2_296_922)
        let model = try ModelZoo.make("mobilenetv2", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        #expect(model.parameterCount == all)
        #expect(model.prunableParameterCount == prunable)
        let gray = try ModelZoo.make("mobilenetv2", inputShape: [1, 28, 28], classes: 10, seed: 1, initialize: false)
        #expect(gray.parameterCount == 2_236_106 && gray.parameterCount == Self.mobilenetv2Count(inputChannels: 1).0)
        #expect(gray.prunableParameterCount == 2_201_984)
    }

    @Test func densenet40Structure() throws {
        let model = try ModelZoo.make("densenet40", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        let blocks = model.network.layers.compactMap { $0 as? DenseBlock }
        #expect(blocks.map(\.units.count) == [12, 12, 12])
        #expect(blocks.map(\.inChannels) == [16, 160, 304] && blocks.map(\.outChannels) == [160, 304, 448])
        // 39 convolutions and the Linear: the 40 weighted layers of the name.
        let weights = model.parameters.filter(\.prunable)
        #expect(weights.count == 40 && weights.filter { $0.kind == "conv" }.count == 39)
        #expect(!model.parameters.contains { $0.kind == "bias" && $0.name != "fc.bias" })
        #expect(model.parameters.filter { $0.kind == "norm" }.allSatisfy { !$0.prunable })
        // 36 dense-layer BNs, 2 in transitions, 1 before pooling.
        #expect(model.buffers.count == 2 * 39)
        #expect(model.network.layers.filter { $0 is AvgPool2d }.count == 2)
    }

    @Test func mobilenetv2Structure() throws {
        let model = try ModelZoo.make("mobilenetv2", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        let blocks = model.network.layers.compactMap { $0 as? InvertedResidual }
        #expect(blocks.count == 17)
        #expect(blocks.map(\.stride) == [1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1])
        #expect(blocks.filter(\.hasResidual).count == 10)
        #expect(blocks.filter { $0.expand == nil }.count == 1)
        #expect(blocks.allSatisfy { $0.depthwise.groups == $0.depthwise.inChannels })
        // 9 weights per hidden channel: 9 * (32 + 96 + 2 * 144 + 3 * 192 + 4 * 384 + 3 * 576 + 3 * 960).
        #expect(blocks.reduce(0) { $0 + $1.depthwise.weight.count } == 64_224)
        // Stem, 16 expand + 17 depthwise + 17 project convs, the 1x1 to 1280: 52 convs, 52 BNs.
        #expect(model.parameters.filter { $0.kind == "conv" }.count == 52)
        #expect(model.buffers.count == 2 * 52)
        #expect(model.network.layers.filter { $0 is ReLU6 }.count == 2)
    }

    @Test(arguments: ["densenet40", "mobilenetv2"])
    func initializeFalseLeavesEveryWeightZero(_ name: String) throws {
        let zero = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        #expect(zero.parameters.filter(\.prunable).allSatisfy { $0.value.array.allSatisfy { $0 == 0 } })
        let drawn = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1)
        // Every weight tensor, including those inside the composite blocks, is drawn.
        #expect(drawn.parameters.filter(\.prunable).allSatisfy { $0.value.array.contains { $0 != 0 } })
        let again = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1)
        #expect(zip(drawn.parameters, again.parameters).allSatisfy { $0.value.array == $1.value.array })
    }

    @Test func tooSmallInputIsATypedError() throws {
        // Two transitions halve the side twice: 2x2 reaches the second one at 1x1.
        #expect(throws: ModelError.self) { try ModelZoo.make("densenet40", inputShape: [3, 2, 2], classes: 10, seed: 1) }
        #expect(throws: ModelError.self) { try ModelZoo.make("densenet40", inputShape: [3, 32], classes: 10, seed: 1) }
        #expect(throws: ModelError.self) { try ModelZoo.make("mobilenetv2", inputShape: [784], classes: 10, seed: 1) }
        // Padded 3x3 convs never shrink below 1x1, so the smallest square input works.
        let tiny = try ModelZoo.make("mobilenetv2", inputShape: [3, 1, 1], classes: 10, seed: 1, initialize: false)
        #expect(tiny.forward(Tensor(shape: [2, 3, 1, 1]), training: true).shape == [2, 10])
        _ = try ModelZoo.make("densenet40", inputShape: [3, 4, 4], classes: 10, seed: 1, initialize: false)
    }
}
