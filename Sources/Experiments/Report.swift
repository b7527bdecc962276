import Foundation

/// `topiary report`: renders a run directory's files from its records alone, so a
/// report can be redrawn at any time, also while runs are still going.
public enum Report {
    /// The files `render` writes into the run directory.
    public static let files = ["report.md", "results.csv", "accuracy.svg", "peak_lr.svg"]

    /// Reads every record of `store`, writes report.md, results.csv, accuracy.svg and
    /// peak_lr.svg atomically (a reader sees the old or the new file, never half), and
    /// returns the accuracy table (for `--json`).
    @discardableResult
    public static func render(store: RunStore, spec: ExperimentSpec) throws -> ReportTable {
        let records = ReportTable.latest(try store.allRecords(spec: spec))
        let table = ReportTable(records: records, spec: spec)
        let diagnostics = try DiagnosticsReport.render(records: records, spec: spec, store: store)
        try AtomicFile.write(ReportMarkdown.render(records: records, spec: spec) + diagnostics, to: store.file("report.md"))
        try AtomicFile.write(ResultsCSV.render(records: records), to: store.file("results.csv"))
        try AtomicFile.write(ReportPlots.accuracy(records: records, spec: spec).render(), to: store.file("accuracy.svg"))
        try AtomicFile.write(ReportPlots.peakLR(records: records, spec: spec).render(), to: store.file("peak_lr.svg"))
        return table
    }

    /// As above with the spec stored in the run directory.
    @discardableResult
    public static func render(store: RunStore) throws -> ReportTable {
        try render(store: store, spec: try store.loadSpec())
    }

    /// The table as pretty JSON with sorted keys, stable for diffs and scripts.
    public static func json(_ table: ReportTable) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(table)
    }
}
