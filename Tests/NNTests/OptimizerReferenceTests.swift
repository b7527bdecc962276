import Testing
import NN
import Tensor

/// Three steps on a 3-entry parameter with fixed gradients, against values computed
/// from the PyTorch update formulas in Python (float64), written here as literals.
@Suite struct OptimizerReferenceTests {
    static let start: [Float] = [1, -2, 0.5]
    static let gradients: [[Float]] = [[0.1, -0.2, 0.3], [-0.4, 0.5, 0], [0.2, 0.2, -0.1]]

    /// Runs the three steps and checks the value after each against `expected`.
    func run(_ opt: any Optimizer, lr: Float, _ expected: [[Double]],
             sourceLocation: SourceLocation = #_sourceLocation) -> Parameter {
        let p = Parameter(name: "w", shape: [3], prunable: true, kind: "linear")
        for i in 0..<3 { p.value[i] = Self.start[i] }
        for (k, g) in Self.gradients.enumerated() {
            for i in 0..<3 { p.grad[i] = g[i] }
            opt.step([p], lr: lr)
            expectClose(p.value.array, expected[k], "step \(k + 1)", sourceLocation: sourceLocation)
        }
        return p
    }

    @Test func sgdPlain() {
        let opt = SGD()
        let p = run(opt, lr: 0.1, [[0.99, -1.98, 0.47], [1.03, -2.03, 0.47], [1.01, -2.05, 0.48]])
        #expect(opt.state(of: p).isEmpty)
    }

    @Test func sgdPlainWithWeightDecay() {
        _ = run(SGD(weightDecay: 0.01), lr: 0.1,
                [[0.989, -1.978, 0.4695], [1.028011, -2.026022, 0.4690305], [1.006982989, -2.043995978, 0.47856147]])
    }

    @Test func sgdMomentum() {
        let opt = SGD(momentum: 0.9)
        let p = run(opt, lr: 0.1, [[0.99, -1.98, 0.47], [1.021, -2.012, 0.443], [1.0289, -2.0608, 0.4287]])
        expectClose(opt.state(of: p)[0].array, [-0.079, 0.488, 0.143], "momentum buffer")
    }

    @Test func sgdNesterov() {
        let opt = SGD(momentum: 0.9, nesterov: true)
        let p = run(opt, lr: 0.1, [[0.981, -1.962, 0.443], [1.0489, -2.0408, 0.4187], [1.03601, -2.10472, 0.41583]])
        expectClose(opt.state(of: p)[0].array, [-0.079, 0.488, 0.143], "momentum buffer")
    }

    @Test func sgdMomentumWithWeightDecay() {
        let opt = SGD(momentum: 0.9, weightDecay: 0.01)
        let p = run(opt, lr: 0.1, [[0.989, -1.978, 0.4695], [1.018111, -2.006222, 0.4415805],
                                   [1.023292789, -2.049615578, 0.42601137]])
        expectClose(opt.state(of: p)[0].array, [-0.05181789, 0.43393578, 0.155691305], "momentum buffer")
    }

    @Test func adam() {
        let opt = Adam()
        let p = run(opt, lr: 0.1, [[0.90000001, -1.900000005, 0.400000003], [0.955950357, -1.94422153, 0.332994181],
                                   [0.966967723, -1.998515828, 0.304080646]])
        #expect(opt.stepCount(of: p) == 3)
        let s = opt.state(of: p)
        expectClose(s[0].array, [-0.0079, 0.0488, 0.0143], "first moment")
        expectClose(s[1].array, [0.00020982, 0.00032967, 9.982e-05], "second moment")
    }

    @Test func adamWithWeightDecay() {
        let opt = Adam(weightDecay: 0.1)
        let p = run(opt, lr: 0.1, [[0.900000005, -1.900000002, 0.400000003], [0.926225935, -1.892645493, 0.324974365],
                                   [0.902390847, -1.88831767, 0.280051171]])
        let s = opt.state(of: p)
        expectClose(s[0].array, [0.017562259, -0.003426455, 0.025199744], rel: 1e-4, "first moment")
        expectClose(s[1].array, [0.000221552, 0.000255799, 0.00012841], rel: 1e-4, "second moment")
        opt.reset()
        #expect(opt.state(of: p).isEmpty && opt.stepCount(of: p) == 0)
    }

    @Test func rmsProp() {
        let opt = RMSProp()
        let p = run(opt, lr: 0.01, [[0.9000001, -1.90000005, 0.400000033], [0.997042873, -1.992911801, 0.400000033],
                                    [0.953211155, -2.027902506, 0.431909843]])
        let s = opt.state(of: p)
        #expect(s.count == 1)
        expectClose(s[0].array, [0.00208201, 0.00326704, 0.00098209], rel: 1e-4, "square average")
    }

    @Test func rmsPropWithMomentumAndWeightDecay() {
        let opt = RMSProp(momentum: 0.9, weightDecay: 0.1)
        let p = run(opt, lr: 0.01, [[0.90000005, -1.900000025, 0.400000029], [0.894153492, -1.871449457, 0.298588938],
                                    [0.82692046, -1.848314122, 0.227034734]])
        let s = opt.state(of: p)
        #expect(s.count == 2)
        expectClose(s[0].array, [0.002181042, 0.002521203, 0.00126566], rel: 1e-4, "square average")
        expectClose(s[1].array, [6.723303199, -2.313533457, 7.155420359], rel: 1e-4, "momentum buffer")
    }
}
