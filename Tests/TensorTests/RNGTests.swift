import Testing
import Tensor

@Suite struct RNGTests {
    @Test func sameSeedSameSequence() {
        var a = RNG(seed: 123), b = RNG(seed: 123), c = RNG(seed: 124)
        let sa = (0..<100).map { _ in a.next() }
        #expect(sa == (0..<100).map { _ in b.next() })
        #expect(sa != (0..<100).map { _ in c.next() })
        var s1 = RNG(seed: 5, stream: "init"), s2 = RNG(seed: 5, stream: "init")
        #expect((0..<10).map { _ in s1.next() } == (0..<10).map { _ in s2.next() })
    }

    @Test func streamsDiffer() {
        var a = RNG(seed: 9, stream: "init"), b = RNG(seed: 9, stream: "shuffle"), plain = RNG(seed: 9)
        let sa = (0..<16).map { _ in a.next() }, sb = (0..<16).map { _ in b.next() }
        #expect(sa != sb)
        #expect(Set(sa).isDisjoint(with: sb))
        #expect(sa != (0..<16).map { _ in plain.next() })
        var parent = RNG(seed: 9)
        var d1 = parent.derive("epoch"), d2 = parent.derive("epoch")
        #expect((0..<8).map { _ in d1.next() } != (0..<8).map { _ in d2.next() })
    }

    @Test func uniformMoments() {
        var rng = RNG(seed: 1)
        let n = 100_000
        var s = 0.0, s2 = 0.0, sd = 0.0
        for _ in 0..<n {
            let u = Double(rng.uniform())
            #expect(u >= 0 && u < 1)
            s += u; s2 += u * u
            sd += rng.uniformDouble()
        }
        let mean = s / Double(n), variance = s2 / Double(n) - mean * mean
        #expect(abs(mean - 0.5) < 0.005)
        #expect(abs(variance - 1.0 / 12) < 0.002)
        #expect(abs(sd / Double(n) - 0.5) < 0.005)
    }

    @Test func normalMoments() {
        var rng = RNG(seed: 2)
        let n = 100_000
        var s = 0.0, s2 = 0.0, beyond2 = 0
        for _ in 0..<n {
            let z = Double(rng.normal())
            s += z; s2 += z * z
            if abs(z) > 2 { beyond2 += 1 }
        }
        let mean = s / Double(n), std = (s2 / Double(n) - mean * mean).squareRoot()
        #expect(abs(mean) < 0.015)
        #expect(abs(std - 1) < 0.015)
        // P(|Z| > 2) = 0.0455 for a true normal.
        #expect(abs(Double(beyond2) / Double(n) - 0.0455) < 0.004)
    }

    @Test func belowIsInRangeAndRoughlyUniform() {
        var rng = RNG(seed: 3)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 {
            let k = rng.below(7)
            #expect(k >= 0 && k < 7)
            counts[k] += 1
        }
        // Expected 10000 each; the standard deviation of a count is about 93.
        for c in counts { #expect(abs(c - 10_000) < 500, "\(counts)") }
        #expect(rng.below(1) == 0)
    }

    @Test func shuffleIsAPermutation() {
        var rng = RNG(seed: 4)
        var a = Array(0..<50)
        rng.shuffle(&a)
        #expect(a.sorted() == Array(0..<50))
        #expect(a != Array(0..<50))
        let p = rng.permutation(20)
        #expect(p.sorted() == Array(0..<20))
        var empty: [Int] = []
        rng.shuffle(&empty)
        #expect(empty.isEmpty)
    }

    @Test func fnv1aIsTheStandardHash() {
        // Published FNV-1a 64-bit test vectors.
        #expect(RNG.fnv1a("") == 0xCBF2_9CE4_8422_2325)
        #expect(RNG.fnv1a("a") == 0xAF63_DC4C_8601_EC8C)
    }
}

@Suite struct InitializerTests {
    func std(_ t: Tensor) -> (mean: Double, std: Double) {
        var s = 0.0, s2 = 0.0
        for i in 0..<t.count { s += Double(t[i]); s2 += Double(t[i]) * Double(t[i]) }
        let mean = s / Double(t.count)
        return (mean, (s2 / Double(t.count) - mean * mean).squareRoot())
    }

    @Test(arguments: [(Initializer.heNormal, 0.1414213562), (.heUniform, 0.1414213562),
                      (.glorotUniform, 0.1154700538), (.glorotNormal, 0.1154700538)])
    func standardDeviation(_ initializer: Initializer, _ expected: Double) {
        // fanIn 100, fanOut 50: He std sqrt(2/100), Glorot std sqrt(2/150).
        var rng = RNG(seed: 5)
        let t = Tensor(shape: [200, 100])
        initializer.fill(t, fanIn: 100, fanOut: 50, rng: &rng)
        let (mean, s) = std(t)
        #expect(abs(mean) < 0.005)
        #expect(abs(s / expected - 1) < 0.03, "std \(s), expected \(expected)")
    }

    @Test func uniformBounds() {
        var rng = RNG(seed: 6)
        let t = Tensor(shape: [1000])
        Initializer.heUniform.fill(t, fanIn: 24, fanOut: 1, rng: &rng)
        #expect(t.array.allSatisfy { abs($0) <= 0.5 })
        Initializer.zeros.fill(t, fanIn: 1, fanOut: 1, rng: &rng)
        #expect(t.array.allSatisfy { $0 == 0 })
    }
}
