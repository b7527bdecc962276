import Testing
import NN
import Tensor

/// The cross-check with PyTorch localised a gradient difference in MobileNetV2's last blocks
/// (960 channels on 4x4 maps); this compares a depthwise convolution there with a direct
/// double-precision computation of both passes.
struct DepthwiseSmallMapTests {
    @Test(arguments: [(960, 4, 1), (960, 8, 2), (96, 4, 1)])
    func depthwiseMatchesADirectComputation(_ c: Int, _ size: Int, _ stride: Int) {
        var rng = RNG(seed: 3, stream: "depthwise")
        // A second convolution sharing the workspace runs between forward and backward, as in a network.
        let ws = ConvWorkspace()
        let conv = Conv2d(c, c, kernel: 3, stride: stride, padding: 1, groups: c, bias: false, workspace: ws, rng: &rng)
        let next = Conv2d(c, 32, kernel: 1, bias: false, workspace: ws, rng: &rng)
        let n = 8, h = size, w = size
        let x = randomTensor([n, c, h, w], &rng)
        let x0 = x.array
        let y = conv.forward(x, training: true)
        let oh = (h + 2 - 3) / stride + 1, ow = (w + 2 - 3) / stride + 1
        #expect(y.shape == [n, c, oh, ow])
        let dy = randomTensor([n, c, oh, ow], &rng)
        let z = next.forward(y.clone(), training: true)
        _ = next.backward(randomTensor(z.shape, &rng))
        conv.weight.grad.zero()
        let dx = conv.backward(dy)
        #expect(x.array == x0, "the input is left as it was")
        let wt = conv.weight.value
        var refY = [Double](repeating: 0, count: n * c * oh * ow)
        var refX = [Double](repeating: 0, count: n * c * h * w)
        var refW = [Double](repeating: 0, count: c * 9)
        for s in 0..<n {
            for ch in 0..<c {
                for i in 0..<oh {
                    for j in 0..<ow {
                        let o = ((s * c + ch) * oh + i) * ow + j
                        for ki in 0..<3 {
                            for kj in 0..<3 {
                                let yi = i * stride + ki - 1, xj = j * stride + kj - 1
                                guard yi >= 0, yi < h, xj >= 0, xj < w else { continue }
                                let xi = ((s * c + ch) * h + yi) * w + xj
                                let k = ch * 9 + ki * 3 + kj
                                refY[o] += Double(wt[k]) * Double(x[xi])
                                refX[xi] += Double(wt[k]) * Double(dy[o])
                                refW[k] += Double(x[xi]) * Double(dy[o])
                            }
                        }
                    }
                }
            }
        }
        func worst(_ a: Tensor, _ b: [Double]) -> Double {
            let scale = b.map(abs).max() ?? 1
            return zip(a.array, b).map { abs(Double($0) - $1) }.max()! / scale
        }
        #expect(worst(conv.forward(x, training: false), refY) < 1e-5, "forward")
        #expect(worst(dx, refX) < 1e-5, "input gradient")
        #expect(worst(conv.weight.grad, refW) < 1e-5, "weight gradient")
    }
}

/// The same shapes through training-mode BatchNorm and ReLU6, against double precision.
struct BatchNormSmallMapTests {
    @Test func trainingBackwardMatchesADirectComputation() {
        var rng = RNG(seed: 5, stream: "bn")
        let n = 8, c = 960, area = 16
        let bn = BatchNorm2d(c)
        for i in 0..<c { bn.gamma.value[i] = 1 + 0.1 * rng.normal(); bn.beta.value[i] = 0.1 * rng.normal() }
        let x = randomTensor([n, c, 4, 4], &rng)
        // Channels with an offset and a small spread, as a 1x1 convolution's outputs can be.
        for s in 0..<n { for ch in 0..<c { for j in 0..<area { let i = (s * c + ch) * area + j; x[i] = 3 + 0.05 * x[i] } } }
        let relu = ReLU6()
        let y = relu.forward(bn.forward(x, training: true), training: true)
        let dy = randomTensor(y.shape, &rng)
        bn.gamma.grad.zero(); bn.beta.grad.zero()
        let dx = bn.backward(relu.backward(dy))
        let m = Double(n * area)
        var worstX = 0.0, scaleX = 0.0, worstG = 0.0, scaleG = 0.0
        for ch in 0..<c {
            var mean = 0.0, v = 0.0
            for s in 0..<n { for j in 0..<area { mean += Double(x[(s * c + ch) * area + j]) } }
            mean /= m
            for s in 0..<n { for j in 0..<area { let d = Double(x[(s * c + ch) * area + j]) - mean; v += d * d } }
            v /= m
            let inv = 1 / (v + 1e-5).squareRoot(), g = Double(bn.gamma.value[ch]), b = Double(bn.beta.value[ch])
            var h = [Double](), gy = [Double]()
            for s in 0..<n {
                for j in 0..<area {
                    let i = (s * c + ch) * area + j
                    let xh = (Double(x[i]) - mean) * inv
                    let out = g * xh + b
                    h.append(xh)
                    gy.append(out > 0 && out < 6 ? Double(dy[i]) : 0)
                }
            }
            let sDy = gy.reduce(0, +), sDyH = zip(gy, h).map(*).reduce(0, +)
            worstG = max(worstG, abs(Double(bn.gamma.grad[ch]) - sDyH), abs(Double(bn.beta.grad[ch]) - sDy))
            scaleG = max(scaleG, abs(sDyH), abs(sDy))
            var k = 0
            for s in 0..<n {
                for j in 0..<area {
                    let ref = g * inv * (gy[k] - sDy / m - h[k] * sDyH / m)
                    worstX = max(worstX, abs(Double(dx[(s * c + ch) * area + j]) - ref))
                    scaleX = max(scaleX, abs(ref))
                    k += 1
                }
            }
        }
        #expect(worstG / scaleG < 1e-5, "γ, β gradients \(worstG / scaleG)")
        #expect(worstX / scaleX < 1e-5, "input gradient \(worstX / scaleX)")
    }
}
