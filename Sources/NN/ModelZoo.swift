import Tensor

/// The named architectures the CLI and experiment specs refer to.
public enum ModelZoo {
    public static let names = ["mlp", "lenet300"]

    /// Builds `name` for samples of `inputShape` and `classes` outputs, initialised from `seed`.
    public static func make(_ name: String, inputShape: [Int], classes: Int, seed: UInt64) throws -> Model {
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
        default:
            throw ModelError.unknownModel(name, known: names)
        }
    }

    static func mlp(_ inputs: Int, hidden: [Int], _ classes: Int, rng: inout RNG) -> Sequential {
        var layers: [any Layer] = []
        var width = inputs
        for (i, h) in hidden.enumerated() {
            layers.append(Linear(width, h, name: "fc\(i + 1)", rng: &rng))
            layers.append(ReLU())
            width = h
        }
        layers.append(Linear(width, classes, name: "fc\(hidden.count + 1)", initializer: .glorotUniform, rng: &rng))
        return Sequential(layers)
    }
}
