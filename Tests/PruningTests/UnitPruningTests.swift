import NN
import Tensor
import Testing
@testable import Pruning

/// SPEC §1: structured pruning removes whole units; a removed channel outputs exactly 0.
@Suite struct UnitPruningTests {
    /// A VGG-style chain: conv-BN-ReLU-pool-conv-BN-ReLU-global pool-Linear.
    static func vggBlock(seed: UInt64) -> Sequential {
        var rng = RNG(seed: seed, stream: "test.vgg")
        let net = Sequential([
            Conv2d(3, 6, kernel: 3, padding: 1, name: "conv1", rng: &rng), BatchNorm2d(6, name: "conv1.bn"), ReLU(),
            MaxPool2d(kernel: 2),
            Conv2d(6, 8, kernel: 3, padding: 1, name: "conv2", rng: &rng), BatchNorm2d(8, name: "conv2.bn"), ReLU(),
            GlobalAvgPool(), Linear(8, 4, name: "fc", rng: &rng),
        ])
        // Trained-looking biases, BN affine parameters and running statistics: all nonzero,
        // so a channel left with any of them live would emit a constant.
        for p in net.parameters where !p.prunable {
            for i in 0..<p.count { p.value[i] = 0.5 + rng.uniform() }
        }
        for b in net.buffers {
            for i in 0..<b.count { b[i] = 0.5 + 3 * rng.uniform() }
        }
        return net
    }

    static func input(_ shape: [Int], _ rng: inout RNG) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = rng.normal() }
        return t
    }

    /// Output of `layers[0..<count]` (the network's own forward, cut short).
    static func prefix(_ net: Sequential, _ count: Int, _ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for l in net.layers[0..<count] { h = l.forward(h, training: training) }
        return h
    }

    /// Entries of channel `c` of an `[N, C, H, W]` (or `[N, C]`) tensor.
    static func channel(_ t: Tensor, _ c: Int) -> [Float] {
        let n = t.shape[0], channels = t.shape[1], area = t.count / (n * channels)
        return (0..<n).flatMap { s in (0..<area).map { t[(s * channels + c) * area + $0] } }
    }

    @Test func aRemovedVGGChannelIsZeroForAnyInputInTrainingAndEvaluation() throws {
        let net = Self.vggBlock(seed: 1)
        let units = FilterUnits(layers: net.layers)
        let r = try pruneUnits(units, parameters: net.parameters, criterion: .l1Norm, rate: 0.5)
        let removed1 = r.layers[0].removedFilters, removed2 = r.layers[1].removedFilters
        #expect(r.layers.map(\.name) == ["conv1.weight", "conv2.weight"])
        #expect(removed1.count == 3 && removed2.count == 4)
        var rng = RNG(seed: 2)
        for training in [true, false] {
            for _ in 0..<3 {
                let x = Self.input([4, 3, 8, 8], &rng)
                // Post-BN and post-ReLU of conv1, post-BN and post-ReLU of conv2.
                for (count, removed) in [(2, removed1), (3, removed1), (6, removed2), (7, removed2)] {
                    let h = Self.prefix(net, count, x, training: training)
                    for c in removed { #expect(Self.channel(h, c).allSatisfy { $0 == 0 }, "layer \(count) channel \(c)") }
                }
            }
        }
        // A live channel still carries signal.
        let live = (0..<6).first { !removed1.contains($0) }!
        #expect(Self.channel(Self.prefix(net, 2, Self.input([4, 3, 8, 8], &rng), training: false), live).contains { $0 != 0 })
    }

    @Test func aRemovedResNetChannelIsZeroInsideTheBlock() throws {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 16, 16], classes: 10, seed: 3)
        let units = FilterUnits(model)
        let r = try pruneUnits(units, parameters: model.parameters, criterion: .l1Norm, rate: 0.25)
        let block = try #require(model.network.layers[3] as? ResidualBlock)
        let removed = try #require(r.layers.first { $0.name == "layer1.0.conv1.weight" }).removedFilters
        let removedSecond = try #require(r.layers.first { $0.name == "layer1.0.conv2.weight" }).removedFilters
        #expect(removed.count == 4 && removedSecond.count == 4)
        // Running statistics far from a fresh BN's, as after training.
        for b in model.buffers { for i in 0..<b.count { b[i] = 2 + Float(i % 5) } }
        var rng = RNG(seed: 4)
        for training in [true, false] {
            let x = Self.input([3, 16, 8, 8], &rng)
            let bn1 = block.bn1.forward(block.conv1.forward(x, training: training), training: training)
            for c in removed { #expect(Self.channel(bn1, c).allSatisfy { $0 == 0 }) }
            let relu1 = block.relu1.forward(bn1, training: training)
            for c in removed { #expect(Self.channel(relu1, c).allSatisfy { $0 == 0 }) }
            // The second conv's filters reaching the residual sum: its BN output is 0 too.
            let bn2 = block.bn2.forward(block.conv2.forward(relu1, training: training), training: training)
            for c in removedSecond { #expect(Self.channel(bn2, c).allSatisfy { $0 == 0 }) }
        }
        // The second conv no longer reads the removed channels.
        let w = block.conv2.weight, m = try #require(w.mask)
        for o in 0..<16 {
            for c in removed { for k in 0..<9 { #expect(m[(o * 16 + c) * 9 + k] == 0 && w.value[(o * 16 + c) * 9 + k] == 0) } }
        }
    }

    @Test func theNextLayersKernelsAreMaskedAndCounted() throws {
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10, seed: 5)
        let units = FilterUnits(model)
        let r = try pruneUnits(units, parameters: model.parameters, criterion: .l1Norm, rate: 0.5)
        let gone1 = r.layers[0].removedFilters, gone2 = r.layers[1].removedFilters, gone3 = r.layers[2].removedFilters
        #expect(gone1.count == 3 && gone2.count == 8 && gone3.count == 60)
        let report = SparsityReport(parameters: model.parameters)
        // conv2 [16, 6, 5, 5]: its kept filters read only the kept conv1 channels.
        #expect(report["conv2.weight"]?.remaining == (16 - 8) * (6 - 3) * 25)
        // fc1 [120, 16*4*4]: each conv2 channel is a block of 16 columns after Flatten.
        #expect(report["fc1.weight"]?.remaining == (120 - 60) * (16 - 8) * 16)
        let fc1 = try #require(model.parameters.first { $0.name == "fc1.weight" }?.mask)
        for row in 0..<120 { for c in gone2 { for j in 0..<16 { #expect(fc1[row * 256 + c * 16 + j] == 0) } } }
        // The biases of removed units are masked, the rest stay live.
        let bias = try #require(model.parameters.first { $0.name == "conv1.bias" })
        #expect(bias.mask.map { m in (0..<6).filter { m[$0] == 0 } } == gone1)
    }

    @Test func theClassifierKeepsEveryLogit() throws {
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10, seed: 6)
        let units = FilterUnits(model)
        #expect(units.classifier?.name == "fc3.weight")
        // Below 0.5 a layer never loses its last filter (round(p * 1) = 0).
        for _ in 0..<4 { try pruneUnits(units, parameters: model.parameters, criterion: .random(seed: 7), rate: 0.4) }
        let fc3 = try #require(model.parameters.first { $0.name == "fc3.weight" })
        let m = try #require(fc3.mask)  // its input columns reading removed fc2 neurons are masked
        for row in 0..<10 { #expect((0..<84).contains { m[row * 84 + $0] != 0 }, "logit \(row)") }
        #expect(model.parameters.first { $0.name == "fc3.bias" }?.mask == nil)
    }

    @Test func whatEachZooModelRemoves() throws {
        func units(_ name: String) throws -> FilterUnits {
            FilterUnits(try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 0, initialize: false))
        }
        let vgg = try units("vgg11")
        #expect(vgg.units.count == 9 && vgg.units.dropLast().allSatisfy(\.exact))
        #expect(vgg["conv1.weight"]?.companions.map(\.name) == ["conv1.bias", "conv1.bn.weight", "conv1.bn.bias"])
        #expect(vgg["conv8.weight"]?.readers.map(\.weight.name) == ["fc.weight"])
        #expect(vgg["conv8.weight"]?.readers.first?.entriesPerChannel == 1)
        let lenet = try units("lenet5")
        // 32x32 input: conv2's 16 channels reach fc1 as 16 blocks of 5x5 columns.
        #expect(lenet["conv2.weight"]?.readers.map(\.weight.name) == ["fc1.weight"])
        #expect(lenet["conv2.weight"]?.readers.first?.entriesPerChannel == 25)
        let resnet = try units("resnet20")
        #expect(resnet.classifier?.name == "fc.weight")
        #expect(resnet["layer2.0.conv1.weight"]?.exact == true)
        #expect(resnet["layer2.0.conv1.weight"]?.readers.map(\.weight.name) == ["layer2.0.conv2.weight"])
        #expect(resnet["layer2.0.conv2.weight"]?.exact == false)
        #expect(resnet["layer2.0.shortcut.conv.weight"]?.companions.map(\.name) == ["layer2.0.shortcut.bn.weight", "layer2.0.shortcut.bn.bias"])
        #expect(resnet["conv1.weight"]?.exact == false)
        #expect(resnet["conv1.weight"]?.companions.count == 2)
        let mobile = try units("mobilenetv2")
        #expect(mobile["conv2.weight"]?.exact == true)
        #expect(mobile["block1.expand.weight"]?.companions.map(\.name) == ["block1.expand.bn.weight", "block1.expand.bn.bias"])
        // Every prunable weight has a unit.
        for name in ["mlp", "lenet300", "convnet", "densenet40", "vit-tiny"] {
            let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 0, initialize: false)
            let u = FilterUnits(model)
            #expect(Set(u.units.map(\.weight.name)) == Set(model.parameters.filter(\.prunable).map(\.name)), "\(name)")
        }
    }

    /// SPEC §1: masked biases and BN parameters stay exactly 0, with no optimizer state,
    /// over many steps, and the removed channel stays 0 in evaluation after training.
    @Test(arguments: ["sgd", "nesterov", "adam", "rmsprop"])
    func optimizersKeepRemovedUnitsAtZero(optimizer: String) throws {
        let net = Self.vggBlock(seed: 8)
        let r = try pruneUnits(FilterUnits(layers: net.layers), parameters: net.parameters, criterion: .l1Norm, rate: 0.5)
        let opt: any Optimizer
        switch optimizer {
        case "sgd": opt = SGD(momentum: 0.9, weightDecay: 1e-3)
        case "nesterov": opt = SGD(momentum: 0.9, weightDecay: 1e-3, nesterov: true)
        case "adam": opt = Adam(weightDecay: 1e-3)
        default: opt = RMSProp(momentum: 0.9, weightDecay: 1e-3)
        }
        let lr: Float = optimizer == "sgd" || optimizer == "nesterov" ? 0.05 : 1e-3
        var rng = RNG(seed: 9)
        let x = Self.input([16, 3, 8, 8], &rng)
        let labels = (0..<16).map { _ in Int32(rng.below(4)) }
        let grad = Tensor(shape: [0])
        for _ in 0..<150 {
            for p in net.parameters { p.grad.zero() }
            let logits = net.forward(x, training: true)
            _ = labels.withUnsafeBufferPointer { SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad) }
            _ = net.backward(grad)
            opt.step(net.parameters, lr: lr)
            for p in net.parameters {
                guard let m = p.mask else { continue }
                let state = opt.state(of: p)
                for i in 0..<p.count where m[i] == 0 {
                    #expect(p.value[i] == 0 && state.allSatisfy { $0[i] == 0 }, "\(p.name)[\(i)]")
                }
            }
        }
        let companions = net.parameters.filter { !$0.prunable && $0.mask != nil }.map(\.name)
        #expect(companions == ["conv1.bias", "conv1.bn.weight", "conv1.bn.bias", "conv2.bias", "conv2.bn.weight", "conv2.bn.bias"])
        let h = Self.prefix(net, 7, Self.input([4, 3, 8, 8], &rng), training: false)
        for c in r.layers[1].removedFilters { #expect(Self.channel(h, c).allSatisfy { $0 == 0 }) }
    }
}
