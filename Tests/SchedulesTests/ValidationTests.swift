import Testing
@testable import Schedules

@Test func peaksMustBePositive() {
    #expect(throws: ScheduleError.notPositive(parameter: "a (learning rate)", value: 0)) {
        try ConstantSchedule(a: 0).validate()
    }
    #expect(throws: ScheduleError.notPositive(parameter: "a (peak learning rate)", value: -0.1)) {
        try WarmupSchedule(a: -0.1, b: 10).validate()
    }
    #expect(throws: ScheduleError.notFinite(parameter: "a (peak learning rate)")) {
        try CosineSchedule(a: .nan, T: 10).validate()
    }
    #expect(throws: ScheduleError.notPositive(parameter: "peak", value: 0)) { try PeakPolicy.fixed(0).validate() }
    #expect(throws: ScheduleError.notPositive(parameter: "peak[1]", value: -1)) {
        try PeakPolicy.table([0.1, -1]).validate()
    }
    #expect(throws: ScheduleError.emptyGrid) { try PeakPolicy.oracle(grid: []).validate() }
}

@Test func warmupParameters() {
    #expect(throws: ScheduleError.negative(parameter: "b (warmup iterations)", value: -1)) {
        try WarmupSchedule(a: 0.1, b: -1).validate()
    }
    #expect(throws: ScheduleError.dropsNotIncreasing(drops: [300, 200])) {
        try WarmupSchedule(a: 0.1, b: 100, drops: [300, 200]).validate()
    }
    #expect(throws: ScheduleError.dropsNotIncreasing(drops: [200, 200])) {
        try WarmupSchedule(a: 0.1, b: 100, drops: [200, 200]).validate()
    }
    #expect(throws: ScheduleError.dropBeforeWarmupEnd(drop: 50, warmup: 100)) {
        try WarmupSchedule(a: 0.1, b: 100, drops: [50]).validate()
    }
    #expect(throws: ScheduleError.beyondBudget(parameter: "drop", value: 500, budget: 500)) {
        try WarmupSchedule(a: 0.1, b: 100, drops: [200, 500], budget: 500).validate()
    }
    #expect(throws: ScheduleError.beyondBudget(parameter: "b (warmup iterations)", value: 500, budget: 400)) {
        try WarmupSchedule(a: 0.1, b: 500, budget: 400).validate()
    }
}

@Test func otherShapeParameters() {
    #expect(throws: ScheduleError.notPositive(parameter: "c (step size)", value: 0)) {
        try TriangularSchedule(a: 0.001, b: 0.006, c: 0).validate()
    }
    #expect(throws: ScheduleError.lowerAboveUpper(
        lower: "a (lower bound)", lowerValue: 0.01, upper: "b (upper bound)", upperValue: 0.006)
    ) {
        try TriangularSchedule(a: 0.01, b: 0.006, c: 10).validate()
    }
    #expect(throws: ScheduleError.notPositive(parameter: "b (decay length)", value: 0)) {
        try LinearDecaySchedule(a: 0.1, b: 0).validate()
    }
    #expect(throws: ScheduleError.beyondBudget(parameter: "warmup", value: 10, budget: 10)) {
        try CosineSchedule(a: 0.1, T: 10, warmup: 10).validate()
    }
    #expect(throws: ScheduleError.outsideHalfOpenUnitInterval(parameter: "warmupFraction", value: 1)) {
        try OneCycleSchedule(minLR: 0.001, maxLR: 0.1, budget: 100, warmupFraction: 1).validate()
    }
    #expect(throws: ScheduleError.dropBeforeWarmupEnd(drop: 5, warmup: 10)) {
        try ScaledRestartSchedule(peak: 0.1, budget: 100, dropFractions: [0.05, 0.5]).validate()
    }
    #expect(throws: ScheduleError.notPositive(parameter: "budget", value: 0)) {
        try RewoundSchedule(original: ConstantSchedule(a: 0.1), originalLength: 10, budget: 0).validate()
    }
}

@Test func sCycParameters() {
    func check(_ s: SCycPeak, _ error: ScheduleError) {
        #expect(throws: error) { try s.validate() }
        #expect(throws: error) { try PeakPolicy.sCyc(s).validate() }
    }
    check(SCycPeak(epsilon: 0, delta: 0.06, pruningRate: 0.2),
          .notPositive(parameter: "epsilon (lower bound of max_lr)", value: 0))
    check(SCycPeak(epsilon: 0.04, delta: -0.01, pruningRate: 0.2),
          .negative(parameter: "delta (range of max_lr)", value: -0.01))
    check(SCycPeak(epsilon: 0.04, delta: 0.06, q: -1, pruningRate: 0.2),
          .negative(parameter: "q (delay in cycles)", value: -1))
    check(SCycPeak(epsilon: 0.04, delta: 0.06, beta: 0, pruningRate: 0.2),
          .notPositive(parameter: "beta (S-shape control)", value: 0))
    check(SCycPeak(epsilon: 0.04, delta: 0.06, pruningRate: 0),
          .outsideOpenUnitInterval(parameter: "p (pruning rate)", value: 0))
    check(SCycPeak(epsilon: 0.04, delta: 0.06, pruningRate: 1),
          .outsideOpenUnitInterval(parameter: "p (pruning rate)", value: 1))
}

@Test func errorsReadAsOneLineNamingTheParameter() {
    let message = ScheduleError.notPositive(parameter: "beta (S-shape control)", value: 0).description
    #expect(message == "beta (S-shape control) must be > 0, got 0.0")
    #expect(ScheduleError.beyondBudget(parameter: "drop", value: 500, budget: 500).description
        == "drop = 500 is not inside the budget of 500 iterations")
    #expect(!ScheduleError.peakChosenBySearch(cycle: 2).description.contains("\n"))
}

@Test func descriptionsNameTheScheduleAndItsParameters() {
    #expect(WarmupSchedule(a: 0.1, b: 100, drops: [200, 300]).description == "warmup(a: 0.1, b: 100, drops: [200, 300])")
    #expect(TriangularSchedule(a: 0.001, b: 0.006, c: 10).description == "cyclical(a: 0.001, b: 0.006, c: 10)")
    #expect(PeakPolicy.sCyc(specExample).description == "sCyc(eps: 0.04, delta: 0.06, q: 1, beta: 4.0, p: 0.2)")
}
