import Foundation
import Interop
import NN
import Tensor
import Testing
@testable import Experiments

private func tempPath(_ suffix: String = "") -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("topiary-interop-\(UUID().uuidString)\(suffix)").path
}

private func spec(extra: String = "", model: String = "lenet300", dense: String = "") throws -> ExperimentSpec {
    try SpecParser.parse("""
        name: kept
        data: {dataset: synthetic}
        model: \(model)
        training: {batch_size: 64, iterations_per_cycle: 20, eval_every: 20\(dense)}
        pruning: {rate: 0.5, cycles: 2}
        schedules:
          - {name: constant, kind: constant, lr: 0.05}
        seeds: [1]
        \(extra)
        """)
}

@Suite(.serialized) struct ModelFilesTests {
    @Test func everyCycleIsKeptAndExportedWithItsMetadata() throws {
        let s = try spec(extra: "output: {models: every_cycle}")
        #expect(s.output?.models == .everyCycle)
        // Without output: or weights the canonical JSON (and so the hash) is unchanged.
        #expect(!String(decoding: try spec().canonicalJSON(), as: UTF8.self).contains("output"))
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: s, directory: dir).run(resume: false)
        let records = try RunStore(directory: dir).allRecords(spec: s)
        for cycle in 0...2 {
            let w = try ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: cycle, masks: true, dataDirectory: nil)
            #expect(w.metadata["cycle"] == String(cycle))
            #expect(w.metadata["spec_hash"] == s.hash)
            #expect(w.metadata["model"] == "lenet300" && w.metadata["input_shape"] == "[1, 16, 16]" && w.metadata["classes"] == "10")
            #expect(w.metadata["normalization_mean"]?.hasPrefix("[") == true && w.metadata["normalization_std"] != nil)
            #expect(w.metadata["final_test_accuracy"] == "\(records[cycle].finalTestAccuracy)")
            let file = try SafetensorsFile(bytes: w.bytes())
            // Pruned entries are exactly 0, and the masks say which.
            let weights = try file.values("fc1.weight")
            if cycle > 0 {
                let mask = try file.values("fc1.weight_mask")
                #expect(zip(weights, mask).allSatisfy { $1 == 1 || $0 == 0 })
                let kept = mask.filter { $0 == 1 }.count
                #expect(abs(Double(kept) / Double(mask.count) - pow(0.5, Double(cycle))) < 0.05)
            } else {
                #expect(file.entry("fc1.weight_mask") == nil)
            }
        }
        // The last cycle also comes from the checkpoint alone (no --cycle).
        let last = try ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: nil, masks: false, dataDirectory: nil)
        #expect(last.metadata["cycle"] == "2")
        #expect(throws: RunError.self) { try ModelFiles.export(runDirectory: dir, schedule: "nope", seed: 1, cycle: nil, masks: false, dataDirectory: nil) }
        #expect(throws: RunError.self) { try ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: 7, masks: false, dataDirectory: nil) }
    }

    @Test func aSpecStartsFromGivenWeightsAndEvaluatesThemAtCycleZero() throws {
        // Train a dense network, export it, then start a new experiment from it with no dense training.
        let first = try spec()
        let dir = tempPath(), file = tempPath(".safetensors"), second = tempPath()
        defer { for p in [dir, file, second] { try? FileManager.default.removeItem(atPath: p) } }
        try Runner(spec: first, directory: dir).run(resume: false)
        let w = try ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: nil, masks: false, dataDirectory: nil)
        try ModelFiles.write(w, to: file)
        let imported = try spec(model: "{name: lenet300, weights: \(file)}", dense: ", dense_iterations: 0")
        #expect(imported.modelWeights == file && imported.training.denseIterations == 0)
        try Runner(spec: imported, directory: second).run(resume: false)
        let cycle0 = try #require(try RunStore(directory: second).allRecords(spec: imported).first)
        #expect(cycle0.iterations == 0)
        #expect(cycle0.finalTestAccuracy == Double(w.metadata["final_test_accuracy"]!)!)
    }

    @Test func aFilterPrunedRunExportsCompactedWithSmallerShapesAndTheKeptChannels() throws {
        var s = try spec()
        s.pruning.criterion = "l1-filter"
        s.pruning.scope = "layerwise"
        let dir = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Runner(spec: s, directory: dir).run(resume: false)
        let full = try SafetensorsFile(bytes: ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: nil,
                                                                masks: false, dataDirectory: nil).bytes())
        let w = try ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: nil, masks: true,
                                      dataDirectory: nil, compact: true)
        let file = try SafetensorsFile(bytes: w.bytes())
        #expect(w.metadata["compacted"] == "true" && w.metadata["compacted_from"] == "{\"fc1.weight\": 300, \"fc2.weight\": 100}")
        let fc1 = try #require(file.entry("fc1.weight")), fc2 = try #require(file.entry("fc2.weight"))
        let fc3 = try #require(file.entry("fc3.weight"))
        // Two cycles at rate 0.5 leave a quarter of the neurons; the logits stay.
        #expect(fc1.shape == [75, 256] && file.entry("fc1.bias")?.shape == [75])
        #expect(fc2.shape == [25, 75] && fc3.shape == [10, 25])
        #expect(file.entry("fc1.weight_mask")?.shape == [75, 256])
        // The kept rows are the original's rows, in order.
        let kept = try #require(w.metadata["compacted_channels"]).split(separator: "]")[0]
            .split(separator: "[")[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
        #expect(kept.count == 75)
        let big = try full.values("fc1.weight"), small = try file.values("fc1.weight")
        #expect(kept.enumerated().allSatisfy { i, r in Array(small[i * 256 ..< (i + 1) * 256]) == Array(big[r * 256 ..< (r + 1) * 256]) })
        // Read back (as `topiary eval` does): the full-width network shaped like the file
        // computes what the full file's network does.
        let wide = try ModelZoo.make("lenet300", inputShape: [1, 16, 16], classes: 10, seed: 1, initialize: false)
        _ = try PyTorchState.load(full, into: wide)
        let narrow = try ModelFiles.shaped(try ModelZoo.make("lenet300", inputShape: [1, 16, 16], classes: 10, seed: 1, initialize: false),
                                           like: file.metadata)
        // Without --masks: an import refuses the bias masks that structured pruning writes.
        let plain = try SafetensorsFile(bytes: ModelFiles.export(runDirectory: dir, schedule: "constant", seed: 1, cycle: nil,
                                                                 masks: false, dataDirectory: nil, compact: true).bytes())
        _ = try PyTorchState.load(plain, into: narrow)
        #expect(narrow.parameters.first?.value.shape == [75, 256])
        let x = Tensor(shape: [4, 1, 16, 16])
        for i in 0..<x.count { x[i] = Float(i % 7) - 3 }
        let a = wide.forward(x, training: false).array, b = narrow.forward(x, training: false).array
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
        var broken = file.metadata
        broken["compacted_channels"] = "{\"fc3.weight\": [0]}"
        #expect(throws: RunError.self) { try ModelFiles.shaped(try ModelZoo.make("lenet300", inputShape: [1, 16, 16], classes: 10, seed: 1), like: broken) }
    }

    @Test func specErrorsNameTheKey() throws {
        #expect(throws: SpecError.self) { try spec(dense: ", dense_iterations: 0") }
        #expect(throws: SpecError.self) { try spec(model: "{name: lenet300, weights: /no/such/file.safetensors}") }
        #expect(throws: SpecError.self) { try spec(extra: "output: {models: sometimes}") }
    }
}
