import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Experiments
import Schedules

/// Counts elements while checking that the document parses as XML.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var texts: [String: [String]] = [:]
    var current: [String] = []
    var buffer = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        let cls = attributes["class"].map { ".\($0)" } ?? ""
        counts[name, default: 0] += 1
        if !cls.isEmpty { counts[name + cls, default: 0] += 1 }
        current.append(name + cls)
        buffer = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { buffer += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        texts[current.removeLast(), default: []].append(buffer)
        buffer = ""
    }

    static func parse(_ svg: String) -> ElementCounter? {
        let c = ElementCounter()
        let p = XMLParser(data: Data(svg.utf8))
        p.delegate = c
        return p.parse() ? c : nil
    }
}

/// Two schedules over three seeds and cycles 0...2; "b" is better at cycle 1 only.
func sampleRecords() -> [CycleRecord] {
    var out: [CycleRecord] = []
    for seed: UInt64 in [1, 2, 3] {
        let d = (Double(seed) - 2) * 0.02 // -0.02, 0, +0.02: std 2.00 points
        for (m, acc) in [0.90, 0.85, 0.80].enumerated() { out.append(record("a", seed: seed, cycle: m, acc: acc + d, peak: 0.1)) }
        for (m, acc) in [0.88, 0.86, 0.70].enumerated() { out.append(record("b", seed: seed, cycle: m, acc: acc + d, peak: 0.05 * Double(m + 1))) }
    }
    return out
}

@Suite struct ReportMarkdownTests {
    @Test func tableCellsAndBoldBest() {
        let md = ReportMarkdown.render(records: sampleRecords(), spec: spec(schedules: [sched("a"), sched("b")]))
        #expect(md.hasPrefix("# test-exp\n"))
        #expect(md.contains("| schedule | 100 | 80.0 | 64.0 |"))
        #expect(md.contains("| a | **90.00 ± 2.00** | 85.00 ± 2.00 | **80.00 ± 2.00** |"))
        #expect(md.contains("| b | 88.00 ± 2.00 | **86.00 ± 2.00** | 70.00 ± 2.00 |"))
        // Peak LR table: mean over seeds, 3 significant digits.
        #expect(md.contains("| b | 0.0500 | 0.100 | 0.150 |"))
        #expect(md.contains("rate p = 0.2, L = 2 cycles"))
        #expect(md.contains("1000 iterations per cycle"))
        #expect(md.contains("seeds 1, 2, 3 (n = 3)"))
        #expect(!md.contains("Incomplete"))
        #expect(!md.contains("Oracle"))
    }

    @Test func tiesAtPrintedPrecisionAreBothBold() {
        let recs = [record("a", seed: 1, cycle: 0, acc: 0.900001), record("b", seed: 1, cycle: 0, acc: 0.9)]
        let md = ReportMarkdown.render(records: recs, spec: spec(schedules: [sched("a"), sched("b")], seeds: [1], cycles: 0))
        #expect(md.contains("| a | **90.00 ± 0.00** |"))
        #expect(md.contains("| b | **90.00 ± 0.00** |"))
    }

    @Test func incompleteRunsAreNoted() {
        let recs = sampleRecords().filter { !($0.schedule == "b" && $0.seed == 3 && $0.cycle == 2) }
        let md = ReportMarkdown.render(records: recs, spec: spec(schedules: [sched("a"), sched("b"), sched("c")]))
        #expect(md.contains("## Incomplete runs"))
        #expect(md.contains("- schedule b, seed 3: 2 of 3 cycles"))
        #expect(md.contains("- schedule c, seed 1: no cycles recorded"))
        // b at cycle 2 now averages seeds 1 and 2 only (0.68, 0.70): 69.00 ± 1.41, marked.
        #expect(md.contains("69.00 ± 1.41 †"))
        #expect(md.contains("| c | – | – | – |"))
    }

    @Test func namesAreEscaped() {
        let recs = [record("s_cyc|x", seed: 1, cycle: 0, acc: 0.5)]
        let md = ReportMarkdown.render(records: recs, spec: spec(schedules: [sched("s_cyc|x")], seeds: [1], cycles: 0))
        #expect(md.contains("| s\\_cyc\\|x | **50.00 ± 0.00** |"))
    }

    @Test func oracleTableWithSCycPeak() {
        var scyc = sched("scyc", "scyc")
        scyc.epsilon = 0.04
        scyc.delta = 0.06
        scyc.q = 1
        scyc.beta = 4
        let o3 = CycleRecord.OracleOutcome(candidates: [.init(peak: 0.01, valAccuracy: 0.8), .init(peak: 0.1, valAccuracy: 0.85)],
                                           bestPeak: 0.1, feasibleLow: 0.05, feasibleHigh: 0.1)
        let o4 = CycleRecord.OracleOutcome(candidates: [], bestPeak: 0.0667, feasibleLow: 0.06, feasibleHigh: 0.08)
        let recs = [record("oracle", seed: 1, cycle: 3, acc: 0.8, oracle: o3), record("oracle", seed: 1, cycle: 4, acc: 0.8, oracle: o4)]
        let md = ReportMarkdown.render(records: recs, spec: spec(schedules: [sched("oracle", "oracle"), scyc], seeds: [1], cycles: 4))
        #expect(md.contains("## Oracle"))
        #expect(md.contains("| lambda | m | schedule | seed | well-tuned peak | feasible [low, high] | S-Cyc peak (scyc) |"))
        // SPEC §4 worked example: max_lr(3) = 0.04546 (the SPEC prints it truncated, 0.0454; rounded
        // to 3 significant digits it is 0.0455), outside [0.05, 0.1]; max_lr(4) = 0.0671, inside [0.06, 0.08].
        #expect(md.contains("| 51.2 | 3 | oracle | 1 | 0.100 | [0.0500, 0.100] | 0.0455 **outside** |"))
        #expect(md.contains("| 41.0 | 4 | oracle | 1 | 0.0667 | [0.0600, 0.0800] | 0.0671 inside |"))
    }
}

@Suite struct ResultsCSVTests {
    @Test func headerAndOneLinePerRecord() {
        let recs = sampleRecords()
        let csv = ResultsCSV.render(records: recs)
        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines.first == "schedule,seed,cycle,lambda,measured_lambda,pruned_layers_lambda,peak_lr,best_val_accuracy,early_stop_test_accuracy,final_test_accuracy,train_loss,iterations,seconds,oracle_best_peak,oracle_feasible_low,oracle_feasible_high,oracle_candidates,layers")
        #expect(lines.count == recs.count + 2) // header, records, empty after the final CRLF
        #expect(lines.last == "")
        // Seed 1 sits 0.02 below the mean: early-stop 0.83, best validation +0.01, final -0.01; no pruned-layers figure in this record.
        #expect(lines[2] == "a,1,1,80.0,80.0,,0.1,0.84,0.83,0.82,0.25,100,1.5,,,,,fc1.weight=80.0;fc2.weight=80.0")
    }

    @Test func rfc4180Quoting() {
        #expect(ResultsCSV.field("plain") == "plain")
        #expect(ResultsCSV.field("a,b") == "\"a,b\"")
        #expect(ResultsCSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ResultsCSV.field("two\r\nlines") == "\"two\r\nlines\"")
        #expect(ResultsCSV.field("lf\nonly") == "\"lf\nonly\"")
        let csv = ResultsCSV.render(records: [record("warm,up", seed: 7, cycle: 0, acc: 0.5)])
        #expect(csv.components(separatedBy: "\r\n")[1].hasPrefix("\"warm,up\",7,0,100.0,"))
    }

    @Test func oracleColumns() {
        let o = CycleRecord.OracleOutcome(candidates: [.init(peak: 0.01, valAccuracy: 0.8), .init(peak: 0.1, valAccuracy: 0.85)],
                                          bestPeak: 0.1, feasibleLow: 0.05, feasibleHigh: 0.1)
        let line = ResultsCSV.render(records: [record("o", seed: 1, cycle: 0, acc: 0.5, oracle: o)]).components(separatedBy: "\r\n")[1]
        #expect(line.contains(",0.1,0.05,0.1,0.01=0.8;0.1=0.85,"))
    }
}

@Suite struct SVGPlotTests {
    @Test func accuracyPlotIsWellFormedWithOnePathPerSchedule() throws {
        let s = spec(schedules: [sched("a"), sched("b"), sched("c & <d>")])
        let recs = sampleRecords() + [record("c & <d>", seed: 1, cycle: 0, acc: 0.5)]
        let svg = ReportPlots.accuracy(records: recs, spec: s).render()
        let parsed = try #require(ElementCounter.parse(svg))
        #expect(parsed.counts["svg"] == 1)
        #expect(parsed.counts["path.series"] == 3)
        // Bands only where there is a spread (three seeds): a and b.
        #expect(parsed.counts["polygon.error"] == 2)
        #expect(svg.contains("c &amp; &lt;d&gt;"))
        // Log x axis over lambda 64 ... 100: the only 1-2-5 tick in range is 100, so the
        // axis falls back to 1 ... 9 x 10^k.
        #expect(parsed.texts["text.xtick"] == ["70", "80", "90", "100"])
        let xs = try xTickPositions(svg)
        #expect(xs == xs.sorted(by: >)) // reversed: larger lambda further left
    }

    @Test func logTicksOverTwentyCycles() {
        // lambda 100 ... 1.44 (padded): 1-2-5 ticks.
        #expect(SVGPlot.logTicks(lo: 1.3, hi: 110) == [2, 5, 10, 20, 50, 100])
        #expect(SVGPlot.logTicks(lo: 1e-4, hi: 0.1) == [1e-4, 2e-4, 5e-4, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1])
        // Too many 1-2-5 ticks: whole decades only.
        #expect(SVGPlot.logTicks(lo: 1e-6, hi: 1) == [1e-6, 1e-5, 1e-4, 0.001, 0.01, 0.1, 1])
        // Within one decade.
        #expect(SVGPlot.logTicks(lo: 0.035, hi: 0.065) == [0.04, 0.05, 0.06])
        #expect(SVGPlot.tickLabels([0.001, 0.01, 0.1, 1, 10], scale: .log) == ["0.001", "0.01", "0.1", "1", "10"])
    }

    @Test func linearTicks() {
        #expect(SVGPlot.linearTicks(lo: 0, hi: 10, integer: true) == [0, 2, 4, 6, 8, 10])
        #expect(SVGPlot.linearTicks(lo: 0, hi: 1) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(SVGPlot.tickLabels([0, 2.5, 5, 7.5], scale: .linear) == ["0.0", "2.5", "5.0", "7.5"])
        #expect(SVGPlot.linearTicks(lo: 0, hi: 3, integer: true) == [0, 1, 2, 3])
    }

    @Test func escapeAndEmptyPlot() throws {
        #expect(SVGPlot.escape("a<b & \"c\" 'd'>\u{1}") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        let empty = SVGPlot(title: "nothing", x: .init(label: "x", scale: .log), y: .init(label: "y"),
                            series: [.init(name: "s", points: [])]).render()
        let parsed = try #require(ElementCounter.parse(empty))
        #expect(parsed.counts["path.series"] == nil)
        #expect(empty.contains("no data"))
        #expect(!empty.contains("nan") && !empty.contains("inf"))
    }

    @Test func peakLRPlotUsesLogAxisForWideRanges() throws {
        let recs = [record("o", seed: 1, cycle: 0, acc: 0.5, peak: 1e-4), record("o", seed: 1, cycle: 1, acc: 0.5, peak: 0.1)]
        let svg = ReportPlots.peakLR(records: recs, spec: spec(schedules: [sched("o")], seeds: [1], cycles: 1)).render()
        let parsed = try #require(ElementCounter.parse(svg))
        #expect(parsed.counts["path.series"] == 1)
        #expect(parsed.texts["text.ytick"]?.contains("0.001") == true)
        #expect(parsed.texts["text.xtick"] == ["0", "1"])
    }

    /// x positions of the tick labels, in document order.
    func xTickPositions(_ svg: String) throws -> [Double] {
        svg.components(separatedBy: "\n").filter { $0.contains("class=\"xtick\"") }.compactMap { line in
            let after = line.components(separatedBy: "x=\"")[1]
            return Double(after.prefix { $0 != "\"" })
        }
    }
}

@Suite struct ReportRenderTests {
    @Test func rendersAllFilesFromTheStore() throws {
        let dir = try tempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = RunStore(directory: dir.path)
        let s = spec(schedules: [sched("a"), sched("b")])
        try store.claim(for: s)
        for name in ["a", "b"] {
            for seed: UInt64 in [1, 2, 3] {
                let recs = sampleRecords().filter { $0.schedule == name && $0.seed == seed }
                try AtomicFile.write(try RunStore.encodeLines(recs), to: store.recordsURL(schedule: name, seed: seed))
            }
        }
        let table = try Report.render(store: store)
        #expect(table.rows.count == 6)
        #expect(table.row(schedule: "b", cycle: 1).map(ReportFormat.meanStd) == "86.00 ± 2.00")
        for f in Report.files { #expect(FileManager.default.fileExists(atPath: store.file(f).path), "\(f)") }
        let md = try String(contentsOf: store.file("report.md"), encoding: .utf8)
        #expect(md.contains("| a | **90.00 ± 2.00** |"))
        let csv = try String(contentsOf: store.file("results.csv"), encoding: .utf8)
        #expect(csv.components(separatedBy: "\r\n").count == 18 + 2)
        for f in ["accuracy.svg", "peak_lr.svg"] {
            let svg = try String(contentsOf: store.file(f), encoding: .utf8)
            #expect(ElementCounter.parse(svg)?.counts["path.series"] == 2, "\(f)")
        }
        // No temporary files left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty)
    }
}
