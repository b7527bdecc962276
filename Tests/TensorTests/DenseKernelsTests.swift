import CKernels
import Foundation
import Testing
@testable import Tensor

/// Every dense kernel of CKernels at every level this CPU supports, against the portable
/// level (float rounding apart: FMA contraction differs) and against a Double reference.
@Suite("Dense vector kernels", .serialized)
struct DenseKernelsTests {
    func close(_ a: Float, _ b: Double, rel: Double = 1e-5, abs absTol: Double = 1e-6) -> Bool {
        Swift.abs(Double(a) - b) <= absTol + rel * Swift.abs(b)
    }

    /// Lengths around the 16-lane blocks and the vector widths, and one large.
    let lengths = [1, 7, 15, 16, 17, 33, 100, 1031]

    @Test func reductionsAreExactToRoundingAndIdenticalAtEveryLevel() {
        for n in lengths {
            let x = values(n, seed: UInt64(n))
            let exactSum = x.reduce(0.0) { $0 + Double($1) }
            let mean = Float(exactSum / Double(n))
            let exactSq = x.reduce(0.0) { $0 + (Double($1) - Double(mean)) * (Double($1) - Double(mean)) }
            var portable: (Float, Float)?
            eachLevel { isa in
                let s = tk_sum(n, x), q = tk_sum_squared_deviations(n, x, mean)
                #expect(close(s, exactSum, rel: 1e-5, abs: 1e-4), "sum n=\(n) \(isa)")
                #expect(close(q, exactSq, rel: 1e-5, abs: 1e-4), "squared deviations n=\(n) \(isa)")
                // 16 lanes in a fixed order: the same bits at every level.
                if let p = portable { #expect(p == (s, q), "n=\(n) \(isa)") } else { portable = (s, q) }
            }
        }
    }

    @Test func elementwiseKernelsMatchTheirDefinitions() {
        for n in lengths {
            let a = values(n, seed: 1), b = values(n, seed: 2, scale: 8)
            eachLevel { isa in
                var out = [Float](repeating: .nan, count: n)
                tk_add(n, a, b, &out)
                for i in 0..<n { #expect(out[i] == a[i] + b[i], "add \(isa)") }
                tk_mul(n, a, b, &out)
                for i in 0..<n { #expect(out[i] == a[i] * b[i], "mul \(isa)") }
                var s = a
                tk_scale(n, 0.75, &s)
                for i in 0..<n { #expect(s[i] == a[i] * 0.75, "scale \(isa)") }
                // In place: out aliasing an input.
                var c = a
                c.withUnsafeMutableBufferPointer { tk_add(n, $0.baseAddress!, b, $0.baseAddress!) }
                for i in 0..<n { #expect(c[i] == a[i] + b[i], "add in place \(isa)") }

                var y = [Float](repeating: .nan, count: n), dx = y
                tk_relu_forward(n, b, &y)
                for i in 0..<n { #expect(y[i] == (b[i] > 0 ? b[i] : 0), "relu \(isa)") }
                tk_relu_backward(n, y, a, &dx)
                for i in 0..<n { #expect(dx[i] == (y[i] > 0 ? a[i] : 0), "relu backward \(isa)") }
                tk_relu6_forward(n, b, &y)
                for i in 0..<n { #expect(y[i] == Swift.min(Swift.max(b[i], 0), 6), "relu6 \(isa)") }
                tk_relu6_backward(n, y, a, &dx)
                for i in 0..<n { #expect(dx[i] == (y[i] > 0 && y[i] < 6 ? a[i] : 0), "relu6 backward \(isa)") }
            }
        }
        // NaN: ReLU gives 0, ReLU6 keeps it (as Swift's min/max did).
        var y: [Float] = [0]
        tk_relu_forward(1, [Float.nan], &y)
        #expect(y[0] == 0)
        tk_relu6_forward(1, [Float.nan], &y)
        #expect(y[0].isNaN)
    }

    /// Blocks of rows (the sparse convolution's padded layouts): every row's n floats land at
    /// their stride and nothing between the rows is touched, at every level.
    @Test(arguments: [(3, 1, 4, 5), (7, 32, 34, 32), (5, 17, 17, 20), (1, 40, 40, 40), (0, 4, 4, 4)])
    func copyRowsMovesEachRow(_ shape: (Int, Int, Int, Int)) {
        let (rows, n, lds, ldd) = shape
        let src = values(Swift.max(1, rows * lds), seed: 3)
        eachLevel { isa in
            var dst = [Float](repeating: -7, count: Swift.max(1, rows * ldd))
            Ops.copyRows(rows, n, from: src, ld: lds, to: &dst, ld: ldd)
            for r in 0..<rows {
                for j in 0..<ldd { #expect(dst[r * ldd + j] == (j < n ? src[r * lds + j] : -7), "\(isa) row \(r) column \(j)") }
            }
        }
    }

    /// Blocks of rows placed in a zero-padded layout (a sparse convolution's padded planes and
    /// staged dy): every value at its place, zeros everywhere else in the buffer, whatever the
    /// buffer held before.
    @Test(arguments: [(3, 4, 4, 1, 6), (2, 8, 8, 10, 10), (1, 1, 1, 0, 1), (4, 3, 5, 7, 9)])
    func placeRowsLeavesOnlyTheBlocksAndZeros(_ shape: (Int, Int, Int, Int, Int)) {
        let (blocks, rows, n, first, ld) = shape
        let dstBlock = rows * ld + 5, count = first + blocks * dstBlock + 3
        let src = values(blocks * rows * n, seed: 6).map { $0 == 0 ? 1 : $0 }
        eachLevel { isa in
            var dst = [Float](repeating: -7, count: count)
            Ops.placeRows(blocks, rows, n, from: src, block: rows * n, to: &dst, first: first, block: dstBlock, ld: ld, count: count)
            var want = [Float](repeating: 0, count: count)
            for b in 0..<blocks {
                for r in 0..<rows { for j in 0..<n { want[first + b * dstBlock + r * ld + j] = src[(b * rows + r) * n + j] } }
            }
            #expect(dst == want, "\(isa) \(blocks) blocks of \(rows)x\(n) at \(first), ld \(ld)")
        }
    }

    /// Rows with a step along them (a strided convolution's phase planes and back): gathers
    /// with steps 2 and 3 and scatters with step 2, each value where the step puts it and
    /// nothing else touched, at every level.
    @Test(arguments: [(3, 1, 1, 2), (5, 17, 2, 1), (4, 33, 1, 2), (6, 8, 3, 1), (2, 40, 1, 3), (1, 16, 2, 1), (3, 32, 2, 1), (3, 32, 1, 2)])
    func copyStridedMovesEveryNthValue(_ shape: (Int, Int, Int, Int)) {
        let (rows, n, incs, incd) = shape
        let lds = n * incs + 5, ldd = n * incd + 3
        let src = values(rows * lds, seed: 4)
        eachLevel { isa in
            var dst = [Float](repeating: -7, count: rows * ldd)
            Ops.copyStrided(rows, n, from: src, ld: lds, step: incs, to: &dst, ld: ldd, step: incd)
            for r in 0..<rows {
                for k in 0..<ldd {
                    let (j, rest) = k.quotientAndRemainder(dividingBy: incd)
                    let want = rest == 0 && j < n ? src[r * lds + j * incs] : -7
                    #expect(dst[r * ldd + k] == want, "\(isa) step \(incs)→\(incd) row \(r) position \(k)")
                }
            }
        }
    }

    @Test func geluMatchesTheExactErfFormInDouble() {
        // Dense over [-12, 12], both branches of the erf approximation and the tails.
        let n = 4801
        let x = (0..<n).map { Float(-12 + 24 * Double($0) / Double(n - 1)) }
        var reference0: [Float]?
        eachLevel { isa in
            var y = [Float](repeating: 0, count: n), d = y
            tk_gelu_forward(n, x, &y, &d)
            for i in 0..<n {
                let v = Double(x[i])
                let cdf = 0.5 * erfc(-v / 2.0.squareRoot())
                let pdf = exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
                // In the far tail (cdf < 3e-7) e^(-z^2) inherits z^2's float rounding: relative
                // error grows to ~1e-5 there, at values below 1e-6 in absolute terms.
                let rel = Swift.abs(v) <= 5 ? 2e-6 : 3e-5
                #expect(close(y[i], v * cdf, rel: rel, abs: 1e-30), "gelu(\(v)) on \(isa): \(y[i]) vs \(v * cdf)")
                #expect(close(d[i], cdf + v * pdf, rel: rel, abs: 1e-7), "gelu'(\(v)) on \(isa): \(d[i])")
            }
            if let r = reference0 {
                for i in 0..<n { #expect(close(y[i], Double(r[i]), rel: 1e-6, abs: 0)) }
            } else { reference0 = y }
        }
        var y: [Float] = [0, 0], d: [Float] = [0, 0]
        tk_gelu_forward(2, [-200, 200], &y, &d)
        #expect(y[0] == 0 && y[1] == 200 && d[0] == 0 && d[1] == 1)
    }

    @Test func softmaxRowsAndItsBackward() {
        for t in [1, 5, 16, 65, 200] {
            let rows = 3
            let x = values(rows * t, seed: UInt64(t), scale: 20)
            let dp = values(rows * t, seed: UInt64(t) + 100)
            eachLevel { isa in
                var p = x
                tk_softmax_rows(rows, t, &p)
                for r in 0..<rows {
                    let row = x[(r * t)..<((r + 1) * t)].map(Double.init)
                    let mx = row.max()!, e = row.map { exp($0 - mx) }, s = e.reduce(0, +)
                    var total: Float = 0
                    for j in 0..<t {
                        #expect(close(p[r * t + j], e[j] / s, rel: 2e-6, abs: 1e-12), "softmax t=\(t) \(isa)")
                        total += p[r * t + j]
                    }
                    #expect(Swift.abs(total - 1) < 1e-5)
                }
                var ds = dp
                tk_softmax_backward_rows(rows, t, p, &ds)
                for r in 0..<rows {
                    var inner = 0.0
                    for j in 0..<t { inner += Double(p[r * t + j]) * Double(dp[r * t + j]) }
                    for j in 0..<t {
                        let want = Double(p[r * t + j]) * (Double(dp[r * t + j]) - inner)
                        #expect(close(ds[r * t + j], want, rel: 1e-5, abs: 1e-6), "softmax backward \(isa)")
                    }
                }
            }
        }
        // Large logits neither overflow nor give NaN.
        var big: [Float] = [1000, 999, -1000]
        tk_softmax_rows(1, 3, &big)
        #expect(big.allSatisfy(\.isFinite) && Swift.abs(big[0] - 0.7310586) < 1e-6 && big[2] == 0)
    }

    @Test func layerNormForwardAndBackward() {
        let rows = 5, d = 37
        let x = values(rows * d, seed: 3), gamma = values(d, seed: 4), beta = values(d, seed: 5), dy = values(rows * d, seed: 6)
        eachLevel { isa in
            var xhat = [Float](repeating: 0, count: rows * d), y = xhat, inv = [Float](repeating: 0, count: rows)
            tk_layernorm_forward(rows, d, x, gamma, beta, 1e-5, &xhat, &y, &inv)
            var dx = [Float](repeating: 0, count: rows * d), dg = [Float](repeating: 0.5, count: d), db = dg
            var scratch = [Float](repeating: 0, count: d)
            tk_layernorm_backward(rows, d, dy, xhat, inv, gamma, &dx, &dg, &db, &scratch)
            var wantDG = [Double](repeating: 0.5, count: d), wantDB = wantDG
            for r in 0..<rows {
                let row = (0..<d).map { Double(x[r * d + $0]) }
                let mean = row.reduce(0, +) / Double(d)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
                let s = 1 / (variance + 1e-5).squareRoot()
                #expect(close(inv[r], s, rel: 1e-5))
                let h = row.map { ($0 - mean) * s }
                let u = (0..<d).map { Double(gamma[$0]) * Double(dy[r * d + $0]) }
                let meanU = u.reduce(0, +) / Double(d)
                let meanUH = zip(u, h).map(*).reduce(0, +) / Double(d)
                for j in 0..<d {
                    #expect(close(xhat[r * d + j], h[j], rel: 1e-5, abs: 1e-5))
                    #expect(close(y[r * d + j], Double(gamma[j]) * h[j] + Double(beta[j]), rel: 1e-5, abs: 1e-5), "\(isa)")
                    #expect(close(dx[r * d + j], s * (u[j] - meanU - h[j] * meanUH), rel: 1e-4, abs: 1e-5), "\(isa)")
                    wantDG[j] += Double(dy[r * d + j]) * h[j]
                    wantDB[j] += Double(dy[r * d + j])
                }
            }
            for j in 0..<d {
                #expect(close(dg[j], wantDG[j], rel: 1e-5, abs: 1e-5))
                #expect(close(db[j], wantDB[j], rel: 1e-5, abs: 1e-5))
            }
        }
    }

    @Test func batchNormPlaneKernels() {
        for n in lengths {
            let x = values(n, seed: 7), dy = values(n, seed: 8)
            var portableSums: [Float]?
            eachLevel { isa in
                var h = [Float](repeating: 0, count: n), y = h, y2 = h, dx = h
                tk_bn_normalize(n, x, 0.25, 1.5, -0.5, 2, &h, &y)
                tk_bn_normalize(n, x, 0.25, 1.5, -0.5, 2, nil, &y2)
                for i in 0..<n {
                    let v = (Double(x[i]) - 0.25) * 1.5
                    #expect(close(h[i], v, rel: 1e-6))
                    #expect(close(y[i], -0.5 * v + 2, rel: 1e-6), "bn \(isa)")
                    #expect(y2[i] == y[i])
                }
                // Fused with ReLU6: the bits of the two kernels in a row, on both sides of 0 and 6.
                var plain = [Float](repeating: 0, count: n), clamped = plain, fused = plain
                tk_bn_normalize(n, x, 0.25, 1.5, 3, 2, nil, &plain)
                tk_relu6_forward(n, plain, &clamped)
                tk_bn_normalize_relu6(n, x, 0.25, 1.5, 3, 2, &fused)
                #expect(fused == clamped, "bn + relu6 \(isa)")
                if n > 100 { #expect(clamped.contains(0) && clamped.contains(6) && clamped.contains { $0 > 0 && $0 < 6 }) }
                // Fused with ReLU, forward and backward: the bits of the kernels in a row.
                var relu = plain, fusedReLU = plain
                tk_relu_forward(n, plain, &relu)
                tk_bn_normalize_relu(n, x, 0.25, 1.5, 3, 2, &fusedReLU)
                #expect(fusedReLU == relu, "bn + relu \(isa)")
                if n > 100 { #expect(relu.contains(0) && relu.contains { $0 > 0 }) }
                // Backward masked by the ReLU's (0 < y) or the ReLU6's (0 < y < 6) output.
                typealias Backward = (Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
                typealias Sums = (Int, UnsafePointer<Float>, UnsafePointer<Float>, Float, Float, Float, Float,
                                  UnsafeMutablePointer<Float>) -> Void
                typealias Input = (Int, UnsafePointer<Float>, UnsafePointer<Float>, Float, Float, Float, Float, Float, Float,
                                   Float, UnsafeMutablePointer<Float>) -> Void
                let fusions: [(String, [Float], Backward, Sums, Input)] = [
                    ("relu", relu, tk_relu_backward, tk_bn_backward_sums_relu, tk_bn_backward_input_relu),
                    ("relu6", clamped, tk_relu6_backward, tk_bn_backward_sums_relu6, tk_bn_backward_input_relu6),
                ]
                for (what, y, backward, fusedSumsKernel, fusedInputKernel) in fusions {
                    var masked = plain, dxApart = plain, dxFused = plain
                    backward(n, y, dy, &masked)
                    var apartSums: [Float] = [0, 0], fusedSums: [Float] = [0, 0]
                    tk_bn_backward_sums(n, masked, x, 0.25, &apartSums)
                    // y = act(bn_normalize(x, 0.25, 1.5, 3, 2)): the fused kernels recompute its mask.
                    fusedSumsKernel(n, dy, x, 0.25, 1.5, 3, 2, &fusedSums)
                    #expect(fusedSums == apartSums, "bn backward sums + \(what) \(isa)")
                    tk_bn_backward_input(n, masked, x, 0.25, 1.5, 0.8, 0.1, -0.3, &dxApart)
                    fusedInputKernel(n, dy, x, 0.25, 1.5, 3, 2, 0.8, 0.1, -0.3, &dxFused)
                    #expect(dxFused == dxApart, "bn backward input + \(what) \(isa)")
                }
                // A residual block's end: BN, + shortcut, ReLU in one pass.
                let shortcut = values(n, seed: UInt64(n) + 7)
                var summed = plain, endApart = plain, endFused = plain
                tk_add(n, plain, shortcut, &summed)
                tk_relu_forward(n, summed, &endApart)
                tk_bn_normalize_add_relu(n, x, 0.25, 1.5, 3, 2, shortcut, &endFused)
                #expect(endFused == endApart, "bn + add + relu \(isa)")
                tk_bn_backward_input(n, dy, x, 0.25, 1.5, 0.8, 0.1, -0.3, &dx)
                var sums: [Float] = [0, 0]
                tk_bn_backward_sums(n, dy, x, 0.25, &sums)
                var wantSum = 0.0, wantSumXmu = 0.0
                for i in 0..<n {
                    let xhat = (Double(x[i]) - 0.25) * 1.5
                    #expect(close(dx[i], 0.8 * (Double(dy[i]) - 0.1 + xhat * 0.3), rel: 1e-5, abs: 1e-6), "\(isa)")
                    wantSum += Double(dy[i])
                    wantSumXmu += Double(dy[i]) * (Double(x[i]) - 0.25)
                }
                #expect(close(sums[0], wantSum, rel: 1e-5, abs: 1e-5) && close(sums[1], wantSumXmu, rel: 1e-5, abs: 1e-5), "\(isa)")
                if let p = portableSums { #expect(p == sums, "bn sums \(isa)") } else { portableSums = sums }
            }
        }
    }

    /// tk_bn_normalize_planes on one plane's rows, the epilogue of a sparse convolution's wider
    /// output rows: each row has the bits of the contiguous kernel of its activation (none,
    /// ReLU, ReLU6, + shortcut and ReLU), and nothing outside the rows' n values is written.
    @Test func normalizingRowsGivesTheBitsOfThePlaneKernels() {
        for (rows, n) in [(1, 1), (3, 7), (8, 8), (4, 16), (5, 17), (32, 32), (2, 100)] {
            let ldx = n + 3, ldy = n + 2
            let x = values(rows * ldx, seed: UInt64(rows * n)), shortcut = values(rows * ldy, seed: UInt64(n) + 5)
            eachLevel { isa in
                for clamp in Int32(0)...3 {
                    let s: [Float]? = clamp == 3 ? shortcut : nil
                    var y = [Float](repeating: -7, count: rows * ldy)
                    tk_bn_normalize_planes(1, rows, n, x, 0, ldx, [0.25], [1.5], [3], [2], clamp == 3 ? 1 : clamp, s, &y, 0, ldy)
                    for r in 0..<rows {
                        let row = Array(x[(r * ldx)..<(r * ldx + n)])
                        let want = normalizedRow(n, row, 0.25, 1.5, 3, 2, clamp: clamp,
                                                 shortcut: clamp == 3 ? Array(shortcut[(r * ldy)..<(r * ldy + n)]) : nil)
                        #expect(Array(y[(r * ldy)..<(r * ldy + n)]) == want, "rows \(rows)x\(n) clamp \(clamp) \(isa)")
                        #expect(y[(r * ldy + n)..<(r * ldy + ldy)].allSatisfy { $0 == -7 }, "gap written, \(isa)")
                    }
                }
            }
        }
    }

    /// tk_place_bn_input_gradient on one plane, a BatchNorm's input gradient staged by the
    /// convolution before it: each row has the bits of the plane kernel of its activation (none,
    /// ReLU, ReLU6), and zeros fill each row's gap.
    @Test func backwardInputRowsGiveTheBitsOfThePlaneKernels() {
        for (rows, n) in [(1, 1), (3, 7), (8, 8), (4, 16), (5, 17), (2, 100)] {
            let ldx = n + 2, count = rows * n
            let x = values(count, seed: UInt64(count)), dy = values(count, seed: UInt64(count) + 1)
            eachLevel { isa in
                for clamp in Int32(0)...2 {
                    var staged = [Float](repeating: -7, count: rows * ldx)
                    tk_place_bn_input_gradient(1, rows, n, dy, x, [0.25], [1.5], [3], [2], [0.8], [0.1], [-0.3], clamp, &staged,
                                               0, rows * ldx, ldx, rows * ldx)
                    let plane = inputGradientRow(count, dy, x, 0.25, 1.5, 3, 2, 0.8, 0.1, -0.3, clamp: clamp)
                    for r in 0..<rows {
                        #expect(Array(staged[(r * ldx)..<(r * ldx + n)]) == Array(plane[(r * n)..<(r * n + n)]),
                                "rows \(rows)x\(n) clamp \(clamp) \(isa)")
                        #expect(staged[(r * ldx + n)..<(r * ldx + ldx)].allSatisfy { $0 == 0 }, "gap \(isa)")
                    }
                }
            }
        }
    }

    /// The optimizers' kernels against the PyTorch formulas in Double; masked entries
    /// (including ones with a NaN gradient) end exactly 0 with zero state.
    @Test func optimizerKernelsFollowTheFormulasAndKeepMaskedEntriesZero() {
        let n = 203
        let w0 = values(n, seed: 9), g0 = values(n, seed: 10).enumerated().map { $0.offset == 58 ? Float.nan : $0.element }
        let mask = (0..<n).map { $0 % 3 == 1 || $0 == 58 ? Float(0) : 1 }
        let state0 = values(n, seed: 11).map { Swift.abs($0) }
        func checkMasked(_ arrays: [[Float]], _ what: String) {
            for i in 0..<n where mask[i] == 0 { for a in arrays { #expect(a[i] == 0, "\(what) masked entry \(i)") } }
        }
        eachLevel { isa in
            for nesterov in [false, true] {
                for masked in [false, true] {
                    var w = w0, buf = state0
                    let g = masked ? g0 : g0.map { $0.isNaN ? 0 : $0 }
                    masked ? tk_sgd(n, &w, g, &buf, mask, 0.1, 0.9, 1e-2, nesterov ? 1 : 0)
                           : tk_sgd(n, &w, g, &buf, nil, 0.1, 0.9, 1e-2, nesterov ? 1 : 0)
                    for i in 0..<n where !masked || mask[i] != 0 {
                        let d = Double(g[i]) + 1e-2 * Double(w0[i]), b = 0.9 * Double(state0[i]) + d
                        #expect(close(buf[i], b, rel: 1e-5, abs: 1e-6), "sgd buf \(isa)")
                        #expect(close(w[i], Double(w0[i]) - 0.1 * (nesterov ? d + 0.9 * b : b), rel: 1e-5, abs: 1e-6), "sgd \(isa)")
                    }
                    if masked { checkMasked([w, buf], "sgd") }
                    var w2 = w0
                    masked ? tk_sgd(n, &w2, g, nil, mask, 0.1, 0, 1e-2, 0) : tk_sgd(n, &w2, g, nil, nil, 0.1, 0, 1e-2, 0)
                    for i in 0..<n where !masked || mask[i] != 0 {
                        #expect(close(w2[i], Double(w0[i]) - 0.1 * (Double(g[i]) + 1e-2 * Double(w0[i])), rel: 1e-5, abs: 1e-6))
                    }
                    if masked { checkMasked([w2], "plain sgd") }
                }
            }
            for masked in [false, true] {
                var w = w0, m = values(n, seed: 12), v = state0
                let g = masked ? g0 : g0.map { $0.isNaN ? 0 : $0 }
                tk_adam(n, &w, g, &m, &v, masked ? mask : nil, 0.01, 0.9, 0.999, 1e-3, 1e-8, 1.3)
                let m0 = values(n, seed: 12)
                for i in 0..<n where !masked || mask[i] != 0 {
                    let d = Double(g[i]) + 1e-3 * Double(w0[i])
                    let mi = 0.9 * Double(m0[i]) + 0.1 * d, vi = 0.999 * Double(state0[i]) + 0.001 * d * d
                    #expect(close(m[i], mi, rel: 1e-5, abs: 1e-6) && close(v[i], vi, rel: 1e-5, abs: 1e-6), "adam state \(isa)")
                    #expect(close(w[i], Double(w0[i]) - 0.01 * mi / (vi.squareRoot() * 1.3 + 1e-8), rel: 1e-5, abs: 1e-6), "adam \(isa)")
                }
                if masked { checkMasked([w, m, v], "adam") }
                for momentum in [false, true] {
                    var w = w0, sq = state0, buf = values(n, seed: 13)
                    let buf0 = buf
                    if momentum {
                        tk_rmsprop(n, &w, g, &sq, &buf, masked ? mask : nil, 0.01, 0.99, 0.9, 1e-3, 1e-8)
                    } else {
                        tk_rmsprop(n, &w, g, &sq, nil, masked ? mask : nil, 0.01, 0.99, 0.9, 1e-3, 1e-8)
                    }
                    for i in 0..<n where !masked || mask[i] != 0 {
                        let d = Double(g[i]) + 1e-3 * Double(w0[i])
                        let si = 0.99 * Double(state0[i]) + 0.01 * d * d
                        let a = si.squareRoot() + 1e-8
                        #expect(close(sq[i], si, rel: 1e-5, abs: 1e-7), "rmsprop state \(isa)")
                        if momentum {
                            let bi = 0.9 * Double(buf0[i]) + d / a
                            #expect(close(buf[i], bi, rel: 1e-4, abs: 1e-5))
                            #expect(close(w[i], Double(w0[i]) - 0.01 * bi, rel: 1e-5, abs: 1e-5), "rmsprop momentum \(isa)")
                        } else {
                            #expect(close(w[i], Double(w0[i]) - 0.01 * d / a, rel: 1e-5, abs: 1e-5), "rmsprop \(isa)")
                        }
                    }
                    if masked { checkMasked(momentum ? [w, sq, buf] : [w, sq], "rmsprop") }
                }
            }
        }
    }
}
