import Cluster
import Dispatch
import Foundation

/// SIGTERM and SIGUSR1 (what Slurm sends before a time limit, `--signal=B:USR1@S` via the
/// batch script, and on preemption) ask a running unit to stop after its current iteration
/// and write a checkpoint; the process then exits with `exitStatus`, which the sbatch script
/// turns into a requeue. The handlers run on a dispatch queue, not in signal context, and
/// only set a flag that the training loop reads after every iteration.
enum StopSignals {
    /// EX_TEMPFAIL (sysexits.h): stopped on request; run again with --resume to continue.
    static let exitStatus = SlurmScripts.stoppedStatus

    private static let flag = StopFlag()
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the handlers (once); `note` is told which signal arrived, once.
    static func install(note: @escaping @Sendable (String) -> Void) {
        guard sources.isEmpty else { return }
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGUSR1, "SIGUSR1")] {
            signal(number, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if flag.set() { note("\(name): stopping after the current iteration and writing a checkpoint") }
            }
            source.resume()
            sources.append(source)
        }
    }

    static var requested: Bool { flag.isSet }
}

/// A flag set from one thread and read from another.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Sets the flag; true the first time.
    func set() -> Bool {
        lock.lock(); defer { lock.unlock() }
        defer { value = true }
        return !value
    }

    var isSet: Bool {
        lock.lock(); defer { lock.unlock() }
        return value
    }
}
