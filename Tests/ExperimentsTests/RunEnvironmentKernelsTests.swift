import Foundation
import Testing
@testable import Experiments
import Tensor

@Suite("RunEnvironment records the kernel level")
struct RunEnvironmentKernelsTests {
    @Test func currentNamesTheActiveLevelAndTheSummaryShowsIt() {
        let env = RunEnvironment.current
        #expect(env.kernels == VectorISA.active.rawValue)
        #expect(env.summary.contains("\(VectorISA.active.rawValue) kernels"))
        #expect(RunEnvironment.reportSection([env]).contains("TOPIARY_ISA"))
        #expect(env.gemm == BLAS.backend.rawValue && env.summary.contains("GEMM on \(BLAS.backend.rawValue)"))
    }

    @Test func roundTripsAndOlderRecordsWithoutTheFieldStillDecode() throws {
        let env = RunEnvironment.current
        let data = try JSONEncoder().encode(env)
        #expect(String(decoding: data, as: UTF8.self).contains("\"kernels\""))
        #expect(try JSONDecoder().decode(RunEnvironment.self, from: data) == env)
        let old = #"{"topiary":"0.1.0-dev","cpu":"AMD EPYC","vector_extension":"AVX2","openblas":"OpenBLAS","onednn":"oneDNN"}"#
        let decoded = try JSONDecoder().decode(RunEnvironment.self, from: Data(old.utf8))
        #expect(decoded.kernels == nil && decoded.gemm == nil && decoded.cpu == "AMD EPYC")
        #expect(!decoded.summary.contains("kernels") && !decoded.summary.contains("GEMM"))
    }
}
