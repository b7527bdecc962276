import Foundation

/// Figure-1-style SVG: several histograms overlaid as step lines, one colour per series
/// (per cycle), with axes, ticks and a legend. Self-contained so it needs no plotting
/// library; the result is a complete, well-formed SVG document as a String.
///
/// Histograms from different cycles have different edges (Sturges bins over each cycle's
/// own range), so the y axis is density (fraction per unit of x), which stays comparable.
package enum HistogramPlot {
    package static func svg(_ series: [(label: String, histogram: Histogram)], title: String = "",
                           xLabel: String = "", yLabel: String = "density", logY: Bool = false,
                           width: Int = 640, height: Int = 420) -> String {
        let left = 78.0, right = 150.0, top = 36.0, bottom = 56.0
        let w = Double(width), h = Double(height)
        let plotW = Swift.max(w - left - right, 10), plotH = Swift.max(h - top - bottom, 10)
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
        viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>

        """
        if !title.isEmpty {
            out += text(left + plotW / 2, top / 2 + 5, title, anchor: "middle", extra: #" font-size="14""#)
        }
        let shown = series.filter { $0.histogram.total > 0 }
        guard !shown.isEmpty else {
            out += text(left + plotW / 2, top + plotH / 2, "no data", anchor: "middle")
            return out + "</svg>\n"
        }

        // Data ranges.
        let xMin = shown.map { $0.histogram.edges.first! }.min()!
        let xMax = shown.map { $0.histogram.edges.last! }.max()!
        let dens = shown.map(\.histogram.densities)
        let dMax = dens.flatMap { $0 }.max() ?? 1
        let positive = dens.flatMap { $0 }.filter { $0 > 0 }
        let yLo: Double, yHi: Double
        if logY {
            yLo = Foundation.pow(10, Foundation.floor(Foundation.log10(positive.min() ?? 1)))
            yHi = Swift.max(Foundation.pow(10, Foundation.ceil(Foundation.log10(positive.max() ?? 10))), yLo * 10)
        } else {
            yLo = 0
            yHi = dMax > 0 ? dMax * 1.05 : 1
        }
        let sx = { (x: Double) -> Double in left + (x - xMin) / (xMax - xMin) * plotW }
        let sy = { (y: Double) -> Double in
            if logY {
                let v = Swift.max(y, yLo)
                return top + plotH - (Foundation.log10(v) - Foundation.log10(yLo)) / (Foundation.log10(yHi) - Foundation.log10(yLo)) * plotH
            }
            return top + plotH - (y - yLo) / (yHi - yLo) * plotH
        }

        // Axes and ticks.
        out += #"<g stroke="black" stroke-width="1" fill="none">"# + "\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\"/>\n"
        // Tick choice is shared with the line charts.
        let xTicks = SVGPlot.linearTicks(lo: xMin, hi: xMax)
        for t in xTicks { out += line(sx(t), top + plotH, sx(t), top + plotH + 5) }
        let yTicks = logY ? SVGPlot.logTicks(lo: yLo, hi: yHi) : SVGPlot.linearTicks(lo: yLo, hi: yHi)
        for t in yTicks { out += line(left - 5, sy(t), left, sy(t)) }
        out += "</g>\n"
        for t in xTicks { out += text(sx(t), top + plotH + 19, number(t), anchor: "middle") }
        for t in yTicks { out += text(left - 8, sy(t) + 4, number(t), anchor: "end") }
        if !xLabel.isEmpty { out += text(left + plotW / 2, h - 12, xLabel, anchor: "middle") }
        if !yLabel.isEmpty {
            out += "<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">\(escape(yLabel))</text>\n"
        }

        // One step line per series: up the first edge, along each bin, down the last edge.
        for (k, s) in shown.enumerated() {
            let e = s.histogram.edges, d = dens[k]
            var path = "M\(f(sx(e[0]))),\(f(sy(yLo)))"
            for i in d.indices {
                path += " L\(f(sx(e[i]))),\(f(sy(d[i]))) L\(f(sx(e[i + 1]))),\(f(sy(d[i])))"
            }
            path += " L\(f(sx(e[e.count - 1]))),\(f(sy(yLo)))"
            out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colour(k, of: shown.count))\" stroke-width=\"1.5\"/>\n"
        }

        // Legend, right of the plot.
        let lx = left + plotW + 14
        for (k, s) in shown.enumerated() {
            let y = top + 8 + Double(k) * 18
            out += "<line x1=\"\(f(lx))\" y1=\"\(f(y))\" x2=\"\(f(lx + 22))\" y2=\"\(f(y))\" "
                + "stroke=\"\(colour(k, of: shown.count))\" stroke-width=\"2\"/>\n"
            out += text(lx + 28, y + 4, s.label, anchor: "start")
        }
        return out + "</svg>\n"
    }

    /// "λ = 100", "λ = 51.2", "λ = 8.59": three significant digits, as the papers print lambda.
    package static func lambdaLabel(_ percentRemaining: Double) -> String { "λ = " + number(percentRemaining) }

    /// Figure 1(a): mean weight gradients over the unpruned weights, one line per cycle.
    package static func gradientFigure(_ cycles: [CycleDiagnostics], logY: Bool = true) -> String {
        svg(cycles.map { (lambdaLabel($0.percentRemaining), $0.gradientsUnpruned.histogram) },
            title: "Weight gradients (unpruned weights)", xLabel: "gradient", logY: logY)
    }

    /// Figure 1(b): post-activation outputs of hidden layer `layer` (0 = first), one line per cycle.
    /// Log scale, because ReLU's spike at 0 would flatten everything else.
    package static func activationFigure(_ cycles: [CycleDiagnostics], layer: Int = 0, logY: Bool = true) -> String {
        let series = cycles.compactMap { c -> (label: String, histogram: Histogram)? in
            layer < c.activations.count ? (lambdaLabel(c.percentRemaining), c.activations[layer].distribution.histogram) : nil
        }
        return svg(series, title: "Hidden representations (hidden layer \(layer + 1))", xLabel: "activation", logY: logY)
    }

    // MARK: - Pieces

    /// Text content and attribute values escaped for XML (the chart type's rules).
    static func escape(_ s: String) -> String { SVGPlot.escape(s) }

    /// Three significant digits, no trailing zeros ("0.004", "51.2", "1e-05").
    static func number(_ x: Double) -> String { String(format: "%.3g", x) }

    private static func f(_ x: Double) -> String { String(format: "%.2f", x) }

    private static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, extra: String = "") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\"\(extra)>\(escape(s))</text>\n"
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\"/>\n"
    }

    /// A sequential ramp (dark blue → teal → amber → red): cycles are ordered, so neighbouring
    /// lambdas get neighbouring colours.
    static func colour(_ k: Int, of n: Int) -> String {
        let anchors: [(Double, Double, Double)] = [(34, 58, 112), (42, 157, 143), (233, 184, 74), (214, 79, 58)]
        let t = n > 1 ? Double(k) / Double(n - 1) * Double(anchors.count - 1) : 0
        let i = Swift.min(Int(t), anchors.count - 2), u = t - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        let c = [a.0 + (b.0 - a.0) * u, a.1 + (b.1 - a.1) * u, a.2 + (b.2 - a.2) * u].map { Int($0.rounded()) }
        return String(format: "#%02x%02x%02x", c[0], c[1], c[2])
    }
}
