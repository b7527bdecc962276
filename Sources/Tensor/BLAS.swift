import CBLAS
import CDNNL
import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Matrix products, row-major throughout, through OpenBLAS's SGEMM or oneDNN's (`Backend`).
public enum BLAS {
    /// Which library computes `gemm`. The two agree to float rounding but not bit for bit, so
    /// the backend is part of where a result was computed (`RunEnvironment.gemm`).
    public enum Backend: String, Sendable, CaseIterable {
        /// OpenBLAS's `cblas_sgemm`, the default except on AMD processors.
        case openBLAS = "openblas"
        /// oneDNN's `dnnl_sgemm`: it picks its kernels from the CPU's features rather than its
        /// model number. On whole training steps (`Benchmarks/gemm_backends.sh`, oneDNN /
        /// OpenBLAS) it was faster on the AMD EPYC (Zen 4, OpenBLAS's Cooperlake kernels; 5
        /// rounds: MLP 0.81, ResNet-20 0.95, VGG-16 0.95, ViT 0.93, DenseNet-40 0.97,
        /// MobileNetV2 0.98), so it is the default there; on the Intel Xeon (family 6 model
        /// 207, SkylakeX kernels) it came out even within a shared machine's noise (0.93-1.02
        /// in one run, 0.96-1.33 in another), so OpenBLAS stays the default elsewhere.
        case oneDNN = "onednn"

        /// The default on this CPU (see the cases).
        public static var measuredDefault: Backend { tk_cpu_is_amd() != 0 ? .oneDNN : .openBLAS }
    }

    /// The backend in use: `TOPIARY_GEMM` (`openblas` or `onednn`) at start-up, else
    /// `Backend.measuredDefault`. Set it before any model runs, not while GEMMs are running.
    nonisolated(unsafe) public static var backend: Backend =
        getenv("TOPIARY_GEMM").flatMap { Backend(rawValue: String(cString: $0)) } ?? .measuredDefault {
        didSet { applyOpenBLASThreads() }
    }

    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, with op = transpose when the flag is set.
    /// `lda`, `ldb`, `ldc` default to the packed row strides.
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        _ a: UnsafePointer<Float>, lda: Int? = nil,
        _ b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        _ c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        gemm(on: backend, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
             a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
    }

    /// `gemm` on a given backend (tests compare them while other tests run, and set the size
    /// below which oneDNN's products go to OpenBLAS and the thread count).
    static func gemm(
        on backend: Backend, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        _ a: UnsafePointer<Float>, lda: Int?, _ b: UnsafePointer<Float>, ldb: Int?,
        beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int?,
        minimumProduct: Int = oneDNNMinimumProduct, threads: Int? = nil
    ) {
        let la = lda ?? (transA ? m : k)
        let lb = ldb ?? (transB ? k : n)
        let lc = ldc ?? n
        // dnnl_sgemm leaves C untouched for k == 0 (C = beta C is due): OpenBLAS does that one,
        // and the small products (`oneDNNMinimumProduct`).
        if backend == .oneDNN, m > 0, n > 0, k > 0, m * n * k >= minimumProduct {
            oneDNNGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: la, b, ldb: lb,
                       beta: beta, c, ldc: lc, threads: threads ?? requestedThreads)
            return
        }
        withExtendedLifetime(BLASCore.choice) {}  // the kernel set is settled before the first call
        openBLASThreadsApplied
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
    }

    /// `dnnl_sgemm` on `threads` threads: the longer side of C split into one block per thread,
    /// each a single-threaded `dnnl_sgemm` on our workers. oneDNN's own OpenMP team would do the
    /// same work, but its threads spin after each product and took the cores from the workers
    /// of the layers that ran next: ViT-tiny's attention 61 → ~100 ms a step (AMD EPYC, batch
    /// 128; 62 ms with `OMP_WAIT_POLICY=passive`, which libgomp reads only at load time).
    /// Each element of C is still one call's full sum over k: the same bits for a given thread count.
    private static func oneDNNGEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                   _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                   beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        @Sendable func run(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
            OpenMP.useThreads(1)
            let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, Int64(m), Int64(n), Int64(k), alpha,
                                    a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))  // 84 "T", 78 "N"
            precondition(status == dnnl_success, "dnnl_sgemm failed (status \(status.rawValue)) for \(m)x\(n)x\(k)")
        }
        let byRows = m >= n, side = byRows ? m : n
        let parts = Swift.min(threads, side / 16)
        guard parts > 1 else { return run(m, n, a, b, c) }
        let block = (side + parts - 1) / parts
        let ap = SendablePointer(UnsafeMutablePointer(mutating: a)), bp = SendablePointer(UnsafeMutablePointer(mutating: b))
        let cp = SendablePointer(c)
        VectorISA.concurrentPerform(iterations: parts) { w in
            let lo = w * block, len = Swift.min(side, lo + block) - lo
            guard len > 0 else { return }
            if byRows {
                // Rows lo..<lo+len of C take those rows of op(A): A's rows, or its columns when transposed.
                run(len, n, ap.p + (transA ? lo : lo * lda), bp.p, cp.p + lo * ldc)
            } else {
                // Columns of C take those columns of op(B): B's columns, or its rows when transposed.
                run(m, len, ap.p, bp.p + (transB ? lo * ldb : lo), cp.p + lo)
            }
        }
    }

    /// The smallest m·n·k that the oneDNN backend sends to `dnnl_sgemm`; smaller products (ViT's
    /// per-(sample, head) attention products, 65x65x32) stay on OpenBLAS, as before the backend
    /// existed. Not measured on its own: the slower attention seen on oneDNN turned out to be
    /// its spinning OpenMP team (`oneDNNGEMM`), not the size of the products.
    public static let oneDNNMinimumProduct = 1 << 20

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

    /// Threads for one GEMM: OpenBLAS's pool size, and oneDNN's team size on the thread that
    /// calls `gemm` (both libraries' own threads, separate from ours).
    public static var threads: Int {
        get { requestedThreads }
        set {
            withExtendedLifetime(BLASCore.choice) {}
            requestedThreads = Swift.max(1, newValue)
            applyOpenBLASThreads()
        }
    }

    /// OpenBLAS's pool size: `threads`, or one while oneDNN is the backend. OpenBLAS then only
    /// computes products below `oneDNNMinimumProduct`, and after each threaded one its idle
    /// pool thread spins in `sched_yield` for a while: on two cores that thread took 37% of
    /// the MLP step's CPU samples, beside our workers (perf, AMD EPYC; with one thread the
    /// step's CPU time went 3.31 -> 2.46 ms, its wall time 1.73 -> 1.62 ms, medians of 8 runs).
    /// OpenBLAS splits C between its threads, not the sums: a 1-epoch MLP trained either way
    /// saved byte-identical weights.
    private static func applyOpenBLASThreads() {
        openblas_set_num_threads(Int32(backend == .oneDNN ? 1 : requestedThreads))
    }

    /// Applies the pool size once before the first OpenBLAS product (`backend` and `threads` apply it on change).
    private static let openBLASThreadsApplied: Void = applyOpenBLASThreads()

    nonisolated(unsafe) private static var requestedThreads = Swift.max(1, Int(openblas_get_num_threads()))

    /// OpenBLAS's build string and the kernel set in use on this CPU, e.g.
    /// "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core: Haswell)", with
    /// OpenBLAS's own pick when Topiary replaced it (`BLASCore`).
    public static var libraryVersion: String {
        let choice = BLASCore.choice
        let config = BLASCore.text(openblas_get_config()) ?? "OpenBLAS (unknown build)"
        let replaced = choice.inUse == choice.pickedByOpenBLAS ? "" : "; OpenBLAS picked \(choice.pickedByOpenBLAS)"
        return "\(config) (core: \(choice.inUse)\(replaced))"
    }
}
