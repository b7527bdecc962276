import ArgumentParser
import Experiments
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a run directory's report from its stored records.",
        discussion: """
            Writes report.md (rows = schedules, columns = lambda, early-stop test accuracy mean ± std \
            over seeds, as the papers' Table 2), results.csv, accuracy.svg (accuracy vs lambda, log \
            axis) and peak_lr.svg (peak LR per cycle). --json prints the rows \
            [{schedule, cycle, percent_remaining, mean, std, runs}] on stdout.
            """)

    @Argument(help: "Run directory (runs/NAME-HASH).")
    var directory: String
    @Flag(help: "Print the aggregated rows as JSON.")
    var json = false

    func run() throws {
        let table = try renderReport(directory: directory)
        if json { print(String(decoding: try Report.json(table), as: UTF8.self)) }
    }
}

/// Renders every report file of `directory` and says where they are.
@discardableResult
func renderReport(directory: String) throws -> ReportTable {
    let store = RunStore(directory: directory)
    let spec = try store.loadSpec()
    let table: ReportTable
    let files: [String]
    if spec.tvpgd != nil {
        table = try TVPGDReport.render(store: store, spec: spec, records: try TVPGDRunner(spec: spec, directory: directory).allRecords())
        files = TVPGDReport.files
    } else {
        table = try Report.render(store: store, spec: spec)
        files = Report.files
    }
    log("report: \(store.file("report.md").path) (also \(files.filter { $0 != "report.md" }.joined(separator: ", ")))")
    return table
}
