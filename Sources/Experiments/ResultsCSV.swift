import Foundation

/// `results.csv`: every record as one row (RFC 4180: CRLF line ends, fields holding a
/// comma, quote or line break are quoted with quotes doubled). Accuracies stay fractions
/// 0...1 and numbers keep full precision, so the file is input for further analysis.
package enum ResultsCSV {
    package static let header = [
        "schedule", "seed", "cycle", "lambda", "measured_lambda", "pruned_layers_lambda", "peak_lr",
        "best_val_accuracy", "early_stop_test_accuracy", "final_test_accuracy",
        "train_loss", "iterations", "seconds",
        "oracle_best_peak", "oracle_feasible_low", "oracle_feasible_high", "oracle_candidates", "layers",
    ]

    package static func render(records: [CycleRecord]) -> String {
        var out = line(header)
        for r in records {
            let o = r.oracle
            out += line([
                r.schedule, "\(r.seed)", "\(r.cycle)", number(r.percentRemaining), number(r.measuredPercentRemaining),
                r.prunedLayersPercentRemaining.map(number) ?? "",
                number(r.peakLR), number(r.bestValAccuracy), number(r.earlyStopTestAccuracy),
                number(r.finalTestAccuracy), number(r.trainLoss), "\(r.iterations)", number(r.seconds),
                o.map { number($0.bestPeak) } ?? "", o.map { number($0.feasibleLow) } ?? "",
                o.map { number($0.feasibleHigh) } ?? "",
                // Nested values as "key=value" pairs joined by ";" keep one row per record.
                o.map { $0.candidates.map { "\(number($0.peak))=\(number($0.valAccuracy))" }.joined(separator: ";") } ?? "",
                r.layers.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }.joined(separator: ";"),
            ])
        }
        return out
    }

    static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\r\n" }

    /// One RFC 4180 field.
    package static func field(_ s: String) -> String {
        // Scalars, not Characters: "\r\n" is one Character equal to neither "\r" nor "\n".
        guard s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Shortest text that reads back as the same Double; empty for NaN/inf, which CSV readers disagree on.
    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "" }
}
