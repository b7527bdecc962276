/// Readers for the CIFAR-10 / CIFAR-100 "binary version" distributions: fixed-size
/// records of label byte(s) then 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
/// row-major), which is already the [3, 32, 32] channel-first layout used here.
enum CIFARBinary {
    static let pixels = 3 * 32 * 32
    static let recordsPerBatch = 10_000

    /// Finds the directory holding `marker`: `directory` itself or its usual subfolder.
    static func resolve(_ directory: String, subfolder: String, marker: String) -> String {
        if DataFile.exists(DataFile.join(directory, marker)) { return directory }
        let nested = DataFile.join(directory, subfolder)
        return DataFile.isDirectory(nested) ? nested : directory
    }

    /// Reads whole files of records into one dataset, taking the label at `labelOffset`
    /// within each record's `labelBytes` header. `expected[i]` is the record count
    /// file `i` must hold, or nil to accept any whole number of records.
    static func load(files: [String], expected: [Int?], labelBytes: Int, labelOffset: Int,
                     classes: Int, name: String) throws -> Dataset {
        let record = labelBytes + pixels
        var chunks: [[UInt8]] = []
        var total = 0
        for (path, want) in zip(files, expected) {
            // Gzipped copies are accepted too; a real record never starts with 0x1f
            // (31 is no CIFAR-10 label and no CIFAR-100 coarse label), so the magic is unambiguous.
            let bytes = try DataFile.read(path)
            guard bytes.count % record == 0 else {
                throw DataError.corrupt(file: path, reason: "\(bytes.count) bytes is not a whole number of \(record)-byte records (truncated?)")
            }
            let n = bytes.count / record
            if let want, n != want {
                throw DataError.corrupt(file: path, reason: "holds \(n) records, expected \(want)")
            }
            guard n > 0 else { throw DataError.corrupt(file: path, reason: "empty batch file") }
            chunks.append(bytes)
            total += n
        }

        var labels = [Int32](repeating: 0, count: total)
        var badLabel: (file: String, index: Int, value: UInt8)?
        let features = [Float](unsafeUninitializedCapacity: total * pixels) { dst, initialized in
            labels.withUnsafeMutableBufferPointer { lab in
                var sample = 0
                for (chunk, path) in zip(chunks, files) {
                    chunk.withUnsafeBufferPointer { src in
                        let n = src.count / record
                        for r in 0..<n {
                            let rec = src.baseAddress! + r * record
                            let label = rec[labelOffset]
                            if Int(label) >= classes, badLabel == nil { badLabel = (path, r, label) }
                            lab[sample] = Int32(label)
                            let out = dst.baseAddress! + sample * pixels
                            let px = rec + labelBytes
                            for i in 0..<pixels { (out + i).initialize(to: Float(px[i]) / 255) }
                            sample += 1
                        }
                    }
                }
            }
            initialized = total * pixels
        }
        if let bad = badLabel {
            throw DataError.corrupt(file: bad.file, reason: "label \(bad.value) in record \(bad.index) is not below \(classes)")
        }
        return Dataset(name: name, features: features, labels: labels, sampleShape: [3, 32, 32], classes: classes)
    }
}

/// CIFAR-10: 50,000 training images in data_batch_1...5.bin and 10,000 in test_batch.bin.
public enum CIFAR10 {
    public typealias Split = DataSplit

    /// `directory` may be the batch folder itself or one holding `cifar-10-batches-bin`.
    /// `checkRecordCounts: false` accepts batch files of any whole number of records
    /// (small fixtures in tests); the real distribution holds 10,000 per file.
    public static func load(directory: String, split: DataSplit, checkRecordCounts: Bool = true) throws -> Dataset {
        let dir = CIFARBinary.resolve(directory, subfolder: "cifar-10-batches-bin", marker: "test_batch.bin")
        let names = split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        let files = names.map { DataFile.join(dir, $0) }
        let expected: [Int?] = files.map { _ in checkRecordCounts ? CIFARBinary.recordsPerBatch : nil }
        return try CIFARBinary.load(files: files, expected: expected, labelBytes: 1, labelOffset: 0,
                                    classes: 10, name: "cifar10-\(split.rawValue)")
    }
}

/// CIFAR-100: train.bin (50,000) and test.bin (10,000); each record carries a coarse
/// (20-class) and a fine (100-class) label.
public enum CIFAR100 {
    public typealias Split = DataSplit

    /// `directory` may be the data folder itself or one holding `cifar-100-binary`.
    /// Fine labels (100 classes) unless `coarse` asks for the 20 superclasses.
    public static func load(directory: String, split: DataSplit, coarse: Bool = false,
                            checkRecordCounts: Bool = true) throws -> Dataset {
        let dir = CIFARBinary.resolve(directory, subfolder: "cifar-100-binary", marker: "test.bin")
        let file = DataFile.join(dir, split == .train ? "train.bin" : "test.bin")
        let want = checkRecordCounts ? (split == .train ? 50_000 : 10_000) : nil
        return try CIFARBinary.load(files: [file], expected: [want], labelBytes: 2, labelOffset: coarse ? 0 : 1,
                                    classes: coarse ? 20 : 100, name: "cifar100-\(split.rawValue)")
    }
}
