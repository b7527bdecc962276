import Experiments
import Foundation

/// Where a running unit is: `DIR/progress/NAME.json`, rewritten atomically by its holder every
/// few seconds and removed when the unit ends; `topiary status` reads it.
public struct UnitProgress: Codable, Sendable, Equatable {
    public var unit: Int
    public var host: String
    public var pid: Int32
    public var cycle: Int
    public var cycles: Int
    public var iteration: Int
    public var iterations: Int
    /// Seconds since 1970 of this snapshot.
    public var updated: Double

    static func url(in directory: URL, unit: RunUnit) -> URL {
        directory.appendingPathComponent("progress/\(unit.name).json")
    }

    static func write(_ p: UnitProgress, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try JSONEncoder().encode(p).write(to: tmp)
            guard rename(tmp.path, url.path) == 0 else { throw RunError.io("cannot rename \(tmp.path)") }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    static func read(in directory: URL, unit: RunUnit) -> UnitProgress? {
        guard let data = FileManager.default.contents(atPath: url(in: directory, unit: unit).path) else { return nil }
        return try? JSONDecoder().decode(UnitProgress.self, from: data)
    }
}
