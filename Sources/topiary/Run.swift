import ArgumentParser
import Cluster
import Experiments
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment spec: every (schedule, seed), dense training then the pruning cycles.",
        discussion: """
            Results go to runs/NAME-HASH (the hash of the resolved spec) unless --out is given: \
            records/SCHEDULE--seedN.jsonl (one JSON line per cycle), checkpoints/ (one per run, \
            after every cycle), then report.md, results.csv and SVG plots. Finished runs are never \
            recomputed; an interrupted run continues with --resume and ends with exactly the numbers \
            an uninterrupted run gives. On SIGTERM or SIGUSR1 a unit finishes its current iteration, \
            writes a mid-cycle checkpoint and exits with status 75; --resume continues from it.
            """)

    @OptionGroup var input: SpecOptions
    @Option(help: "Run directory (default: runs/NAME-HASH).")
    var out: String?
    @Flag(help: "Continue interrupted runs from their checkpoint (the last finished cycle, or mid-cycle after SIGTERM/SIGUSR1).")
    var resume = false
    @Option(name: [.customLong("unit"), .customLong("units")],
            help: "Run only these units (topiary plan lists them): 3, 0,3,5-7, or env (SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX).")
    var unit: String?
    @Option(help: "Run N units at once, as child processes that share the threads.")
    var jobs: Int?
    @Flag(help: .hidden) var child = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try execute(forceDiagnostics: false)
    }

    /// Loads the spec, runs what is missing and renders the report.
    func execute(forceDiagnostics: Bool) throws {
        var experiment = try input.load()
        if forceDiagnostics { experiment.diagnostics = true }
        try compute.apply()
        let dir = out ?? RunStore.defaultDirectory(for: experiment)
        let all = try experiment.units()
        let only = try unit.map { Set(try UnitSelection.parse($0, count: all.count)) }
        if let jobs {
            try runJobs(jobs, experiment: experiment, directory: dir, units: all.filter { only?.contains($0.index) ?? true },
                        subcommand: forceDiagnostics ? "diagnose" : "run")
            try finish(directory: dir)
            return
        }
        let live = isatty(2) != 0 && !child
        let tag = child ? "[unit \(only.map { $0.sorted().map(String.init).joined(separator: ",") } ?? "all")] " : ""
        let progress: (RunProgress) -> Void = { p in
            let head = "\(tag)[\(p.run)/\(p.runs)] \(p.schedule) seed \(p.seed)"
            let left = p.secondsLeft.map { "  left \(duration($0))" } ?? ""
            if let message = p.message {
                log((live ? "\r\u{1B}[K" : "") + "\(head)  \(message)\(left)")
            } else if live {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(head)  cycle \(p.cycle)/\(p.cycles)  iteration \(p.iteration)/\(p.iterations)\(left)".utf8))
            }
        }
        StopSignals.install { log(tag + $0) }
        let claims = UnitClaims(directory: dir)
        claims.log = { log(tag + $0) }
        let selected = only.map { " (units \($0.sorted().map(String.init).joined(separator: ",")))" } ?? ""
        if let tv = experiment.tvpgd {
            log("\(tag)experiment \(experiment.name): TV-PGD, \(tv.methods.count) methods x \(tv.targets.count) targets x \(experiment.seeds.count) seeds\(selected) -> \(dir)")
            let runner = try TVPGDRunner(spec: experiment, directory: dir)
            runner.progress = progress
            runner.log = { log(tag + $0) }
            runner.shouldStop = { StopSignals.requested }
            try stoppable { try runner.run(only: only, gate: claims.gate) }
        } else {
            log("\(tag)experiment \(experiment.name): \(experiment.schedules.count) schedules x \(experiment.seeds.count) seeds, \(experiment.pruning.cycles) pruning cycles\(selected) -> \(dir)")
            let runner = Runner(spec: experiment, directory: dir)
            runner.progress = progress
            runner.log = { log(tag + $0) }
            runner.shouldStop = { StopSignals.requested }
            try stoppable { try runner.run(resume: resume, only: only, gate: claims.gate) }
        }
        if !child { try finish(directory: dir) }
    }

    /// Runs `body`; a unit stopped by a signal is one line and `StopSignals.exitStatus`.
    private func stoppable(_ body: () throws -> Void) throws {
        do { try body() } catch RunError.stopped(let message) {
            log(message)
            throw ExitCode(StopSignals.exitStatus)
        }
    }

    /// Renders the report once every unit has finished; otherwise says what is left.
    func finish(directory dir: String) throws {
        let status = try StudyStatus(directory: dir)
        if status.finished == status.units.count {
            try renderReport(directory: dir)
        } else {
            log("\(status.finished) of \(status.units.count) units finished in \(dir); follow with topiary status \(dir), topiary report \(dir) renders what is there")
        }
    }
}

struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment spec with SPEC §7's diagnostics recorded every cycle (as diagnostics: true).",
        discussion: """
            Per cycle: the weight-gradient distribution over the unpruned weights and over all prunable \
            weights (Sturges histogram, std, tail mass beyond the dense network's 95th/99th percentile \
            |g|), hidden-representation distributions and EAA per hidden layer, EWG over the cycle's last \
            epoch and the weight-update (LR x gradient) distribution. Stored with the cycle records; \
            report.md gets a table per schedule and SVG plots in the papers' Figure 1 layout. \
            The spec with diagnostics on has its own hash, hence its own run directory.
            """)

    @OptionGroup var options: Run

    func run() throws { try options.execute(forceDiagnostics: true) }
}
