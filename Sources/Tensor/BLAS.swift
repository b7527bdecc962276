import CBLAS

/// Matrix products through CBLAS (OpenBLAS). Row-major throughout.
public enum BLAS {
    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, with op = transpose when the flag is set.
    /// `lda`, `ldb`, `ldc` default to the packed row strides.
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        _ a: UnsafePointer<Float>, lda: Int? = nil,
        _ b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let la = lda ?? (transA ? m : k)
        let lb = ldb ?? (transB ? k : n)
        let lc = ldc ?? n
        withExtendedLifetime(BLASCore.choice) {}  // the kernel set is settled before the first call
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
    }

    /// Tensor form: `c = alpha * op(a) @ op(b) + beta * c` for rank-2 tensors; resizes `c` when beta == 0.
    public static func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor,
                              transA: Bool = false, transB: Bool = false,
                              alpha: Float = 1, beta: Float = 0) {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
        let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(k == k2, "matmul inner dimensions differ: \(a.shape) and \(b.shape)")
        if beta == 0 { c.resize([m, n]) } else { precondition(c.shape == [m, n]) }
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
             a.data, lda: a.shape[1], b.data, ldb: b.shape[1], beta: beta, c.data, ldc: n)
    }

    /// The size of OpenBLAS's thread pool (the library's own pool, separate from ours).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            withExtendedLifetime(BLASCore.choice) {}
            openblas_set_num_threads(Int32(newValue))
        }
    }

    /// OpenBLAS's build string and the kernel set in use on this CPU, e.g.
    /// "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core: Haswell)", with
    /// OpenBLAS's own pick when Topiary replaced it (`BLASCore`).
    public static var libraryVersion: String {
        let choice = BLASCore.choice
        var config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS (unknown build)"
        while config.last == " " { config.removeLast() }
        let replaced = choice.inUse == choice.pickedByOpenBLAS ? "" : "; OpenBLAS picked \(choice.pickedByOpenBLAS)"
        return "\(config) (core: \(choice.inUse)\(replaced))"
    }
}
