/// Percentiles by linear interpolation between closest ranks (NumPy's default):
/// the `q`-th percentile of sorted `x[0..<n]` sits at position `q / 100 * (n - 1)`.
///
/// The runner uses `absolute` on the dense network's gradients at cycle 0 to fix the
/// tail thresholds (95th and 99th percentile `|g|`) that later cycles are measured against.
package enum Percentile {
    /// The `q`-th percentile (`q` in 0...100) of the finite values; nil when there are none.
    package static func value(_ values: [Float], _ q: Double) -> Double? {
        values.withUnsafeBufferPointer { of($0, [q], absolute: false).first ?? nil }
    }

    /// The `q`-th percentile of `|x|` over the finite values; nil when there are none.
    package static func absolute(_ values: [Float], _ q: Double) -> Double? {
        values.withUnsafeBufferPointer { of($0, [q], absolute: true).first ?? nil }
    }

    /// Several percentiles with one sort.
    package static func of(_ values: UnsafeBufferPointer<Float>, _ qs: [Double], absolute: Bool) -> [Double?] {
        precondition(qs.allSatisfy { $0 >= 0 && $0 <= 100 }, "percentiles must lie in 0...100, got \(qs)")
        var sorted: [Float] = []
        sorted.reserveCapacity(values.count)
        for v in values where v.isFinite { sorted.append(absolute ? Swift.abs(v) : v) }
        guard !sorted.isEmpty else { return qs.map { _ in nil } }
        sorted.sort()
        return qs.map { q in
            let pos = q / 100 * Double(sorted.count - 1)
            let i = Int(pos.rounded(.down))
            let j = Swift.min(i + 1, sorted.count - 1)
            let t = pos - Double(i)
            return Double(sorted[i]) + t * (Double(sorted[j]) - Double(sorted[i]))
        }
    }
}
