import Testing
@testable import Tensor

// Shared by the kernel suites (DenseKernelsTests, PlaneKernelsTests).

/// Runs `body` once per instruction-set level this CPU supports, forced on the calling
/// thread, restoring the active level after.
func eachLevel(_ body: (VectorISA) -> Void) {
    let before = VectorISA.active
    defer { VectorISA.force(before) }
    for isa in VectorISA.supported {
        #expect(VectorISA.force(isa))
        body(isa)
    }
}

/// Deterministic values in [-scale, scale], with some exact zeros.
func values(_ n: Int, seed: UInt64, scale: Float = 3) -> [Float] {
    var rng = RNG(seed: seed, stream: "kernels")
    return (0..<n).map { i in i % 29 == 0 ? 0 : Float(rng.uniform() * 2 - 1) * scale }
}
