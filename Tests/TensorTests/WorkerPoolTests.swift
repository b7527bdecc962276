import Dispatch
import Foundation
import Testing
@testable import Tensor

/// Topiary's worker pool: every task of a region runs exactly once on a worker below the
/// region's count, regions follow each other without a lost wake-up, and a busy pool (a call
/// from inside a task, or callers on other threads) falls back without losing tasks.
@Suite("Worker pool")
struct WorkerPoolTests {
    /// Per task: how often it ran and on which worker (each task writes its own slots).
    final class Record: @unchecked Sendable {
        let runs: UnsafeMutablePointer<Int>, workers: UnsafeMutablePointer<Int>
        let count: Int
        init(_ count: Int) {
            self.count = count
            runs = .allocate(capacity: count)
            runs.initialize(repeating: 0, count: count)
            workers = .allocate(capacity: count)
            workers.initialize(repeating: -1, count: count)
        }
        deinit { runs.deallocate(); workers.deallocate() }
        func note(_ worker: Int, _ task: Int) { runs[task] += 1; workers[task] = worker }
        var ranOnce: Bool { (0..<count).allSatisfy { runs[$0] == 1 } }
        func workersBelow(_ n: Int) -> Bool { (0..<count).allSatisfy { workers[$0] >= 0 && workers[$0] < n } }
    }

    @Test func everyTaskRunsOnceOnAWorkerBelowTheCount() {
        for (workers, tasks) in [(1, 5), (2, 1), (2, 2), (2, 64), (3, 7), (3, 100), (4, 1000)] {
            let record = Record(tasks)
            if WorkerPool.run(workers: workers, tasks: tasks, level: -1, { w, t in record.note(w, t) }) {
                #expect(record.ranOnce && record.workersBelow(workers), "\(workers) workers, \(tasks) tasks")
            } else {
                // Busy (another test's region): nothing ran.
                #expect((0..<tasks).allSatisfy { record.runs[$0] == 0 })
            }
            let again = Record(tasks)
            Parallel.tasks(tasks, workers: workers) { w, t in again.note(w, t) }
            #expect(again.ranOnce && again.workersBelow(workers), "Parallel.tasks, \(workers) workers, \(tasks) tasks")
        }
    }

    @Test(.timeLimit(.minutes(1))) func manyShortRegionsInARowAllComplete() {
        for i in 0..<3000 {
            let tasks = 1 + i % 9, record = Record(tasks)
            Parallel.tasks(tasks, workers: 2 + i % 3) { w, t in record.note(w, t) }
            #expect(record.ranOnce, "region \(i)")
            if i % 500 == 0 { Thread.sleep(forTimeInterval: 0.2) }  // past the spin: the threads sleep and must wake
        }
    }

    @Test func aRegionInsideATaskFallsBackAndRunsEveryTask() {
        let outer = Record(4), inner = (0..<4).map { _ in Record(16) }
        Parallel.tasks(4, workers: 2) { w, t in
            outer.note(w, t)
            #expect(!WorkerPool.run(workers: 2, tasks: 3, level: -1) { _, _ in Issue.record("ran inside a task") })
            Parallel.tasks(16, workers: 2) { w2, t2 in inner[t].note(w2, t2) }
        }
        #expect(outer.ranOnce && inner.allSatisfy(\.ranOnce))
    }

    @Test func callersOnSeveralThreadsEachGetTheirTasksRun() {
        let records = (0..<4).map { _ in (0..<200).map { _ in Record(10) } }
        DispatchQueue.concurrentPerform(iterations: 4) { c in
            for r in records[c] { Parallel.tasks(10, workers: 2) { w, t in r.note(w, t) } }
        }
        #expect(records.allSatisfy { $0.allSatisfy(\.ranOnce) })
    }
}
