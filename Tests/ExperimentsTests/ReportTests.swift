import Foundation
import Testing
@testable import Experiments

@Suite struct ReportTableTests {
    @Test func meanAndSampleStdOverThreeSeeds() throws {
        let s = spec(schedules: [sched("a")], cycles: 0)
        let t = ReportTable(records: [0.80, 0.82, 0.84].enumerated().map { record("a", seed: UInt64($0), cycle: 0, acc: $1) }, spec: s)
        let row = try #require(t.row(schedule: "a", cycle: 0))
        // mean 0.82; deviations ±0.02 and 0: (0.0004 + 0.0004) / (3 - 1) = 0.0004, sqrt = 0.02.
        #expect(abs(row.mean - 0.82) < 1e-12)
        #expect(abs(row.std - 0.02) < 1e-12)
        #expect(row.runs == 3)
        #expect(ReportFormat.meanStd(row) == "82.00 ± 2.00")
    }

    @Test func singleSeedHasZeroStd() throws {
        let t = ReportTable(records: [record("a", seed: 1, cycle: 0, acc: 0.9)], spec: spec(schedules: [sched("a")]))
        let row = try #require(t.row(schedule: "a", cycle: 0))
        #expect(row.std == 0 && row.runs == 1 && row.mean == 0.9)
    }

    @Test func rowsInSpecOrderThenCycle() {
        let s = spec(schedules: [sched("zeta"), sched("alpha")])
        let recs = [record("alpha", seed: 1, cycle: 1, acc: 0.5), record("alpha", seed: 1, cycle: 0, acc: 0.5),
                    record("zeta", seed: 1, cycle: 0, acc: 0.5), record("other", seed: 1, cycle: 0, acc: 0.5)]
        let rows = ReportTable(records: recs, spec: s).rows
        #expect(rows.map(\.schedule) == ["zeta", "alpha", "alpha", "other"])
        #expect(rows.map(\.cycle) == [0, 0, 1, 0])
        #expect(abs(rows[2].percentRemaining - 80) < 1e-9)
    }

    @Test func duplicateCycleCountsOnceWithItsLastRecord() throws {
        let recs = [record("a", seed: 1, cycle: 0, acc: 0.1), record("a", seed: 1, cycle: 0, acc: 0.7)]
        let row = try #require(ReportTable(records: recs, spec: spec(schedules: [sched("a")])).row(schedule: "a", cycle: 0))
        #expect(row.runs == 1 && row.mean == 0.7)
    }

    @Test func jsonKeys() throws {
        let t = ReportTable(rows: [ReportRow(schedule: "a", cycle: 1, percentRemaining: 80, mean: 0.5, std: 0.25, runs: 2)])
        let json = String(decoding: try Report.json(t), as: UTF8.self)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(Set(obj[0].keys) == ["schedule", "cycle", "percent_remaining", "mean", "std", "runs"])
        #expect(try JSONDecoder().decode(ReportTable.self, from: Data(json.utf8)) == t)
    }
}

@Suite struct ReportFormatTests {
    @Test func lambdaThreeSignificantDigits() {
        let expected = ["100", "80.0", "64.0", "51.2", "41.0", "32.8", "26.2", "21.0", "16.8", "13.4", "10.7",
                        "8.59", "6.87", "5.50", "4.40", "3.52", "2.81", "2.25", "1.80", "1.44"]
        let got = (0..<20).map { ReportFormat.lambda(100 * pow(0.8, Double($0))) }
        #expect(got == expected)
        // Rounding up to a new digit keeps three significant digits, not four.
        #expect(ReportFormat.lambda(9.996) == "10.0")
        #expect(ReportFormat.lambda(0.5724) == "0.572")
    }

    @Test func learningRates() {
        #expect(ReportFormat.learningRate(0.04) == "0.0400")
        #expect(ReportFormat.learningRate(0.045_35) == "0.0454")
        #expect(ReportFormat.learningRate(0.0001) == "1.00e-04")
        #expect(ReportFormat.learningRate(0.1) == "0.100")
    }
}
