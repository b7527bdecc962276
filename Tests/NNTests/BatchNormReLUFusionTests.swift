import Testing
@testable import NN
import Tensor

/// `BatchNorm2d.fuse`: a BatchNorm2d that computes the ReLU after it gives the bits of the two
/// layers run apart, forward and backward, in training and evaluation mode (the kernels at
/// every vector level: `DenseKernelsTests`), and the zoo's conv-BN-ReLU layers fuse (ResNet
/// blocks fuse their first BN-ReLU; `ConvLayerTests` checks their gradients).
struct BatchNormReLUFusionTests {
    /// Output, input gradient and γ/β gradients of BN then ReLU (or ReLU6), fused or apart, on
    /// the same data.
    func run(fused: Bool, training: Bool, shape: [Int], six: Bool = false) -> [[Float]] {
        var rng = RNG(seed: 11, stream: "fusion")
        let c = shape[1]
        let bn = BatchNorm2d(c), relu: any BatchNormFusable = six ? ReLU6() : ReLU()
        for i in 0..<c {
            // Wide enough for ReLU6's upper kink too (outputs above 6 where xHat > 1).
            bn.gamma.value[i] = six ? 7 + rng.normal() : rng.normal()
            bn.beta.value[i] = 0.3 * rng.normal()
            bn.runningMean[i] = 0.2 * rng.normal()
            bn.runningVar[i] = 0.5 + rng.uniform()
        }
        // A Sequential fuses the pair; apart, each layer runs on its own.
        let net = fused ? Sequential([bn, relu]) : nil
        let x = randomTensor(shape, &rng)
        let y = (net?.forward(x, training: training) ?? relu.forward(bn.forward(x, training: training), training: training)).array
        let dy = randomTensor(shape, &rng)
        bn.gamma.grad.fill(0.25)
        let dx = (net?.backward(dy) ?? bn.backward(relu.backward(dy))).array
        return [y, dx, bn.gamma.grad.array, bn.beta.grad.array, bn.runningMean.array, bn.runningVar.array]
    }

    @Test(arguments: [[2, 3, 5, 7], [4, 8, 4, 4], [3, 2, 1, 1], [2, 5, 6, 6]], [true, false])
    func fusedGivesTheBitsOfTheLayersApart(_ shape: [Int], _ training: Bool) {
        for six in [false, true] {
            let apart = run(fused: false, training: training, shape: shape, six: six)
            let fused = run(fused: true, training: training, shape: shape, six: six)
            for (i, what) in ["output", "input gradient", "γ gradient", "β gradient", "running mean", "running variance"].enumerated() {
                #expect(fused[i] == apart[i], "\(shape) training \(training) relu6 \(six): \(what)")
            }
            // The fixture must exercise the mask: some outputs clipped, some kept.
            #expect(apart[0].contains(0) && apart[0].contains { $0 > 0 && $0 < 6 })
            if six && apart[0].count > 100 { #expect(apart[0].contains(6), "\(shape): no output at ReLU6's top") }
        }
    }

    /// A BN that reads the first channels of a wider input in place (`readsChannelPrefix`, as
    /// DenseBlock's layers do) gives the bits of the same BN on a copy of those channels:
    /// output, input gradient, γ/β gradients and running statistics, plain and ReLU-fused
    /// (forward, and the recomputation backward uses), in training and evaluation mode.
    @Test(arguments: [true, false], [true, false])
    func aChannelPrefixGivesTheBitsOfItsCopy(_ training: Bool, _ fused: Bool) {
        func run(inPlace: Bool) -> [[Float]] {
            var rng = RNG(seed: 5, stream: "prefix")
            let c = 3, shape = [2, 5, 4, 3]
            let bn = BatchNorm2d(c), relu = ReLU()
            bn.readsChannelPrefix = inPlace
            for i in 0..<c {
                bn.gamma.value[i] = rng.normal()
                bn.beta.value[i] = 0.3 * rng.normal()
                bn.runningMean[i] = 0.2 * rng.normal()
                bn.runningVar[i] = 0.5 + rng.uniform()
            }
            let wide = randomTensor(shape, &rng)
            let x = inPlace ? wide : channels(wide, 0, c)
            let y = fused ? relu.forward(bn.forward(x, training: training, fusing: relu), training: training)
                          : bn.forward(x, training: training)
            let out = y.array
            // Backward after the recomputation a DenseBlock runs (the same bits as forward).
            if fused { bn.renormalize(x, into: relu) } else { bn.renormalize(x) }
            let again = fused ? relu.output.array : bn.output.array
            let dy = randomTensor([2, c, 4, 3], &rng)
            let dx = bn.backward(fused ? relu.backward(dy) : dy).array
            return [out, again, dx, bn.gamma.grad.array, bn.beta.grad.array, bn.runningMean.array, bn.runningVar.array]
        }
        let copied = run(inPlace: false), inPlace = run(inPlace: true)
        #expect(copied[0] == copied[1], "recomputation")
        for (i, what) in ["output", "recomputed output", "input gradient", "γ gradient", "β gradient",
                          "running mean", "running variance"].enumerated() {
            #expect(inPlace[i] == copied[i], "training \(training) fused \(fused): \(what)")
        }
        #expect(inPlace[0].count == 2 * 3 * 4 * 3)
    }

    /// MobileNetV2's block (each hidden BN-ReLU6 pair fused, recomputed in backward, gradients
    /// in shared buffers) gives the bits of its layers run one by one, unfused, in training and
    /// evaluation mode, with and without the expansion and the residual.
    @Test(arguments: [[2, 2, 3, 1], [3, 4, 1, 1], [2, 3, 2, 2]], [true, false])
    func anInvertedResidualGivesTheBitsOfItsLayersApart(_ config: [Int], _ training: Bool) {
        var rng = RNG(seed: 13, stream: "inverted")
        let block = InvertedResidual(config[0], config[1], expansion: config[2], stride: config[3], name: "b", rng: &rng)
        var bns = [block.bn2, block.bn3]
        if let e = block.expand { bns.append(e.bn) }
        for bn in bns {
            for i in 0..<bn.channels {
                bn.gamma.value[i] = 4 * rng.normal()
                bn.beta.value[i] = 0.5 * rng.normal()
                bn.runningMean[i] = 0.1 * rng.normal()
                bn.runningVar[i] = 0.5 + rng.uniform()
            }
        }
        let x = randomTensor([3, config[0], 5, 5], &rng)
        func grads() -> [[Float]] { block.parameters.map { $0.grad.array } }
        let out = block.forward(x, training: training)
        let y = out.array
        let dy = randomTensor(out.shape, &rng)
        let dx = block.backward(dy).array
        let fusedGrads = grads()
        // The same layers one by one, unfused (training normalises with the batch statistics,
        // evaluation with running statistics that neither pass changes).
        for p in block.parameters { p.grad.zero() }
        var h = x
        if let (c, b, r) = block.expand { h = r.forward(b.forward(c.forward(h, training: training), training: training), training: training) }
        h = block.relu2.forward(block.bn2.forward(block.depthwise.forward(h, training: training), training: training), training: training)
        h = block.bn3.forward(block.project.forward(h, training: training), training: training)
        var apartY = h.array
        if block.hasResidual { for i in apartY.indices { apartY[i] += x[i] } }
        var d = block.project.backward(block.bn3.backward(dy))
        d = block.depthwise.backward(block.bn2.backward(block.relu2.backward(d)))
        if let (c, b, r) = block.expand { d = c.backward(b.backward(r.backward(d))) }
        var apartDx = d.array
        if block.hasResidual { for i in apartDx.indices { apartDx[i] += dy[i] } }
        #expect(y == apartY, "output")
        #expect(dx == apartDx, "input gradient")
        #expect(fusedGrads == grads(), "parameter gradients")
        #expect(y.contains { $0 != 0 })
    }

    /// Every BN-ReLU(6) pair of a network fuses: `Sequential.init` wires its neighbours (so
    /// compaction's rebuilt networks fuse too).
    @Test(arguments: ["vgg11", "densenet40", "mobilenetv2", "resnet20"])
    func networksFuseTheirBatchNormActivationPairs(_ name: String) throws {
        let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1)
        let layers = model.network.layers
        let pairs = zip(layers, layers.dropFirst()).filter { $0 is BatchNorm2d && $1 is any BatchNormFusable }
        #expect(!pairs.isEmpty)
        #expect(pairs.allSatisfy { ($0.0 as! BatchNorm2d).fusedActivation === ($0.1 as AnyObject) })
        let rebuilt = Sequential(layers.map { layer -> any Layer in
            if let bn = layer as? BatchNorm2d { return BatchNorm2d(bn.channels) }
            if let r = layer as? ReLU { return ReLU(name: r.name) }
            if let r = layer as? ReLU6 { return ReLU6(name: r.name) }
            return layer
        }).layers
        let again = zip(rebuilt, rebuilt.dropFirst()).filter { $0 is BatchNorm2d && $1 is any BatchNormFusable }
        #expect(again.count == pairs.count && again.allSatisfy { ($0.0 as! BatchNorm2d).fusedActivation === ($0.1 as AnyObject) })
    }

    /// A residual block (first BN-ReLU fused, bn2 + shortcut + ReLU in one pass) gives the bits
    /// of its layers run one by one, with the identity and with the projection shortcut.
    @Test(arguments: [[4, 4, 1], [3, 6, 2]])
    func aResidualBlockGivesTheBitsOfItsLayersApart(_ config: [Int]) {
        var rng = RNG(seed: 9, stream: "block")
        let block = ResidualBlock(config[0], config[1], stride: config[2], name: "b", rng: &rng)
        for bn in [block.bn1, block.bn2] + (block.projection.map { [$0.bn] } ?? []) {
            for i in 0..<bn.channels {
                bn.beta.value[i] = 0.3 * rng.normal()
                bn.runningMean[i] = 0.1 * rng.normal()
            }
        }
        let x = randomTensor([2, config[0], 6, 6], &rng)
        // Evaluation mode: the running statistics stay put between the two computations.
        let fused = block.forward(x, training: false).array
        var h = block.conv1.forward(x, training: false)
        h = ReLU().forward(block.bn1.forward(h, training: false), training: false)
        let main = block.bn2.forward(block.conv2.forward(h, training: false), training: false).array
        let shortcut = block.projection.map { $0.bn.forward($0.conv.forward(x, training: false), training: false).array } ?? x.array
        let apart = zip(main, shortcut).map { max($0 + $1, 0) }
        #expect(fused == apart)
        #expect(apart.contains(0) && apart.contains { $0 > 0 })
    }

    /// The batch statistics are each channel's plane sums added in sample order in Double,
    /// whatever order the passes visit the planes in and however many workers share the
    /// channels: the running statistics have the bits of a channel-by-channel reference, and
    /// one and two workers give the same output and gradients.
    @Test func batchStatisticsAddThePlanesInSampleOrder() {
        var rng = RNG(seed: 17, stream: "statistics")
        let (n, c, area) = (64, 4, 32 * 32), m = n * area  // enough values for two workers
        let x = randomTensor([n, c, 32, 32], &rng), dy = randomTensor([n, c, 32, 32], &rng)
        for i in 0..<x.count { x[i] = 2 * x[i] + 5 }
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            let bn = BatchNorm2d(c), relu = ReLU()
            bn.fuse(relu)
            let (y, dx) = Parallel.withThreads(threads) {
                (bn.forward(x, training: true, fusing: relu).array, bn.backward(dy).array)
            }
            for ch in 0..<c {
                var s: Double = 0, q: Double = 0
                for i in 0..<n { s += Double(Ops.sum(area, x.data + (i * c + ch) * area)) }
                let mean = Float(s / Double(m))
                for i in 0..<n { q += Double(Ops.sumSquaredDeviations(area, x.data + (i * c + ch) * area, mean: mean)) }
                let variance = Float(q / Double(m))
                #expect(bn.runningMean[ch] == (1 - 0.1) * 0 + 0.1 * mean, "\(threads) workers, channel \(ch)")
                #expect(bn.runningVar[ch] == (1 - 0.1) * 1 + 0.1 * variance * (Float(m) / Float(m - 1)), "\(threads) workers, channel \(ch)")
            }
            results.append([y, dx, bn.gamma.grad.array, bn.beta.grad.array])
        }
        #expect(results[0] == results[1])
        #expect(results[0][0].contains(0) && results[0][0].contains { $0 > 0 })
    }

    /// Run on its own (not by a `Sequential` that fuses it), a BatchNorm2d gives its own
    /// output, not the ReLU's, even when registered for fusion.
    @Test func aFusedLayerRunAloneIsUnchanged() {
        var rng = RNG(seed: 5)
        let bn = BatchNorm2d(3), relu = ReLU()
        bn.beta.value.fill(-0.2)
        bn.fuse(relu)
        let x = randomTensor([2, 3, 4, 4], &rng)
        let y = bn.forward(x, training: true).array
        #expect(y.contains { $0 < 0 })
        #expect(relu.forward(Tensor(shape: [2, 3, 4, 4], values: y), training: true).array == y.map { max($0, 0) })
    }
}
