/// One JSON line of the run store: the outcome of cycle `m` of one (schedule, seed) run.
public struct CycleRecord: Codable, Equatable, Sendable {
    public struct OracleOutcome: Codable, Equatable, Sendable {
        /// Validation accuracy reached with each candidate peak.
        public var candidates: [Candidate]
        /// The well-tuned peak: best validation accuracy.
        public var bestPeak: Double
        /// Smallest and largest peak within 0.5 points of the best validation accuracy.
        public var feasibleLow: Double
        public var feasibleHigh: Double
        enum CodingKeys: String, CodingKey {
            case candidates, bestPeak = "best_peak", feasibleLow = "feasible_low", feasibleHigh = "feasible_high"
        }

        /// The feasible interval spans the peaks within this much validation accuracy of the best (SPEC §4).
        public static let feasibleMargin = 0.005

        public init(candidates: [Candidate], bestPeak: Double, feasibleLow: Double, feasibleHigh: Double) {
            self.candidates = candidates
            self.bestPeak = bestPeak
            self.feasibleLow = feasibleLow
            self.feasibleHigh = feasibleHigh
        }

        /// The outcome of a grid search: the best candidate (the first of equals, in grid order)
        /// and the smallest and largest peak within 0.5 points of its validation accuracy.
        public init?(candidates: [Candidate]) {
            // max(by:) keeps the first of equal elements.
            guard let best = candidates.max(by: { $0.valAccuracy < $1.valAccuracy }) else { return nil }
            let feasible = candidates.filter { $0.valAccuracy >= best.valAccuracy - Self.feasibleMargin }.map(\.peak)
            self.init(candidates: candidates, bestPeak: best.peak, feasibleLow: feasible.min()!, feasibleHigh: feasible.max()!)
        }
    }

    public struct Candidate: Codable, Equatable, Sendable {
        public var peak: Double
        public var valAccuracy: Double
        enum CodingKeys: String, CodingKey { case peak, valAccuracy = "val_accuracy" }
    }

    public var schedule: String
    public var seed: UInt64
    public var cycle: Int
    /// Nominal lambda = 100 (1 - p)^m.
    public var percentRemaining: Double
    /// Lambda counted from the masks over every prunable weight, layers left out of pruning
    /// (`pruning.exclude`) included, as the papers count it (their 5.72 for a nominal 5.50).
    public var measuredPercentRemaining: Double
    /// Percent remaining per prunable parameter, counted from its mask.
    public var layers: [String: Double]
    public var peakLR: Double
    public var bestValAccuracy: Double
    public var earlyStopTestAccuracy: Double
    public var finalTestAccuracy: Double
    public var trainLoss: Double
    public var iterations: Int
    public var seconds: Double
    public var oracle: OracleOutcome?
    /// SPEC §7 measurements at the end of the cycle, when the spec asks for them.
    public var diagnostics: CycleDiagnostics?
    /// Lambda counted over the layers that are pruned only (nil in records before it existed).
    public var prunedLayersPercentRemaining: Double?
    /// The machine and libraries that computed the record (not part of the spec's hash).
    public var environment: RunEnvironment?

    enum CodingKeys: String, CodingKey {
        case schedule, seed, cycle, percentRemaining = "percent_remaining"
        case measuredPercentRemaining = "measured_percent_remaining", layers, peakLR = "peak_lr"
        case bestValAccuracy = "best_val_accuracy", earlyStopTestAccuracy = "early_stop_test_accuracy"
        case finalTestAccuracy = "final_test_accuracy", trainLoss = "train_loss", iterations, seconds, oracle, diagnostics
        case prunedLayersPercentRemaining = "pruned_layers_percent_remaining", environment
    }
}
