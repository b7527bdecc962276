import CKernels
import Tensor

/// Gaussian error linear unit in its exact form, `x * Phi(x) = x/2 * (1 + erf(x/sqrt 2))`
/// (PyTorch's default, not the tanh approximation).
public final class GELU: Activation {
    public let name: String
    public var observer: ((Tensor) -> Void)?
    private let output = Tensor(shape: [0])
    /// dy/dx saved by forward: erf and exp are computed once per element, and backward
    /// does not depend on the caller leaving the input tensor untouched.
    private let derivative = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public init(name: String = "") { self.name = name }
    public var summary: String { "GELU" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.activation) {
            output.resize(x.shape)
            derivative.resize(x.shape)
            let xp = SendablePointer(x.data), yp = SendablePointer(output.data), dp = SendablePointer(derivative.data)
            // Phi from CKernels' vectorised erf/erfc (a few float ulp from libm's erff), in
            // chunks on the workers (elementwise: the same bits).
            Parallel.forChunks(x.count) { lo, hi in tk_gelu_forward(hi - lo, xp.p + lo, yp.p + lo, dp.p + lo) }
            observer?(output)
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.activation) {
            precondition(dy.count == derivative.count, "GELU.backward: gradient \(dy.shape) for output \(output.shape)")
            gradInput.resize(dy.shape)
            Ops.elementwise(dy.count, dy.data, derivative.data, into: gradInput.data, tk_mul)
            return gradInput
        }
    }
}
