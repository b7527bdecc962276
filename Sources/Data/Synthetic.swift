import Tensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Generated datasets for tests and benchmarks: no files, deterministic per seed.
public enum Synthetic {
    /// A learnable classification problem: each class has its own Gaussian mean and
    /// every sample is that mean plus unit Gaussian noise. Means are scaled by
    /// `separation / sqrt(sampleSize)`, so the distance between two class means is
    /// about `separation * sqrt(2)` noise standard deviations whatever the sample size;
    /// the default (3) gives a problem a linear model learns to roughly 95-99% accuracy
    /// but not instantly to 100%. Classes are balanced (count / classes each, the
    /// first `count % classes` classes one more) and appear in seeded random order.
    public static func classification(count: Int, sampleShape: [Int], classes: Int, seed: UInt64,
                                      separation: Float = 3, name: String = "synthetic") -> Dataset {
        precondition(count >= 0 && classes > 0 && !sampleShape.isEmpty && sampleShape.allSatisfy { $0 > 0 })
        let d = sampleShape.reduce(1, *)
        // Separate streams: the class means stay the same when only `count` changes.
        var meanRNG = RNG(seed: seed, stream: "synthetic-means")
        var sampleRNG = RNG(seed: seed, stream: "synthetic-samples")
        let scale = separation / Float(d).squareRoot()
        var means = [Float](repeating: 0, count: classes * d)
        for i in means.indices { means[i] = meanRNG.normal() * scale }

        var labels = (0..<count).map { Int32($0 % classes) }
        sampleRNG.shuffle(&labels)
        // Each sample draws its noise from its own stream, so the data is the same
        // whatever Parallel.threads is, and samples can be generated concurrently.
        let noiseBase = sampleRNG.next()
        let features = [Float](unsafeUninitializedCapacity: count * d) { dst, initialized in
            means.withUnsafeBufferPointer { mu in
                let out = SendablePointer(dst.baseAddress!)
                let muP = SendablePointer(UnsafeMutablePointer(mutating: mu.baseAddress!))
                let labelsCopy = labels
                Parallel.forChunks(count, minimum: Swift.max(1, (1 << 16) / d)) { lo, hi in
                    for s in lo..<hi {
                        var rng = RNG(seed: mix(noiseBase &+ UInt64(s)))
                        let x = out.p + s * d
                        fillNormal(x, d, &rng)
                        let m = muP.p + Int(labelsCopy[s]) * d
                        for j in 0..<d { x[j] += m[j] }
                    }
                }
            }
            initialized = count * d
        }
        return Dataset(name: name, features: features, labels: labels, sampleShape: sampleShape, classes: classes)
    }

    /// Standard normals by Marsaglia's polar method in Float (one log, no trig, both
    /// outputs used): benchmark-sized sets (50k x 3072) took 5 s with `RNG.normal()`.
    static func fillNormal(_ out: UnsafeMutablePointer<Float>, _ n: Int, _ rng: inout RNG) {
        var i = 0
        while i < n {
            let x = 2 * rng.uniform() - 1, y = 2 * rng.uniform() - 1
            let q = x * x + y * y
            if q >= 1 || q == 0 { continue }
            let f = (-2 * logf(q) / q).squareRoot()
            (out + i).initialize(to: x * f)
            if i + 1 < n { (out + i + 1).initialize(to: y * f) }
            i += 2
        }
    }

    /// SplitMix64's finaliser: turns consecutive sample numbers into unrelated seeds
    /// (plain consecutive seeds would give overlapping SplitMix state sequences).
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
