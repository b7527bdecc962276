import CKernels

/// Elementwise maps and reductions over contiguous buffers, run by the CKernels kernels of
/// the active `VectorISA` level (the machine's full vector width). Reductions accumulate in
/// 16 lanes added in a fixed order, so their bits depend on the data only, not on timing.
public enum Ops {
    /// y += alpha * x
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        tk_axpy(n, alpha, x, y)
    }

    /// x *= alpha
    public static func scale(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        tk_scale(n, alpha, x)
    }

    /// The sum of `n` values.
    public static func sum(_ n: Int, _ x: UnsafePointer<Float>) -> Float {
        tk_sum(n, x)
    }

    /// sum(x[i] * y[i]).
    public static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        tk_dot(n, x, y)
    }

    /// sum((x[i] - mean)^2): the second pass of a two-pass variance.
    public static func sumSquaredDeviations(_ n: Int, _ x: UnsafePointer<Float>, mean: Float) -> Float {
        tk_sum_squared_deviations(n, x, mean)
    }

    /// Copies `rows` rows of `n` floats, `lds` apart in `src`, to rows `ldd` apart in `dst`, in
    /// one call rather than a library call per (short) row. No overlap.
    public static func copyRows(_ rows: Int, _ n: Int, from src: UnsafePointer<Float>, ld lds: Int,
                                to dst: UnsafeMutablePointer<Float>, ld ldd: Int) {
        tk_copy_rows(rows, n, src, lds, dst, ldd)
    }

    /// Writes `blocks` blocks of `rows` rows of `n` floats (block b's rows from
    /// `src + b * srcBlock`, `n` apart) to `dst + first + b * dstBlock`, rows `ldd` apart, and
    /// zeros everywhere else in `dst[0..<count]`: each float written once, where clearing the
    /// buffer first would write the blocks twice (a sparse convolution's padded layouts). The
    /// blocks must not overlap and must end within `count`.
    public static func placeRows(_ blocks: Int, _ rows: Int, _ n: Int, from src: UnsafePointer<Float>, block srcBlock: Int,
                                 to dst: UnsafeMutablePointer<Float>, first: Int, block dstBlock: Int, ld ldd: Int,
                                 count: Int) {
        checkPlacement(blocks, rows, n, first: first, block: dstBlock, ld: ldd, count: count)
        tk_place_rows(blocks, rows, n, src, srcBlock, dst, first, dstBlock, ldd, count)
    }

    /// Traps unless `blocks` blocks of `rows` rows, `ldd` apart from `first`, `dstBlock` apart,
    /// lie in order without overlap within `count` floats and rows of `n` fit in `ldd`: the
    /// layout the placing kernels (`tk_place_*`) write.
    public static func checkPlacement(_ blocks: Int, _ rows: Int, _ n: Int, first: Int, block dstBlock: Int, ld ldd: Int,
                                      count: Int) {
        precondition(n <= ldd && first >= 0 && (blocks <= 1 || dstBlock >= rows * ldd)
                     && first + Swift.max(blocks - 1, 0) * dstBlock + rows * ldd <= count,
                     "placeRows: \(blocks) blocks of \(rows) rows of \(n) (ld \(ldd)) from \(first), \(dstBlock) apart, overlap or end past \(count)")
    }

    /// `copyRows` for each of `planes` planes: plane p's rows from `src + p * srcPlane` to
    /// `dst + p * dstPlane`, in one call; with `add` (laid out as `dst`), each value written is
    /// the copied one plus add's (the bits of `Ops.add`), and with `mask` too, that sum where
    /// mask > 0, else 0 (the bits of ReLU's backward with `mask` as its output).
    public static func copyPlanes(_ planes: Int, _ rows: Int, _ n: Int, from src: UnsafePointer<Float>, plane srcPlane: Int,
                                  ld lds: Int, adding add: UnsafePointer<Float>? = nil, masking mask: UnsafePointer<Float>? = nil,
                                  to dst: UnsafeMutablePointer<Float>, plane dstPlane: Int, ld ldd: Int) {
        precondition(mask == nil || add != nil, "copyPlanes: a mask applies to a sum")
        tk_copy_planes(planes, rows, n, src, srcPlane, lds, add, mask, dst, dstPlane, ldd)
    }

    /// `rows` rows of `n` values with a step along each row: `dst[r*ldd + j*dstStep] =
    /// src[r*lds + j*srcStep]` (a strided convolution's phase planes and back).
    public static func copyStrided(_ rows: Int, _ n: Int, from src: UnsafePointer<Float>, ld lds: Int, step srcStep: Int,
                                   to dst: UnsafeMutablePointer<Float>, ld ldd: Int, step dstStep: Int) {
        tk_copy_strided(rows, n, src, lds, srcStep, dst, ldd, dstStep)
    }

    /// out = a + b elementwise (`out` may be `a` or `b`), in chunks on the workers (`elementwise`).
    public static func add(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        elementwise(n, a, b, into: out, tk_add)
    }

    /// An elementwise CKernels kernel (`y[i]` from `x[i]`) over `n` values in chunks on the
    /// workers from `Parallel.minimumWork` values: a whole-activation pass is memory-bound, and
    /// one core alone did not draw the bandwidth two do. Elementwise, so the chunks do not
    /// change the bits.
    public static func elementwise(_ n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                   _ kernel: @convention(c) (Int, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void) {
        let xp = SendablePointer(UnsafeMutablePointer(mutating: x)), yp = SendablePointer(y)
        Parallel.forChunks(n) { lo, hi in kernel(hi - lo, xp.p + lo, yp.p + lo) }
    }

    /// `elementwise` for a kernel of two inputs (`out[i]` from `a[i]`, `b[i]`).
    public static func elementwise(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   into out: UnsafeMutablePointer<Float>,
                                   _ kernel: @convention(c) (Int, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                                             UnsafeMutablePointer<Float>?) -> Void) {
        let ap = SendablePointer(UnsafeMutablePointer(mutating: a)), bp = SendablePointer(UnsafeMutablePointer(mutating: b))
        let op = SendablePointer(out)
        Parallel.forChunks(n) { lo, hi in kernel(hi - lo, ap.p + lo, bp.p + lo, op.p + lo) }
    }

    /// out = a * b elementwise (`out` may be `a` or `b`).
    public static func multiply(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        tk_mul(n, a, b, out)
    }

    /// Adds `bias[j]` to every row of the row-major `rows x cols` matrix.
    @inlinable public static func addRowVector(_ rows: Int, _ cols: Int, _ bias: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * cols
            for j in 0..<cols { row[j] += bias[j] }
        }
    }

    /// out[j] (+)= sum over rows of x[r, j].
    @inlinable public static func sumRows(_ rows: Int, _ cols: Int, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if !accumulate { out.update(repeating: 0, count: cols) }
        for r in 0..<rows {
            let row = x + r * cols
            for j in 0..<cols { out[j] += row[j] }
        }
    }

    /// Index of the largest entry of each row.
    public static func argmaxRows(_ x: Tensor) -> [Int] {
        let rows = x.shape[0], cols = x.count / Swift.max(rows, 1)
        return (0..<rows).map { r in
            let row = x.data + r * cols
            var best = 0
            for j in 1..<cols where row[j] > row[best] { best = j }
            return best
        }
    }
}

/// Softmax followed by cross-entropy against integer labels, fused for stability.
public enum SoftmaxCrossEntropy {
    /// Returns the mean loss and the number of rows whose argmax equals the label;
    /// writes d(mean loss)/d(logits) into `grad` when given.
    @discardableResult
    public static func evaluate(logits: Tensor, labels: UnsafePointer<Int32>, grad: Tensor?) -> (loss: Float, correct: Int) {
        let rows = logits.shape[0], cols = logits.count / rows
        grad?.resize(logits.shape)
        var total: Double = 0
        var correct = 0
        let invRows = 1 / Float(rows)
        for r in 0..<rows {
            let z = logits.data + r * cols
            var mx = z[0], arg = 0
            for j in 1..<cols where z[j] > mx { mx = z[j]; arg = j }
            var denom: Float = 0
            for j in 0..<cols { denom += Float.exp(z[j] - mx) }
            let label = Int(labels[r])
            precondition(label >= 0 && label < cols, "label \(label) outside 0..<\(cols)")
            if arg == label { correct += 1 }
            total += Double(Float.log(denom) - (z[label] - mx))
            if let g = grad?.data.advanced(by: r * cols) {
                let inv = 1 / denom
                for j in 0..<cols { g[j] = Float.exp(z[j] - mx) * inv * invRows }
                g[label] -= invRows
            }
        }
        return (Float(total / Double(rows)), correct)
    }
}
