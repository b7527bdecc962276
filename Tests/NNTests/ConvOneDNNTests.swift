import Testing
@testable import NN
import Tensor

/// Conv2d's oneDNN paths give what its im2col path gives: output, input gradient, and weight
/// and bias gradients, which must accumulate onto what the parameters already hold.
@Suite struct ConvOneDNNTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let inC: Int, outC: Int, kernel: Int, stride: Int, padding: Int, groups: Int, bias: Bool
        let batch: Int, height: Int, width: Int
        var testDescription: String {
            "in \(inC) out \(outC) k\(kernel) s\(stride) p\(padding) g\(groups)\(bias ? " bias" : "") n\(batch) \(height)x\(width)"
        }
    }

    static let cases: [Case] = [
        Case(inC: 16, outC: 16, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false, batch: 5, height: 8, width: 8),
        Case(inC: 3, outC: 8, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true, batch: 4, height: 7, width: 9),
        Case(inC: 16, outC: 32, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false, batch: 3, height: 9, width: 8),
        Case(inC: 16, outC: 32, kernel: 1, stride: 2, padding: 0, groups: 1, bias: false, batch: 4, height: 8, width: 8),  // projection
        Case(inC: 12, outC: 10, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true, batch: 2, height: 5, width: 5),
        Case(inC: 8, outC: 8, kernel: 3, stride: 1, padding: 1, groups: 2, bias: true, batch: 3, height: 6, width: 6),
        Case(inC: 16, outC: 16, kernel: 3, stride: 2, padding: 1, groups: 16, bias: false, batch: 3, height: 8, width: 8),  // depthwise
        Case(inC: 8, outC: 16, kernel: 3, stride: 1, padding: 2, groups: 8, bias: true, batch: 2, height: 5, width: 6),     // depthwise x2
        Case(inC: 3, outC: 2, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false, batch: 1, height: 4, width: 4),  // dense layer
        Case(inC: 5, outC: 2, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false, batch: 1, height: 4, width: 4),
        Case(inC: 5, outC: 7, kernel: 2, stride: 1, padding: 0, groups: 1, bias: true, batch: 1, height: 4, width: 5),
        // 64 x 64 x 256 pixels = 2^20: Winograd under `automatic` with AVX-512.
        Case(inC: 64, outC: 64, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true, batch: 2, height: 16, width: 16),
    ]

    /// Forward, then backward with gradients pre-filled with 0.5 (so accumulation shows),
    /// on `threads` workers: output, input gradient, weight gradient, bias gradient. Also says
    /// whether the forward ran on oneDNN: a silent fallback to im2col would make an agreement
    /// test compare im2col with itself.
    func run(_ k: Case, _ algorithm: Conv2d.Algorithm, threads: Int) -> (values: [[Float]], oneDNN: Bool, winograd: Bool) {
        var rng = RNG(seed: 31)
        let conv = Conv2d(k.inC, k.outC, kernel: k.kernel, stride: k.stride, padding: k.padding, groups: k.groups,
                          bias: k.bias, rng: &rng)
        conv.algorithm = algorithm
        if let b = conv.bias { for i in 0..<b.count { b.value[i] = rng.normal() } }
        let x = randomTensor([k.batch, k.inC, k.height, k.width], &rng)
        return Parallel.withThreads(threads) {
            let y = conv.forward(x, training: true).clone()
            let ranOneDNN = conv.lastForwardUsedOneDNN, ranWinograd = conv.lastForwardUsedWinograd
            let dy = randomTensor(y.shape, &rng)
            conv.weight.grad.fill(0.5)
            conv.bias?.grad.fill(0.5)
            let dx = conv.backward(dy).array
            return ([y.array, dx, conv.weight.grad.array, conv.bias?.grad.array ?? []], ranOneDNN, ranWinograd)
        }
    }

    @Test(arguments: cases)
    func oneDNNMatchesIm2col(_ k: Case) {
        let (reference, im2colUsedOneDNN, _) = run(k, .im2col, threads: 1)
        #expect(!im2colUsedOneDNN)
        for algorithm in [Conv2d.Algorithm.oneDNN, .oneDNNPlain] {
            for threads in [1, 2] {
                let (got, usedOneDNN, usedWinograd) = run(k, algorithm, threads: threads)
                #expect(!usedWinograd, "\(k.testDescription) \(algorithm): Winograd is for automatic only")
                #expect(usedOneDNN, "\(k.testDescription) \(algorithm) \(threads) threads: oneDNN built no plan (fell back to im2col)")
                for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                    expectClose(got[i], reference[i].map(Double.init), rel: 1e-4, abs: 1e-4,
                                "\(k.testDescription) \(algorithm) \(threads) threads: \(what)")
                }
            }
        }
    }

    /// `automatic` sends maps of 16 pixels or fewer to oneDNN only with AVX-512 kernels, and
    /// there (but for depthwise layers) computes the weight gradient with im2col GEMMs while
    /// forward and the input gradient stay on oneDNN; large 3x3 stride-1 layers run forward and
    /// the input gradient on Winograd kernels (`usesWinograd`); every mix matches im2col.
    @Test(arguments: cases)
    func automaticMatchesIm2col(_ k: Case) {
        let (reference, _, _) = run(k, .im2col, threads: 1)
        let area = ((k.height + 2 * k.padding - k.kernel) / k.stride + 1) * ((k.width + 2 * k.padding - k.kernel) / k.stride + 1)
        for threads in [1, 2] {
            let (got, usedOneDNN, usedWinograd) = run(k, .automatic, threads: threads)
            #expect(usedOneDNN == (area > 16 || OneDNN.hasAVX512), "\(k.testDescription) \(threads) threads")
            let qualifies = k.kernel == 3 && k.stride == 1 && k.groups == 1 && k.inC * k.outC * area >= 1 << 20
            #expect(usedWinograd == (qualifies && OneDNN.hasAVX512), "\(k.testDescription) \(threads) threads: Winograd")
            for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                expectClose(got[i], reference[i].map(Double.init), rel: 1e-4, abs: 1e-4,
                            "\(k.testDescription) automatic \(threads) threads: \(what)")
            }
        }
    }

    /// Backward without the input gradient still accumulates the weight gradient, a second
    /// batch size (the last batch of an epoch) gets its own primitives, and backward after an
    /// evaluation-mode forward (whose blocked input copy is not kept) still matches.
    @Test func skippedInputGradientChangingBatchAndEvaluationForward() {
        var rng = RNG(seed: 32)
        let conv = Conv2d(4, 6, kernel: 3, padding: 1, rng: &rng)
        conv.algorithm = .oneDNN
        let ref = Conv2d(4, 6, kernel: 3, padding: 1, rng: &rng)
        ref.algorithm = .im2col
        ref.weight.value.copy(from: conv.weight.value)
        ref.bias!.value.copy(from: conv.bias!.value)
        for (n, skip, training) in [(4, false, true), (3, true, true), (5, false, false), (4, true, true), (4, false, false)] {
            let x = randomTensor([n, 4, 6, 6], &rng), dy = randomTensor([n, 6, 6, 6], &rng)
            var outputs: [[Float]] = []
            for c in [conv, ref] {
                c.computesInputGradient = !skip
                let y = c.forward(x, training: training).array
                #expect(c.lastForwardUsedOneDNN == (c === conv))
                let dx = c.backward(dy).array
                outputs.append(y + (skip ? [] : dx))
            }
            let what = "n \(n) skip \(skip) training \(training)"
            expectClose(outputs[0], outputs[1].map(Double.init), rel: 1e-4, abs: 1e-4, what)
            expectClose(conv.weight.grad.array, ref.weight.grad.array.map(Double.init), rel: 1e-4, abs: 1e-4, what)
            expectClose(conv.bias!.grad.array, ref.bias!.grad.array.map(Double.init), rel: 1e-4, abs: 1e-4, what)
        }
    }
}
