import Tensor

/// Comparisons between masks (1 = kept) from the cyclical-pruning paper (SPEC §6).
/// Each mask set is a list of tensors aligned by position, e.g. `magprune`'s output.
public enum MaskMetrics {
    /// Entries pruned in `earlier` and kept in `now`: weights that recovered.
    public static func recovered(earlier: [Tensor], now: [Tensor]) throws -> Int {
        try check(earlier, now)
        var n = 0
        for (a, b) in zip(earlier, now) {
            for i in 0..<a.count where a[i] == 0 && b[i] != 0 { n += 1 }
        }
        return n
    }

    /// Jaccard distance `1 - |A ∩ B| / |A ∪ B|` between the kept sets; 0 when both are empty.
    public static func jaccardDistance(_ a: [Tensor], _ b: [Tensor]) throws -> Double {
        try check(a, b)
        var inter = 0, union = 0
        for (x, y) in zip(a, b) {
            for i in 0..<x.count {
                let kx = x[i] != 0, ky = y[i] != 0
                if kx && ky { inter += 1 }
                if kx || ky { union += 1 }
            }
        }
        return union == 0 ? 0 : 1 - Double(inter) / Double(union)
    }

    static func check(_ a: [Tensor], _ b: [Tensor]) throws {
        guard a.count == b.count else { throw PruningError.maskCountMismatch(expected: a.count, got: b.count) }
        for (i, (x, y)) in zip(a, b).enumerated() where x.shape != y.shape {
            throw PruningError.shapeMismatch(what: "mask", parameter: "#\(i)", expected: x.shape, got: y.shape)
        }
    }
}

/// Weight recovery over a whole run: "pruned at an earlier step and unpruned now" counts
/// a weight pruned at *any* earlier recorded step, so it remembers every entry ever pruned.
public struct WeightRecoveryTracker: Sendable {
    /// Per mask, per entry: pruned at some recorded step (empty before the first record).
    /// Public so a checkpoint can store it and continue the count.
    public private(set) var everPruned: [[Bool]] = []

    public init() {}

    /// A tracker continuing from `everPruned` (read back from a checkpoint).
    public init(everPruned: [[Bool]]) { self.everPruned = everPruned }

    /// Records the masks of the current step and returns how many kept entries were pruned
    /// at some earlier recorded step (0 for the first call).
    public mutating func record(_ masks: [Tensor]) throws -> Int {
        if everPruned.isEmpty {
            everPruned = masks.map { m in (0..<m.count).map { m[$0] == 0 } }
            return 0
        }
        guard masks.count == everPruned.count else {
            throw PruningError.maskCountMismatch(expected: everPruned.count, got: masks.count)
        }
        var n = 0
        for (l, m) in masks.enumerated() {
            guard m.count == everPruned[l].count else {
                throw PruningError.shapeMismatch(what: "mask", parameter: "#\(l)",
                                                 expected: [everPruned[l].count], got: m.shape)
            }
            for i in 0..<m.count {
                if m[i] != 0 { if everPruned[l][i] { n += 1 } } else { everPruned[l][i] = true }
            }
        }
        return n
    }
}
