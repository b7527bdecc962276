import Testing
@testable import NN
import Tensor

/// A residual block whose conv2 runs sparse (stride 1) applies bn1 and relu1 as it reads its
/// input in a training step (`Conv2d.forward(_:normalizing:)`), its backward hands bn1 the
/// sums per plane, and each sparse convolution computes the input gradient of the BatchNorm
/// after it as it stages it (`BatchNorm2d.backwardDeferringInput`). The step must give the bits
/// of the layers one by one: the reference runs forward with an observer on relu1 (it must see
/// relu1's output, which turns the chaining off) and backward layer by layer.
struct ChainedResidualTrainingTests {
    /// Output, input gradient, every parameter gradient and bn1's running statistics after two
    /// training steps (forward, backward) of a block pruned to about 30%, every convolution sparse.
    func run(_ cin: Int, _ cout: Int, stride: Int, size: Int, chained: Bool, threads: Int) -> [[Float]] {
        var rng = RNG(seed: 9, stream: "chained")
        let block = sparseResidualBlock(cin, cout, stride: stride, &rng)
        var seen = 0
        if !chained { block.relu1.observer = { _ in seen += 1 } }
        var results: [[Float]] = []
        Parallel.withThreads(threads) {
            for _ in 0..<2 {
                let x = randomTensor([3, cin, size, size], &rng), dy = randomTensor([3, cout, (size - 1) / stride + 1, (size - 1) / stride + 1], &rng)
                for p in block.parameters { p.grad.fill(0) }
                results.append(block.forward(x, training: true).array)
                results.append(chained ? block.backward(dy).array : layerByLayerBackward(block, dy).array)
                results += block.parameters.map { $0.grad.array }
                results += [block.bn1.runningMean.array, block.bn1.runningVar.array]
            }
        }
        #expect(chained ? block.conv2.sparse.inputNormalization != nil : seen == 2, "chained \(chained): the path under test ran")
        // Deferred, the BatchNorms never write an input gradient of their own.
        let bns = [block.bn1, block.bn2] + (block.projection.map { [$0.bn] } ?? [])
        #expect(chained == bns.allSatisfy { $0.gradInput.count == 0 }, "chained \(chained): deferral")
        return results
    }

    /// The block's backward with every layer's own backward, in the block's order.
    func layerByLayerBackward(_ block: ResidualBlock, _ dy: Tensor) -> Tensor {
        let g = block.relu2.backward(dy)
        let main = block.conv1.backward(block.bn1.backward(block.relu1.backward(block.conv2.backward(block.bn2.backward(g)))))
        let side = block.projection.map { $0.conv.backward($0.bn.backward(g)) } ?? g
        let dx = Tensor(shape: main.shape)
        for i in 0..<dx.count { dx[i] = main[i] + side[i] }
        return dx
    }

    @Test(arguments: [(8, 8, 1, 9), (8, 12, 2, 7), (6, 10, 2, 10)], [1, 2])
    func chainedStepGivesTheBitsOfTheLayersOneByOne(_ shape: (Int, Int, Int, Int), _ threads: Int) {
        let (cin, cout, stride, size) = shape
        let chained = run(cin, cout, stride: stride, size: size, chained: true, threads: threads)
        let reference = run(cin, cout, stride: stride, size: size, chained: false, threads: threads)
        #expect(chained.count == reference.count)
        for (i, (a, b)) in zip(chained, reference).enumerated() {
            #expect(a == b, "\(cin)→\(cout) stride \(stride) size \(size), \(threads) threads: result \(i) differs")
        }
        // The fixture exercises relu1's mask through bn1's gradients: some nonzero.
        #expect(reference.contains { $0.contains { $0 != 0 } })
    }

    /// In a network, a block whose input a ReLU produced (the ReLU before it, or the previous
    /// block's last) applies that ReLU's mask as its conv1 writes the input gradient, and the
    /// ReLU's backward passes it on: the same bits as the layers one by one, two steps.
    @Test(arguments: [1, 2])
    func blocksApplyTheMaskOfTheReLUBeforeThem(_ threads: Int) {
        func run(network: Bool) -> [[Float]] {
            var rng = RNG(seed: 4, stream: "masked")
            let relu = ReLU(), blocks = [sparseResidualBlock(6, 6, stride: 1, &rng), sparseResidualBlock(6, 6, stride: 1, &rng)]
            let net = Sequential([relu] + blocks)
            // The reference turns chaining off as in `run` above, so it runs every layer's own backward.
            if !network { for b in blocks { b.relu1.observer = { _ in } } }
            var results: [[Float]] = []
            Parallel.withThreads(threads) {
                for _ in 0..<2 {
                    let x = randomTensor([3, 6, 7, 7], &rng), dy = randomTensor([3, 6, 7, 7], &rng)
                    for p in net.parameters { p.grad.fill(0) }
                    if network {
                        results.append(net.forward(x, training: true).array)
                        results.append(net.backward(dy).array)
                        #expect(blocks[0].inputReLU === relu && blocks[1].inputReLU === blocks[0].relu2, "the links are set")
                        #expect(relu.gradInput.count == 0, "the first ReLU passed the masked gradient on")
                    } else {
                        results.append(blocks.reduce(relu.forward(x, training: true)) { $1.forward($0, training: true) }.array)
                        results.append(relu.backward(blocks.reversed().reduce(dy) { layerByLayerBackward($1, $0) }).array)
                    }
                    results += net.parameters.map { $0.grad.array }
                }
            }
            return results
        }
        let masked = run(network: true), reference = run(network: false)
        #expect(masked.count == reference.count)
        for (i, (a, b)) in zip(masked, reference).enumerated() { #expect(a == b, "\(threads) threads: result \(i) differs") }
        #expect(reference[1].contains { $0 == 0 } && reference[1].contains { $0 != 0 }, "the input gradient is masked somewhere")
    }
}
