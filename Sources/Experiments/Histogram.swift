/// Counts of values in equal-width bins over `[min, max]` of the values, with the bin
/// count from Sturges' rule (SPEC §7), as in the papers' Figure 1.
///
/// `edges` has `counts.count + 1` entries; bin `i` is `[edges[i], edges[i+1])`, and the
/// last bin also holds `edges.last` (the maximum). Non-finite values (a diverged run)
/// are not binned but counted in `nonFinite`, so a histogram always encodes as JSON.
public struct Histogram: Sendable, Codable, Equatable {
    public let edges: [Double]
    public let counts: [Int]
    public let nonFinite: Int

    public init(edges: [Double], counts: [Int], nonFinite: Int = 0) {
        precondition(edges.count == counts.count + 1, "\(edges.count) edges for \(counts.count) bins")
        self.edges = edges
        self.counts = counts
        self.nonFinite = nonFinite
    }

    /// Sturges' rule `ceil(log2 n) + 1`, at least 1 bin. Computed in integers:
    /// `ceil(log2 n)` is the bit width of `n - 1`, which is exact at powers of two where
    /// a floating-point `log2` could land a hair above the integer.
    public static func sturgesBinCount(_ n: Int) -> Int {
        guard n > 1 else { return 1 }
        return (Int.bitWidth - (n - 1).leadingZeroBitCount) + 1
    }

    /// Bins `values` (Sturges' rule on the finite ones unless `bins` is given). A
    /// degenerate range (all values equal, or none) is widened to `[v - 0.5, v + 0.5]`,
    /// NumPy's convention, so the single value falls in a bin of positive width.
    public init(_ values: UnsafeBufferPointer<Float>, bins: Int? = nil) {
        var lo = Double.infinity, hi = -Double.infinity
        var finite = 0
        for v in values where v.isFinite {
            let d = Double(v)
            if d < lo { lo = d }
            if d > hi { hi = d }
            finite += 1
        }
        if finite == 0 { lo = 0; hi = 0 }
        if lo == hi { lo -= 0.5; hi += 0.5 }
        let k = Swift.max(1, bins ?? Histogram.sturgesBinCount(finite))
        let width = (hi - lo) / Double(k)
        var e = (0...k).map { lo + Double($0) * width }
        e[k] = hi  // the maximum lands exactly on the closing edge
        var c = [Int](repeating: 0, count: k)
        for v in values where v.isFinite {
            let d = Double(v)
            var i = Swift.min(k - 1, Swift.max(0, Int((d - lo) / width)))
            // The division can be off by one ulp near an edge; the stored edges decide.
            if i < k - 1, d >= e[i + 1] { i += 1 } else if i > 0, d < e[i] { i -= 1 }
            c[i] += 1
        }
        self.init(edges: e, counts: c, nonFinite: values.count - finite)
    }

    public init(_ values: [Float], bins: Int? = nil) {
        self = values.withUnsafeBufferPointer { Histogram($0, bins: bins) }
    }

    public var binCount: Int { counts.count }
    /// Number of binned (finite) values.
    public var total: Int { counts.reduce(0, +) }

    /// Fraction of the binned values in each bin (zeros when empty).
    public var fractions: [Double] {
        let n = Double(total)
        return counts.map { n > 0 ? Double($0) / n : 0 }
    }

    /// Fraction per unit of x: comparable between histograms with different bin widths,
    /// which is what overlaying one histogram per cycle needs.
    public var densities: [Double] {
        let n = Double(total)
        return counts.indices.map { i in
            let w = edges[i + 1] - edges[i]
            return n > 0 && w > 0 ? Double(counts[i]) / (n * w) : 0
        }
    }
}
