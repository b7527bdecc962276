/// One JSON line of a TV-PGD run: the state at the end of cycle `cycle` (1-based) of one
/// (method, target sparsity, seed). One-shot and gradual pruning are one cycle long.
public struct TVPGDRecord: Codable, Equatable, Sendable {
    public var method: String
    public var kind: String
    public var target: Double
    public var seed: UInt64
    public var cycle: Int
    public var cycles: Int
    /// Sparsity counted from the mask at the end of the cycle.
    public var measuredSparsity: Double
    /// Best validation accuracy and the test accuracy there, among this cycle's evaluation
    /// points at which the mask was at the target sparsity.
    public var bestValAccuracy: Double
    public var earlyStopTestAccuracy: Double
    /// Test accuracy at the end of the cycle.
    public var finalTestAccuracy: Double
    /// Weights kept at the end of this cycle that were pruned at any earlier mask update of the
    /// run (SPEC §6, the paper's Fig. 1; not only at the previous cycle's end). 0 for one-shot.
    public var weightsRecovered: Int
    /// Jaccard distance between the kept sets at the end of this cycle and of cycle 1.
    public var maskDistance: Double
    public var seconds: Double
    /// The machine and libraries that computed the record (not part of the spec's hash).
    public var environment: RunEnvironment?

    enum CodingKeys: String, CodingKey {
        case method, kind, target, seed, cycle, cycles, measuredSparsity = "measured_sparsity"
        case bestValAccuracy = "best_val_accuracy", earlyStopTestAccuracy = "early_stop_test_accuracy"
        case finalTestAccuracy = "final_test_accuracy", weightsRecovered = "weights_recovered"
        case maskDistance = "mask_distance", seconds, environment
    }
}
