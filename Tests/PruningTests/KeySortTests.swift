import Testing
import Tensor
@testable import Pruning

/// The radix sort behind LAMP must order exactly as a comparison sort does.
@Suite struct KeySortTests {
    @Test(arguments: [0, 1, 2, 3, 1000, 65_535, 65_536, 70_000])
    func radixSortMatchesTheStandardSort(count: Int) {
        var rng = RNG(seed: 7, stream: "keys")
        // Scores with many repeats in the high bits (small integers), unique positions below.
        var keys = (0..<count).map { i in LowestSelection.key(Float(rng.below(50)) / 8, i) }
        keys.shuffle(using: &rng)
        let expected = keys.sorted()
        LowestSelection.sort(&keys)
        #expect(keys == expected)
    }

    @Test func radixSortHandlesEveryDigitPosition() {
        var rng = RNG(seed: 8, stream: "wide keys")
        var keys = (0..<5000).map { _ in rng.next() }
        let expected = keys.sorted()
        LowestSelection.sort(&keys)
        #expect(keys == expected)
    }
}
