import Foundation

/// The TV-PGD report, rendered from stored records: the cyclical-pruning paper's Table 2
/// layout (final test accuracy per method and target sparsity, at equal total budget) and
/// Table 5 layout (per cycle: accuracy and mask distance to cycle 1, per method).
public enum TVPGDReport {
    public static let files = ["report.md", "results.csv"]

    /// Writes report.md and results.csv into the run directory and returns the Table 2 rows
    /// (`schedule` = method, `cycle` = last cycle, `percent_remaining` = 100 (1 - target)).
    @discardableResult
    public static func render(store: RunStore, spec: ExperimentSpec, records: [TVPGDRecord]) throws -> ReportTable {
        let rows = table(records: records, spec: spec)
        try AtomicFile.write(markdown(records: records, spec: spec, rows: rows), to: store.file("report.md"))
        try AtomicFile.write(csv(records), to: store.file("results.csv"))
        return rows
    }

    /// Mean ± sample std over seeds of the final test accuracy at the end of each run.
    static func table(records: [TVPGDRecord], spec: ExperimentSpec) -> ReportTable {
        guard let tv = spec.tvpgd else { return ReportTable(rows: []) }
        var rows: [ReportRow] = []
        for m in tv.methods {
            for target in tv.targets {
                let last = finals(records, method: m.name, target: target)
                guard !last.isEmpty else { continue }
                let acc = last.map(\.finalTestAccuracy)
                rows.append(ReportRow(schedule: m.name, cycle: last[0].cycle, percentRemaining: 100 * (1 - target),
                                      mean: ReportTable.mean(acc), std: ReportTable.sampleStandardDeviation(acc), runs: acc.count))
            }
        }
        return ReportTable(rows: rows)
    }

    /// The last cycle's record of each seed's run.
    static func finals(_ records: [TVPGDRecord], method: String, target: Double) -> [TVPGDRecord] {
        let runs = Dictionary(grouping: records.filter { $0.method == method && $0.target == target }, by: \.seed)
        return runs.keys.sorted().compactMap { runs[$0]!.max { $0.cycle < $1.cycle } }
    }

    static func cell(_ xs: [Double], percent: Bool = true) -> String {
        guard !xs.isEmpty else { return "–" }
        let scale = percent ? 100.0 : 1.0
        let m = ReportTable.mean(xs) * scale, s = ReportTable.sampleStandardDeviation(xs) * scale
        return percent ? String(format: "%.2f ± %.2f", m, s) : String(format: "%.3f ± %.3f", m, s)
    }

    static func markdown(records: [TVPGDRecord], spec: ExperimentSpec, rows: ReportTable) -> String {
        guard let tv = spec.tvpgd else { return "" }
        var out = "# \(spec.name)\n\n"
        out += "TV-PGD (SPEC §6) with model \(spec.model) on \(spec.data.dataset) (split \(spec.data.split)); "
        out += "\(tv.scope) magnitude projection every dt = \(tv.dt) iterations; total budget T = \(tv.iterations) "
        out += "iterations per method after \(tv.denseIterations) dense iterations; LR \(tv.lr), restarted every cycle and "
        out += "divided by 10 after \(Int(tv.lrDrop * 100))% of it; batch \(spec.training.batchSize); "
        if !spec.pruning.exclude.isEmpty { out += "left dense: \(spec.pruning.exclude.joined(separator: ", ")); " }
        out += "seeds \(spec.seeds.map(String.init).joined(separator: ", ")).\n\n"
        out += "## Final test accuracy (%) by target sparsity\n\nMean ± sample std over seeds, at the end of the budget.\n\n"
        out += "| method | " + tv.targets.map { String(format: "%g%%", 100 * $0) }.joined(separator: " | ") + " |\n"
        out += "|:--|" + String(repeating: "--:|", count: tv.targets.count) + "\n"
        for m in tv.methods {
            out += "| \(m.name) (\(m.kind)) | "
            out += tv.targets.map { t in cell(finals(records, method: m.name, target: t).map(\.finalTestAccuracy)) }.joined(separator: " | ")
            out += " |\n"
        }
        for target in tv.targets {
            let cyc = tv.methods.filter { $0.kind == "cyclical" }
            guard !cyc.isEmpty else { break }
            let k = cyc.map(\.cycles).max() ?? 1
            out += String(format: "\n## Per cycle at target sparsity %g%%\n\n", 100 * target)
            out += "Test accuracy at the end of each cycle (%), mask distance (Jaccard distance of the kept weights to those "
            out += "after cycle 1) and weights recovered (kept at the end of this cycle, pruned at any earlier mask update).\n\n"
            out += "| method | row | " + (1...k).map { "cycle \($0)" }.joined(separator: " | ") + " |\n"
            out += "|:--|:--|" + String(repeating: "--:|", count: k) + "\n"
            for m in cyc {
                let rs = records.filter { $0.method == m.name && $0.target == target }
                func row(_ name: String, _ f: ([TVPGDRecord]) -> String) -> String {
                    "| \(m.name) | \(name) | " + (1...k).map { c in f(rs.filter { $0.cycle == c }) }.joined(separator: " | ") + " |\n"
                }
                out += row("accuracy") { cell($0.map(\.finalTestAccuracy)) }
                out += row("mask distance") { cell($0.map(\.maskDistance), percent: false) }
                out += row("recovered") { $0.isEmpty ? "–" : String(format: "%.0f", ReportTable.mean($0.map { Double($0.weightsRecovered) })) }
            }
        }
        let expected = spec.seeds.count * tv.methods.count * tv.targets.count
        let finished = Set(records.map { "\($0.method)|\($0.target)|\($0.seed)" }).count
        if finished < expected {
            out += "\n_\(expected - finished) of \(expected) runs have no records yet:_\n\n"
            let done = Set(records.map { "\($0.method)|\($0.target)|\($0.seed)" })
            for u in (try? spec.units()) ?? [] where !done.contains("\(u.schedule)|\(u.target ?? 0)|\(u.seed)") {
                out += "- unit \(u.index): method \(u.schedule), target " + String(format: "%g", u.target ?? 0) + ", seed \(u.seed)\n"
            }
        }
        out += RunEnvironment.reportSection(records.compactMap(\.environment))
        return out
    }

    static func csv(_ records: [TVPGDRecord]) -> String {
        var out = "method,kind,target,seed,cycle,cycles,measured_sparsity,best_val_accuracy,early_stop_test_accuracy,final_test_accuracy,weights_recovered,mask_distance,seconds\r\n"
        for r in records {
            let fields: [String] = [ResultsCSV.field(r.method), r.kind, "\(r.target)", "\(r.seed)", "\(r.cycle)", "\(r.cycles)",
                                    "\(r.measuredSparsity)", "\(r.bestValAccuracy)", "\(r.earlyStopTestAccuracy)",
                                    "\(r.finalTestAccuracy)", "\(r.weightsRecovered)", "\(r.maskDistance)", "\(r.seconds)"]
            out += fields.joined(separator: ",") + "\r\n"
        }
        return out
    }
}
