import Foundation
import Testing
@testable import Experiments

private func tvSpec(_ tvpgd: String) throws -> ExperimentSpec {
    try SpecParser.parse("""
        name: tv
        data: {dataset: synthetic}
        model: lenet300
        training: {batch_size: 64, eval_every: 20}
        method: tv-pgd
        tvpgd:
        \(tvpgd)
        seeds: [1]
        """)
}

struct TVPGDSpecTests {
    @Test func parsesMethodsAndDefaults() throws {
        let s = try tvSpec("""
              iterations: 90
              dense_iterations: 30
              dt: 5
              targets: [0.5, 0.9]
              methods:
                - {name: one-shot, kind: one-shot}
                - {name: cyc, kind: cyclical, cycles: 3}
            """)
        let tv = try #require(s.tvpgd)
        #expect(tv.targets == [0.5, 0.9] && tv.dt == 5 && tv.scope == "layerwise")
        #expect(tv.methods.map(\.kind) == ["one-shot", "cyclical"])
        #expect(tv.methods[1].laterInitFraction == 0.5 && tv.methods[1].rampFraction == 0.8)
    }

    @Test func impossibleValuesNameTheirKey() {
        let cases = [("targets: [1.0]", "tvpgd.targets[0]"), ("targets: [-0.1]", "tvpgd.targets[0]"),
                     ("dt: 0", "tvpgd.dt"), ("iterations: -5", "tvpgd.iterations")]
        for (line, key) in cases {
            do {
                _ = try tvSpec("  \(line)\n  methods:\n    - {name: a, kind: one-shot}")
                Issue.record("\(line) was accepted")
            } catch let e as SpecError {
                #expect(e.key == key, "\(line): \(e)")
            } catch { Issue.record("\(error)") }
        }
        #expect(throws: SpecError.self) { try tvSpec("  methods:\n    - {name: a, kind: cyclical, cycles: 0}") }
        #expect(throws: SpecError.self) { try tvSpec("  methods:\n    - {name: a, kind: sawtooth}") }
        #expect(throws: SpecError.self) { try tvSpec("  targets: [0.5]") }  // no methods
    }
}

@Suite(.serialized) struct TVPGDRunnerTests {
    @Test func reachesTheTargetAndTracksCycles() throws {
        let spec = try tvSpec("""
              iterations: 90
              dense_iterations: 30
              dt: 5
              targets: [0.8]
              lr: 0.05
              methods:
                - {name: one-shot, kind: one-shot}
                - {name: gradual, kind: gradual}
                - {name: cyc, kind: cyclical, cycles: 3}
            """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("topiary-tv-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = try TVPGDRunner(spec: spec, directory: dir)
        try runner.run()
        let recs = try runner.allRecords()
        #expect(recs.filter { $0.method == "one-shot" }.count == 1)
        #expect(recs.filter { $0.method == "gradual" }.count == 1)
        let cyc = recs.filter { $0.method == "cyc" }
        #expect(cyc.map(\.cycle) == [1, 2, 3])
        for r in recs {
            // Layerwise projection to 80% keeps round(20%) of each layer.
            #expect(abs(r.measuredSparsity - 0.8) < 0.001)
            #expect(r.finalTestAccuracy > 0.1)
        }
        #expect(cyc[0].maskDistance == 0 && cyc[0].weightsRecovered == 0)
        // Later cycles re-grow part of the network, so the kept set moves.
        #expect(cyc[2].maskDistance > 0)
        // Finished runs are skipped on a second call.
        let before = try Data(contentsOf: runner.recordsURL(method: "cyc", target: 0.8, seed: 1))
        try TVPGDRunner(spec: spec, directory: dir).run()
        #expect(try Data(contentsOf: runner.recordsURL(method: "cyc", target: 0.8, seed: 1)) == before)
        let table = try TVPGDReport.render(store: RunStore(directory: dir), spec: spec, records: recs)
        #expect(table.rows.map(\.schedule) == ["one-shot", "gradual", "cyc"])
        let md = try String(contentsOf: RunStore(directory: dir).file("report.md"), encoding: .utf8)
        #expect(md.contains("| cyc | mask distance |"))
    }
}
