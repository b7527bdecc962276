import Testing
@testable import NN
import Tensor

/// The convolutional entries of ModelZoo: parameter counts against the published
/// architectures, and output shapes for CIFAR (3x32x32) and Fashion-MNIST (1x28x28) input.
@Suite struct ConvModelTests {
    static let convModels = ["lenet5", "convnet", "vgg11", "vgg16", "vgg19", "resnet20", "resnet56", "resnet110",
                             "densenet40", "mobilenetv2"]

    @Test func everyModelIsListed() {
        for name in Self.convModels { #expect(ModelZoo.names.contains(name)) }
    }

    /// Counts for 3x32x32 input and 10 classes. VGG-16 (with BN, one Linear 512→10) and the
    /// ResNets (1x1-conv + BN projection shortcuts) are the numbers PyTorch reports for the
    /// reference CIFAR implementations; the rest follow from the layer sizes.
    @Test(arguments: [
        ("lenet5", 456 + 2_416 + 48_120 + 10_164 + 850),
        ("convnet", 896 + 9_248 + 18_496 + 36_928 + 1_048_832 + 2_570),
        ("vgg16", 14_728_266),
        ("vgg11", 9_231_114),
        ("vgg19", 20_040_522),
        ("resnet20", 272_474),
        ("resnet56", 855_770),
        ("resnet110", 1_730_714),  // 272,474 + 15 blocks of 97,216
        ("densenet40", 1_019_722),  // growth 12, no bottleneck: composed in DenseNetAndMobileNetModelTests
        ("mobilenetv2", 2_236_682),  // torchvision's count for 10 classes; kuangliu's shortcuts make 2,296,922
    ])
    func parameterCount(_ name: String, _ expected: Int) throws {
        let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        #expect(model.parameterCount == expected)
        // Parameter names are unique (checkpoints are keyed by them).
        #expect(Set(model.parameters.map(\.name)).count == model.parameters.count)
    }

    @Test func resnetStructure() throws {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 1)
        let blocks = model.network.layers.compactMap { $0 as? ResidualBlock }
        #expect(blocks.count == 9)
        #expect(blocks.filter { $0.projection != nil }.count == 2)
        let convs = model.parameters.filter { $0.kind == "conv" }
        // 19 3x3 convolutions plus the two 1x1 projections, none with a bias.
        #expect(convs.count == 21 && convs.allSatisfy(\.prunable))
        #expect(!model.parameters.contains { $0.name.contains("conv") && $0.name.hasSuffix(".bias") && $0.kind == "bias" })
        #expect(model.parameters.filter { $0.kind == "norm" }.count == 2 * 21)
        let r110 = try ModelZoo.make("resnet110", inputShape: [3, 32, 32], classes: 10, seed: 1)
        #expect(r110.network.layers.compactMap { $0 as? ResidualBlock }.count == 54)
    }

    @Test(arguments: ["lenet5", "convnet", "vgg11", "resnet20", "densenet40", "mobilenetv2"], [[3, 32, 32], [1, 28, 28]])
    func forwardAndBackwardShapes(_ name: String, _ shape: [Int]) throws {
        // VGG's 9M weights are left at zero: drawing them dominates a debug run.
        let initialized = !name.hasPrefix("vgg")
        let model = try ModelZoo.make(name, inputShape: shape, classes: 7, seed: 2, initialize: initialized)
        var rng = RNG(seed: 3)
        let x = randomTensor([2] + shape, &rng)
        let y = model.forward(x, training: true)
        #expect(y.shape == [2, 7], "\(name) on \(shape)")
        let finite = y.array.allSatisfy { $0.isFinite }
        #expect(finite, "\(name) on \(shape)")
        let dy = randomTensor([2, 7], &rng)
        model.zeroGradients()
        model.backward(dy)
        let grads = model.parameters.map { $0.grad.array }
        #expect(grads.allSatisfy { $0.allSatisfy(\.isFinite) }, "\(name)")
        if initialized {
            // The gradient reaches the first convolution through every block.
            #expect(grads[0].contains { $0 != 0 }, "\(name)")
        }
        let evaluated = model.forward(x, training: false)
        #expect(evaluated.shape == [2, 7] && evaluated.array.allSatisfy(\.isFinite))
    }

    @Test func tooSmallInputIsATypedError() {
        #expect(throws: ModelError.self) { try ModelZoo.make("lenet5", inputShape: [1, 8, 8], classes: 10, seed: 1) }
        #expect(throws: ModelError.self) { try ModelZoo.make("resnet20", inputShape: [784], classes: 10, seed: 1) }
    }

    @Test func sameSeedSameWeights() throws {
        let a = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 5)
        let b = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 5)
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.value.array == $1.value.array })
    }
}
