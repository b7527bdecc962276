import Foundation
import NN
import Tensor

/// The state of one (schedule, seed) run: every parameter's values and mask, the layers'
/// buffers (BatchNorm running statistics) and the records of the finished cycles.
///
/// Two kinds share the file `checkpoints/SCHEDULE--seedN.ckpt`:
/// - at a cycle boundary (after cycle `cycle` finished): no optimizer state is needed because
///   every cycle starts with a fresh optimizer, and batches come from per-cycle seeded streams;
/// - mid-cycle (`midCycle` set; written when a signal stops a unit): the tensors are the
///   weights at the iteration it stopped after, and `midCycle` holds the rest of the cycle's
///   state (`CycleProgress`); `cycle` is still the last finished one (-1 during dense training).
/// The next cycle-boundary checkpoint replaces a mid-cycle one, so the file always holds the
/// latest state. Version 2 files (cycle boundaries only) are still read.
struct Checkpoint {
    static let magic: UInt32 = 0x544F_5043  // "TOPC"
    static let version: UInt32 = 3

    var cycle: Int
    var recordsJSON: Data
    var tensors: [(name: String, values: [Float], mask: [Float]?)]
    var buffers: [[Float]]
    /// The encoded `CycleProgress` of a mid-cycle checkpoint.
    var midCycle: Data?

    init(cycle: Int, recordsJSON: Data, parameters: [Parameter], buffers: [Tensor] = [], midCycle: Data? = nil) {
        self.cycle = cycle
        self.recordsJSON = recordsJSON
        tensors = parameters.map { ($0.name, $0.value.array, $0.mask?.array) }
        self.buffers = buffers.map(\.array)
        self.midCycle = midCycle
    }

    func encoded() -> Data {
        var w = BinaryWriter()
        w.u32(Self.magic); w.u32(Self.version)
        w.u64(UInt64(bitPattern: Int64(cycle)))
        w.bytes(recordsJSON)
        w.u64(UInt64(tensors.count))
        for t in tensors {
            w.bytes(Data(t.name.utf8))
            w.floats(t.values)
            w.u32(t.mask == nil ? 0 : 1)
            if let m = t.mask { w.floats(m) }
        }
        w.u64(UInt64(buffers.count))
        for b in buffers { w.floats(b) }
        w.u32(midCycle == nil ? 0 : 1)
        if let midCycle { w.bytes(midCycle) }
        // A trailing checksum catches truncation and bit rot.
        w.u64(Self.checksum(w.data))
        return w.data
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
        var tail = 0 as UInt64
        withUnsafeMutableBytes(of: &tail) { $0.copyBytes(from: data.suffix(8)) }
        guard UInt64(littleEndian: tail) == checksum(body) else { throw bad("checksum mismatch (truncated or damaged)") }
        var r = BinaryReader(body, bad: bad)
        guard try r.read(UInt32.self) == magic else { throw bad("not a Topiary checkpoint") }
        let version = try r.read(UInt32.self)
        guard version == 2 || version == 3 else { throw bad("unsupported version \(version) (this topiary reads 2 and 3)") }
        let cycle = Int(Int64(bitPattern: try r.read(UInt64.self)))
        let records = try r.bytes()
        let count = try r.count()
        var tensors: [(String, [Float], [Float]?)] = []
        for _ in 0..<count {
            let name = String(decoding: try r.bytes(), as: UTF8.self)
            let values = try r.floats()
            let mask = try r.read(UInt32.self) == 1 ? try r.floats() : nil
            tensors.append((name, values, mask))
        }
        var c = Checkpoint(cycle: cycle, recordsJSON: records, parameters: [])
        c.buffers = try (0..<(try r.count())).map { _ in try r.floats() }
        c.tensors = tensors
        if version >= 3, try r.read(UInt32.self) == 1 { c.midCycle = try r.bytes() }
        guard r.atEnd else { throw bad("trailing bytes") }
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
