import Tensor

extension ResidualBlock {
    /// `infer` when both convolutions run sparse: per sample, conv1's output rows go through
    /// bn1 and relu1 straight into conv2's zero-padded input planes, and conv2's through bn2,
    /// the shortcut's sum and relu2 into the output. The hidden activation is never written to
    /// memory and conv2 copies no input; every value is computed by the kernels the layers run
    /// one by one, so the bits are the same. nil when either convolution runs dense, conv2 is
    /// strided (its input planes would be phase planes) or an observer watches an activation.
    func inferChained(_ x: Tensor) -> Tensor? {
        guard relu1.observer == nil, relu2.observer == nil, bn1.channels == conv1.outChannels,
              bn2.channels == conv2.outChannels else { return nil }
        let n = x.shape[0], g1 = conv1.geometry(x.shape)
        let g2 = conv2.geometry([n, conv1.outChannels, g1.outputHeight, g1.outputWidth])
        guard g2.strideY == 1, let step1 = conv1.sparseStep(g1), let step2 = conv2.sparseStep(g2) else { return nil }
        let shortcut = inferShortcut(x)
        return OpProfile.measure(.convolution) {
            let o1 = conv1.outChannels, o2 = conv2.outChannels
            let shape = [n, o2, g2.outputHeight, g2.outputWidth]
            let e1 = bn1.evaluationEpilogue(shape: [n, o1, g1.outputHeight, g1.outputWidth], activation: relu1, shortcut: nil)
            let e2 = bn2.evaluationEpilogue(shape: shape, activation: relu2, shortcut: shortcut)
            for conv in [conv1, conv2] {
                conv.sparse.lastForwardSparse = false
                conv.sparse.inputNormalization = nil
                conv.input = nil
            }
            let sg1 = step1.sg, sg2 = step2.sg
            let workers = Swift.max(1, Swift.min(Parallel.threads, n,
                                                 SparseLayerState.workers((step1.work + step2.work) * n)))
            let scratch1 = conv1.sparse.scratch(workers, floats: step1.stageFloats + sg1.inputStride)
            let scratch2 = conv2.sparse.scratch(workers, floats: step2.stageFloats + sg2.inputStride)
            let xp = SendablePointer(x.data), inSize = g1.channels * g1.height * g1.width
            let (oh1, ow1, oh2, ow2) = (g1.outputHeight, g1.outputWidth, g2.outputHeight, g2.outputWidth)
            // Where conv1's output (c, y, x) lies in conv2's padded planes (stride 1: one phase).
            let interior = g2.padY * sg2.wq + g2.padX
            SampleWorkers.runInTasks(workers: workers, n) { w, lo, hi in
                let stage1 = scratch1[w].p, xin1 = stage1 + step1.stageFloats
                let stage2 = scratch2[w].p, xin2 = stage2 + step2.stageFloats
                // The padding stays zero: every sample writes the interior only.
                xin2.update(repeating: 0, count: sg2.inputStride)
                for s in lo..<hi {
                    Conv2d.pad(sg1, xp.p + s * inSize, into: xin1)
                    step1.multiply(xin1, into: stage1)
                    e1.apply(rows: oh1, cols: ow1, stage1, plane: sg1.length, ld: sg1.wq, to: xin2 + interior, plane: sg2.plane,
                             ld: sg2.wq)
                    step2.multiply(xin2, into: stage2)
                    e2.apply(rows: oh2, cols: ow2, stage2, plane: sg2.length, ld: sg2.wq, at: s * o2 * oh2 * ow2)
                }
            }
            return relu2.output
        }
    }
}
