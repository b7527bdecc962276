import Testing
@testable import Schedules

// The SPEC's worked example: eps = 0.04, delta = 0.06, q = 1, beta = 4, p = 0.2.
let specExample = SCycPeak(epsilon: 0.04, delta: 0.06, q: 1, beta: 4, pruningRate: 0.2)

@Test func sCycMatchesTheWorkedExample() throws {
    try specExample.validate()
    #expect(specExample.maxLR(cycle: 0) == 0.04)
    #expect(specExample.maxLR(cycle: 1) == 0.04)  // m <= q: no growth
    // Python: 0.06 / (1 + 0.25**-4) + 0.04 = 0.04023346303501946
    #expect(close(specExample.maxLR(cycle: 2), 0.04023346303501946))
    // 0.04546014...: SPEC writes 0.0454 (truncated); rounded to 4 decimals it is 0.0455.
    #expect(close(specExample.maxLR(cycle: 3), 0.04546014397270343))
    #expect(close(specExample.maxLR(cycle: 4), 0.06712826678277088))
    // Four-decimal values as SPEC prints them (it truncates).
    let truncated = (0...4).map { (specExample.maxLR(cycle: $0) * 10_000).rounded(.down) / 10_000 }
    for (value, expected) in zip(truncated, [0.04, 0.04, 0.0402, 0.0454, 0.0671]) {
        #expect(close(value, expected, 1e-12))
    }
}

@Test func sCycMatchesThePapersTables() {
    // S-Cyc (AAAI), Table 3, same parameters: 4, 4.02, 4.5, 6.7, 8.8, 9.9 (x 1e-2) at
    // lambda = 100, 64, 51.3, 41.1, 32.9, 21.1, i.e. m = 0, 2, 3, 4, 5, 7 (truncated).
    #expect(close(specExample.maxLR(cycle: 5), 0.08871467214116165))
    #expect(close(specExample.maxLR(cycle: 7), 0.09905906461840276))
    // SILO (TMLR), Table 10, default beta = 5: 4.32 at lambda = 51.3 (m = 3), 9.2 at 32.9 (m = 5).
    let silo = SCycPeak(epsilon: 0.04, delta: 0.06, q: 1, beta: 5, pruningRate: 0.2)
    #expect(close(silo.maxLR(cycle: 3), 0.043198681864349386))
    #expect(close(silo.maxLR(cycle: 5), 0.09169208498315955))
}

@Test func sCycIsMonotoneAndApproachesEpsPlusDelta() {
    for beta in [3.0, 4, 5, 6] {
        for q in 0...3 {
            let s = SCycPeak(epsilon: 0.04, delta: 0.06, q: q, beta: beta, pruningRate: 0.2)
            let peaks = (0...80).map { s.maxLR(cycle: $0) }
            for (a, b) in zip(peaks, peaks.dropFirst()) { #expect(a <= b) }
            #expect(peaks.allSatisfy { $0 >= 0.04 && $0 <= 0.1 + 1e-15 })
            #expect(abs(peaks[80] - 0.1) < 1e-9)
        }
    }
    // q = 0 skips "no growth": the first pruned cycle already moves.
    #expect(SCycPeak(epsilon: 0.04, delta: 0.06, q: 0, beta: 4, pruningRate: 0.2).maxLR(cycle: 1) > 0.04)
}

@Test func peakPolicies() throws {
    #expect(try PeakPolicy.fixed(0.1).peak(cycle: 7) == 0.1)
    #expect(close(try PeakPolicy.sCyc(specExample).peak(cycle: 4), 0.06712826678277088))
    let table = PeakPolicy.table([0.04, 0.05, 0.07])
    #expect(try table.peak(cycle: 2) == 0.07)
    #expect(throws: ScheduleError.tableTooShort(cycle: 3, count: 3)) { try table.peak(cycle: 3) }
    #expect(throws: ScheduleError.tableTooShort(cycle: 3, count: 3)) { try table.validate(cycles: 3) }
    try table.validate(cycles: 2)

    let oracle = PeakPolicy.oracle(grid: [0.01, 0.03, 0.1])
    #expect(try oracle.candidates(cycle: 5) == [0.01, 0.03, 0.1])
    #expect(throws: ScheduleError.peakChosenBySearch(cycle: 5)) { try oracle.peak(cycle: 5) }
    #expect(try PeakPolicy.fixed(0.1).candidates(cycle: 0) == [0.1])
    #expect(throws: ScheduleError.negative(parameter: "cycle m", value: -1)) { try table.peak(cycle: -1) }
}

@Test func logGridSpansThePapersSearchRange() throws {
    let grid = try PeakPolicy.logGrid(from: 1e-4, to: 1e-1, perDecade: 2)
    let expected = [1e-4, 3.16227766016838e-4, 1e-3, 3.1622776601683794e-3, 1e-2, 3.16227766016838e-2, 1e-1]
    #expect(grid.count == expected.count)
    for (g, e) in zip(grid, expected) { #expect(close(g, e, 1e-12)) }
}

@Test func sCycScheduleRestartsTheWarmupEveryCycleWithTheCyclesPeak() throws {
    // S-Cyc (eps, delta, q, beta, b, c, d, e) = (0.04, 0.06, 1, 4, 100, 200, 300, -).
    let s = SCycSchedule.sCyc(specExample, warmup: 100, drops: [200, 300], budget: 400)
    try s.validate(cycles: 10)
    let dense = try s.schedule(cycle: 0)
    #expect(dense == WarmupSchedule(a: 0.04, b: 100, drops: [200, 300], budget: 400))
    let fourth = try s.schedule(cycle: 4)
    #expect(close(fourth.a, 0.06712826678277088))
    #expect(try s.lr(cycle: 4, at: 0) == 0)  // every cycle starts again from t = 0
    #expect(close(try s.lr(cycle: 4, at: 50), 0.06712826678277088 / 2))
    #expect(close(try s.lr(cycle: 4, at: 250), 0.006712826678277088))
    #expect(close(try s.lr(cycle: 2, at: 100), 0.04023346303501946))
}

@Test func oracleCandidatesBuildOneSchedulePerPeak() throws {
    let s = CycleSchedule(template: WarmupSchedule(a: 1, b: 10, drops: [50]), policy: .oracle(grid: [0.01, 0.1]))
    try s.validate()
    let schedules = try s.policy.candidates(cycle: 3).map { peak throws(ScheduleError) in try s.schedule(cycle: 3, peak: peak) }
    #expect(schedules.map(\.a) == [0.01, 0.1])
    #expect(close(schedules[1].lr(at: 5), 0.05))
}

@Test func otherShapesTakeThePolicyPeak() throws {
    let clr = CycleSchedule(template: OneCycleSchedule(minLR: 0.001, maxLR: 0.1, budget: 1000), policy: .table([0.1, 0.2]))
    #expect(close(try clr.lr(cycle: 1, at: 100), 0.2))
    #expect(close(try clr.lr(cycle: 1, at: 0), 0.001))
    let tri = CycleSchedule(template: TriangularSchedule(a: 0.001, b: 0.006, c: 10), policy: .fixed(0.011))
    #expect(close(try tri.lr(cycle: 0, at: 10), 0.011))
    #expect(close(try tri.lr(cycle: 0, at: 5), 0.006))
}

@Test func percentRemainingAtRateTwentyPercent() {
    // SPEC §1 lambda for p = 0.2 (its list rounds to 3 significant digits).
    let expected: [Double] = [100, 80, 64, 51.2, 40.96, 32.768, 26.2144]
    for (m, value) in expected.enumerated() { #expect(close(percentRemaining(rate: 0.2, cycle: m), value)) }
    #expect(close(percentRemaining(rate: 0.2, cycle: 9), 13.4217728))
    #expect(close(percentRemaining(rate: 0.2, cycle: 11), 8.589934592))
    #expect(close(percentRemaining(rate: 0.2, cycle: 19), 1.4411518807585602))
    #expect((percentRemaining(rate: 0.2, cycle: 19) * 100).rounded() / 100 == 1.44)
}
