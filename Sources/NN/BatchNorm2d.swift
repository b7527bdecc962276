import CKernels
import Tensor

/// Batch normalisation of `[N, C, H, W]` inputs per channel over N, H and W, as PyTorch's
/// `BatchNorm2d`: training normalises with the batch mean and biased variance and moves the
/// running statistics (momentum 0.1) towards the batch mean and *unbiased* variance;
/// evaluation normalises with the running statistics.
///
/// Channels are independent, so both passes split over channels; within a channel each
/// sample's H*W plane is contiguous and the reductions over it vectorise.
///
/// A channel whose γ and β are masked (structured pruning) outputs exactly 0 in both modes:
/// `0 * xHat + 0`, with xHat finite for any finite running statistics (variance >= 0, plus
/// eps). Its input gradient is 0 too (`γ * invStd`), and the optimizers keep masked γ, β
/// and their state at 0 whatever gradient they accumulate.
public final class BatchNorm2d: Layer {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    public let gamma: Parameter
    public let beta: Parameter
    /// Not trained, but part of the model's state (checkpoints must save them).
    public let runningMean: Tensor
    public let runningVar: Tensor

    /// Output and input gradient: the layer's own, or buffers a composite shares between
    /// several layers that `renormalize` before backward (`DenseBlock`, `InvertedResidual`).
    var output = Tensor(shape: [0])
    var gradInput = Tensor(shape: [0])
    /// The last forward's input (the previous layer's output, which stays valid until that
    /// layer's next forward): backward recomputes the normalised input from it instead of
    /// keeping an input-sized copy.
    private var input: Tensor?
    private let invStd: Tensor
    /// The mean each channel was normalised with in the last forward (batch or running).
    private let usedMean: Tensor
    /// The last training backward's input-gradient coefficients per channel (k = γ·invStd,
    /// mean(dy), mean(dy·xHat)), kept when the convolution before computes dx (`backwardDeferringInput`).
    private let coefficients = Tensor(shape: [0])
    private var lastTraining = false
    /// Whether the last forward was a training one (its backward can defer the input gradient).
    var lastTrainingStep: Bool { lastTraining }
    /// The ReLU or ReLU6 that follows this layer in a `Sequential`, which then runs the two
    /// fused (`fuse`).
    private(set) var fusedActivation: (any BatchNormFusable)?
    /// The activation the last forward computed too (`forward(_:training:fusing:)`), whose mask
    /// backward applies.
    private var lastFused: (any BatchNormFusable)?

    /// Whether inputs may have more channels than this layer, of which it normalises the first
    /// `channels` in place (`DenseBlock`'s layers read a prefix of the block's feature tensor,
    /// which would otherwise be copied out per layer). Output and input gradient have `channels`.
    var readsChannelPrefix = false

    /// `[N, channels, H, W]` for input `x`, and the distance between samples in `x`.
    private func layout(_ x: Tensor, _ caller: String) -> (shape: [Int], sampleStride: Int) {
        let c = channels
        precondition(x.rank == 4 && (x.shape[1] == c || (readsChannelPrefix && x.shape[1] > c)),
                     "BatchNorm2d(\(c))\(caller) needs [N, \(c), H, W], got \(x.shape)")
        return ([x.shape[0], c, x.shape[2], x.shape[3]], x.shape[1] * x.shape[2] * x.shape[3])
    }

    /// Marks `activation` as the layer after this one in a `Sequential`, which then calls
    /// `forward(_:training:fusing:)` for the pair.
    func fuse(_ activation: any BatchNormFusable) { fusedActivation = activation }

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, name: String = "bn") {
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        gamma = Parameter(name: "\(name).weight", shape: [channels], prunable: false, kind: "norm")
        beta = Parameter(name: "\(name).bias", shape: [channels], prunable: false, kind: "norm")
        gamma.value.fill(1)
        runningMean = Tensor(shape: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
        invStd = Tensor(shape: [channels])
        usedMean = Tensor(shape: [channels])
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [Tensor] { [runningMean, runningVar] }
    public var summary: String { "BatchNorm2d(\(channels))" }

    /// Channels per parallel chunk: enough planes that a dispatch pays for itself.
    private func minimumChannels(_ perChannel: Int) -> Int { Swift.max(1, Parallel.minimumWork / Swift.max(1, perChannel)) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, training: training, fusing: nil) }

    /// max(0, BN(x) + shortcut) in one pass, written into `relu`'s output, as a residual block
    /// ends (`ResidualBlock`); `relu.tookFusedOutput()` then stands for its forward and its
    /// backward masks as usual. This layer's own backward is unchanged.
    func forward(_ x: Tensor, training: Bool, adding shortcut: Tensor, thenInto relu: ReLU) -> Tensor {
        precondition(shortcut.shape == layout(x, "").shape, "\(summary): shortcut \(shortcut.shape) vs main path \(x.shape)")
        return normalize(x, training: training, into: relu.output, shortcut: shortcut, clamp: .relu)!
    }

    /// Forward, with `activation` (a ReLU or ReLU6 that takes this one's output next, as in
    /// conv-BN-ReLU) computed in the same pass: the activation of BN(x) goes straight into the
    /// activation's output, which its forward then passes on, and the backward that follows
    /// applies the activation's mask while it reads the gradient (the activation passes that on
    /// unmasked). The same bits as the two layers apart, one pass over the activation fewer each way.
    func forward(_ x: Tensor, training: Bool, fusing activation: (any BatchNormFusable)?) -> Tensor {
        let y = normalize(x, training: training, into: activation?.output ?? output, shortcut: nil,
                          clamp: Self.clamp(of: activation))!
        lastFused = activation
        activation?.expectsFusedInput = true
        return y
    }

    /// The training forward with `relu` fused, less its output: the batch statistics (and the
    /// running statistics' update) only, for a sparse convolution that applies this layer and
    /// `relu` to its input planes as it reads them (`ResidualBlock`'s chained training step).
    /// Backward is unchanged: it recomputes the ReLU's mask from the input.
    func forwardStatistics(_ x: Tensor, fusing relu: ReLU) -> InputNormalization {
        normalize(x, training: true, into: nil, shortcut: nil, clamp: .relu)
        lastFused = relu
        return InputNormalization(mean: SendablePointer(usedMean.data), inv: SendablePointer(invStd.data),
                                  scale: SendablePointer(gamma.value.data), shift: SendablePointer(beta.value.data))
    }

    fileprivate enum Clamp { case none, relu, relu6 }

    private static func clamp(of activation: (any BatchNormFusable)?) -> Clamp {
        guard let activation else { return .none }
        return activation.clampsAtSix ? .relu6 : .relu
    }

    /// Forward into `out`, then + `shortcut` when given, then the activation `clamp`; with no
    /// `out`, the statistics only (`forwardStatistics`).
    @discardableResult
    private func normalize(_ x: Tensor, training: Bool, into out: Tensor?, shortcut: Tensor?, clamp: Clamp) -> Tensor? {
        OpProfile.measure(.batchNorm) {
            let c = channels
            let (shape, xs) = layout(x, "")
            let n = x.shape[0], area = x.shape[2] * x.shape[3], m = n * area
            lastTraining = training
            input = x
            lastFused = nil
            out?.resize(shape)
            if training {
                // PyTorch refuses one value per channel too: the unbiased variance would divide by zero.
                precondition(m > 1, "BatchNorm2d in training needs more than one value per channel, got \(x.shape)")
            }
            let xp = SendablePointer(x.data), yp = out.map { SendablePointer($0.data) }
            let sc = shortcut.map { SendablePointer($0.data) }
            let sp = SendablePointer(invStd.data), g = SendablePointer(gamma.value.data), b = SendablePointer(beta.value.data)
            let rm = SendablePointer(runningMean.data), rv = SendablePointer(runningVar.data)
            let um = SendablePointer(usedMean.data)
            let mom = momentum, eps = eps
            // Each pass runs sample by sample over the chunk's channels, whose planes lie side by
            // side in memory, instead of channel by channel with a jump between every plane;
            // each channel still adds its planes in sample order (the same bits).
            Parallel.forChunks(c, minimum: minimumChannels(m)) { lo, hi in
                if training {
                    // Two passes (mean, then squared deviations) avoid E[x^2] - E[x]^2
                    // cancellation; per-plane Float sums are combined in Double.
                    var s = [Double](repeating: 0, count: hi - lo), q = s
                    var plane = [Float](repeating: 0, count: hi - lo)
                    for i in 0..<n {
                        tk_plane_sums(hi - lo, area, xp.p + i * xs + lo * area, &plane)
                        for j in 0..<(hi - lo) { s[j] += Double(plane[j]) }
                    }
                    for ch in lo..<hi { um.p[ch] = Float(s[ch - lo] / Double(m)) }
                    for i in 0..<n {
                        tk_plane_squared_deviations(hi - lo, area, xp.p + i * xs + lo * area, um.p + lo, &plane)
                        for j in 0..<(hi - lo) { q[j] += Double(plane[j]) }
                    }
                    for ch in lo..<hi {
                        let mean = um.p[ch], variance = Float(q[ch - lo] / Double(m))
                        rm.p[ch] = (1 - mom) * rm.p[ch] + mom * mean
                        rv.p[ch] = (1 - mom) * rv.p[ch] + mom * variance * (Float(m) / Float(m - 1))
                        sp.p[ch] = Self.inverseStd(variance, eps)
                    }
                } else {
                    for ch in lo..<hi {
                        um.p[ch] = rm.p[ch]
                        sp.p[ch] = Self.inverseStd(rv.p[ch], eps)
                    }
                }
                guard let yp else { return }
                for i in 0..<n {
                    let o = (i * c + lo) * area
                    Self.normalizePlanes(hi - lo, area, xp.p + i * xs + lo * area, mean: um.p + lo, inv: sp.p + lo,
                                         scale: g.p + lo, shift: b.p + lo, clamp: clamp, adding: sc.map { $0.p + o }, into: yp.p + o)
                }
            }
            return out
        }
    }

    /// `planes` contiguous planes of `area` values, plane p with channel parameters `mean[p]`, ...:
    /// y = activation(scale * (x - mean) * inv + shift) for `clamp`, or with `shortcut`
    /// max(0, BN(x) + shortcut). One kernel call for all planes (`tk_bn_normalize_planes`).
    fileprivate static func normalizePlanes(_ planes: Int, _ area: Int, _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                            inv: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                            clamp: Clamp, adding shortcut: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        tk_bn_normalize_planes(planes, 1, area, x, area, area, mean, inv, scale, shift, shortcut != nil ? Clamp.relu.code : clamp.code,
                               shortcut, y, area, area)
    }

    /// 1 / sqrt(variance + eps), as both modes normalise.
    @inline(__always)
    fileprivate static func inverseStd(_ variance: Float, _ eps: Float) -> Float { 1 / (variance + eps).squareRoot() }

    /// What stands for this layer's evaluation-mode forward (with `activation` fused, or adding
    /// `shortcut` then ReLU as a residual block ends) on an input of `shape`, for the layer
    /// before it to apply as it writes its output (`Conv2d.inferFolding`): it writes where that
    /// forward would (the activation's output, else this layer's), with the same kernels.
    /// Backward cannot follow.
    func evaluationEpilogue(shape: [Int], activation: (any BatchNormFusable)?, shortcut: Tensor?) -> EvaluationEpilogue {
        precondition(shape.count == 4 && shape[1] == channels, "\(summary): folded input \(shape)")
        precondition(shortcut.map { $0.shape == shape } ?? true, "\(summary): shortcut \(shortcut!.shape) vs main path \(shape)")
        let out = activation?.output ?? output
        out.resize(shape)
        lastTraining = false
        input = nil
        lastFused = activation
        let c = channels
        return EvaluationEpilogue(
            mean: (0..<c).map { runningMean[$0] }, inv: (0..<c).map { Self.inverseStd(runningVar[$0], eps) },
            scale: gamma.value.array, shift: beta.value.array,
            clamp: shortcut != nil ? .relu : Self.clamp(of: activation), shortcut: shortcut.map { SendablePointer($0.data) },
            out: SendablePointer(out.data))
    }

    /// Recomputes the last forward's output from the same input `x` (and makes `x` the input
    /// backward reads), with the statistics that forward used (running statistics are not
    /// touched again): the same bits as that forward, for composites that share `output`
    /// between layers and recompute it in backward instead of keeping one copy per layer.
    func renormalize(_ x: Tensor) { renormalize(x, into: output, clamp: .none) }

    /// `renormalize` for the activation this layer's last forward fused
    /// (`forward(_:training:fusing:)`): recomputes that activation's output in the same pass,
    /// the same bits as that forward, for the layer after it to read in its backward (this
    /// layer's own output is left stale: its backward reads the input, and masks by
    /// recomputing from it, or in evaluation mode by the activation's output).
    func renormalize(_ x: Tensor, into activation: any BatchNormFusable) {
        precondition(lastFused === activation, "\(summary).renormalize: the last forward did not fuse \(activation.summary)")
        renormalize(x, into: activation.output, clamp: Self.clamp(of: activation))
    }

    private func renormalize(_ x: Tensor, into out: Tensor, clamp: Clamp) {
        OpProfile.measure(.batchNorm) {
            let c = channels
            let (shape, xs) = layout(x, ".renormalize")
            let n = x.shape[0], area = x.shape[2] * x.shape[3]
            input = x
            out.resize(shape)
            let xp = SendablePointer(x.data), yp = SendablePointer(out.data)
            let sp = SendablePointer(invStd.data), um = SendablePointer(usedMean.data)
            let g = SendablePointer(gamma.value.data), b = SendablePointer(beta.value.data)
            Parallel.forChunks(c, minimum: minimumChannels(n * area)) { lo, hi in
                for i in 0..<n {
                    let o = (i * c + lo) * area
                    Self.normalizePlanes(hi - lo, area, xp.p + i * xs + lo * area, mean: um.p + lo, inv: sp.p + lo,
                                         scale: g.p + lo, shift: b.p + lo, clamp: clamp, adding: nil, into: yp.p + o)
                }
            }
        }
    }

    public func backward(_ dy: Tensor) -> Tensor { backward(dy, planeSums: nil) }

    /// `backward(_:planeSums:)` of a training step less its last pass: the γ/β gradients and
    /// the input gradient's coefficients per channel, for the sparse convolution before this
    /// layer to compute the input gradient plane by plane as it stages it
    /// (`Conv2d.backward(_:)` of a `BatchNormInputGradient`): it is never written. The same bits.
    func backwardDeferringInput(_ dy: Tensor, planeSums: Tensor? = nil) -> BatchNormInputGradient {
        guard let x = input else { preconditionFailure("BatchNorm2d.backward before forward") }
        precondition(lastTraining, "\(summary): only a training backward defers its input gradient")
        precondition(layout(x, ".backward").1 == channels * x.shape[2] * x.shape[3], "\(summary): a channel prefix cannot defer")
        _ = backward(dy, planeSums: planeSums, deferInput: true)
        let c = channels, cp = SendablePointer(coefficients.data)
        return BatchNormInputGradient(
            dy: SendablePointer(dy.data), x: SendablePointer(x.data), channels: c, area: x.shape[2] * x.shape[3],
            mean: SendablePointer(usedMean.data), inv: SendablePointer(invStd.data), scale: SendablePointer(gamma.value.data),
            shift: SendablePointer(beta.value.data), k: cp, meanDy: SendablePointer(cp.p + c), meanDyH: SendablePointer(cp.p + 2 * c),
            clamp: Self.clamp(of: lastFused).code)
    }

    /// Backward; `planeSums` (training with a fused ReLU only), when given, holds for every
    /// sample and channel the plane's tk_bn_backward_sums_relu of dy and the input, computed by
    /// the convolution that produced dy while both were in cache (`ResidualBlock`'s chained
    /// step): this layer then skips its own pass over them, and adds them as it would (the same bits).
    func backward(_ dy: Tensor, planeSums: Tensor?, deferInput: Bool = false) -> Tensor {
        OpProfile.measure(.batchNorm) {
            let c = channels
            guard let x = input else { preconditionFailure("BatchNorm2d.backward before forward") }
            let (shape, xs) = layout(x, ".backward")
            let n = x.shape[0], area = x.shape[2] * x.shape[3], m = n * area
            precondition(dy.count == n * c * area, "BatchNorm2d.backward: gradient \(dy.shape) for input \(x.shape)")
            if deferInput { coefficients.resize([3 * c]) } else { gradInput.resize(shape) }
            let kept = SendablePointer(coefficients.data)
            // Fused: dy is the gradient at the activation's output, masked here by where the
            // activation passed this layer's output (recomputed from x in the sums and the
            // training-mode input gradient, read from the activation's output in evaluation).
            let fused = lastFused != nil, mask = lastFused.map { SendablePointer($0.output.data) }
            let six = lastFused?.clampsAtSix ?? false
            // The activation masked in the training kernels (`tk_bn_backward_*_planes`' clamp).
            let clamp = Self.clamp(of: lastFused)
            if let a = lastFused, !lastTraining {
                precondition(a.output.count == dy.count, "BatchNorm2d.backward: fused \(a.summary) output \(a.output.shape) for gradient \(dy.shape)")
            }
            let gp = SendablePointer(dy.data), xp = SendablePointer(x.data), dx = SendablePointer(gradInput.data)
            let sp = SendablePointer(invStd.data), um = SendablePointer(usedMean.data), g = SendablePointer(gamma.value.data)
            let b = SendablePointer(beta.value.data)
            let dGamma = SendablePointer(gamma.grad.data), dBeta = SendablePointer(beta.grad.data)
            let training = lastTraining
            if let planeSums {
                precondition(training && fused && !six && planeSums.count == 2 * n * c,
                             "\(summary).backward: plane sums \(planeSums.shape) for a training step with ReLU over \(x.shape)")
            }
            let given = planeSums.map { SendablePointer($0.data) }
            let masked: SendablePointer<Float>? = training ? nil : lastFused.map {
                $0.gradInput.resize(dy.shape)
                return SendablePointer($0.gradInput.data)
            }
            // Sample by sample over the chunk's channels, as in forward (the same bits).
            Parallel.forChunks(c, minimum: minimumChannels(m)) { lo, hi in
                // sum dy and sum dy * xHat, with xHat = (x - mean) * invStd: one pass over
                // dy and x per plane, planes combined in Double.
                var sDy = [Double](repeating: 0, count: hi - lo), sDyXmu = sDy
                var sums = [Float](repeating: 0, count: 2 * (hi - lo))
                for i in 0..<n {
                    if let given {
                        for ch in lo..<hi {
                            sDy[ch - lo] += Double(given.p[2 * (i * c + ch)])
                            sDyXmu[ch - lo] += Double(given.p[2 * (i * c + ch) + 1])
                        }
                        continue
                    }
                    tk_bn_backward_plane_sums(hi - lo, area, gp.p + (i * c + lo) * area, xp.p + i * xs + lo * area, um.p + lo,
                                              sp.p + lo, g.p + lo, b.p + lo, clamp.code, &sums)
                    for j in 0..<(hi - lo) {
                        sDy[j] += Double(sums[2 * j])
                        sDyXmu[j] += Double(sums[2 * j + 1])
                    }
                }
                // Per channel: k = γ * invStd, and in training mean(dy) and mean(dy * xHat).
                var k = [Float](repeating: 0, count: hi - lo), meanDy = k, meanDyH = k
                for ch in lo..<hi {
                    let sDyH = sDyXmu[ch - lo] * Double(sp.p[ch])
                    dGamma.p[ch] += Float(sDyH)
                    dBeta.p[ch] += Float(sDy[ch - lo])
                    k[ch - lo] = g.p[ch] * sp.p[ch]
                    meanDy[ch - lo] = Float(sDy[ch - lo] / Double(m))
                    meanDyH[ch - lo] = Float(sDyH / Double(m))
                    if deferInput { (kept.p[ch], kept.p[c + ch], kept.p[2 * c + ch]) = (k[ch - lo], meanDy[ch - lo], meanDyH[ch - lo]) }
                }
                if deferInput { return }
                for i in 0..<n {
                    if training {
                        // The batch statistics depend on every value of the channel, hence the
                        // two correction terms: dx = k * (dy - mean(dy) - xHat * mean(dy * xHat)).
                        let o = (i * c + lo) * area
                        tk_bn_backward_input_planes(hi - lo, area, gp.p + o, xp.p + i * xs + lo * area, um.p + lo, sp.p + lo,
                                                    g.p + lo, b.p + lo, k, meanDy, meanDyH, clamp.code, dx.p + o)
                        continue
                    }
                    for ch in lo..<hi {
                        let o = (i * c + ch) * area, j = ch - lo
                        // Fused, the masked gradient goes through the ReLU's own buffer.
                        if let mask, let masked {
                            if six { tk_relu6_backward(area, mask.p + o, gp.p + o, masked.p + o) }
                            else { tk_relu_backward(area, mask.p + o, gp.p + o, masked.p + o) }
                        }
                        tk_bn_normalize(area, (masked ?? gp).p + o, 0, k[j], 1, 0, nil, dx.p + o)
                    }
                }
            }
            return gradInput
        }
    }
}

/// A BatchNorm2d's training-mode input gradient, left for the sparse convolution before it to
/// compute plane by plane (`BatchNorm2d.backwardDeferringInput`): the gradient at its output
/// (at its fused activation's, masked here), its input and the coefficients per channel.
struct BatchNormInputGradient: Sendable {
    let dy: SendablePointer<Float>, x: SendablePointer<Float>
    let channels: Int, area: Int
    let mean: SendablePointer<Float>, inv: SendablePointer<Float>, scale: SendablePointer<Float>, shift: SendablePointer<Float>
    let k: SendablePointer<Float>, meanDy: SendablePointer<Float>, meanDyH: SendablePointer<Float>
    let clamp: Int32

    /// Sample `s`'s input gradient, every channel's plane as `rows` rows of `cols`, placed in
    /// `dst` as `Ops.placeRows` places rows (channel c's from `first + c * plane`, rows `ld`
    /// apart, zeros everywhere else in `dst[0..<count]`): the kernels' values, the same bits.
    func stage(sample s: Int, rows: Int, cols: Int, to dst: UnsafeMutablePointer<Float>, first: Int, plane: Int, ld: Int,
               count: Int) {
        precondition(rows * cols == area, "BatchNormInputGradient: \(rows)x\(cols) rows for planes of \(area)")
        Ops.checkPlacement(channels, rows, cols, first: first, block: plane, ld: ld, count: count)
        let at = s * channels * area
        tk_place_bn_input_gradient(channels, rows, cols, dy.p + at, x.p + at, mean.p, inv.p, scale.p, shift.p, k.p, meanDy.p,
                                   meanDyH.p, clamp, dst, first, plane, ld, count)
    }
}

/// A BatchNorm2d's training-mode forward with its ReLU, as the sparse convolution after it
/// applies it while reading its input (`BatchNorm2d.forwardStatistics`): the batch statistics
/// and affine parameters per channel, and the kernels that forward runs (the same bits).
struct InputNormalization: Sendable {
    let mean: SendablePointer<Float>, inv: SendablePointer<Float>, scale: SendablePointer<Float>, shift: SendablePointer<Float>

    /// `channels` contiguous planes of `rows` rows of `cols` at `x` (a sample's input), normalised
    /// and placed in `dst` as `Ops.placeRows` places rows: channel c's from `first + c * plane`,
    /// rows `ld` apart, zeros everywhere else in `dst[0..<count]`.
    func place(_ channels: Int, rows: Int, cols: Int, _ x: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>,
               first: Int, plane: Int, ld: Int, count: Int) {
        Ops.checkPlacement(channels, rows, cols, first: first, block: plane, ld: ld, count: count)
        tk_place_bn_normalized(channels, rows, cols, x, mean.p, inv.p, scale.p, shift.p, BatchNorm2d.Clamp.relu.code, dst,
                               first, plane, ld, count)
    }

    /// The backward sums of `channels` contiguous planes of `count` values (a sample's): Σ dy
    /// and Σ dy (x - mean) where the ReLU passed, channel c's into `sums[2c]`, `sums[2c + 1]`,
    /// as `BatchNorm2d.backward` computes them.
    func backwardSums(_ channels: Int, count: Int, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                      into sums: UnsafeMutablePointer<Float>) {
        tk_bn_backward_plane_sums(channels, count, dy, x, mean.p, inv.p, scale.p, shift.p, BatchNorm2d.Clamp.relu.code, sums)
    }
}

/// A BatchNorm2d's evaluation-mode forward per channel plane (`BatchNorm2d.evaluationEpilogue`),
/// with the kernels that forward runs: the same bits.
struct EvaluationEpilogue: Sendable {
    fileprivate let mean: [Float], inv: [Float], scale: [Float], shift: [Float]
    fileprivate let clamp: BatchNorm2d.Clamp
    fileprivate let shortcut: SendablePointer<Float>?
    fileprivate let out: SendablePointer<Float>

    /// A sample's planes (channel c's at `x + c * plane`) as `rows` rows of `cols` values whose
    /// starts are `ld` apart, normalised into the output's contiguous planes from `offset`.
    func apply(rows: Int, cols: Int, _ x: UnsafePointer<Float>, plane: Int, ld: Int, at offset: Int) {
        let area = rows * cols
        apply(rows: rows, cols: cols, x, plane: plane, ld: ld, shortcut: shortcut.map { UnsafePointer($0.p + offset) },
              to: out.p + offset, plane: area, ld: cols)
    }

    /// `apply` without a shortcut into `y`, channel c's rows from `y + c * yPlane`, `ldy` apart,
    /// instead of the output: a convolution's padded input planes (`ResidualBlock.inferChained`).
    func apply(rows: Int, cols: Int, _ x: UnsafePointer<Float>, plane: Int, ld: Int, to y: UnsafeMutablePointer<Float>,
               plane yPlane: Int, ld ldy: Int) {
        precondition(shortcut == nil, "EvaluationEpilogue: a shortcut's sum needs the output's layout")
        apply(rows: rows, cols: cols, x, plane: plane, ld: ld, shortcut: nil, to: y, plane: yPlane, ld: ldy)
    }

    private func apply(rows: Int, cols: Int, _ x: UnsafePointer<Float>, plane: Int, ld: Int, shortcut: UnsafePointer<Float>?,
                       to y: UnsafeMutablePointer<Float>, plane yPlane: Int, ld ldy: Int) {
        let c = mean.count
        mean.withUnsafeBufferPointer { m in
            inv.withUnsafeBufferPointer { i in
                scale.withUnsafeBufferPointer { s in
                    shift.withUnsafeBufferPointer { t in
                        tk_bn_normalize_planes(c, rows, cols, x, plane, ld, m.baseAddress, i.baseAddress, s.baseAddress,
                                               t.baseAddress, clamp.code, shortcut, y, yPlane, ldy)
                    }
                }
            }
        }
    }
}

extension BatchNorm2d.Clamp {
    /// The activation as the plane-batch kernels (`tk_bn_normalize_planes`, ...) number it.
    var code: Int32 {
        switch self {
        case .none: 0
        case .relu: 1
        case .relu6: 2
        }
    }
}
