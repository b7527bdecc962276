/// Data: dataset readers (Fashion-MNIST IDX, CIFAR binary, synthetic), splits,
/// normalisation and seeded batching. Errors name the file at fault.
import Tensor

/// Labelled samples held in memory: `features` is `count x sampleShape.product`, row-major.
public struct Dataset: Sendable {
    /// `count * sampleSize` values, sample after sample.
    public var features: [Float]
    /// One class index per sample, in `0 ..< classes`.
    public var labels: [Int32]
    /// Shape of one sample, e.g. [1, 28, 28] or [3, 32, 32].
    public let sampleShape: [Int]
    /// Number of classes.
    public let classes: Int
    public var name: String

    /// A dataset over your own samples; `features.count` must be `labels.count * sampleShape.product`.
    public init(name: String, features: [Float], labels: [Int32], sampleShape: [Int], classes: Int) {
        precondition(features.count == labels.count * sampleShape.reduce(1, *), "features and labels disagree")
        self.name = name
        self.features = features
        self.labels = labels
        self.sampleShape = sampleShape
        self.classes = classes
    }

    /// Number of samples.
    public var count: Int { labels.count }
    /// Values per sample.
    public var sampleSize: Int { sampleShape.reduce(1, *) }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int], name: String? = nil) -> Dataset {
        let d = sampleSize
        var f = [Float](repeating: 0, count: indices.count * d)
        var l = [Int32](repeating: 0, count: indices.count)
        features.withUnsafeBufferPointer { src in
            f.withUnsafeMutableBufferPointer { dst in
                for (k, i) in indices.enumerated() {
                    dst.baseAddress!.advanced(by: k * d).update(from: src.baseAddress!.advanced(by: i * d), count: d)
                    l[k] = labels[i]
                }
            }
        }
        return Dataset(name: name ?? self.name, features: f, labels: l, sampleShape: sampleShape, classes: classes)
    }
}

/// Errors reading or preparing data; each names the file or value at fault.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case corrupt(file: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .missingFile(let f): return "dataset file not found: \(f)"
        case .corrupt(let f, let r): return "corrupt dataset file \(f): \(r)"
        case .invalid(let r): return r
        }
    }
}
