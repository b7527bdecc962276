import Tensor

/// Per-worker scratch of a sparse convolution (grown on demand).
extension SparseLayerState {
    func scratch(_ workers: Int, floats: Int) -> [SendablePointer<Float>] {
        while scratchBuffers.count < workers { scratchBuffers.append(Tensor(shape: [0])) }
        return scratchBuffers.prefix(workers).map { t in
            if t.count < floats { t.resize([floats]) }
            return SendablePointer(t.data)
        }
    }
}

/// The geometry of a sparse convolution of one input shape, in the padded layouts its kernels use.
///
/// Stride 1 ("direct", no im2col): each sample's input is copied once into zero-padded planes
/// `[C][Hp][Wp]`. An output row computed `Wp` wide (the last `k - 1` columns of each row are
/// discarded) makes every kept weight (c, ky, kx) a single offset `c*Hp*Wp + ky*Wp + kx` into
/// that buffer: the output plane of channel o is `Σ w · (input plane shifted by the offset)`,
/// one contiguous run of `OH*Wp` floats held in registers a block at a time. Backward puts dy in
/// the same `Wp`-wide rows with zeros in the discarded columns and `M = (k-1)(Wp+1)` zeros
/// around every plane, so dx's padded planes are again sums of shifted dy planes (the transposed
/// pattern, offsets `M + o*S - ky*Wp - kx`), and dW at a kept weight is one dot product of a dy
/// plane with a shifted input plane.
///
/// Other strides: im2col per sample, then the same kernels with offsets `r * OH*OW` into the
/// column matrix, col2im for dx.
///
/// The padded planes or column matrix of a sample live in its worker's scratch only: backward
/// builds them again from the layer's input (one copy, in cache) instead of keeping a
/// batch of them in memory between the passes.
struct SparseConvGeometry {
    let g: ConvGeometry
    let direct: Bool
    var k: Int { g.kernelHeight }
    var hp: Int { g.height + 2 * g.padY }
    var wp: Int { g.width + 2 * g.padX }
    var plane: Int { hp * wp }
    /// Floats per output plane as computed: OH rows of Wp (direct) or OH*OW (im2col).
    var length: Int { direct ? g.outputHeight * wp : g.outputArea }
    /// Floats per sample of the padded planes or the column matrix, rounded up.
    var inputStride: Int { direct ? (g.channels * plane + k + 15) / 16 * 16 : g.columnRows * g.outputArea }
    /// Zeros around each dy plane (direct).
    var margin: Int { (k - 1) * (wp + 1) }
    /// Distance between dy planes (direct).
    var dyPlaneStride: Int { length + margin }
    /// Floats per sample of the staged dy (direct).
    func dyStride(_ outChannels: Int) -> Int { (margin + outChannels * dyPlaneStride + 15) / 16 * 16 }
}

extension Conv2d {
    /// Whether this layer can run sparse: any stride, padding and square kernel, groups 1.
    var supportsSparse: Bool { groups == 1 && kernelHeight == kernelWidth }

    private func sparseGeometry(_ g: ConvGeometry) -> SparseConvGeometry {
        SparseConvGeometry(g: g, direct: stride == 1 && g.padY == g.padX)
    }

    /// The forward pattern (rows = output channels) and the transposed one (rows = input
    /// channels for direct, column rows for im2col), built once per mask and input shape.
    /// Workers split samples, not rows, so the row ranges are whole.
    private func sparseConvPlan(_ sg: SparseConvGeometry) -> SparsePlan {
        sparse.plan([sg.g.height, sg.g.width]) {
            let m = weight.mask!.data, o = outChannels, c = inChannels, k = kernelHeight, kk = k * k, r = c * kk
            let wp = sg.wp, plane = sg.plane, len = sg.length, margin = sg.margin, s = sg.dyPlaneStride
            let fwd = SparsePattern(rows: o) { oc, row in
                for ri in 0..<r where m[oc * r + ri] != 0 {
                    let ci = ri / kk, ky = ri % kk / k, kx = ri % k
                    row.append((Int32(oc * r + ri), Int32(sg.direct ? ci * plane + ky * wp + kx : ri * len)))
                }
            }
            let bwd: SparsePattern
            if sg.direct {
                bwd = SparsePattern(rows: c) { ci, row in
                    for oc in 0..<o {
                        for t in 0..<kk where m[oc * r + ci * kk + t] != 0 {
                            let ky = t / k, kx = t % k
                            row.append((Int32(oc * r + ci * kk + t), Int32(margin + oc * s - ky * wp - kx)))
                        }
                    }
                }
            } else {
                bwd = SparsePattern(rows: r) { ri, row in
                    for oc in 0..<o where m[oc * r + ri] != 0 { row.append((Int32(oc * r + ri), Int32(oc * len))) }
                }
            }
            return SparsePlan(forward: fwd, forwardBounds: [0, fwd.rows], transposed: bwd, transposedBounds: [0, bwd.rows])
        }
    }

    /// Forward with the kept weights only; nil when the dense path should run.
    ///
    /// With `epilogue` (`inferFolding`: evaluation, no backward) each sample's output planes go
    /// through it into its output instead of this layer's.
    func sparseForward(_ x: Tensor, _ g: ConvGeometry,
                       epilogue makeEpilogue: (([Int]) -> EvaluationEpilogue)? = nil) -> Tensor? {
        guard supportsSparse, sparse.active(weight, .convolution(outputPixels: g.outputArea), mode: kernels) else {
            sparse.lastForwardSparse = false
            return nil
        }
        let n = x.shape[0], o = outChannels, sg = sparseGeometry(g), plan = sparseConvPlan(sg)
        let shape = [n, o, g.outputHeight, g.outputWidth]
        let epilogue = makeEpilogue?(shape)
        sparse.lastForwardSparse = epilogue == nil
        let workers = Swift.max(1, Swift.min(Parallel.threads, n, SparseLayerState.workers(plan.forward.nonzeros * sg.length * n)))
        let len = sg.length, oh = g.outputHeight, ow = g.outputWidth, area = g.outputArea
        // Per worker: the staged output rows (direct), the output planes before the epilogue,
        // and the padded input or column matrix.
        let stageFloats = sg.direct ? o * len : 0, planeFloats = epilogue == nil ? 0 : o * area
        let scratch = sparse.scratch(workers, floats: stageFloats + planeFloats + sg.inputStride)
        if epilogue == nil { output.resize(shape) }
        let args = SparseArgs(plan: plan, w: weight.value.data)
        let xp = SendablePointer(x.data)
        let yp = SendablePointer(epilogue?.output ?? output.data)
        let bp = bias.map { SendablePointer($0.value.data) }
        let inSize = g.channels * g.height * g.width
        SampleWorkers.run(workers: workers, n) { w, lo, hi in
            let stage = scratch[w].p, planes = stage + stageFloats
            for s in lo..<hi {
                let xin = planes + planeFloats
                let y = epilogue == nil ? yp.p + s * o * area : planes
                if sg.direct {
                    Self.pad(sg, xp.p + s * inSize, into: xin)
                    args.plan.forward.multiply(rows: 0, o, weight: args.w, x: xin, y: stage, ldy: len, length: len, accumulate: false)
                    for oc in 0..<o {
                        let b = bp?.p[oc] ?? 0
                        for oy in 0..<oh {
                            let from = stage + oc * len + oy * sg.wp, to = y + oc * area + oy * ow
                            for ox in 0..<ow { to[ox] = from[ox] + b }
                        }
                    }
                } else {
                    Im2Col.im2col(g, xp.p + s * inSize, xin, ld: area)
                    args.plan.forward.multiply(rows: 0, o, weight: args.w, x: xin, y: y, ldy: area, length: area, accumulate: false)
                    if let bp { for oc in 0..<o { let b = bp.p[oc]; for i in 0..<area { y[oc * area + i] += b } } }
                }
                if let epilogue {
                    for oc in 0..<o { epilogue.apply(channel: oc, count: area, y + oc * area, at: (s * o + oc) * area) }
                }
            }
        }
        return epilogue == nil ? output : nil
    }

    /// This layer's evaluation output followed by `bn`'s evaluation forward (with `activation`
    /// fused, or adding `shortcut` then ReLU), in one pass when this layer runs sparse: each
    /// sample's output planes go through the BatchNorm's kernels while in cache, the same bits
    /// as the layers one by one, and neither this layer's output nor its padded input is
    /// written. Returns the activation's output (else the BatchNorm's), or nil when this layer
    /// runs dense or an observer watches the activation: run the layers as usual then. No
    /// backward may follow (`Layer.infer`).
    func inferFolding(_ x: Tensor, into bn: BatchNorm2d, activation: (any BatchNormFusable)?,
                      adding shortcut: Tensor? = nil) -> Tensor? {
        if let a = activation as? any Activation, a.observer != nil { return nil }
        guard bn.channels == outChannels else { return nil }
        return OpProfile.measure(.convolution) {
            let g = geometry(x.shape)
            var folded: Tensor?
            _ = sparseForward(x, g) { shape in
                let e = bn.evaluationEpilogue(shape: shape, activation: activation, shortcut: shortcut)
                folded = activation?.output ?? bn.output
                return e
            }
            if folded != nil { input = nil }
            return folded
        }
    }

    /// Copies one sample into zero-padded planes, writing every float once.
    private static func pad(_ sg: SparseConvGeometry, _ x: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>) {
        let c = sg.g.channels, h = sg.g.height, w = sg.g.width, py = sg.g.padY, px = sg.g.padX, wp = sg.wp
        for ci in 0..<c {
            let plane = to + ci * sg.plane
            plane.update(repeating: 0, count: py * wp + px)
            for y in 0..<h {
                let row = plane + (y + py) * wp + px
                row.update(from: x + (ci * h + y) * w, count: w)
                // The right padding of this row and the left padding of the next.
                (row + w).update(repeating: 0, count: 2 * px)
            }
            let end = (h + py) * wp + px
            (plane + end).update(repeating: 0, count: sg.plane - end)
        }
        (to + c * sg.plane).update(repeating: 0, count: sg.inputStride - c * sg.plane)
    }

    /// Backward after a sparse forward: dW at kept positions only (unless
    /// `SparseKernels.needsDenseWeightGradients`), dx with the transposed pattern.
    ///
    /// One pass over the samples does both, while a sample's staged dy and padded input (built
    /// again from `x`) are in cache: the samples fall into at most eight fixed blocks (`sampleBlocks`), each block's dW
    /// at the kept weights is summed over its samples in order into a partial of its own, and
    /// the partials are added in block order at the end. The blocks depend on the batch only,
    /// so the result does not depend on how many workers share them.
    func sparseBackward(_ dy: Tensor, _ x: Tensor, _ g: ConvGeometry) -> Tensor {
        let n = x.shape[0], o = outChannels, c = inChannels, sg = sparseGeometry(g), plan = sparseConvPlan(sg)
        let area = g.outputArea, oh = g.outputHeight, ow = g.outputWidth, len = sg.length
        addBiasGradient(dy, samples: n, area: area)
        let inputGradient = computesInputGradient, sparseGradient = !SparseKernels.needsDenseWeightGradients
        if inputGradient { gradInput.resize(x.shape) }
        let blocks = Self.sampleBlocks(n), nnz = plan.forward.nonzeros
        let workers = Swift.max(1, Swift.min(Parallel.threads, blocks.count - 1,
                                             SparseLayerState.workers(nnz * len * n)))
        let args = SparseArgs(plan: plan, w: weight.value.data)
        let dyp = SendablePointer(dy.data), dxp = SendablePointer(gradInput.data), xp = SendablePointer(x.data)
        let inSize = c * g.height * g.width
        // Per worker: dy staged in the kernels' layout (direct: Wp-wide rows in zero margins;
        // im2col: dy itself), the dx scratch, the padded input or column matrix again.
        let dyStride = sg.direct ? sg.dyStride(o) : 0, dxFloats = sg.direct ? c * sg.plane : g.columnRows * area
        let scratch = sparse.scratch(workers, floats: dyStride + dxFloats + sg.inputStride)
        let partials = sparse.gradOutput
        partials.resize([(blocks.count - 1) * nnz])
        let pp = SendablePointer(partials.data)
        let perWorker = (blocks.count - 1 + workers - 1) / workers
        VectorISA.concurrentPerform(iterations: workers) { w in
            for b in (w * perWorker)..<Swift.min(blocks.count - 1, (w + 1) * perWorker) {
                let partial = pp.p + b * nnz
                partial.update(repeating: 0, count: nnz)
                for s in blocks[b]..<blocks[b + 1] {
                    let dys = sg.direct ? scratch[w].p : dyp.p + s * o * area
                    if sg.direct {
                        // Margins and the discarded columns zero, every float written once.
                        let wp = sg.wp, gap = wp - ow
                        dys.update(repeating: 0, count: sg.margin)
                        for oc in 0..<o {
                            let plane = dys + sg.margin + oc * sg.dyPlaneStride
                            for oy in 0..<oh {
                                (plane + oy * wp).update(from: dyp.p + (s * o + oc) * area + oy * ow, count: ow)
                                (plane + oy * wp + ow).update(repeating: 0, count: gap)
                            }
                            (plane + oh * wp).update(repeating: 0, count: sg.margin)
                        }
                        let used = sg.margin + o * sg.dyPlaneStride
                        (dys + used).update(repeating: 0, count: dyStride - used)
                    }
                    if sparseGradient {
                        let xin = scratch[w].p + dyStride + dxFloats
                        if sg.direct { Self.pad(sg, xp.p + s * inSize, into: xin) } else { Im2Col.im2col(g, xp.p + s * inSize, xin, ld: area) }
                        let a0 = sg.direct ? sg.margin : 0, lda = sg.direct ? sg.dyPlaneStride : area
                        args.plan.forward.sampledDot(rows: 0, o, a: dys + a0, lda: lda, b: xin, length: len,
                                                     intoNonzeroOrder: partial)
                    }
                    guard inputGradient else { continue }
                    let dxs = dxp.p + s * inSize, scr = sg.direct ? scratch[w].p + dyStride : scratch[w].p
                    if sg.direct {
                        let plane = sg.plane
                        args.plan.transposed.multiply(rows: 0, c, weight: args.w, x: dys, y: scr, ldy: plane, length: plane,
                                                      accumulate: false)
                        let h = g.height, wd = g.width, py = g.padY, px = g.padX
                        for ci in 0..<c {
                            for y in 0..<h {
                                (dxs + (ci * h + y) * wd).update(from: scr + ci * plane + (y + py) * sg.wp + px, count: wd)
                            }
                        }
                    } else {
                        args.plan.transposed.multiply(rows: 0, g.columnRows, weight: args.w, x: dys, y: scr, ldy: area,
                                                      length: area, accumulate: false)
                        dxs.update(repeating: 0, count: inSize)
                        Im2Col.col2im(g, scr, ld: area, dxs)
                    }
                }
            }
        }
        if sparseGradient {
            // Each kept weight's partials in block order.
            let gp = SendablePointer(weight.grad.data), count = blocks.count - 1
            plan.forward.weightIndex.withUnsafeBufferPointer { wi in
                let wip = SendablePointer(UnsafeMutablePointer(mutating: wi.baseAddress!))
                Parallel.forChunks(nnz) { lo, hi in
                    for j in lo..<hi {
                        var sum: Float = 0
                        for b in 0..<count { sum += pp.p[b * nnz + j] }
                        gp.p[Int(wip.p[j])] += sum
                    }
                }
            }
        } else {
            denseWeightGradient(dy, x, g)
        }
        return gradInput
    }

    /// Bounds of the fixed sample blocks of a batch of `n` whose weight gradients are summed
    /// apart (`sparseBackward`): at most eight, of at least eight samples where the batch allows.
    static func sampleBlocks(_ n: Int) -> [Int] {
        let count = Swift.max(1, Swift.min(8, n / 8))
        return (0...count).map { $0 * n / count }
    }

    /// The full dW = Σ dy · colᵀ by im2col and GEMM, for callers that need pruned entries too.
    private func denseWeightGradient(_ dy: Tensor, _ x: Tensor, _ g: ConvGeometry) {
        let n = x.shape[0], o = outChannels, area = g.outputArea, rows = g.columnRows
        let col = sparse.scratch(1, floats: rows * area)[0].p
        let inSize = inChannels * g.height * g.width
        for s in 0..<n {
            Im2Col.im2col(g, x.data + s * inSize, col, ld: area)
            BLAS.gemm(transB: true, m: o, n: rows, k: area, dy.data + s * o * area, lda: area,
                      col, ldb: area, beta: 1, weight.grad.data, ldc: rows)
        }
    }
}
