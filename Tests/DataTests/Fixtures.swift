import Foundation
@testable import Data

/// A fresh directory under the system temp folder, removed by `cleanup()`.
struct TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "topiary-data-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws {
        let data = gzip ? try Gzip.compress(bytes) : bytes
        try Data(data).write(to: URL(fileURLWithPath: file(name)))
    }

    func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: file(name), withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}

/// An IDX image file; pixel (n, i) is (n * 7 + i) mod 256 so values are checkable.
func idxImages(count: Int, rows: Int = 28, cols: Int = 28, magic: UInt32 = 2051, headerCount: Int? = nil) -> [UInt8] {
    var b = bigEndian(magic) + bigEndian(UInt32(headerCount ?? count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(cols))
    for n in 0..<count { for i in 0..<(rows * cols) { b.append(UInt8((n * 7 + i) % 256)) } }
    return b
}

func idxLabels(_ labels: [UInt8], magic: UInt32 = 2049, headerCount: Int? = nil) -> [UInt8] {
    bigEndian(magic) + bigEndian(UInt32(headerCount ?? labels.count)) + labels
}

/// CIFAR records: `labelBytes` header bytes, then 3072 pixels where pixel i of record r is (r + i) mod 256.
func cifarRecords(labels: [[UInt8]]) -> [UInt8] {
    var b: [UInt8] = []
    for (r, head) in labels.enumerated() {
        b += head
        for i in 0..<3072 { b.append(UInt8((r + i) % 256)) }
    }
    return b
}

/// The DataError thrown by `body`, or nil when it throws none (or another type).
func dataError(_ body: () throws -> Void) -> DataError? {
    do { try body(); return nil } catch let e as DataError { return e } catch { return nil }
}

extension DataError {
    var isMissingFile: Bool { if case .missingFile = self { return true }; return false }
    var isInvalid: Bool { if case .invalid = self { return true }; return false }
    /// The file and reason of a `.corrupt` error.
    var corrupt: (file: String, reason: String)? {
        if case .corrupt(let f, let r) = self { return (f, r) }
        return nil
    }
}
