import Testing
import Tensor
@testable import Data

/// `count` samples of shape [2, 3] whose first feature is the sample's index, so
/// every split part can be traced back to the original samples.
func indexed(_ count: Int, offset: Int = 0, name: String = "toy-train") -> Dataset {
    var f = [Float](repeating: 0, count: count * 6)
    for i in 0..<count { f[i * 6] = Float(i + offset); f[i * 6 + 1] = Float(i % 3) }
    return Dataset(name: name, features: f, labels: (0..<count).map { Int32($0 % 4) }, sampleShape: [2, 3], classes: 4)
}

func ids(_ d: Dataset) -> [Int] { (0..<d.count).map { Int(d.features[$0 * d.sampleSize]) } }

@Suite struct SplitsTests {
    @Test func standardHoldsOutValidation() throws {
        let train = indexed(1000), test = indexed(200, offset: 10_000, name: "toy-test")
        let s = try Splits.standard(train: train, test: test, seed: 7)
        #expect(s.validation.count == 100 && s.train.count == 900 && s.test.count == 200)
        let a = Set(ids(s.train)), b = Set(ids(s.validation))
        #expect(a.isDisjoint(with: b))
        #expect(a.union(b) == Set(0..<1000))
        #expect(ids(s.test) == ids(test))
        // Labels and features travel with their sample.
        for (k, i) in ids(s.validation).enumerated() { #expect(s.validation.labels[k] == Int32(i % 4)) }
        #expect(s.train.name == "toy-train" && s.validation.name == "toy-validation")

        let again = try Splits.standard(train: train, test: test, seed: 7)
        #expect(ids(again.validation) == ids(s.validation))
        let other = try Splits.standard(train: train, test: test, seed: 8)
        #expect(ids(other.validation) != ids(s.validation))
        let quarter = try Splits.standard(train: train, test: test, validationFraction: 0.25, seed: 7)
        #expect(quarter.validation.count == 250)
    }

    @Test func pooledSixtyTwentyTwenty() throws {
        let train = indexed(800), test = indexed(200, offset: 800, name: "toy-test")
        let s = try Splits.pooled(train: train, test: test, seed: 3)
        #expect(s.train.count == 600 && s.validation.count == 200 && s.test.count == 200)
        let parts = [ids(s.train), ids(s.validation), ids(s.test)].map(Set.init)
        #expect(parts[0].isDisjoint(with: parts[1]) && parts[0].isDisjoint(with: parts[2]) && parts[1].isDisjoint(with: parts[2]))
        #expect(parts[0].union(parts[1]).union(parts[2]) == Set(0..<1000))
        // Random, not "train stays train": some original test samples land in the new train set.
        #expect(parts[0].contains { $0 >= 800 })
        #expect(s.test.name == "toy-test")

        let again = try Splits.pooled(train: train, test: test, seed: 3)
        #expect(ids(again.test) == ids(s.test) && ids(again.train) == ids(s.train))
        #expect(ids(try Splits.pooled(train: train, test: test, seed: 4).test) != ids(s.test))

        let odd = try Splits.pooled(train: train, test: test, fractions: (0.5, 0.3, 0.2), seed: 3)
        #expect(odd.train.count == 500 && odd.validation.count == 300 && odd.test.count == 200)
    }

    @Test func rejectsImpossibleFractions() {
        let train = indexed(10), test = indexed(5, name: "toy-test")
        for f in [0.0, 1.0, -0.1, 1.5, .nan, 0.01] {
            #expect(dataError { _ = try Splits.standard(train: train, test: test, validationFraction: f, seed: 1) }?.isInvalid == true)
        }
        let bad: [(Double, Double, Double)] = [(0.6, 0.2, 0.3), (0.8, 0.2, 0), (1, 0, 0), (0.7, -0.1, 0.4), (0.98, 0.01, 0.01)]
        for f in bad {
            #expect(dataError { _ = try Splits.pooled(train: train, test: test, fractions: f, seed: 1) }?.isInvalid == true)
        }
        let cifarLike = Dataset(name: "x", features: [Float](repeating: 0, count: 12), labels: [0, 1], sampleShape: [6], classes: 4)
        #expect(dataError { _ = try Splits.pooled(train: train, test: cifarLike, seed: 1) }?.isInvalid == true)
    }
}

@Suite struct NormalizationTests {
    @Test func zeroMeanUnitStdPerChannelOnTrain() throws {
        let data = Synthetic.classification(count: 500, sampleShape: [3, 4, 4], classes: 5, seed: 1)
        // Give the channels different offsets and scales so per-channel matters.
        var shifted = data
        for s in 0..<data.count { for c in 0..<3 { for i in 0..<16 {
            shifted.features[s * 48 + c * 16 + i] = shifted.features[s * 48 + c * 16 + i] * Float(c + 1) + Float(10 * c)
        } } }
        var splits = try Splits.standard(train: shifted, test: shifted.subset(Array(0..<50)), seed: 2)
        let rawValidation = splits.validation.features
        let stats = splits.normalize()
        #expect(stats.channels == 3)
        #expect(abs(stats.mean[2] - 20) < 1 && stats.std[2] > stats.std[0])

        let after = ChannelStatistics.compute(splits.train)
        for c in 0..<3 {
            #expect(abs(after.mean[c]) < 1e-4)
            #expect(abs(after.std[c] - 1) < 1e-4)
        }
        // Validation and test use the train statistics, not their own.
        let k = 17, c = (k / 16) % 3
        #expect(abs(splits.validation.features[k] - (rawValidation[k] - stats.mean[c]) / stats.std[c]) < 1e-5)
        #expect(abs(ChannelStatistics.compute(splits.test).mean[2]) < 0.5)
    }

    @Test func constantChannelAndFlatSamples() {
        var d = Dataset(name: "c", features: [Float](repeating: 5, count: 40), labels: [0, 1], sampleShape: [2, 10], classes: 2)
        let s = ChannelStatistics.compute(d)
        #expect(s.mean == [5, 5] && s.std == [1, 1])
        s.apply(to: &d)
        #expect(d.features.allSatisfy { $0 == 0 })
        let flat = Dataset(name: "f", features: (0..<20).map(Float.init), labels: [0, 1], sampleShape: [10], classes: 2)
        #expect(ChannelStatistics.compute(flat).channels == 1)
        #expect(ChannelStatistics.compute(flat).mean == [9.5])
    }
}

@Suite struct SyntheticTests {
    @Test func deterministicBalancedAndLearnable() {
        let a = Synthetic.classification(count: 600, sampleShape: [20], classes: 3, seed: 11)
        let b = Synthetic.classification(count: 600, sampleShape: [20], classes: 3, seed: 11)
        let c = Synthetic.classification(count: 600, sampleShape: [20], classes: 3, seed: 12)
        #expect(a.features == b.features && a.labels == b.labels)
        #expect(a.features != c.features)
        #expect(a.sampleShape == [20] && a.classes == 3 && a.count == 600)
        #expect((0..<3).map { k in a.labels.filter { $0 == k }.count } == [200, 200, 200])
        #expect(Set(a.labels.prefix(30)).count == 3)  // shuffled, not in class blocks

        // Nearest class mean (estimated on the first half) classifies the second half well.
        let d = 20
        var means = [[Float]](repeating: [Float](repeating: 0, count: d), count: 3)
        for s in 0..<300 { for j in 0..<d { means[Int(a.labels[s])][j] += a.features[s * d + j] / 100 } }
        var correct = 0
        for s in 300..<600 {
            let dist = means.map { m in (0..<d).reduce(Float(0)) { $0 + (a.features[s * d + $1] - m[$1]) * (a.features[s * d + $1] - m[$1]) } }
            if dist.firstIndex(of: dist.min()!)! == Int(a.labels[s]) { correct += 1 }
        }
        #expect(correct > 240, "nearest-mean accuracy \(correct)/300")
        #expect(correct < 300, "should not be trivially separable")
    }
}

@Suite struct BatcherTests {
    @Test func everySampleOncePerEpochLastBatchSmaller() {
        let data = indexed(103)
        let batcher = Batcher(data, batchSize: 10, shuffle: true, rng: RNG(seed: 5, stream: "batches"))
        #expect(batcher.batchesPerEpoch == 11)
        var epochs: [[Int]] = []
        for _ in 0..<2 {
            var seen: [Int] = [], sizes: [Int] = []
            repeat {
                let b = batcher.next()
                sizes.append(b)
                #expect(batcher.inputs.shape == [b, 2, 3])
                for k in 0..<b {
                    let id = Int(batcher.inputs[k * 6])
                    seen.append(id)
                    #expect(batcher.labels[k] == Int32(id % 4))
                }
            } while !batcher.atEpochEnd
            #expect(sizes == [Int](repeating: 10, count: 10) + [3])
            #expect(seen.sorted() == Array(0..<103))
            epochs.append(seen)
        }
        #expect(epochs[0] != Array(0..<103))
        #expect(epochs[0] != epochs[1])  // reshuffled each epoch

        let twin = Batcher(data, batchSize: 10, shuffle: true, rng: RNG(seed: 5, stream: "batches"))
        var first: [Int] = []
        repeat { let b = twin.next(); for k in 0..<b { first.append(Int(twin.inputs[k * 6])) } } while !twin.atEpochEnd
        #expect(first == epochs[0])

        let ordered = Batcher(data, batchSize: 50, shuffle: false, rng: RNG(seed: 1))
        ordered.next()
        #expect(Int(ordered.inputs[6]) == 1)
    }
}
