import Data
import Experiments
import Foundation
import NN
import Tensor

/// `topiary plan`: the units of a spec, their state in a run directory and an estimate of
/// their compute time from a short timed probe of the model at the spec's batch size.
public struct StudyPlan: Codable, Sendable {
    public struct Unit: Codable, Sendable {
        public var index: Int
        public var name: String
        public var state: StudyStatus.State
        public var iterations: Int
        public var estimatedSeconds: Double?
    }

    public var directory: String
    public var units: [Unit]
    public var iterations: Int
    public var estimatedSeconds: Double?
    /// What the estimate was measured on.
    public var probe: Probe?

    public struct Probe: Codable, Sendable {
        public var secondsPerIteration: Double
        public var secondsPerEvaluation: Double
        public var threads: Int
    }

    /// Validates `spec` (its units must be plannable) and, unless `probeSteps` is 0, times
    /// `probeSteps` training steps and one evaluation pass on the first seed's data.
    public init(spec: ExperimentSpec, directory: String, probeSteps: Int = 5) throws {
        let all = try spec.units()
        self.directory = directory
        var states: [Int: StudyStatus.State] = [:]
        if FileManager.default.fileExists(atPath: RunStore(directory: directory).file("spec.json").path) {
            let stored = try RunStore(directory: directory).loadSpec()
            guard stored.canonicalJSON() == spec.canonicalJSON() else {
                throw RunError.io("\(directory) holds a different experiment (\(stored.name)-\(stored.hash)); choose another --out")
            }
            for u in try StudyStatus(directory: directory).units { states[u.index] = u.state }
        }
        let measured = probeSteps > 0 ? try Self.measure(spec: spec, steps: probeSteps) : nil
        probe = measured
        let evalEvery = max(1, spec.training.evalEvery)
        let planned = all.map { u in
            let estimate = measured.map { p in
                Double(u.iterations) * p.secondsPerIteration + Double(u.iterations / evalEvery + 1) * p.secondsPerEvaluation
            }
            return Unit(index: u.index, name: u.name, state: states[u.index] ?? .pending, iterations: u.iterations,
                        estimatedSeconds: estimate)
        }
        units = planned
        iterations = all.reduce(0) { $0 + $1.iterations }
        estimatedSeconds = measured == nil ? nil : planned.reduce(0) { $0 + ($1.estimatedSeconds ?? 0) }
    }

    static func measure(spec: ExperimentSpec, steps: Int) throws -> Probe {
        let seed = spec.seeds.first ?? 0
        let splits = try DataSource.load(dataset: spec.data.dataset, directory: spec.data.dataDir, split: spec.data.split,
                                         validationFraction: spec.data.validationFraction, seed: seed)
        try MemoryEstimate.requireFit(model: spec.model, splits: splits, batchSize: spec.training.batchSize)
        let model = try ModelZoo.make(spec.model, inputShape: splits.train.sampleShape, classes: splits.train.classes, seed: seed)
        let trainer = Trainer(model: model, optimizer: SGD(momentum: 0.9), splits: splits, batchSize: spec.training.batchSize,
                              seed: seed, stream: "plan.probe", augment: spec.data.augment)
        trainer.step(lr: 0.001)  // first step allocates workspaces: not timed
        let t0 = Date()
        for _ in 0..<steps { trainer.step(lr: 0.001) }
        let perStep = Date().timeIntervalSince(t0) / Double(steps)
        // One evaluation batch, scaled to the validation and test sets an evaluation covers.
        let sample = splits.test.subset(Array(0..<min(splits.test.count, trainer.evalBatchSize)), name: "plan.probe")
        let t1 = Date()
        _ = trainer.evaluate(sample)
        let perEval = Date().timeIntervalSince(t1) * Double(splits.validation.count + splits.test.count) / Double(max(1, sample.count))
        return Probe(secondsPerIteration: perStep, secondsPerEvaluation: perEval, threads: Parallel.threads)
    }

    public func text() -> String {
        var out = "index  unit                                      state        iterations  estimate\n"
        for u in units {
            let est = u.estimatedSeconds.map { StudyStatus.duration($0) } ?? "-"
            out += String(repeating: " ", count: max(0, 5 - String(u.index).count)) + "\(u.index)  " + pad(u.name, 41) + " "
                + pad(u.state.rawValue, 12) + " " + pad(String(u.iterations), 11) + " " + est + "\n"
        }
        let total = estimatedSeconds.map { ", about \(StudyStatus.duration($0)) one after the other" } ?? ""
        out += "\(units.count) units, \(iterations) iterations\(total)"
        if let p = probe {
            out += String(format: " (probe: %.2f ms per iteration, %.2f s per evaluation, %d threads)",
                          1000 * p.secondsPerIteration, p.secondsPerEvaluation, p.threads)
        }
        return out
    }

    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
}
