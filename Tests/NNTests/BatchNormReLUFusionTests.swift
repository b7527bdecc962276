import Testing
@testable import NN
import Tensor

/// `BatchNorm2d.fuse`: a BatchNorm2d that computes the ReLU after it gives the bits of the two
/// layers run apart, forward and backward, in training and evaluation mode (the kernels at
/// every vector level: `DenseKernelsTests`), and the zoo's conv-BN-ReLU layers fuse (ResNet
/// blocks fuse their first BN-ReLU; `ConvLayerTests` checks their gradients).
struct BatchNormReLUFusionTests {
    /// Output, input gradient and γ/β gradients of BN then ReLU, fused or apart, on the same data.
    func run(fused: Bool, training: Bool, shape: [Int]) -> [[Float]] {
        var rng = RNG(seed: 11, stream: "fusion")
        let c = shape[1]
        let bn = BatchNorm2d(c), relu = ReLU()
        for i in 0..<c {
            bn.gamma.value[i] = rng.normal()
            bn.beta.value[i] = 0.3 * rng.normal()
            bn.runningMean[i] = 0.2 * rng.normal()
            bn.runningVar[i] = 0.5 + rng.uniform()
        }
        if fused { bn.fuse(relu) }
        let net = Sequential([bn, relu])
        let x = randomTensor(shape, &rng)
        let y = net.forward(x, training: training).array
        let dy = randomTensor(shape, &rng)
        bn.gamma.grad.fill(0.25)
        let dx = net.backward(dy).array
        return [y, dx, bn.gamma.grad.array, bn.beta.grad.array, bn.runningMean.array, bn.runningVar.array]
    }

    @Test(arguments: [[2, 3, 5, 7], [4, 8, 4, 4], [3, 2, 1, 1], [2, 5, 6, 6]], [true, false])
    func fusedGivesTheBitsOfTheLayersApart(_ shape: [Int], _ training: Bool) {
        let apart = run(fused: false, training: training, shape: shape)
        let fused = run(fused: true, training: training, shape: shape)
        for (i, what) in ["output", "input gradient", "γ gradient", "β gradient", "running mean", "running variance"].enumerated() {
            #expect(fused[i] == apart[i], "\(shape) training \(training): \(what)")
        }
        // The fixture must exercise the mask: some outputs clipped, some kept.
        #expect(apart[0].contains(0) && apart[0].contains { $0 > 0 })
    }

    @Test(arguments: ["vgg11", "densenet40"])
    func zooModelsFuseTheirBatchNormReLUPairs(_ name: String) throws {
        let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1)
        let layers = model.network.layers
        let pairs = zip(layers, layers.dropFirst()).filter { $0 is BatchNorm2d && $1 is ReLU }
        #expect(!pairs.isEmpty)
        #expect(pairs.allSatisfy { ($0.0 as! BatchNorm2d).fusedReLU === ($0.1 as! ReLU) })
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
