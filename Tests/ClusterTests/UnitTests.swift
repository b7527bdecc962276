import Foundation
import Testing
@testable import Cluster
import Experiments

struct UnitSelectionTests {
    @Test func parsesIndicesRangesAndTheEnvironment() throws {
        #expect(try UnitSelection.parse("3", count: 8) == [3])
        #expect(try UnitSelection.parse("0,3,5-7", count: 8) == [0, 3, 5, 6, 7])
        #expect(try UnitSelection.parse("env", count: 8, environment: ["SLURM_ARRAY_TASK_ID": "4"]) == [4])
        #expect(try UnitSelection.parse("env", count: 8, environment: ["JOB_COMPLETION_INDEX": "2"]) == [2])
        for bad in ["8", "-1", "2-1", "x", "1,,2", "1-2-3"] {
            #expect(throws: SelectionError.self) { try UnitSelection.parse(bad, count: 8) }
        }
        #expect(throws: SelectionError.self) { try UnitSelection.parse("env", count: 8, environment: [:]) }
    }

    @Test func unitsAreSeedMajorAndNamedAsTheirFiles() throws {
        let units = try tinySpec().units()
        #expect(units.map(\.name) == ["constant--seed1", "s-cyc--seed1", "constant--seed2", "s-cyc--seed2"])
        #expect(units.map(\.index) == [0, 1, 2, 3])
        #expect(units.allSatisfy { $0.iterations == 3 * 20 })
    }
}

@Suite(.serialized) struct UnitIndependenceTests {
    @Test func aUnitAloneGivesTheRecordsOfTheFullRun() throws {
        let spec = try tinySpec()
        let full = tempDir(), alone = tempDir()
        defer { try? FileManager.default.removeItem(atPath: full); try? FileManager.default.removeItem(atPath: alone) }
        try Runner(spec: spec, directory: full).run(resume: false)
        let units = try spec.units()
        // The last unit alone, then the first: neither sees a neighbour before it.
        for k in [3, 0] {
            let ran = try Runner(spec: spec, directory: alone).run(resume: false, only: [k])
            #expect(ran.map(\.index) == [k])
            #expect(records(alone, units[k]) == records(full, units[k]))
            #expect(records(alone, units[k]).count == 3)
        }
        #expect(records(alone, units[1]).isEmpty)
    }

    @Test func aTVPGDUnitAloneGivesTheRecordsOfTheFullRun() throws {
        let spec = try SpecParser.parse("""
            name: tv
            data: {dataset: synthetic}
            model: mlp
            training: {batch_size: 64, eval_every: 20}
            method: tv-pgd
            tvpgd:
              iterations: 40
              dense_iterations: 20
              dt: 5
              targets: [0.5, 0.8]
              methods:
                - {name: one-shot, kind: one-shot}
                - {name: cyc, kind: cyclical, cycles: 2}
            seeds: [1, 2]
            """)
        let units = try spec.units()
        #expect(units.count == 8)
        let full = tempDir(), alone = tempDir()
        defer { try? FileManager.default.removeItem(atPath: full); try? FileManager.default.removeItem(atPath: alone) }
        try TVPGDRunner(spec: spec, directory: full).run()
        for k in [7, 5] {
            try TVPGDRunner(spec: spec, directory: alone).run(only: [k])
            #expect(!records(alone, units[k]).isEmpty)
            #expect(records(alone, units[k]) == records(full, units[k]))
        }
        // The report of the unfinished study renders what is there and names what is missing.
        let store = RunStore(directory: alone)
        try TVPGDReport.render(store: store, spec: spec, records: try TVPGDRunner(spec: spec, directory: alone).allRecords())
        let md = try String(contentsOf: store.file("report.md"), encoding: .utf8)
        #expect(md.contains("6 of 8 runs have no records yet"))
        #expect(md.contains("- unit 0: method one-shot, target 0.5, seed 1\n"))
        #expect(!md.contains("- unit 7:") && !md.contains("- unit 5:"))
    }
}
