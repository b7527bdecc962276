import Foundation

/// The report's two figures, built from records through `SVGPlot`.
package enum ReportPlots {
    /// Early-stop test accuracy (%) against lambda on a reversed log axis, as in the
    /// papers: the dense network on the left, sparsity growing to the right; band = ± std.
    package static func accuracy(records: [CycleRecord], spec: ExperimentSpec) -> SVGPlot {
        let rows = ReportTable(records: records, spec: spec).rows
        return SVGPlot(
            title: "\(spec.name): early-stop test accuracy",
            x: .init(label: "percent of weights remaining (λ, log scale)", scale: .log, reversed: true),
            y: .init(label: "early-stop test accuracy (%)"),
            series: series(rows, spec: spec, records: records) { r in
                SVGPlot.Point(x: r.percentRemaining, y: r.mean * 100, error: r.runs > 1 ? r.std * 100 : nil)
            })
    }

    /// Mean peak LR of each cycle against the cycle m; a log y axis once the peaks span
    /// more than a decade (an oracle grid does), where a linear one would flatten the rest.
    package static func peakLR(records: [CycleRecord], spec: ExperimentSpec) -> SVGPlot {
        let rows = ReportTable.aggregate(ReportTable.latest(records), spec: spec) { $0.peakLR }
        let positive = rows.map(\.mean).filter { $0 > 0 && $0.isFinite }
        let wide = (positive.max() ?? 1) / (positive.min() ?? 1) > 10
        return SVGPlot(
            title: "\(spec.name): peak learning rate per cycle",
            x: .init(label: "pruning cycle m", integerTicks: true),
            y: .init(label: "peak learning rate" + (wide ? " (log scale)" : ""), scale: wide ? .log : .linear),
            series: series(rows, spec: spec, records: records) { r in
                SVGPlot.Point(x: Double(r.cycle), y: r.mean, error: r.runs > 1 && r.std > 0 ? r.std : nil)
            },
            errorStyle: .bars)
    }

    /// One series per schedule, in spec order, points by cycle.
    static func series(_ rows: [ReportRow], spec: ExperimentSpec, records: [CycleRecord],
                       point: (ReportRow) -> SVGPlot.Point) -> [SVGPlot.Series] {
        ReportTable.scheduleOrder(records: records, spec: spec).map { name in
            SVGPlot.Series(name: name, points: rows.filter { $0.schedule == name }.sorted { $0.cycle < $1.cycle }.map(point))
        }
    }
}
