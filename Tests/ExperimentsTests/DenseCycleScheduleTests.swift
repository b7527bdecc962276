import Testing
@testable import Experiments
import Schedules

/// Cycle 0 trains `dense_iterations`; without a shared dense schedule it runs the entry's own
/// shape stretched to that budget (iterations scaled by dense / per-cycle), never the
/// retraining cycle's schedule cut off or run past its end.
@Suite struct DenseCycleScheduleTests {
    /// Budgets 400 per cycle and 1000 dense: every iteration the entry names scales by 2.5.
    func plan(_ entry: ScheduleSpec) throws -> SchedulePlan {
        try SchedulePlan(entry, rate: 0.2, budget: 400, denseBudget: 1000)
    }

    func entry(_ kind: String, _ set: (inout ScheduleSpec) -> Void) -> ScheduleSpec {
        var s = ScheduleSpec(name: kind, kind: kind)
        set(&s)
        return s
    }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }

    @Test func warmupDropsScaleWithTheDenseBudget() throws {
        let p = try plan(entry("warmup") { $0.peak = 0.1; $0.warmup = 40; $0.drops = [200, 300] })
        let dense = try p.schedule(cycle: 0, peak: p.candidates(cycle: 0)[0])
        #expect(dense.budget == 1000)
        #expect(close(dense.lr(at: 50), 0.05))  // warmup now 100 iterations
        #expect(close(dense.lr(at: 499), 0.1))
        #expect(close(dense.lr(at: 500), 0.01))  // first drop at 200 * 2.5
        #expect(close(dense.lr(at: 749), 0.01))
        #expect(close(dense.lr(at: 750), 0.001))
        // Retraining cycles keep the entry's own iterations.
        let retrain = try p.schedule(cycle: 1, peak: p.candidates(cycle: 1)[0])
        #expect(retrain.budget == 400 && close(retrain.lr(at: 200), 0.01) && close(retrain.lr(at: 20), 0.05))
    }

    @Test func everyPlainKindEndsWhereTheDenseBudgetEnds() throws {
        // (kind, parameters, t in the dense cycle, expected lr(t), hand-computed on the stretched shape)
        let cases: [(ScheduleSpec, Int, Double)] = [
            (entry("constant") { $0.lr = 0.05 }, 999, 0.05),
            // decay defaults to the budget: 0.1 * (1 - 500/1000)
            (entry("linear") { $0.peak = 0.1 }, 500, 0.05),
            (entry("linear") { $0.peak = 0.1; $0.decay = 200 }, 250, 0.05),  // decay 500
            // half period 100 -> 250: the triangle peaks at t = 250
            (entry("cyclical") { $0.minLR = 0.01; $0.peak = 0.1; $0.halfPeriod = 100 }, 250, 0.1),
            // T = 1000: half way down at t = 500
            (entry("cosine") { $0.peak = 0.1 }, 500, 0.05),
            // the 1-cycle rise ends at 10% of 1000
            (entry("one-cycle") { $0.minLR = 0.001; $0.peak = 0.1 }, 100, 0.1),
            // SLR: drops at 50% and 75% of 1000
            (entry("slr") { $0.peak = 0.1 }, 600, 0.01),
            (entry("slr") { $0.peak = 0.1 }, 800, 0.001),
        ]
        for (e, t, expected) in cases {
            let p = try plan(e)
            let dense = try p.schedule(cycle: 0, peak: p.candidates(cycle: 0)[0])
            #expect(dense.budget == 1000 || e.kind == "constant" || e.kind == "linear", "\(e.kind)")
            #expect(close(dense.lr(at: t), expected), "\(e.kind) lr(\(t)) = \(dense.lr(at: t)), expected \(expected)")
            try p.validate(cycles: 3)
        }
    }

    @Test func peakPoliciesStretchTheirWarmupShape() throws {
        let warm = { (s: inout ScheduleSpec) in s.warmup = 40; s.drops = [200, 300] }
        let scyc = try plan(entry("scyc") { warm(&$0); $0.epsilon = 0.02; $0.delta = 0.08 })
        let oracle = try plan(entry("oracle") { warm(&$0); $0.grid = [0.01, 0.1] })
        let table = try plan(entry("table") { warm(&$0); $0.peaks = [0.03, 0.04, 0.05] })
        for (p, peak) in [(scyc, 0.02), (oracle, 0.1), (table, 0.03)] {
            #expect(try p.candidates(cycle: 0).contains(peak))
            let dense = try p.schedule(cycle: 0, peak: peak)
            #expect(dense.budget == 1000)
            #expect(close(dense.lr(at: 50), peak / 2))
            #expect(close(dense.lr(at: 499), peak) && close(dense.lr(at: 500), peak / 10) && close(dense.lr(at: 750), peak / 100))
        }
    }

    @Test func aSharedDenseScheduleStillWins() throws {
        var dense = ScheduleSpec(name: "dense", kind: "constant")
        dense.lr = 0.07
        let p = try SchedulePlan(entry("warmup") { $0.peak = 0.1; $0.warmup = 40; $0.drops = [200] }, rate: 0.2, budget: 400,
                                 denseSchedule: dense, denseBudget: 1000)
        #expect(try p.schedule(cycle: 0, peak: p.candidates(cycle: 0)[0]).lr(at: 900) == 0.07)
    }

    @Test func validationChecksTheDenseCycleAgainstItsOwnBudget() throws {
        // Drops 200 and 210 fit 400 iterations; stretched to 10 they collide (5 and 5).
        #expect {
            try SpecParser.parse("""
                name: short-dense
                data: {dataset: synthetic}
                model: mlp
                training: {batch_size: 16, iterations_per_cycle: 400, dense_iterations: 10}
                schedules:
                  - {name: w, kind: warmup, peak: 0.1, warmup: 0, drops: [200, 210]}
                """)
        } throws: { "\($0)".contains("cycle 0") && "\($0)".contains("dense_schedule") && "\($0)".contains(":6:") }
        // An explicit dense schedule is checked against the dense budget.
        #expect(throws: SpecError.self) {
            try SpecParser.parse("""
                name: short-dense
                data: {dataset: synthetic}
                model: mlp
                training: {batch_size: 16, iterations_per_cycle: 400, dense_iterations: 10,
                           dense_schedule: {kind: warmup, peak: 0.1, drops: [200]}}
                schedules:
                  - {name: w, kind: warmup, peak: 0.1, warmup: 0, drops: [200, 210]}
                """)
        }
    }
}
