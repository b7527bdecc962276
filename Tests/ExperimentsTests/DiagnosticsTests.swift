import Data
import Foundation
import NN
import Pruning
import Tensor
import Testing
@testable import Experiments

#if canImport(FoundationXML)
import FoundationXML
#endif

struct HistogramTests {
    @Test func sturgesBinCounts() {
        // ceil(log2 n) + 1: log2 1 = 0; log2 2 = 1; log2 100 = 6.64; log2 1000 = 9.97.
        #expect(Histogram.sturgesBinCount(1) == 1)
        #expect(Histogram.sturgesBinCount(2) == 2)
        #expect(Histogram.sturgesBinCount(100) == 8)
        #expect(Histogram.sturgesBinCount(1000) == 11)
        // Exact at powers of two, and just past them.
        #expect(Histogram.sturgesBinCount(1024) == 11)
        #expect(Histogram.sturgesBinCount(1025) == 12)
        #expect(Histogram.sturgesBinCount(0) == 1)
    }

    @Test func countsOnAHandMadeVector() {
        // n = 8 -> 4 bins over [0, 4]: [0,1) [1,2) [2,3) [3,4] (the last bin holds the maximum).
        let h = Histogram([0, 1, 1, 2, 3, 3, 3, 4, .nan])
        #expect(h.edges == [0, 1, 2, 3, 4])
        #expect(h.counts == [1, 2, 1, 4])
        #expect(h.nonFinite == 1)
        #expect(h.total == 8)
        #expect(h.fractions == [0.125, 0.25, 0.125, 0.5])
        #expect(h.densities == [0.125, 0.25, 0.125, 0.5])  // unit-width bins
    }

    @Test func degenerateAndEmptyRanges() {
        // All equal: widened to [v - 0.5, v + 0.5]; n = 3 -> 3 bins, the value in the middle one.
        let h = Histogram([5, 5, 5])
        #expect(h.edges.first == 4.5 && h.edges.last == 5.5)
        #expect(h.counts == [0, 3, 0])
        let e = Histogram([Float]())
        #expect(e.counts == [0] && e.edges == [-0.5, 0.5] && e.total == 0)
        #expect(e.fractions == [0] && e.densities == [0])
    }

    @Test func roundTripsThroughJSON() throws {
        let h = Histogram([-1, 0.5, 2, 7])
        let back = try JSONDecoder().decode(Histogram.self, from: JSONEncoder().encode(h))
        #expect(back == h)
    }

    @Test func percentiles() {
        let x: [Float] = [1, 2, 3, 4, 5]
        #expect(Percentile.value(x, 50) == 3)
        #expect(Percentile.value(x, 25) == 2)
        #expect(abs(Percentile.value(x, 95)! - 4.8) < 1e-12)  // position 0.95 * 4 = 3.8
        #expect(Percentile.value(x, 0) == 1 && Percentile.value(x, 100) == 5)
        #expect(abs(Percentile.absolute([-5, 1, -2, 4, 3, .nan], 95)! - 4.8) < 1e-12)
        #expect(Percentile.value([], 50) == nil)
        #expect(Percentile.value([7], 99) == 7)
    }
}

@Suite(.serialized) struct DiagnosticsTests {
    /// Linear(2→3) with W = [[1,0],[0,1],[1,-1]], b = 0, then ReLU, then Linear(3→2).
    private func tinyModel() -> Model {
        var rng = RNG(seed: 1)
        let fc1 = Linear(2, 3, name: "fc1", rng: &rng)
        let fc2 = Linear(3, 2, name: "fc2", rng: &rng)
        for (i, v) in [Float](arrayLiteral: 1, 0, 0, 1, 1, -1).enumerated() { fc1.weight.value[i] = v }
        fc1.bias!.value.zero()
        return Model(name: "tiny", network: Sequential([fc1, ReLU(), fc2]), inputShape: [2], classes: 2)
    }

    /// x1 = (1, 2), x2 = (-1, 3).
    private let tinyData = Dataset(name: "tiny", features: [1, 2, -1, 3], labels: [0, 1], sampleShape: [2], classes: 2)

    @Test func eaaOnAHandComputedNetwork() throws {
        // h(x1) = relu(1, 2, -1) = (1, 2, 0); h(x2) = relu(-1, 3, -4) = (0, 3, 0).
        // EAA = ((1 + 4 + 0) / 3 + (0 + 9 + 0) / 3) / 2 = 7/3.
        let d = Diagnostics.measure(model: tinyModel(), dataset: tinyData, batches: 1, batchSize: 2, seed: 3, learningRate: 0.1)
        #expect(d.activations.count == 1)
        let a = try #require(d.activations.first)
        #expect(a.name == "hidden1" && a.layer == "ReLU" && a.units == 3)
        #expect(abs(a.eaa - 7.0 / 3.0) < 1e-12)
        #expect(a.zeroFraction == 0.5)
        // Values {1, 2, 0, 0, 3, 0}: mean 1, variance 8 / 6.
        #expect(abs(a.distribution.mean - 1) < 1e-12)
        #expect(abs(a.distribution.std - (8.0 / 6.0).squareRoot()) < 1e-12)
        #expect(d.allActivations == a.distribution)  // one hidden layer
        #expect(d.samples == 2 && d.batches == 1)
    }

    @Test func everyActivationCountsAsAHiddenLayer() {
        #expect(Diagnostics.isActivation(ReLU()) && Diagnostics.isActivation(ReLU6()) && Diagnostics.isActivation(GELU()))
        #expect(!Diagnostics.isActivation(BatchNorm2d(2)))
    }

    @Test func twoGradientAccountingsOnAMaskedParameter() {
        let p = Parameter(name: "w", shape: [2, 3], prunable: true, kind: "linear")
        p.setMask(Tensor(shape: [2, 3], values: [1, 0, 1, 0, 1, 1]))
        // Gradients summed over 2 batches; the pruned entries' dense gradients must not leak in.
        for (i, g) in [Float](arrayLiteral: 2, 4, 6, 8, 10, 12).enumerated() { p.grad[i] = g }
        let (unpruned, all) = Diagnostics.meanGradients([p], batches: 2)
        #expect(unpruned == [1, 3, 5, 6])
        #expect(all == [1, 0, 3, 0, 5, 6])

        let u = DistributionSummary(unpruned, tailThresholds: [2.5])
        let a = DistributionSummary(all, tailThresholds: [2.5])
        // Unpruned: mean 3.75, squared deviations 7.5625 + 0.5625 + 1.5625 + 5.0625 = 14.75.
        #expect(abs(u.mean - 3.75) < 1e-12)
        #expect(abs(u.std - (14.75 / 4).squareRoot()) < 1e-12)
        #expect(u.tailMass == [0.75])
        // All with zeros: mean 2.5, squared deviations 2.25 + 6.25 + 0.25 + 6.25 + 6.25 + 12.25 = 33.5.
        #expect(abs(a.mean - 2.5) < 1e-12)
        #expect(abs(a.std - (33.5 / 6).squareRoot()) < 1e-12)
        #expect(a.meanAbs == 2.5 && u.meanAbs == 3.75)
        #expect(a.tailMass == [0.5])
        #expect(u.count == 4 && a.count == 6)
    }

    @Test func accountingsInAMeasurement() throws {
        let m = tinyModel()
        let fc1 = m.parameters[0]
        fc1.setMask(Tensor(shape: [3, 2], values: [1, 1, 0, 1, 1, 0]))
        let d = Diagnostics.measure(model: m, dataset: tinyData, batches: 1, batchSize: 2, seed: 3, learningRate: 0.5,
                                    tailThresholds: [0.01])
        // Prunable: fc1 (6, 2 pruned) and fc2 (6).
        #expect(d.gradientsAll.count == 12 && d.gradientsUnpruned.count == 10)
        #expect(abs(d.percentRemaining - 100.0 * 10 / 12) < 1e-12)
        #expect(d.tailThresholds == [0.01])
        #expect(abs(d.updates.std - 0.5 * d.gradientsUnpruned.std) < 1e-6)
        #expect(d.updates.count == 10 && d.learningRate == 0.5)
        // Gradients are left zeroed, values untouched.
        #expect(m.parameters.allSatisfy { p in p.grad.array.allSatisfy { $0 == 0 } })
        #expect(fc1.value.array == [1, 0, 0, 1, 1, 0])
    }

    @Test func ewgOnHandMadeSnapshots() throws {
        let w = Parameter(name: "a.weight", shape: [4], prunable: true, kind: "linear")
        let v = Parameter(name: "b.weight", shape: [2], prunable: true, kind: "linear")
        let b = Parameter(name: "a.bias", shape: [1], prunable: false, kind: "bias")
        for (i, x) in [Float](arrayLiteral: 0, 2, 5, 4).enumerated() { w.value[i] = x }
        v.value.fill(1)
        let params = [w, b, v]
        let before = WeightDistance.values(params)
        let snapshot = try WeightSnapshot(parameters: params)

        // One "epoch" later: w = (1, 2, 3, ·) with its last weight pruned; v = (0, 0); the bias moved too.
        for (i, x) in [Float](arrayLiteral: 1, 2, 3, 9).enumerated() { w.value[i] = x }
        w.setMask(Tensor(shape: [4], values: [1, 1, 1, 0]))
        v.value.fill(0)
        b.value[0] = 100
        // w: (1 + 0 + 4) / 3 = 5/3 over 3 unpruned; v: (1 + 1) / 2 = 1; pooled (5 + 2) / 5 = 1.4.
        #expect(abs(WeightDistance.ewg(before: before, after: params) - 1.4) < 1e-12)
        #expect(abs(try WeightDistance.ewg(before: snapshot, after: params) - 1.4) < 1e-12)
        let layers = try WeightDistance.ewgByLayer(before: snapshot, after: params)
        #expect(layers.map(\.name) == ["a.weight", "b.weight"])
        #expect(layers.map(\.unpruned) == [3, 2])
        #expect(abs(layers[0].ewg - 5.0 / 3.0) < 1e-12 && layers[1].ewg == 1)
        #expect(WeightDistance.ewg(before: before, after: params, selection: .only(["b.weight"])) == 1)
        // A snapshot that lacks a parameter is an error, not a silent 0.
        let other = Parameter(name: "c.weight", shape: [1], prunable: true, kind: "linear")
        #expect(throws: PruningError.self) { try WeightDistance.ewg(before: snapshot, after: [other]) }
    }

    private func synthetic() throws -> Splits {
        try DataSource.load(dataset: "synthetic", directory: nil, split: "standard", validationFraction: 0.1, seed: 1)
    }

    @Test func deterministicAndSideEffectFree() throws {
        let s = try synthetic()
        let model = try ModelZoo.make("mlp", inputShape: s.train.sampleShape, classes: s.train.classes, seed: 5)
        let trainer = Trainer(model: model, optimizer: SGD(momentum: 0.9), splits: s, batchSize: 64, seed: 5)
        _ = trainer.train(iterations: 20, evalEvery: 20, lr: { _ in 0.02 })
        let values = WeightDistance.values(model.parameters)

        let a = Diagnostics.measure(model: model, dataset: s.train, batches: 3, batchSize: 64, seed: 9, learningRate: 0.02)
        let b = Diagnostics.measure(model: model, dataset: s.train, batches: 3, batchSize: 64, seed: 9, learningRate: 0.02)
        #expect(a == b)
        #expect(WeightDistance.values(model.parameters) == values)
        let c = Diagnostics.measure(model: model, dataset: s.train, batches: 3, batchSize: 64, seed: 10, learningRate: 0.02)
        #expect(c.gradientsUnpruned != a.gradientsUnpruned)  // another seed, other batches

        // Dense: the accountings agree, lambda = 100, and the default thresholds are this
        // network's own 95th / 99th percentile |g|, so about 5% and 1% lie beyond them.
        #expect(a.gradientsAll == a.gradientsUnpruned)
        #expect(a.percentRemaining == 100)
        #expect(a.activations.map(\.name) == ["fc1.relu", "fc2.relu", "fc3.relu"])
        #expect(a.activations.allSatisfy { $0.units == 256 && $0.distribution.count == 3 * 64 * 256 })
        #expect(a.tailThresholds.count == 2 && a.tailThresholds[0] < a.tailThresholds[1])
        #expect(abs(a.gradientsUnpruned.tailMass[0] - 0.05) < 0.001)
        #expect(abs(a.gradientsUnpruned.tailMass[1] - 0.01) < 0.001)
        #expect(a.gradientsUnpruned.histogram.binCount == Histogram.sturgesBinCount(a.gradientsUnpruned.count))
        let json = try JSONEncoder().encode(a)
        #expect(try JSONDecoder().decode(CycleDiagnostics.self, from: json) == a)
    }

    /// `count` random 3x8x8 images of 10 classes: small enough for every zoo model in a debug build.
    private func images(_ count: Int) -> Dataset {
        var rng = RNG(seed: 11)
        return Dataset(name: "images", features: (0..<count * 3 * 8 * 8).map { _ in rng.normal() },
                       labels: (0..<count).map { Int32($0 % 10) }, sampleShape: [3, 8, 8], classes: 10)
    }

    /// Every activation is measured, inside blocks too, under its path; the counts are the
    /// networks' activation layers: ResNet-20 1 + 9 x 2; DenseNet-40 3 x 12 + 2 transitions
    /// + the final one; MobileNetV2 the stem, 1 in block0 (expansion 1), 2 in each of the
    /// other 16 blocks and conv2; ViT-tiny one GELU per block. None ends the network.
    @Test(arguments: [
        ("resnet20", 19, ["conv1.relu", "layer1.0.relu1", "layer1.0.relu2", "layer2.0.relu1", "layer3.2.relu2"]),
        ("densenet40", 39, ["dense1.0.relu", "dense1.11.relu", "trans1.relu", "dense3.11.relu", "final.relu"]),
        ("mobilenetv2", 35, ["conv1.relu", "block0.depthwise.relu", "block1.expand.relu", "block16.depthwise.relu", "conv2.relu"]),
        ("vit-tiny", 6, (1...6).map { "block\($0).mlp.gelu" }),
    ])
    func activationsInsideBlocksAreMeasured(model name: String, count: Int, someNames: [String]) throws {
        let model = try ModelZoo.make(name, inputShape: [3, 8, 8], classes: 10, seed: 1, initialize: false)
        let d = Diagnostics.measure(model: model, dataset: images(2), batches: 1, batchSize: 2, seed: 3, learningRate: 0.1)
        let names = d.activations.map(\.name)
        #expect(names.count == count)
        #expect(Set(names).count == names.count)
        #expect(Set(someNames).isSubset(of: names))
        #expect(d.activations.allSatisfy { ["ReLU", "ReLU6", "GELU"].contains($0.layer) && $0.distribution.count == 2 * $0.units })
        // Observers are removed afterwards.
        #expect(model.network.leaves.compactMap { $0 as? any Activation }.allSatisfy { $0.observer == nil })
    }

    @Test func blockActivationUnits() throws {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 8, 8], classes: 10, seed: 1, initialize: false)
        let d = Diagnostics.measure(model: model, dataset: images(2), batches: 1, batchSize: 2, seed: 3, learningRate: 0.1)
        let units = Dictionary(uniqueKeysWithValues: d.activations.map { ($0.name, $0.units) })
        #expect(units["layer1.0.relu1"] == 16 * 8 * 8 && units["layer2.0.relu2"] == 32 * 4 * 4 && units["layer3.2.relu2"] == 64 * 2 * 2)
    }

    /// Gradients are those of a training-mode forward/backward (BN on batch statistics), and
    /// the running statistics are as before the measurement.
    @Test func gradientsInTrainingModeWithoutMovingRunningStatistics() throws {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 8, 8], classes: 10, seed: 1)
        let data = images(4)
        // Move the running statistics off their initial (0, 1) first.
        let warm = Batcher(data, batchSize: 4, shuffle: false, rng: RNG(seed: 1))
        _ = warm.next()
        _ = model.forward(warm.inputs, training: true)
        let running = model.buffers.map(\.array)

        let d = Diagnostics.measure(model: model, dataset: data, batches: 1, batchSize: 4, seed: 3, learningRate: 0.1)
        #expect(model.buffers.map(\.array) == running)

        // By hand, on the batch the measurement drew.
        func gradients(training: Bool) -> (DistributionSummary, Double) {
            let b = Batcher(data, batchSize: 4, shuffle: true, rng: RNG(seed: 3, stream: "diagnostics"))
            _ = b.next()
            model.zeroGradients()
            let dLogits = Tensor(shape: [0])
            let logits = model.forward(b.inputs, training: training)
            let loss = b.labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: dLogits).loss
            }
            model.backward(dLogits)
            let g = Diagnostics.meanGradients(model.parameters.filter(\.prunable), batches: 1).unpruned
            model.zeroGradients()
            return (DistributionSummary(g, tailThresholds: d.tailThresholds), Double(loss))
        }
        let (evaluation, evaluationLoss) = gradients(training: false)
        let (training, trainingLoss) = gradients(training: true)
        #expect(d.gradientsUnpruned == training && d.loss == trainingLoss)
        #expect(d.gradientsUnpruned != evaluation && d.loss != evaluationLoss)  // the modes differ here
    }

    /// A Dropout stream is put back, so training after a measurement draws the same masks.
    @Test func dropoutStreamIsRestored() {
        var rng = RNG(seed: 4)
        let dropout = Dropout(p: 0.5, rng: RNG(seed: 5))
        let model = Model(name: "drop", network: Sequential([Linear(2, 8, name: "fc1", rng: &rng), ReLU(name: "fc1.relu"),
                                                              dropout, Linear(8, 2, name: "fc2", rng: &rng)]),
                          inputShape: [2], classes: 2)
        let before = dropout.rng
        _ = Diagnostics.measure(model: model, dataset: tinyData, batches: 2, batchSize: 2, seed: 3, learningRate: 0.1)
        var a = dropout.rng, b = before
        #expect(a.next() == b.next())
    }

    @Test func svgIsWellFormedXML() throws {
        let series: [(label: String, histogram: Histogram)] = [
            (HistogramPlot.lambdaLabel(100), Histogram([0, 1, 1, 2, 3, 3, 3, 4])),
            (HistogramPlot.lambdaLabel(51.2), Histogram([-0.5, 0.25, 0.5, 1, 1.5])),
            ("<tricky> & \"quoted\" 'label'", Histogram([0.001, 0.002, 0.002, 0.004])),
        ]
        for logY in [false, true] {
            let svg = HistogramPlot.svg(series, title: "a < b & c", xLabel: "gradient", logY: logY)
            #expect(isWellFormed(svg))
            #expect(svg.contains("λ = 100") && svg.contains("λ = 51.2"))
            #expect(svg.contains("&lt;tricky&gt; &amp; &quot;quoted&quot; &apos;label&apos;"))
            #expect(svg.components(separatedBy: "<path ").count - 1 == 3)  // one step line per series
        }
        #expect(isWellFormed(HistogramPlot.svg([])))
        #expect(HistogramPlot.lambdaLabel(8.5899) == "λ = 8.59")
    }

    @Test func figuresFromMeasurementsAreWellFormed() throws {
        let s = try synthetic()
        let model = try ModelZoo.make("mlp", inputShape: s.train.sampleShape, classes: s.train.classes, seed: 2)
        var cycles = [Diagnostics.measure(model: model, dataset: s.train, batches: 1, batchSize: 32, seed: 1, learningRate: 0.01)]
        try Pruning.prune(parameters: model.parameters, criterion: .magnitude, scope: .global, rate: 0.2)
        cycles.append(Diagnostics.measure(model: model, dataset: s.train, batches: 1, batchSize: 32, seed: 1,
                                          learningRate: 0.01, tailThresholds: cycles[0].tailThresholds))
        #expect(abs(cycles[1].percentRemaining - 80) < 0.01)
        let g = HistogramPlot.gradientFigure(cycles), a = HistogramPlot.activationFigure(cycles)
        #expect(isWellFormed(g) && isWellFormed(a))
        #expect(g.contains("λ = 100") && g.contains("λ = 80"))
    }

    private func isWellFormed(_ svg: String) -> Bool {
        XMLParser(data: Data(svg.utf8)).parse()
    }
}
