import Tensor

/// What a layer keeps for its sparse kernels: the mask version its patterns were built for,
/// the density of that mask, the patterns per operand geometry, and scratch buffers.
final class SparseLayerState: @unchecked Sendable {
    private(set) var version = -1
    private(set) var density = 1.0
    /// Patterns per geometry key (batch or input shape, and `Parallel.threads`): forward rows,
    /// their nonzero-balanced thread ranges, transposed rows, their ranges.
    var patterns: [[Int]: SparsePlan] = [:]
    /// Scratch: the transposed input (`Linear`, kept from forward to backward), the output, the
    /// output gradient (a convolution's partial weight gradients), the input gradient, in the
    /// layouts the kernels read.
    let input = Tensor(shape: [0]), output = Tensor(shape: [0])
    let gradOutput = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
    /// Whether the last forward ran sparse (backward follows it).
    var lastForwardSparse = false
    /// Per-worker scratch (SparseConv.swift).
    var scratchBuffers: [Tensor] = []
    /// A convolution's input normalisation in its last sparse forward (`Conv2d.forward(_:normalizing:)`;
    /// nil after any other forward), which the backward after it applies again, and the backward
    /// sums per input plane that backward hands to that BatchNorm2d (nil when not computed).
    var inputNormalization: InputNormalization? { didSet { hasInputPlaneSums = false } }
    var inputPlaneSums: Tensor? { hasInputPlaneSums ? planeSums : nil }
    let planeSums = Tensor(shape: [0])
    var hasInputPlaneSums = false

    /// Whether `weight`'s layer of `kind` runs sparse now; rebuilds nothing unless the mask
    /// changed since the last call.
    func active(_ weight: Parameter, _ kind: SparseKernels.LayerKind, mode: KernelMode?) -> Bool {
        let mode = mode ?? SparseKernels.mode
        guard mode != .dense, weight.mask != nil else { return false }
        if version != weight.maskVersion {
            version = weight.maskVersion
            density = Double(weight.unprunedCount) / Double(Swift.max(1, weight.count))
            patterns = [:]
        }
        return mode == .sparse || density <= SparseKernels.threshold(for: kind)
    }

    /// The plan for `key`, built by `make` on first use after a mask change.
    func plan(_ key: [Int], _ make: () -> SparsePlan) -> SparsePlan {
        if let p = patterns[key] { return p }
        let p = make()
        patterns[key] = p
        return p
    }

    /// Worker count for `flops` multiply-adds: one more per 2^20. Waking a worker costs tens of
    /// microseconds, about what a core needs for a million multiply-adds of these kernels: with
    /// 2^15 per worker, the MLP's sparse step at 5% kept took 0.69-1.05 ms on two threads
    /// against 0.58-0.63 ms on one (`topiary bench --sparsity 0.95 --threads 1|2`).
    static func workers(_ flops: Int) -> Int {
        Swift.max(1, Swift.min(Parallel.threads, flops / (1 << 20)))
    }
}

/// A layer's two patterns (forward rows over outputs, transposed rows over inputs) with their
/// nonzero-balanced row ranges per worker.
struct SparsePlan: Sendable {
    let forward: SparsePattern, forwardBounds: [Int]
    let transposed: SparsePattern, transposedBounds: [Int]
}

/// Sendable views of what a sparse pass's workers share.
struct SparseArgs: @unchecked Sendable {
    let plan: SparsePlan
    let w: UnsafeMutablePointer<Float>
}

extension Linear {
    /// `y = x Wᵀ + b` with the kept weights only, in the transposed layout the kernels want:
    /// xᵀ is `[in, ld]` with the batch contiguous (ld = batch rounded up to 16), each output
    /// neuron's row of yᵀ is held in registers across its nonzeros. Returns false when the
    /// dense path should run.
    func sparseForward(_ x: Tensor, rows n: Int) -> Bool {
        guard sparse.active(weight, .linear, mode: kernels) else { sparse.lastForwardSparse = false; return false }
        sparse.lastForwardSparse = true
        let ld = (n + 15) / 16 * 16, fin = inFeatures, fout = outFeatures
        let plan = linearPlan(ld: ld)
        let xt = sparse.input, yt = sparse.output
        xt.resize([fin, ld])
        yt.resize([fout, ld])
        SparseKernels.transpose(rows: n, cols: fin, x.data, lds: fin, xt.data, ldd: ld)
        let args = SparseArgs(plan: plan, w: weight.value.data)
        let xp = SendablePointer(xt.data), yp = SendablePointer(yt.data)
        SparseKernels.run(plan.forwardBounds) { _, lo, hi in
            args.plan.forward.multiply(rows: lo, hi, weight: args.w, x: xp.p, y: yp.p, ldy: ld, length: ld, accumulate: false)
        }
        output.resize([n, fout])
        SparseKernels.transpose(rows: fout, cols: n, yt.data, lds: ld, output.data, ldd: fout)
        if let b = bias { Ops.addRowVector(n, fout, b.value.data, output.data) }
        return true
    }

    /// Backward after a sparse forward: dW only at kept positions (a sampled dense-dense
    /// product dyᵀ·x per nonzero) unless `SparseKernels.needsDenseWeightGradients`, dx with the
    /// transposed pattern (contiguous writes of dxᵀ rows).
    func sparseBackward(_ dy: Tensor, _ x: Tensor) -> Tensor {
        let n = dy.count / outFeatures, ld = (n + 15) / 16 * 16, fin = inFeatures, fout = outFeatures
        let plan = linearPlan(ld: ld)
        let dyt = sparse.gradOutput
        dyt.resize([fout, ld])
        SparseKernels.transpose(rows: n, cols: fout, dy.data, lds: fout, dyt.data, ldd: ld)
        let args = SparseArgs(plan: plan, w: weight.value.data)
        let xt = SendablePointer(sparse.input.data), dytp = SendablePointer(dyt.data)
        if SparseKernels.needsDenseWeightGradients {
            BLAS.gemm(transA: true, m: fout, n: fin, k: n, dy.data, x.data, beta: 1, weight.grad.data)
        } else {
            let g = SendablePointer(weight.grad.data)
            SparseKernels.run(plan.forwardBounds) { _, lo, hi in
                args.plan.forward.sampledDot(rows: lo, hi, a: dytp.p, lda: ld, b: xt.p, length: n, into: g.p)
            }
        }
        if let b = bias { Ops.sumRows(n, fout, dy.data, into: b.grad.data, accumulate: true) }
        guard computesInputGradient else { return gradInput }
        let dxt = sparse.gradInput
        dxt.resize([fin, ld])
        let dxp = SendablePointer(dxt.data)
        SparseKernels.run(plan.transposedBounds) { _, lo, hi in
            args.plan.transposed.multiply(rows: lo, hi, weight: args.w, x: dytp.p, y: dxp.p, ldy: ld, length: ld, accumulate: false)
        }
        gradInput.resize(x.shape)
        SparseKernels.transpose(rows: fin, cols: n, dxt.data, lds: ld, gradInput.data, ldd: fin)
        return gradInput
    }

    func linearPlan(ld: Int) -> SparsePlan {
        // The thread count is part of the key: the row ranges are split for it.
        return sparse.plan([ld, Parallel.threads]) {
            let m = weight.mask!.data, fin = inFeatures, fout = outFeatures
            let fwd = SparsePattern(rows: fout) { o, row in
                for i in 0..<fin where m[o * fin + i] != 0 { row.append((Int32(o * fin + i), Int32(i * ld))) }
            }
            let bwd = SparsePattern(rows: fin) { i, row in
                for o in 0..<fout where m[o * fin + i] != 0 { row.append((Int32(o * fin + i), Int32(o * ld))) }
            }
            let w = SparseLayerState.workers(fwd.nonzeros * ld)
            return SparsePlan(forward: fwd, forwardBounds: fwd.balancedRanges(w),
                              transposed: bwd, transposedBounds: bwd.balancedRanges(w))
        }
    }
}
