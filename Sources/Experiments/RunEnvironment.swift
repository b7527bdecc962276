import Foundation
import NN
import Tensor

/// Where a result was computed. The same seed gives bit-identical numbers only on the same
/// kind of CPU: OpenBLAS, oneDNN and Topiary's own CKernels pick different code on AVX2 and AVX-512 machines, so
/// every record carries this (outside the spec's hash) and report.md lists it.
public struct RunEnvironment: Codable, Equatable, Sendable, Hashable {
    public var topiary: String
    /// The CPU's model name as /proc/cpuinfo gives it.
    public var cpu: String
    /// The widest vector extension the CPU offers: AVX-512, AVX2, AVX or SSE.
    public var vectorExtension: String
    public var openblas: String
    public var onednn: String
    /// The instruction-set level of Topiary's own kernels that ran (`VectorISA`: "portable",
    /// "avx2" or "avx512"; TOPIARY_ISA may force a narrower one). Absent in records written
    /// before it was recorded.
    public var kernels: String?
    /// The library that computed the matrix products (`BLAS.Backend`: "openblas" or "onednn";
    /// TOPIARY_GEMM chooses, else `BLAS.Backend.measuredDefault`). Absent in records written
    /// before it was recorded (OpenBLAS then).
    public var gemm: String?
    /// The kernels of pruned layers (`SparseKernels.summary`: "dense", "sparse", or "auto" with
    /// its thresholds), which decide the bits of a pruned network's results. Absent in records
    /// written before it was recorded.
    public var sparse: String?

    enum CodingKeys: String, CodingKey {
        case topiary, cpu, vectorExtension = "vector_extension", openblas, onednn, kernels, gemm, sparse
    }

    /// Topiary's own version, semantic versioning as CHANGELOG.md's tag plan says: the next
    /// release with `-dev` until the commit that is tagged, which drops the suffix.
    public static let topiaryVersion = "0.1.0-dev"

    /// This machine, with the kernel level active now.
    public static var current: RunEnvironment {
        var e = machine
        e.kernels = VectorISA.active.rawValue
        e.gemm = BLAS.backend.rawValue
        e.sparse = SparseKernels.summary
        return e
    }

    /// This machine's CPU and libraries, read once.
    private static let machine: RunEnvironment = {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ key: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(key) }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let vector = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2"
            : flags.contains("avx") ? "AVX" : "SSE"
        return RunEnvironment(topiary: topiaryVersion, cpu: field("model name") ?? "unknown CPU", vectorExtension: vector,
                              openblas: BLAS.libraryVersion, onednn: OneDNN.version)
    }()

    /// One line for reports and logs.
    public var summary: String {
        let own = kernels.map { ", \($0) kernels" } ?? ""
        let products = gemm.map { "; GEMM on \($0)" } ?? ""
        let pruned = sparse.map { "; pruned layers: \($0) kernels" } ?? ""
        return "\(cpu) (\(vectorExtension)\(own)); \(openblas); \(onednn)\(products)\(pruned); Topiary \(topiary)"
    }

    /// report.md's "Computed on" section for the environments of some records ("" for none).
    public static func reportSection(_ environments: [RunEnvironment]) -> String {
        let lines = Set(environments).map(\.summary).sorted()
        guard !lines.isEmpty else { return "" }
        var md = "\n## Computed on\n\n"
        md += "Same seed, same numbers bit for bit holds on the same kind of CPU only: OpenBLAS, oneDNN "
        md += "and Topiary's own kernels choose other code on other CPUs (AVX2 vs AVX-512; TOPIARY_ISA "
        md += "forces a level of Topiary's own, TOPIARY_GEMM the library of the matrix products).\n\n"
        for l in lines { md += "- \(l)\n" }
        return md
    }
}
