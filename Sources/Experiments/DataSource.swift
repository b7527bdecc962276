import Data
import Foundation

/// Loads a named dataset and splits it as SPEC §5 says, normalised per channel with
/// the training split's statistics.
public enum DataSource {
    public static let names = ["fashion-mnist", "mnist", "cifar10", "cifar100", "synthetic"]

    /// Default directory of each dataset (Debian's package for Fashion-MNIST).
    public static func defaultDirectory(_ dataset: String) -> String {
        switch dataset {
        case "fashion-mnist": return FashionMNIST.defaultDirectory
        case "mnist": return "/usr/share/datasets/mnist"
        default: return "data/\(dataset)"
        }
    }

    /// `split` is "standard" (own train/test, `validationFraction` of train held out) or "60/20/20"
    /// (pooled, any "a/b/c" percentages summing to 100).
    public static func load(dataset: String, directory: String?, split: String,
                            validationFraction: Double, seed: UInt64) throws -> Splits {
        let dir = directory ?? defaultDirectory(dataset)
        let train: Dataset, test: Dataset
        switch dataset {
        case "fashion-mnist":
            train = try FashionMNIST.load(directory: dir, split: .train)
            test = try FashionMNIST.load(directory: dir, split: .test)
        case "mnist":
            train = try MNIST.load(directory: dir, split: .train)
            test = try MNIST.load(directory: dir, split: .test)
        case "cifar10":
            train = try CIFAR10.load(directory: dir, split: .train)
            test = try CIFAR10.load(directory: dir, split: .test)
        case "cifar100":
            train = try CIFAR100.load(directory: dir, split: .train)
            test = try CIFAR100.load(directory: dir, split: .test)
        case "synthetic":
            // Small and file-free: for tests, smoke runs and benchmarks. One draw, so train
            // and test share the class means.
            let all = Synthetic.classification(count: 5000, sampleShape: [1, 16, 16], classes: 10, seed: 7, name: "synthetic")
            train = all.subset(Array(0..<4000), name: "synthetic-train")
            test = all.subset(Array(4000..<5000), name: "synthetic-test")
        default:
            throw DataError.invalid("unknown dataset '\(dataset)' (known: \(names.joined(separator: ", ")))")
        }
        var splits: Splits
        if split == "standard" {
            splits = try Splits.standard(train: train, test: test, validationFraction: validationFraction, seed: seed)
        } else if let f = parseFractions(split) {
            splits = try Splits.pooled(train: train, test: test, fractions: f, seed: seed)
        } else {
            throw DataError.invalid("unknown split '\(split)' (use standard or train/val/test percentages such as 60/20/20)")
        }
        splits.normalization = splits.normalize()
        return splits
    }

    static func parseFractions(_ s: String) -> (train: Double, validation: Double, test: Double)? {
        let parts = s.split(separator: "/").compactMap { Double($0) }
        guard parts.count == 3, s.split(separator: "/").count == 3, abs(parts.reduce(0, +) - 100) < 1e-9 else { return nil }
        return (parts[0] / 100, parts[1] / 100, parts[2] / 100)
    }
}

extension Splits {
    /// "fashion-mnist: 54000 train / 6000 validation / 10000 test".
    public var summary: String {
        let base = train.name.replacingOccurrences(of: "-train", with: "")
        return "\(base): \(train.count) train / \(validation.count) validation / \(test.count) test"
    }
}
