import NN

/// `pruning.exclude`: layer names (or name prefixes) whose weights stay dense. A name that
/// matches no prunable weight excludes nothing, so it is an error: a typo must not
/// silently prune the layer it meant to keep.
enum ExcludeNames {
    /// Whether the entry `excluded` covers the parameter `name`: equal, or a prefix ending at a '.'.
    static func covers(_ excluded: String, _ name: String) -> Bool {
        name == excluded || name.hasPrefix(excluded + ".")
    }

    /// One line naming the first entry of `exclude` that matches no prunable weight of
    /// `parameters`, with the valid layer names; nil when every entry matches.
    static func problem(_ exclude: [String], model: String, parameters: [Parameter]) -> String? {
        let weights = parameters.filter(\.prunable).map(\.name)
        guard let unknown = exclude.first(where: { e in !weights.contains { covers(e, $0) } }) else { return nil }
        let layers = weights.map { $0.hasSuffix(".weight") ? String($0.dropLast(".weight".count)) : $0 }
        return "'\(unknown)' names no prunable layer of \(model) (layers: \(layers.joined(separator: ", ")))"
    }

    /// `problem` for a zoo model built with zero weights: its parameter names do not depend on
    /// the input shape or class count. Nil as well when the model cannot be built here (the run reports that).
    static func problem(_ exclude: [String], model: String) -> String? {
        guard !exclude.isEmpty,
              let m = try? ModelZoo.make(model, inputShape: [3, 32, 32], classes: 10, seed: 0, initialize: false)
        else { return nil }
        return problem(exclude, model: model, parameters: m.parameters)
    }
}
