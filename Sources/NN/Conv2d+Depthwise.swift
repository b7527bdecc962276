import Tensor

/// Depthwise convolutions (groups == in == out channels, MobileNetV2's 3x3 layers) that do not
/// run on oneDNN use the direct kernels of `Depthwise` instead of one tiny GEMM per channel and sample.
extension Conv2d {
    var isDepthwise: Bool { groups > 1 && groups == inChannels && groups == outChannels }

    /// The geometry of one channel plane.
    private func planeGeometry(_ g: ConvGeometry) -> ConvGeometry {
        ConvGeometry(channels: 1, height: g.height, width: g.width, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                     strideY: stride, strideX: stride, padY: padding, padX: padding)
    }

    private func depthwiseWorkers(_ n: Int, _ g: ConvGeometry) -> Int {
        Swift.max(1, Swift.min(Parallel.threads, n, n * inChannels * g.outputArea * kernelHeight * kernelWidth / Parallel.minimumWork))
    }

    func depthwiseForward(_ g: ConvGeometry, _ x: Tensor, into output: Tensor) {
        let pg = planeGeometry(g), n = x.shape[0], c = inChannels, k = kernelHeight * kernelWidth
        let inPlane = g.height * g.width, outPlane = g.outputArea
        let xp = SendablePointer(x.data), wp = SendablePointer(weight.value.data), op = SendablePointer(output.data)
        let bp = bias.map { SendablePointer($0.value.data) }
        SampleWorkers.run(workers: depthwiseWorkers(n, g), n) { _, lo, hi in
            for s in lo..<hi {
                for ch in 0..<c {
                    Depthwise.forward(pg, xp.p + (s * c + ch) * inPlane, wp.p + ch * k, bias: bp?.p[ch] ?? 0,
                                      op.p + (s * c + ch) * outPlane)
                }
            }
        }
    }

    /// Accumulates the weight gradient (per-worker partials, summed after) and, when `gradInput`
    /// is given, overwrites it with dLoss/dInput.
    func depthwiseBackward(_ g: ConvGeometry, _ x: Tensor, _ dy: Tensor, gradInput: Tensor?) {
        let pg = planeGeometry(g), n = x.shape[0], c = inChannels, k = kernelHeight * kernelWidth
        let inPlane = g.height * g.width, outPlane = g.outputArea
        let workers = depthwiseWorkers(n, g)
        workspace.reserve(workers: workers)
        let dws = weightGradientPartials(workers: workers)
        let xp = SendablePointer(x.data), wp = SendablePointer(weight.value.data), dyp = SendablePointer(dy.data)
        let dxp = gradInput.map { SendablePointer($0.data) }
        SampleWorkers.run(workers: workers, n) { w, lo, hi in
            for s in lo..<hi {
                for ch in 0..<c {
                    let d = dyp.p + (s * c + ch) * outPlane
                    Depthwise.backwardWeight(pg, d, xp.p + (s * c + ch) * inPlane, dws[w].p + ch * k)
                    if let dxp {
                        let dx = dxp.p + (s * c + ch) * inPlane
                        dx.update(repeating: 0, count: inPlane)
                        Depthwise.backwardInput(pg, d, wp.p + ch * k, dx)
                    }
                }
            }
        }
        sumWeightGradientPartials(workers: workers)
    }
}
