/// Dense linear algebra for tiny problems (d up to a few dozen), in Double, row-major.
///
/// The sparse-regression study solves thousands of 5 x 5 systems; BLAS/LAPACK call overhead
/// would dominate and Float would blur the near-ties that decide which weight is smallest.
package enum SmallLinearAlgebra {
    /// Solves `A x = b` for square `A` (`n x n`, row-major) by Gaussian elimination with
    /// partial pivoting. Returns nil when a pivot is (numerically) zero.
    package static func solve(_ a: [Double], _ b: [Double], n: Int) -> [Double]? {
        precondition(a.count == n * n && b.count == n, "solve: shape mismatch")
        var m = a
        var x = b
        // Scale for the singularity test: relative to the largest entry.
        let scale = m.reduce(0) { Swift.max($0, abs($1)) }
        guard scale > 0 else { return nil }
        for col in 0 ..< n {
            var pivot = col
            for r in col + 1 ..< n where abs(m[r * n + col]) > abs(m[pivot * n + col]) { pivot = r }
            guard abs(m[pivot * n + col]) > 1e-13 * scale else { return nil }
            if pivot != col {
                for j in 0 ..< n { m.swapAt(col * n + j, pivot * n + j) }
                x.swapAt(col, pivot)
            }
            let p = m[col * n + col]
            for r in col + 1 ..< n {
                let f = m[r * n + col] / p
                if f == 0 { continue }
                for j in col ..< n { m[r * n + j] -= f * m[col * n + j] }
                x[r] -= f * x[col]
            }
        }
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = x[r]
            for j in r + 1 ..< n { s -= m[r * n + j] * x[j] }
            x[r] = s / m[r * n + r]
        }
        return x
    }

    /// `X X^T` for `X` of shape `d x n` (row-major): the d x d Gram matrix of the features.
    package static func gram(_ x: [Double], d: Int, n: Int) -> [Double] {
        var g = [Double](repeating: 0, count: d * d)
        for i in 0 ..< d {
            for j in i ..< d {
                var s = 0.0
                for k in 0 ..< n { s += x[i * n + k] * x[j * n + k] }
                g[i * d + j] = s
                g[j * d + i] = s
            }
        }
        return g
    }

    /// `X v` for `X` of shape `d x n` and `v` of length n.
    package static func times(_ x: [Double], _ v: [Double], d: Int, n: Int) -> [Double] {
        (0 ..< d).map { i in
            var s = 0.0
            for k in 0 ..< n { s += x[i * n + k] * v[k] }
            return s
        }
    }

    /// Ridge regression for `y ≈ w^T X`: `w = (X X^T + l I)^(-1) X y`. With `l > 0` the system
    /// is positive definite, so it has a solution even when `n < d`.
    package static func ridge(x: [Double], y: [Double], d: Int, n: Int, lambda: Double) -> [Double]? {
        var g = gram(x, d: d, n: n)
        for i in 0 ..< d { g[i * d + i] += lambda }
        return solve(g, times(x, y, d: d, n: n), n: d)
    }

    /// Largest eigenvalue of a symmetric positive semi-definite `d x d` matrix by power
    /// iteration. The Rayleigh quotient converges from below; used only to size a stable
    /// gradient step, where a few digits suffice.
    package static func largestEigenvalue(_ g: [Double], d: Int, iterations: Int = 100) -> Double {
        // All-ones start plus a small ramp so it is not orthogonal to the top eigenvector
        // for structured inputs.
        var v = (0 ..< d).map { 1 + Double($0) * 1e-3 }
        var lambda = 0.0
        for _ in 0 ..< iterations {
            var w = [Double](repeating: 0, count: d)
            for i in 0 ..< d { for j in 0 ..< d { w[i] += g[i * d + j] * v[j] } }
            var vv = 0.0, vw = 0.0, ww = 0.0
            for i in 0 ..< d { vv += v[i] * v[i]; vw += v[i] * w[i]; ww += w[i] * w[i] }
            lambda = vw / vv
            guard ww > 0 else { return 0 }
            let norm = ww.squareRoot()
            v = w.map { $0 / norm }
        }
        return lambda
    }
}
