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
/// No im2col: each sample's zero-padded input is copied once into phase planes. With stride
/// `s`, the padded input's positions `(i*s + a, j*s + b)` form the phase plane `(a, b)`,
/// `hq x wq` big, so that output `(oy, ox)` reads weight `(c, ky, kx)`'s input at
/// `(oy + ky/s, ox + kx/s)` of phase `(ky % s, kx % s)`: every kept weight is one offset
/// into the sample's planes, and the output plane of channel o is
/// `Σ w · (a phase plane shifted by the offset)`, one contiguous run of `OH*wq` floats (rows
/// computed `wq` wide, the last `(k-1)/s` columns of each discarded) held in registers a block
/// at a time. Stride 1 has one phase: the padded planes themselves. Only phases some kernel
/// position reads are stored (a 1x1 kernel of stride 2 reads phase (0, 0) alone).
///
/// Backward puts dy in the same `wq`-wide rows with zeros in the discarded columns and
/// `M = q(wq+1)` zeros around every plane (`q = (k-1)/s`), so dx's phase planes are again sums
/// of shifted dy planes (the transposed pattern, offsets `M + o*S - (ky/s)*wq - kx/s`), and dW
/// at a kept weight is one dot product of a dy plane with a shifted phase plane.
///
/// The phase planes of a sample live in its worker's scratch only: backward builds them again
/// from the layer's input (one copy, in cache) instead of keeping a batch of them in memory
/// between the passes.
struct SparseConvGeometry {
    let g: ConvGeometry
    var k: Int { g.kernelHeight }
    var s: Int { g.strideY }
    /// The largest shift, in phase-plane positions, of a kernel position: (k-1)/s.
    var q: Int { (k - 1) / s }
    /// Phases stored per axis: those some kernel position reads.
    var phases: Int { Swift.min(s, k) }
    /// Rows and row width of a phase plane: the output's plus the largest shift.
    var hq: Int { g.outputHeight + q }
    var wq: Int { g.outputWidth + q }
    var plane: Int { hq * wq }
    /// Phase planes per sample.
    var planes: Int { g.channels * phases * phases }
    /// Floats per output plane as computed: OH rows of wq.
    var length: Int { g.outputHeight * wq }
    /// Floats per sample of the phase planes, rounded up; a shifted read of the last plane's
    /// discarded columns may run `q` floats past them.
    var inputStride: Int { (planes * plane + k + 15) / 16 * 16 }
    /// Zeros around each dy plane.
    var margin: Int { q * (wq + 1) }
    /// Distance between dy planes.
    var dyPlaneStride: Int { length + margin }
    /// Floats per sample of the staged dy.
    func dyStride(_ outChannels: Int) -> Int { (margin + outChannels * dyPlaneStride + 15) / 16 * 16 }
    /// For every phase plane (stride > 1), the block of its rows and columns that holds image
    /// values: the first such row's offset in a sample's phase planes, the image position of its
    /// first column (column `j` of row `i` holds the image at `image + i*s*w + j*s`), the rows
    /// and the columns. Rows are `wq` apart in the plane, `s*w` in the image.
    func forEachPhasePlane(_ body: (_ row: Int, _ image: Int, _ rows: Int, _ columns: Range<Int>) -> Void) {
        let h = g.height, w = g.width, p = g.padY
        for plane in 0..<planes {
            let ci = plane / (phases * phases), a = plane / phases % phases, b = plane % phases
            let lo = Swift.min(wq, p > b ? (p - b + s - 1) / s : 0), hi = Swift.min(wq, (w + p - b + s - 1) / s)
            // Rows i with 0 <= i*s + a - p < h.
            let top = Swift.min(hq, p > a ? (p - a + s - 1) / s : 0), bottom = Swift.min(hq, (h + p - a + s - 1) / s)
            guard top < bottom, lo < hi else { continue }
            body(plane * self.plane + top * wq + lo, (ci * h + top * s + a - p) * w + b - p + lo * s, bottom - top, lo..<hi)
        }
    }
    /// `floats` moved by a sample's copies (padding, staging, unpadding) in units of
    /// `SparseLayerState.workers`' multiply-adds: a float moved through memory costs about
    /// what four of the kernels' multiply-adds do, so a very sparse layer on large activations
    /// (ResNet-20's 64-channel stage at 2% kept) still splits its copies between workers.
    func copyWork(_ floats: Int) -> Int { 4 * floats }

    /// Where kept weight (c, ky, kx) reads a sample's phase planes.
    func offset(channel c: Int, ky: Int, kx: Int) -> Int {
        ((c * phases + ky % s) * phases + kx % s) * plane + ky / s * wq + kx / s
    }
}

/// A sparse convolution's forward for one sample (`Conv2d.sparseStep`): what its workers share.
struct SparseConvStep: Sendable {
    let sg: SparseConvGeometry
    let args: SparseArgs
    let outChannels: Int
    let bias: SendablePointer<Float>?

    /// Floats of one sample's output rows as computed: a plane of `sg.length` per channel.
    var stageFloats: Int { outChannels * sg.length }
    /// Multiply-adds per sample.
    var multiplyAdds: Int { args.plan.forward.nonzeros * sg.length }
    /// The work of one sample's forward for `SparseLayerState.workers`: its multiply-adds and
    /// the floats its copies move (`SparseConvGeometry.copyWork`).
    var work: Int { multiplyAdds + sg.copyWork(stageFloats + sg.inputStride) }

    /// One sample's output rows (`sg.wq` wide, planes `sg.length` apart) from its phase planes.
    func multiply(_ xin: UnsafePointer<Float>, into stage: UnsafeMutablePointer<Float>) {
        let len = sg.length
        args.plan.forward.multiply(rows: 0, outChannels, weight: args.w, x: xin, y: stage, ldy: len, length: len, accumulate: false)
        guard let bias else { return }
        for oc in 0..<outChannels {
            let b = bias.p[oc], rows = stage + oc * len
            for i in 0..<len { rows[i] += b }
        }
    }
}

extension Conv2d {
    /// Whether this layer can run sparse: any stride, padding and square kernel, groups 1.
    var supportsSparse: Bool { groups == 1 && kernelHeight == kernelWidth }

    /// The forward pattern (rows = output channels) and the transposed one (rows = the input's
    /// phase planes), built once per mask and input shape.
    /// Workers split samples, not rows, so the row ranges are whole.
    private func sparseConvPlan(_ sg: SparseConvGeometry) -> SparsePlan {
        sparse.plan([sg.g.height, sg.g.width]) {
            let m = weight.mask!.data, o = outChannels, c = inChannels, k = kernelHeight, kk = k * k, r = c * kk
            let margin = sg.margin, dys = sg.dyPlaneStride, wq = sg.wq, st = sg.s, ph = sg.phases
            let fwd = SparsePattern(rows: o) { oc, row in
                for ri in 0..<r where m[oc * r + ri] != 0 {
                    let ci = ri / kk, ky = ri % kk / k, kx = ri % k
                    row.append((Int32(oc * r + ri), Int32(sg.offset(channel: ci, ky: ky, kx: kx))))
                }
            }
            // One row per phase plane (c, a, b): the kept weights of that phase.
            let bwd = SparsePattern(rows: sg.planes) { p, row in
                let ci = p / (ph * ph), a = p / ph % ph, b = p % ph
                for oc in 0..<o {
                    for t in 0..<kk where m[oc * r + ci * kk + t] != 0 {
                        let ky = t / k, kx = t % k
                        guard ky % st == a, kx % st == b else { continue }
                        row.append((Int32(oc * r + ci * kk + t), Int32(margin + oc * dys - ky / st * wq - kx / st)))
                    }
                }
            }
            return SparsePlan(forward: fwd, forwardBounds: [0, fwd.rows], transposed: bwd, transposedBounds: [0, bwd.rows])
        }
    }

    /// This layer's sparse forward on inputs of geometry `g`, one sample at a time; nil when
    /// the dense path should run.
    func sparseStep(_ g: ConvGeometry) -> SparseConvStep? {
        guard supportsSparse, sparse.active(weight, .convolution(outputPixels: g.outputArea, weightsPerOutput: inChannels * kernelHeight * kernelWidth),
                                           mode: kernels) else { return nil }
        let sg = SparseConvGeometry(g: g)
        return SparseConvStep(sg: sg, args: SparseArgs(plan: sparseConvPlan(sg), w: weight.value.data), outChannels: outChannels,
                              bias: bias.map { SendablePointer($0.value.data) })
    }

    /// Forward with the kept weights only; nil when the dense path should run.
    ///
    /// With `norm` (`forward(_:normalizing:)`) the input is `norm` applied to `x`, which the
    /// backward after it repeats. With `epilogue` (`inferFolding`: evaluation, no backward)
    /// each sample's output rows go through it into its output instead of this layer's.
    func sparseForward(_ x: Tensor, _ g: ConvGeometry, normalizing norm: InputNormalization? = nil,
                       epilogue makeEpilogue: (([Int]) -> EvaluationEpilogue)? = nil) -> Tensor? {
        sparse.inputNormalization = norm
        guard let step = sparseStep(g) else {
            sparse.lastForwardSparse = false
            return nil
        }
        let n = x.shape[0], o = outChannels, sg = step.sg
        let shape = [n, o, g.outputHeight, g.outputWidth]
        let epilogue = makeEpilogue?(shape)
        sparse.lastForwardSparse = epilogue == nil
        let workers = Swift.max(1, Swift.min(Parallel.threads, n, SparseLayerState.workers(step.work * n)))
        let len = sg.length, oh = g.outputHeight, ow = g.outputWidth, area = g.outputArea, wq = sg.wq
        // Per worker: the output rows as computed (wq wide), the phase planes.
        let scratch = sparse.scratch(workers, floats: step.stageFloats + sg.inputStride)
        if epilogue == nil { output.resize(shape) }
        let xp = SendablePointer(x.data), yp = SendablePointer(output.data)
        let inSize = g.channels * g.height * g.width
        SampleWorkers.runInTasks(workers: workers, n) { w, lo, hi in
            let stage = scratch[w].p, xin = stage + step.stageFloats
            for s in lo..<hi {
                Self.pad(sg, xp.p + s * inSize, normalizing: norm, into: xin)
                step.multiply(xin, into: stage)
                if let epilogue {
                    epilogue.apply(rows: oh, cols: ow, stage, plane: len, ld: wq, at: s * o * area)
                } else {
                    // The planes lie `oh` rows of `wq` apart: one block of o * oh rows.
                    Ops.copyRows(o * oh, ow, from: stage, ld: wq, to: yp.p + s * o * area, ld: ow)
                }
            }
        }
        return epilogue == nil ? output : nil
    }

    /// Whether `forward(_:normalizing:)` can run on an input of `shape`: sparse, stride 1, and
    /// no dense weight gradient due (its im2col would need the normalised input itself).
    func acceptsNormalizedInput(_ shape: [Int]) -> Bool {
        let g = geometry(shape)
        return g.strideY == 1 && g.strideX == 1 && !SparseKernels.needsDenseWeightGradients && sparseStep(g) != nil
    }

    /// Training forward on `norm` applied to `x` (a BatchNorm2d's input, with its batch
    /// statistics and ReLU; `BatchNorm2d.forwardStatistics`): each sample's padded input planes
    /// are normalised from `x` as they are built, in forward and again in backward, so the
    /// normalised input is never written; backward also hands the BatchNorm its sums per plane
    /// (`sparse.inputPlaneSums`). The same bits as the BatchNorm, ReLU and this layer one by
    /// one. Only where `acceptsNormalizedInput(x.shape)`.
    func forward(_ x: Tensor, normalizing norm: InputNormalization) -> Tensor {
        OpProfile.measure(.convolution) {
            precondition(acceptsNormalizedInput(x.shape), "\(summary): a normalised input needs a sparse, unstrided layer")
            input = x
            return sparseForward(x, geometry(x.shape), normalizing: norm)!
        }
    }

    /// Whether `backward(_:)` can take a deferred BatchNorm gradient: the last forward ran
    /// sparse, no bias (its gradient would need dy) and no dense weight gradient due.
    var acceptsBatchNormGradient: Bool {
        sparse.lastForwardSparse && bias == nil && !SparseKernels.needsDenseWeightGradients && input != nil
    }

    /// Backward from the BatchNorm2d after this layer (`BatchNorm2d.backwardDeferringInput`):
    /// its input gradient, which is this layer's dy, is computed plane by plane as each sample's
    /// dy is staged, never written. The same bits as `backward(bn.backward(dy))`. Only where
    /// `acceptsBatchNormGradient`.
    ///
    /// With `side` (only where `addsToInputGradient`), the input gradient returned is this
    /// layer's plus `side`, added as each sample's is written: a residual block's sum of its
    /// two paths, the bits of `Ops.add` after. With `maskingByInput` too, that sum is zero
    /// where this layer's input is not positive: the backward of the ReLU that produced the
    /// input (the bits of `ReLU.backward`), when that ReLU's output is this layer's input.
    func backward(_ bn: BatchNormInputGradient, adding side: Tensor? = nil, maskingByInput: Bool = false) -> Tensor {
        OpProfile.measure(.convolution) {
            precondition(acceptsBatchNormGradient, "\(summary): a deferred BatchNorm gradient needs a sparse forward and no bias")
            let x = input!
            precondition(bn.channels == outChannels, "\(summary): BatchNorm gradient of \(bn.channels) channels")
            precondition(side == nil || (addsToInputGradient && side!.shape == x.shape),
                         "\(summary): an added gradient needs stride 1 and the input's shape")
            precondition(!maskingByInput || side != nil, "\(summary): the input's mask applies to an added gradient")
            return sparseBackward(nil, from: bn, x, geometry(x.shape), adding: side, maskingByInput: maskingByInput)
        }
    }

    /// Whether `backward(_:adding:)` can add to its input gradient: unstrided, so that every
    /// input position's gradient is written once (strided, positions no window reads get 0).
    var addsToInputGradient: Bool { stride == 1 && computesInputGradient }

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

    /// `pad` of `norm` applied to `x` when given (stride 1, `forward(_:normalizing:)`).
    static func pad(_ sg: SparseConvGeometry, _ x: UnsafePointer<Float>, normalizing norm: InputNormalization?,
                    into to: UnsafeMutablePointer<Float>) {
        guard let norm else { return pad(sg, x, into: to) }
        let p = sg.g.padY, wq = sg.wq
        norm.place(sg.g.channels, rows: sg.g.height, cols: sg.g.width, x, to: to, first: p * wq + p, plane: sg.plane, ld: wq,
                   count: sg.inputStride)
    }

    /// Copies one sample into its zero-padded phase planes. Stride 1: the image's rows with the
    /// zeros between them, each float written once (`Ops.placeRows`); strided: zeros first,
    /// then one strided copy per phase plane.
    static func pad(_ sg: SparseConvGeometry, _ x: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>) {
        let c = sg.g.channels, h = sg.g.height, w = sg.g.width, p = sg.g.padY, wq = sg.wq, st = sg.s
        if st == 1 {
            Ops.placeRows(c, h, w, from: x, block: h * w, to: to, first: p * wq + p, block: sg.plane, ld: wq, count: sg.inputStride)
            return
        }
        to.update(repeating: 0, count: sg.inputStride)
        sg.forEachPhasePlane { row, image, rows, columns in
            Ops.copyStrided(rows, columns.count, from: x + image, ld: st * sg.g.width, step: st, to: to + row, ld: sg.wq, step: 1)
        }
    }

    /// The inverse of `pad` for gradients: each input position's value from its phase plane,
    /// zero where no output reads it (a phase not stored, rows or columns past the last window).
    /// With `side` (stride 1 only), each value written is the gradient plus side's, zero where
    /// `mask` (given) is not positive.
    private static func unpad(_ sg: SparseConvGeometry, _ from: UnsafePointer<Float>, adding side: UnsafePointer<Float>? = nil,
                              masking mask: UnsafePointer<Float>? = nil, into dx: UnsafeMutablePointer<Float>) {
        let c = sg.g.channels, h = sg.g.height, w = sg.g.width, p = sg.g.padY, wq = sg.wq, st = sg.s
        precondition(side == nil || st == 1, "unpad: adding needs stride 1")
        if st == 1 {
            Ops.copyPlanes(c, h, w, from: from + p * wq + p, plane: sg.plane, ld: wq, adding: side, masking: mask, to: dx,
                           plane: h * w, ld: w)
            return
        }
        dx.update(repeating: 0, count: c * h * w)
        sg.forEachPhasePlane { row, image, rows, columns in
            Ops.copyStrided(rows, columns.count, from: from + row, ld: sg.wq, step: 1, to: dx + image, ld: st * sg.g.width, step: st)
        }
    }

    /// Backward after a sparse forward: dW at kept positions only (unless
    /// `SparseKernels.needsDenseWeightGradients`), dx with the transposed pattern.
    ///
    /// One pass over the samples does both, while a sample's staged dy and padded input (built
    /// again from `x`) are in cache: the samples fall into at most eight fixed blocks (`sampleBlocks`), each block's dW
    /// at the kept weights is summed over its samples in order into a partial of its own, and
    /// the partials are added in block order at the end. The blocks depend on the batch only,
    /// so the result does not depend on how many workers share them.
    ///
    /// With `bn` (`backward(_:)` of a `BatchNormInputGradient`) instead of `dy`, each sample's
    /// dy planes are that BatchNorm's input gradient, computed as they are staged.
    func sparseBackward(_ dy: Tensor?, from bn: BatchNormInputGradient? = nil, _ x: Tensor, _ g: ConvGeometry,
                        adding side: Tensor? = nil, maskingByInput: Bool = false) -> Tensor {
        let n = x.shape[0], o = outChannels, c = inChannels, sg = SparseConvGeometry(g: g), plan = sparseConvPlan(sg)
        let area = g.outputArea, oh = g.outputHeight, ow = g.outputWidth, len = sg.length, wq = sg.wq
        let inputGradient = computesInputGradient, sparseGradient = !SparseKernels.needsDenseWeightGradients
        precondition((dy != nil) != (bn != nil) && (dy != nil || (bias == nil && sparseGradient)),
                     "\(summary): a deferred BatchNorm gradient needs no bias and sparse weight gradients")
        if let dy { addBiasGradient(dy, samples: n, area: area) }
        if inputGradient { gradInput.resize(x.shape) }
        let blocks = Self.sampleBlocks(n), nnz = plan.forward.nonzeros
        let workers = Swift.max(1, Swift.min(Parallel.threads, blocks.count - 1,
                                             SparseLayerState.workers((nnz * len + sg.copyWork(sg.dyStride(o) + sg.planes * sg.plane
                                                                                                + sg.inputStride)) * n)))
        let args = SparseArgs(plan: plan, w: weight.value.data)
        let dyp = dy.map { SendablePointer($0.data) }, dxp = SendablePointer(gradInput.data), xp = SendablePointer(x.data)
        let sidep = side.map { SendablePointer($0.data) }
        let inSize = c * g.height * g.width
        // Per worker: dy staged in the kernels' layout (wq-wide rows in zero margins), the dx
        // phase planes, the input's phase planes again.
        let dyStride = sg.dyStride(o), dxFloats = sg.planes * sg.plane
        let scratch = sparse.scratch(workers, floats: dyStride + dxFloats + sg.inputStride)
        // With a normalised input: its BatchNorm's backward sums per plane, while dx and x are in cache.
        let norm = sparse.inputNormalization, plane = g.height * g.width
        precondition(norm == nil || sparseGradient, "\(summary): a dense weight gradient needs the normalised input")
        precondition(norm == nil || side == nil, "\(summary): the input's BatchNorm sums need the input gradient alone")
        sparse.hasInputPlaneSums = norm != nil && inputGradient
        if sparse.hasInputPlaneSums { sparse.planeSums.resize([n, c, 2]) }
        let sums = sparse.hasInputPlaneSums ? SendablePointer(sparse.planeSums.data) : nil
        let partials = sparse.gradOutput
        partials.resize([(blocks.count - 1) * nnz])
        let pp = SendablePointer(partials.data)
        Parallel.tasks(blocks.count - 1, workers: workers) { w, b in
            let dys = scratch[w].p, dxPlanes = dys + dyStride, xin = dxPlanes + dxFloats
            let partial = pp.p + b * nnz
            partial.update(repeating: 0, count: nnz)
            for s in blocks[b]..<blocks[b + 1] {
                // Zeros in the margins and the discarded columns.
                if let dyp {
                    Ops.placeRows(o, oh, ow, from: dyp.p + s * o * area, block: area, to: dys, first: sg.margin,
                                  block: sg.dyPlaneStride, ld: wq, count: dyStride)
                } else if let bn {
                    bn.stage(sample: s, rows: oh, cols: ow, to: dys, first: sg.margin, plane: sg.dyPlaneStride, ld: wq,
                             count: dyStride)
                }
                if sparseGradient {
                    Self.pad(sg, xp.p + s * inSize, normalizing: norm, into: xin)
                    args.plan.forward.sampledDot(rows: 0, o, a: dys + sg.margin, lda: sg.dyPlaneStride, b: xin,
                                                 length: len, intoNonzeroOrder: partial)
                }
                guard inputGradient else { continue }
                args.plan.transposed.multiply(rows: 0, sg.planes, weight: args.w, x: dys, y: dxPlanes, ldy: sg.plane,
                                              length: sg.plane, accumulate: false)
                Self.unpad(sg, dxPlanes, adding: sidep.map { UnsafePointer($0.p + s * inSize) },
                           masking: maskingByInput ? xp.p + s * inSize : nil, into: dxp.p + s * inSize)
                if let norm, let sums {
                    norm.backwardSums(c, count: plane, dy: dxp.p + s * inSize, x: xp.p + s * inSize, into: sums.p + 2 * s * c)
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
        } else if let dy {
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
