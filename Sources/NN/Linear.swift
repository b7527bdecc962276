import Tensor

/// Fully connected layer `y = x W^T + b`, with W stored [out, in] as in PyTorch.
public final class Linear: InputGradientSkippable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int, outFeatures: Int
    public var computesInputGradient = true
    /// This layer's kernels once its weight is masked; nil follows `SparseKernels.mode`.
    public var kernels: KernelMode?
    var input: Tensor?
    let output = Tensor(shape: [0])
    let gradInput = Tensor(shape: [0])
    /// Sparse kernels' patterns and buffers (SparseLinear.swift).
    let sparse = SparseLayerState()

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, name: String = "linear",
                initializer: Initializer = .heNormal, rng: inout RNG) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: "\(name).weight", shape: [outFeatures, inFeatures], prunable: true, kind: "linear")
        initializer.fill(weight.value, fanIn: inFeatures, fanOut: outFeatures, rng: &rng)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outFeatures], prunable: false, kind: "bias") : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var summary: String { "Linear(\(inFeatures)→\(outFeatures))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.linear) {
            let rows = x.count / inFeatures
            precondition(rows * inFeatures == x.count, "Linear(\(inFeatures)→\(outFeatures)) got input \(x.shape)")
            input = x
            if sparseForward(x, rows: rows) { return output }
            output.resize([rows, outFeatures])
            BLAS.gemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                      x.data, weight.value.data, output.data)
            if let b = bias { Ops.addRowVector(rows, outFeatures, b.value.data, output.data) }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.linear) {
            guard let x = input else { preconditionFailure("Linear.backward before forward") }
            if sparse.lastForwardSparse { return sparseBackward(dy, x) }
            let rows = dy.count / outFeatures
            // dW += dy^T x ; db += column sums of dy ; dx = dy W
            BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: rows,
                      dy.data, x.data, beta: 1, weight.grad.data)
            if let b = bias { Ops.sumRows(rows, outFeatures, dy.data, into: b.grad.data, accumulate: true) }
            guard computesInputGradient else { return gradInput }
            gradInput.resize(x.shape)
            BLAS.gemm(m: rows, n: inFeatures, k: outFeatures, dy.data, weight.value.data, gradInput.data)
            return gradInput
        }
    }
}
