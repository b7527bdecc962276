import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// How pruned layers compute: densely (multiplying pruned zeros) or with sparse kernels that
/// visit only the kept weights.
public enum KernelMode: String, CaseIterable, Sendable {
    /// Always the dense kernels (BLAS, oneDNN), as before sparse kernels existed.
    case dense
    /// Per layer: sparse kernels when its mask keeps at most `SparseKernels.threshold(for:)`
    /// of its weights (measured on this machine), dense otherwise.
    case auto
    /// Sparse kernels for every masked layer that has them, whatever its density (tests).
    case sparse
}

/// Settings and entry points of the sparse kernels (CKernels' `tk_sparse_*`, dispatched to the
/// CPU's widest instruction set like `VectorISA`'s).
public enum SparseKernels {
    /// The mode every layer follows; the environment variable `TOPIARY_KERNELS`
    /// (`dense`, `auto`, `sparse`) sets it at startup, `auto` otherwise.
    nonisolated(unsafe) public static var mode: KernelMode =
        getenv("TOPIARY_KERNELS").flatMap { KernelMode(rawValue: String(cString: $0)) } ?? .auto

    /// Whether layers compute the full dense weight gradient (every entry, pruned ones
    /// included) even when their forward and input gradient run sparse: for callers that read
    /// gradients at pruned positions. Bound per task and thread (a `TaskLocal`), so work on
    /// other threads keeps its sparse weight gradients; use `withDenseWeightGradients`.
    @TaskLocal public static var denseWeightGradients = false

    /// Runs `body` with full dense weight gradients (see `denseWeightGradients`). The layers'
    /// backward passes must run on the calling thread or task, as they do.
    public static func withDenseWeightGradients<T>(_ body: () throws -> T) rethrows -> T {
        try $denseWeightGradients.withValue(true) { try body() }
    }

    /// Whether weight gradients must be dense everywhere right now.
    public static var needsDenseWeightGradients: Bool { denseWeightGradients }

    /// The kind of layer a density threshold is for: a fully connected layer, or a
    /// convolution with `outputPixels` positions per output map and `weightsPerOutput` weights
    /// in each output's sum (input channels x kernel area; unknown: `Int.max`).
    public enum LayerKind: Sendable { case linear, convolution(outputPixels: Int, weightsPerOutput: Int = .max) }

    /// Convolutions with at most this many weights per output (a first layer on 3 channels, a
    /// 1x1 projection of 16 or 32) have the short-row threshold (`threshold(for:)`).
    public static let shortConvolutionWeights = 32

    /// Overrides the measured threshold of fully connected layers (`threshold(for:)`); nil: measured.
    nonisolated(unsafe) public static var linearThreshold: Double?
    /// Overrides the measured thresholds of convolutions; nil: measured.
    nonisolated(unsafe) public static var convolutionThreshold: Double?

    /// Largest kept fraction at which `auto` chooses the sparse kernels for a layer: the
    /// break-even densities of whole layers (forward and backward, batch 128) measured with
    /// `topiary bench --sparsity S --layerwise --kernels dense|sparse --profile` on the 2-core
    /// AMD EPYC (AVX-512) development machine, rounded down so that `auto` is not slower than
    /// dense (README "Sparse kernels"). Fully connected: 20% against oneDNN's GEMMs (a 256x256
    /// layer broke even near 20%, a 784x256 one near 35%), 30% against OpenBLAS's. Convolutions
    /// break even later on large maps, where the sparse kernels' per-nonzero work runs longest:
    /// 40% from 32x32 output maps up, 30% from 16x16, 20% below (ResNet-20's 8x8 maps broke
    /// even near 25%). Convolutions with at most `shortConvolutionWeights` weights per output
    /// run sparse up to 50%: there the dense convolution's fixed costs dominate (`topiary bench
    /// --calibrate-sparse`: ResNet-20's 3→16 first layer and its 16→32 1x1 stride-2 projection
    /// were faster sparse from 80% kept down, 1.5x and 1.9x at 80%; its 32→64 projection broke
    /// even between 50% and 80% in repeated runs).
    public static func threshold(for kind: LayerKind) -> Double {
        threshold(for: kind, linear: linearThreshold, convolution: convolutionThreshold)
    }

    /// `threshold(for:)` with the given overrides.
    static func threshold(for kind: LayerKind, linear: Double?, convolution: Double?) -> Double {
        switch kind {
        case .linear:
            linear ?? (BLAS.backend == .oneDNN ? 0.20 : 0.30)
        case .convolution(let pixels, let weights):
            convolution ?? (weights <= shortConvolutionWeights ? 0.50 : pixels >= 32 * 32 ? 0.40 : pixels >= 16 * 16 ? 0.30 : 0.20)
        }
    }

    /// The mode and, under `auto`, the thresholds in force, in words (for records: they decide
    /// which kernels run, and so the bits of a pruned network's results).
    public static var summary: String {
        summary(mode: mode, linear: linearThreshold, convolution: convolutionThreshold)
    }

    /// `summary` for the given mode and overrides.
    package static func summary(mode: KernelMode, linear: Double?, convolution: Double?) -> String {
        guard mode == .auto else { return mode.rawValue }
        let percent = { (kind: LayerKind) in
            "\(Int((threshold(for: kind, linear: linear, convolution: convolution) * 100).rounded()))%"
        }
        let convolutions = [32 * 32, 16 * 16, 1].map { percent(.convolution(outputPixels: $0)) }
        let short = percent(.convolution(outputPixels: 1, weightsPerOutput: shortConvolutionWeights))
        return "auto (fully connected \(percent(.linear)), convolutions \(convolutions.joined(separator: "/")), "
            + "\(short) with at most \(shortConvolutionWeights) weights per output)"
    }

    /// Whether a layer of `kind` whose mask keeps `density` of its weights runs sparse now.
    public static func usesSparse(_ kind: LayerKind, density: Double) -> Bool {
        switch mode {
        case .dense: false
        case .sparse: true
        case .auto: density <= threshold(for: kind)
        }
    }
}

/// A sparse structure over a dense weight: rows of nonzeros, each given by the weight's flat
/// index (values are read from the weight itself, so it is built once per mask, not per step)
/// and an offset into a dense operand whose vector axis is contiguous.
public struct SparsePattern: Sendable {
    /// Row r's nonzeros are `rowStart[r] ..< rowStart[r + 1]`.
    public var rowStart: [Int32]
    /// Per nonzero: the flat index into the weight.
    public var weightIndex: [Int32]
    /// Per nonzero: the offset of its run in the dense operand.
    public var offset: [Int32]
    /// Number of rows.
    public var rows: Int { rowStart.count - 1 }
    /// Number of nonzeros.
    public var nonzeros: Int { weightIndex.count }

    /// Builds a pattern row by row: `entries(r)` lists row r's (weight index, offset) pairs.
    public init(rows: Int, entries: (Int, inout [(Int32, Int32)]) -> Void) {
        rowStart = [0]
        rowStart.reserveCapacity(rows + 1)
        weightIndex = []
        offset = []
        var row: [(Int32, Int32)] = []
        for r in 0..<rows {
            row.removeAll(keepingCapacity: true)
            entries(r, &row)
            for (w, o) in row {
                weightIndex.append(w)
                offset.append(o)
            }
            rowStart.append(Int32(weightIndex.count))
        }
    }

    /// Splits the rows into at most `parts` contiguous ranges of about equal nonzero count
    /// (deterministic: it depends only on the pattern). Returns the range bounds.
    public func balancedRanges(_ parts: Int) -> [Int] {
        let n = rows, total = nonzeros
        let p = Swift.max(1, Swift.min(parts, n))
        var bounds = [0]
        var r = 0
        for k in 1..<p {
            let target = Int32((total * k) / p)
            while r < n && rowStart[r] < target { r += 1 }
            bounds.append(Swift.max(bounds.last!, r))
        }
        bounds.append(n)
        return bounds
    }

    /// For rows `r0 ..< r1`: `y[r*ldy + t] (+)= Σ_j w[weightIndex[j]] * x[offset[j] + t]`, t < len.
    public func multiply(rows r0: Int, _ r1: Int, weight w: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         y: UnsafeMutablePointer<Float>, ldy: Int, length: Int, accumulate: Bool) {
        rowStart.withUnsafeBufferPointer { rs in
            weightIndex.withUnsafeBufferPointer { wi in
                offset.withUnsafeBufferPointer { of in
                    tk_sparse_rows(r0, r1, rs.baseAddress, wi.baseAddress, of.baseAddress, w, x, y, ldy, length,
                                   accumulate ? 1 : 0)
                }
            }
        }
    }

    /// For rows `r0 ..< r1`: `g[weightIndex[j]] += Σ_t a[r*lda + t] * b[offset[j] + t]`, t < len.
    public func sampledDot(rows r0: Int, _ r1: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                           length: Int, into g: UnsafeMutablePointer<Float>) {
        weightIndex.withUnsafeBufferPointer { sampledDot(rows: r0, r1, a: a, lda: lda, b: b, length: length, into: g, at: $0.baseAddress) }
    }

    /// As `sampledDot(rows:_:a:lda:b:length:into:)`, writing nonzero j's sum to `g[j]` (a buffer
    /// of the kept weights alone, in nonzero order) instead of its weight index.
    public func sampledDot(rows r0: Int, _ r1: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                           length: Int, intoNonzeroOrder g: UnsafeMutablePointer<Float>) {
        sampledDot(rows: r0, r1, a: a, lda: lda, b: b, length: length, into: g, at: nil)
    }

    private func sampledDot(rows r0: Int, _ r1: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                            length: Int, into g: UnsafeMutablePointer<Float>, at index: UnsafePointer<Int32>?) {
        rowStart.withUnsafeBufferPointer { rs in
            offset.withUnsafeBufferPointer { of in
                tk_sparse_sampled_dot(r0, r1, rs.baseAddress, index, of.baseAddress, a, lda, b, length, g)
            }
        }
    }
}

extension SparseKernels {
    /// `dst[c*ldd + r] = src[r*lds + c]` for `r < rows`, `c < cols`.
    public static func transpose(rows: Int, cols: Int, _ src: UnsafePointer<Float>, lds: Int,
                                 _ dst: UnsafeMutablePointer<Float>, ldd: Int) {
        tk_transpose(rows, cols, src, lds, dst, ldd)
    }

    /// Runs `body(part, lo, hi)` over `bounds` (from `SparsePattern.balancedRanges`), in
    /// parallel when there are several parts.
    public static func run(_ bounds: [Int], _ body: @Sendable (Int, Int, Int) -> Void) {
        let parts = bounds.count - 1
        if parts <= 1 { body(0, bounds[0], bounds[parts]); return }
        VectorISA.concurrentPerform(iterations: parts) { k in
            if bounds[k] < bounds[k + 1] { body(k, bounds[k], bounds[k + 1]) }
        }
    }
}
