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
