import Foundation
@testable import Cluster
import Experiments

let tinySpecText = """
    name: tiny
    data: {dataset: synthetic}
    model: mlp
    optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0001}
    training: {batch_size: 64, iterations_per_cycle: 20, eval_every: 10}
    pruning: {criterion: magnitude, scope: global, rate: 0.2, cycles: 2, rewind: none}
    schedules:
      - {name: constant, kind: constant, lr: 0.05}
      - {name: s-cyc, kind: scyc, epsilon: 0.02, delta: 0.1, q: 1, beta: 5, warmup: 5, drops: [12, 16]}
    seeds: [1, 2]
    """

func tinySpec(_ text: String = tinySpecText) throws -> ExperimentSpec { try SpecParser.parse(text) }

func tempDir() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("topiary-cluster-\(UUID().uuidString)").path
}

/// A unit's record lines with the wall time removed (the one field allowed to differ).
func records(_ dir: String, _ unit: RunUnit) -> [NSDictionary] {
    RunStore(directory: dir).recordLines(of: unit).map {
        let o = NSMutableDictionary(dictionary: try! JSONSerialization.jsonObject(with: $0) as! [String: Any])
        o.removeObject(forKey: "seconds")
        return o
    }
}

/// Waits (up to 30 s) until `unit` has written its first record into `dir`: training runs.
func waitForFirstRecord(_ dir: String, _ unit: RunUnit) {
    let store = RunStore(directory: dir), deadline = Date().addingTimeInterval(30)
    while store.recordLines(of: unit).isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
}

/// The `topiary` executable next to the test bundle, if it was built.
var topiaryBinary: String? {
    let dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let candidates = [dir, dir.deletingLastPathComponent()].map { $0.appendingPathComponent("topiary").path }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs the binary to the end; returns (status, stderr).
@discardableResult
func runTopiary(_ args: [String], environment: [String: String]? = nil) throws -> (Int32, String) {
    let p = try startTopiary(args, environment: environment)
    let err = p.standardError as! Pipe
    let data = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

func startTopiary(_ args: [String], environment: [String: String]? = nil) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: topiaryBinary!)
    p.arguments = args
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.standardError = Pipe()
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    return p
}

func writeSpec(_ text: String) throws -> String {
    let path = tempDir() + ".yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
