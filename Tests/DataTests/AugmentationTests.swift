import Testing
import Tensor
@testable import Data

struct AugmentationTests {
    /// A 1x3x3 sample 1...9 and the result of one augmentation drawn from `seed`.
    private func augmented(padding: Int, seed: UInt64) -> [Float] {
        let aug = CropAndFlip(sampleShape: [1, 3, 3], padding: padding)
        let x = Tensor(shape: [9], values: (1...9).map(Float.init))
        let scratch = Tensor(shape: [9])
        var rng = RNG(seed: seed)
        aug.apply(x.data, scratch: scratch.data, rng: &rng)
        return x.array
    }

    @Test func withoutPaddingItIsIdentityOrMirror() {
        for seed in 0..<20 as Range<UInt64> {
            let y = augmented(padding: 0, seed: seed)
            #expect(y == [1, 2, 3, 4, 5, 6, 7, 8, 9] || y == [3, 2, 1, 6, 5, 4, 9, 8, 7])
        }
    }

    @Test func cropsShiftContentAndPadWithZeros() {
        var sawShift = false
        for seed in 0..<50 as Range<UInt64> {
            let y = augmented(padding: 1, seed: seed)
            // Every value is a pixel of the sample or padding, and a shifted crop shows zeros.
            #expect(y.allSatisfy { $0 == 0 || (1...9).contains(Int($0)) })
            if y.contains(0) { sawShift = true }
            // The centre pixel 5 moves at most one place.
            if let i = y.firstIndex(of: 5) { #expect(abs(i / 3 - 1) <= 1 && abs(i % 3 - 1) <= 1) }
        }
        #expect(sawShift)
    }

    @Test func sameSeedSameAugmentation() {
        #expect(augmented(padding: 4, seed: 3) == augmented(padding: 4, seed: 3))
    }
}
