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

/// Where a training loop stands between two iterations: everything its remaining
/// iterations and its result depend on besides the model, optimizer and data stream
/// (those have their own state). The learning rate is a function of `iteration`.
public struct TrainingState: Sendable, Equatable, Codable {
    /// Iterations done.
    public var iteration = 0
    public var earlyStop = EarlyStopAccuracy()
    public var points: [EvaluationPoint] = []
    /// Training loss summed since the last evaluation, and how many batches it sums.
    public var lossSum = 0.0
    public var lossCount = 0
    /// The latest evaluation.
    public var last = EvaluationPoint(iteration: 0, trainLoss: 0, validationAccuracy: 0, testAccuracy: 0)

    public init() {}
}

extension TrainingResult {
    /// The result of a loop that ended in `state` (`seconds`: its wall time, when known).
    public init(_ state: TrainingState, seconds: Double = 0) {
        self.init(earlyStop: state.earlyStop, points: state.points, finalValidationAccuracy: state.last.validationAccuracy,
                  finalTestAccuracy: state.last.testAccuracy, trainLoss: state.last.trainLoss, seconds: seconds)
    }
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
            let out = model.infer(b.inputs)
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
        var state = TrainingState()
        return train(from: &state, iterations: iterations, evalEvery: evalEvery, lr: lr, progress: progress,
                     heartbeatSeconds: heartbeatSeconds, heartbeat: heartbeat)!
    }

    /// The same loop continued from `state` (iteration `state.iteration` onwards), which it
    /// keeps up to date. After every iteration (its update and, when due, its evaluation) it
    /// asks `shouldStop`; on yes it returns nil with `state` describing exactly where it
    /// stopped, so the loop can be continued later, in another process, with the same result.
    public func train(from state: inout TrainingState, iterations: Int, evalEvery: Int, lr: (Int) -> Float,
                      progress: ((TrainingProgress) -> Void)? = nil,
                      heartbeatSeconds: Double = 30, heartbeat: ((Int, Double, Double) -> Void)? = nil,
                      shouldStop: () -> Bool = { false }) -> TrainingResult? {
        precondition(iterations >= 0 && evalEvery > 0 && state.iteration <= iterations)
        let start = Date()
        var lastBeat = start
        let first = state.iteration
        for t in first..<iterations {
            state.lossSum += Double(step(lr: lr(t)))
            state.lossCount += 1
            let done = t + 1
            state.iteration = done
            if let heartbeat, Date().timeIntervalSince(lastBeat) >= heartbeatSeconds {
                lastBeat = Date()
                heartbeat(done, state.lossSum / Double(state.lossCount), lastBeat.timeIntervalSince(start))
            }
            if done % evalEvery == 0 || done == iterations {
                let val = evaluate(splits.validation).accuracy
                let test = evaluate(splits.test).accuracy
                state.last = EvaluationPoint(iteration: done, trainLoss: state.lossSum / Double(state.lossCount),
                                             validationAccuracy: val, testAccuracy: test)
                state.points.append(state.last)
                state.earlyStop.record(iteration: done, validation: val, test: test)
                state.lossSum = 0; state.lossCount = 0
                progress?(TrainingProgress(iteration: done, iterations: iterations, point: state.last,
                                           elapsed: Date().timeIntervalSince(start)))
                lastBeat = Date()
            }
            if done < iterations && shouldStop() { return nil }
        }
        if iterations == 0 {
            let val = evaluate(splits.validation).accuracy, test = evaluate(splits.test).accuracy
            state.last = EvaluationPoint(iteration: 0, trainLoss: 0, validationAccuracy: val, testAccuracy: test)
            state.earlyStop.record(iteration: 0, validation: val, test: test)
        }
        return TrainingResult(state, seconds: Date().timeIntervalSince(start))
    }
}
