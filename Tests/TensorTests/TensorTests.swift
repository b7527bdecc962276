import Testing
import Tensor

@Suite struct TensorTests {
    @Test func initialisers() {
        #expect(Tensor(shape: [2, 3]).array == Array(repeating: 0, count: 6))
        let t = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        #expect(t.shape == [2, 2] && t.count == 4 && t.rank == 2 && t[3] == 4)
        #expect(Tensor(shape: [3], repeating: 7).array == [7, 7, 7])
        let empty = Tensor(shape: [0, 5])
        #expect(empty.count == 0 && empty.array.isEmpty)
    }

    @Test func resizeReusesTheAllocationWhenItFits() {
        let t = Tensor(shape: [4, 3])
        let original = t.data
        t.resize([2, 3])
        #expect(t.shape == [2, 3] && t.count == 6 && t.capacity == 12 && t.data == original)
        t.resize([4, 3])
        #expect(t.data == original)
        t.resize([5, 3])
        #expect(t.count == 15 && t.capacity == 15)
        t.fill(1)
        #expect(t.array.allSatisfy { $0 == 1 })
    }

    @Test func reshapeKeepsTheElements() {
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        t.reshape([3, 2])
        #expect(t.shape == [3, 2] && t.array == [1, 2, 3, 4, 5, 6])
        t.reshape([6])
        #expect(t.rank == 1 && t.count == 6)
    }

    @Test func copyAndCloneAreIndependent() {
        let a = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        let b = Tensor(shape: [1])
        b.copy(from: a)
        #expect(b.shape == [2, 2] && b.array == a.array)
        let c = a.clone()
        a[0] = 100
        #expect(b[0] == 1 && c[0] == 1 && c.shape == [2, 2])
        a.zero()
        #expect(a.array == [0, 0, 0, 0] && c.array == [1, 2, 3, 4])
    }
}
