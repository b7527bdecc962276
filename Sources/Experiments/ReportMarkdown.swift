import Foundation
import Schedules

/// `report.md`: the papers' Table 2 layout (rows = schedules, columns = lambda), the
/// peak LR actually used per cycle, and the oracle's well-tuned peaks and feasible
/// intervals next to the S-Cyc peaks. Rendered only from records and the spec.
package enum ReportMarkdown {
    package static func render(records: [CycleRecord], spec: ExperimentSpec) -> String {
        let records = ReportTable.latest(records)
        let table = ReportTable(records: records, spec: spec)
        let peaks = ReportTable.aggregate(records, spec: spec) { $0.peakLR }
        let schedules = ReportTable.scheduleOrder(records: records, spec: spec)
        let cycles = Self.cycles(records: records, spec: spec)

        var md = "# \(text(spec.name))\n\n"
        md += setupLine(spec) + "\n\n"

        md += "## Early-stop test accuracy (%)\n\n"
        md += "Mean ± sample standard deviation over seeds; columns are lambda, the percent of prunable weights remaining. "
        md += "Bold: best mean in the column.\n\n"
        md += accuracyTable(table, schedules: schedules, cycles: cycles, spec: spec)
        if !spec.pruning.exclude.isEmpty {
            md += "\n" + measuredLambdaLine(records: records, cycles: cycles) + "\n"
        }

        md += "\n## Peak learning rate per cycle\n\n"
        md += "Mean over seeds of the peak LR each cycle was retrained with.\n\n"
        md += grid(schedules: schedules, cycles: cycles, spec: spec) { schedule, cycle in
            peaks.first { $0.schedule == schedule && $0.cycle == cycle }.map { ReportFormat.learningRate($0.mean) }
        }

        if records.contains(where: { $0.oracle != nil }) {
            md += "\n## Oracle: well-tuned peak and feasible interval\n\n"
            md += oracleTable(records: records, spec: spec)
        }

        md += RunEnvironment.reportSection(records.compactMap(\.environment))

        let notes = incompleteRuns(records: records, spec: spec)
        if !notes.isEmpty || table.rows.contains(where: { $0.runs < spec.seeds.count }) {
            md += "\n## Incomplete runs\n\n"
            md += "Runs with fewer than \(spec.pruning.cycles + 1) cycles (m = 0 … \(spec.pruning.cycles)). "
            md += "Cells marked † average fewer seeds than the spec lists (\(spec.seeds.count)).\n\n"
            for n in notes { md += "- \(n)\n" }
        }
        return md
    }

    /// The columns are nominal lambda over the pruned layers; with layers left dense the papers
    /// quote lambda over all prunable weights (5.72 for 5.50), measured from the masks.
    static func measuredLambdaLine(records: [CycleRecord], cycles: [Int]) -> String {
        let values = cycles.compactMap { m -> String? in
            let rs = records.filter { $0.cycle == m }
            guard !rs.isEmpty else { return nil }
            return String(format: "%.2f", rs.reduce(0) { $0 + $1.measuredPercentRemaining } / Double(rs.count))
        }
        return "Lambda over all prunable weights, the dense layers included (measured, mean over runs): "
            + values.joined(separator: ", ") + "."
    }

    /// Model, data, criterion, rate, cycles, budget and seeds: enough to tell two reports apart.
    static func setupLine(_ spec: ExperimentSpec) -> String {
        let t = spec.training, p = spec.pruning
        var parts = [
            "Model \(text(spec.model)) on \(text(spec.data.dataset)) (split \(text(spec.data.split)))",
            "\(text(p.criterion)) pruning, \(text(p.scope)) scope",
            "rate p = \(p.rate), L = \(p.cycles) cycles",
            "\(t.iterationsPerCycle) iterations per cycle (dense: \(t.denseBudget)), batch \(t.batchSize)",
            "optimizer \(text(spec.optimizer.name))",
            "seeds \(spec.seeds.map(String.init).joined(separator: ", ")) (n = \(spec.seeds.count))",
        ]
        if p.rewind != "none" { parts.insert("rewind \(text(p.rewind))", at: 3) }
        if !p.exclude.isEmpty { parts.insert("dense: \(p.exclude.map(text).joined(separator: ", "))", at: 2) }
        return parts.joined(separator: "; ") + "."
    }

    static func accuracyTable(_ table: ReportTable, schedules: [String], cycles: [Int], spec: ExperimentSpec) -> String {
        // Best per column is decided on the printed value, so two cells that read the same
        // are both bold rather than one winning on an invisible digit.
        var best: [Int: String] = [:]
        for c in cycles {
            let means = table.rows.filter { $0.cycle == c && $0.mean.isFinite }.map(\.mean)
            if let m = means.max() { best[c] = ReportFormat.percent(m) }
        }
        return grid(schedules: schedules, cycles: cycles, spec: spec) { schedule, cycle in
            guard let row = table.row(schedule: schedule, cycle: cycle) else { return nil }
            var cell = ReportFormat.meanStd(row)
            if best[cycle] == ReportFormat.percent(row.mean) { cell = "**\(cell)**" }
            if row.runs < spec.seeds.count { cell += " †" }
            return cell
        }
    }

    /// A table with one row per schedule and one column per cycle's lambda; `cell` nil prints "–".
    static func grid(schedules: [String], cycles: [Int], spec: ExperimentSpec,
                     value: (String, Int) -> String?) -> String {
        var s = "| schedule | " + cycles.map { ReportFormat.lambda(lambda(cycle: $0, spec: spec)) }.joined(separator: " | ") + " |\n"
        s += "|:--|" + String(repeating: "--:|", count: cycles.count) + "\n"
        for name in schedules {
            s += "| \(text(name)) | " + cycles.map { value(name, $0) ?? "–" }.joined(separator: " | ") + " |\n"
        }
        return s
    }

    /// One row per oracle record (cycle, then seed), with each S-Cyc schedule's peak for
    /// that cycle and whether it falls inside the feasible interval.
    static func oracleTable(records: [CycleRecord], spec: ExperimentSpec) -> String {
        let sCyc: [(String, SCycPeak)] = spec.schedules.compactMap { s in
            guard s.kind == "scyc", let e = s.epsilon, let d = s.delta else { return nil }
            return (s.name, SCycPeak(epsilon: e, delta: d, q: s.q ?? 1, beta: s.beta ?? 5, pruningRate: spec.pruning.rate))
        }
        let order = ReportTable.scheduleOrder(records: records, spec: spec)
        let rows = records.filter { $0.oracle != nil }.sorted {
            ($0.cycle, order.firstIndex(of: $0.schedule) ?? 0, $0.seed) < ($1.cycle, order.firstIndex(of: $1.schedule) ?? 0, $1.seed)
        }
        var header = ["lambda", "m", "schedule", "seed", "well-tuned peak", "feasible [low, high]"]
        header += sCyc.map { "S-Cyc peak (\(text($0.0)))" }
        var s = "| " + header.joined(separator: " | ") + " |\n"
        s += "|" + String(repeating: "--:|", count: 2) + ":--|" + String(repeating: "--:|", count: header.count - 3) + "\n"
        for r in rows {
            guard let o = r.oracle else { continue }
            var cells = [ReportFormat.lambda(r.percentRemaining), "\(r.cycle)", text(r.schedule), "\(r.seed)",
                         ReportFormat.learningRate(o.bestPeak),
                         "[\(ReportFormat.learningRate(o.feasibleLow)), \(ReportFormat.learningRate(o.feasibleHigh))]"]
            for (_, peak) in sCyc {
                let v = peak.maxLR(cycle: r.cycle)
                let inside = v >= o.feasibleLow && v <= o.feasibleHigh
                cells.append("\(ReportFormat.learningRate(v)) \(inside ? "inside" : "**outside**")")
            }
            s += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return s
    }

    /// "schedule `x`, seed 3: 4 of 11 cycles" for each (schedule, seed) of the spec short of L + 1 cycles.
    static func incompleteRuns(records: [CycleRecord], spec: ExperimentSpec) -> [String] {
        let want = spec.pruning.cycles + 1
        var out: [String] = []
        for s in spec.schedules {
            for seed in spec.seeds {
                let have = Set(records.filter { $0.schedule == s.name && $0.seed == seed }.map(\.cycle)).count
                if have < want {
                    out.append("schedule \(text(s.name)), seed \(seed): " + (have == 0 ? "no cycles recorded" : "\(have) of \(want) cycles"))
                }
            }
        }
        return out
    }

    /// Cycles 0 … L of the spec plus any further cycle found in the records.
    static func cycles(records: [CycleRecord], spec: ExperimentSpec) -> [Int] {
        Set(Array(0...max(0, spec.pruning.cycles)) + records.map(\.cycle)).sorted()
    }

    static func lambda(cycle: Int, spec: ExperimentSpec) -> Double {
        percentRemaining(rate: spec.pruning.rate, cycle: cycle)
    }

    /// User text (names from the spec) in running text or a table cell: markdown
    /// punctuation is backslash-escaped so a name like `s_cyc*` prints as written, a "|"
    /// cannot split a cell, and a newline cannot end the table.
    static func text(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\", "`", "*", "_", "|", "[", "]", "<", ">", "#": out += "\\\(ch)"
            case "\n", "\r": out += " "
            default: out.append(ch)
            }
        }
        return out
    }
}
