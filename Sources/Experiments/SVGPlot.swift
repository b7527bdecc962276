import Foundation

/// A small line chart written as SVG text by hand (no dependencies): line series with an
/// optional ± error drawn as a band or as bars, linear or log axes (either may be reversed),
/// nice ticks, grid, axis labels and a legend beside the plot area so it never hides data.
/// Meant to be reused for further plots (LR traces, histograms as step lines).
package struct SVGPlot: Sendable {
    package enum Scale: Sendable { case linear, log }
    package enum ErrorStyle: Sendable { case band, bars }

    package struct Axis: Sendable {
        package var label: String
        package var scale: Scale
        /// Reversed: values decrease to the right (x) or downwards (y).
        package var reversed: Bool
        /// Ticks at whole numbers only (cycles, epochs).
        package var integerTicks: Bool
        /// Explicit tick positions; chosen automatically when nil.
        package var ticks: [Double]?

        package init(label: String, scale: Scale = .linear, reversed: Bool = false,
                    integerTicks: Bool = false, ticks: [Double]? = nil) {
            self.label = label
            self.scale = scale
            self.reversed = reversed
            self.integerTicks = integerTicks
            self.ticks = ticks
        }
    }

    package struct Point: Equatable, Sendable {
        package var x: Double
        package var y: Double
        /// Half-width of the error band or bar (e.g. one standard deviation).
        package var error: Double?
        package init(x: Double, y: Double, error: Double? = nil) {
            self.x = x
            self.y = y
            self.error = error
        }
    }

    package struct Series: Sendable {
        package var name: String
        package var points: [Point]
        /// Any SVG colour; the palette colour of the series' index when nil.
        package var color: String?
        package init(name: String, points: [Point], color: String? = nil) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    /// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies
    /// (its yellow is left out: unreadable on white). Past the palette, dashes tell series apart.
    package static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    package var title: String
    package var x: Axis
    package var y: Axis
    package var series: [Series]
    package var errorStyle: ErrorStyle
    package var width: Double
    package var height: Double

    package init(title: String, x: Axis, y: Axis, series: [Series] = [], errorStyle: ErrorStyle = .band,
                width: Double = 760, height: Double = 460) {
        self.title = title
        self.x = x
        self.y = y
        self.series = series
        self.errorStyle = errorStyle
        self.width = width
        self.height = height
    }

    // Plot area inside the margins: room for tick labels and axis label on the left and
    // bottom, the title on top and the legend on the right.
    var left: Double { 72 }
    var right: Double { width - 190 }
    var top: Double { 44 }
    var bottom: Double { height - 56 }

    /// The SVG document.
    package func render() -> String {
        let drawn = series.map { s in s.points.filter { usable($0) } }
        let xs = drawn.flatMap { $0.map(\.x) }
        let ys = drawn.flatMap { pts in pts.flatMap { p in [p.y - (p.error ?? 0), p.y + (p.error ?? 0)] } }
            .filter { y.scale == .linear || $0 > 0 }
        let (xLo, xHi, xTicks) = Self.domain(xs, axis: x)
        let (yLo, yHi, yTicks) = Self.domain(ys, axis: y)
        let px = { (v: Double) in self.position(v, lo: xLo, hi: xHi, axis: self.x, from: self.left, to: self.right) }
        let py = { (v: Double) in self.position(v, lo: yLo, hi: yHi, axis: self.y, from: self.bottom, to: self.top) }

        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"\(n(width))\" height=\"\(n(height))\" fill=\"white\"/>\n"
        s += "<text x=\"\(n((left + right) / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"

        // Grid and ticks.
        s += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for t in xTicks { s += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom))\"/>\n" }
        for t in yTicks { s += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\"/>\n" }
        s += "</g>\n"
        s += "<g class=\"axes\" fill=\"#333\">\n"
        s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\" fill=\"none\" stroke=\"#333\"/>\n"
        let xLabels = Self.tickLabels(xTicks, scale: x.scale)
        for (t, label) in zip(xTicks, xLabels) {
            s += "<line x1=\"\(n(px(t)))\" y1=\"\(n(bottom))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom + 5))\" stroke=\"#333\"/>\n"
            s += "<text class=\"xtick\" x=\"\(n(px(t)))\" y=\"\(n(bottom + 19))\" text-anchor=\"middle\">\(Self.escape(label))</text>\n"
        }
        let yLabels = Self.tickLabels(yTicks, scale: y.scale)
        for (t, label) in zip(yTicks, yLabels) {
            s += "<line x1=\"\(n(left - 5))\" y1=\"\(n(py(t)))\" x2=\"\(n(left))\" y2=\"\(n(py(t)))\" stroke=\"#333\"/>\n"
            s += "<text class=\"ytick\" x=\"\(n(left - 8))\" y=\"\(n(py(t) + 4))\" text-anchor=\"end\">\(Self.escape(label))</text>\n"
        }
        s += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\" font-size=\"13\">\(Self.escape(x.label))</text>\n"
        s += "<text x=\"18\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 \(n((top + bottom) / 2)))\">\(Self.escape(y.label))</text>\n"
        s += "</g>\n"
        if xs.isEmpty {
            s += "<text x=\"\(n((left + right) / 2))\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n"
        }

        // Series: error first so lines and markers stay on top of every band.
        for (i, pts) in drawn.enumerated() where !pts.isEmpty {
            let color = Self.escape(series[i].color ?? Self.palette[i % Self.palette.count])
            let errs = pts.filter { ($0.error ?? 0) > 0 }
            guard !errs.isEmpty else { continue }
            let lo = { (p: Point) in py(self.clampLow(p.y - (p.error ?? 0), yLo)) }
            let hi = { (p: Point) in py(p.y + (p.error ?? 0)) }
            switch errorStyle {
            case .band:
                let outline = pts.map { "\(n(px($0.x))),\(n(hi($0)))" } + pts.reversed().map { "\(n(px($0.x))),\(n(lo($0)))" }
                s += "<polygon class=\"error\" points=\"\(outline.joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"none\"/>\n"
            case .bars:
                for p in errs {
                    let cx = px(p.x)
                    s += "<g class=\"error\" stroke=\"\(color)\" stroke-width=\"1.2\"><line x1=\"\(n(cx))\" y1=\"\(n(lo(p)))\" x2=\"\(n(cx))\" y2=\"\(n(hi(p)))\"/>"
                    s += "<line x1=\"\(n(cx - 4))\" y1=\"\(n(lo(p)))\" x2=\"\(n(cx + 4))\" y2=\"\(n(lo(p)))\"/><line x1=\"\(n(cx - 4))\" y1=\"\(n(hi(p)))\" x2=\"\(n(cx + 4))\" y2=\"\(n(hi(p)))\"/></g>\n"
                }
            }
        }
        for (i, pts) in drawn.enumerated() where !pts.isEmpty {
            let color = Self.escape(series[i].color ?? Self.palette[i % Self.palette.count])
            let d = pts.enumerated().map { j, p in "\(j == 0 ? "M" : "L")\(n(px(p.x))),\(n(py(p.y)))" }.joined(separator: " ")
            s += "<path class=\"series\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash(i)) stroke-linejoin=\"round\"><title>\(Self.escape(series[i].name))</title></path>\n"
            for p in pts { s += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>\n" }
        }

        // Legend, one entry per series (also those with no points, so none goes missing silently).
        s += "<g class=\"legend\">\n"
        for (i, ser) in series.enumerated() {
            let color = Self.escape(ser.color ?? Self.palette[i % Self.palette.count])
            let ly = top + 10 + Double(i) * 20, lx = right + 16
            var name = ser.name
            if name.count > 24 { name = String(name.prefix(23)) + "…" }
            s += "<line x1=\"\(n(lx))\" y1=\"\(n(ly))\" x2=\"\(n(lx + 24))\" y2=\"\(n(ly))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash(i))/>"
            s += "<circle cx=\"\(n(lx + 12))\" cy=\"\(n(ly))\" r=\"3\" fill=\"\(color)\"/>"
            s += "<text x=\"\(n(lx + 30))\" y=\"\(n(ly + 4))\">\(Self.escape(name))<title>\(Self.escape(ser.name))</title></text>\n"
        }
        s += "</g>\n</svg>\n"
        return s
    }

    func usable(_ p: Point) -> Bool {
        p.x.isFinite && p.y.isFinite && (x.scale == .linear || p.x > 0) && (y.scale == .linear || p.y > 0)
    }

    /// On a log axis a band reaching to or below zero is cut at the axis's low end.
    func clampLow(_ v: Double, _ lo: Double) -> Double { y.scale == .log && v <= 0 ? lo : v }

    func dash(_ i: Int) -> String {
        i < Self.palette.count ? "" : " stroke-dasharray=\"\(["6 3", "2 3", "8 3 2 3"][(i / Self.palette.count - 1) % 3])\""
    }

    func position(_ v: Double, lo: Double, hi: Double, axis: Axis, from a: Double, to b: Double) -> Double {
        let t = axis.scale == .log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo)
        let f = axis.reversed ? 1 - t : t
        return a + f * (b - a)
    }

    /// Axis range and ticks for `values`. A linear range is widened to whole tick steps; a
    /// log range is padded by a few percent of its decades so end markers clear the frame.
    static func domain(_ values: [Double], axis: Axis) -> (Double, Double, [Double]) {
        var lo = values.min() ?? (axis.scale == .log ? 1 : 0)
        var hi = values.max() ?? (axis.scale == .log ? 10 : 1)
        switch axis.scale {
        case .linear:
            if hi - lo <= 1e-12 * max(1, abs(hi)) {
                let pad = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= pad
                hi += pad
            }
            let ticks = axis.ticks ?? linearTicks(lo: lo, hi: hi, integer: axis.integerTicks)
            if axis.ticks == nil, ticks.count > 1 {
                let step = ticks[1] - ticks[0]
                lo = min(lo, (lo / step).rounded(.down) * step)
                hi = max(hi, (hi / step).rounded(.up) * step)
                return (lo, hi, linearTicks(lo: lo, hi: hi, integer: axis.integerTicks))
            }
            return (lo, hi, ticks.filter { $0 >= lo && $0 <= hi })
        case .log:
            if hi / lo < 1 + 1e-9 {
                lo /= 2
                hi *= 2
            }
            let pad = (log10(hi) - log10(lo)) * 0.04
            lo = pow(10, log10(lo) - pad)
            hi = pow(10, log10(hi) + pad)
            return (lo, hi, (axis.ticks ?? logTicks(lo: lo, hi: hi)).filter { $0 >= lo && $0 <= hi })
        }
    }

    /// About `count` ticks at multiples of 1, 2, 2.5 or 5 × 10^k (whole-number steps when `integer`).
    package static func linearTicks(lo: Double, hi: Double, count: Int = 6, integer: Bool = false) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return lo.isFinite ? [lo] : [] }
        let raw = (hi - lo) / Double(max(1, count - 1))
        let mag = pow(10, (log10(raw)).rounded(.down))
        let f = raw / mag
        var step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 && !integer ? 2.5 : f <= 5 ? 5 : 10) * mag
        if integer { step = max(1, step.rounded()) }
        let first = (lo / step - 1e-9).rounded(.up)
        let last = (hi / step + 1e-9).rounded(.down)
        guard last >= first else { return [] }
        // Multiples of the step computed from integers, so 0.1 * 3 does not print as 0.30000000000000004.
        return stride(from: first, through: last, by: 1).map { k in
            let v = k * step
            return abs(v) < step * 1e-9 ? 0 : v
        }
    }

    /// Ticks of a log axis: 1, 2, 5 × 10^k when that gives at most `maxCount`, else whole
    /// decades (every other one, ... for very wide ranges); within one decade 1 … 9 × 10^k,
    /// and failing that, linear ticks, so a narrow range still gets labels.
    package static func logTicks(lo: Double, hi: Double, maxCount: Int = 10) -> [Double] {
        guard lo > 0, hi > lo, lo.isFinite, hi.isFinite else { return [] }
        let dLo = Int(log10(lo).rounded(.down)), dHi = Int(log10(hi).rounded(.up))
        func ticks(_ mantissas: [Double], every: Int = 1) -> [Double] {
            var out: [Double] = []
            for d in dLo...dHi where (d - dLo) % every == 0 {
                // Divide for negative exponents: 3 / 100 is exactly the double nearest 0.03.
                let p = pow(10, Double(abs(d)))
                for m in mantissas {
                    let v = d >= 0 ? m * p : m / p
                    if v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12) { out.append(v) }
                }
            }
            return out
        }
        let main = ticks([1, 2, 5])
        if main.count >= 2 && main.count <= maxCount { return main }
        if main.count < 2 {
            let fine = ticks([1, 2, 3, 4, 5, 6, 7, 8, 9])
            return fine.count >= 2 ? fine : linearTicks(lo: lo, hi: hi, count: 4).filter { $0 > 0 }
        }
        var every = 1
        while ticks([1], every: every).count > maxCount { every += 1 }
        return ticks([1], every: every)
    }

    /// Tick labels: on a log axis each value in its shortest form ("0.001", "50", "1e-05");
    /// on a linear axis all with the decimals that the step needs ("0.5", "1.0", "1.5").
    static func tickLabels(_ ticks: [Double], scale: Scale) -> [String] {
        switch scale {
        case .log:
            return ticks.map { String(format: "%g", $0) }
        case .linear:
            guard ticks.count > 1 else { return ticks.map { String(format: "%g", $0) } }
            let step = abs(ticks[1] - ticks[0])
            var decimals = max(0, -Int(log10(step).rounded(.down)))
            // A step of 2.5 × 10^k needs one more digit than its magnitude says.
            let scaled = step / pow(10, log10(step).rounded(.down))
            if abs(scaled - scaled.rounded()) > 1e-6 { decimals += 1 }
            return ticks.map { String(format: "%.\(decimals)f", $0) }
        }
    }

    /// Text for an SVG element or attribute: the five XML specials become entities, and
    /// characters XML 1.0 forbids (control codes) are dropped so the file always parses.
    package static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value >= 0x20 && !(0xFFFE...0xFFFF).contains(u.value) { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    /// Coordinates with two decimals: sub-pixel exact and short.
    func n(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        return s.hasSuffix(".00") ? String(s.dropLast(3)) : s
    }
}
