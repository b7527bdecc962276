import Tensor

/// ViT's input stage (Dosovitskiy et al. 2021): cuts a `[N, C, H, W]` image into
/// non-overlapping `patch x patch` squares, projects each linearly to `dim` features,
/// prepends a learned class token and adds learned position embeddings, giving
/// `[N, 1 + T, dim]` tokens with `T = (H / patch) * (W / patch)` in row-major patch order.
///
/// The projection is a `Conv2d` with kernel = stride = patch, so its weight
/// `[dim, C, patch, patch]` is a prunable "conv" parameter like any other convolution
/// (filter pruning removes whole embedding features). The class token starts at zero as
/// in the paper; the position embeddings start as normal noise of std `positionStd`.
/// Neither is prunable.
public final class PatchEmbedding: InputGradientSkippable {
    public let projection: Conv2d
    /// `[1, 1, dim]`
    public let classToken: Parameter
    /// `[1, 1 + T, dim]`
    public let positions: Parameter
    public let channels: Int, height: Int, width: Int, patch: Int, dim: Int
    /// Patches per image.
    public var patches: Int { (height / patch) * (width / patch) }

    public var computesInputGradient: Bool {
        get { projection.computesInputGradient }
        set { projection.computesInputGradient = newValue }
    }

    private let output = Tensor(shape: [0])
    /// The projection's output gradient, `[N, dim, H/patch, W/patch]`.
    private let gradProjection = Tensor(shape: [0])

    public init(channels: Int, height: Int, width: Int, patch: Int, dim: Int, name: String = "embed",
                initializer: Initializer = .glorotUniform, positionStd: Float = 0.02, rng: inout RNG) {
        precondition(patch > 0 && height >= patch && width >= patch && height % patch == 0 && width % patch == 0,
                     "PatchEmbedding: \(height)x\(width) is not a grid of \(patch)x\(patch) patches")
        self.channels = channels
        self.height = height
        self.width = width
        self.patch = patch
        self.dim = dim
        projection = Conv2d(channels, dim, kernel: patch, stride: patch, name: "\(name).proj",
                            initializer: initializer, rng: &rng)
        let tokens = 1 + (height / patch) * (width / patch)
        classToken = Parameter(name: "\(name).cls_token", shape: [1, 1, dim], prunable: false, kind: "embedding")
        positions = Parameter(name: "\(name).pos_embed", shape: [1, tokens, dim], prunable: false, kind: "embedding")
        if positionStd != 0 {
            let p = positions.value.data
            for i in 0..<positions.count { p[i] = rng.normal() * positionStd }
        }
    }

    public var parameters: [Parameter] { projection.parameters + [classToken, positions] }
    public var sublayers: [any Layer] { [projection] }
    public var summary: String { "PatchEmbedding(\(channels)x\(height)x\(width), patch \(patch)→\(patches)x\(dim) + class token)" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(x.rank == 4 && Array(x.shape.dropFirst()) == [channels, height, width],
                         "\(summary) needs [N, \(channels), \(height), \(width)], got \(x.shape)")
            let n = x.shape[0], t = patches, d = dim
            let y = projection.forward(x, training: training)
            output.resize([n, t + 1, d])
            let yp = y.data, op = output.data, pos = positions.value.data, cls = classToken.value.data
            for s in 0..<n {
                let out = op + s * (t + 1) * d, proj = yp + s * d * t
                for j in 0..<d { out[j] = cls[j] + pos[j] }
                // [dim, T] (channels of the projection) to [T, dim] (tokens).
                for i in 0..<t {
                    let row = out + (i + 1) * d, posRow = pos + (i + 1) * d
                    for j in 0..<d { row[j] = proj[j * t + i] + posRow[j] }
                }
            }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            let t = patches, d = dim, n = dy.count / ((t + 1) * d)
            precondition(dy.count == output.count, "PatchEmbedding.backward: gradient \(dy.shape) for output \(output.shape)")
            gradProjection.resize([n, d, height / patch, width / patch])
            let gp = dy.data, gProj = gradProjection.data
            let dPos = positions.grad.data, dCls = classToken.grad.data
            for s in 0..<n {
                let g = gp + s * (t + 1) * d
                Ops.axpy((t + 1) * d, 1, g, dPos)
                Ops.axpy(d, 1, g, dCls)
                let proj = gProj + s * d * t
                for i in 0..<t {
                    let row = g + (i + 1) * d
                    for j in 0..<d { proj[j * t + i] = row[j] }
                }
            }
            return projection.backward(gradProjection)
        }
    }
}
