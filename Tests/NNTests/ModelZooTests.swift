import Testing
@testable import NN

struct ModelBufferTests {
    @Test func everyBatchNormExposesItsRunningStatistics() throws {
        // ResNet-20: the stem BN, two per block (9 blocks), one per projection shortcut (2).
        let resnet = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        #expect(resnet.buffers.count == 2 * (1 + 18 + 2))
        #expect(try ModelZoo.make("mlp", inputShape: [1, 28, 28], classes: 10, seed: 1).buffers.isEmpty)
    }
}

/// What every entry of `ModelZoo.names` must do, whatever its architecture.
struct ModelZooCatalogueTests {
    @Test(arguments: [[3, 32, 32], [1, 28, 28]])
    func everyNamedModelBuilds(_ shape: [Int]) throws {
        for name in ModelZoo.names {
            // Zero weights: only the structure is checked here.
            let model = try ModelZoo.make(name, inputShape: shape, classes: 10, seed: 1, initialize: false)
            #expect(model.name == name)
            #expect(model.prunableParameterCount > 0 && model.prunableParameterCount < model.parameterCount, "\(name)")
            // Parameter names are unique (checkpoints are keyed by them).
            #expect(Set(model.parameters.map(\.name)).count == model.parameters.count, "\(name)")
        }
        #expect(ModelZoo.names.contains("vit-tiny"))
        #expect(throws: ModelError.self) { try ModelZoo.make("no-such-model", inputShape: shape, classes: 10, seed: 1) }
    }
}
