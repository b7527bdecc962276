import NN
import Tensor

/// Copies of parameter values at one moment — initialisation for IMP, iteration `k` for
/// late rewinding (Frankle et al.) — keyed by parameter name so a snapshot survives a
/// checkpoint reload that rebuilds the `Parameter` objects.
public struct WeightSnapshot: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "snapshot entry \(name): \(values.count) values for shape \(shape)")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public let entries: [Entry]

    public init(parameters: [Parameter]) throws {
        try requireUniqueNames(parameters)
        entries = parameters.map { Entry(name: $0.name, shape: $0.value.shape, values: $0.value.array) }
    }

    /// A snapshot of the given entries (e.g. read back from a checkpoint).
    public init(entries: [Entry]) { self.entries = entries }

    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

    /// Restores every given parameter to its snapshot value, except that entries its
    /// mask prunes are written as exactly 0. Gradients and masks are left alone;
    /// optimizer state (momentum) is the optimizer's to reset.
    /// Throws before changing anything if a parameter is missing or has another shape.
    public func rewind(_ parameters: [Parameter]) throws {
        let index = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let matched = try parameters.map { p -> Entry in
            guard let i = index[p.name] else { throw PruningError.snapshotMissing(parameter: p.name) }
            let e = entries[i]
            guard e.shape == p.value.shape else {
                throw PruningError.shapeMismatch(what: "snapshot entry", parameter: p.name,
                                                 expected: p.value.shape, got: e.shape)
            }
            return e
        }
        for (p, e) in zip(parameters, matched) {
            let v = p.value.data
            e.values.withUnsafeBufferPointer { s in
                if let m = p.mask?.data {
                    for i in 0..<s.count { v[i] = m[i] != 0 ? s[i] : 0 }
                } else {
                    v.update(from: s.baseAddress!, count: s.count)
                }
            }
        }
    }
}

/// `snapshot.rewind(parameters)` under the name the IMP literature uses.
public func rewind(_ parameters: [Parameter], to snapshot: WeightSnapshot) throws {
    try snapshot.rewind(parameters)
}
