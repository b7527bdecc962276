/// Which of a dataset's own distributed parts to read.
public enum DataSplit: String, Sendable, CaseIterable {
    case train, test
}

/// Reader for the IDX format of MNIST and Fashion-MNIST (big-endian header, then raw bytes).
package enum IDX {
    package static let imagesMagic: UInt32 = 2051
    package static let labelsMagic: UInt32 = 2049

    /// Images as bytes, `count x rows x cols`, after checking the header against the file size.
    package static func readImages(_ path: String) throws -> (count: Int, rows: Int, cols: Int, pixels: [UInt8]) {
        let bytes = try DataFile.read(path)
        guard bytes.count >= 16 else {
            throw DataError.corrupt(file: path, reason: "\(bytes.count) bytes, shorter than the 16-byte image header")
        }
        let magic = word(bytes, 0)
        guard magic == imagesMagic else {
            throw DataError.corrupt(file: path, reason: "bad magic number \(magic), expected \(imagesMagic) for images")
        }
        let (n, rows, cols) = (Int(word(bytes, 4)), Int(word(bytes, 8)), Int(word(bytes, 12)))
        guard rows > 0, cols > 0 else {
            throw DataError.corrupt(file: path, reason: "image dimensions \(rows)x\(cols)")
        }
        // Header fields are < 2^32 each, so n*rows*cols could overflow Int only in theory; check anyway.
        let (pr, o1) = n.multipliedReportingOverflow(by: rows)
        let (expected, o2) = pr.multipliedReportingOverflow(by: cols)
        guard !o1, !o2, expected == bytes.count - 16 else {
            throw DataError.corrupt(file: path, reason: "header says \(n) images of \(rows)x\(cols) (\(n * rows * cols) bytes) but the file holds \(bytes.count - 16) data bytes")
        }
        return (n, rows, cols, Array(bytes[16...]))
    }

    /// Labels as bytes, after checking the header against the file size.
    package static func readLabels(_ path: String) throws -> [UInt8] {
        let bytes = try DataFile.read(path)
        guard bytes.count >= 8 else {
            throw DataError.corrupt(file: path, reason: "\(bytes.count) bytes, shorter than the 8-byte label header")
        }
        let magic = word(bytes, 0)
        guard magic == labelsMagic else {
            throw DataError.corrupt(file: path, reason: "bad magic number \(magic), expected \(labelsMagic) for labels")
        }
        let n = Int(word(bytes, 4))
        guard n == bytes.count - 8 else {
            throw DataError.corrupt(file: path, reason: "header says \(n) labels but the file holds \(bytes.count - 8)")
        }
        return Array(bytes[8...])
    }

    @inline(__always) static func word(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    /// Loads an MNIST-format pair of files from `directory` as a 10-class [1, rows, cols] dataset.
    /// Accepts the `.gz` names and the uncompressed ones.
    static func load(directory: String, split: DataSplit, name: String, rows: Int, cols: Int) throws -> Dataset {
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = try locate(directory, "\(prefix)-images", "idx3-ubyte")
        let labelsPath = try locate(directory, "\(prefix)-labels", "idx1-ubyte")
        let images = try readImages(imagesPath)
        guard images.rows == rows, images.cols == cols else {
            throw DataError.corrupt(file: imagesPath, reason: "images are \(images.rows)x\(images.cols), expected \(rows)x\(cols)")
        }
        let labelBytes = try readLabels(labelsPath)
        guard labelBytes.count == images.count else {
            throw DataError.corrupt(file: labelsPath, reason: "\(labelBytes.count) labels for \(images.count) images in \(imagesPath)")
        }
        if let bad = labelBytes.firstIndex(where: { $0 >= 10 }) {
            throw DataError.corrupt(file: labelsPath, reason: "label \(labelBytes[bad]) at index \(bad) is not below 10")
        }
        let features = bytesToUnitFloats(images.pixels)
        let labels = labelBytes.map { Int32($0) }
        return Dataset(name: "\(name)-\(split.rawValue)", features: features, labels: labels,
                       sampleShape: [1, rows, cols], classes: 10)
    }

    /// The gzipped name, the plain name, or the dotted variant some mirrors use.
    static func locate(_ directory: String, _ stem: String, _ kind: String) throws -> String {
        let base = stem + "-" + kind, dotted = stem + "." + kind
        let names = [base + ".gz", base, dotted + ".gz", dotted]
        if let found = DataFile.firstExisting(in: directory, names) { return found }
        throw DataError.missingFile(DataFile.join(directory, base + ".gz") + " (or without .gz)")
    }
}

/// Pixel bytes 0...255 to Float in [0, 1], without per-element appends. Divides
/// rather than multiplying by 1/255 so values match the usual `x / 255` exactly.
func bytesToUnitFloats(_ bytes: [UInt8]) -> [Float] {
    [Float](unsafeUninitializedCapacity: bytes.count) { dst, initialized in
        bytes.withUnsafeBufferPointer { src in
            for i in 0..<src.count { (dst.baseAddress! + i).initialize(to: Float(src[i]) / 255) }
        }
        initialized = bytes.count
    }
}

/// Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28x28 grey images, 10 classes.
public enum FashionMNIST {
    public typealias Split = DataSplit
    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// Reads one split from the IDX files (gzipped or not) in `directory`, pixels scaled to [0, 1].
    public static func load(directory: String = defaultDirectory, split: DataSplit) throws -> Dataset {
        try IDX.load(directory: directory, split: split, name: "fashion-mnist", rows: 28, cols: 28)
    }
}

/// MNIST digits: the same IDX files and layout as Fashion-MNIST.
public enum MNIST {
    public typealias Split = DataSplit

    public static func load(directory: String, split: DataSplit) throws -> Dataset {
        try IDX.load(directory: directory, split: split, name: "mnist", rows: 28, cols: 28)
    }
}
