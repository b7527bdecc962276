#if canImport(Glibc)
import Glibc
#endif

/// The team size of OpenMP parallel regions started from the calling thread. Debian's
/// libdnnl runs on OpenMP (libgomp), whose team size is a per-thread setting, so oneDNN's
/// GEMMs and convolutions take it from whichever thread calls them. The functions are looked
/// up in the libgomp that libdnnl loaded (no link-time dependency on it); with a oneDNN built
/// on another runtime they are absent and this does nothing.
package enum OpenMP {
    /// Makes parallel regions started from this thread use `n` threads.
    package static func useThreads(_ n: Int) {
        guard let get = getMaxThreads, let set = setNumThreads else { return }
        if Int(get()) != n { set(Int32(n)) }
    }

    /// The calling thread's team size (1 without OpenMP).
    package static var threads: Int { getMaxThreads.map { Int($0()) } ?? 1 }

    private typealias SetThreads = @convention(c) (Int32) -> Void
    private typealias GetThreads = @convention(c) () -> Int32
    private static let setNumThreads: SetThreads? =
        dlsym(nil, "omp_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }
    private static let getMaxThreads: GetThreads? =
        dlsym(nil, "omp_get_max_threads").map { unsafeBitCast($0, to: GetThreads.self) }
}
