/// The project's one random generator: xoshiro256** seeded through SplitMix64.
///
/// Fixed algorithms, so the same seed gives the same numbers on every platform;
/// `SystemRandomNumberGenerator` is neither seedable nor fast (DESIGN.md measured
/// 140x slower). Each use (initialisation, split, shuffling, dropout, random pruning)
/// takes its own derived stream, so adding draws to one never shifts another.
public struct RNG: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = RNG.splitMix(&sm); s1 = RNG.splitMix(&sm)
        s2 = RNG.splitMix(&sm); s3 = RNG.splitMix(&sm)
    }

    /// A generator for the named purpose, independent of every other stream of `seed`.
    public init(seed: UInt64, stream: String) {
        self.init(seed: seed ^ (RNG.fnv1a(stream) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// The generator's position as four words, for checkpoints that must continue a stream
    /// exactly where it stopped (`init(state:)` takes it back).
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// The generator at a position `state` returned; nil unless given four words.
    public init?(state: [UInt64]) {
        guard state.count == 4 else { return nil }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// A child stream (e.g. per epoch) derived from this generator's state.
    public mutating func derive(_ stream: String) -> RNG {
        RNG(seed: next() ^ RNG.fnv1a(stream))
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = RNG.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = RNG.rotl(s3, 45)
        return result
    }

    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a over the UTF-8 bytes: a stable hash (Swift's `Hasher` is seeded per process).
    public static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniformDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform integer in 0 ..< n, exactly uniform (Lemire's multiply with rejection).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            let m = r.multipliedFullWidth(by: bound)
            if m.low >= threshold { return Int(m.high) }
        }
    }

    /// Standard normal via Box–Muller (one value per call; simple and deterministic).
    public mutating func normal() -> Float {
        let u1 = Swift.max(uniformDouble(), 1e-300)
        let u2 = uniformDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, below(i + 1))
        }
    }

    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }
}

import RealModule
@inline(__always) func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Double.cos(x) }
