import Foundation

/// The diagnostics section of report.md and the papers' Figure 1 plots (one histogram per
/// lambda, overlaid), from the records of the first seed of each schedule.
enum DiagnosticsReport {
    /// Per schedule: the first seed's records that carry diagnostics, in cycle order.
    static func series(_ records: [CycleRecord], spec: ExperimentSpec) -> [(schedule: String, records: [CycleRecord])] {
        spec.schedules.compactMap { s in
            guard let seed = spec.seeds.first(where: { seed in records.contains { $0.schedule == s.name && $0.seed == seed && $0.diagnostics != nil } })
            else { return nil }
            let rs = records.filter { $0.schedule == s.name && $0.seed == seed && $0.diagnostics != nil }.sorted { $0.cycle < $1.cycle }
            return (s.name, rs)
        }
    }

    static func fileNames(schedule: String) -> (gradients: String, activations: String) {
        let safe = RunStore.safe(schedule)
        return ("diagnostics-\(safe)-gradients.svg", "diagnostics-\(safe)-activations.svg")
    }

    /// Writes the Figure 1 SVGs and returns the markdown section ("" without diagnostics).
    static func render(records: [CycleRecord], spec: ExperimentSpec, store: RunStore) throws -> String {
        let all = series(records, spec: spec)
        guard !all.isEmpty else { return "" }
        var out = "\n## Diagnostics (SPEC §7)\n\n"
        out += "At the end of each cycle, on 4 training batches of the first seed: the standard deviation of the weight "
        out += "gradients over the unpruned weights and over all prunable weights (pruned ones as 0), the fraction of "
        out += "unpruned gradients beyond the dense network's 95th / 99th percentile |g|, the average activation norm EAA "
        out += "per hidden layer, and EWG, the mean squared weight change over the unpruned weights across the cycle's last epoch.\n"
        for (schedule, rs) in all {
            let names = fileNames(schedule: schedule)
            let ds = rs.compactMap(\.diagnostics)
            try AtomicFile.write(HistogramPlot.gradientFigure(ds), to: store.file(names.gradients))
            try AtomicFile.write(HistogramPlot.activationFigure(ds), to: store.file(names.activations))
            let layers = ds.first?.activations.map(\.name) ?? []
            out += "\n### \(schedule) (seed \(rs[0].seed))\n\n"
            out += "| lambda | grad std (unpruned) | grad std (all) | tail > p95 | tail > p99 | "
            out += layers.map { "EAA \($0)" }.joined(separator: " | ") + (layers.isEmpty ? "" : " | ") + "EWG |\n"
            out += "|--:|--:|--:|--:|--:|" + String(repeating: "--:|", count: layers.count) + "--:|\n"
            for (r, d) in zip(rs, ds) {
                let tails = d.gradientsUnpruned.tailMass + [Double.nan, .nan]
                var cells = [ReportFormat.lambda(r.percentRemaining), sci(d.gradientsUnpruned.std), sci(d.gradientsAll.std),
                             String(format: "%.4f", tails[0]), String(format: "%.4f", tails[1])]
                cells += d.activations.map { String(format: "%.4f", $0.eaa) }
                cells.append(d.ewg.map(sci) ?? "–")
                out += "| " + cells.joined(separator: " | ") + " |\n"
            }
            out += "\nPlots: [\(names.gradients)](\(names.gradients)), [\(names.activations)](\(names.activations)).\n"
        }
        return out
    }

    static func sci(_ x: Double) -> String { x.isFinite ? String(format: "%.3e", x) : "–" }
}
