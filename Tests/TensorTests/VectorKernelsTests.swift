import Testing
@testable import Tensor
import CKernels
import Foundation

@Suite("Vector kernel dispatch")
struct VectorKernelsTests {
    @Test func portableIsAlwaysSupportedAndActiveIsSupported() {
        #expect(VectorISA.portable.isSupported)
        #expect(VectorISA.active.isSupported)
        #expect(VectorISA.supported.last == VectorISA.active || ProcessInfo_hasISAOverride())
    }

    /// dot keeps 16 lanes at every level, so each level the CPU has gives the same bits;
    /// axpy agrees to rounding (FMA contracts a*x+y on AVX2/AVX-512).
    @Test func everyLevelAgreesWithPortable() {
        let n = 1000
        var x = [Float](repeating: 0, count: n), y = x
        for i in 0..<n { x[i] = Float(i % 17) * 0.37 - 2.5; y[i] = Float((i * 7) % 23) * 0.11 - 1.1 }
        let before = VectorISA.active
        defer { VectorISA.force(before) }
        VectorISA.force(.portable)
        let dot0 = tk_dot(n, x, y)
        var axpy0 = y
        tk_axpy(n, 0.3, x, &axpy0)
        var exact = 0.0
        for i in 0..<n { exact += Double(x[i]) * Double(y[i]) }
        #expect(abs(Double(dot0) - exact) <= 1e-5 * abs(exact))
        for isa in VectorISA.supported {
            #expect(VectorISA.force(isa))
            #expect(VectorISA.active == isa)
            #expect(tk_dot(n, x, y) == dot0, "dot on \(isa)")
            var a = y
            tk_axpy(n, 0.3, x, &a)
            for i in 0..<n { #expect(abs(a[i] - axpy0[i]) <= 1e-6 * max(1, abs(axpy0[i]))) }
        }
    }
}

/// TOPIARY_ISA may pick a narrower level than the CPU's widest.
private func ProcessInfo_hasISAOverride() -> Bool {
    ProcessInfo.processInfo.environment["TOPIARY_ISA"] != nil
}
