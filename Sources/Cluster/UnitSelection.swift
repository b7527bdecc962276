import Foundation

/// Which units a `--unit` / `--units` argument names: `3`, `0,3,5-7`, or `env`, which reads
/// the array index a scheduler gives each task: Slurm's `SLURM_ARRAY_TASK_ID`, else the
/// `JOB_COMPLETION_INDEX` of a Kubernetes indexed Job.
public enum UnitSelection {
    public static let environmentKeys = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]

    /// The indices `text` names, each checked against `count` units.
    public static func parse(_ text: String, count: Int, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [Int] {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text == "env" {
            guard let key = environmentKeys.first(where: { environment[$0] != nil }), let value = environment[key] else {
                throw SelectionError("--unit env: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor JOB_COMPLETION_INDEX (Kubernetes indexed Job) is set")
            }
            guard Int(value) != nil else { throw SelectionError("--unit env: \(key)=\(value) is not a unit index") }
            text = value
        }
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let lo = Int(bounds[0]), let hi = Int(bounds.last!), lo <= hi else {
                throw SelectionError("--unit: '\(part)' in '\(text)' is not an index or a range like 5-7")
            }
            guard lo >= 0, hi < count else {
                throw SelectionError("--unit: \(part) is out of range: the spec has \(count) units (0-\(count - 1); see topiary plan)")
            }
            for i in lo...hi where !out.contains(i) { out.append(i) }
        }
        return out
    }
}

/// A malformed unit selection, as one line.
public struct SelectionError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
