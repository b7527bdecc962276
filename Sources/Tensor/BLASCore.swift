import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS (DYNAMIC_ARCH) picks its kernel set from the CPU's model number when it loads, so
/// a CPU newer than the library gets a fallback: OpenBLAS 0.3.21 runs its SSE3 "Prescott"
/// kernels on an Intel Xeon of family 6 model 207 (Emerald Rapids, AVX-512), and every GEMM is
/// 3-4x slower there (ViT-tiny step 1.6 s against 0.47 s). Before the first GEMM, Topiary asks
/// OpenBLAS again with OPENBLAS_CORETYPE set to the kernel set of the CPU's vector width, the
/// same variable a user would set by hand. A user's own OPENBLAS_CORETYPE is never overridden.
public enum BLASCore {
    /// The kernel sets Topiary may ask for, by vector width; any of them runs on every CPU
    /// of that width (OpenBLAS's Cooperlake and Sapphire Rapids sets share SkylakeX's SGEMM).
    static func replacement(for width: VectorISA) -> String? {
        switch width {
        case .avx512: "SkylakeX"
        case .avx2: "Haswell"
        case .portable: nil
        }
    }

    /// The vector width an OpenBLAS core name's kernels use (names as `openblas_get_corename`
    /// gives them, any case); older or unknown cores count as portable.
    static func width(ofCore name: String) -> VectorISA {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": .avx512
        case "haswell", "zen", "excavator": .avx2
        default: .portable
        }
    }

    /// The core to ask for instead of `picked` on a CPU whose widest level is `cpu`, or nil
    /// when OpenBLAS's own choice already uses that width.
    static func override(picked: String, cpu: VectorISA) -> String? {
        let order = VectorISA.allCases
        guard order.firstIndex(of: width(ofCore: picked))! < order.firstIndex(of: cpu)! else { return nil }
        return replacement(for: cpu)
    }

    /// What happened at start-up: the core OpenBLAS picked by itself, and the one in use.
    public struct Choice: Sendable, Equatable {
        public var pickedByOpenBLAS: String
        public var inUse: String
    }

    /// Applied once, before the first BLAS call (BLAS.gemm reads it). A program that also calls
    /// OpenBLAS itself, from other threads, should read it once before those threads start: the
    /// re-pick must not run while OpenBLAS is computing.
    public static let choice: Choice = {
        let picked = corename()
        let widest = VectorISA.allCases.last(where: \.isSupported) ?? .portable
        guard getenv("OPENBLAS_CORETYPE") == nil, let wanted = override(picked: picked, cpu: widest),
              let initSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init"),
              let quitSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit")
        else { return Choice(pickedByOpenBLAS: picked, inUse: picked) }
        typealias Hook = @convention(c) () -> Void
        // OpenBLAS's own start-up path: forget the kernel table, then choose it again, now
        // from OPENBLAS_CORETYPE. Nothing runs in OpenBLAS yet (no GEMM has been called).
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quitSym, to: Hook.self)()
        unsafeBitCast(initSym, to: Hook.self)()
        unsetenv("OPENBLAS_CORETYPE")
        return Choice(pickedByOpenBLAS: picked, inUse: corename())
    }()

    static func corename() -> String { text(openblas_get_corename()) ?? "unknown" }

    /// One of OpenBLAS's strings, without the trailing blanks it pads some with.
    static func text(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return nil }
        var s = String(cString: p)
        while s.last == " " { s.removeLast() }
        return s
    }
}
