import Foundation
import NN
import Testing
@testable import Experiments

/// SPEC §1: lambda counts every prunable weight, the layers left dense included (the papers'
/// 5.72 for a nominal 5.50); the figure over the pruned layers alone is kept under its own key.
@Suite(.serialized) struct AccountingTests {
    @Test func measuredLambdaCountsExcludedLayers() throws {
        let spec = try SpecParser.parse("""
            name: lambda
            data: {dataset: synthetic}
            model: lenet300
            training: {batch_size: 64, iterations_per_cycle: 10, eval_every: 10}
            pruning: {criterion: magnitude, scope: global, rate: 0.5, cycles: 2, exclude: [fc3]}
            schedules:
              - {name: c, kind: constant, lr: 0.02}
            seeds: [1]
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-lambda-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: spec, directory: dir).run(resume: false)
        let store = RunStore(directory: dir)
        let recs = try store.allRecords(spec: spec)
        // lenet300 on 1x16x16: fc1 256x300, fc2 300x100 pruned; fc3 100x10 dense.
        let prunable = 256 * 300 + 300 * 100, dense = 100 * 10
        for r in recs {
            let kept = Double(prunable) * pow(0.5, Double(r.cycle))
            let expected = 100 * (kept.rounded() + Double(dense)) / Double(prunable + dense)
            #expect(abs(r.measuredPercentRemaining - expected) < 0.01, "cycle \(r.cycle): \(r.measuredPercentRemaining) vs \(expected)")
            #expect(abs((r.prunedLayersPercentRemaining ?? -1) - r.percentRemaining) < 0.01)
        }
        #expect(recs[2].measuredPercentRemaining > recs[2].percentRemaining)
        // The machine is recorded with every result, and listed in the report.
        let env = try #require(recs.first?.environment)
        #expect(env == RunEnvironment.current)
        #expect(env.openblas.hasPrefix("OpenBLAS") && env.onednn.hasPrefix("oneDNN") && !env.cpu.isEmpty)
        #expect(["AVX-512", "AVX2", "AVX", "SSE"].contains(env.vectorExtension))
        _ = try Report.render(store: store, spec: spec)
        let md = try String(contentsOf: store.file("report.md"), encoding: .utf8)
        #expect(md.contains("## Computed on") && md.contains(env.cpu))
        #expect(md.contains("dense layers included"))
        let csv = try String(contentsOf: store.file("results.csv"), encoding: .utf8)
        #expect(csv.contains("pruned_layers_lambda"))
    }
}
