import Testing
import Tensor

@Suite struct OpsTests {
    @Test func elementwiseAndReductions() {
        let x = Tensor(shape: [4], values: [1, -2, 3, 0.5])
        let y = Tensor(shape: [4], values: [2, 2, 2, 2])
        Ops.axpy(4, 0.5, x.data, y.data)
        #expect(y.array == [2.5, 1, 3.5, 2.25])
        Ops.scale(4, -2, y.data)
        #expect(y.array == [-5, -2, -7, -4.5])
        #expect(Ops.sum(4, x.data) == 2.5)
        // `data` is a raw pointer: the tensor must outlive the call.
        let z = Tensor(shape: [4], values: [1, 1, 2, 4])
        withExtendedLifetime(z) { #expect(Ops.dot(4, x.data, z.data) == 7) }
        #expect(Ops.sum(0, x.data) == 0)
    }

    @Test func rowVectorsAndColumnSums() {
        let m = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let bias = Tensor(shape: [3], values: [10, 20, 30])
        withExtendedLifetime(bias) { Ops.addRowVector(2, 3, bias.data, m.data) }
        #expect(m.array == [11, 22, 33, 14, 25, 36])
        let out = Tensor(shape: [3], repeating: 100)
        Ops.sumRows(2, 3, m.data, into: out.data, accumulate: false)
        #expect(out.array == [25, 47, 69])
        Ops.sumRows(2, 3, m.data, into: out.data, accumulate: true)
        #expect(out.array == [50, 94, 138])
    }

    @Test func argmaxRowsTakesTheFirstOfTies() {
        let x = Tensor(shape: [3, 3], values: [0, 5, 1, 7, 7, 2, -3, -2, -1])
        #expect(Ops.argmaxRows(x) == [1, 0, 2])
    }
}

@Suite struct SoftmaxCrossEntropyTests {
    @Test func lossGradientAndCorrectCount() {
        let logits = Tensor(shape: [3, 3], values: [1, 2, 3, 0, 0, 0, -1, 0.5, 4])
        let labels: [Int32] = [2, 1, 0]
        let grad = Tensor(shape: [0])
        let (loss, correct) = labels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad)
        }
        // Mean of log-sum-exp minus the label's logit, computed in Python.
        #expect(abs(loss - 2.1808292727) < 1e-5)
        // Row 1 ties: argmax takes column 0, not the label 1.
        #expect(correct == 1)
        #expect(grad.shape == [3, 3])
        let expected: [Float] = [0.0300101911, 0.0815761570, -0.1115863481,
                                 0.1111111111, -0.2222222222, 0.1111111111,
                                 -0.3311673522, 0.0097072538, 0.3214600984]
        for (g, e) in zip(grad.array, expected) { #expect(abs(g - e) < 1e-6) }
    }

    @Test func largeLogitsStayFinite() {
        let logits = Tensor(shape: [1, 2], values: [1000, 0])
        let labels: [Int32] = [1]
        let (loss, correct) = labels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: nil)
        }
        #expect(loss == 1000 && correct == 0)
    }
}
