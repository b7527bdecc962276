import Testing
@testable import Interop
import Tensor

/// Little-endian bytes of a header and data, assembled by hand.
func fileBytes(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    var n = UInt64(h.count)
    for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
    return out + h + data
}

func le32(_ x: Float) -> [UInt8] { withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }

struct SafetensorsFormatTests {
    @Test func readsAFileWrittenByHand() throws {
        // F32 [2] = [1.5, -2], F16 [3] = [1, -0.5, 65504], BF16 [1] = 3.0, F64 [] = 0.1
        var data: [UInt8] = le32(1.5) + le32(-2)
        data += [0x00, 0x3C, 0x00, 0xB8, 0xFF, 0x7B]
        data += [0x40, 0x40]
        data += withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian) { Array($0) }
        let header = """
        {"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]},"__metadata__":{"format":"pt","note":"a\\"b\\u00e9"},\
        "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[14,16]},\
        "d":{"dtype":"F64","shape":[],"data_offsets":[16,24]}}
        """
        let file = try SafetensorsFile(bytes: fileBytes(header: header, data: data))
        #expect(file.names == ["a", "b", "c", "d"])
        #expect(file.metadata == ["format": "pt", "note": "a\"bé"])
        #expect(try file.values("a") == [1.5, -2])
        #expect(try file.values("b") == [1, -0.5, 65504])
        #expect(try file.values("c") == [3])
        #expect(try file.tensor("c").shape == [1, 1])
        #expect(try file.values("d") == [Float(0.1)])
        #expect(throws: SafetensorsError.noSuchTensor("e")) { try file.values("e") }
    }

    @Test func halfPrecisionConversions() {
        let f16: [(UInt16, Float)] = [
            (0x0000, 0), (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125), (0x7BFF, 65504),
            (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x0400, 0x1p-14), (0x7C00, .infinity), (0xFC00, -.infinity),
        ]
        for (bits, value) in f16 { #expect(HalfPrecision.float(fromF16: bits) == value, "F16 \(bits)") }
        #expect(HalfPrecision.float(fromF16: 0x8000).sign == .minus)
        #expect(HalfPrecision.float(fromF16: 0x7E00).isNaN)
        let bf16: [(UInt16, Float)] = [(0x3F80, 1), (0xC040, -3), (0x3E20, 0.15625), (0x7F80, .infinity), (0x0001, Float(bitPattern: 0x10000))]
        for (bits, value) in bf16 { #expect(HalfPrecision.float(fromBF16: bits) == value, "BF16 \(bits)") }
    }

    @Test func writerRoundTripsAndPadsTheHeader() throws {
        var w = SafetensorsWriter()
        w.metadata = ["model": "x \"quoted\"\n"]
        w.add("w", shape: [2, 3], values: [1, 2, 3, 4, 5, -6.25])
        w.add("s", shape: [], values: [7])
        w.add("n", shape: [], integers: [-3])
        w.add("empty", shape: [0, 4], values: [])
        let bytes = w.bytes()
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        #expect((8 + n) % 8 == 0)
        let file = try SafetensorsFile(bytes: bytes)
        #expect(file.metadata == w.metadata)
        #expect(try file.tensor("w").shape == [2, 3])
        #expect(try file.values("w") == [1, 2, 3, 4, 5, -6.25])
        #expect(try file.values("s") == [7])
        #expect(file.entry("n")?.dtype == .i64)
        #expect(try file.values("n") == [-3])
        #expect(try file.values("empty") == [])
    }

    @Test func writerProducesKnownBytes() {
        // One F32 [2] tensor and one I64 counter: the exact bytes another reader expects.
        var w = SafetensorsWriter()
        w.metadata = ["m": "1"]
        w.add("a", shape: [2], values: [1, -2])
        w.add("n", shape: [], integers: [5])
        let header = #"{"__metadata__":{"m":"1"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        #expect(padded.utf8.count == 136)
        let expected: [UInt8] = [136, 0, 0, 0, 0, 0, 0, 0] + Array(padded.utf8)
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0] + [5, 0, 0, 0, 0, 0, 0, 0]
        #expect(w.bytes() == expected)
    }

    func valid() -> [UInt8] {
        var w = SafetensorsWriter()
        w.metadata = ["k": "v"]
        w.add("conv.weight", shape: [2, 2], values: [1, 2, 3, 4])
        w.add("conv.bias", shape: [2], values: [5, 6])
        return w.bytes()
    }

    func error(_ bytes: [UInt8]) -> SafetensorsError? {
        do { _ = try SafetensorsFile(bytes: bytes); return nil } catch { return error }
    }

    @Test func namedCorruptionsGiveTheirError() {
        let data = [UInt8](repeating: 0, count: 8)
        let cases: [(String, [UInt8], (SafetensorsError) -> Bool)] = [
            ("short", [1, 2, 3], { if case .tooShort = $0 { true } else { false } }),
            ("length beyond file", [0xFF, 0, 0, 0, 0, 0, 0, 0, 0x7B], { if case .headerLength = $0 { true } else { false } }),
            ("absurd length", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], { if case .headerLength = $0 { true } else { false } }),
            ("malformed JSON", fileBytes(header: "{\"a\":", data: []), { if case .headerSyntax = $0 { true } else { false } }),
            ("not an object", fileBytes(header: "[1]", data: []), { if case .headerStructure = $0 { true } else { false } }),
            ("unknown dtype", fileBytes(header: #"{"a":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}}"#, data: data),
             { $0 == .unknownDType(tensor: "a", dtype: "Q8") }),
            ("offsets beyond data", fileBytes(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: data),
             { if case .layout = $0 { true } else { false } }),
            ("overlap", fileBytes(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data),
             { if case .layout = $0 { true } else { false } }),
            ("gap", fileBytes(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data),
             { if case .layout = $0 { true } else { false } }),
            ("trailing bytes", fileBytes(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data),
             { if case .layout = $0 { true } else { false } }),
            ("byte length", fileBytes(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: data),
             { $0 == .byteLength(tensor: "a", expected: 12, actual: 8) }),
            ("duplicate", fileBytes(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data),
             { $0 == .duplicateName("a") }),
            ("overflowing shape", fileBytes(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: data),
             { $0 == .badShape(tensor: "a") }),
            ("negative dimension", fileBytes(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: data),
             { $0 == .badShape(tensor: "a") }),
            ("deep nesting", fileBytes(header: String(repeating: "[", count: 10_000), data: []),
             { if case .headerSyntax = $0 { true } else { false } }),
            ("metadata not strings", fileBytes(header: #"{"__metadata__":{"a":1}}"#, data: []),
             { if case .headerStructure = $0 { true } else { false } }),
        ]
        for (what, bytes, matches) in cases {
            let e = error(bytes)
            #expect(e.map(matches) == true, "\(what): \(String(describing: e))")
            #expect(!(e?.description.isEmpty ?? true))
        }
        #expect(error(valid()) == nil)
    }

    @Test func everyCorruptionOfAValidFileFailsCleanly() {
        let good = valid()
        var rng = RNG(seed: 11, stream: "corrupt")
        var outcomes = 0
        // Every truncation.
        for n in 0..<good.count {
            #expect(error(Array(good.prefix(n))) != nil, "truncated to \(n)")
            outcomes += 1
        }
        // Random byte flips anywhere: the file may still parse (a data byte) but must never trap.
        for _ in 0..<2000 {
            var b = good
            let k = Int(rng.next() % UInt64(b.count))
            b[k] ^= UInt8(truncatingIfNeeded: 1 + rng.next() % 255)
            if let file = try? SafetensorsFile(bytes: b) {
                for name in file.names { _ = try? file.values(name) }
            }
            outcomes += 1
        }
        // Every header byte replaced by characters that break JSON or change numbers.
        let headerEnd = 8 + Int(good[0]) + Int(good[1]) << 8
        for k in 8..<headerEnd {
            for c in ["9", "\"", "}", "-", "\u{0}", "x"] {
                var b = good
                b[k] = c.utf8.first!
                if let file = try? SafetensorsFile(bytes: b) {
                    for name in file.names { _ = try? file.values(name) }
                }
                outcomes += 1
            }
        }
        #expect(outcomes > 2000)
    }
}
