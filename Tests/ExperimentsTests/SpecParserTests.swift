import Testing
@testable import Experiments

private let valid = """
    name: fmnist-mlp-schedules
    data: {dataset: fashion-mnist, split: 60/20/20}
    model: mlp
    optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0001}
    training: {batch_size: 128, iterations_per_cycle: 2000, eval_every: 200}
    pruning: {criterion: magnitude, scope: global, rate: 0.2, cycles: 15, rewind: none}
    schedules:
      - {name: constant, kind: constant, lr: 0.05}
      - {name: lr-warmup, kind: warmup, peak: 0.1, warmup: 200, drops: [1000, 1500]}
      - {name: s-cyc, kind: scyc, epsilon: 0.05, delta: 0.1, q: 1, beta: 5, warmup: 200, drops: [1000, 1500]}
    seeds: [1, 2, 3]
    """

/// The parse error for `text`, or nil when it parses.
private func error(_ text: String) -> SpecError? {
    do { _ = try SpecParser.parse(text, file: "spec.yaml"); return nil } catch let e as SpecError { return e } catch {
        Issue.record("unexpected error type \(error)")
        return nil
    }
}

private func replacing(_ old: String, _ new: String) -> String {
    precondition(valid.contains(old))
    return valid.replacingOccurrences(of: old, with: new)
}

struct SpecParserTests {
    @Test func parsesTheIssueExample() throws {
        let s = try SpecParser.parse(valid)
        #expect(s.name == "fmnist-mlp-schedules")
        #expect(s.data.split == "60/20/20")
        #expect(s.training.iterationsPerCycle == 2000 && s.training.denseBudget == 2000)
        #expect(s.pruning.rate == 0.2 && s.pruning.cycles == 15)
        #expect(s.schedules.map(\.kind) == ["constant", "warmup", "scyc"])
        #expect(s.schedules[2].drops == [1000, 1500] && s.schedules[2].beta == 5)
        #expect(s.seeds == [1, 2, 3])
    }

    @Test func hashIsStableAndSensitive() throws {
        let a = try SpecParser.parse(valid), b = try SpecParser.parse(valid)
        #expect(a.hash == b.hash)
        #expect(a.hash != (try SpecParser.parse(replacing("rate: 0.2", "rate: 0.25"))).hash)
        // The data location does not change results, so it does not change the hash.
        #expect(a.hash == (try SpecParser.parse(replacing("split: 60/20/20}", "split: 60/20/20, data_dir: /tmp/x}"))).hash)
    }

    @Test func unknownKeyIsNamedWithItsLine() {
        let e = error(replacing("cycles: 15,", "cycles: 15, cycels: 3,"))
        #expect(e?.key == "pruning.cycels")
        #expect(e?.line == 6)
        #expect(e?.description == "spec.yaml:6: pruning.cycels: unknown key")
    }

    @Test func anUnknownExcludeNameIsAnErrorNamingIt() throws {
        let e = error(replacing("rewind: none}", "rewind: none, exclude: [fc3, fc9]}"))
        #expect(e?.key == "pruning.exclude")
        #expect(e?.line == 6)
        #expect(e?.message.contains("'fc9'") == true)
        #expect(e?.message.contains("fc1, fc2, fc3, fc4") == true)
        // Layer names and dotted prefixes of real parameters are fine.
        #expect(error(replacing("rewind: none}", "rewind: none, exclude: [fc4, fc1.weight]}")) == nil)
    }

    @Test func impossibleValuesAreRejected() {
        let cases: [(String, String, String)] = [
            ("rate: 0.2", "rate: 1.5", "pruning.rate"),
            ("rate: 0.2", "rate: 0", "pruning.rate"),
            ("batch_size: 128", "batch_size: -4", "training.batch_size"),
            ("batch_size: 128", "batch_size: many", "training.batch_size"),
            ("criterion: magnitude", "criterion: biggest", "pruning.criterion"),
            ("kind: constant", "kind: sawtooth", "schedules[0].kind"),
            ("model: mlp", "model: gpt5", "model"),
            ("name: sgd", "name: lbfgs", "optimizer.name"),
            ("split: 60/20/20", "split: 50/20/20", "data.split"),
            ("criterion: magnitude", "criterion: lookahead", "pruning.scope"),
        ]
        for (old, new, key) in cases {
            let e = error(replacing(old, new))
            #expect(e?.key == key, "\(new) should fail at \(key), got \(String(describing: e))")
        }
    }

    @Test func scheduleParametersAreCheckedAgainstTheBudget() {
        for (old, new) in [("lr: 0.05", "lr: -0.05"), ("peak: 0.1, warmup: 200", "peak: -0.1, warmup: 200"),
                           ("q: 1", "q: -1"), ("drops: [1000, 1500]}\nseeds", "drops: [1000, 2500]}\nseeds"),
                           ("beta: 5", "beta: 0")] {
            let e = error(replacing(old, new))
            #expect(e != nil, "\(new) should be rejected")
            #expect(e?.key.hasPrefix("schedules[") == true)
        }
    }

    @Test func malformedYAMLAndMissingKeys() {
        #expect(error("name: [unclosed")?.message.hasPrefix("malformed YAML") == true)
        #expect(error("- just\n- a list")?.message == "expected a YAML mapping at the top level")
        #expect(error(replacing("seeds: [1, 2, 3]", "")) == nil)  // seeds are optional
        #expect(error("name: x\nmodel: mlp\n")?.key == "schedules")
        #expect(error(replacing("name: fmnist-mlp-schedules", "name: a/b"))?.key == "name")
    }

    @Test func parametersOfAnotherKindAreRejected() {
        let e = error(replacing("- {name: constant, kind: constant, lr: 0.05}", "- {name: constant, kind: constant, lr: 0.05, drops: [10]}"))
        #expect(e?.key == "schedules[0].drops")
        #expect(e?.message.hasPrefix("not a parameter of kind constant") == true)
    }

    @Test func finetuneNeedsADenseSchedule() {
        let e = error(replacing("- {name: constant, kind: constant, lr: 0.05}", "- {name: ft, kind: finetune}"))
        #expect(e?.message.contains("dense_schedule") == true)
    }
}

struct SensitivitySweepTests {
    @Test func listsOfQAndBetaExpandIntoOneSchedulePerPair() throws {
        let s = try SpecParser.parse("""
            name: sweep
            pruning: {rate: 0.2, cycles: 5}
            training: {iterations_per_cycle: 100}
            schedules:
              - {name: s-cyc, kind: scyc, epsilon: 0.04, delta: 0.06, q: [0, 1, 3], beta: [3, 6], warmup: 10}
              - {name: constant, kind: constant, lr: 0.1}
            """)
        #expect(s.schedules.map(\.name) == ["s-cyc q=0 beta=3", "s-cyc q=0 beta=6", "s-cyc q=1 beta=3",
                                            "s-cyc q=1 beta=6", "s-cyc q=3 beta=3", "s-cyc q=3 beta=6", "constant"])
        #expect(s.schedules[5].q == 3 && s.schedules[5].beta == 6)
    }

    @Test func sweepsAreValidatedAndOnlyForSCyc() {
        #expect(throws: SpecError.self) {
            try SpecParser.parse("name: x\nschedules:\n  - {name: s, kind: scyc, epsilon: 0.04, delta: 0.06, q: [1, -1]}")
        }
        #expect(throws: SpecError.self) {
            try SpecParser.parse("name: x\nschedules:\n  - {name: s, kind: warmup, peak: 0.1, beta: [3, 4]}")
        }
    }
}
