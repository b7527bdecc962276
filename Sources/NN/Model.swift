import Tensor

/// A network with its name and the data shape it expects.
public final class Model {
    public let name: String
    public let network: Sequential
    /// Shape of one input sample, e.g. [1, 28, 28].
    public let inputShape: [Int]
    public let classes: Int

    public init(name: String, network: Sequential, inputShape: [Int], classes: Int) {
        self.name = name
        self.network = network
        self.inputShape = inputShape
        self.classes = classes
        // The input is data: no layer needs dLoss/dInput for it.
        if let first = network.layers.first as? any InputGradientSkippable { first.computesInputGradient = false }
    }

    public var parameters: [Parameter] { network.parameters }
    public var buffers: [Tensor] { network.buffers }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    public var prunableParameterCount: Int { parameters.filter(\.prunable).reduce(0) { $0 + $1.count } }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { network.forward(x, training: training) }
    public func backward(_ dy: Tensor) { _ = network.backward(dy) }

    public func zeroGradients() {
        for p in parameters { p.grad.zero() }
    }
}

/// Errors building a model; each names the model or shape at fault.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, known: [String])
    case incompatibleInput(model: String, shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .unknownModel(let n, let known):
            return "unknown model '\(n)' (known: \(known.joined(separator: ", ")))"
        case .incompatibleInput(let m, let s, let r):
            return "model \(m) cannot take input of shape \(s.map(String.init).joined(separator: "x")): \(r)"
        }
    }
}
