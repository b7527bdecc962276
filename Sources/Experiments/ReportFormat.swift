import Foundation

/// Number formatting shared by the report's markdown, CSV and plots.
package enum ReportFormat {
    /// Lambda as the papers print it: three significant digits, trailing zeros kept,
    /// and 100 (the dense network) without decimals: 100, 80.0, 64.0, 51.2, 41.0, 8.59, 1.44.
    package static func lambda(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        if x >= 99.5 { return String(Int(x.rounded())) }
        return significant(x, digits: 3)
    }

    /// `x` to `digits` significant digits in fixed notation, trailing zeros kept ("0.0400").
    package static func significant(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "–" }
        guard x != 0 else { return "0" }
        // Round first, then count the integer digits of the rounded value, so 9.996 gives
        // "10.0" and not "10.00".
        let magnitude = Int(floor(log10(abs(x))))
        let scale = pow(10, Double(digits - 1 - magnitude))
        let rounded = (x * scale).rounded() / scale
        let roundedMagnitude = Int(floor(log10(abs(rounded))))
        let decimals = max(0, digits - 1 - roundedMagnitude)
        return String(format: "%.\(decimals)f", rounded)
    }

    /// A learning rate: three significant digits, scientific below 1e-3 where fixed
    /// notation would be a row of zeros ("0.0454", "1.00e-04").
    package static func learningRate(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        if x != 0 && abs(x) < 1e-3 { return String(format: "%.2e", x) }
        return significant(x, digits: 3)
    }

    /// A fraction 0...1 as a percentage with two decimals ("82.00").
    package static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "–" }
        return String(format: "%.2f", fraction * 100)
    }

    /// "mean ± std" in percent, as in the papers' tables.
    package static func meanStd(_ row: ReportRow) -> String {
        "\(percent(row.mean)) ± \(percent(row.std))"
    }
}
