import Foundation

/// `lambda_m = 100 * (1 - p)^m`: the percent of prunable weights still unpruned after
/// `m` cycles at pruning rate `p` (SPEC §1). The papers' tables are indexed by it.
public func percentRemaining(rate p: Double, cycle m: Int) -> Double {
    100 * pow(1 - p, Double(m))
}

/// Checks shared by everything that takes a pruning rate.
public enum PruningRate {
    /// A pruning rate must remove something and keep something: `0 < p < 1`.
    public static func check(_ p: Double, parameter: String = "p (pruning rate)") throws(ScheduleError) {
        guard p.isFinite else { throw .notFinite(parameter: parameter) }
        guard p > 0, p < 1 else { throw .outsideOpenUnitInterval(parameter: parameter, value: p) }
    }
}
