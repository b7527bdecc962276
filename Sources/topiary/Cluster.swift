import ArgumentParser
import Cluster
import Experiments
import Foundation

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a spec without training and list its units, their state and an estimated time.",
        discussion: """
            A unit is one (schedule, seed) of the spec (for method tv-pgd, one (method, target, seed)), \
            numbered as `topiary run --unit` and Slurm array tasks number them. The estimate times a few \
            training steps and one evaluation batch of the model at the spec's batch size on this \
            machine with the given --threads; --probe-steps 0 skips it.
            """)

    @OptionGroup var input: SpecOptions
    @Option(help: "Run directory whose state to show (default: runs/NAME-HASH).")
    var out: String?
    @Option(help: "Training steps to time for the estimate (0: no estimate).")
    var probeSteps = 5
    @Flag(help: "Print the plan as JSON.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        let experiment = try input.load()
        guard probeSteps >= 0 else { throw CLIError("--probe-steps must be non-negative, got \(probeSteps)") }
        try compute.apply()
        let plan = try StudyPlan(spec: experiment, directory: out ?? RunStore.defaultDirectory(for: experiment), probeSteps: probeSteps)
        if json {
            let enc = JSONEncoder()
            enc.keyEncodingStrategy = .convertToSnakeCase
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(plan), as: UTF8.self))
        } else {
            print(plan.text())
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every unit of a run directory: finished, running (where, how far), interrupted or pending.",
        discussion: """
            Running units are those whose claim (claims/UNIT.claim) is locked by a live process; they \
            write progress/UNIT.json every few seconds. The time left is estimated from the seconds \
            per iteration of the finished cycles, as one process would need it.
            """)

    @Argument(help: "Run directory (runs/NAME-HASH).")
    var directory: String
    @Flag(help: "Print the status as JSON.")
    var json = false
    @Flag(help: "Redraw every few seconds until every unit has finished.")
    var watch = false
    @Option(help: "Seconds between redraws with --watch.")
    var interval = 5.0

    func run() throws {
        guard interval > 0 else { throw CLIError("--interval must be positive, got \(interval)") }
        while true {
            let status = try StudyStatus(directory: directory)
            if json {
                let enc = JSONEncoder()
                enc.keyEncodingStrategy = .convertToSnakeCase
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(status), as: UTF8.self))
            } else {
                if watch && isatty(1) != 0 { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                print(status.text())
            }
            fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
            guard watch, status.finished < status.units.count else { return }
            Thread.sleep(forTimeInterval: interval)
        }
    }
}

/// Thread-safe queue of units for `--jobs` workers.
private final class JobQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let units: [RunUnit]
    private(set) var failures: [String] = []
    private var running: [Process] = []
    private var stopping = false

    init(_ units: [RunUnit]) { self.units = units }

    func take() -> RunUnit? {
        lock.lock(); defer { lock.unlock() }
        guard !stopping, next < units.count else { return nil }
        next += 1
        return units[next - 1]
    }

    var stopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    func started(_ p: Process) {
        lock.lock(); defer { lock.unlock() }
        running.append(p)
        if stopping { p.terminate() }
    }

    func ended(_ p: Process) {
        lock.lock(); defer { lock.unlock() }
        running.removeAll { $0 === p }
    }

    /// Passes the stop on (SIGTERM) to every running child and starts no more.
    func stop() {
        lock.lock(); defer { lock.unlock() }
        stopping = true
        for p in running { p.terminate() }
    }

    func fail(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        failures.append(line)
    }
}

extension Run {
    /// `--jobs N`: one child `topiary run --unit I --threads T` per unfinished unit, N at a
    /// time, the threads split between them. Children claim their unit as any process does, so
    /// units finished or running elsewhere are skipped.
    func runJobs(_ jobs: Int, experiment: ExperimentSpec, directory dir: String, units: [RunUnit], subcommand: String) throws {
        guard jobs > 0 else { throw CLIError("--jobs must be positive, got \(jobs)") }
        let store = RunStore(directory: dir)
        let todo = units.filter { store.storedState(of: $0, spec: experiment) != .finished }
        let threads = max(1, (compute.threads ?? ProcessInfo.processInfo.activeProcessorCount) / jobs)
        log("experiment \(experiment.name): \(todo.count) of \(units.count) units to run, \(jobs) at a time with \(threads) threads each -> \(dir)")
        guard !todo.isEmpty else { return }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let queue = JobQueue(todo)
        var common = ["--out", dir, "--threads", String(threads), "--child"]
        if resume { common.append("--resume") }
        if let dataDir = input.dataDir { common += ["--data-dir", dataDir] }
        let args = common
        let specPath = input.spec
        // SIGTERM / SIGUSR1 to this process: each child stops after its iteration with a checkpoint.
        StopSignals.install { line in
            log(line)
            queue.stop()
        }
        DispatchQueue.concurrentPerform(iterations: min(jobs, todo.count)) { _ in
            while let u = queue.take() {
                let p = Process()
                p.executableURL = exe
                p.arguments = [subcommand, specPath, "--unit", String(u.index)] + args
                do {
                    try p.run()
                    queue.started(p)
                    p.waitUntilExit()
                    queue.ended(p)
                    let stopped = queue.stopped && p.terminationStatus == StopSignals.exitStatus
                    if p.terminationStatus != 0 && !stopped {
                        queue.fail("unit \(u.index) (\(u.name)) exited with status \(p.terminationStatus)")
                    }
                } catch {
                    queue.fail("unit \(u.index) (\(u.name)) could not start: \(error)")
                }
            }
        }
        if queue.stopped && queue.failures.isEmpty {
            log("stopped: the running units wrote their checkpoints; run again with --resume to continue")
            throw ExitCode(StopSignals.exitStatus)
        }
        if !queue.failures.isEmpty {
            throw CLIError("\(queue.failures.count) of \(todo.count) units failed: \(queue.failures.joined(separator: "; "))")
        }
    }
}
