import Data
import Foundation
import NN
import Pruning
import Tensor
import Testing
@testable import Experiments

/// Opt-in measurement, not a check: iterative global magnitude pruning of the 3x256 MLP with
/// short retraining, printing per-cycle gradient std (both accountings), EAA and EWG, and
/// writing the Figure-1-style SVGs and one JSON line per cycle.
///
///     TOPIARY_DIAGNOSTICS_OUT=/tmp/diag swift test --disable-xctest --filter DiagnosticsMeasurement
///
/// Uses Fashion-MNIST from its default directory when present, otherwise synthetic data.
/// TOPIARY_DIAGNOSTICS_ITERS (default 600) sets the dense training length; each cycle
/// retrains for a third of it.
struct DiagnosticsMeasurement {
    static let out = ProcessInfo.processInfo.environment["TOPIARY_DIAGNOSTICS_OUT"]

    @Test(.enabled(if: out != nil)) func pruneAndMeasure() throws {
        let dir = try #require(Self.out)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let env = ProcessInfo.processInfo.environment
        let iterations = Int(env["TOPIARY_DIAGNOSTICS_ITERS"] ?? "") ?? 600
        let cycles = Int(env["TOPIARY_DIAGNOSTICS_CYCLES"] ?? "") ?? 8
        let fmnist = FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory + "/train-labels-idx1-ubyte.gz")
        let splits = try DataSource.load(dataset: fmnist ? "fashion-mnist" : "synthetic", directory: nil,
                                         split: "standard", validationFraction: 0.1, seed: 1)
        let model = try ModelZoo.make("mlp", inputShape: splits.train.sampleShape, classes: splits.train.classes, seed: 1)
        let lr: Float = 0.01
        var records: [CycleDiagnostics] = []
        var thresholds: [Double]? = nil
        var lines: [String] = []
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]

        for m in 0...cycles {
            if m > 0 { try Pruning.prune(parameters: model.parameters, criterion: .magnitude, scope: .global, rate: 0.2) }
            // A fresh optimizer per cycle (no momentum carried across pruning), constant LR so
            // EWG compares pruning levels at the same LR as SILO's Theorem 2 does.
            let trainer = Trainer(model: model, optimizer: SGD(momentum: 0.9, weightDecay: 1e-4), splits: splits,
                                  batchSize: 64, seed: 1, stream: "cycle\(m)")
            let steps = m == 0 ? iterations : iterations / 3
            let window = Swift.max(1, Swift.min(100, iterations / 3))  // same EWG window every cycle
            _ = trainer.train(iterations: steps - window, evalEvery: Swift.max(1, steps), lr: { _ in lr })
            let before = WeightDistance.values(model.parameters)
            let r = trainer.train(iterations: window, evalEvery: window, lr: { _ in lr })
            var d = Diagnostics.measure(model: model, dataset: splits.train, batches: 8, batchSize: 128, seed: 1,
                                        learningRate: Double(lr), tailThresholds: thresholds)
            d.ewg = WeightDistance.ewg(before: before, after: model.parameters)
            thresholds = thresholds ?? d.tailThresholds
            records.append(d)
            lines.append(String(decoding: try enc.encode(d), as: UTF8.self))
            let eaa = d.activations.map { String(format: "%.4f", $0.eaa) }.joined(separator: " ")
            print(String(format: "lambda %6.2f  test %.3f  loss %.3f  std(g) unpruned %.3e  all %.3e  tail99 u %.4f a %.4f  EAA %@  EWG(last %d it) %.3e",
                         d.percentRemaining, r.finalTestAccuracy, d.loss, d.gradientsUnpruned.std, d.gradientsAll.std,
                         d.gradientsUnpruned.tailMass[1], d.gradientsAll.tailMass[1], eaa, window, d.ewg ?? 0))
        }
        try lines.joined(separator: "\n").appending("\n").write(toFile: dir + "/diagnostics.jsonl", atomically: true, encoding: .utf8)
        try HistogramPlot.gradientFigure(records).write(toFile: dir + "/gradients.svg", atomically: true, encoding: .utf8)
        try HistogramPlot.activationFigure(records).write(toFile: dir + "/activations.svg", atomically: true, encoding: .utf8)
        print("dataset \(fmnist ? "fashion-mnist" : "synthetic"); wrote \(dir)/gradients.svg, activations.svg, diagnostics.jsonl")
    }
}
