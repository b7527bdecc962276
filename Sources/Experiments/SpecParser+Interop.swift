import Foundation

extension SpecParser {
    /// `model: resnet20` or `model: {name: resnet20, weights: FILE.safetensors}`.
    static func readModel(_ m: SpecNode, into spec: inout ExperimentSpec) throws {
        if m.node.mapping != nil {
            spec.model = try m.required("name").string()
            if let w = m.child("weights") {
                let path = try w.string()
                guard FileManager.default.fileExists(atPath: path) else { throw w.error("no such file '\(path)'") }
                spec.modelWeights = path
            }
            try m.finish()
        } else {
            spec.model = try m.string()
        }
    }

    static func output(_ n: SpecNode) throws -> OutputSpec {
        var o = OutputSpec()
        if let v = n.child("models") {
            let s = try v.string()
            guard let models = OutputSpec.Models(rawValue: s) else {
                throw v.error("unknown value '\(s)' (known: \(OutputSpec.Models.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            o.models = models
        }
        try n.finish()
        return o
    }
}
