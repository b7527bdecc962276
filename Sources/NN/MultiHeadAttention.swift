import CKernels
import Tensor

/// Multi-head self-attention over `[N, T, dim]` tokens (Vaswani et al. 2017), as in ViT:
/// one `Linear(dim, 3 dim)` gives the queries, keys and values of every head side by side
/// (`[q | k | v]`, head `h` at columns `h*dh ..< (h+1)*dh` of each), each head computes
/// `softmax(Q Kᵀ / sqrt(dh)) V`, the heads are concatenated and `Linear(dim, dim)` projects
/// them back. Both projections are ordinary `Linear` layers, so their weights are prunable
/// like any other.
///
/// The per-(sample, head) products are strided CBLAS GEMMs straight on the fused `[N*T, 3 dim]`
/// projection output and the `[N*T, dim]` context: no head is copied out. Forward keeps the
/// attention probabilities `[N, heads, T, T]` for backward, which goes through the softmax
/// exactly: dS = P ⊙ (dP − rowsum(dP ⊙ P)). With `Parallel.threads > 1` the samples are split
/// between workers (the heads' GEMMs are too small for OpenBLAS to thread them itself).
public final class MultiHeadAttention: Layer {
    public let dim: Int, heads: Int
    public var headDim: Int { dim / heads }
    public let qkv: Linear
    public let projection: Linear

    private var inputShape: [Int] = []
    /// The fused projection's output `[N*T, 3 dim]` (its buffer, valid until its next forward).
    private var projected: Tensor?
    /// Softmax probabilities of the last forward pass, `[N, heads, T, T]`.
    private let probabilities = Tensor(shape: [0])
    /// Concatenated head outputs, `[N*T, dim]`: the output projection's input.
    private let context = Tensor(shape: [0])
    private let gradQKV = Tensor(shape: [0])
    /// dLoss/dP, then dLoss/dS in place, for the (sample, head) at hand: `[workers, T, T]`.
    private let gradScores = Tensor(shape: [0])

    public init(dim: Int, heads: Int, name: String = "attn", initializer: Initializer = .glorotUniform, rng: inout RNG) {
        precondition(dim > 0 && heads > 0 && dim % heads == 0, "MultiHeadAttention: \(heads) heads must divide dim \(dim)")
        self.dim = dim
        self.heads = heads
        qkv = Linear(dim, 3 * dim, name: "\(name).qkv", initializer: initializer, rng: &rng)
        projection = Linear(dim, dim, name: "\(name).proj", initializer: initializer, rng: &rng)
    }

    public var parameters: [Parameter] { qkv.parameters + projection.parameters }
    public var sublayers: [any Layer] { [qkv, projection] }
    public var summary: String { "MultiHeadAttention(\(dim), \(heads) heads)" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.attention) {
            precondition(x.rank == 3 && x.shape[2] == dim, "\(summary) needs [N, T, \(dim)], got \(x.shape)")
            inputShape = x.shape
            let n = x.shape[0], t = x.shape[1], d = dim, dh = headDim, d3 = 3 * d, heads = heads
            let scale = 1 / Float(dh).squareRoot()
            let qkvOut = qkv.forward(x, training: training)
            projected = qkvOut
            probabilities.resize([n, heads, t, t])
            context.resize([n * t, d])
            let q = SendablePointer(qkvOut.data), pAll = SendablePointer(probabilities.data), ctx = SendablePointer(context.data)
            SampleWorkers.run(workers: workerCount(n, t), n) { _, lo, hi in
                for s in lo..<hi {
                    let qs = q.p + s * t * d3
                    for h in 0..<heads {
                        let p = pAll.p + (s * heads + h) * t * t
                        let qh = qs + h * dh, kh = qs + d + h * dh, vh = qs + 2 * d + h * dh
                        // S = Q Kᵀ / sqrt(dh), then a row softmax in place.
                        BLAS.gemm(transB: true, m: t, n: t, k: dh, alpha: scale, qh, lda: d3, kh, ldb: d3, p, ldc: t)
                        tk_softmax_rows(t, t, p)
                        // This head's slice of the context: P V.
                        BLAS.gemm(m: t, n: dh, k: t, p, lda: t, vh, ldb: d3, ctx.p + s * t * d + h * dh, ldc: d)
                    }
                }
            }
            let y = projection.forward(context, training: training)
            // The projection's own buffer, given the token shape back (its next forward resizes it).
            y.reshape(x.shape)
            return y
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.attention) {
            let n = inputShape[0], t = inputShape[1], d = dim, dh = headDim, d3 = 3 * d, heads = heads
            precondition(dy.count == n * t * d, "\(summary).backward: gradient \(dy.shape) for output \(inputShape)")
            let scale = 1 / Float(dh).squareRoot()
            guard let projected else { preconditionFailure("MultiHeadAttention.backward before forward") }
            let dctx = SendablePointer(projection.backward(dy).data)
            gradQKV.resize([n * t, d3])
            let workers = workerCount(n, t)
            gradScores.resize([workers, t, t])
            let q = SendablePointer(projected.data), pAll = SendablePointer(probabilities.data)
            let dq = SendablePointer(gradQKV.data), dsAll = SendablePointer(gradScores.data)
            SampleWorkers.run(workers: workers, n) { w, lo, hi in
                let ds = dsAll.p + w * t * t
                for s in lo..<hi {
                    let qs = q.p + s * t * d3, dqs = dq.p + s * t * d3, dcs = dctx.p + s * t * d
                    for h in 0..<heads {
                        let p = pAll.p + (s * heads + h) * t * t
                        let qh = qs + h * dh, kh = qs + d + h * dh, vh = qs + 2 * d + h * dh
                        let dch = dcs + h * dh
                        // dV = Pᵀ dC ; dP = dC Vᵀ
                        BLAS.gemm(transA: true, m: t, n: dh, k: t, p, lda: t, dch, ldb: d, dqs + 2 * d + h * dh, ldc: d3)
                        BLAS.gemm(transB: true, m: t, n: t, k: dh, dch, lda: d, vh, ldb: d3, ds, ldc: t)
                        // Softmax backward, row by row: dS = P ⊙ (dP − rowsum(dP ⊙ P)).
                        tk_softmax_backward_rows(t, t, p, ds)
                        // dQ = dS K / sqrt(dh) ; dK = dSᵀ Q / sqrt(dh)
                        BLAS.gemm(m: t, n: dh, k: t, alpha: scale, ds, lda: t, kh, ldb: d3, dqs + h * dh, ldc: d3)
                        BLAS.gemm(transA: true, m: t, n: dh, k: t, alpha: scale, ds, lda: t, qh, ldb: d3, dqs + d + h * dh, ldc: d3)
                    }
                }
            }
            return qkv.backward(gradQKV)
        }
    }

    /// Workers for `n` samples of `t` tokens: several only when `Parallel.threads > 1` and the
    /// score matrices are large enough to pay for them. Each writes its own samples' slices
    /// and its own `[T, T]` scratch.
    private func workerCount(_ n: Int, _ t: Int) -> Int {
        Swift.max(1, Swift.min(Parallel.threads, n, n * t * t * dim / Parallel.minimumWork))
    }
}
