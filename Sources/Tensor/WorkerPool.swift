import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Topiary's own worker threads (CKernels' `tk_pool_run`): they spin briefly between parallel
/// regions instead of sleeping at once, and take a region's tasks one at a time as they come free.
enum WorkerPool {
    /// The processors this process may use: the most workers a region gets.
    static let processors = Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `body(worker, task)` for every task below `tasks` on up to `workers` threads (the
    /// caller is worker 0; a worker runs its tasks one after another) with kernels of `level`
    /// (`tk_isa_thread_override`). Returns false, running nothing, when the pool is busy with
    /// another region (another thread's, or this call comes from inside a task).
    static func run(workers: Int, tasks: Int, level: Int32, _ body: (Int, Int) -> Void) -> Bool {
        withoutActuallyEscaping(body) { body in
            var context = body
            return withUnsafeMutablePointer(to: &context) { context in
                tk_pool_run(workers, tasks, { context, worker, task in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(worker), Int(task))
                }, context, level) != 0
            }
        }
    }
}
