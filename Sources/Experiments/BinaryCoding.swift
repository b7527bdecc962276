import Foundation

/// Little-endian writer for the checkpoint formats (`Checkpoint`, `CycleProgress`).
struct BinaryWriter {
    var data = Data()

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func bytes(_ d: Data) { u64(UInt64(d.count)); data.append(d) }
    mutating func floats(_ a: [Float]) {
        u64(UInt64(a.count))
        a.withUnsafeBytes { data.append(contentsOf: $0) }
    }
}

/// Reads what `BinaryWriter` wrote; every read past the end throws `bad("truncated")`.
struct BinaryReader {
    private let buffer: [UInt8]
    private var pos = 0
    private let bad: (String) -> Error

    init(_ data: Data, bad: @escaping (String) -> Error) {
        buffer = [UInt8](data)
        self.bad = bad
    }

    var atEnd: Bool { pos == buffer.count }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard pos + n <= buffer.count else { throw bad("truncated") }
        var v: T = 0
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: buffer[pos..<pos + n]) }
        pos += n
        return T(littleEndian: v)
    }

    mutating func raw(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= buffer.count - pos else { throw bad("truncated") }
        defer { pos += n }
        return Array(buffer[pos..<pos + n])
    }

    /// A length (u64) that must fit in what is left, `unit` bytes per element.
    mutating func count(unit: Int = 1) throws -> Int {
        let n = try read(UInt64.self)
        guard n <= UInt64(buffer.count - pos) / UInt64(max(1, unit)) else { throw bad("truncated") }
        return Int(n)
    }

    mutating func bytes() throws -> Data { Data(try raw(try count())) }

    mutating func floats() throws -> [Float] {
        let raw = try raw(try count(unit: 4) * 4)
        return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
