import Yams

/// A problem in an experiment spec, located by key path and line.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let key: String
    public let message: String

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// A YAML node with its key path, for strict typed reading: every read names the
/// key and line at fault, and `finish()` rejects keys nobody read (typos).
struct SpecNode {
    let node: Node
    let path: String
    let file: String
    private final class Seen { var keys: Set<String> = [] }
    private let seen = Seen()

    init(node: Node, path: String, file: String) {
        self.node = node
        self.path = path
        self.file = file
    }

    static func parse(_ text: String, file: String) throws -> SpecNode {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw SpecError(file: file, line: Self.line(of: e), key: "", message: "malformed YAML: \(Self.summary(of: e))")
        }
        guard let node, node.mapping != nil else {
            throw SpecError(file: file, line: nil, key: "", message: "expected a YAML mapping at the top level")
        }
        return SpecNode(node: node, path: "", file: file)
    }

    var line: Int? { node.mark.map { $0.line } }

    func error(_ message: String) -> SpecError { SpecError(file: file, line: line, key: path, message: message) }

    func child(_ key: String) -> SpecNode? {
        guard let mapping = node.mapping else { return nil }
        seen.keys.insert(key)
        guard let value = mapping[key] else { return nil }
        return SpecNode(node: value, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    func mapping() throws -> SpecNode {
        guard node.mapping != nil else { throw error("expected a mapping") }
        return self
    }

    /// Rejects keys that were never asked for.
    func finish() throws {
        guard let mapping = node.mapping else { return }
        for (k, v) in mapping {
            let name = k.string ?? "?"
            if !seen.keys.contains(name) {
                let where_ = path.isEmpty ? name : "\(path).\(name)"
                throw SpecError(file: file, line: v.mark?.line ?? k.mark?.line, key: where_, message: "unknown key")
            }
        }
    }

    func required(_ key: String) throws -> SpecNode {
        guard let c = child(key) else { throw SpecError(file: file, line: line, key: path.isEmpty ? key : "\(path).\(key)", message: "missing required key") }
        return c
    }

    var isNull: Bool { if case .scalar(let s) = node, s.tag == .implicit, ["", "~", "null"].contains(s.string) { return true }; return false }

    func string() throws -> String {
        guard let s = node.scalar, !isNull else { throw error("expected a string") }
        return s.string
    }

    func int() throws -> Int {
        guard let s = node.scalar, let v = Int(s.string) else { throw error("expected an integer, got \(describe)") }
        return v
    }

    func double() throws -> Double {
        guard let s = node.scalar, let v = Double(s.string), v.isFinite else { throw error("expected a number, got \(describe)") }
        return v
    }

    func bool() throws -> Bool {
        guard let s = node.scalar else { throw error("expected true or false, got \(describe)") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got \(describe)")
        }
    }

    func list() throws -> [SpecNode] {
        guard let seq = node.sequence else { throw error("expected a list") }
        return seq.enumerated().map { SpecNode(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    private var describe: String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func summary(of e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return String(describing: e).split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

extension SpecNode {
    func optional<T>(_ key: String, _ read: (SpecNode) throws -> T) rethrows -> T? {
        guard let c = child(key), !c.isNull else { return nil }
        return try read(c)
    }
}
