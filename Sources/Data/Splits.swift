import Tensor

/// The three sets of the evaluation protocol (SPEC §5): train on `train`, pick the
/// early-stop point on `validation`, report on `test`.
public struct Splits: Sendable {
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    /// The per-channel statistics the sets were standardised with (set by whoever normalised
    /// them): a network exported elsewhere needs them to see the inputs it was trained on.
    public var normalization: ChannelStatistics?

    public init(train: Dataset, validation: Dataset, test: Dataset) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// The dataset's own train/test split, holding out a seeded random
    /// `validationFraction` of the training set (rounded to whole samples) for validation.
    public static func standard(train: Dataset, test: Dataset, validationFraction: Double = 0.1,
                                seed: UInt64) throws -> Splits {
        guard validationFraction > 0, validationFraction < 1 else {
            throw DataError.invalid("validation fraction \(validationFraction) must be strictly between 0 and 1")
        }
        try checkCompatible(train, test)
        let n = train.count
        let nVal = Int((validationFraction * Double(n)).rounded())
        guard nVal > 0, nVal < n else {
            throw DataError.invalid("validation fraction \(validationFraction) of \(n) training samples leaves an empty train or validation set")
        }
        var rng = RNG(seed: seed, stream: "split")
        let perm = rng.permutation(n)
        let base = baseName(train.name)
        return Splits(train: train.subset(sorted(perm[nVal...]), name: base + "-train"),
                      validation: train.subset(sorted(perm[..<nVal]), name: base + "-validation"),
                      test: test)
    }

    /// The papers' protocol: pool train and test, then split at random into
    /// train / validation / test by `fractions` (each > 0, summing to 1).
    public static func pooled(train: Dataset, test: Dataset,
                              fractions: (train: Double, validation: Double, test: Double) = (0.6, 0.2, 0.2),
                              seed: UInt64) throws -> Splits {
        let f = [fractions.train, fractions.validation, fractions.test]
        guard f.allSatisfy({ $0 > 0 && $0 < 1 }), abs(f.reduce(0, +) - 1) < 1e-6 else {
            throw DataError.invalid("split fractions \(fractions) must each be in (0, 1) and sum to 1")
        }
        try checkCompatible(train, test)
        let n = train.count + test.count
        let nVal = Int((fractions.validation * Double(n)).rounded())
        let nTest = Int((fractions.test * Double(n)).rounded())
        let nTrain = n - nVal - nTest
        guard nVal > 0, nTest > 0, nTrain > 0 else {
            throw DataError.invalid("split fractions \(fractions) of \(n) samples leave an empty set")
        }
        let pool = Dataset(name: baseName(train.name), features: train.features + test.features,
                           labels: train.labels + test.labels, sampleShape: train.sampleShape, classes: train.classes)
        var rng = RNG(seed: seed, stream: "split")
        let perm = rng.permutation(n)
        let base = pool.name
        return Splits(train: pool.subset(sorted(perm[..<nTrain]), name: base + "-train"),
                      validation: pool.subset(sorted(perm[nTrain..<(nTrain + nVal)]), name: base + "-validation"),
                      test: pool.subset(sorted(perm[(nTrain + nVal)...]), name: base + "-test"))
    }

    /// Each part keeps the original sample order; batchers shuffle anyway, and sorted
    /// indices make the copies sequential in memory.
    private static func sorted(_ s: ArraySlice<Int>) -> [Int] { s.sorted() }

    private static func checkCompatible(_ a: Dataset, _ b: Dataset) throws {
        guard a.sampleShape == b.sampleShape, a.classes == b.classes else {
            throw DataError.invalid("\(a.name) (\(a.sampleShape), \(a.classes) classes) and \(b.name) (\(b.sampleShape), \(b.classes) classes) do not match")
        }
    }

    private static func baseName(_ name: String) -> String {
        name.hasSuffix("-train") ? String(name.dropLast(6)) : name
    }
}
