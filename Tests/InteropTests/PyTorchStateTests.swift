import Testing
@testable import Interop
import NN
import Tensor

struct PyTorchStateTests {
    func input(_ shape: [Int], batch: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed, stream: "input")
        let x = Tensor(shape: [batch] + shape)
        for i in 0..<x.count { x[i] = rng.normal() }
        return x
    }

    /// Makes the running statistics differ from their initial values, so a round trip that
    /// forgot them would change evaluation-mode logits.
    func perturbBuffers(_ model: Model, seed: UInt64) {
        var rng = RNG(seed: seed, stream: "buffers")
        for b in model.buffers {
            for i in 0..<b.count { b[i] = 0.5 + rng.uniform() }
        }
    }

    @Test func namesCoverEveryParameterAndBuffer() throws {
        for name in ModelZoo.names {
            let model = try ModelZoo.make(name, inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
            let entries = PyTorchState.entries(of: model)
            #expect(Set(entries.map(\.name)).count == entries.count, "\(name): names are unique")
            let tensors = entries.compactMap(\.tensor)
            let stored = Set(tensors.map(ObjectIdentifier.init))
            let expected = model.parameters.map { ObjectIdentifier($0.value) } + model.buffers.map(ObjectIdentifier.init)
            #expect(stored == Set(expected) && tensors.count == expected.count, "\(name): every parameter and buffer once")
            #expect(entries.allSatisfy { !$0.name.contains(" ") && !$0.name.hasPrefix(".") && !$0.name.hasSuffix(".") })
        }
        let resnet = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        let names = PyTorchState.entries(of: resnet).map(\.name)
        #expect(Array(names.prefix(6)) == ["conv1.weight", "conv1.bn.weight", "conv1.bn.bias", "conv1.bn.running_mean",
                                           "conv1.bn.running_var", "conv1.bn.num_batches_tracked"])
        #expect(names.contains("layer2.0.shortcut.bn.running_var"))
        #expect(names.last == "fc.bias")
    }

    @Test func everyZooModelRoundTripsToIdenticalLogits() throws {
        for name in ModelZoo.names {
            let shape = name == "mlp" || name == "lenet300" ? [1, 28, 28] : [3, 32, 32]
            let a = try ModelZoo.make(name, inputShape: shape, classes: 10, seed: 1)
            perturbBuffers(a, seed: 3)
            // Prune a few weights so masks travel too.
            let p = a.parameters.first(where: \.prunable)!
            let m = Tensor(shape: p.value.shape, repeating: 1)
            for i in stride(from: 0, to: m.count, by: 3) { m[i] = 0 }
            p.setMask(m)
            let x = input(shape, batch: 1, seed: 5)
            let expected = a.forward(x, training: false).array
            let bytes = PyTorchState.writer(for: a, masks: true, metadata: ["model": name]).bytes()

            // Zero weights: everything must come from the file.
            let b = try ModelZoo.make(name, inputShape: shape, classes: 10, seed: 2, initialize: false)
            let report = try PyTorchState.load(SafetensorsFile(bytes: bytes), into: b)
            #expect(report.masked == [p.name], "\(name)")
            #expect(report.missing.isEmpty && report.unexpected.isEmpty, "\(name)")
            let actual = b.forward(x, training: false).array
            #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern), "\(name): logits after the round trip")
            #expect(b.parameters.first(where: \.prunable)!.mask?.array == m.array)
        }
    }

    /// Structured pruning masks a unit's bias and BatchNorm γ/β with its filter; an export
    /// with masks carries those too and must import back (PyTorch names them `bias_orig` /
    /// `bias_mask` after `custom_from_mask`).
    @Test func masksOnBiasesAndBatchNormImport() throws {
        let a = try ModelZoo.make("vgg11", inputShape: [3, 32, 32], classes: 10, seed: 1)
        let masked = a.parameters.filter { !$0.prunable && $0.value.rank == 1 }.prefix(3)
        #expect(masked.count == 3)
        for p in masked {
            let m = Tensor(shape: p.value.shape, repeating: 1)
            m[0] = 0
            p.setMask(m)
        }
        var w = SafetensorsWriter()
        for e in PyTorchState.entries(of: a) {
            guard let t = e.tensor else { continue }
            if case .parameter(let p) = e.role, let m = p.mask {
                w.add(e.name + "_orig", t)
                w.add(e.name + "_mask", m)
            } else {
                w.add(e.name, t)
            }
        }
        let b = try ModelZoo.make("vgg11", inputShape: [3, 32, 32], classes: 10, seed: 2, initialize: false)
        let report = try PyTorchState.load(SafetensorsFile(bytes: w.bytes()), into: b)
        #expect(report.masked == masked.map(\.name))
        #expect(report.missing.isEmpty && report.unexpected.isEmpty)
        for (p, q) in zip(a.parameters, b.parameters) {
            #expect(p.value.array == q.value.array && p.mask?.array == q.mask?.array, "\(p.name)")
        }
    }

    func resnetFile(_ edit: (inout SafetensorsWriter, PyTorchState.Entry) -> Bool) throws -> SafetensorsFile {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        var w = SafetensorsWriter()
        for e in PyTorchState.entries(of: model) where edit(&w, e) {
            if let t = e.tensor { w.add(e.name, t) }
        }
        return try SafetensorsFile(bytes: w.bytes())
    }

    func importError(_ file: SafetensorsFile, allowPartial: Bool = false) throws -> String? {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        do {
            _ = try PyTorchState.load(file, into: model, allowPartial: allowPartial)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func importNamesEachMismatch() throws {
        // Wrong name: fc.weight stored as head.weight.
        let renamed = try resnetFile { w, e in
            if e.name == "fc.weight" { w.add("head.weight", e.tensor!); return false }
            return true
        }
        let renamedError = try #require(try importError(renamed))
        #expect(renamedError.contains("fc.weight is missing from the file"))
        #expect(renamedError.contains("head.weight is not a tensor of resnet20"))
        #expect(try importError(renamed, allowPartial: true) == nil)
        let model = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        let report = try PyTorchState.load(renamed, into: model, allowPartial: true)
        #expect(report.missing == ["fc.weight"] && report.unexpected == ["head.weight"])

        // Wrong shape: a 100-class head.
        let wide = try resnetFile { w, e in
            if e.name == "fc.bias" { w.add("fc.bias", shape: [100], values: .init(repeating: 0, count: 100)); return false }
            return true
        }
        #expect(try importError(wide) == "the weights do not fit resnet20: fc.bias has shape [100], the model's is [10]")

        // Wrong dtype: an integer weight.
        let integer = try resnetFile { w, e in
            if e.name == "conv1.weight" { w.add("conv1.weight", shape: e.shape, integers: .init(repeating: 1, count: e.shape.reduce(1, *))); return false }
            return true
        }
        #expect(try importError(integer)?.contains("conv1.weight has dtype I64") == true)

        // A mask with values other than 0 and 1.
        let badMask = try resnetFile { w, e in
            if e.name == "fc.weight" { w.add("fc.weight_mask", shape: e.shape, values: .init(repeating: 0.5, count: e.tensor!.count)) }
            return true
        }
        #expect(try importError(badMask)?.contains("fc.weight_mask holds 0.5") == true)
        // The batch counter is optional (written by export, absent here): no error.
        #expect(try importError(resnetFile { _, _ in true }) == nil)
    }

    @Test func failedImportLeavesTheModelUnchanged() throws {
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10, seed: 1)
        let before = model.parameters.map(\.value.array)
        var w = SafetensorsWriter()
        for p in model.parameters { w.add(p.name, shape: p.value.shape, values: .init(repeating: 9, count: p.count)) }
        w.add("extra", shape: [1], values: [0])
        #expect(throws: ImportError.self) { try PyTorchState.load(SafetensorsFile(bytes: w.bytes()), into: model) }
        #expect(model.parameters.map(\.value.array) == before)
    }
}
