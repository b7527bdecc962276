import Tensor

/// Scratch buffers for convolution lowering, shareable by every convolution of a network.
///
/// The column matrix is only needed inside one forward or backward call (backward rebuilds
/// it rather than keeping it), and a network runs its layers one at a time, so one
/// workspace per network holds the largest layer's columns once instead of once per layer.
/// Layers built on their own get a private one. Never share a workspace between networks
/// that may run concurrently.
public final class ConvWorkspace: @unchecked Sendable {
    let columns = Tensor(shape: [0])
    /// One chunk of output or output gradient, laid out `[out, samples * OH*OW]` as the GEMM wants it.
    let staging = Tensor(shape: [0])
    /// Upper bound on the column matrix, in floats: the batch is convolved in chunks of
    /// whole samples that fit (always at least one sample).
    public var maxColumnFloats: Int

    public init(maxColumnFloats: Int = 1 << 23) { self.maxColumnFloats = maxColumnFloats }
}

/// 2-D convolution over NCHW inputs, weight `[out, in/groups, kh, kw]` as in PyTorch,
/// with stride, zero padding, groups (depthwise when groups == in) and optional bias.
///
/// Lowered to GEMM: a chunk of `b` samples is unfolded by im2col into one
/// `[in*kh*kw, b*OH*OW]` matrix and each group is one GEMM with its weight rows; the
/// `[out, b*OH*OW]` result is then scattered to NCHW. Batching samples into one GEMM gives
/// OpenBLAS a wide matrix to split over its threads, where per-sample GEMMs of a 32x32 CIFAR
/// layer (n = 1024) would mostly pay call and packing overhead.
public final class Conv2d: InputGradientSkippable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let stride: Int, padding: Int, groups: Int
    public var computesInputGradient = true
    public let workspace: ConvWorkspace

    private var input: Tensor?
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, name: String = "conv",
                initializer: Initializer = .heNormal, workspace: ConvWorkspace? = nil, rng: inout RNG) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: groups \(groups) must divide in \(inChannels) and out \(outChannels)")
        precondition(kernel > 0 && stride > 0 && padding >= 0, "Conv2d: bad kernel \(kernel), stride \(stride), padding \(padding)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        kernelHeight = kernel
        kernelWidth = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.workspace = workspace ?? ConvWorkspace()
        let perGroupIn = inChannels / groups
        weight = Parameter(name: "\(name).weight", shape: [outChannels, perGroupIn, kernel, kernel], prunable: true, kind: "conv")
        // Each output sees in/groups channels of kernel area: PyTorch's fan-in for grouped convs.
        initializer.fill(weight.value, fanIn: perGroupIn * kernel * kernel,
                         fanOut: outChannels / groups * kernel * kernel, rng: &rng)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outChannels], prunable: false, kind: "bias") : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var summary: String {
        var s = "Conv2d(\(inChannels)→\(outChannels), \(kernelHeight)x\(kernelWidth)"
        if stride != 1 { s += ", stride \(stride)" }
        if padding != 0 { s += ", pad \(padding)" }
        if groups != 1 { s += ", groups \(groups)" }
        return s + ")"
    }

    /// Output shape for an input of shape `[N, C, H, W]`.
    public func outputShape(for shape: [Int]) -> [Int] {
        let g = geometry(shape)
        return [shape[0], outChannels, g.outputHeight, g.outputWidth]
    }

    func geometry(_ shape: [Int]) -> ConvGeometry {
        precondition(shape.count == 4 && shape[1] == inChannels, "\(summary) needs [N, \(inChannels), H, W], got \(shape)")
        let g = ConvGeometry(channels: inChannels, height: shape[2], width: shape[3],
                             kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                             strideY: stride, strideX: stride, padY: padding, padX: padding)
        precondition(g.outputHeight > 0 && g.outputWidth > 0, "\(summary): input \(shape) is smaller than the kernel")
        return g
    }

    /// Samples per chunk so that the column matrix stays within the workspace's bound.
    private func chunkSize(_ g: ConvGeometry, batch: Int) -> Int {
        Swift.max(1, Swift.min(batch, workspace.maxColumnFloats / Swift.max(1, g.columnRows * g.outputArea)))
    }

    /// im2col of samples `n0 ..< n0 + b` into the workspace, in parallel over samples when large.
    private func unfold(_ g: ConvGeometry, _ x: Tensor, _ n0: Int, _ b: Int) -> UnsafeMutablePointer<Float> {
        let area = g.outputArea, ld = b * area, sampleIn = inChannels * g.height * g.width
        workspace.columns.resize([g.columnRows, ld])
        let col = SendablePointer(workspace.columns.data), xp = SendablePointer(x.data)
        Parallel.forChunks(b, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, g.columnRows * area))) { lo, hi in
            for s in lo..<hi {
                Im2Col.im2col(g, xp.p + (n0 + s) * sampleIn, col.p + s * area, ld: ld)
            }
        }
        return workspace.columns.data
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let g = geometry(x.shape)
        input = x
        let n = x.shape[0], area = g.outputArea
        output.resize([n, outChannels, g.outputHeight, g.outputWidth])
        let chunk = chunkSize(g, batch: n)
        let kg = g.columnRows / groups, og = outChannels / groups
        for n0 in Swift.stride(from: 0, to: n, by: chunk) {
            let b = Swift.min(chunk, n - n0), ld = b * area
            let col = unfold(g, x, n0, b)
            workspace.staging.resize([outChannels, ld])
            let stage = workspace.staging.data, w = weight.value.data
            for gi in 0..<groups {
                BLAS.gemm(m: og, n: ld, k: kg, w + gi * og * kg, lda: kg, col + gi * kg * ld, ldb: ld,
                          stage + gi * og * ld, ldc: ld)
            }
            scatter(stage, n0: n0, b: b, area: area)
        }
        return output
    }

    /// `[out, b*area]` staging → NCHW output rows, adding the bias on the way.
    private func scatter(_ stage: UnsafeMutablePointer<Float>, n0: Int, b: Int, area: Int) {
        let o = outChannels, ld = b * area
        let src = SendablePointer(stage), dst = SendablePointer(output.data)
        let bp = bias.map { SendablePointer($0.value.data) }
        Parallel.forChunks(b, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, o * area))) { lo, hi in
            for s in lo..<hi {
                for c in 0..<o {
                    let from = src.p + c * ld + s * area, to = dst.p + ((n0 + s) * o + c) * area
                    if let bp {
                        let v = bp.p[c]
                        for i in 0..<area { to[i] = from[i] + v }
                    } else {
                        to.update(from: from, count: area)
                    }
                }
            }
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
        let g = geometry(x.shape)
        let n = x.shape[0], area = g.outputArea, o = outChannels
        precondition(dy.count == n * o * area, "\(summary).backward: gradient \(dy.shape) for output \(output.shape)")
        if computesInputGradient {
            gradInput.resize(x.shape)
        }
        let chunk = chunkSize(g, batch: n)
        let kg = g.columnRows / groups, og = o / groups
        for n0 in Swift.stride(from: 0, to: n, by: chunk) {
            let b = Swift.min(chunk, n - n0), ld = b * area
            // Gather dy's chunk into [out, b*area], the layout the GEMMs read.
            workspace.staging.resize([o, ld])
            let stage = workspace.staging.data
            let src = SendablePointer(dy.data), dst = SendablePointer(stage)
            Parallel.forChunks(b, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, o * area))) { lo, hi in
                for s in lo..<hi {
                    for c in 0..<o {
                        (dst.p + c * ld + s * area).update(from: src.p + ((n0 + s) * o + c) * area, count: area)
                    }
                }
            }
            if let bias {
                let db = bias.grad.data
                for c in 0..<o { db[c] += Ops.sum(ld, stage + c * ld) }
            }
            let col = unfold(g, x, n0, b)
            let w = weight.value.data, dw = weight.grad.data
            for gi in 0..<groups {
                // dW_g += dY_g · col_gᵀ
                BLAS.gemm(transB: true, m: og, n: kg, k: ld, stage + gi * og * ld, lda: ld,
                          col + gi * kg * ld, ldb: ld, beta: 1, dw + gi * og * kg, ldc: kg)
            }
            if computesInputGradient {
                // The columns are no longer needed: overwrite them with dCol_g = W_gᵀ · dY_g.
                for gi in 0..<groups {
                    BLAS.gemm(transA: true, m: kg, n: ld, k: og, w + gi * og * kg, lda: kg,
                              stage + gi * og * ld, ldb: ld, col + gi * kg * ld, ldc: ld)
                }
                let sampleIn = inChannels * g.height * g.width
                let cp = SendablePointer(col), dx = SendablePointer(gradInput.data)
                Parallel.forChunks(b, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, g.columnRows * area))) { lo, hi in
                    for s in lo..<hi {
                        let sample = dx.p + (n0 + s) * sampleIn
                        sample.update(repeating: 0, count: sampleIn)
                        Im2Col.col2im(g, cp.p + s * area, ld: ld, sample)
                    }
                }
            }
        }
        return gradInput
    }
}
