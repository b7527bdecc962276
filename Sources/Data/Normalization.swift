/// Per-channel mean and standard deviation for input standardisation, computed on the
/// training split only so no validation or test information leaks into training.
public struct ChannelStatistics: Sendable, Equatable {
    public let mean: [Float]
    /// Population standard deviation; a constant channel gets 1 so applying it stays finite.
    public let std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && !mean.isEmpty)
        self.mean = mean
        self.std = std
    }

    public var channels: Int { mean.count }

    /// Channel-first samples ([C, H, W] or [C, L]) have C channels; a flat sample ([D]) is one channel.
    public static func channelCount(_ sampleShape: [Int]) -> Int {
        sampleShape.count >= 2 ? sampleShape[0] : 1
    }

    /// Statistics of `dataset`, accumulated in Double (60k x 784 Float sums lose digits).
    public static func compute(_ dataset: Dataset) -> ChannelStatistics {
        let c = channelCount(dataset.sampleShape)
        let plane = dataset.sampleSize / c
        var sum = [Double](repeating: 0, count: c)
        var sumSq = [Double](repeating: 0, count: c)
        dataset.features.withUnsafeBufferPointer { x in
            for s in 0..<dataset.count {
                for ch in 0..<c {
                    let p = x.baseAddress! + (s * c + ch) * plane
                    // Per-plane partial sums in Float keep the inner loop vectorisable; the
                    // plane is small (<= a few thousand) so Float is accurate enough there.
                    var a: Float = 0, b: Float = 0
                    for i in 0..<plane { let v = p[i]; a += v; b += v * v }
                    sum[ch] += Double(a)
                    sumSq[ch] += Double(b)
                }
            }
        }
        let n = Double(dataset.count * plane)
        guard n > 0 else {
            return ChannelStatistics(mean: [Float](repeating: 0, count: c), std: [Float](repeating: 1, count: c))
        }
        var mean = [Float](), std = [Float]()
        for ch in 0..<c {
            let m = sum[ch] / n
            let v = Swift.max(sumSq[ch] / n - m * m, 0)
            mean.append(Float(m))
            std.append(v > 1e-12 ? Float(v.squareRoot()) : 1)
        }
        return ChannelStatistics(mean: mean, std: std)
    }

    /// (x - mean) / std per channel, in place.
    public func apply(to dataset: inout Dataset) {
        let c = ChannelStatistics.channelCount(dataset.sampleShape)
        precondition(c == channels, "statistics for \(channels) channels applied to \(dataset.name) with \(c)")
        let plane = dataset.sampleSize / c
        let count = dataset.count
        let inv = std.map { 1 / $0 }
        dataset.features.withUnsafeMutableBufferPointer { x in
            for s in 0..<count {
                for ch in 0..<c {
                    let p = x.baseAddress! + (s * c + ch) * plane
                    let m = mean[ch], k = inv[ch]
                    for i in 0..<plane { p[i] = (p[i] - m) * k }
                }
            }
        }
    }
}

extension Splits {
    /// Standardises all three sets with the training set's per-channel statistics and returns them.
    @discardableResult
    public mutating func normalize() -> ChannelStatistics {
        let stats = ChannelStatistics.compute(train)
        stats.apply(to: &train)
        stats.apply(to: &validation)
        stats.apply(to: &test)
        return stats
    }
}
