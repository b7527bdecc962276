import Experiments
import Foundation

/// What every unit of a run directory is doing, from its files and claims.
public struct StudyStatus: Codable, Sendable {
    public enum State: String, Codable, Sendable { case pending, running, interrupted, finished }

    public struct Unit: Codable, Sendable {
        public var index: Int
        public var name: String
        public var state: State
        /// Finished cycles (cycle 0 counted) and how many the unit has; TV-PGD: 0 or 1 of 1.
        public var cyclesDone: Int
        public var cycles: Int
        public var iterations: Int
        /// Iterations finished, counted at cycle boundaries plus the running cycle's progress.
        public var iterationsDone: Int
        public var holder: ClaimHolder?
        public var progress: UnitProgress?
        /// Early-stop test accuracy (TV-PGD: final test accuracy) of the last finished cycle.
        public var lastAccuracy: Double?
    }

    public var directory: String
    public var units: [Unit]
    public var iterations: Int
    public var iterationsDone: Int
    /// From the finished units' recorded seconds per iteration; nil before any has finished a cycle.
    public var secondsLeft: Double?

    public init(directory: String) throws {
        let store = RunStore(directory: directory)
        let spec = try store.loadSpec()
        let claims = UnitClaims(directory: directory)
        self.directory = directory
        var units: [Unit] = []
        var seconds = 0.0, secondsIterations = 0
        let cycles = spec.tvpgd == nil ? spec.pruning.cycles + 1 : 1
        for u in try spec.units() {
            let lines = store.recordLines(of: u)
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            let stored = store.storedState(of: u, spec: spec)
            let done = spec.tvpgd == nil ? objects.count : (stored == .finished ? 1 : 0)
            let last = objects.last.flatMap { ($0["early_stop_test_accuracy"] ?? $0["final_test_accuracy"]) as? Double }
            var unit = Unit(index: u.index, name: u.name, state: .pending, cyclesDone: done, cycles: cycles, iterations: u.iterations,
                            iterationsDone: spec.iterations(of: u, firstCycles: done), holder: nil, progress: nil, lastAccuracy: last)
            // Recorded seconds cover every candidate of an oracle cycle, as the iterations counted here do.
            seconds += objects.reduce(0) { $0 + ($1["seconds"] as? Double ?? 0) }
            secondsIterations += unit.iterationsDone
            switch stored {
            case .finished:
                unit.state = .finished
                unit.iterationsDone = u.iterations
            case .pending, .interrupted:
                if let holder = claims.liveHolder(u) {
                    unit.state = .running
                    unit.holder = holder
                    unit.progress = UnitProgress.read(in: store.directory, unit: u)
                    if let p = unit.progress, p.iterations > 0 {
                        unit.iterationsDone = min(u.iterations, unit.iterationsDone + p.iteration)
                    }
                } else {
                    unit.state = stored == .interrupted ? .interrupted : .pending
                }
            }
            units.append(unit)
        }
        self.units = units
        iterations = units.reduce(0) { $0 + $1.iterations }
        iterationsDone = units.reduce(0) { $0 + $1.iterationsDone }
        secondsLeft = secondsIterations > 0 ? seconds / Double(secondsIterations) * Double(iterations - iterationsDone) : nil
    }

    public var finished: Int { units.filter { $0.state == .finished }.count }

    /// A human-readable table, one line per unit, then the totals.
    public func text() -> String {
        var out = "index  unit                                      state        cycles   where / progress\n"
        for u in units {
            var detail = ""
            if let h = u.holder {
                detail = "\(h.host) pid \(h.pid)"
                if let p = u.progress { detail += "  cycle \(p.cycle) iteration \(p.iteration)/\(p.iterations)" }
            }
            if let a = u.lastAccuracy { detail += (detail.isEmpty ? "" : "  ") + String(format: "last accuracy %.2f%%", 100 * a) }
            out += pad(String(u.index), 5, left: true) + "  " + pad(u.name, 41) + " " + pad(u.state.rawValue, 12) + " "
                + pad("\(u.cyclesDone)/\(u.cycles)", 6) + "   " + detail + "\n"
        }
        let counts = State.allCases.map { s in "\(units.filter { $0.state == s }.count) \(s.rawValue)" }.joined(separator: ", ")
        let percent = iterations > 0 ? 100 * Double(iterationsDone) / Double(iterations) : 100
        out += "\(units.count) units: \(counts); " + String(format: "%.1f%%", percent) + " of \(iterations) iterations done"
        if let s = secondsLeft, finished < units.count { out += ", about \(Self.duration(s)) of compute left" }
        return out
    }

    func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return left ? fill + s : s + fill
    }

    static func duration(_ s: Double) -> String {
        if s >= 3600 { return "\(Int(s) / 3600)h\(String(format: "%02d", Int(s) % 3600 / 60))m" }
        if s >= 60 { return "\(Int(s) / 60)m\(String(format: "%02d", Int(s) % 60))s" }
        return String(format: "%.0fs", s)
    }
}

extension StudyStatus.State: CaseIterable {}
