import CKernels
import Tensor

extension Linear {
    /// The run of layers from `start` that `inferChained` can evaluate: fully connected layers
    /// that run sparse, each followed by at most one unobserved ReLU, the next layer's input
    /// the previous one's output; empty unless it holds two such layers or more.
    static func sparseInferenceRun(_ layers: [any Layer], from start: Int) -> [(Linear, ReLU?)] {
        var run: [(Linear, ReLU?)] = [], i = start
        while i < layers.count, let linear = layers[i] as? Linear, linear.sparse.active(linear.weight, .linear, mode: linear.kernels) {
            if let last = run.last?.0, last.outFeatures != linear.inFeatures { break }
            let relu = i + 1 < layers.count ? layers[i + 1] as? ReLU : nil
            if let relu, relu.observer != nil { break }
            run.append((linear, relu))
            i += relu == nil ? 1 : 2
        }
        return run.count >= 2 ? run : []
    }

    /// Evaluation (`Layer.infer`, no backward) of `run` (`sparseInferenceRun`) on `x`: the
    /// activations stay in the kernels' transposed layout from the first layer to the last
    /// (bias and ReLU applied there), so only the first input and the last output are
    /// transposed, not every layer's. The same bits as the layers one by one: the same kernels
    /// and patterns, and the bias and ReLU are the same expressions per value.
    static func inferChained(_ run: [(Linear, ReLU?)], _ x: Tensor) -> Tensor {
        OpProfile.measure(.linear) {
            let first = run[0].0, n = x.count / first.inFeatures, ld = (n + 15) / 16 * 16
            precondition(n * first.inFeatures == x.count, "\(first.summary) got input \(x.shape)")
            let xt = first.sparse.input
            xt.resize([first.inFeatures, ld])
            SparseKernels.transpose(rows: n, cols: first.inFeatures, x.data, lds: first.inFeatures, xt.data, ldd: ld)
            var current = xt
            for (linear, relu) in run {
                linear.input = nil
                linear.sparse.lastForwardSparse = false
                let fout = linear.outFeatures, plan = linear.linearPlan(ld: ld), yt = linear.sparse.output
                yt.resize([fout, ld])
                let args = SparseArgs(plan: plan, w: linear.weight.value.data)
                let xp = SendablePointer(current.data), yp = SendablePointer(yt.data)
                SparseKernels.run(plan.forwardBounds) { _, lo, hi in
                    args.plan.forward.multiply(rows: lo, hi, weight: args.w, x: xp.p, y: yp.p, ldy: ld, length: ld, accumulate: false)
                }
                if let b = linear.bias?.value.data {
                    for o in 0..<fout {
                        let row = yt.data + o * ld, bo = b[o]
                        for t in 0..<n { row[t] += bo }
                    }
                }
                current = yt
                if let relu {
                    // The ReLU's own buffer holds its transposed output meanwhile; no backward reads it.
                    relu.output.resize([fout, ld])
                    tk_relu_forward(fout * ld, yt.data, relu.output.data)
                    current = relu.output
                }
            }
            let last = run[run.count - 1].0
            last.output.resize([n, last.outFeatures])
            SparseKernels.transpose(rows: last.outFeatures, cols: n, current.data, lds: ld, last.output.data, ldd: last.outFeatures)
            return last.output
        }
    }
}
