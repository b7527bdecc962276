import ArgumentParser
import Experiments
import Foundation
import Schedules

struct Schedule: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a learning-rate schedule: S-Cyc's peak per pruning cycle, or any schedule's trace.",
        discussion: """
            topiary schedule scyc --epsilon 0.04 --delta 0.06 --q 1 --beta 4 --rate 0.2 --cycles 20 [--json] [--svg FILE]
              prints max_lr(m) for m = 0 ... cycles (SPEC §4).
            topiary schedule KIND ... --trace --budget N
              prints the LR at every iteration of one cycle (KIND: \(ScheduleSpec.kinds.filter { !["oracle", "table", "finetune", "lr-rewind"].contains($0) }.joined(separator: ", "))).
            """)

    @Argument(help: "Schedule kind.")
    var kind: String
    @Option(help: "S-Cyc lower bound eps (the dense network's peak).") var epsilon: Double?
    @Option(help: "S-Cyc range delta.") var delta: Double?
    @Option(help: "S-Cyc delay q (cycles without growth).") var q: Int = 1
    @Option(help: "S-Cyc shape beta.") var beta: Double = 5
    @Option(help: "Pruning rate p.") var rate: Double = 0.2
    @Option(help: "Pruning cycles L.") var cycles: Int = 20
    @Option(help: "Constant LR.") var lr: Double?
    @Option(help: "Peak LR.") var peak: Double?
    @Option(help: "Lowest LR (cyclical, one-cycle, slr).") var minLR: Double?
    @Option(help: "Warmup iterations.") var warmup: Int?
    @Option(help: "Iterations at which the LR drops 10x (comma-separated).") var drops: String?
    @Option(help: "Half period (cyclical).") var halfPeriod: Int?
    @Option(help: "Iterations in the cycle (for --trace).") var budget: Int = 1000
    @Option(help: "Cycle m whose schedule --trace shows (S-Cyc).") var cycle: Int = 0
    @Flag(help: "Print the LR at every iteration of one cycle.") var trace = false
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Write an SVG plot of the per-cycle peak to FILE.") var svg: String?

    func run() throws {
        guard ScheduleSpec.kinds.contains(kind) else {
            throw CLIError("unknown schedule kind '\(kind)' (known: \(ScheduleSpec.kinds.joined(separator: ", ")))")
        }
        guard budget > 0 else { throw CLIError("--budget must be positive, got \(budget)") }
        guard cycles >= 0 else { throw CLIError("--cycles must be non-negative, got \(cycles)") }
        var s = ScheduleSpec(name: kind, kind: kind)
        s.lr = lr; s.peak = peak; s.minLR = minLR; s.warmup = warmup; s.halfPeriod = halfPeriod
        s.epsilon = epsilon; s.delta = delta; s.q = q; s.beta = beta
        if let drops {
            let parsed = drops.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parsed.allSatisfy({ $0 != nil }) else { throw CLIError("--drops must be comma-separated integers, got '\(drops)'") }
            s.drops = parsed.compactMap { $0 }
        }
        let plan: SchedulePlan
        do {
            plan = try SchedulePlan(s, rate: rate, budget: budget)
            try plan.validate(cycles: cycles)
        } catch {
            throw CLIError("schedule \(kind): \(error)")
        }
        if trace {
            let values = try plan.trace(cycle: cycle, budget: budget)
            if json { try printJSON(values.enumerated().map { ["iteration": $0.offset, "lr": $0.element] }) } else {
                for (t, v) in values.enumerated() { print("\(t)\t\(v)") }
            }
            return
        }
        let rows = try (0...cycles).map { m in (m, percentRemaining(rate: rate, cycle: m), try plan.peak(cycle: m)) }
        if let svg { try writePeakPlot(rows: rows, to: svg) }
        if json {
            try printJSON(rows.map { ["cycle": $0.0, "percent_remaining": $0.1, "max_lr": $0.2] as [String: Any] })
        } else {
            print("cycle  lambda    max_lr")
            for (m, lambda, v) in rows { print(String(format: "%5d  %6.2f  %.6f", m, lambda, v)) }
        }
    }
}

/// Plot of S-Cyc's max_lr per cycle, against the cycle m.
func writePeakPlot(rows: [(Int, Double, Double)], to path: String) throws {
    let plot = SVGPlot(title: "Peak learning rate per pruning cycle",
                       x: .init(label: "pruning cycle m", integerTicks: true), y: .init(label: "max_lr"),
                       series: [.init(name: "max_lr(m)", points: rows.map { .init(x: Double($0.0), y: $0.2) })])
    do { try plot.render().write(toFile: path, atomically: true, encoding: .utf8) } catch {
        throw CLIError("cannot write \(path): \(error.localizedDescription)")
    }
}
