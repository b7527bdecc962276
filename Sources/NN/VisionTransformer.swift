import Tensor

/// The shape of a Vision Transformer: patch size, token width, blocks, heads, MLP ratio.
public struct VisionTransformerConfig: Sendable, Equatable {
    public var patch: Int, dim: Int, depth: Int, heads: Int, mlpRatio: Int

    public init(patch: Int, dim: Int, depth: Int, heads: Int, mlpRatio: Int) {
        self.patch = patch
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
    }

    /// `vit-tiny`: patch 4, dim 128, 6 blocks of 4 heads (32 features each), MLP ratio 2.
    ///
    /// The shape of the small ViTs trained from scratch on CIFAR (4x4 patches, a handful of
    /// blocks), narrowed to dim 128 and MLP ratio 2 so an epoch fits a CPU: 0.81M parameters.
    /// A 3x32x32 image gives 8x8 = 64 patch tokens, a 1x28x28 one 7x7 = 49, plus the class
    /// token. Measured: one Fashion-MNIST epoch (batch 128, Adam lr 1e-3, cosine) took 7m20s on
    /// one thread of the shared 2-core machine (release build) and reached 82.9% test accuracy.
    public static let tiny = VisionTransformerConfig(patch: 4, dim: 128, depth: 6, heads: 4, mlpRatio: 2)
}

/// The class token of `[N, T, dim]` tokens, `[N, dim]`: what ViT's classifier reads.
/// Backward puts the gradient on token 0 and zero on the others.
public final class ClassTokenPool: Layer {
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    public init() {}
    public var summary: String { "ClassTokenPool" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(x.rank == 3 && x.shape[1] > 0, "ClassTokenPool needs [N, T, dim], got \(x.shape)")
            inputShape = x.shape
            let n = x.shape[0], t = x.shape[1], d = x.shape[2]
            output.resize([n, d])
            for s in 0..<n { (output.data + s * d).update(from: x.data + s * t * d, count: d) }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            let n = inputShape[0], t = inputShape[1], d = inputShape[2]
            precondition(dy.count == n * d, "ClassTokenPool.backward: gradient \(dy.shape) for output [\(n), \(d)]")
            gradInput.resize(inputShape)
            gradInput.zero()
            for s in 0..<n { (gradInput.data + s * t * d).update(from: dy.data + s * d, count: d) }
            return gradInput
        }
    }
}

extension ModelZoo {
    /// A pre-norm Vision Transformer (Dosovitskiy et al. 2021) for `[C, H, W]` samples:
    /// patch embedding with class token and position embeddings, `depth` transformer blocks,
    /// a final LayerNorm on the class token and `Linear(dim, classes)`.
    ///
    /// The final LayerNorm is applied after taking the class token rather than before: the
    /// normalisation is per token, so the logits are the same and the other tokens are not
    /// normalised for nothing. Linear and patch-projection weights are Glorot uniform (the
    /// original ViT's Xavier init), biases and the class token zero, position embeddings
    /// normal with std 0.02. Prunable: the patch projection, the attention (qkv, proj), MLP
    /// and head weights; not LayerNorm, biases, class token or position embeddings.
    /// `initialize: false` leaves everything at zero except the LayerNorm gains (1).
    static func visionTransformer(_ name: String, _ config: VisionTransformerConfig, inputShape: [Int], classes: Int,
                                  initialize: Bool, rng: inout RNG) throws -> Model {
        let p = config.patch
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelError.incompatibleInput(model: name, shape: inputShape, reason: "needs [channels, height, width]")
        }
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        guard h >= p, w >= p, h % p == 0, w % p == 0 else {
            throw ModelError.incompatibleInput(model: name, shape: inputShape,
                                               reason: "height and width must be positive multiples of the patch size \(p)")
        }
        let initializer: Initializer = initialize ? .glorotUniform : .zeros
        var layers: [any Layer] = [
            PatchEmbedding(channels: c, height: h, width: w, patch: p, dim: config.dim, name: "embed",
                           initializer: initializer, positionStd: initialize ? 0.02 : 0, rng: &rng)
        ]
        for i in 0..<config.depth {
            layers.append(TransformerBlock(dim: config.dim, heads: config.heads, mlpRatio: config.mlpRatio,
                                           name: "block\(i + 1)", initializer: initializer, rng: &rng))
        }
        layers.append(ClassTokenPool())
        layers.append(LayerNorm(config.dim, name: "norm"))
        layers.append(Linear(config.dim, classes, name: "head", initializer: initializer, rng: &rng))
        return Model(name: name, network: Sequential(layers), inputShape: inputShape, classes: classes)
    }
}
