import CKernels
import Dispatch

/// Raw pointers cross into `concurrentPerform`'s `@Sendable` closure through this box.
public struct SendablePointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

public enum Parallel {
    /// Worker count for our own loops (set from the CLI's --threads; 1 = serial); inside
    /// `withThreads`, that scope's count.
    public static var threads: Int {
        get { scopedThreads ?? configuredThreads }
        set { configuredThreads = newValue }
    }
    nonisolated(unsafe) private static var configuredThreads = 1
    @TaskLocal private static var scopedThreads: Int?

    /// Runs `body` with `threads` = `n` on this thread or task only, so that code running side
    /// by side (tests in one process) keeps its own count: results may depend on the count.
    /// Work handed to worker threads sees the process-wide count.
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        try $scopedThreads.withValue(n, operation: body)
    }

    /// Below this many elements a loop runs serially: a dispatch costs more than it saves.
    public static let minimumWork = 1 << 16

    /// Runs `body(worker, task)` for every task below `count` on up to `workers` workers
    /// (`worker` < workers, for per-worker scratch), each taking the next task when it comes
    /// free, so a worker slowed by other load takes fewer. Which worker runs a task depends on
    /// timing: tasks must be independent of each other and of the worker that runs them.
    public static func tasks(_ count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ task: Int) -> Void) {
        let level = tk_isa_thread_override()
        // No more workers than processors: a pool thread spins between regions, and one more
        // than the cores would take a core from the threads doing the work.
        let workers = Swift.max(1, Swift.min(workers, count, WorkerPool.processors))
        if WorkerPool.run(workers: workers, tasks: count, level: level, body) { return }
        // The pool is busy (another thread's region, or a call from inside a task): tasks in
        // turn on Dispatch's threads.
        VectorISA.concurrentPerform(iterations: workers) { w in
            for t in Swift.stride(from: w, to: count, by: workers) { body(w, t) }
        }
    }

    /// Runs `body(start, end)` over `0..<n` in contiguous chunks, in parallel when `n` is large.
    @inlinable
    public static func forChunks(_ n: Int, minimum: Int = minimumWork, _ body: @Sendable (Int, Int) -> Void) {
        let workers = Swift.min(threads, n / Swift.max(minimum, 1))
        if workers <= 1 { body(0, n); return }
        let chunk = (n + workers - 1) / workers
        VectorISA.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk
            let hi = Swift.min(n, lo + chunk)
            if lo < hi { body(lo, hi) }
        }
    }
}
