import Tensor

/// The named architectures the CLI and experiment specs refer to.
public enum ModelZoo {
    /// The names `make` accepts.
    public static let names = ["mlp", "lenet300", "lenet5", "convnet", "vgg11", "vgg16", "vgg19",
                               "resnet20", "resnet56", "resnet110", "densenet40", "mobilenetv2", "vit-tiny"]

    /// Builds `name` for samples of `inputShape` and `classes` outputs, initialised from `seed`.
    public static func make(_ name: String, inputShape: [Int], classes: Int, seed: UInt64) throws -> Model {
        try make(name, inputShape: inputShape, classes: classes, seed: seed, initialize: true)
    }

    /// `initialize: false` leaves the convolutional models' weights at zero: tests that only
    /// count parameters or check shapes skip drawing ~15M normals, seconds in a debug build.
    public static func make(_ name: String, inputShape: [Int], classes: Int, seed: UInt64, initialize: Bool) throws -> Model {
        var rng = RNG(seed: seed, stream: "init")
        let features = inputShape.reduce(1, *)
        switch name {
        case "mlp":
            // The papers' 3x256 ReLU MLP (784-256-256-256-10 on Fashion-MNIST).
            return Model(name: name, network: mlp(features, hidden: [256, 256, 256], classes, rng: &rng),
                         inputShape: inputShape, classes: classes)
        case "lenet300":
            // LeNet-300-100.
            return Model(name: name, network: mlp(features, hidden: [300, 100], classes, rng: &rng),
                         inputShape: inputShape, classes: classes)
        case "lenet5", "convnet", "vgg11", "vgg16", "vgg19", "resnet20", "resnet56", "resnet110",
             "densenet40", "mobilenetv2":
            guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
                throw ModelError.incompatibleInput(model: name, shape: inputShape, reason: "needs [channels, height, width]")
            }
            var b = ConvBuilder(inputShape, rng: rng, model: name)
            if !initialize { b.initializer = .zeros }
            switch name {
            case "lenet5": try lenet5(&b, classes)
            case "convnet": try convnet(&b, classes)
            case "vgg11": try vgg(&b, Self.vggConfigs[11]!, classes)
            case "vgg16": try vgg(&b, Self.vggConfigs[16]!, classes)
            case "vgg19": try vgg(&b, Self.vggConfigs[19]!, classes)
            case "resnet20": try resnet(&b, depth: 20, classes)
            case "resnet56": try resnet(&b, depth: 56, classes)
            case "densenet40": try densenet(&b, depth: 40, growth: 12, classes)
            case "mobilenetv2": try mobilenetv2(&b, classes)
            default: try resnet(&b, depth: 110, classes)
            }
            return Model(name: name, network: Sequential(b.layers), inputShape: inputShape, classes: classes)
        case "vit-tiny":
            return try visionTransformer(name, .tiny, inputShape: inputShape, classes: classes, initialize: initialize, rng: &rng)
        default:
            throw ModelError.unknownModel(name, known: names)
        }
    }

    /// Appends layers while tracking the activation shape, so classifier widths are computed
    /// from the input (28x28 and 32x32 inputs both work) and too-small inputs fail with a
    /// clear error instead of a precondition deep in a layer. All convolutions share one
    /// workspace: the network runs them one at a time.
    struct ConvBuilder {
        let model: String, inputShape: [Int]
        var layers: [any Layer] = []
        var channels: Int, height: Int, width: Int
        var features: Int { channels * height * width }
        var rng: RNG
        let workspace = ConvWorkspace()
        /// Replaces every layer's own initialiser when set.
        var initializer: Initializer?

        init(_ shape: [Int], rng: RNG, model: String = "") {
            inputShape = shape
            self.model = model
            (channels, height, width) = (shape[0], shape[1], shape[2])
            self.rng = rng
        }

        func tooSmall(_ what: String) -> ModelError {
            .incompatibleInput(model: model, shape: inputShape, reason: "too small for \(what) at \(channels)x\(height)x\(width)")
        }

        mutating func conv(_ out: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                           bn: Bool = false, relu: Bool = true, name: String) throws {
            let oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1
            guard height + 2 * padding >= kernel, width + 2 * padding >= kernel, oh > 0, ow > 0 else { throw tooSmall(name) }
            layers.append(Conv2d(channels, out, kernel: kernel, stride: stride, padding: padding, bias: bias,
                                 name: name, initializer: initializer ?? .heNormal, workspace: workspace, rng: &rng))
            if bn { layers.append(BatchNorm2d(out, name: "\(name).bn")) }
            if relu { layers.append(ReLU(name: "\(name).relu")) }
            (channels, height, width) = (out, oh, ow)
        }

        mutating func maxPool(_ k: Int) throws {
            guard height >= k, width >= k else { throw tooSmall("max pooling") }
            layers.append(MaxPool2d(kernel: k))
            (height, width) = (height / k, width / k)
        }

        mutating func residual(_ out: Int, stride: Int, name: String) throws {
            guard height + 2 >= 3, width + 2 >= 3 else { throw tooSmall(name) }
            layers.append(ResidualBlock(channels, out, stride: stride, name: name, initializer: initializer ?? .heNormal,
                                        workspace: workspace, rng: &rng))
            (channels, height, width) = (out, (height - 1) / stride + 1, (width - 1) / stride + 1)
        }

        mutating func globalAvgPool() {
            layers.append(GlobalAvgPool())
            (height, width) = (1, 1)
        }

        mutating func flatten() { layers.append(Flatten()) }

        mutating func linear(_ out: Int, relu: Bool = true, name: String) {
            layers.append(Linear(features, out, name: name, initializer: initializer ?? (relu ? .heNormal : .glorotUniform), rng: &rng))
            if relu { layers.append(ReLU(name: "\(name).relu")) }
            (channels, height, width) = (out, 1, 1)
        }
    }

    /// LeCun et al.'s LeNet-5 (6 and 16 5x5 filters, then 120-84-classes) with ReLU and max
    /// pooling; no padding, so a 32x32 input gives the classic 16x5x5 and 28x28 gives 16x4x4.
    static func lenet5(_ b: inout ConvBuilder, _ classes: Int) throws {
        try b.conv(6, kernel: 5, name: "conv1")
        try b.maxPool(2)
        try b.conv(16, kernel: 5, name: "conv2")
        try b.maxPool(2)
        b.flatten()
        b.linear(120, name: "fc1")
        b.linear(84, name: "fc2")
        b.linear(classes, relu: false, name: "fc3")
    }

    /// A small ConvNet: conv32-conv32-pool-conv64-conv64-pool-fc256-classes, 3x3 same-padding
    /// convolutions with bias, ReLU throughout.
    static func convnet(_ b: inout ConvBuilder, _ classes: Int) throws {
        try b.conv(32, kernel: 3, padding: 1, name: "conv1")
        try b.conv(32, kernel: 3, padding: 1, name: "conv2")
        try b.maxPool(2)
        try b.conv(64, kernel: 3, padding: 1, name: "conv3")
        try b.conv(64, kernel: 3, padding: 1, name: "conv4")
        try b.maxPool(2)
        b.flatten()
        b.linear(256, name: "fc1")
        b.linear(classes, relu: false, name: "fc2")
    }

    /// VGG configurations (Simonyan & Zisserman), 0 = 2x2 max pooling.
    static let vggConfigs: [Int: [Int]] = [
        11: [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        16: [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        19: [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    ]

    /// CIFAR VGG as in the pruning literature (e.g. Liu et al. 2019's vgg16-bn): 3x3 convs with
    /// bias, BN and ReLU, max pooling, then global average pooling and one Linear(512,
    /// classes). On 32x32 the five pools end at 1x1, so the pooling changes nothing; a pool
    /// that would reduce 1x1 to nothing (the fifth on 28x28 input) is left out.
    static func vgg(_ b: inout ConvBuilder, _ config: [Int], _ classes: Int) throws {
        var index = 0
        for v in config {
            if v == 0 {
                if b.height >= 2 && b.width >= 2 { try b.maxPool(2) }
            } else {
                index += 1
                try b.conv(v, kernel: 3, padding: 1, bn: true, name: "conv\(index)")
            }
        }
        b.globalAvgPool()
        b.linear(classes, relu: false, name: "fc")
    }

    /// He et al. 2016's CIFAR ResNets (depth 6n + 2): a 3x3 conv to 16 channels, three stages
    /// of n basic blocks at 16, 32, 64 channels (stride 2 entering stages 2 and 3, with 1x1
    /// conv + BN projection shortcuts there), global average pooling, Linear(64, classes).
    /// Convolutions have no bias (BN follows each).
    static func resnet(_ b: inout ConvBuilder, depth: Int, _ classes: Int) throws {
        let n = (depth - 2) / 6
        try b.conv(16, kernel: 3, padding: 1, bias: false, bn: true, name: "conv1")
        for (stage, width) in [16, 32, 64].enumerated() {
            for i in 0..<n {
                try b.residual(width, stride: stage > 0 && i == 0 ? 2 : 1, name: "layer\(stage + 1).\(i)")
            }
        }
        b.globalAvgPool()
        b.linear(classes, relu: false, name: "fc")
    }

    static func mlp(_ inputs: Int, hidden: [Int], _ classes: Int, rng: inout RNG) -> Sequential {
        var layers: [any Layer] = []
        var width = inputs
        for (i, h) in hidden.enumerated() {
            layers.append(Linear(width, h, name: "fc\(i + 1)", rng: &rng))
            layers.append(ReLU(name: "fc\(i + 1).relu"))
            width = h
        }
        layers.append(Linear(width, classes, name: "fc\(hidden.count + 1)", initializer: .glorotUniform, rng: &rng))
        return Sequential(layers)
    }
}
