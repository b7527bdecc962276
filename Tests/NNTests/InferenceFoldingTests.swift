import Testing
@testable import NN
import Tensor

/// `Model.infer`: evaluation without backward, where a pruned convolution that runs sparse
/// applies the BatchNorm after it (and its ReLU or ReLU6, or a residual block's sum and ReLU)
/// as it writes its output. It must give the bits of `forward(_:training: false)`.
struct InferenceFoldingTests {
    /// A zoo model with every prunable weight masked to about `kept`, non-trivial BatchNorm
    /// statistics and affine parameters, in `mode`.
    func prunedModel(_ name: String, kept: Double, mode: KernelMode, _ rng: inout RNG) throws -> Model {
        let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 2)
        for p in model.parameters where p.prunable {
            let m = Tensor(shape: p.value.shape)
            for i in 0..<m.count { m[i] = Double(rng.uniform()) < kept ? 1 : 0 }
            p.setMask(m)
        }
        for layer in model.network.leaves {
            if let conv = layer as? Conv2d { conv.kernels = mode }
            guard let bn = layer as? BatchNorm2d else { continue }
            for c in 0..<bn.channels {
                bn.gamma.value[c] = 1 + 0.5 * rng.normal()
                bn.beta.value[c] = 0.3 * rng.normal()
                bn.runningMean[c] = 0.2 * rng.normal()
                bn.runningVar[c] = 0.5 + rng.uniform()
            }
        }
        return model
    }

    @Test(arguments: ["resnet20", "vgg11", "convnet", "mobilenetv2"], [KernelMode.sparse, .auto, .dense])
    func inferGivesTheBitsOfAnEvaluationForward(_ name: String, _ mode: KernelMode) throws {
        var rng = RNG(seed: 21, stream: "fold")
        let model = try prunedModel(name, kept: 0.1, mode: mode, &rng)
        let x = randomTensor([2, 3, 32, 32], &rng)
        let forward = model.forward(x, training: false).array
        let inferred = model.infer(x).array
        #expect(inferred == forward, "\(name) \(mode)")
        #expect(Set(forward).count >= 10, "\(name): the logits must vary")
        // Folding happened exactly where a convolution ran sparse before a BatchNorm2d; a
        // folded convolution keeps no input for a backward.
        let folded = model.network.leaves.compactMap { $0 as? Conv2d }.filter { $0.input == nil }
        if mode == .dense || name == "convnet" {
            #expect(folded.isEmpty, "\(name) \(mode): nothing to fold")  // convnet has no BatchNorm
        } else if name != "mobilenetv2" {
            #expect(!folded.isEmpty, "\(name) \(mode): no convolution folded its BatchNorm")
        }
        // A training step after inference runs as usual.
        _ = model.forward(x, training: true)
        #expect(model.network.leaves.compactMap { $0 as? Conv2d }.allSatisfy { $0.input != nil })
    }

    /// A residual block whose convolutions both run sparse chains them per sample
    /// (`inferChained`): the bits of the evaluation forward, for identity and projection
    /// shortcuts, odd sizes (a stride-2 conv1 with a ragged last window) and one or two
    /// workers; it declines when a convolution runs dense or an observer watches an activation.
    @Test(arguments: [(8, 8, 1, 9), (8, 12, 2, 7), (6, 10, 2, 10)])
    func chainedResidualInferenceGivesTheBitsOfTheEvaluationForward(_ cin: Int, _ cout: Int, _ stride: Int, _ size: Int) {
        var rng = RNG(seed: 5, stream: "chain")
        let block = sparseResidualBlock(cin, cout, stride: stride, &rng)
        let x = randomTensor([3, cin, size, size], &rng)
        for threads in [1, 2] {
            Parallel.withThreads(threads) {
                let forward = block.forward(x, training: false).array
                let chained = block.inferChained(x)?.array
                #expect(chained == forward, "\(cin)→\(cout) stride \(stride) size \(size), \(threads) threads")
                #expect(forward.contains(0) && forward.contains { $0 > 0 })
                #expect(block.infer(x).array == forward)
            }
        }
        block.relu1.observer = { _ in }
        #expect(block.inferChained(x) == nil, "an observer sees relu1's output")
        block.relu1.observer = nil
        block.conv2.kernels = .dense
        #expect(block.inferChained(x) == nil, "conv2 runs dense")
        #expect(block.infer(x).array == block.forward(x, training: false).array)
        // conv1 dense, conv2 sparse: a training step chains bn1 into conv2's input; evaluation
        // after it folds conv2 alone, and must not apply that normalisation again.
        block.conv1.kernels = .dense
        block.conv2.kernels = .sparse
        _ = block.forward(x, training: true)
        _ = block.backward(Tensor(shape: block.relu2.output.shape, repeating: 1))
        #expect(block.inferChained(x) == nil, "conv1 runs dense")
        #expect(block.infer(x).array == block.forward(x, training: false).array, "evaluation after a chained training step")
    }
    /// Fully connected layers that run sparse one after the other (an MLP's) keep the kernels'
    /// transposed layout between them in `infer` (`Linear.inferChained`): the bits of the
    /// layers' evaluation forwards, whatever stops a run (a dense layer, an observed ReLU), on
    /// one and two workers.
    @Test(arguments: [1, 2])
    func sparseLinearRunsGiveTheBitsOfTheLayersOneByOne(_ threads: Int) {
        var rng = RNG(seed: 8, stream: "linear-chain")
        let widths = [40, 64, 48, 32, 24, 10]
        var layers: [any Layer] = []
        for (k, (a, b)) in zip(widths, widths.dropFirst()).enumerated() {
            let linear = Linear(a, b, rng: &rng)
            for o in 0..<b { linear.bias!.value[o] = 0.1 * rng.normal() }
            if k != 3 {  // the fourth stays unmasked (dense): two runs
                let m = Tensor(shape: linear.weight.value.shape)
                for i in 0..<m.count { m[i] = rng.uniform() < 0.3 ? 1 : 0 }
                linear.weight.setMask(m)
                linear.kernels = .sparse
            }
            layers.append(linear)
            if k < widths.count - 2 { layers.append(ReLU()) }
        }
        let net = Sequential(layers), x = randomTensor([19, 40], &rng)
        Parallel.withThreads(threads) {
            let oneByOne = layers.reduce(x) { $1.forward($0, training: false) }.array
            #expect(Linear.sparseInferenceRun(layers, from: 0).count == 3, "a run of three")
            #expect(net.infer(x).array == oneByOne, "\(threads) workers")
            (layers[3] as! ReLU).observer = { _ in }  // observed: the first run ends before it
            #expect(Linear.sparseInferenceRun(layers, from: 0).count == 0, "a run of one does not chain")
            #expect(net.infer(x).array == oneByOne, "\(threads) workers, observed")
            #expect(Set(oneByOne).count > 50, "the outputs vary")
        }
    }
}
