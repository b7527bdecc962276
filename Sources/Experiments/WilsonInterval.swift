/// Wilson score interval for a binomial proportion.
///
/// Preferred over the normal ("Wald") interval because it stays inside [0, 1] and keeps close
/// to nominal coverage for rates near 0 or 1, such as one-shot pruning's few-percent
/// success on adversarial problems.
public struct WilsonInterval: Sendable, Equatable {
    public let low: Double
    public let high: Double

    /// The two-sided 95% normal quantile.
    public static let z95 = 1.959963984540054

    /// Interval for `successes` out of `trials` (`trials > 0`, `0 <= successes <= trials`).
    public init(successes: Int, trials: Int, z: Double = WilsonInterval.z95) {
        precondition(trials > 0 && successes >= 0 && successes <= trials, "Wilson: need 0 <= successes <= trials, trials > 0")
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        // Clamp away rounding just outside [0, 1] at p = 0 or 1.
        low = Swift.max(0, centre - half)
        high = Swift.min(1, centre + half)
    }

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }
}
