import Testing
import NN
import Tensor

/// Direct convolution in Double, the definition Conv2d's im2col + GEMM must reproduce.
func naiveConv(_ x: Tensor, _ w: Tensor, bias: Tensor?, stride: Int, padding: Int, groups: Int) -> (shape: [Int], values: [Double]) {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
    let o = w.shape[0], cg = w.shape[1], kh = w.shape[2], kw = w.shape[3]
    let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
    precondition(cg * groups == c)
    let og = o / groups
    var out = [Double](repeating: 0, count: n * o * oh * ow)
    for s in 0..<n {
        for oc in 0..<o {
            let g = oc / og
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc = bias.map { Double($0[oc]) } ?? 0
                    for ic in 0..<cg {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
                                guard iy >= 0 && iy < h && ix >= 0 && ix < wd else { continue }
                                let xv = Double(x[((s * c + g * cg + ic) * h + iy) * wd + ix])
                                let wv = Double(w[((oc * cg + ic) * kh + ky) * kw + kx])
                                acc += xv * wv
                            }
                        }
                    }
                    out[((s * o + oc) * oh + oy) * ow + ox] = acc
                }
            }
        }
    }
    return ([n, o, oh, ow], out)
}

@Suite struct ConvLayerTests {
    let tolerance = 1e-2

    struct Case: Sendable, CustomTestStringConvertible {
        let inC: Int, outC: Int, kernel: Int, stride: Int, padding: Int, groups: Int, bias: Bool
        var testDescription: String {
            "in \(inC) out \(outC) k\(kernel) s\(stride) p\(padding) g\(groups)\(bias ? " bias" : "")"
        }
    }

    static let cases: [Case] = [
        Case(inC: 2, outC: 3, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true),
        Case(inC: 2, outC: 3, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false),
        Case(inC: 3, outC: 2, kernel: 2, stride: 1, padding: 0, groups: 1, bias: true),
        Case(inC: 4, outC: 4, kernel: 3, stride: 1, padding: 1, groups: 2, bias: true),
        Case(inC: 3, outC: 3, kernel: 3, stride: 1, padding: 1, groups: 3, bias: false),  // depthwise
        Case(inC: 3, outC: 6, kernel: 3, stride: 2, padding: 2, groups: 3, bias: true),   // depthwise, multiplier 2
        Case(inC: 2, outC: 4, kernel: 1, stride: 2, padding: 0, groups: 1, bias: false),  // projection shortcut
        // Depthwise (in == out == groups) runs the direct kernels.
        Case(inC: 4, outC: 4, kernel: 3, stride: 2, padding: 1, groups: 4, bias: true),
        Case(inC: 2, outC: 2, kernel: 5, stride: 1, padding: 2, groups: 2, bias: true),
        Case(inC: 3, outC: 3, kernel: 2, stride: 2, padding: 0, groups: 3, bias: false),
    ]

    func make(_ k: Case, _ rng: inout RNG, workspace: ConvWorkspace? = nil) -> Conv2d {
        let conv = Conv2d(k.inC, k.outC, kernel: k.kernel, stride: k.stride, padding: k.padding, groups: k.groups,
                          bias: k.bias, workspace: workspace, rng: &rng)
        if let b = conv.bias { for i in 0..<b.count { b.value[i] = rng.normal() } }
        return conv
    }

    @Test(arguments: cases)
    func forwardMatchesDirectConvolution(_ k: Case) {
        var rng = RNG(seed: 11)
        // A tiny workspace bound forces one sample per chunk; the default takes the batch at once.
        for workspace in [ConvWorkspace(), ConvWorkspace(maxColumnFloats: 1)] {
            let conv = make(k, &rng, workspace: workspace)
            let x = randomTensor([3, k.inC, 5, 6], &rng)
            let y = conv.forward(x, training: true)
            let ref = naiveConv(x, conv.weight.value, bias: conv.bias?.value, stride: k.stride, padding: k.padding, groups: k.groups)
            #expect(y.shape == ref.shape)
            #expect(conv.outputShape(for: x.shape) == ref.shape)
            expectClose(y.array, ref.values, rel: 1e-4, abs: 1e-5, k.testDescription)
        }
    }

    @Test(arguments: cases)
    func gradients(_ k: Case) {
        var rng = RNG(seed: 12)
        for workspace in [ConvWorkspace(), ConvWorkspace(maxColumnFloats: 1)] {
            let conv = make(k, &rng, workspace: workspace)
            let e = gradientErrors(of: conv, input: randomTensor([2, k.inC, 5, 4], &rng))
            #expect(e.errors.count == (k.bias ? 3 : 2))
            #expect(e.worst < tolerance, "\(k.testDescription): \(e.errors)")
        }
    }

    /// Several workers (each its own sample range, buffers and weight-gradient partial) give
    /// what one does.
    @Test func parallelWorkersMatchOneWorker() {
        var rng = RNG(seed: 22)
        let x = randomTensor([9, 8, 16, 16], &rng)
        // (output channels, groups, chunk bound): im2col with one-sample and wide chunks; depthwise.
        for (out, groups, maxColumns) in [(6, 1, 1), (6, 1, 1 << 16), (8, 8, 1 << 16)] {
            let dy = randomTensor([9, out, 16, 16], &rng)
            var results: [[Float]] = []
            for threads in [1, 2] {
                var weightRNG = RNG(seed: 23)
                let conv = Conv2d(8, out, kernel: 3, padding: 1, groups: groups,
                                  workspace: ConvWorkspace(maxColumnFloats: maxColumns), rng: &weightRNG)
                for i in 0..<out { conv.bias!.value[i] = Float(i) * 0.1 }
                let (y, dx) = Parallel.withThreads(threads) {
                    let y = conv.forward(x, training: true).array
                    conv.weight.grad.zero(); conv.bias!.grad.zero()
                    return (y, conv.backward(dy).array)
                }
                if threads == 1 {
                    let ref = naiveConv(x, conv.weight.value, bias: conv.bias!.value, stride: 1, padding: 1, groups: groups)
                    expectClose(y, ref.values, rel: 1e-4, abs: 1e-5, "forward")
                }
                results.append(y + dx + conv.weight.grad.array + conv.bias!.grad.array)
            }
            // Weight gradients sum 2304 products in a different order per split: abs 1e-4
            // covers the rounding of entries that nearly cancel.
            expectClose(results[1], results[0].map(Double.init), rel: 1e-4, abs: 1e-4, "2 workers vs 1, groups \(groups), chunk bound \(maxColumns)")
        }
    }

    @Test func weightGradientAccumulatesAndInputGradientCanBeSkipped() {
        var rng = RNG(seed: 13)
        let conv = Conv2d(2, 3, kernel: 3, padding: 1, rng: &rng)
        let x = randomTensor([2, 2, 4, 4], &rng), dy = randomTensor([2, 3, 4, 4], &rng)
        _ = conv.forward(x, training: true)
        conv.weight.grad.zero()
        let dx = conv.backward(dy).clone()
        let once = conv.weight.grad.clone()
        conv.computesInputGradient = false
        _ = conv.backward(dy)
        for i in 0..<once.count { #expect(abs(conv.weight.grad[i] - 2 * once[i]) <= 1e-5 * max(1, abs(once[i]))) }
        #expect(dx.shape == x.shape)
    }

    @Test func parametersAreNamedAndKinded() {
        var rng = RNG(seed: 14)
        let conv = Conv2d(4, 8, kernel: 3, groups: 2, name: "c", rng: &rng)
        #expect(conv.weight.value.shape == [8, 2, 3, 3])
        #expect(conv.weight.prunable && conv.weight.kind == "conv" && conv.weight.name == "c.weight")
        #expect(conv.bias!.prunable == false && conv.bias!.kind == "bias")
        // He normal with fan-in in/groups * kh * kw = 18: std sqrt(2/18) = 1/3.
        var sq: Double = 0
        let big = Conv2d(64, 64, kernel: 3, groups: 32, rng: &rng)
        for i in 0..<big.weight.count { sq += Double(big.weight.value[i] * big.weight.value[i]) }
        let std = (sq / Double(big.weight.count)).squareRoot()
        #expect(abs(std - 1.0 / 3) < 0.02, "std \(std)")
    }

    @Test func batchNorm2dTraining() {
        var rng = RNG(seed: 15)
        let bn = BatchNorm2d(3)
        for i in 0..<3 {
            bn.gamma.value[i] = 1 + 0.5 * rng.normal()
            bn.beta.value[i] = rng.normal()
        }
        let e = gradientErrors(of: bn, input: randomTensor([3, 3, 2, 3], &rng, scale: 2))
        #expect(Set(e.errors.keys) == ["input", "bn.weight", "bn.bias"])
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func batchNorm2dEvaluation() {
        var rng = RNG(seed: 16)
        let bn = BatchNorm2d(2)
        for i in 0..<2 {
            bn.gamma.value[i] = 1 + 0.5 * rng.normal()
            bn.runningMean[i] = rng.normal()
            bn.runningVar[i] = 0.5 + rng.uniform()
        }
        let e = gradientErrors(of: bn, input: randomTensor([2, 2, 3, 3], &rng), training: false)
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func batchNorm2dStatisticsMatchPyTorch() {
        var rng = RNG(seed: 17)
        let bn = BatchNorm2d(2)
        let x = randomTensor([3, 2, 2, 2], &rng, scale: 3)
        for i in 0..<x.count { x[i] += 1 }
        let y = bn.forward(x, training: true)
        for ch in 0..<2 {
            var values: [Double] = []
            for n in 0..<3 { for j in 0..<4 { values.append(Double(x[(n * 2 + ch) * 4 + j])) } }
            let mean = values.reduce(0, +) / 12
            let biased = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 12
            expectClose([bn.runningMean[ch]], [0.1 * mean], rel: 1e-5, "running mean")
            expectClose([bn.runningVar[ch]], [0.9 + 0.1 * biased * 12 / 11], rel: 1e-5, "running var (unbiased)")
            var k = 0
            for n in 0..<3 {
                for j in 0..<4 {
                    let i = (n * 2 + ch) * 4 + j
                    expectClose([y[i]], [(values[k] - mean) / (biased + 1e-5).squareRoot()], rel: 1e-4, abs: 1e-5, "normalised")
                    k += 1
                }
            }
        }
        // Evaluation uses the running statistics.
        let z = bn.forward(x, training: false)
        expectClose([z[0]], [Double(x[0] - bn.runningMean[0]) / Double(bn.runningVar[0] + 1e-5).squareRoot()], rel: 1e-5)
    }

    /// Entries a fixed spacing apart, so no finite-difference step changes a window's winner.
    func distinctValues(_ shape: [Int], _ rng: inout RNG) -> Tensor {
        let t = Tensor(shape: shape)
        let order = rng.permutation(t.count)
        for i in 0..<t.count { t[i] = Float(order[i]) * 0.1 - Float(t.count) * 0.05 }
        return t
    }

    @Test func maxPool() {
        var rng = RNG(seed: 18)
        let pool = MaxPool2d(kernel: 2)
        let x = distinctValues([2, 2, 4, 5], &rng)
        let y = pool.forward(x, training: true)
        #expect(y.shape == [2, 2, 2, 2])
        // Plane 0, window (0, 0).
        #expect(y[0] == [x[0], x[1], x[5], x[6]].max()!)
        let e = gradientErrors(of: pool, input: x)
        #expect(e.worst < tolerance, "\(e.errors)")
        // Overlapping windows (stride < kernel) route gradient to shared winners.
        let overlapping = gradientErrors(of: MaxPool2d(kernel: 3, stride: 1), input: distinctValues([1, 2, 4, 4], &rng))
        #expect(overlapping.worst < tolerance, "\(overlapping.errors)")
    }

    @Test func avgPool() {
        var rng = RNG(seed: 19)
        let x = randomTensor([2, 2, 4, 5], &rng)
        let y = AvgPool2d(kernel: 2).forward(x, training: true)
        #expect(y.shape == [2, 2, 2, 2])
        expectClose([y[0]], [Double(x[0] + x[1] + x[5] + x[6]) / 4], rel: 1e-6)
        #expect(gradientErrors(of: AvgPool2d(kernel: 2), input: x).worst < tolerance)
        #expect(gradientErrors(of: AvgPool2d(kernel: 3, stride: 1), input: x).worst < tolerance)
    }

    @Test func globalAvgPool() {
        var rng = RNG(seed: 20)
        let x = randomTensor([2, 3, 3, 2], &rng)
        let y = GlobalAvgPool().forward(x, training: true)
        #expect(y.shape == [2, 3])
        expectClose([y[4]], [(0..<6).map { Double(x[4 * 6 + $0]) }.reduce(0, +) / 6], rel: 1e-5)
        #expect(gradientErrors(of: GlobalAvgPool(), input: x).worst < tolerance)
    }

    /// Smallest |pre-activation| of the block's two ReLUs for input `x`.
    func reluMargin(_ block: ResidualBlock, _ x: Tensor) -> Float {
        let pre1 = block.bn1.forward(block.conv1.forward(x, training: true), training: true).clone()
        let h = block.relu1.forward(pre1, training: true)
        let main = block.bn2.forward(block.conv2.forward(h, training: true), training: true).clone()
        let shortcut = block.projection.map { $0.bn.forward($0.conv.forward(x, training: true), training: true) } ?? x
        var margin = Float.infinity
        for i in 0..<pre1.count { margin = min(margin, abs(pre1[i])) }
        for i in 0..<main.count { margin = min(margin, abs(main[i] + shortcut[i])) }
        return margin
    }

    /// [in, out, stride]: identity shortcut, projection for channels and stride, projection for stride only.
    @Test(arguments: [[1, 1, 1], [1, 2, 2], [2, 2, 2]])
    func residualBlock(_ config: [Int]) {
        let shape = (inC: config[0], outC: config[1], stride: config[2])
        // Find a seed whose pre-activations stay clear of the ReLU kinks under the perturbations.
        for seed: UInt64 in 0..<400 {
            var rng = RNG(seed: seed, stream: "residual")
            let block = ResidualBlock(shape.inC, shape.outC, stride: shape.stride, name: "b", rng: &rng)
            for p in block.parameters where p.kind == "norm" {
                for i in 0..<p.count { p.value[i] += 0.3 * rng.normal() }
            }
            let x = randomTensor([2, shape.inC, 4, 4], &rng)
            guard reluMargin(block, x) > 0.12 else { continue }
            let e = gradientErrors(of: block, input: x, step: 5e-3)
            #expect(e.errors.count == 1 + block.parameters.count)
            #expect((block.projection != nil) == (shape.inC != shape.outC || shape.stride != 1))
            #expect(e.worst < tolerance, "seed \(seed): \(e.errors)")
            return
        }
        Issue.record("no seed gave pre-activations clear of the ReLU kinks")
    }

    @Test func maskedConvWeightsStayZeroThroughSGD() {
        var rng = RNG(seed: 21)
        let conv = Conv2d(2, 4, kernel: 3, padding: 1, name: "conv", rng: &rng)
        let net = Sequential([conv, BatchNorm2d(4), ReLU(), MaxPool2d(kernel: 2), GlobalAvgPool(), Linear(4, 3, rng: &rng)])
        let mask = Tensor(shape: conv.weight.value.shape)
        for i in 0..<mask.count { mask[i] = rng.uniform() < 0.5 ? 0 : 1 }
        conv.weight.setMask(mask)
        let x = randomTensor([8, 2, 6, 6], &rng)
        let labels = (0..<8).map { _ in Int32(rng.below(3)) }
        let opt = SGD(momentum: 0.9, weightDecay: 1e-3)
        let grad = Tensor(shape: [0])
        let before = conv.weight.value.clone()
        var bad = 0
        for _ in 0..<50 {
            for p in net.parameters { p.grad.zero() }
            let logits = net.forward(x, training: true)
            labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad) }
            _ = net.backward(grad)
            opt.step(net.parameters, lr: 0.05)
            let state = opt.state(of: conv.weight)
            for i in 0..<mask.count where mask[i] == 0 {
                if conv.weight.value[i] != 0 { bad += 1 }
                for s in state where s[i] != 0 { bad += 1 }
            }
        }
        #expect(bad == 0)
        var moved = 0, kept = 0
        for i in 0..<mask.count where mask[i] != 0 {
            kept += 1
            if conv.weight.value[i] != before[i] { moved += 1 }
        }
        #expect(moved == kept)
    }
}
