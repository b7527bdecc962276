import ArgumentParser
import Cluster
import Experiments
import Foundation

struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Write and submit a Slurm job array for a study's unfinished units, and a report job after it.",
        discussion: """
            Writes DIR/slurm/units.sbatch (one array task per unit that is neither finished nor running, \
            task id = unit index, each `topiary run SPEC --unit env --resume`; near the time limit Slurm \
            sends USR1, the task stops its unit and requeues itself) and DIR/slurm/report.sbatch (renders \
            the report once every task has ended: afterany dependency), submits both with sbatch --parsable \
            and prints the job ids. Task logs: DIR/slurm/unit-INDEX.out. Running it again submits only what \
            is still missing. The topiary binary and the spec must be readable from the compute nodes.
            """)

    @OptionGroup var input: SpecOptions
    @Option(help: "Run directory, on a file system the nodes share (default: runs/NAME-HASH).")
    var out: String?
    @Option(help: "Slurm partition.")
    var partition: String?
    @Option(help: "Time limit per task, HH:MM:SS or D-HH:MM:SS.")
    var time: String?
    @Option(help: "CPUs per task (also the unit's --threads).")
    var cpusPerTask = 1
    @Option(help: "Memory per task (sbatch --mem, e.g. 4G).")
    var mem: String?
    @Option(help: "Generic resources per task (sbatch --gres).")
    var gres: String?
    @Option(help: "Array tasks running at once (%K).")
    var maxParallel: Int?
    @Option(help: "Seconds before the time limit at which a task is told to stop and requeue.")
    var signalSeconds = 120
    @Option(help: "A further sbatch option for both scripts, e.g. --account=x (repeatable).")
    var sbatchArg: [String] = []
    @Flag(help: "Write and print the scripts without submitting them.")
    var dryRun = false

    func run() throws {
        let experiment = try input.load()
        var o = SlurmOptions()
        o.partition = partition
        o.time = time
        o.cpusPerTask = cpusPerTask
        o.mem = mem
        o.gres = gres
        o.maxParallel = maxParallel
        o.signalSeconds = signalSeconds
        o.extra = sbatchArg
        if let problem = o.problem() { throw CLIError(problem) }
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
        let dir = absolute(out ?? RunStore.defaultDirectory(for: experiment))
        let store = RunStore(directory: dir)
        try store.prepare(for: experiment)
        let slurmDir = dir + "/slurm"
        try FileManager.default.createDirectory(atPath: slurmDir, withIntermediateDirectories: true)
        // The array runs this copy, so editing the original spec later cannot change the study.
        let specCopy = slurmDir + "/spec.yaml"
        guard let text = FileManager.default.contents(atPath: input.spec) else { throw CLIError("cannot read \(input.spec)") }
        try text.write(to: URL(fileURLWithPath: specCopy))

        if !dryRun, let previous = SlurmJobs.load(dir), let array = previous.array, Slurm.queued(array) > 0 {
            log("job \(array) still has \(Slurm.queued(array)) array tasks queued or running; nothing submitted (follow with: squeue -j \(array); topiary status \(dir))")
            return
        }
        let status = try StudyStatus(directory: dir)
        let todo = status.units.filter { $0.state != .finished && $0.state != .running }.map(\.index)
        let running = status.units.filter { $0.state == .running }.count
        guard !todo.isEmpty else {
            log("nothing to submit: \(status.finished) of \(status.units.count) units finished, \(running) running elsewhere; topiary status \(dir)")
            return
        }
        let topiary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let unitsScript = SlurmScripts.units(name: experiment.name, units: todo, directory: dir, topiary: topiary, spec: specCopy,
                                             dataDir: input.dataDir.map(absolute), options: o)
        let reportScript = SlurmScripts.report(name: experiment.name, directory: dir, topiary: topiary, options: o)
        let unitsPath = slurmDir + "/units.sbatch", reportPath = slurmDir + "/report.sbatch"
        try unitsScript.write(toFile: unitsPath, atomically: true, encoding: .utf8)
        try reportScript.write(toFile: reportPath, atomically: true, encoding: .utf8)
        log("\(todo.count) of \(status.units.count) units to submit (\(SlurmScripts.arrayRange(todo)))\(running > 0 ? ", \(running) running elsewhere" : "")")
        if dryRun {
            print("# \(unitsPath)\n\(unitsScript)\n# \(reportPath)\n\(reportScript)")
            print("# to submit: sbatch --parsable \(unitsPath); sbatch --parsable --dependency=afterany:ARRAY_ID \(reportPath)")
            return
        }
        let array = try Slurm.submit(unitsPath)
        let report = try Slurm.submit(reportPath, extra: ["--dependency=afterany:\(array)"])
        let jobs = SlurmJobs(array: array, report: report, units: todo)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try enc.encode(jobs).write(to: SlurmJobs.url(dir))
        print("units \(array) report \(report)")
        log("submitted array job \(array) (\(todo.count) tasks) and report job \(report) (after it); follow with: squeue -j \(array),\(report); topiary status \(dir) --watch; logs in \(slurmDir)/unit-INDEX.out")
    }
}
