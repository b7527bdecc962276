/// IEEE half (F16) and bfloat16 (BF16) to `Float`, by bits: Swift's `Float16` is not
/// available on every platform the package declares, and both conversions are exact.
public enum HalfPrecision {
    public static func float(fromF16 h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 31:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }

    /// BF16 is the upper half of a Float's bits.
    public static func float(fromBF16 b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
}
