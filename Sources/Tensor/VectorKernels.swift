import CKernels
import Dispatch

/// The instruction-set level of Topiary's own kernels (CKernels), chosen at run time from
/// the CPU, so one portable binary runs AVX-512 code on AVX-512 machines and SSE code on
/// baseline x86-64. OpenBLAS and oneDNN make the same choice for themselves.
public enum VectorISA: String, CaseIterable, Sendable {
    case portable, avx2, avx512

    var c: tk_isa {
        switch self {
        case .portable: TK_ISA_PORTABLE
        case .avx2: TK_ISA_AVX2
        case .avx512: TK_ISA_AVX512
        }
    }

    /// Whether this CPU can run this level's kernels.
    public var isSupported: Bool { tk_isa_supported(c) != 0 }

    /// The levels this CPU can run, narrowest first.
    public static var supported: [VectorISA] { allCases.filter(\.isSupported) }

    /// The level in use: the widest supported one, unless the environment variable
    /// `TOPIARY_ISA` (`portable`, `avx2`, `avx512`) or `force(_:)` chose another.
    public static var active: VectorISA {
        switch tk_isa_active() {
        case TK_ISA_AVX512: .avx512
        case TK_ISA_AVX2: .avx2
        default: .portable
        }
    }

    /// Uses `isa`'s kernels on the calling thread, and on the worker threads its kernels
    /// start, from now on (for tests that compare the levels while other tests run). Returns
    /// false, changing nothing, when the CPU cannot run them.
    @discardableResult
    public static func force(_ isa: VectorISA) -> Bool { tk_isa_force(isa.c) != 0 }

    /// Runs `body` for `iterations` on worker threads, each using the calling thread's level
    /// (`force`), as `DispatchQueue.concurrentPerform` does: on Topiary's pool (`WorkerPool`),
    /// else on Dispatch's threads.
    @usableFromInline
    package static func concurrentPerform(iterations: Int, _ body: @Sendable (Int) -> Void) {
        let level = tk_isa_thread_override()
        if WorkerPool.run(workers: Swift.min(iterations, WorkerPool.processors), tasks: iterations, level: level, { _, i in body(i) }) {
            return
        }
        // The pool is busy (another thread's region, or a call from inside a task).
        DispatchQueue.concurrentPerform(iterations: iterations) { i in
            let saved = tk_isa_set_thread_override(level)
            defer { _ = tk_isa_set_thread_override(saved) }
            body(i)
        }
    }
}
