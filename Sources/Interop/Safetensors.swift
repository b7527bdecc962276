/// Interop: the `safetensors` weight format PyTorch users exchange, and the PyTorch
/// `state_dict()` names of Topiary's models, so a network can leave Topiary (export) and
/// one trained elsewhere can come in (import). Depends only on Tensor and NN.
import Foundation
import Tensor

/// Element types a file may store. Topiary writes F32 (and I64 for BatchNorm's
/// `num_batches_tracked`, whose PyTorch type it is) and reads any of these into `Float`.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64"

    public var byteSize: Int {
        switch self {
        case .f16, .bf16: return 2
        case .f32: return 4
        case .f64, .i64: return 8
        }
    }

    /// Whether values are floating point (a parameter must be one of these).
    public var isFloatingPoint: Bool { self != .i64 }
}

/// Why a file cannot be read; each case names the file part at fault.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case tooShort(bytes: Int)
    case headerLength(Int, available: Int)
    case headerTooLarge(Int)
    case headerSyntax(String)
    case headerStructure(String)
    case unknownDType(tensor: String, dtype: String)
    case badShape(tensor: String)
    case byteLength(tensor: String, expected: Int, actual: Int)
    case duplicateName(String)
    case layout(String)
    case noSuchTensor(String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read \(p): \(r)"
        case .tooShort(let n): return "not a safetensors file: \(n) bytes, fewer than the 8-byte header length"
        case .headerLength(let n, let a):
            return "not a safetensors file: header length \(n) exceeds the \(a) bytes that follow it"
        case .headerTooLarge(let n):
            return "not a safetensors file: header length \(n) is over the \(Safetensors.maximumHeaderLength)-byte limit"
        case .headerSyntax(let r): return "malformed safetensors header: \(r)"
        case .headerStructure(let r): return "invalid safetensors header: \(r)"
        case .unknownDType(let t, let d):
            return "tensor '\(t)' has dtype '\(d)' (readable: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .badShape(let t): return "tensor '\(t)' has an invalid or overflowing shape"
        case .byteLength(let t, let e, let a):
            return "tensor '\(t)' spans \(a) bytes but its shape and dtype need \(e)"
        case .duplicateName(let n): return "tensor name '\(n)' appears twice in the header"
        case .layout(let r): return "invalid safetensors data layout: \(r)"
        case .noSuchTensor(let n): return "no tensor named '\(n)' in the file"
        case .unwritable(let p, let r): return "cannot write \(p): \(r)"
        }
    }
}

/// One tensor's header entry; `offsets` are relative to the start of the data section.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let offsets: Range<Int>
    public var count: Int { shape.reduce(1, *) }
}

public enum Safetensors {
    /// The reference implementation's limit: a header beyond it is taken as garbage before
    /// anything is allocated for it.
    public static let maximumHeaderLength = 100_000_000
}

/// A parsed file: its header, validated against the data, and the raw bytes.
///
/// Every check happens in `init`, so a value that exists can be read without failure.
public struct SafetensorsFile: Sendable {
    /// Tensors in the order of their data (validated to be contiguous from offset 0).
    public let entries: [SafetensorsEntry]
    public let metadata: [String: String]
    private let bytes: [UInt8]
    private let dataStart: Int
    private let index: [String: Int]

    public init(contentsOf path: String) throws(SafetensorsError) {
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws(SafetensorsError) {
        guard bytes.count >= 8 else { throw .tooShort(bytes: bytes.count) }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        let available = bytes.count - 8
        guard n <= UInt64(Safetensors.maximumHeaderLength) else {
            if n <= UInt64(available) { throw .headerTooLarge(Int(n)) }
            throw .headerLength(n > UInt64(Int.max) ? Int.max : Int(n), available: available)
        }
        let headerLength = Int(n)
        guard headerLength <= available else { throw .headerLength(headerLength, available: available) }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(bytes[8..<(8 + headerLength)]))
        } catch {
            throw .headerSyntax(error.description)
        }
        guard case .object(let members) = json else { throw .headerStructure("the header is \(json.typeName), not an object") }

        var entries: [SafetensorsEntry] = []
        var metadata: [String: String] = [:]
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw .duplicateName(name) }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw .headerStructure("__metadata__ is \(value.typeName), not an object") }
                for (k, v) in pairs {
                    guard case .string(let s) = v else { throw .headerStructure("__metadata__ value '\(k)' is \(v.typeName), not a string") }
                    guard metadata.updateValue(s, forKey: k) == nil else { throw .headerStructure("__metadata__ key '\(k)' appears twice") }
                }
                continue
            }
            entries.append(try Self.entry(name, value))
        }

        // The data section must be covered exactly once: sorted by start, each tensor
        // begins where the previous ended, and the last ends at the end of the file.
        let dataLength = available - headerLength
        entries.sort { ($0.offsets.lowerBound, $0.offsets.upperBound) < ($1.offsets.lowerBound, $1.offsets.upperBound) }
        var position = 0
        for e in entries {
            if e.offsets.lowerBound < position {
                throw .layout("tensor '\(e.name)' starts at \(e.offsets.lowerBound), inside the previous tensor (which ends at \(position))")
            }
            if e.offsets.lowerBound > position {
                throw .layout("gap of \(e.offsets.lowerBound - position) bytes before tensor '\(e.name)'")
            }
            if e.offsets.upperBound > dataLength {
                throw .layout("tensor '\(e.name)' ends at \(e.offsets.upperBound), beyond the \(dataLength) data bytes")
            }
            position = e.offsets.upperBound
        }
        if position != dataLength {
            throw .layout("\(dataLength - position) bytes after the last tensor")
        }
        self.entries = entries
        self.metadata = metadata
        self.bytes = bytes
        dataStart = 8 + headerLength
        var index: [String: Int] = [:]
        for (k, e) in entries.enumerated() { index[e.name] = k }
        self.index = index
    }

    private static func entry(_ name: String, _ value: JSONValue) throws(SafetensorsError) -> SafetensorsEntry {
        guard case .object(let fields) = value else { throw .headerStructure("entry '\(name)' is \(value.typeName), not an object") }
        var dtype: String?, shape: [JSONValue]?, offsets: [JSONValue]?
        var keys = Set<String>()
        for (k, v) in fields {
            guard keys.insert(k).inserted else { throw .headerStructure("entry '\(name)' has '\(k)' twice") }
            switch (k, v) {
            case ("dtype", .string(let s)): dtype = s
            case ("shape", .array(let a)): shape = a
            case ("data_offsets", .array(let a)): offsets = a
            case ("dtype", _), ("shape", _), ("data_offsets", _):
                throw .headerStructure("entry '\(name)': '\(k)' is \(v.typeName)")
            default:
                throw .headerStructure("entry '\(name)' has an unknown field '\(k)'")
            }
        }
        guard let dtype, let shape, let offsets else {
            throw .headerStructure("entry '\(name)' needs dtype, shape and data_offsets")
        }
        guard let type = SafetensorsDType(rawValue: dtype) else { throw .unknownDType(tensor: name, dtype: dtype) }
        func integer(_ v: JSONValue) -> Int? {
            guard case .number(let text) = v, let n = Int(text), n >= 0 else { return nil }
            return n
        }
        var dims: [Int] = []
        var count = 1
        for d in shape {
            guard let n = integer(d) else { throw .badShape(tensor: name) }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw .badShape(tensor: name) }
            dims.append(n)
            count = product
        }
        guard offsets.count == 2, let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
            throw .headerStructure("entry '\(name)': data_offsets must be two non-negative integers")
        }
        guard begin <= end else { throw .layout("tensor '\(name)' has data_offsets [\(begin), \(end)] that end before they begin") }
        let (expected, overflow) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !overflow else { throw .badShape(tensor: name) }
        guard end - begin == expected else { throw .byteLength(tensor: name, expected: expected, actual: end - begin) }
        return SafetensorsEntry(name: name, dtype: type, shape: dims, offsets: begin..<end)
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> SafetensorsEntry? { index[name].map { entries[$0] } }

    /// The tensor's values converted to `Float` (F64 and I64 rounded to nearest).
    public func values(_ name: String) throws(SafetensorsError) -> [Float] {
        guard let e = entry(name) else { throw .noSuchTensor(name) }
        let base = dataStart + e.offsets.lowerBound
        let count = e.count
        return bytes.withUnsafeBufferPointer { buf -> [Float] in
            let raw = UnsafeRawBufferPointer(buf)
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                for i in 0..<count {
                    switch e.dtype {
                    case .f32:
                        out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self)))
                    case .f16:
                        out[i] = HalfPrecision.float(fromF16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self)))
                    case .bf16:
                        out[i] = HalfPrecision.float(fromBF16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self)))
                    case .f64:
                        out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * i, as: UInt64.self))))
                    case .i64:
                        out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * i, as: Int64.self)))
                    }
                }
                initialized = count
            }
        }
    }

    /// The tensor as a Topiary `Tensor` of its shape.
    public func tensor(_ name: String) throws(SafetensorsError) -> Tensor {
        guard let e = entry(name) else { throw .noSuchTensor(name) }
        return Tensor(shape: e.shape, values: try values(name))
    }
}

/// Collects tensors and metadata and lays them out as a safetensors file: F32 data (I64
/// for integer counters) in insertion order, the header padded with spaces so the data
/// starts at a multiple of 8 bytes.
public struct SafetensorsWriter: Sendable {
    private enum Payload: Sendable { case float([Float]), integer([Int64]) }
    private var items: [(name: String, shape: [Int], payload: Payload)] = []
    private var names = Set<String>()
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for \(name) of shape \(shape)")
        precondition(names.insert(name).inserted && name != "__metadata__", "tensor name \(name) used twice")
        items.append((name, shape, .float(values)))
    }

    public mutating func add(_ name: String, _ tensor: Tensor) { add(name, shape: tensor.shape, values: tensor.array) }

    public mutating func add(_ name: String, shape: [Int], integers: [Int64]) {
        precondition(integers.count == shape.reduce(1, *), "\(integers.count) values for \(name) of shape \(shape)")
        precondition(names.insert(name).inserted && name != "__metadata__", "tensor name \(name) used twice")
        items.append((name, shape, .integer(integers)))
    }

    public func bytes() -> [UInt8] {
        var header: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            header.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for item in items {
            let (dtype, length): (String, Int)
            switch item.payload {
            case .float(let v): (dtype, length) = ("F32", 4 * v.count)
            case .integer(let v): (dtype, length) = ("I64", 8 * v.count)
            }
            header.append("\(jsonQuoted(item.name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(item.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + length)]}")
            offset += length
        }
        var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        var n = UInt64(json.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += json
        for item in items {
            switch item.payload {
            case .float(let v):
                for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
            case .integer(let v):
                for x in v { withUnsafeBytes(of: x.littleEndian) { out += $0 } }
            }
        }
        return out
    }

    public func write(to path: String) throws(SafetensorsError) {
        do {
            try Data(bytes()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .unwritable(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
