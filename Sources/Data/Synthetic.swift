import Tensor

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
        let features = [Float](unsafeUninitializedCapacity: count * d) { dst, initialized in
            means.withUnsafeBufferPointer { mu in
                for s in 0..<count {
                    let m = mu.baseAddress! + Int(labels[s]) * d
                    let out = dst.baseAddress! + s * d
                    for j in 0..<d { (out + j).initialize(to: m[j] + sampleRNG.normal()) }
                }
            }
            initialized = count * d
        }
        return Dataset(name: name, features: features, labels: labels, sampleShape: sampleShape, classes: classes)
    }
}
