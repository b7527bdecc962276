import ArgumentParser
import Foundation
import NN

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models with their parameter counts.",
        discussion: "Counts are for --input (default 3x32x32) and --classes (default 10); prunable parameters are the weights of the Linear and Conv layers.")

    @Option(help: "Input sample shape, e.g. 3x32x32 or 1x28x28.")
    var input = "3x32x32"
    @Option(help: "Number of classes.")
    var classes = 10
    @Flag(help: "Print a JSON list of {name, parameters, prunable_parameters}.")
    var json = false

    func run() throws {
        let shape = try parseShape(input)
        guard classes > 0 else { throw CLIError("--classes must be positive, got \(classes)") }
        var rows: [[String: Any]] = []
        for name in ModelZoo.names {
            // Zero weights: counting needs the shapes only, not 20M random draws.
            let m = try ModelZoo.make(name, inputShape: shape, classes: classes, seed: 1, initialize: false)
            rows.append(["name": name, "parameters": m.parameterCount, "prunable_parameters": m.prunableParameterCount])
        }
        if json { try printJSON(rows) } else {
            print("model         parameters   prunable")
            for r in rows {
                let name = (r["name"] as! String).padding(toLength: 12, withPad: " ", startingAt: 0)
                print(name + String(format: " %11d %10d", r["parameters"] as! Int, r["prunable_parameters"] as! Int))
            }
        }
    }
}

/// "3x32x32" → [3, 32, 32], or a one-line error.
func parseShape(_ s: String) throws -> [Int] {
    let parts = s.split(separator: "x", omittingEmptySubsequences: false)
    let shape = parts.compactMap { Int($0) }
    guard !shape.isEmpty, shape.count == parts.count, shape.allSatisfy({ $0 > 0 }) else {
        throw CLIError("--input must look like 1x28x28, got '\(s)'")
    }
    return shape
}
