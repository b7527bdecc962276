import Data
import NN
import Testing
@testable import Experiments

struct EarlyStopTests {
    @Test func reportsTestAccuracyAtBestValidation() {
        var e = EarlyStopAccuracy()
        #expect(e.isEmpty)
        // (iteration, validation, test): best validation 0.80 at 200, where test was 0.71.
        for (t, v, a) in [(100, 0.70, 0.69), (200, 0.80, 0.71), (300, 0.75, 0.78), (400, 0.80, 0.90)] {
            e.record(iteration: t, validation: v, test: a)
        }
        #expect(e.bestValidation == 0.80)
        #expect(e.testAtBest == 0.71)  // a later tie on validation does not move the point
        #expect(e.iterationAtBest == 200)
    }
}

@Suite(.serialized) struct TrainerTests {
    private func splits() throws -> Splits {
        try DataSource.load(dataset: "synthetic", directory: nil, split: "standard", validationFraction: 0.1, seed: 1)
    }

    private func train(seed: UInt64) throws -> TrainingResult {
        let s = try splits()
        let model = try ModelZoo.make("mlp", inputShape: s.train.sampleShape, classes: s.train.classes, seed: seed)
        let trainer = Trainer(model: model, optimizer: SGD(momentum: 0.9, weightDecay: 1e-4), splits: s, batchSize: 64, seed: seed)
        return trainer.train(iterations: 120, evalEvery: 40, lr: { _ in 0.02 })
    }

    @Test func heartbeatReportsBetweenEvaluations() throws {
        let s = try splits()
        let model = try ModelZoo.make("mlp", inputShape: s.train.sampleShape, classes: s.train.classes, seed: 1)
        let trainer = Trainer(model: model, optimizer: SGD(), splits: s, batchSize: 64, seed: 1)
        var beats: [(Int, Double)] = []
        _ = trainer.train(iterations: 6, evalEvery: 3, lr: { _ in 0.01 }, heartbeatSeconds: 0) { done, loss, _ in
            beats.append((done, loss))
        }
        // Every step (the interval is 0 s), with the mean loss of the current evaluation interval.
        #expect(beats.map(\.0) == [1, 2, 3, 4, 5, 6])
        #expect(beats.allSatisfy { $0.1 > 0 && $0.1.isFinite })
    }

    @Test func learnsAndEvaluatesAtTheCadence() throws {
        let r = try train(seed: 1)
        #expect(r.points.map(\.iteration) == [40, 80, 120])
        #expect(r.finalTestAccuracy > 0.5)  // chance is 0.1
        #expect(r.points.last!.trainLoss < r.points.first!.trainLoss)
        let best = r.points.max { $0.validationAccuracy < $1.validationAccuracy }!
        #expect(r.earlyStop.bestValidation == best.validationAccuracy)
    }

    @Test func sameSeedSameNumbers() throws {
        let a = try train(seed: 5), b = try train(seed: 5), c = try train(seed: 6)
        #expect(a.points == b.points)
        #expect(a.points != c.points)
    }
}
