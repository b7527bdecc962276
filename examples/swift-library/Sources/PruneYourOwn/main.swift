// Prune your own network with Topiary as a library: a small custom network with one layer
// of our own, trained on Fashion-MNIST, then pruned in cycles (global magnitude, 20% of the
// remaining weights per cycle) and retrained after each cut with a 1-cycle schedule whose
// peak follows S-Cyc. Prints test accuracy against sparsity.
//
//     swift run -c release PruneYourOwn            # the full run (a few minutes)
//     swift run PruneYourOwn --tiny                # a few seconds: what the test suite runs
//
// Options: --tiny, --cycles N, --iterations N (per cycle), --data DIR.
import Data
import Experiments
import Foundation
import NN
import Pruning
import Schedules
import Tensor

/// The custom layer: a learned gain per feature, `y[r, j] = g[j] * x[r, j]`.
///
/// A layer owns its parameters and caches in `forward` what `backward` needs; `backward`
/// *adds* to its parameters' gradients and returns the gradient with respect to its input.
/// The gain is not prunable (`prunable: false`), so the pruning criteria leave it alone;
/// the optimizer still trains it.
final class FeatureGain: Layer {
    let gain: Parameter
    let features: Int
    private var input: Tensor?
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    init(_ features: Int, name: String) {
        self.features = features
        gain = Parameter(name: "\(name).gain", shape: [features], prunable: false, kind: "gain")
        gain.value.fill(1)
    }

    var parameters: [Parameter] { [gain] }
    var summary: String { "FeatureGain(\(features))" }

    func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.count % features == 0, "FeatureGain(\(features)) got input \(x.shape)")
        input = x
        output.resize(x.shape)
        let rows = x.count / features
        let xs = x.data, ys = output.data, g = gain.value.data
        for r in 0..<rows {
            for j in 0..<features { ys[r * features + j] = g[j] * xs[r * features + j] }
        }
        return output
    }

    func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("FeatureGain.backward before forward") }
        gradInput.resize(x.shape)
        let rows = x.count / features
        let xs = x.data, dys = dy.data, dxs = gradInput.data
        let g = gain.value.data, dg = gain.grad.data
        for r in 0..<rows {
            for j in 0..<features {
                let i = r * features + j
                dg[j] += dys[i] * xs[i]
                dxs[i] = dys[i] * g[j]
            }
        }
        return gradInput
    }
}

struct Options {
    var tiny = false
    var cycles = 5
    var iterations = 1500
    var directory = FashionMNIST.defaultDirectory

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = rest.popFirst() else { throw ExampleError("\(flag) needs a value") }
            return v
        }
        while let a = rest.popFirst() {
            switch a {
            case "--tiny": tiny = true; cycles = 2; iterations = 20
            case "--cycles":
                guard let n = Int(try value(a)), n >= 0 else { throw ExampleError("--cycles must be a non-negative integer") }
                cycles = n
            case "--iterations":
                guard let n = Int(try value(a)), n > 0 else { throw ExampleError("--iterations must be a positive integer") }
                iterations = n
            case "--data": directory = try value(a)
            default: throw ExampleError("unknown argument '\(a)' (known: --tiny, --cycles N, --iterations N, --data DIR)")
            }
        }
    }
}

struct ExampleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func run() throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let seed: UInt64 = 1

    // Data: the standard split with a seeded 10% validation holdout. The tiny run keeps a
    // few hundred samples of each set so it finishes in seconds even in a debug build.
    var train = try FashionMNIST.load(directory: options.directory, split: .train)
    var test = try FashionMNIST.load(directory: options.directory, split: .test)
    if options.tiny {
        train = train.subset(Array(0..<600))
        test = test.subset(Array(0..<200))
    }
    let splits = try Splits.standard(train: train, test: test, validationFraction: 0.1, seed: seed)

    // The network: our own layer between the library's layers.
    var rng = RNG(seed: seed, stream: "init")
    let hidden = 256
    let network = Sequential([
        Flatten(),
        Linear(784, hidden, name: "fc1", rng: &rng),
        FeatureGain(hidden, name: "gain1"),
        ReLU(),
        Linear(hidden, 10, name: "fc2", rng: &rng),
    ])
    let model = Model(name: "gain-mlp", network: network, inputShape: [1, 28, 28], classes: 10)

    // Retraining schedule: 1-cycle, restarted every cycle; its peak is S-Cyc's max_lr(m).
    let rate = 0.2
    let peak = SCycPeak(epsilon: 0.05, delta: 0.15, q: 1, beta: 5, pruningRate: rate)
    try peak.validate()
    let shape = OneCycleSchedule(minLR: 0.001, maxLR: peak.maxLR(cycle: 0), budget: options.iterations)
    try shape.validate()

    print("cycle  % remaining  peak LR   test accuracy")
    for m in 0...options.cycles {
        if m > 0 {
            // Remove 20% of the remaining prunable weights, ranked over the whole network.
            try prune(parameters: model.parameters, criterion: .magnitude, scope: .global, rate: rate)
        }
        let schedule = shape.withPeak(peak.maxLR(cycle: m))
        // A fresh optimizer per cycle; it multiplies every update by the masks, so pruned
        // weights stay exactly zero.
        let optimizer = SGD(momentum: 0.9, weightDecay: 1e-4)
        let trainer = Trainer(model: model, optimizer: optimizer, splits: splits, batchSize: 64,
                              seed: seed, stream: "batches.cycle\(m)")
        let result = trainer.train(iterations: options.iterations,
                                   evalEvery: max(1, options.iterations / 3),
                                   lr: { Float(schedule.lr(at: $0)) })
        let sparsity = SparsityReport(parameters: model.parameters)
        print(String(format: "%5d  %11.2f  %.5f  %6.2f%% (early stop %.2f%%)", m, sparsity.percentRemaining,
                     schedule.peak, 100 * result.finalTestAccuracy, 100 * result.earlyStop.testAtBest))
    }
}

do {
    try run()
} catch {
    // `Data` alone is Topiary's module here; Foundation's type needs its module name.
    FileHandle.standardError.write(Foundation.Data("error: \(error)\n".utf8))
    exit(1)
}
