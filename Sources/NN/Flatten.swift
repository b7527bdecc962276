import Tensor

/// Reshapes `[N, d1, d2, ...]` to `[N, d1 * d2 * ...]`; backward restores the input shape.
///
/// Copies rather than aliasing the input: tensors have no views, and a layer's output
/// must stay valid while the caller reuses its own input buffer.
public final class Flatten: Layer {
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    public init() {}
    public var summary: String { "Flatten" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(x.rank >= 1, "Flatten needs a batch dimension, got \(x.shape)")
            inputShape = x.shape
            let rows = x.shape[0]
            output.copy(from: x)
            output.reshape([rows, rows == 0 ? 0 : x.count / rows])
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            precondition(dy.count == inputShape.reduce(1, *), "Flatten.backward: gradient \(dy.shape) for input \(inputShape)")
            gradInput.copy(from: dy)
            gradInput.reshape(inputShape)
            return gradInput
        }
    }
}
