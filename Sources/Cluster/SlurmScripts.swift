import Experiments
import Foundation

/// What `topiary slurm` puts into its batch scripts.
public struct SlurmOptions: Sendable, Equatable {
    public var partition: String?
    public var time: String?
    public var cpusPerTask = 1
    public var mem: String?
    public var gres: String?
    /// Array tasks running at once (`%K`); nil: as many as Slurm allows.
    public var maxParallel: Int?
    /// Seconds before the time limit at which Slurm sends USR1 to the batch shell.
    public var signalSeconds = 120
    /// Further `#SBATCH` lines, verbatim (`--account=x`, `--qos=y`).
    public var extra: [String] = []

    public init() {}

    /// One line for the first impossible value, or nil.
    public func problem() -> String? {
        if cpusPerTask < 1 { return "--cpus-per-task must be positive, got \(cpusPerTask)" }
        if let k = maxParallel, k < 1 { return "--max-parallel must be positive, got \(k)" }
        if signalSeconds < 1 { return "--signal-seconds must be positive, got \(signalSeconds)" }
        if let t = time {
            guard let s = Self.seconds(t) else { return "--time must be HH:MM:SS or D-HH:MM:SS, got '\(t)'" }
            if s <= signalSeconds { return "--time \(t) leaves no time before the USR1 signal \(signalSeconds) s before the end (--signal-seconds)" }
        }
        for a in extra where !a.hasPrefix("-") || a.contains("\n") { return "--sbatch-arg must be one sbatch option like --account=x, got '\(a)'" }
        for v in [partition, mem, gres].compactMap({ $0 }) where v.isEmpty || v.contains(where: { $0.isWhitespace }) {
            return "slurm options must not be empty or contain spaces, got '\(v)'"
        }
        return nil
    }

    /// Seconds of `HH:MM:SS` or `D-HH:MM:SS`.
    static func seconds(_ t: String) -> Int? {
        var days = 0
        var rest = Substring(t)
        if let dash = t.firstIndex(of: "-") {
            guard let d = Int(t[..<dash]), d >= 0 else { return nil }
            days = d
            rest = t[t.index(after: dash)...]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let h = parts[0], let m = parts[1], let s = parts[2], h >= 0, (0..<60).contains(m), (0..<60).contains(s)
        else { return nil }
        return ((days * 24 + h) * 60 + m) * 60 + s
    }
}

/// The two batch scripts of a study: `units.sbatch`, a job array with one task per unit to
/// run (task id = unit index), and `report.sbatch`, submitted with an `afterany` dependency on
/// the array, which renders the report and prints the status once every task has ended.
public enum SlurmScripts {
    /// "0,2,5-7" for [0, 2, 5, 6, 7].
    public static func arrayRange(_ indices: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let xs = indices.sorted()
        while i < xs.count {
            var j = i
            while j + 1 < xs.count, xs[j + 1] == xs[j] + 1 { j += 1 }
            parts.append(i == j ? "\(xs[i])" : "\(xs[i])-\(xs[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The exit status of a unit stopped by SIGTERM / SIGUSR1 after writing its checkpoint
    /// (EX_TEMPFAIL): the array script requeues the task.
    public static let stoppedStatus: Int32 = 75

    /// The array script. `topiary` and `spec` are absolute paths readable on the compute nodes.
    public static func units(name: String, units: [Int], directory: String, topiary: String, spec: String,
                             dataDir: String?, options o: SlurmOptions, subcommand: String = "run") -> String {
        let slurm = directory + "/slurm"
        var head = [
            "--job-name=topiary-\(name)",
            "--array=\(arrayRange(units))" + (o.maxParallel.map { "%\($0)" } ?? ""),
            "--output=\(slurm)/unit-%a.out",
            "--open-mode=append",
            "--cpus-per-task=\(o.cpusPerTask)",
            "--signal=B:USR1@\(o.signalSeconds)",
            "--requeue",
        ]
        if let p = o.partition { head.append("--partition=\(p)") }
        if let t = o.time { head.append("--time=\(t)") }
        if let m = o.mem { head.append("--mem=\(m)") }
        if let g = o.gres { head.append("--gres=\(g)") }
        head += o.extra
        let data = dataDir.map { " --data-dir \(quote($0))" } ?? ""
        return """
            #!/bin/bash
            \(head.map { "#SBATCH \($0)" }.joined(separator: "\n"))
            # Written by topiary slurm: one array task per unit (task id = unit index, see topiary plan).
            # Near the time limit Slurm sends USR1 to this shell: the unit is sent TERM, finishes its
            # iteration, writes a mid-cycle checkpoint and exits; the task is requeued and resumes
            # there (--resume). A unit signalled directly (preemption) exits 75 and is requeued too.
            set -u
            echo "unit $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname) at $(date -u +%FT%TZ)"
            \(quote(topiary)) \(subcommand) \(quote(spec)) --out \(quote(directory)) --unit env --resume --child \\
                --threads "${SLURM_CPUS_PER_TASK:-\(o.cpusPerTask)}"\(data) &
            unit=$!
            requeue() {
                echo "USR1: the time limit is near; stopping unit $SLURM_ARRAY_TASK_ID and requeueing it"
                kill -TERM "$unit" 2>/dev/null
                wait "$unit"
                scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
                exit 0
            }
            trap requeue USR1
            wait "$unit"
            status=$?
            # wait returns early (above 128) when the trap fires; the trap then exits.
            while kill -0 "$unit" 2>/dev/null; do wait "$unit"; status=$?; done
            if [ "$status" -eq \(stoppedStatus) ]; then
                echo "unit $SLURM_ARRAY_TASK_ID stopped with a checkpoint; requeueing it"
                scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
                exit 0
            fi
            exit $status

            """
    }

    /// The report script, run after the array (its dependency is given at submission).
    public static func report(name: String, directory: String, topiary: String, options o: SlurmOptions) -> String {
        var head = ["--job-name=topiary-\(name)-report", "--output=\(directory)/slurm/report.out", "--cpus-per-task=1"]
        if let p = o.partition { head.append("--partition=\(p)") }
        head += o.extra
        return """
            #!/bin/bash
            \(head.map { "#SBATCH \($0)" }.joined(separator: "\n"))
            # Written by topiary slurm: renders the report once every array task has ended (afterany).
            set -u
            \(quote(topiary)) report \(quote(directory))
            \(quote(topiary)) status \(quote(directory))

            """
    }
}

/// Job ids `topiary slurm` submitted, kept in `DIR/slurm/jobs.json` so a second call can tell
/// whether the previous array is still queued.
public struct SlurmJobs: Codable, Sendable {
    public var array: String?
    public var report: String?
    public var units: [Int]

    public init(array: String?, report: String?, units: [Int]) {
        self.array = array
        self.report = report
        self.units = units
    }

    public static func url(_ directory: String) -> URL { URL(fileURLWithPath: directory + "/slurm/jobs.json") }

    public static func load(_ directory: String) -> SlurmJobs? {
        guard let d = FileManager.default.contents(atPath: url(directory).path) else { return nil }
        return try? JSONDecoder().decode(SlurmJobs.self, from: d)
    }
}

/// Runs Slurm's commands.
public enum Slurm {
    /// Runs `tool args`; returns its status and standard output; throws a one-line error when
    /// the tool cannot be started (not installed).
    public static func call(_ tool: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw RunError.io("cannot run \(tool): \(error.localizedDescription)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 127 { throw RunError.io("\(tool) not found: is Slurm's client installed and on PATH?") }
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Submits `script` with `sbatch --parsable` (and `extra` options); returns the job id.
    public static func submit(_ script: String, extra: [String] = []) throws -> String {
        let r = try call("sbatch", ["--parsable"] + extra + [script])
        let id = r.out.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard r.status == 0, !id.isEmpty else {
            let why = r.err.split(separator: "\n").first.map(String.init) ?? "exit status \(r.status)"
            throw RunError.io("sbatch \(script) failed: \(why)")
        }
        return id
    }

    /// Tasks of `job` still in the queue (pending or running); 0 when it has left it.
    public static func queued(_ job: String) -> Int {
        guard let r = try? call("squeue", ["-h", "-r", "-j", job, "-o", "%i"]), r.status == 0 else { return 0 }
        return r.out.split(separator: "\n").count
    }
}
