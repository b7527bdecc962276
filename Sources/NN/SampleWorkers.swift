import Dispatch
import Tensor

/// Splits a batch between workers for layers that run many small GEMMs per sample
/// (convolution chunks, attention heads).
enum SampleWorkers {
    /// Splits samples `0..<n` into one contiguous range per worker, calling `body(worker, lo, hi)`;
    /// while several run, OpenBLAS is held to one thread so each GEMM stays in its caller's thread.
    static func run(workers: Int, _ n: Int, _ body: @Sendable (Int, Int, Int) -> Void) {
        if workers == 1 { body(0, 0, n); return }
        let saved = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = saved }
        let per = (n + workers - 1) / workers
        VectorISA.concurrentPerform(iterations: workers) { w in
            let lo = w * per, hi = Swift.min(n, lo + per)
            if lo < hi { body(w, lo, hi) }
        }
    }

    /// `run` in tasks of a few samples each, which the workers take as they come free
    /// (`Parallel.tasks`), so a worker slowed by other load takes fewer; `body` may run several
    /// times per worker. Only for bodies whose samples are independent, with no sums per worker:
    /// which worker runs a sample depends on timing.
    static func runInTasks(workers: Int, _ n: Int, _ body: @Sendable (Int, Int, Int) -> Void) {
        let perTask = Swift.max(1, n / (8 * Swift.max(1, workers)))
        Parallel.tasks((n + perTask - 1) / perTask, workers: workers) { w, task in
            body(w, task * perTask, Swift.min(n, (task + 1) * perTask))
        }
    }
}
