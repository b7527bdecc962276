import CKernels
import Testing
@testable import Tensor

/// The plane-batch kernels (planes_body.h) against one call of the per-plane kernel per plane,
/// each plane with its own channel parameters: the same bits, at every level this CPU has, and
/// nothing written outside the places they own.
@Suite("Plane-batch kernels", .serialized)
struct PlaneKernelsTests {
    /// (planes, rows, n): one value, odd sizes around the vector widths, 8x8 maps.
    let shapes = [(1, 1, 1), (3, 4, 7), (4, 8, 8), (2, 5, 17), (16, 8, 8), (2, 3, 33)]

    /// Per-plane parameters: mean, inv, scale, shift, k, meanDy, meanDyH.
    func parameters(_ planes: Int) -> [[Float]] {
        (0..<7).map { (j: Int) -> [Float] in
            let v = values(planes, seed: UInt64(100 + j))
            return j == 1 ? v.map { (x: Float) -> Float in Swift.abs(x) + 0.5 } : v
        }
    }

    @Test func reductionsGiveThePerPlaneBits() {
        for (planes, rows, n) in shapes {
            let area = rows * n, x = values(planes * area, seed: UInt64(area)), mean = parameters(planes)[0]
            eachLevel { isa in
                var sums = [Float](repeating: .nan, count: planes), squares = sums
                tk_plane_sums(planes, area, x, &sums)
                tk_plane_squared_deviations(planes, area, x, mean, &squares)
                for p in 0..<planes {
                    let plane = Array(x[(p * area)..<((p + 1) * area)])
                    #expect(sums[p] == tk_sum(area, plane), "sum plane \(p) of \(planes)x\(area) \(isa)")
                    #expect(squares[p] == tk_sum_squared_deviations(area, plane, mean[p]), "squares \(p) \(isa)")
                }
            }
        }
    }

    @Test func normalizingPlanesGivesThePlaneKernelsBits() {
        for (planes, rows, n) in shapes {
            let ldx = n + 3, ldy = n + 2, xPlane = rows * ldx + 4, yPlane = rows * ldy + 1
            let x = values(planes * xPlane, seed: 7), s = values(planes * yPlane, seed: 8), q = parameters(planes)
            eachLevel { isa in
                for clamp in Int32(0)...3 {
                    let shortcut: [Float]? = clamp == 3 ? s : nil, code = clamp == 3 ? 1 : clamp
                    var y = [Float](repeating: -7, count: planes * yPlane), want = y
                    tk_bn_normalize_planes(planes, rows, n, x, xPlane, ldx, q[0], q[1], q[2], q[3], code, shortcut, &y, yPlane, ldy)
                    for p in 0..<planes {
                        for r in 0..<rows {
                            let at = p * yPlane + r * ldy, row = Array(x[(p * xPlane + r * ldx)...].prefix(n))
                            want.replaceSubrange(at..<(at + n), with: normalizedRow(n, row, q[0][p], q[1][p], q[2][p], q[3][p],
                                clamp: code, shortcut: shortcut.map { Array($0[at..<(at + n)]) }))
                        }
                    }
                    #expect(y == want, "\(planes)x\(rows)x\(n) clamp \(clamp) \(isa)")
                }
            }
        }
    }

    @Test func backwardPlaneKernelsGiveThePerPlaneBits() {
        for (planes, rows, n) in shapes {
            let area = rows * n, count = planes * area
            let x = values(count, seed: 11), dy = values(count, seed: 12), q = parameters(planes)
            eachLevel { isa in
                for clamp in Int32(0)...2 {
                    var sums = [Float](repeating: .nan, count: 2 * planes), dx = [Float](repeating: .nan, count: count)
                    tk_bn_backward_plane_sums(planes, area, dy, x, q[0], q[1], q[2], q[3], clamp, &sums)
                    tk_bn_backward_input_planes(planes, area, dy, x, q[0], q[1], q[2], q[3], q[4], q[5], q[6], clamp, &dx)
                    for p in 0..<planes {
                        let g = Array(dy[(p * area)..<((p + 1) * area)]), v = Array(x[(p * area)..<((p + 1) * area)])
                        var want = [Float](repeating: 0, count: 2), plane = [Float](repeating: 0, count: area)
                        switch clamp {
                        case 0:
                            tk_bn_backward_sums(area, g, v, q[0][p], &want)
                            tk_bn_backward_input(area, g, v, q[0][p], q[1][p], q[4][p], q[5][p], q[6][p], &plane)
                        case 1:
                            tk_bn_backward_sums_relu(area, g, v, q[0][p], q[1][p], q[2][p], q[3][p], &want)
                            tk_bn_backward_input_relu(area, g, v, q[0][p], q[1][p], q[2][p], q[3][p], q[4][p], q[5][p], q[6][p], &plane)
                        default:
                            tk_bn_backward_sums_relu6(area, g, v, q[0][p], q[1][p], q[2][p], q[3][p], &want)
                            tk_bn_backward_input_relu6(area, g, v, q[0][p], q[1][p], q[2][p], q[3][p], q[4][p], q[5][p], q[6][p], &plane)
                        }
                        #expect(Array(sums[(2 * p)..<(2 * p + 2)]) == want, "sums plane \(p) clamp \(clamp) \(isa)")
                        #expect(Array(dx[(p * area)..<((p + 1) * area)]) == plane, "input plane \(p) clamp \(clamp) \(isa)")
                    }
                }
            }
        }
    }

    /// The placing kernels: each plane's rows where `Ops.placeRows` puts them, with the values
    /// of the single-plane kernels, and zeros everywhere else in the buffer, whatever it held before.
    @Test func placingKernelsWriteThePlaneKernelsValuesAndZeros() {
        for (planes, rows, n) in shapes {
            let area = rows * n, ld = n + 2, first = 5, dstPlane = rows * ld + 3, count = first + planes * dstPlane + 6
            let x = values(planes * area, seed: 21), dy = values(planes * area, seed: 22), q = parameters(planes)
            eachLevel { isa in
                for clamp in Int32(0)...2 {
                    var normalized = [Float](repeating: -7, count: count), gradient = normalized
                    var wantNormalized = [Float](repeating: 0, count: count), wantGradient = wantNormalized
                    tk_place_bn_normalized(planes, rows, n, x, q[0], q[1], q[2], q[3], clamp, &normalized, first, dstPlane, ld, count)
                    tk_place_bn_input_gradient(planes, rows, n, dy, x, q[0], q[1], q[2], q[3], q[4], q[5], q[6], clamp, &gradient,
                                               first, dstPlane, ld, count)
                    for p in 0..<planes {
                        for r in 0..<rows {
                            let at = first + p * dstPlane + r * ld, from = (p * rows + r) * n
                            let v = Array(x[from..<(from + n)]), g = Array(dy[from..<(from + n)])
                            wantNormalized.replaceSubrange(at..<(at + n), with: normalizedRow(n, v, q[0][p], q[1][p], q[2][p], q[3][p],
                                                                                             clamp: clamp))
                            wantGradient.replaceSubrange(at..<(at + n), with: inputGradientRow(n, g, v, q[0][p], q[1][p], q[2][p],
                                q[3][p], q[4][p], q[5][p], q[6][p], clamp: clamp))
                        }
                    }
                    #expect(normalized == wantNormalized, "normalized \(planes)x\(rows)x\(n) clamp \(clamp) \(isa)")
                    #expect(gradient == wantGradient, "input gradient \(planes)x\(rows)x\(n) clamp \(clamp) \(isa)")
                }
            }
        }
    }

    @Test func copyingPlanesMovesEachPlanesRowsAndNothingElse() {
        for (planes, rows, n) in shapes {
            let lds = n + 4, ldd = n + 1, srcPlane = rows * lds + 2, dstPlane = rows * ldd + 3
            let src = values(planes * srcPlane, seed: 31)
            eachLevel { isa in
                var dst = [Float](repeating: -7, count: planes * dstPlane)
                Ops.copyPlanes(planes, rows, n, from: src, plane: srcPlane, ld: lds, to: &dst, plane: dstPlane, ld: ldd)
                var want = [Float](repeating: -7, count: planes * dstPlane)
                for p in 0..<planes {
                    for r in 0..<rows { for j in 0..<n { want[p * dstPlane + r * ldd + j] = src[p * srcPlane + r * lds + j] } }
                }
                #expect(dst == want, "\(planes)x\(rows)x\(n) \(isa)")
                // Adding: each value is the copied one plus add's (laid out as dst), as tk_add sums them.
                let add = values(planes * dstPlane, seed: 32)
                var sum = [Float](repeating: -7, count: planes * dstPlane)
                Ops.copyPlanes(planes, rows, n, from: src, plane: srcPlane, ld: lds, adding: add, to: &sum, plane: dstPlane, ld: ldd)
                var wantSum = [Float](repeating: -7, count: planes * dstPlane)
                for p in 0..<planes {
                    for r in 0..<rows {
                        let at = p * dstPlane + r * ldd
                        var row = [Float](repeating: 0, count: n)
                        tk_add(n, Array(src[(p * srcPlane + r * lds)...]), Array(add[at...]), &row)
                        wantSum.replaceSubrange(at..<(at + n), with: row)
                    }
                }
                #expect(sum == wantSum, "adding \(planes)x\(rows)x\(n) \(isa)")
            }
        }
    }
}
