import Data
import Foundation
import NN
import Tensor

/// One evaluation point during training.
public struct EvaluationPoint: Sendable, Codable, Equatable {
    public var iteration: Int
    public var trainLoss: Double
    public var validationAccuracy: Double
    public var testAccuracy: Double
}

/// What a training phase produced.
public struct TrainingResult: Sendable {
    public var earlyStop: EarlyStopAccuracy
    public var points: [EvaluationPoint]
    public var finalValidationAccuracy: Double
    public var finalTestAccuracy: Double
    /// Mean training loss over the last evaluation interval.
    public var trainLoss: Double
    public var seconds: Double
}

/// Progress of a running phase, for the CLI's progress lines.
public struct TrainingProgress: Sendable {
    public var iteration: Int
    public var iterations: Int
    public var point: EvaluationPoint
    public var elapsed: Double
    public var secondsLeft: Double { iteration > 0 ? elapsed / Double(iteration) * Double(iterations - iteration) : 0 }
}

/// The one training loop every method shares: mini-batch SGD-family updates with a
/// per-iteration learning rate, and validation / test evaluation every `evalEvery`
/// iterations (and at the end) feeding the early-stop accuracy.
public final class Trainer {
    /// The model trained in place.
    public let model: Model
    /// The optimizer; its state persists across `train` calls of this trainer.
    public let optimizer: any Optimizer
    public let splits: Splits
    public let batcher: Batcher
    public let evalBatchSize: Int
    private let logits = Tensor(shape: [0])
    private let dLogits = Tensor(shape: [0])

    /// `stream` names the batch order's random stream (the runner uses one per cycle).
    /// `augment` applies random crops (4-pixel padding) and flips to training batches.
    public init(model: Model, optimizer: any Optimizer, splits: Splits, batchSize: Int, seed: UInt64,
                stream: String = "batches", augment: Bool = false, evalBatchSize: Int = 1000) {
        self.model = model
        self.optimizer = optimizer
        self.splits = splits
        self.evalBatchSize = evalBatchSize
        batcher = Batcher(splits.train, batchSize: batchSize, shuffle: true, rng: RNG(seed: seed, stream: stream))
        if augment { batcher.transform = CropAndFlip(sampleShape: splits.train.sampleShape).transform() }
    }

    /// One forward/backward/update on the next batch; returns the batch loss.
    @discardableResult
    public func step(lr: Float) -> Float {
        batcher.next()
        model.zeroGradients()
        let out = model.forward(batcher.inputs, training: true)
        let loss = batcher.labels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: dLogits).loss
        }
        model.backward(dLogits)
        optimizer.step(model.parameters, lr: lr)
        return loss
    }

    /// Accuracy (fraction 0–1) and mean loss on `dataset`, in evaluation mode.
    public func evaluate(_ dataset: Dataset) -> (accuracy: Double, loss: Double) {
        guard dataset.count > 0 else { return (0, 0) }
        let b = Batcher(dataset, batchSize: evalBatchSize, shuffle: false, rng: RNG(seed: 0))
        var correct = 0
        var lossSum = 0.0
        for _ in 0..<b.batchesPerEpoch {
            let n = b.next()
            let out = model.forward(b.inputs, training: false)
            let r = b.labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: out, labels: $0.baseAddress!, grad: nil)
            }
            correct += r.correct
            lossSum += Double(r.loss) * Double(n)
        }
        return (Double(correct) / Double(dataset.count), lossSum / Double(dataset.count))
    }

    /// Trains `iterations` steps with `lr(t)` for t = 0 ..< iterations, evaluating every
    /// `evalEvery` iterations and after the last one.
    /// `heartbeat(iteration, mean loss since the last evaluation, elapsed seconds)` is called at
    /// most every `heartbeatSeconds` between evaluations, so long evaluation intervals still show progress.
    public func train(iterations: Int, evalEvery: Int, lr: (Int) -> Float,
                      progress: ((TrainingProgress) -> Void)? = nil,
                      heartbeatSeconds: Double = 30, heartbeat: ((Int, Double, Double) -> Void)? = nil) -> TrainingResult {
        precondition(iterations >= 0 && evalEvery > 0)
        let start = Date()
        var early = EarlyStopAccuracy()
        var points: [EvaluationPoint] = []
        var lossSum = 0.0, lossCount = 0
        var lastBeat = start
        var last = EvaluationPoint(iteration: 0, trainLoss: 0, validationAccuracy: 0, testAccuracy: 0)
        for t in 0..<iterations {
            lossSum += Double(step(lr: lr(t)))
            lossCount += 1
            let done = t + 1
            if let heartbeat, Date().timeIntervalSince(lastBeat) >= heartbeatSeconds {
                lastBeat = Date()
                heartbeat(done, lossSum / Double(lossCount), lastBeat.timeIntervalSince(start))
            }
            if done % evalEvery == 0 || done == iterations {
                let val = evaluate(splits.validation).accuracy
                let test = evaluate(splits.test).accuracy
                last = EvaluationPoint(iteration: done, trainLoss: lossSum / Double(lossCount),
                                       validationAccuracy: val, testAccuracy: test)
                points.append(last)
                early.record(iteration: done, validation: val, test: test)
                lossSum = 0; lossCount = 0
                progress?(TrainingProgress(iteration: done, iterations: iterations, point: last,
                                           elapsed: Date().timeIntervalSince(start)))
                lastBeat = Date()
            }
        }
        if iterations == 0 {
            let val = evaluate(splits.validation).accuracy, test = evaluate(splits.test).accuracy
            last = EvaluationPoint(iteration: 0, trainLoss: 0, validationAccuracy: val, testAccuracy: test)
            early.record(iteration: 0, validation: val, test: test)
        }
        return TrainingResult(earlyStop: early, points: points,
                              finalValidationAccuracy: last.validationAccuracy,
                              finalTestAccuracy: last.testAccuracy,
                              trainLoss: last.trainLoss,
                              seconds: Date().timeIntervalSince(start))
    }
}
