import Data
import Foundation
import Testing
@testable import Experiments

@Suite struct MemoryEstimateTests {
    @Test func perSampleMemoryMatchesTheActivationsOfAKnownNetwork() throws {
        // lenet300 on 1x16x16: Linear 256→300→100→10 with ReLUs. A training step holds at least
        // the input copy and each layer's output per sample; nothing in it grows with 1000s of floats.
        let e = try MemoryEstimate.measure(model: "lenet300", inputShape: [1, 16, 16], classes: 10)
        #expect(e.parameterBytes == Double(256 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10) * 4)
        #expect(e.bytesPerSample >= Double(300 + 100 + 10) * 4)
        #expect(e.bytesPerSample < 20_000 * 4)
        #expect(e.inputBytesPerSample == 256 * 4)
        #expect(e.bytes(batchSize: 200) > e.bytes(batchSize: 100))
        #expect(e.bytes(batchSize: 100, evalBatchSize: 1000) == e.bytes(batchSize: 1000))
    }

    @Test func convolutionalActivationsDominateAtLargeBatches() throws {
        let e = try MemoryEstimate.measure(model: "resnet20", inputShape: [3, 32, 32], classes: 10)
        // ResNet-20 keeps 16x32x32 maps in several layers: far more than one input image per sample.
        #expect(e.bytesPerSample > 10 * 16 * 32 * 32 * 4)
    }

    /// VGG on Fashion-MNIST's 28x28 ends in 1x1 maps: a batch-1 training step would trip
    /// BatchNorm's need for two values per channel, so the estimate must never take one.
    @Test func networksEndingInOneByOneMapsCanBeMeasured() throws {
        let e = try MemoryEstimate.measure(model: "vgg11", inputShape: [1, 28, 28], classes: 10)
        #expect(e.bytesPerSample > 64 * 28 * 28 * 4)
    }

    @Test func batchNormModelsNeedTwoSamplesPerBatch() throws {
        #expect { try MemoryEstimate.check(model: "resnet20", inputShape: [3, 8, 8], classes: 10, batchSize: 1) } throws: {
            "\($0)".contains("BatchNorm in training needs at least 2 samples")
        }
        #expect(throws: Never.self) {
            try MemoryEstimate.check(model: "lenet300", inputShape: [1, 16, 16], classes: 10, batchSize: 1)
        }
    }

    @Test func anImpossibleBatchIsRefusedWithTheEstimate() throws {
        #expect {
            try MemoryEstimate.check(model: "resnet20", inputShape: [3, 32, 32], classes: 10, batchSize: 10_000_000)
        } throws: { "\($0)".contains("batch size 10000000 needs about") && "\($0)".contains("available") }
        #expect(throws: Never.self) {
            try MemoryEstimate.check(model: "lenet300", inputShape: [1, 16, 16], classes: 10, batchSize: 64)
        }
    }

    @Test func aBatchLargerThanTheTrainingSetIsAnError() throws {
        let spec = try SpecParser.parse("""
            name: big-batch
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 100000000, iterations_per_cycle: 5}
            pruning: {cycles: 1}
            schedules:
              - {name: c, kind: constant, lr: 0.01}
            seeds: [1]
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-batch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect { try Runner(spec: spec, directory: dir).run(resume: false) } throws: {
            "\($0)".contains("batch size 100000000 is larger than the training set")
        }
        // Nothing that looks like a result was written.
        #expect(!FileManager.default.fileExists(atPath: dir + "/records"))
    }
}
