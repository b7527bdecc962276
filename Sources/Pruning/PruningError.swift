/// Everything that can go wrong when pruning, as one clear line for the user.
public enum PruningError: Error, CustomStringConvertible {
    case invalidRate(Double)
    case invalidSparsity(Double)
    case unsupportedScope(criterion: String, scope: PruningScope)
    case noPrunableParameters
    case duplicateParameterName(String)
    case missingGradient(parameter: String)
    case shapeMismatch(what: String, parameter: String, expected: [Int], got: [Int])
    case invalidScore(parameter: String, index: Int, score: Float)
    case notFilterShaped(parameter: String, shape: [Int])
    case notInLookaheadChain(parameter: String)
    case lookaheadNeighbourMismatch(parameter: String, neighbour: String, detail: String)
    case snapshotMissing(parameter: String)
    case maskCountMismatch(expected: Int, got: Int)
    /// `compact` met a layer it cannot rebuild smaller.
    case cannotCompact(model: String, layer: String)

    public var description: String {
        switch self {
        case .invalidRate(let p):
            return "pruning rate \(p) is outside [0, 1]"
        case .invalidSparsity(let s):
            return "sparsity \(s) is outside [0, 1]"
        case .unsupportedScope(let c, let s):
            return "criterion '\(c)' does not support \(s) scope (SPEC §2)"
        case .noPrunableParameters:
            return "no parameter is selected for pruning"
        case .duplicateParameterName(let n):
            return "parameter name '\(n)' occurs twice; names must be unique to key gradients and snapshots"
        case .missingGradient(let n):
            return "no accumulated gradient given for parameter '\(n)'"
        case .shapeMismatch(let what, let n, let e, let g):
            return "\(what) for parameter '\(n)' has shape \(g), expected \(e)"
        case .invalidScore(let n, let i, let s):
            return "score \(s) at index \(i) of parameter '\(n)' is not a non-negative number (diverged weights?)"
        case .notFilterShaped(let n, let shape):
            return "parameter '\(n)' with shape \(shape) has no output filters (needs rank >= 2)"
        case .notInLookaheadChain(let n):
            return "parameter '\(n)' is not in the lookahead chain"
        case .lookaheadNeighbourMismatch(let n, let m, let d):
            return "lookahead: '\(n)' and its neighbour '\(m)' do not connect: \(d)"
        case .snapshotMissing(let n):
            return "weight snapshot has no entry for parameter '\(n)'"
        case .maskCountMismatch(let e, let g):
            return "mask lists differ in length: \(e) vs \(g)"
        case .cannotCompact(let m, let l):
            return "cannot compact model '\(m)': layer \(l) is not supported (compaction handles ungrouped convs, Linear, BatchNorm2d, residual blocks, ReLU, pooling and Flatten)"
        }
    }
}
