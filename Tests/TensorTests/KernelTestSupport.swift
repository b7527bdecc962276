import CKernels
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

/// One row through the single-plane BatchNorm kernel of `clamp` (0 none, 1 ReLU, 2 ReLU6; with
/// `shortcut`, the residual sum then ReLU): the values the plane-batch kernels must give.
func normalizedRow(_ n: Int, _ x: [Float], _ mean: Float, _ inv: Float, _ scale: Float, _ shift: Float, clamp: Int32,
                   shortcut: [Float]? = nil) -> [Float] {
    var y = [Float](repeating: 0, count: n)
    if let shortcut { tk_bn_normalize_add_relu(n, x, mean, inv, scale, shift, shortcut, &y); return y }
    switch clamp {
    case 0: tk_bn_normalize(n, x, mean, inv, scale, shift, nil, &y)
    case 1: tk_bn_normalize_relu(n, x, mean, inv, scale, shift, &y)
    default: tk_bn_normalize_relu6(n, x, mean, inv, scale, shift, &y)
    }
    return y
}

/// One row of a BatchNorm's training-mode input gradient through the single-plane kernel of
/// `clamp` (0 none, 1 ReLU, 2 ReLU6).
func inputGradientRow(_ n: Int, _ dy: [Float], _ x: [Float], _ mean: Float, _ inv: Float, _ scale: Float, _ shift: Float,
                      _ k: Float, _ meanDy: Float, _ meanDyH: Float, clamp: Int32) -> [Float] {
    var dx = [Float](repeating: 0, count: n)
    switch clamp {
    case 0: tk_bn_backward_input(n, dy, x, mean, inv, k, meanDy, meanDyH, &dx)
    case 1: tk_bn_backward_input_relu(n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, &dx)
    default: tk_bn_backward_input_relu6(n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, &dx)
    }
    return dx
}
