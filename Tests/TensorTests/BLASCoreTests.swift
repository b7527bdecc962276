import Foundation
import Testing
@testable import Tensor

@Suite struct BLASCoreTests {
    @Test func replacesOnlyNarrowerKernelSets() {
        // OpenBLAS 0.3.21 on an Emerald Rapids Xeon (family 6 model 207) picks Prescott.
        #expect(BLASCore.override(picked: "Prescott", cpu: .avx512) == "SkylakeX")
        #expect(BLASCore.override(picked: "Haswell", cpu: .avx512) == "SkylakeX")
        #expect(BLASCore.override(picked: "Sandybridge", cpu: .avx2) == "Haswell")
        #expect(BLASCore.override(picked: "Cooperlake", cpu: .avx512) == nil)
        #expect(BLASCore.override(picked: "Zen", cpu: .avx2) == nil)
        #expect(BLASCore.override(picked: "SKYLAKEX", cpu: .avx2) == nil)
        #expect(BLASCore.override(picked: "Prescott", cpu: .portable) == nil)
    }

    @Test func kernelSetInUseMatchesTheCPUWidth() {
        var c = [Float](repeating: 0, count: 4)
        BLAS.gemm(m: 2, n: 2, k: 2, [1, 2, 3, 4], [5, 6, 7, 8], &c)
        #expect(c == [19, 22, 43, 50])
        let widest = VectorISA.allCases.last(where: \.isSupported)!
        let choice = BLASCore.choice
        #expect(BLASCore.corename() == choice.inUse)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        let order = VectorISA.allCases
        #expect(order.firstIndex(of: BLASCore.width(ofCore: choice.inUse))! >= order.firstIndex(of: widest)!,
                "OpenBLAS runs \(choice.inUse) (it picked \(choice.pickedByOpenBLAS)) on a \(widest) CPU")
        #expect(BLAS.libraryVersion.contains("core: \(choice.inUse)"))
    }
}
