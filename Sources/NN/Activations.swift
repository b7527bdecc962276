import CKernels
import Tensor

/// An activation a BatchNorm2d can compute in its own pass (`BatchNorm2d.forward(_:training:fusing:)`):
/// its forward then passes that output on, and its backward leaves the mask to the BatchNorm.
protocol BatchNormFusable: Layer, AnyObject {
    var output: Tensor { get }
    var gradInput: Tensor { get }
    /// Set by the BatchNorm2d that just wrote this layer's output.
    var expectsFusedInput: Bool { get set }
    /// ReLU6's upper kink (the gradient is also zero at and above 6).
    var clampsAtSix: Bool { get }
}

/// max(0, x). Forward and backward run in chunks on the workers (`Ops.elementwise`).
public final class ReLU: Activation, BatchNormFusable {
    public let name: String
    public var observer: ((Tensor) -> Void)?
    /// Output and input gradient: the layer's own, or buffers a composite shares (`DenseBlock`).
    var output = Tensor(shape: [0])
    var gradInput = Tensor(shape: [0])
    /// Set by a BatchNorm2d that just computed this layer into its output
    /// (`BatchNorm2d.forward(_:training:fusing:)`): the next forward, given that output, only
    /// passes it on, and backward then leaves the mask to the BatchNorm.
    var expectsFusedInput = false
    /// Whether the last forward was such a pass-through.
    private var passedThrough = false
    /// Set by the layer after it when the gradient that layer's backward returns already has
    /// this layer's mask applied (`gradientArrivesMasked`): the next backward passes it on.
    private var gradientMasked = false
    var clampsAtSix: Bool { false }
    public init(name: String = "") { self.name = name }
    public var summary: String { "ReLU" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.activation) {
            passedThrough = expectsFusedInput && x === output
            expectsFusedInput = false
            gradientMasked = false
            if !passedThrough {
                output.resize(x.shape)
                Ops.elementwise(x.count, x.data, into: output.data, tk_relu_forward)
            }
            observer?(output)
            return output
        }
    }

    /// Stands for `forward` when a fused kernel wrote this layer's output itself
    /// (`BatchNorm2d.forward(_:training:adding:thenInto:)`): the observer sees it, and backward masks as usual.
    func tookFusedOutput() {
        passedThrough = false
        expectsFusedInput = false
        gradientMasked = false
        observer?(output)
    }

    /// Tells this layer that the gradient its next backward receives is already zero where its
    /// output is (the layer after it masked it as it computed it, `ResidualBlock`): the
    /// backward passes it on, the same bits as masking it again.
    func gradientArrivesMasked() { gradientMasked = true }

    /// Stands for `forward` when the BatchNorm2d before it fused it and the layer after both
    /// applies them as it reads its input (`ResidualBlock`'s chained training step): no output
    /// is written, and backward passes the gradient on for the BatchNorm to mask.
    func skipForFusion() {
        precondition(observer == nil, "\(name): an observed activation must write its output")
        passedThrough = true
        expectsFusedInput = false
        gradientMasked = false
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.activation) {
            if passedThrough || gradientMasked {
                gradientMasked = false
                return dy
            }
            gradInput.resize(dy.shape)
            Ops.elementwise(dy.count, output.data, dy.data, into: gradInput.data, tk_relu_backward)
            return gradInput
        }
    }
}

/// min(max(0, x), 6), MobileNetV2's activation (Sandler et al. 2018); the gradient is zero
/// outside (0, 6), at both kinks as PyTorch's `hardtanh` backward has it.
public final class ReLU6: Activation, BatchNormFusable {
    public let name: String
    public var observer: ((Tensor) -> Void)?
    /// Output and input gradient: the layer's own, or buffers a composite shares (`InvertedResidual`).
    var output = Tensor(shape: [0])
    var gradInput = Tensor(shape: [0])
    /// As `ReLU.expectsFusedInput`.
    var expectsFusedInput = false
    private var passedThrough = false
    var clampsAtSix: Bool { true }
    public init(name: String = "") { self.name = name }
    public var summary: String { "ReLU6" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.activation) {
            passedThrough = expectsFusedInput && x === output
            expectsFusedInput = false
            if !passedThrough {
                output.resize(x.shape)
                Ops.elementwise(x.count, x.data, into: output.data, tk_relu6_forward)
            }
            observer?(output)
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.activation) {
            if passedThrough { return dy }
            precondition(dy.count == output.count, "ReLU6.backward: gradient \(dy.shape) for output \(output.shape)")
            gradInput.resize(dy.shape)
            Ops.elementwise(dy.count, output.data, dy.data, into: gradInput.data, tk_relu6_backward)
            return gradInput
        }
    }
}
