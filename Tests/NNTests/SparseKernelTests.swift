import Foundation
import Testing
@testable import NN
import Tensor

/// Sparse kernels (SparseLinear.swift, SparseConv.swift) against the dense path of the same
/// layer: outputs to 1e-5 and gradients to 1e-4 relative (to the largest entry), at every
/// instruction-set level this CPU has, for densities from nothing kept to everything kept.
@Suite(.serialized) struct SparseKernelTests {
    /// max |a - b| / max(max |b|, tiny): rounding-level agreement of whole tensors.
    func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.count == b.count)
        var diff: Double = 0, scale: Double = 1e-30
        for i in 0..<a.count {
            diff = Swift.max(diff, Double(Swift.abs(a[i] - b[i])))
            scale = Swift.max(scale, Double(Swift.abs(b[i])))
        }
        return diff / scale
    }

    /// A random 0/1 mask keeping about `kept` of the entries (exactly none or all at 0 and 1).
    func randomMask(_ shape: [Int], kept: Double, _ rng: inout RNG) -> Tensor {
        let m = Tensor(shape: shape)
        for i in 0..<m.count { m[i] = Double(rng.uniform()) < kept ? 1 : 0 }
        return m
    }

    /// Runs forward and backward of `layer` under `mode`; returns output, input gradient and
    /// each parameter's gradient.
    func pass(_ layer: any Layer, _ x: Tensor, _ dy: Tensor, training: Bool = true) -> (Tensor, Tensor, [Tensor]) {
        for p in layer.parameters { p.grad.zero() }
        let y = layer.forward(x, training: training).clone()
        let dx = layer.backward(dy).clone()
        return (y, dx, layer.parameters.map { $0.grad.clone() })
    }

    /// Compares sparse against dense for `layer`, whose weight is `weight`, at every ISA level.
    func compare(_ layer: any Layer, weight: Parameter, setMode: (KernelMode) -> Void, sparseRan: () -> Bool,
                 input x: Tensor, _ what: String) {
        var rng = RNG(seed: 5, stream: "dy")
        setMode(.dense)
        let probe = layer.forward(x, training: true)
        let dy = randomTensor(probe.shape, &rng)
        let (yd, dxd, gd) = pass(layer, x, dy)
        #expect(!sparseRan(), "\(what): dense mode ran sparse")
        let before = VectorISA.active
        defer { VectorISA.force(before); setMode(.dense) }
        for isa in VectorISA.supported {
            #expect(VectorISA.force(isa))
            setMode(.sparse)
            let (ys, dxs, gs) = pass(layer, x, dy)
            #expect(sparseRan(), "\(what): sparse mode ran dense")
            #expect(relativeError(ys, yd) <= 1e-5, "\(what) \(isa): output")
            #expect(relativeError(dxs, dxd) <= 1e-4, "\(what) \(isa): input gradient")
            let m = weight.mask!
            for (p, (s, d)) in zip(layer.parameters, zip(gs, gd)) {
                if p === weight {
                    // Kept entries as dense; pruned ones are not computed (stay 0).
                    let keptDense = Tensor(shape: d.shape), keptSparse = Tensor(shape: s.shape)
                    var prunedNonzero = 0
                    for i in 0..<d.count {
                        if m[i] != 0 { keptDense[i] = d[i]; keptSparse[i] = s[i] } else if s[i] != 0 { prunedNonzero += 1 }
                    }
                    #expect(relativeError(keptSparse, keptDense) <= 1e-4, "\(what) \(isa): weight gradient")
                    #expect(prunedNonzero == 0, "\(what) \(isa): gradient at pruned weights")
                    // With dense weight gradients requested, every entry matches the dense pass.
                    let (_, _, full) = SparseKernels.withDenseWeightGradients { pass(layer, x, dy) }
                    #expect(relativeError(full[0], d) <= 1e-4, "\(what) \(isa): dense weight gradient")
                } else {
                    #expect(relativeError(s, d) <= 1e-4, "\(what) \(isa): \(p.name) gradient")
                }
            }
            // Evaluation-mode forward takes the same path.
            let ye = layer.forward(x, training: false)
            #expect(relativeError(ye, yd) <= 1e-5, "\(what) \(isa): evaluation output")
            // Two runs give the same bits (partitions depend only on the pattern).
            let (y2, dx2, g2) = pass(layer, x, dy)
            let (y3, dx3, g3) = pass(layer, x, dy)
            #expect(y2.array == y3.array && dx2.array == dx3.array && g2.map(\.array) == g3.map(\.array),
                    "\(what) \(isa): not deterministic")
        }
    }

    static let densities = [0.0, 0.03, 0.3, 1.0]

    @Test(arguments: [(5, 7, 3), (33, 17, 20), (64, 10, 16), (1, 3, 1)])
    func linearMatchesDense(shape: (Int, Int, Int)) {
        let (fin, fout, batch) = shape
        for kept in Self.densities {
            var rng = RNG(seed: UInt64(fin * 100 + fout), stream: "sparse-linear")
            let layer = Linear(fin, fout, rng: &rng)
            layer.bias!.value.fill(0.1)
            layer.weight.setMask(randomMask(layer.weight.value.shape, kept: kept, &rng))
            let x = randomTensor([batch, fin], &rng)
            compare(layer, weight: layer.weight, setMode: { layer.kernels = $0 }, sparseRan: { layer.sparse.lastForwardSparse },
                    input: x, "Linear(\(fin)→\(fout)) batch \(batch) kept \(kept)")
        }
    }

    struct ConvCase: Sendable, CustomTestStringConvertible {
        let c: Int, o: Int, k: Int, stride: Int, pad: Int, h: Int, w: Int, bias: Bool
        var testDescription: String { "\(c)→\(o) k\(k) s\(stride) p\(pad) \(h)x\(w)\(bias ? " bias" : "")" }
    }

    @Test(arguments: [
        ConvCase(c: 3, o: 4, k: 3, stride: 1, pad: 1, h: 7, w: 6, bias: true),
        ConvCase(c: 4, o: 5, k: 3, stride: 2, pad: 1, h: 9, w: 9, bias: false),
        ConvCase(c: 5, o: 3, k: 1, stride: 1, pad: 0, h: 5, w: 5, bias: true),
        ConvCase(c: 2, o: 3, k: 5, stride: 1, pad: 2, h: 8, w: 8, bias: false),
        ConvCase(c: 3, o: 2, k: 3, stride: 2, pad: 0, h: 7, w: 8, bias: true),
        ConvCase(c: 4, o: 6, k: 3, stride: 1, pad: 0, h: 6, w: 9, bias: false),
        ConvCase(c: 6, o: 4, k: 1, stride: 2, pad: 0, h: 8, w: 8, bias: false),
        ConvCase(c: 16, o: 16, k: 3, stride: 1, pad: 1, h: 12, w: 12, bias: false),
        // Phase planes: strides that do and do not divide the padded size, kernels larger and
        // smaller than the stride, even kernels.
        ConvCase(c: 3, o: 4, k: 3, stride: 3, pad: 1, h: 10, w: 11, bias: true),
        ConvCase(c: 2, o: 3, k: 5, stride: 2, pad: 2, h: 11, w: 10, bias: false),
        ConvCase(c: 3, o: 3, k: 2, stride: 2, pad: 0, h: 9, w: 8, bias: false),
        ConvCase(c: 2, o: 2, k: 3, stride: 4, pad: 1, h: 13, w: 9, bias: true),
    ])
    func convolutionMatchesDense(_ cc: ConvCase) {
        for kept in Self.densities {
            var rng = RNG(seed: UInt64(cc.c * 31 + cc.o * 7 + cc.k + cc.stride), stream: "sparse-conv")
            let layer = Conv2d(cc.c, cc.o, kernel: cc.k, stride: cc.stride, padding: cc.pad, bias: cc.bias, rng: &rng)
            layer.bias?.value.fill(-0.2)
            layer.weight.setMask(randomMask(layer.weight.value.shape, kept: kept, &rng))
            let x = randomTensor([3, cc.c, cc.h, cc.w], &rng)
            compare(layer, weight: layer.weight, setMode: { layer.kernels = $0 }, sparseRan: { layer.sparse.lastForwardSparse },
                    input: x, "Conv2d \(cc.testDescription) kept \(kept)")
        }
    }

    @Test func autoChoosesByDensityAndRepacksOnlyOnMaskChange() {
        var rng = RNG(seed: 3, stream: "auto")
        let layer = Linear(40, 30, rng: &rng)
        layer.kernels = .auto
        let x = randomTensor([8, 40], &rng)
        _ = layer.forward(x, training: true)
        #expect(!layer.sparse.lastForwardSparse, "an unmasked layer runs dense")
        layer.weight.setMask(randomMask([30, 40], kept: 0.9, &rng))
        _ = layer.forward(x, training: true)
        #expect(!layer.sparse.lastForwardSparse, "90% kept is above the threshold")
        let v = layer.weight.maskVersion
        layer.weight.setMask(randomMask([30, 40], kept: 0.05, &rng))
        #expect(layer.weight.maskVersion == v + 1)
        _ = layer.forward(x, training: true)
        #expect(layer.sparse.lastForwardSparse, "5% kept is below the threshold")
        #expect(layer.sparse.patterns.count == 1)
        _ = layer.forward(x, training: true)
        #expect(layer.sparse.patterns.count == 1, "same mask, same batch: no new pattern")
        layer.weight.removeMask()
        _ = layer.forward(x, training: true)
        #expect(!layer.sparse.lastForwardSparse, "mask removed (TV-PGD's dense phase): dense again")
    }

    /// Results do not depend on the worker count: layers large enough to split between two
    /// workers (a fully connected layer its rows, a convolution its fixed sample blocks) give
    /// the bits of one worker.
    @Test func twoWorkersGiveTheBitsOfOne() {
        var rng = RNG(seed: 8, stream: "workers")
        let linear = Linear(300, 200, rng: &rng)
        linear.weight.setMask(randomMask([200, 300], kept: 0.5, &rng))
        let conv = Conv2d(16, 16, kernel: 3, padding: 1, rng: &rng)
        conv.weight.setMask(randomMask(conv.weight.value.shape, kept: 0.4, &rng))
        let strided = Conv2d(16, 8, kernel: 3, stride: 2, padding: 1, rng: &rng)
        strided.weight.setMask(randomMask(strided.weight.value.shape, kept: 0.4, &rng))
        #expect(Conv2d.sampleBlocks(16) == [0, 8, 16])
        #expect(Conv2d.sampleBlocks(128) == Array(stride(from: 0, through: 128, by: 16)))
        #expect(Conv2d.sampleBlocks(3) == [0, 3])
        let cases: [(any Layer, Tensor)] = [
            (linear, randomTensor([80, 300], &rng)),
            (conv, randomTensor([16, 16, 32, 32], &rng)),
            (strided, randomTensor([16, 16, 32, 32], &rng)),
        ]
        linear.kernels = .sparse
        conv.kernels = .sparse
        strided.kernels = .sparse
        for (layer, x) in cases {
            let dy = randomTensor(layer.forward(x, training: true).shape, &rng)
            let one = Parallel.withThreads(1) { pass(layer, x, dy) }
            let two = Parallel.withThreads(2) { pass(layer, x, dy) }
            #expect(one.0.array == two.0.array, "\(layer.summary): output")
            #expect(one.1.array == two.1.array, "\(layer.summary): input gradient")
            #expect(zip(one.2, two.2).allSatisfy { $0.array == $1.array }, "\(layer.summary): parameter gradients")
            #expect(one.2[0].array.contains { $0 != 0 })
        }
        #expect(linear.sparse.patterns.contains { $0.key.last == 2 && $0.value.forwardBounds.count == 3 }, "rows split")
    }

    /// `auto` weighs a convolution's density against its output map: at 35% kept a layer runs
    /// sparse on 32x32 maps (break-even above 40% there) and dense on 8x8 ones (near 25%), and a
    /// fully connected layer at 35% runs dense with either GEMM library.
    @Test func autoThresholdFollowsTheOutputMap() {
        var rng = RNG(seed: 6, stream: "map")
        let conv = Conv2d(4, 4, kernel: 3, padding: 1, rng: &rng)
        conv.kernels = .auto
        // Seven of every twenty weights kept: about 35%, whatever the seed.
        func spread(_ shape: [Int]) -> Tensor {
            let m = Tensor(shape: shape)
            for i in 0..<m.count { m[i] = i % 20 < 7 ? 1 : 0 }
            return m
        }
        conv.weight.setMask(spread(conv.weight.value.shape))
        _ = conv.forward(randomTensor([2, 4, 32, 32], &rng), training: true)
        #expect(conv.sparse.lastForwardSparse, "35% kept on 32x32 maps")
        _ = conv.forward(randomTensor([2, 4, 8, 8], &rng), training: true)
        #expect(!conv.sparse.lastForwardSparse, "35% kept on 8x8 maps")
        let linear = Linear(40, 30, rng: &rng)
        linear.kernels = .auto
        linear.weight.setMask(spread([30, 40]))
        _ = linear.forward(randomTensor([8, 40], &rng), training: true)
        #expect(!linear.sparse.lastForwardSparse, "35% kept, fully connected")
    }

    /// `withDenseWeightGradients` holds for its own thread only: tests, and a user's threads,
    /// that run sparse layers at the same time keep their sparse weight gradients.
    @Test func denseWeightGradientsStayOnTheirThread() {
        final class Seen: @unchecked Sendable { var value = true }
        let seen = Seen(), done = DispatchSemaphore(value: 0)
        SparseKernels.withDenseWeightGradients {
            #expect(SparseKernels.needsDenseWeightGradients)
            let other = Thread {
                seen.value = SparseKernels.needsDenseWeightGradients
                done.signal()
            }
            other.start()
            done.wait()
        }
        #expect(!seen.value, "another thread saw dense weight gradients")
        #expect(!SparseKernels.needsDenseWeightGradients)
    }

    @Test func depthwiseStaysDense() {
        var rng = RNG(seed: 4, stream: "dw")
        let layer = Conv2d(4, 4, kernel: 3, padding: 1, groups: 4, rng: &rng)
        layer.kernels = .sparse
        layer.weight.setMask(randomMask(layer.weight.value.shape, kept: 0.1, &rng))
        _ = layer.forward(randomTensor([2, 4, 5, 5], &rng), training: true)
        #expect(!layer.sparse.lastForwardSparse)
    }
}

/// SGD visiting only kept entries (`SGD.kernels`) gives the same bits as the full masked update,
/// keeps pruned weights and momentum at 0 whatever their gradient, also across mask changes.
@Suite struct SparseSGDTests {
    @Test(arguments: [(Float(0), false), (Float(0.9), false), (Float(0.9), true)])
    func keptOnlyUpdateMatchesFullUpdate(momentum: Float, nesterov: Bool) {
        var rng = RNG(seed: 8, stream: "sgd")
        func make() -> Parameter {
            let p = Parameter(name: "w", shape: [40, 30], prunable: true, kind: "linear")
            return p
        }
        let a = make(), b = make()
        for i in 0..<a.count { let v = rng.normal(); a.value[i] = v; b.value[i] = v }
        let full = SGD(momentum: momentum, weightDecay: 1e-3, nesterov: nesterov)
        full.kernels = .dense
        let kept = SGD(momentum: momentum, weightDecay: 1e-3, nesterov: nesterov)
        kept.kernels = .sparse
        func mask(_ keep: Double) -> Tensor {
            let m = Tensor(shape: [40, 30])
            for i in 0..<m.count { m[i] = Double(rng.uniform()) < keep ? 1 : 0 }
            return m
        }
        for step in 0..<12 {
            if step == 0 || step == 5 {
                let m = mask(step == 0 ? 0.3 : 0.1)
                // The second mask may keep entries the first pruned: they restart from 0.
                a.setMask(m)
                b.setMask(m.clone())
            }
            for i in 0..<a.count { let g = rng.normal(); a.grad[i] = g; b.grad[i] = g }
            full.step([a], lr: 0.1)
            kept.step([b], lr: 0.1)
            #expect(a.value.array == b.value.array, "step \(step): values")
            #expect(full.state(of: a).map(\.array) == kept.state(of: b).map(\.array), "step \(step): momentum")
            let m = b.mask!
            for i in 0..<b.count where m[i] == 0 {
                #expect(b.value[i] == 0)
                if let buf = kept.state(of: b).first { #expect(buf[i] == 0) }
            }
        }
        #expect(b.keptIndices.count == Int(Ops.sum(b.count, b.mask!.data)))
    }
}
