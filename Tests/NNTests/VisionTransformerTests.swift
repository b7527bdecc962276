import Foundation
import Testing
@testable import NN
import Tensor

/// The Vision Transformer's layers (finite-difference checks of each backward pass) and
/// `vit-tiny` in the model zoo (parameter count by formula, shapes, masks).
@Suite struct VisionTransformerTests {
    let tolerance = 1e-2

    /// Fills every bias and norm parameter with noise, so a gradient check does not run at
    /// the special point of zero shifts and unit gains.
    static func perturbNonWeights(_ layer: any Layer, _ rng: inout RNG) {
        for p in layer.parameters where !p.prunable {
            let base: Float = p.kind == "norm" && p.name.hasSuffix(".weight") ? 1 : 0
            for i in 0..<p.count { p.value[i] = base + 0.3 * rng.normal() }
        }
    }

    @Test func layerNormOnTokens() {
        var rng = RNG(seed: 21)
        let ln = LayerNorm(5, name: "ln")
        Self.perturbNonWeights(ln, &rng)
        let e = gradientErrors(of: ln, input: randomTensor([2, 3, 5], &rng, scale: 2))
        #expect(Set(e.errors.keys) == ["input", "ln.weight", "ln.bias"])
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func layerNormValues() {
        // Each row to zero mean and unit (biased) variance, eps 1e-5, gain 1, bias 0.
        let ln = LayerNorm(4)
        #expect(ln.gamma.value.array == [1, 1, 1, 1] && ln.beta.value.array == [0, 0, 0, 0] && ln.eps == 1e-5)
        let y = ln.forward(Tensor(shape: [1, 2, 4], values: [1, 2, 3, 4, -2, 0, 0, 2]), training: true)
        #expect(y.shape == [1, 2, 4])
        let s1 = 1 / (1.25 + 1e-5).squareRoot(), s2 = 1 / (2 + 1e-5).squareRoot()
        expectClose(y.array, [-1.5 * s1, -0.5 * s1, 0.5 * s1, 1.5 * s1, -2 * s2, 0, 0, 2 * s2], rel: 1e-5, abs: 1e-6)
        #expect(ln.forward(Tensor(shape: [3, 4], repeating: 1), training: false).shape == [3, 4])
    }

    @Test func patchEmbeddingWithClassTokenAndPositions() {
        var rng = RNG(seed: 22)
        let embed = PatchEmbedding(channels: 2, height: 4, width: 6, patch: 2, dim: 3, name: "embed", rng: &rng)
        Self.perturbNonWeights(embed, &rng)
        let x = randomTensor([2, 2, 4, 6], &rng)
        #expect(embed.forward(x, training: true).shape == [2, 1 + 6, 3])
        let e = gradientErrors(of: embed, input: x)
        #expect(Set(e.errors.keys) == ["input", "embed.proj.weight", "embed.proj.bias", "embed.cls_token", "embed.pos_embed"])
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func patchEmbeddingTokenLayout() {
        // One channel, a 2x4 image of 2x2 patches, dim 1, the projection summing each patch:
        // token 0 is the class token, then the patches in row-major order, plus positions.
        var rng = RNG(seed: 23)
        let embed = PatchEmbedding(channels: 1, height: 2, width: 4, patch: 2, dim: 1, positionStd: 0, rng: &rng)
        embed.projection.weight.value.fill(1)
        embed.classToken.value[0] = 100
        for i in 0..<3 { embed.positions.value[i] = Float(10 * i) }
        let x = Tensor(shape: [1, 1, 2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8])
        let expected: [Float] = [100, 14 + 10, 22 + 20]  // patch sums 1+2+5+6 and 3+4+7+8
        #expect(embed.forward(x, training: false).array == expected)
    }

    @Test func multiHeadAttention() {
        var rng = RNG(seed: 24)
        let attn = MultiHeadAttention(dim: 4, heads: 2, name: "attn", rng: &rng)
        Self.perturbNonWeights(attn, &rng)
        let x = randomTensor([2, 3, 4], &rng)
        #expect(attn.forward(x, training: true).shape == [2, 3, 4])
        let e = gradientErrors(of: attn, input: x)
        #expect(Set(e.errors.keys) == ["input", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias"])
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func attentionMatchesADirectComputation() {
        // One sample, T = 2, dim 2, 2 heads of width 1, identity projections with zero bias:
        // head h attends with scores q_i k_j (scale 1) over its own column.
        var rng = RNG(seed: 25)
        let attn = MultiHeadAttention(dim: 2, heads: 2, rng: &rng)
        attn.qkv.weight.value.zero()
        for r in 0..<6 { attn.qkv.weight.value[r * 2 + r % 2] = 1 }
        attn.projection.weight.value.zero()
        attn.projection.weight.value[0] = 1
        attn.projection.weight.value[3] = 1
        let v: [Float] = [0.5, -1, 2, 0.25]
        let y = attn.forward(Tensor(shape: [1, 2, 2], values: v), training: false)
        var expected = [Double](repeating: 0, count: 4)
        for h in 0..<2 {
            let col = [Double(v[h]), Double(v[2 + h])]
            for i in 0..<2 {
                let w = col.map { exp(col[i] * $0) }
                expected[i * 2 + h] = (w[0] * col[0] + w[1] * col[1]) / (w[0] + w[1])
            }
        }
        expectClose(y.array, expected, rel: 1e-5, abs: 1e-6)
    }

    /// Workers split the samples and keep their own dS scratch: two give what one does.
    /// Sets the global thread count briefly; other tests only run slower meanwhile.
    @Test func attentionWorkersMatchOneWorker() {
        var rng = RNG(seed: 29)
        // 8 x 16 x 16 x 64 = 2 x Parallel.minimumWork: enough work for two workers.
        let x = randomTensor([8, 16, 64], &rng), dy = randomTensor([8, 16, 64], &rng)
        var results: [[Float]] = []
        for threads in [1, 2] {
            var weightRNG = RNG(seed: 30)
            let attn = MultiHeadAttention(dim: 64, heads: 4, rng: &weightRNG)
            let (y, dx) = Parallel.withThreads(threads) {
                (attn.forward(x, training: true).array, attn.backward(dy).array)
            }
            results.append(y + dx + attn.parameters.flatMap(\.grad.array))
        }
        expectClose(results[1], results[0].map(Double.init), rel: 1e-5, abs: 1e-6, "2 workers vs 1")
    }

    @Test func transformerBlock() {
        var rng = RNG(seed: 26)
        let block = TransformerBlock(dim: 4, heads: 2, mlpRatio: 2, name: "b", rng: &rng)
        Self.perturbNonWeights(block, &rng)
        let x = randomTensor([2, 3, 4], &rng)
        #expect(block.forward(x, training: true).shape == [2, 3, 4])
        let e = gradientErrors(of: block, input: x)
        #expect(e.errors.count == 1 + block.parameters.count)
        #expect(e.worst < tolerance, "\(e.errors)")
    }

    @Test func smallVisionTransformerEndToEnd() throws {
        // The whole stack, class-token pooling and head included, at a size a finite-difference
        // check can afford: 1x4x4 input, 2x2 patches, dim 4, one block.
        var rng = RNG(seed: 27)
        let config = VisionTransformerConfig(patch: 2, dim: 4, depth: 1, heads: 2, mlpRatio: 2)
        let model = try ModelZoo.visionTransformer("vit", config, inputShape: [1, 4, 4], classes: 3, initialize: true, rng: &rng)
        Self.perturbNonWeights(model.network, &rng)
        let e = gradientErrors(of: model.network, input: randomTensor([2, 1, 4, 4], &rng), checkInput: false)
        #expect(e.errors.count == model.parameters.count)
        // This checks the wiring, where a mistake shows as an O(1) error; the layers are held to
        // 1e-2 above. Through two LayerNorms of width 4 and a softmax the difference quotient's
        // truncation error is larger: 0.016 at step 1e-2 (block1.norm1.weight), 9e-4 at 3e-3,
        // where Float rounding takes over elsewhere.
        #expect(e.worst < 3 * tolerance, "\(e.errors)")
    }

    /// The count written out layer by layer for a `[c, s, s]` input, 10 classes, vit-tiny's
    /// patch 4, D 128, depth 6, MLP ratio 2.
    static func vitTinyCount(channels c: Int, side s: Int) -> (total: Int, prunable: Int) {
        let p = 4, d = 128, depth = 6, r = 2, classes = 10
        let t = (s / p) * (s / p)
        let embedding = c * p * p * d + d, cls = d, pos = (t + 1) * d
        let block = 2 * (2 * d) + 4 * (d * d + d) + (d * r * d + r * d) + (r * d * d + d)
        let total = embedding + cls + pos + depth * block + 2 * d + (d * classes + classes)
        let prunable = c * p * p * d + depth * (4 * d * d + 2 * r * d * d) + d * classes
        return (total, prunable)
    }

    @Test(arguments: [(3, 32, 811_146, 793_856), (1, 28, 805_130, 789_760)])
    func vitTinyParameterCount(_ channels: Int, _ side: Int, _ total: Int, _ prunable: Int) throws {
        let formula = Self.vitTinyCount(channels: channels, side: side)
        #expect(formula == (total, prunable))
        let model = try ModelZoo.make("vit-tiny", inputShape: [channels, side, side], classes: 10, seed: 1, initialize: false)
        #expect(model.parameterCount == formula.total)
        #expect(model.prunableParameterCount == formula.prunable)
        #expect(Set(model.parameters.map(\.name)).count == model.parameters.count)
    }

    @Test func vitTinyPrunableSet() throws {
        let model = try ModelZoo.make("vit-tiny", inputShape: [3, 32, 32], classes: 10, seed: 1, initialize: false)
        let prunable = model.parameters.filter(\.prunable).map(\.name)
        var expected = ["embed.proj.weight"]
        for b in 1...6 {
            expected += ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"].map { "block\(b).\($0).weight" }
        }
        expected.append("head.weight")
        #expect(prunable == expected)
        #expect(model.parameters.filter { $0.kind == "norm" }.count == 2 * (2 * 6 + 1))
        #expect(model.parameters.filter { $0.kind == "embedding" }.map(\.name) == ["embed.cls_token", "embed.pos_embed"])
        // initialize: false leaves zeros everywhere but the LayerNorm gains.
        for p in model.parameters where !(p.kind == "norm" && p.name.hasSuffix(".weight")) {
            #expect(p.value.array.allSatisfy { $0 == 0 }, "\(p.name)")
        }
    }

    @Test(arguments: [[3, 32, 32], [1, 28, 28]])
    func vitTinyForwardBackwardShapes(_ shape: [Int]) throws {
        let model = try ModelZoo.make("vit-tiny", inputShape: shape, classes: 10, seed: 2)
        var rng = RNG(seed: 3)
        let x = randomTensor([2] + shape, &rng)
        let y = model.forward(x, training: true)
        #expect(y.shape == [2, 10])
        #expect(y.array.allSatisfy { $0.isFinite })
        model.zeroGradients()
        model.backward(randomTensor([2, 10], &rng))
        for p in model.parameters {
            #expect(p.grad.array.allSatisfy { $0.isFinite }, "\(p.name)")
            // Every parameter takes part: each receives some gradient.
            #expect(p.grad.array.contains { $0 != 0 }, "\(p.name)")
        }
        let embed = try #require(model.network.layers.first as? PatchEmbedding)
        #expect(embed.patches == (shape[1] / 4) * (shape[2] / 4))
        #expect(!embed.computesInputGradient)
    }

    @Test func vitTinyRejectsUnusableInputs() {
        for shape in [[3, 30, 32], [1, 28, 26], [3, 2, 2], [784], [1, 0, 28]] {
            #expect(throws: ModelError.self, "\(shape)") {
                try ModelZoo.make("vit-tiny", inputShape: shape, classes: 10, seed: 1, initialize: false)
            }
        }
    }

    @Test func sameSeedSameWeights() throws {
        let a = try ModelZoo.make("vit-tiny", inputShape: [1, 28, 28], classes: 10, seed: 5)
        let b = try ModelZoo.make("vit-tiny", inputShape: [1, 28, 28], classes: 10, seed: 5)
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.value.array == $1.value.array })
    }

    @Test(arguments: [false, true])
    func maskedAttentionWeightsStayZero(_ adam: Bool) throws {
        var rng = RNG(seed: 28)
        let config = VisionTransformerConfig(patch: 2, dim: 8, depth: 2, heads: 2, mlpRatio: 2)
        let model = try ModelZoo.visionTransformer("vit", config, inputShape: [1, 4, 4], classes: 3, initialize: true, rng: &rng)
        let x = randomTensor([6, 1, 4, 4], &rng)
        let labels: [Int32] = (0..<6).map { _ in Int32(rng.below(3)) }
        let masked = model.parameters.filter { $0.prunable && $0.name.contains(".attn.") }
        #expect(masked.count == 4)
        for w in masked {
            let m = Tensor(shape: w.value.shape)
            for i in 0..<m.count { m[i] = rng.uniform() < 0.5 ? 0 : 1 }
            w.setMask(m)
        }
        let before = masked.map { $0.value.clone() }
        let opt: any Optimizer = adam ? Adam(weightDecay: 1e-3) : SGD(momentum: 0.9, weightDecay: 1e-3)
        let grad = Tensor(shape: [0])
        for _ in 0..<20 {
            model.zeroGradients()
            let logits = model.forward(x, training: true)
            labels.withUnsafeBufferPointer { _ = SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad) }
            model.backward(grad)
            opt.step(model.parameters, lr: adam ? 1e-3 : 0.05)
            for w in masked {
                let m = w.mask!, state = opt.state(of: w)
                var bad = 0
                for i in 0..<w.count where m[i] == 0 {
                    if w.value[i] != 0 { bad += 1 }
                    for s in state where s[i] != 0 { bad += 1 }
                }
                #expect(bad == 0, "\(w.name)")
            }
        }
        for (w, w0) in zip(masked, before) {
            let m = w.mask!
            let moved = (0..<w.count).filter { m[$0] != 0 && w.value[$0] != w0[$0] }.count
            #expect(moved > 0, "\(w.name): no unmasked weight moved")
        }
    }
}
