import ArgumentParser
import Data
import Experiments
import Foundation
import NN
import Schedules

enum TrainSchedule: String, CaseIterable {
    case cosine, constant
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one dense network and report its accuracy.",
        discussion: """
            Prints one progress line per epoch on stderr (and a shorter one every 30 s in between). With --json, the last line of stdout is \
            one JSON object: test_accuracy, val_accuracy, early_stop_test_accuracy (fractions 0–1), \
            epochs, seed, seconds, and more.
            """)

    @Option(help: "Model name (\(ModelZoo.names.joined(separator: ", "))).")
    var model = "mlp"
    @OptionGroup var data: DataOptions
    @Option(help: "Training epochs.")
    var epochs = 10
    @Option(help: "Mini-batch size.")
    var batchSize = 128
    @Option(help: "Learning rate (the peak for cosine).")
    var lr: Float = 0.05
    @Option(help: "Learning-rate schedule over the whole run: cosine (decays to 0) or constant.")
    var schedule = "cosine"
    @Option(help: "Evaluate on validation and test every N iterations (default: once per epoch).")
    var evalEvery: Int?
    @Option(help: "Random seed (initialisation, split, shuffling).")
    var seed: UInt64 = 1
    @OptionGroup var optimizer: OptimizerOptions
    @OptionGroup var compute: ComputeOptions
    @Flag(help: "Augment training batches with random crops (4-pixel padding) and horizontal flips.")
    var augment = false
    @Flag(help: "End with one JSON object on the last line of stdout.")
    var json = false
    @Option(name: .customLong("init"), help: "Start from the weights of this safetensors file instead of a seeded initialisation.")
    var initFrom: String?
    @Flag(help: "With --init: skip tensors the model lacks and keep its own for those the file lacks (listed on stderr).")
    var allowPartial = false
    @Option(help: "Write the trained network to this safetensors file (PyTorch state_dict names and metadata).")
    var save: String?

    func run() throws {
        guard epochs > 0 else { throw CLIError("--epochs must be positive, got \(epochs)") }
        guard batchSize > 0 else { throw CLIError("--batch-size must be positive, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw CLIError("--lr must be positive, got \(lr)") }
        if let e = evalEvery, e <= 0 { throw CLIError("--eval-every must be positive, got \(e)") }
        guard let kind = TrainSchedule(rawValue: schedule) else {
            throw CLIError("unknown --schedule '\(schedule)' (known: cosine, constant)")
        }
        try compute.apply()
        let opt = try optimizer.make()
        let splits = try data.load(seed: seed)
        try MemoryEstimate.requireFit(model: model, splits: splits, batchSize: batchSize)
        let net = try ModelZoo.make(model, inputShape: splits.train.sampleShape, classes: splits.train.classes, seed: seed)
        if let path = initFrom { try loadInitialWeights(path, into: net, allowPartial: allowPartial) }
        let trainer = Trainer(model: net, optimizer: opt, splits: splits, batchSize: batchSize, seed: seed, augment: augment)
        let perEpoch = trainer.batcher.batchesPerEpoch
        let iterations = epochs * perEpoch
        log("train \(model) on \(splits.summary): \(epochs) epochs x \(perEpoch) iterations, batch \(batchSize), \(optimizer.optimizer) lr \(lr) (\(schedule))")
        let lrAt: (Int) -> Float
        switch kind {
        case .constant: lrAt = { _ in lr }
        case .cosine:
            let cosine = CosineSchedule(a: Double(lr), T: iterations)
            lrAt = { Float(cosine.lr(at: $0)) }
        }
        let result = trainer.train(iterations: iterations, evalEvery: evalEvery ?? perEpoch, lr: lrAt, progress: { p in
            let epoch = Double(p.iteration) / Double(perEpoch)
            log(String(format: "epoch %5.2f/%d  loss %.4f  val %.2f%%  test %.2f%%  %@  left %@",
                       epoch, epochs, p.point.trainLoss, 100 * p.point.validationAccuracy,
                       100 * p.point.testAccuracy, duration(p.elapsed), duration(p.secondsLeft)))
        }, heartbeat: { done, loss, elapsed in
            // Between evaluations (an epoch of a conv net takes minutes): iteration, loss, time left.
            log(String(format: "epoch %5.2f/%d  loss %.4f  %@  left %@", Double(done) / Double(perEpoch), epochs, loss,
                       duration(elapsed), duration(elapsed / Double(done) * Double(iterations - done))))
        })
        log(String(format: "test accuracy %.2f%%  (early-stop %.2f%% at iteration %d, best val %.2f%%)  %@",
                   100 * result.finalTestAccuracy, 100 * result.earlyStop.testAtBest,
                   result.earlyStop.iterationAtBest, 100 * result.earlyStop.bestValidation, duration(result.seconds)))
        if let path = save { try saveTrained(net, to: path, dataset: data.dataset, splits: splits) }
        if json {
            try printJSON([
                "model": model, "dataset": data.dataset, "epochs": epochs, "iterations": iterations,
                "batch_size": batchSize, "lr": Double(lr.description) ?? 0, "schedule": schedule, "seed": seed,
                "test_accuracy": result.finalTestAccuracy, "val_accuracy": result.finalValidationAccuracy,
                "early_stop_test_accuracy": result.earlyStop.testAtBest,
                "best_val_accuracy": result.earlyStop.bestValidation,
                "train_loss": result.trainLoss, "seconds": result.seconds,
            ] as [String: Any])
        }
    }
}
