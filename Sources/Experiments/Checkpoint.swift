import Foundation
import NN
import Tensor

/// The state of one (schedule, seed) run after a finished cycle: every parameter's values
/// and mask, the layers' buffers (BatchNorm running statistics), plus the records so far. Optimizer state is not stored because every cycle
/// starts with a fresh optimizer, and batches come from per-cycle seeded streams, so these
/// values alone make a resumed run identical to an uninterrupted one.
struct Checkpoint {
    static let magic: UInt32 = 0x544F_5043  // "TOPC"
    static let version: UInt32 = 2

    var cycle: Int
    var recordsJSON: Data
    var tensors: [(name: String, values: [Float], mask: [Float]?)]
    var buffers: [[Float]]

    init(cycle: Int, recordsJSON: Data, parameters: [Parameter], buffers: [Tensor] = []) {
        self.cycle = cycle
        self.recordsJSON = recordsJSON
        tensors = parameters.map { ($0.name, $0.value.array, $0.mask?.array) }
        self.buffers = buffers.map(\.array)
    }

    func encoded() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func floats(_ a: [Float]) {
            u64(UInt64(a.count))
            a.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        u32(Self.magic); u32(Self.version)
        u64(UInt64(cycle))
        u64(UInt64(recordsJSON.count)); out.append(recordsJSON)
        u64(UInt64(tensors.count))
        for t in tensors {
            let name = Data(t.name.utf8)
            u64(UInt64(name.count)); out.append(name)
            floats(t.values)
            u32(t.mask == nil ? 0 : 1)
            if let m = t.mask { floats(m) }
        }
        u64(UInt64(buffers.count))
        for b in buffers { floats(b) }
        // A trailing checksum catches truncation and bit rot.
        u64(Self.checksum(out))
        return out
    }

    static func checksum(_ d: Data) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in d { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    static func decode(_ data: Data, file: String) throws -> Checkpoint {
        func bad(_ r: String) -> RunError { .corruptCheckpoint(file, reason: r) }
        guard data.count >= 8 + 8 + 8 else { throw bad("too short") }
        let body = data.prefix(data.count - 8)
        var pos = 0
        let bytes = [UInt8](data)
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let n = MemoryLayout<T>.size
            guard pos + n <= body.count else { throw bad("truncated") }
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[pos..<pos + n]) }
            pos += n
            return T(littleEndian: v)
        }
        func readBytes(_ n: Int) throws -> [UInt8] {
            guard n >= 0, pos + n <= body.count else { throw bad("truncated") }
            defer { pos += n }
            return Array(bytes[pos..<pos + n])
        }
        func readFloats() throws -> [Float] {
            let n = Int(try read(UInt64.self))
            let raw = try readBytes(n * 4)
            return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        var tail = 0 as UInt64
        withUnsafeMutableBytes(of: &tail) { $0.copyBytes(from: bytes[(data.count - 8)...]) }
        guard UInt64(littleEndian: tail) == checksum(Data(body)) else { throw bad("checksum mismatch (truncated or damaged)") }
        guard try read(UInt32.self) == magic else { throw bad("not a Topiary checkpoint") }
        guard try read(UInt32.self) == version else { throw bad("unsupported version") }
        let cycle = Int(try read(UInt64.self))
        let records = Data(try readBytes(Int(try read(UInt64.self))))
        let count = Int(try read(UInt64.self))
        var tensors: [(String, [Float], [Float]?)] = []
        for _ in 0..<count {
            let name = String(decoding: try readBytes(Int(try read(UInt64.self))), as: UTF8.self)
            let values = try readFloats()
            let mask = try read(UInt32.self) == 1 ? try readFloats() : nil
            tensors.append((name, values, mask))
        }
        let bufferCount = Int(try read(UInt64.self))
        var c = Checkpoint(cycle: cycle, recordsJSON: records, parameters: [])
        c.buffers = try (0..<bufferCount).map { _ in try readFloats() }
        c.tensors = tensors
        return c
    }

    /// Copies the stored values and masks into `parameters` (matched by position and name)
    /// and the stored buffers into `buffers`.
    func restore(into parameters: [Parameter], buffers targets: [Tensor] = [], file: String) throws {
        guard targets.count == buffers.count, zip(targets, buffers).allSatisfy({ $0.count == $1.count }) else {
            throw RunError.corruptCheckpoint(file, reason: "its buffers do not fit the model")
        }
        for (t, b) in zip(targets, buffers) where t.count > 0 {
            b.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
        guard parameters.count == tensors.count else {
            throw RunError.corruptCheckpoint(file, reason: "holds \(tensors.count) parameters, the model has \(parameters.count)")
        }
        for (p, t) in zip(parameters, tensors) {
            guard p.name == t.name, p.count == t.values.count else {
                throw RunError.corruptCheckpoint(file, reason: "parameter \(t.name) does not fit the model's \(p.name)")
            }
            t.values.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: p.count) }
            if let m = t.mask {
                guard m.count == p.count else { throw RunError.corruptCheckpoint(file, reason: "mask of \(t.name) has the wrong size") }
                p.setMask(Tensor(shape: p.value.shape, values: m))
            } else {
                p.removeMask()
            }
        }
    }
}
