import Testing
@testable import Schedules

// Every expected value below was computed by hand (or with a line of Python) from the
// formulas in SPEC §4, never read back from the code.

@Test func constantIsFlat() throws {
    let s = ConstantSchedule(a: 0.05)
    try s.validate()
    #expect(s.lr(at: 0) == 0.05)
    #expect(s.lr(at: 12_345) == 0.05)
}

@Test func linearDecay() throws {
    let s = LinearDecaySchedule(a: 0.1, b: 100)
    try s.validate()
    #expect(close(s.lr(at: 0), 0.1))
    #expect(close(s.lr(at: 25), 0.075))
    #expect(close(s.lr(at: 99), 0.001))
    #expect(s.lr(at: 100) == 0)
    #expect(s.lr(at: 150) == 0)  // max(0, ...) keeps it from going negative
}

@Test func triangularAtQuarterPoints() throws {
    let s = TriangularSchedule(a: 0.001, b: 0.006, c: 2000)
    try s.validate()
    #expect(close(s.lr(at: 0), 0.001))
    #expect(close(s.lr(at: 500), 0.00225))
    #expect(close(s.lr(at: 1000), 0.0035))
    #expect(close(s.lr(at: 2000), 0.006))  // t = c: top
    #expect(close(s.lr(at: 3000), 0.0035))  // t = 3c/2: half way down
    #expect(close(s.lr(at: 4000), 0.001))  // t = 2c: bottom again
    #expect(close(s.lr(at: 6000), 0.006))  // t = 3c: second top
}

@Test func warmupRampHoldAndDrops() throws {
    let s = WarmupSchedule(a: 0.1, b: 100, drops: [200, 300, 400], budget: 500)
    try s.validate()
    #expect(s.lr(at: 0) == 0)
    #expect(close(s.lr(at: 50), 0.05))
    #expect(close(s.lr(at: 99), 0.099))  // t = b - 1
    #expect(close(s.lr(at: 100), 0.1))  // t = b
    #expect(close(s.lr(at: 199), 0.1))
    #expect(close(s.lr(at: 200), 0.01))  // first drop
    #expect(close(s.lr(at: 299), 0.01))
    #expect(close(s.lr(at: 300), 0.001))  // second drop
    #expect(close(s.lr(at: 400), 0.0001))  // third drop
    #expect(close(s.lr(at: 499), 0.0001))
}

@Test func warmupAsInThePapersTable() throws {
    // S-Cyc paper, Table 5: LR-warmup-1 (3e-3, 20K, 20K, 25K, Nil): the first drop is at the warmup end.
    let s = WarmupSchedule(a: 3e-3, b: 20_000, drops: [20_000, 25_000])
    try s.validate()
    #expect(close(s.lr(at: 19_999), 0.00299985))
    #expect(close(s.lr(at: 20_000), 3e-4))
    #expect(close(s.lr(at: 24_999), 3e-4))
    #expect(close(s.lr(at: 25_000), 3e-5))
}

@Test func warmupWithoutRamp() {
    let s = WarmupSchedule(a: 0.1, b: 0, drops: [80, 120], budget: 160)
    #expect(close(s.lr(at: 0), 0.1))
    #expect(close(s.lr(at: 80), 0.01))
    #expect(close(s.lr(at: 159), 0.001))
}

@Test func cosineAtStartMiddleEnd() throws {
    let s = CosineSchedule(a: 0.1, T: 1000)
    try s.validate()
    #expect(close(s.lr(at: 0), 0.1))
    #expect(close(s.lr(at: 250), 0.08535533905932738))
    #expect(close(s.lr(at: 500), 0.05))
    #expect(abs(s.lr(at: 1000)) < 1e-15)
    #expect(abs(s.lr(at: 1200)) < 1e-15)  // stays at 0 past T
}

@Test func cosineAfterLinearWarmup() throws {
    let s = CosineSchedule(a: 0.1, T: 1100, warmup: 100)
    try s.validate()
    #expect(s.lr(at: 0) == 0)
    #expect(close(s.lr(at: 50), 0.05))
    #expect(close(s.lr(at: 100), 0.1))
    #expect(close(s.lr(at: 600), 0.05))
    #expect(abs(s.lr(at: 1100)) < 1e-15)
}

@Test func oneCycleRisesThenDecays() throws {
    let s = OneCycleSchedule(minLR: 0.001, maxLR: 0.1, budget: 1000)
    try s.validate()
    #expect(close(s.lr(at: 0), 0.001))
    #expect(close(s.lr(at: 25), 0.015498214331265896))
    #expect(close(s.lr(at: 50), 0.0505))  // half way up the cosine
    #expect(close(s.lr(at: 100), 0.1))  // 10% of the budget: the top
    #expect(close(s.lr(at: 550), 0.0505))  // half way down
    #expect(close(s.lr(at: 999), 0.0010003015709393755))
    #expect(close(s.lr(at: 1000), 0.001))  // end: back to the minimum
}

@Test func scaledRestartWarmsUpThenDropsAtHalfAndThreeQuarters() throws {
    let s = ScaledRestartSchedule(peak: 0.1, budget: 1000, warmupStart: 0.001)
    try s.validate()
    #expect(close(s.lr(at: 0), 0.001))
    #expect(close(s.lr(at: 50), 0.0505))  // cosine half way
    #expect(close(s.lr(at: 100), 0.1))
    #expect(close(s.lr(at: 499), 0.1))
    #expect(close(s.lr(at: 500), 0.01))
    #expect(close(s.lr(at: 749), 0.01))
    #expect(close(s.lr(at: 750), 0.001))
    #expect(close(s.lr(at: 999), 0.001))

    let linear = ScaledRestartSchedule(peak: 0.1, budget: 1000, ramp: .linear)
    #expect(linear.lr(at: 0) == 0)
    #expect(close(linear.lr(at: 25), 0.025))
    #expect(close(linear.lr(at: 99), 0.099))
}

@Test func fineTuningUsesTheLastLearningRate() throws {
    let original = WarmupSchedule(a: 0.1, b: 100, drops: [200, 300], budget: 400)
    let ft = try ConstantSchedule.fineTuning(after: original)
    #expect(close(ft.a, 0.001))
    #expect(close(ft.lr(at: 0), 0.001))
    // A schedule without its own length needs one.
    #expect(throws: ScheduleError.unknownLength(schedule: "cyclical(a: 0.001, b: 0.006, c: 10)")) {
        try ConstantSchedule.fineTuning(after: TriangularSchedule(a: 0.001, b: 0.006, c: 10))
    }
    let triangle = try ConstantSchedule.fineTuning(after: TriangularSchedule(a: 0.001, b: 0.006, c: 10), originalLength: 16)
    #expect(close(triangle.a, 0.0035))  // last iteration t = 15 = 3c/2: half way down
}

@Test func rewindingReusesTheLastIterationsOfTheOriginal() throws {
    // "Network pruning that matters", Fig. 1(b): 160 epochs (0.1, /10 at 80 and 120),
    // retrain 72: rewound to epoch 88 (0.01), dropped to 0.001 after 32 epochs.
    let original = WarmupSchedule(a: 0.1, b: 0, drops: [80, 120], budget: 160)
    let lrw = try RewoundSchedule(original: original, budget: 72)
    try lrw.validate()
    #expect(lrw.offset == 88)
    #expect(close(lrw.lr(at: 0), 0.01))
    #expect(close(lrw.lr(at: 31), 0.01))
    #expect(close(lrw.lr(at: 32), 0.001))
    #expect(close(lrw.lr(at: 71), 0.001))

    // A budget as long as the original (or longer) restarts it from iteration 0.
    let full = RewoundSchedule(original: original, originalLength: 160, budget: 160)
    #expect(full.offset == 0)
    #expect(close(full.lr(at: 0), 0.1))
    #expect(RewoundSchedule(original: original, originalLength: 160, budget: 200).offset == 0)
}

@Test func traceListsTheFirstIterations() {
    let s = LinearDecaySchedule(a: 1, b: 4)
    #expect(s.trace(5) == [1, 0.75, 0.5, 0.25, 0])
    #expect(s.trace(0) == [])
}
