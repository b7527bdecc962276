import Testing
@testable import Pruning

@Suite struct SparsityScheduleTests {
    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test func oneShotIsTheTargetEverywhere() throws {
        let s = try SparsitySchedule.oneShot(target: 0.9, total: 100, interval: 3)
        for t in [0, 1, 50, 99, 150] { #expect(s.sparsity(at: t) == 0.9) }
        // dt > T: the mask comes from the dense network once and is fixed for the whole run.
        #expect((0 ..< 150).allSatisfy { !s.updatesMask(at: $0) && s.fixesMask(at: $0) })
        #expect(s.cycle(at: 99) == CyclePosition(cycle: 0, start: 0, length: 100, offset: 99))
        #expect(!s.cycle(at: 0).restartsLearningRate)
    }

    @Test func linearRampsThenHolds() throws {
        let s = try SparsitySchedule.linear(target: 0.6, initial: 0.2, pruningPhase: 4, total: 10)
        // 0.2 + 0.4 * t/4
        let expected: [Double] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.6, 0.6]
        for (t, e) in expected.enumerated() { #expect(close(s.sparsity(at: t), e), "t = \(t)") }
    }

    @Test func cubicMatchesZhuGupta() throws {
        let s = try SparsitySchedule.cubic(target: 0.8, pruningPhase: 10, total: 20)
        #expect(close(s.sparsity(at: 0), 0))
        #expect(close(s.sparsity(at: 2), 0.8 - 0.8 * 0.512))   // (1 - 0.2)^3 = 0.512
        #expect(close(s.sparsity(at: 5), 0.7))                 // 0.8 - 0.8 / 8
        #expect(close(s.sparsity(at: 10), 0.8))
        #expect(close(s.sparsity(at: 19), 0.8))
        #expect(close(s.sparsity(at: 40), 0.8))
        // Non-zero start: 0.5 + (0.2 - 0.5) * (1 - 1/2)^3.
        let t = try SparsitySchedule.cubic(target: 0.5, initial: 0.2, pruningPhase: 2, total: 2)
        #expect(close(t.sparsity(at: 1), 0.5 - 0.3 / 8))
    }

    @Test func cyclicalRestartsFromHalfTarget() throws {
        // Two cycles of 10; the cubic runs over the first 8 iterations of each.
        let s = try SparsitySchedule.cyclical(target: 0.8, cycles: 2, total: 20)
        #expect(close(s.sparsity(at: 0), 0))
        #expect(close(s.sparsity(at: 4), 0.7))                 // 0.8 - 0.8 * (1/2)^3
        #expect(close(s.sparsity(at: 8), 0.8))
        #expect(close(s.sparsity(at: 9), 0.8))
        #expect(close(s.sparsity(at: 10), 0.4))                // later cycles start at 0.5 * 0.8
        #expect(close(s.sparsity(at: 14), 0.75))               // 0.8 - 0.4 / 8
        #expect(close(s.sparsity(at: 18), 0.8))
        #expect(close(s.sparsity(at: 25), 0.8))                // past T: last cycle, held
        #expect(s.cycle(at: 10).restartsLearningRate)
        #expect(!s.cycle(at: 11).restartsLearningRate)
        #expect(!s.cycle(at: 0).restartsLearningRate)
        // Custom later start and a full-length ramp.
        let u = try SparsitySchedule.cyclical(target: 0.8, cycles: 2, total: 20, laterInitFraction: 0.25, rampFraction: 1)
        #expect(close(u.sparsity(at: 10), 0.2))
        #expect(close(u.sparsity(at: 15), 0.8 - 0.6 / 8))      // progress 5/10
        #expect(close(u.sparsity(at: 9), 0.8 - 0.8 * 0.001))   // (1 - 9/10)^3
    }

    @Test func masksAreFixedAfterEachRampUntilTheNext() throws {
        // Two cycles of 10, ramps over offsets 0 ..< 8, dt = 3: updates at 0, 3, 6 and, at the
        // target, 9 (cycle 1) and 12, 15, 18 (cycle 2, where 18 is the first at the target).
        let s = try SparsitySchedule.cyclical(target: 0.8, cycles: 2, total: 20, interval: 3)
        #expect((0 ..< 20).filter { s.updatesMask(at: $0) } == [0, 3, 6, 9, 12, 15, 18])
        #expect((0 ..< 20).filter { s.fixesMask(at: $0) } == [19])
        // dt = 1: the mask is chosen at the ramp's end (offset 8) and fixed for the rest of the cycle.
        let c = try SparsitySchedule.cyclical(target: 0.8, cycles: 2, total: 20)
        #expect((0 ..< 20).filter { c.fixesMask(at: $0) } == [9, 19])
        #expect((0 ..< 20).filter { c.updatesMask(at: $0) } == Array(0 ... 8) + Array(10 ... 18))
        // Gradual: fixed from the first update after the pruning phase to the end.
        let g = try SparsitySchedule.cubic(target: 0.8, pruningPhase: 10, total: 20, interval: 4)
        #expect((0 ..< 20).filter { g.updatesMask(at: $0) } == [0, 4, 8, 12])
        #expect((0 ..< 20).allSatisfy { g.fixesMask(at: $0) == ($0 > 12) })
        // A ramp over the whole cycle never reaches a fixed phase.
        let r = try SparsitySchedule.cyclical(target: 0.8, cycles: 2, total: 20, rampFraction: 1)
        #expect(!(0 ..< 20).contains { r.fixesMask(at: $0) })
    }

    @Test func cyclesSplitUnevenTotalsByAtMostOne() throws {
        // T = 10, k = 3: cycles start at 0, 3, 6 (lengths 3, 3, 4).
        let s = try SparsitySchedule.cyclical(target: 0.5, cycles: 3, total: 10)
        let starts = (0 ..< 10).map { s.cycle(at: $0).start }
        #expect(starts == [0, 0, 0, 3, 3, 3, 6, 6, 6, 6])
        #expect(s.cycle(at: 3) == CyclePosition(cycle: 1, start: 3, length: 3, offset: 0))
        #expect(s.cycle(at: 9) == CyclePosition(cycle: 2, start: 6, length: 4, offset: 3))
        #expect(s.cycle(at: 12).cycle == 2)
        #expect((0 ..< 10).filter { s.cycle(at: $0).restartsLearningRate } == [3, 6])
        // Every cycle begins at its own s_init: 0, then 0.25.
        #expect(s.sparsity(at: 0) == 0 && close(s.sparsity(at: 3), 0.25) && close(s.sparsity(at: 6), 0.25))
    }

    @Test func rejectsInvalidParameters() {
        func fails(_ expected: SparsityScheduleError, _ body: () throws -> SparsitySchedule) {
            do {
                _ = try body()
                Issue.record("expected \(expected)")
            } catch let error as SparsityScheduleError {
                #expect(error == expected)
                #expect(!error.description.isEmpty)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        fails(.targetOutOfRange(1)) { try .oneShot(target: 1, total: 10) }
        fails(.targetOutOfRange(-0.1)) { try .oneShot(target: -0.1, total: 10) }
        fails(.nonPositiveInterval(0)) { try .oneShot(target: 0.5, total: 10, interval: 0) }
        fails(.nonPositiveTotal(0)) { try .oneShot(target: 0.5, total: 0) }
        fails(.invalidCycles(cycles: 0, total: 10)) { try .cyclical(target: 0.5, cycles: 0, total: 10) }
        fails(.invalidCycles(cycles: 11, total: 10)) { try .cyclical(target: 0.5, cycles: 11, total: 10) }
        fails(.pruningPhaseOutOfRange(phase: 0, total: 10)) { try .cubic(target: 0.5, pruningPhase: 0, total: 10) }
        fails(.pruningPhaseOutOfRange(phase: 11, total: 10)) { try .linear(target: 0.5, pruningPhase: 11, total: 10) }
        fails(.initialOutOfRange(initial: 0.6, target: 0.5)) { try .cubic(target: 0.5, initial: 0.6, pruningPhase: 5, total: 10) }
        fails(.fractionOutOfRange(name: "rampFraction (range (0, 1])", value: 0)) {
            try .cyclical(target: 0.5, cycles: 2, total: 10, rampFraction: 0)
        }
        fails(.fractionOutOfRange(name: "laterInitFraction (range [0, 1])", value: 1.5)) {
            try .cyclical(target: 0.5, cycles: 2, total: 10, laterInitFraction: 1.5)
        }
        // T_p = T is allowed.
        #expect((try? SparsitySchedule.cubic(target: 0.5, pruningPhase: 10, total: 10)) != nil)
    }
}
