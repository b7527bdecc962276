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
        #expect(env.sparse == SparseKernels.summary && env.summary.contains("pruned layers: \(SparseKernels.summary) kernels"))
    }

    /// The record names the pruned layers' kernels: the mode, and under auto the thresholds
    /// (an override shows), since they decide a pruned network's bits. (The global settings are
    /// not touched: other tests run at the same time.)
    @Test func theSparseKernelsSummaryNamesModeAndThresholds() {
        #expect(SparseKernels.summary(mode: .dense, linear: nil, convolution: nil) == "dense")
        #expect(SparseKernels.summary(mode: .sparse, linear: 0.5, convolution: nil) == "sparse")
        #expect(SparseKernels.summary(mode: .auto, linear: 0.35, convolution: 0.35)
                == "auto (fully connected 35%, convolutions 35%/35%/35%, 35% with at most 32 weights per output)")
        let linear = BLAS.backend == .oneDNN ? 20 : 30
        #expect(SparseKernels.summary(mode: .auto, linear: nil, convolution: nil)
                == "auto (fully connected \(linear)%, convolutions 40%/30%/20%, 50% with at most 32 weights per output)")
    }

    @Test func roundTripsAndOlderRecordsWithoutTheFieldStillDecode() throws {
        let env = RunEnvironment.current
        let data = try JSONEncoder().encode(env)
        #expect(String(decoding: data, as: UTF8.self).contains("\"kernels\""))
        #expect(try JSONDecoder().decode(RunEnvironment.self, from: data) == env)
        let old = #"{"topiary":"0.1.0-dev","cpu":"AMD EPYC","vector_extension":"AVX2","openblas":"OpenBLAS","onednn":"oneDNN"}"#
        let decoded = try JSONDecoder().decode(RunEnvironment.self, from: Data(old.utf8))
        #expect(decoded.kernels == nil && decoded.gemm == nil && decoded.sparse == nil && decoded.cpu == "AMD EPYC")
        #expect(!decoded.summary.contains("kernels") && !decoded.summary.contains("GEMM"))
    }
}
