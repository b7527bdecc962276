/// Experiments: training loop, experiment specs, runner, run store and reports.

/// Test accuracy at the point of best validation accuracy (SPEC §5).
///
/// Ties keep the earlier point: a later evaluation must be strictly better on
/// validation to move the early-stop point.
public struct EarlyStopAccuracy: Sendable, Equatable, Codable {
    public private(set) var bestValidation: Double = -1
    public private(set) var testAtBest: Double = 0
    public private(set) var iterationAtBest: Int = 0

    public init() {}

    public mutating func record(iteration: Int, validation: Double, test: Double) {
        if validation > bestValidation {
            bestValidation = validation
            testAtBest = test
            iterationAtBest = iteration
        }
    }

    public var isEmpty: Bool { bestValidation < 0 }
}
