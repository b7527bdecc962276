import Testing
import NN
import Tensor

/// SPEC §1: a pruned weight is 0 in every forward pass, receives no update and leaves
/// no trace in optimizer state. Checked after every step of long training runs.
@Suite struct MaskInvariantTests {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sgd, sgdMomentum, sgdNesterov, adam, rmsProp, rmsPropMomentum

        // Weight decay is on everywhere: it is the term that would pull a masked weight
        // (or its state) away from zero if the mask were applied carelessly.
        func make() -> any Optimizer {
            switch self {
            case .sgd: SGD(weightDecay: 1e-3)
            case .sgdMomentum: SGD(momentum: 0.9, weightDecay: 1e-3)
            case .sgdNesterov: SGD(momentum: 0.9, weightDecay: 1e-3, nesterov: true)
            case .adam: Adam(weightDecay: 1e-3)
            case .rmsProp: RMSProp(weightDecay: 1e-3)
            case .rmsPropMomentum: RMSProp(momentum: 0.9, weightDecay: 1e-3)
            }
        }

        var lr: Float {
            switch self {
            case .sgd, .sgdMomentum, .sgdNesterov: 0.05
            case .adam, .rmsProp, .rmsPropMomentum: 1e-3
            }
        }

        var testDescription: String { rawValue }
    }

    /// A Linear+ReLU+Linear classifier with random data and labels it can memorise.
    final class Fixture {
        let net: Sequential
        let x: Tensor
        let labels: [Int32]
        let grad = Tensor(shape: [0])
        var rng: RNG

        init(seed: UInt64) {
            var r = RNG(seed: seed)
            net = Sequential([Linear(8, 16, name: "l1", rng: &r), ReLU(), Linear(16, 4, name: "l2", rng: &r)])
            x = randomTensor([32, 8], &r)
            labels = (0..<32).map { _ in Int32(r.below(4)) }
            rng = r
        }

        var weights: [Parameter] { net.parameters.filter(\.prunable) }

        func maskHalfOfTheWeights() {
            for w in weights {
                let m = Tensor(shape: w.value.shape)
                for i in 0..<m.count { m[i] = rng.uniform() < 0.5 ? 0 : 1 }
                w.setMask(m)
            }
        }

        /// One training step; returns the loss before the update.
        @discardableResult
        func step(_ opt: any Optimizer, lr: Float) -> Float {
            for p in net.parameters { p.grad.zero() }
            let logits = net.forward(x, training: true)
            let loss = labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad).loss
            }
            _ = net.backward(grad)
            opt.step(net.parameters, lr: lr)
            return loss
        }

        /// Number of masked entries whose value or optimizer state is not exactly 0.
        func violations(_ opt: any Optimizer) -> Int {
            var bad = 0
            for w in weights {
                guard let m = w.mask else { continue }
                let state = opt.state(of: w)
                for i in 0..<w.count where m[i] == 0 {
                    if w.value[i] != 0 { bad += 1 }
                    for s in state where s[i] != 0 { bad += 1 }
                }
            }
            return bad
        }
    }

    @Test(arguments: Kind.allCases)
    func maskedEntriesStayZeroThroughTraining(_ kind: Kind) {
        let f = Fixture(seed: 42)
        f.maskHalfOfTheWeights()
        let opt = kind.make()
        let before = f.weights.map { $0.value.clone() }
        let firstLoss = f.step(opt, lr: kind.lr)
        var lastLoss = firstLoss
        var badSteps = 0
        for _ in 0..<2000 {
            if f.violations(opt) != 0 { badSteps += 1 }
            lastLoss = f.step(opt, lr: kind.lr)
        }
        if f.violations(opt) != 0 { badSteps += 1 }
        #expect(badSteps == 0)
        #expect(lastLoss.isFinite && lastLoss < firstLoss, "loss \(firstLoss) → \(lastLoss)")

        // Every state tensor exists and the unmasked weights all moved.
        for (w, w0) in zip(f.weights, before) {
            let m = w.mask!
            var kept = 0, unmoved = 0
            for i in 0..<w.count where m[i] != 0 {
                kept += 1
                if w.value[i] == w0[i] { unmoved += 1 }
            }
            #expect(kept > w.count / 4 && kept < 3 * w.count / 4)
            #expect(unmoved == 0, "\(w.name): \(unmoved) of \(kept) unmasked weights did not move")
        }
    }

    @Test(arguments: Kind.allCases)
    func maskInstalledAfterMomentumHasBuiltUp(_ kind: Kind) {
        let f = Fixture(seed: 7)
        let opt = kind.make()
        for _ in 0..<200 { f.step(opt, lr: kind.lr) }
        if case .sgd = kind {} else {
            // The state is really there before the mask arrives, so wiping it is tested.
            let live = f.weights.flatMap { opt.state(of: $0) }.contains { t in t.array.contains { $0 != 0 } }
            #expect(live)
        }
        f.maskHalfOfTheWeights()
        var badSteps = 0
        for _ in 0..<300 {
            f.step(opt, lr: kind.lr)
            if f.violations(opt) != 0 { badSteps += 1 }
        }
        #expect(badSteps == 0)
    }

    @Test(arguments: Kind.allCases)
    func nonFiniteGradientsAtMaskedEntriesDoNotLeak(_ kind: Kind) {
        let p = Parameter(name: "w", shape: [4], prunable: true, kind: "linear")
        for i in 0..<4 { p.value[i] = Float(i + 1) }
        p.setMask(Tensor(shape: [4], values: [1, 0, 1, 0]))
        let opt = kind.make()
        for _ in 0..<3 {
            p.grad[0] = 0.5; p.grad[1] = .nan; p.grad[2] = -0.5; p.grad[3] = .infinity
            opt.step([p], lr: kind.lr)
        }
        #expect(p.value[1] == 0 && p.value[3] == 0)
        #expect(p.value[0].isFinite && p.value[0] != 1 && p.value[2].isFinite && p.value[2] != 3)
        for s in opt.state(of: p) { #expect(s[1] == 0 && s[3] == 0) }
    }
}
