import Foundation
import Testing
@testable import Data

@Suite struct GzipTests {
    @Test func roundTripAndPlainPassThrough() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        let bytes: [UInt8] = (0..<100_000).map { (i: Int) -> UInt8 in UInt8((i * 31 + i / 7) % 256) }
        try dir.write("a.gz", bytes, gzip: true)
        try dir.write("a", bytes)
        #expect(try DataFile.read(dir.file("a.gz")) == bytes)
        #expect(try DataFile.read(dir.file("a")) == bytes)
        #expect(try DataFile.readRaw(dir.file("a.gz")) != bytes)
    }

    @Test func concatenatedMembers() throws {
        let a: [UInt8] = Array(repeating: 1, count: 5000), b: [UInt8] = Array(0..<200)
        let joined = try Gzip.compress(a) + Gzip.compress(b)
        #expect(try Gzip.decompress(joined) == a + b)
    }

    @Test func errors() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        #expect(dataError { _ = try DataFile.read(dir.file("nope")) } == .missingFile(dir.file("nope")))
        #expect(dataError { _ = try DataFile.read(dir.path) }?.corrupt?.file == dir.path)

        let gz = try Gzip.compress((0..<50_000).map { UInt8($0 % 251) })
        try dir.write("trunc.gz", Array(gz.prefix(gz.count / 2)))
        let t = dataError { _ = try DataFile.read(dir.file("trunc.gz")) }?.corrupt
        #expect(t?.file == dir.file("trunc.gz"))
        #expect(t?.reason.contains("truncated") == true)

        var bad = gz
        for i in 20..<60 { bad[i] ^= 0xFF }
        try dir.write("bad.gz", bad)
        #expect(dataError { _ = try DataFile.read(dir.file("bad.gz")) }?.corrupt?.file == dir.file("bad.gz"))

        // Trailer missing only (size/CRC): still truncated, not silently accepted.
        try dir.write("notrailer.gz", Array(gz.dropLast(8)))
        #expect(dataError { _ = try DataFile.read(dir.file("notrailer.gz")) }?.corrupt != nil)
    }
}

@Suite struct IDXTests {
    func writePair(_ dir: TempDir, prefix: String = "train", count: Int = 5, gzip: Bool) throws {
        let ext = gzip ? ".gz" : ""
        try dir.write("\(prefix)-images-idx3-ubyte\(ext)", idxImages(count: count), gzip: gzip)
        try dir.write("\(prefix)-labels-idx1-ubyte\(ext)", idxLabels((0..<count).map { UInt8($0 % 10) }), gzip: gzip)
    }

    @Test(arguments: [true, false]) func readsValuesShapesLabels(gzip: Bool) throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try writePair(dir, prefix: "t10k", count: 12, gzip: gzip)
        let ds = try FashionMNIST.load(directory: dir.path, split: .test)
        #expect(ds.count == 12)
        #expect(ds.sampleShape == [1, 28, 28])
        #expect(ds.classes == 10)
        #expect(ds.labels == (0..<12).map { Int32($0 % 10) })
        #expect(ds.features.count == 12 * 784)
        for (n, i) in [(0, 0), (3, 100), (11, 783)] {
            #expect(ds.features[n * 784 + i] == Float((n * 7 + i) % 256) / 255)
        }
        #expect(ds.features.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(ds.name == "fashion-mnist-test")
        #expect(try MNIST.load(directory: dir.path, split: .test).labels == ds.labels)
    }

    @Test func corruptFiles() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        let images = dir.file("train-images-idx3-ubyte"), labels = dir.file("train-labels-idx1-ubyte")
        func load() -> DataError? { dataError { _ = try FashionMNIST.load(directory: dir.path, split: .train) } }
        func expectCorrupt(_ file: String, _ phrase: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let e = load()?.corrupt
            #expect(e?.file == file, sourceLocation: sourceLocation)
            #expect(e?.reason.contains(phrase) == true, "\(String(describing: e))", sourceLocation: sourceLocation)
        }
        let goodLabels = idxLabels([1, 2, 3, 4])

        #expect(load()?.isMissingFile == true)
        try dir.write("train-images-idx3-ubyte", idxImages(count: 4))
        #expect(load() == .missingFile(dir.file("train-labels-idx1-ubyte.gz") + " (or without .gz)"))

        try dir.write("train-labels-idx1-ubyte", goodLabels)
        #expect(load() == nil)

        try dir.write("train-images-idx3-ubyte", idxImages(count: 4, magic: 2049))
        expectCorrupt(images, "magic")
        try dir.write("train-images-idx3-ubyte", Array(idxImages(count: 4).dropLast(1)))
        expectCorrupt(images, "data bytes")
        try dir.write("train-images-idx3-ubyte", idxImages(count: 4) + [0])
        expectCorrupt(images, "data bytes")
        try dir.write("train-images-idx3-ubyte", idxImages(count: 4, headerCount: 5))
        expectCorrupt(images, "data bytes")
        try dir.write("train-images-idx3-ubyte", Array(idxImages(count: 1).prefix(10)))
        expectCorrupt(images, "header")
        try dir.write("train-images-idx3-ubyte", idxImages(count: 4, rows: 14, cols: 56))
        expectCorrupt(images, "expected 28x28")
        try dir.write("train-images-idx3-ubyte", idxImages(count: 4))

        try dir.write("train-labels-idx1-ubyte", idxLabels([1, 2, 3, 4], magic: 2051))
        expectCorrupt(labels, "magic")
        try dir.write("train-labels-idx1-ubyte", idxLabels([1, 2, 3, 4], headerCount: 5))
        expectCorrupt(labels, "header says 5")
        try dir.write("train-labels-idx1-ubyte", idxLabels([1, 2, 3]))
        expectCorrupt(labels, "3 labels for 4 images")
        try dir.write("train-labels-idx1-ubyte", idxLabels([1, 2, 10, 4]))
        expectCorrupt(labels, "label 10")

        // A truncated gzip fixture is reported against the .gz file.
        try dir.write("train-labels-idx1-ubyte", goodLabels)
        let gz = try Gzip.compress(idxImages(count: 4))
        try dir.write("train-images-idx3-ubyte.gz", Array(gz.prefix(gz.count - 20)))
        expectCorrupt(images + ".gz", "truncated")
    }

    @Test func realFashionMNISTTestSplit() throws {
        let dir = FashionMNIST.defaultDirectory
        guard FileManager.default.fileExists(atPath: dir + "/t10k-labels-idx1-ubyte.gz") else { return }
        let ds = try FashionMNIST.load(split: .test)
        #expect(ds.count == 10_000)
        #expect(ds.features.count == 10_000 * 784)
        var histogram = [Int](repeating: 0, count: 10)
        for l in ds.labels { histogram[Int(l)] += 1 }
        #expect(histogram == [Int](repeating: 1000, count: 10))
        let mean = ds.features.reduce(0, +) / Float(ds.features.count)
        #expect(mean > 0.2 && mean < 0.4)  // Fashion-MNIST's pixel mean is about 0.286
    }
}

@Suite struct CIFARTests {
    @Test func cifar10ValuesAndSubfolder() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try dir.mkdir("cifar-10-batches-bin")
        for b in 1...5 {
            try dir.write("cifar-10-batches-bin/data_batch_\(b).bin", cifarRecords(labels: [[UInt8(b)], [UInt8(9 - b)]]))
        }
        try dir.write("cifar-10-batches-bin/test_batch.bin", cifarRecords(labels: [[7], [0], [3]]))

        let train = try CIFAR10.load(directory: dir.path, split: .train, checkRecordCounts: false)
        #expect(train.count == 10)
        #expect(train.sampleShape == [3, 32, 32] && train.classes == 10)
        #expect(train.labels == [1, 8, 2, 7, 3, 6, 4, 5, 5, 4])
        let test = try CIFAR10.load(directory: dir.path + "/cifar-10-batches-bin", split: .test, checkRecordCounts: false)
        #expect(test.labels == [7, 0, 3])
        // Record r, pixel i holds (r + i) % 256: channel-first layout kept as stored.
        for (r, i) in [(0, 0), (1, 1024), (2, 3071), (2, 2048 + 5)] {
            #expect(test.features[r * 3072 + i] == Float((r + i) % 256) / 255)
        }

        // The real distribution's 10,000 records per file are enforced by default.
        let e = dataError { _ = try CIFAR10.load(directory: dir.path, split: .test) }?.corrupt
        #expect(e?.file == dir.file("cifar-10-batches-bin/test_batch.bin"))
        #expect(e?.reason.contains("expected 10000") == true)
    }

    @Test func cifar10Errors() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        for b in 1...4 { try dir.write("data_batch_\(b).bin", cifarRecords(labels: [[1]])) }
        try dir.write("test_batch.bin", cifarRecords(labels: [[1]]))
        #expect(dataError { _ = try CIFAR10.load(directory: dir.path, split: .train, checkRecordCounts: false) }
                == .missingFile(dir.file("data_batch_5.bin")))

        try dir.write("data_batch_5.bin", Array(cifarRecords(labels: [[1], [2]]).dropLast(100)))
        let e = dataError { _ = try CIFAR10.load(directory: dir.path, split: .train, checkRecordCounts: false) }?.corrupt
        #expect(e?.file == dir.file("data_batch_5.bin"))
        #expect(e?.reason.contains("3073-byte records") == true)

        try dir.write("data_batch_5.bin", cifarRecords(labels: [[1], [10]]))
        let l = dataError { _ = try CIFAR10.load(directory: dir.path, split: .train, checkRecordCounts: false) }?.corrupt
        #expect(l?.file == dir.file("data_batch_5.bin"))
        #expect(l?.reason.contains("label 10 in record 1") == true)

        try dir.write("test_batch.bin", [])
        #expect(dataError { _ = try CIFAR10.load(directory: dir.path, split: .test, checkRecordCounts: false) }?.corrupt != nil)
    }

    @Test func cifar100FineAndCoarse() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try dir.mkdir("cifar-100-binary")
        try dir.write("cifar-100-binary/train.bin", cifarRecords(labels: [[3, 99], [19, 0], [0, 42]]))
        let fine = try CIFAR100.load(directory: dir.path, split: .train, checkRecordCounts: false)
        #expect(fine.labels == [99, 0, 42] && fine.classes == 100 && fine.sampleShape == [3, 32, 32])
        #expect(fine.features[1 * 3072 + 10] == Float(11) / 255)
        let coarse = try CIFAR100.load(directory: dir.path, split: .train, coarse: true, checkRecordCounts: false)
        #expect(coarse.labels == [3, 19, 0] && coarse.classes == 20)

        // Neither folder holds test.bin: the error names the path in the distribution's subfolder.
        #expect(dataError { _ = try CIFAR100.load(directory: dir.path, split: .test) }
                == .missingFile(dir.file("cifar-100-binary/test.bin")))
        try dir.write("cifar-100-binary/test.bin", Array(cifarRecords(labels: [[1, 1]]).dropLast(1)))
        let e = dataError { _ = try CIFAR100.load(directory: dir.path, split: .test, checkRecordCounts: false) }?.corrupt
        #expect(e?.file == dir.file("cifar-100-binary/test.bin"))
        #expect(e?.reason.contains("3074-byte records") == true)
        let strict = dataError { _ = try CIFAR100.load(directory: dir.path, split: .train) }?.corrupt
        #expect(strict?.reason.contains("expected 50000") == true)
    }
}
