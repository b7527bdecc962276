import ArgumentParser

@main
struct Topiary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topiary",
        abstract: "Iterative neural-network pruning with pruning-aware learning-rate schedules.",
        subcommands: [Train.self, Run.self, Plan.self, Status.self, SlurmCommand.self, ReportCommand.self, Diagnose.self,
                      Schedule.self, Linreg.self, Models.self, Bench.self, Export.self, Eval.self, Crosscheck.self])
}

/// A user-facing failure: printed as one line on stderr, exit status 1 (never a backtrace).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
