import Testing
@testable import Tensor

@Suite struct BLASTests {
    /// C = alpha op(A) op(B) + beta C by the definition, in Double.
    func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
               _ a: [Float], lda: Int, _ b: [Float], ldb: Int, beta: Float, _ c: [Float], ldc: Int) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    func random(_ n: Int, _ rng: inout RNG) -> [Float] { (0..<n).map { _ in rng.normal() } }

    /// Backend, transposes, k, and m x n on a thread count: 5x37 on 1 and 2 threads (oneDNN's
    /// products split between workers by columns) and 37x5 on 2 (by rows).
    static let cases: [(BLAS.Backend, Bool, Bool, Int, [Int])] = BLAS.Backend.allCases.flatMap { backend in
        [(false, false), (false, true), (true, false), (true, true)].flatMap { t in
            [0, 3, 37].flatMap { k in [[5, 37, 1], [5, 37, 2], [37, 5, 2]].map { (backend, t.0, t.1, k, $0) } }
        }
    }

    /// Every product goes to the backend (no size threshold).
    @Test(arguments: cases)
    func gemmMatchesTheDefinition(_ backend: BLAS.Backend, _ transA: Bool, _ transB: Bool, _ k: Int, _ shape: [Int]) {
        var rng = RNG(seed: 1)
        // 37: more than one 16-lane block with a remainder in either library's kernels.
        let (m, n, threads) = (shape[0], shape[1], shape[2]), alpha: Float = 1.5, beta: Float = -0.5
        let a = random(Swift.max(m * k, 1), &rng), b = random(Swift.max(k * n, 1), &rng), c = random(m * n, &rng)
        let lda = transA ? m : k, ldb = transB ? k : n
        let expected = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                             a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: n)
        var out = c
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(on: backend, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                              ap.baseAddress!, lda: Swift.max(lda, 1), bp.baseAddress!, ldb: Swift.max(ldb, 1),
                              beta: beta, cp.baseAddress!, ldc: n, minimumProduct: 0, threads: threads)
                }
            }
        }
        for (x, y) in zip(out, expected) { #expect(abs(x - y) < 1e-5) }
    }

    @Test(arguments: BLAS.Backend.allCases)
    func gemmWithLeadingDimensionsOnSubmatrices(_ backend: BLAS.Backend) {
        // A is the left 3x2 block of a 3x4 matrix, C the top-left 3x3 block of a 3x5 one.
        var rng = RNG(seed: 2)
        let a = random(12, &rng), b = random(6, &rng), c = random(15, &rng)
        let expected = naive(transA: false, transB: false, m: 3, n: 3, k: 2, alpha: 2,
                             a, lda: 4, b, ldb: 3, beta: 1, c, ldc: 5)
        var out = c
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(on: backend, transA: false, transB: false, m: 3, n: 3, k: 2, alpha: 2,
                              ap.baseAddress!, lda: 4, bp.baseAddress!, ldb: 3, beta: 1, cp.baseAddress!, ldc: 5,
                              minimumProduct: 0)
                }
            }
        }
        for (x, y) in zip(out, expected) { #expect(abs(x - y) < 1e-5) }
        // Columns outside the block are untouched.
        for r in 0..<3 { #expect(out[r * 5 + 3] == c[r * 5 + 3] && out[r * 5 + 4] == c[r * 5 + 4]) }
    }

    @Test func matmulOnTensors() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 3], values: [1, 0, -1, 2, 1, 0])
        let c = Tensor(shape: [0])
        BLAS.matmul(a, b, into: c, transB: true)
        #expect(c.shape == [2, 2] && c.array == [-2, 4, -2, 13])
        BLAS.matmul(a, b, into: c, transA: true)  // [3,2] @ [2,3]
        #expect(c.shape == [3, 3] && c.array == [9, 4, -1, 12, 5, -2, 15, 6, -3])
        let d = Tensor(shape: [2, 2], repeating: 1)
        BLAS.matmul(a, b, into: d, transB: true, alpha: 2, beta: 3)
        #expect(d.array == [-1, 11, -1, 29])
    }
}
