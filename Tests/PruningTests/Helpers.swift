import NN
import Tensor

/// A parameter with the given values (kind "linear", prunable unless told otherwise).
func param(_ name: String, _ shape: [Int], _ values: [Float], prunable: Bool = true) -> Parameter {
    let p = Parameter(name: name, shape: shape, prunable: prunable, kind: "linear")
    p.value.copy(from: Tensor(shape: shape, values: values))
    return p
}

/// A parameter of the given shape filled from a seeded normal stream.
func randomParam(_ name: String, _ shape: [Int], rng: inout RNG) -> Parameter {
    let p = Parameter(name: name, shape: shape, prunable: true, kind: "linear")
    for i in 0..<p.count { p.value[i] = rng.normal() }
    return p
}

func mask(_ p: Parameter) -> [Float]? { p.mask?.array }

func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

/// LeNet-300-100's weight matrices (266,200 weights).
func lenetWeights(seed: UInt64) -> [Parameter] {
    var rng = RNG(seed: seed, stream: "test.lenet")
    return [randomParam("fc1.weight", [300, 784], rng: &rng),
            randomParam("fc2.weight", [100, 300], rng: &rng),
            randomParam("fc3.weight", [10, 100], rng: &rng)]
}
