import Foundation

/// The files of one experiment's run directory:
///
///     spec.json                     the resolved spec (its hash names the directory)
///     records/SCHEDULE--seedN.jsonl one line per finished cycle
///     checkpoints/SCHEDULE--seedN.ckpt  state after the last finished cycle, or mid-cycle
///                                   after a stop (`Checkpoint`, `CycleProgress`)
///     report.md, results.csv, *.svg rendered from the records
public struct RunStore {
    public let directory: URL

    /// The run directory at `directory` (created when a run first writes).
    public init(directory: String) { self.directory = URL(fileURLWithPath: directory) }

    /// runs/NAME-HASH for `spec` under `root`.
    public static func defaultDirectory(for spec: ExperimentSpec, root: String = "runs") -> String {
        "\(root)/\(spec.name)-\(spec.hash)"
    }

    static func runName(schedule: String, seed: UInt64) -> String { "\(safe(schedule))--seed\(seed)" }

    static func safe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    var specURL: URL { directory.appendingPathComponent("spec.json") }
    func recordsURL(schedule: String, seed: UInt64) -> URL {
        directory.appendingPathComponent("records/\(Self.runName(schedule: schedule, seed: seed)).jsonl")
    }
    func checkpointURL(schedule: String, seed: UInt64) -> URL {
        directory.appendingPathComponent("checkpoints/\(Self.runName(schedule: schedule, seed: seed)).ckpt")
    }
    func rewindURL(schedule: String, seed: UInt64) -> URL {
        directory.appendingPathComponent("checkpoints/\(Self.runName(schedule: schedule, seed: seed)).rewind")
    }
    public func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// The stored spec of this directory.
    public func loadSpec() throws -> ExperimentSpec {
        guard let data = FileManager.default.contents(atPath: specURL.path) else {
            throw RunError.io("\(directory.path) is not a Topiary run directory (no spec.json)")
        }
        do { return try JSONDecoder().decode(ExperimentSpec.self, from: data) } catch {
            throw RunError.io("\(specURL.path) is unreadable: \(error)")
        }
    }

    /// Writes the spec, refusing a directory that holds a different experiment.
    func claim(for spec: ExperimentSpec) throws {
        if FileManager.default.fileExists(atPath: specURL.path) {
            let existing = try loadSpec()
            guard existing.canonicalJSON() == spec.canonicalJSON() else {
                throw RunError.io("\(directory.path) holds a different experiment (\(existing.name)-\(existing.hash)); choose another --out")
            }
            return
        }
        try AtomicFile.write(spec.canonicalJSON(), to: specURL)
    }

    static func encodeLines<R: Encodable>(_ records: [R]) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var out = Data()
        for r in records {
            out.append(try enc.encode(r))
            out.append(0x0A)
        }
        return out
    }

    static func decodeLines(_ data: Data, file: String) throws -> [CycleRecord] {
        let dec = JSONDecoder()
        return try data.split(separator: 0x0A).enumerated().map { i, line in
            do { return try dec.decode(CycleRecord.self, from: Data(line)) } catch {
                throw RunError.io("\(file):\(i + 1): unreadable record")
            }
        }
    }

    /// Every stored record of the directory's runs, in spec order (schedules, then seeds).
    public func allRecords(spec: ExperimentSpec) throws -> [CycleRecord] {
        var out: [CycleRecord] = []
        for s in spec.schedules {
            for seed in spec.seeds {
                let url = recordsURL(schedule: s.name, seed: seed)
                guard let data = FileManager.default.contents(atPath: url.path) else { continue }
                out += try Self.decodeLines(data, file: url.path)
            }
        }
        return out
    }
}
