/// Moments, tail mass and Sturges histogram of one set of values (SPEC §7).
///
/// Statistics are over the finite values only (`histogram.nonFinite` counts the rest),
/// so a diverged cycle still produces a record that encodes as JSON.
public struct DistributionSummary: Sendable, Codable, Equatable {
    /// Number of values, finite or not.
    public var count: Int
    public var mean: Double
    /// Population standard deviation (divides by the count, like NumPy's `std`).
    public var std: Double
    public var meanAbs: Double
    /// Mean of `x^2`: for activations this is EAA.
    public var meanSquare: Double
    /// Fraction of the finite values with `|x| > thresholds[k]`; empty when no thresholds.
    public var tailMass: [Double]
    public var histogram: Histogram

    public init(count: Int, mean: Double, std: Double, meanAbs: Double, meanSquare: Double,
                tailMass: [Double], histogram: Histogram) {
        self.count = count
        self.mean = mean
        self.std = std
        self.meanAbs = meanAbs
        self.meanSquare = meanSquare
        self.tailMass = tailMass
        self.histogram = histogram
    }

    /// Two passes in Double (mean first, then squared deviations): a one-pass formula
    /// loses the small gradient variances to cancellation.
    public init(_ values: UnsafeBufferPointer<Float>, tailThresholds: [Double] = []) {
        var n = 0
        var sum = 0.0
        for v in values where v.isFinite { sum += Double(v); n += 1 }
        let mean = n > 0 ? sum / Double(n) : 0
        var dev = 0.0, abs = 0.0, sq = 0.0
        var tails = [Int](repeating: 0, count: tailThresholds.count)
        for v in values where v.isFinite {
            let d = Double(v)
            dev += (d - mean) * (d - mean)
            abs += Swift.abs(d)
            sq += d * d
            for k in tailThresholds.indices where Swift.abs(d) > tailThresholds[k] { tails[k] += 1 }
        }
        let inv = n > 0 ? 1 / Double(n) : 0
        self.init(count: values.count, mean: mean, std: (dev * inv).squareRoot(), meanAbs: abs * inv,
                  meanSquare: sq * inv, tailMass: tails.map { Double($0) * inv },
                  histogram: Histogram(values))
    }

    public init(_ values: [Float], tailThresholds: [Double] = []) {
        self = values.withUnsafeBufferPointer { DistributionSummary($0, tailThresholds: tailThresholds) }
    }
}
