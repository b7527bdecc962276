import Foundation

/// Writes files so that a reader never sees half of one: the bytes go to a temporary
/// file in the same directory, which is then renamed over the target (atomic on POSIX).
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try data.write(to: tmp)
        if rename(tmp.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: tmp)
            throw RunError.io("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }
}

/// Failures of the runner, run store and reports, as one line each.
public enum RunError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case corruptCheckpoint(String, reason: String)
    case interrupted(String)
    case spec(String)

    public var description: String {
        switch self {
        case .io(let m): return m
        case .corruptCheckpoint(let f, let r): return "corrupt checkpoint \(f): \(r) (delete it to restart that run)"
        case .interrupted(let m): return m
        case .spec(let m): return m
        }
    }
}
