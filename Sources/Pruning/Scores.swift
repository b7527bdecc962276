import NN
import Tensor

/// Per-weight scores for each criterion, as flat `Float` arrays aligned with the
/// parameter's storage. Entries that are already pruned get a score too (it is never
/// looked at: the ranking skips them), except LAMP, whose denominator must see only
/// the unpruned weights.
public enum PruningScores {
    /// `|w|`.
    public static func magnitude(_ p: Parameter) -> [Float] {
        let v = p.value.data
        return [Float](unsafeUninitializedCapacity: p.count) { out, n in
            for i in 0..<p.count { out[i] = abs(v[i]) }
            n = p.count
        }
    }

    /// `|w * g|` with `g` the caller's accumulated gradient.
    public static func saliency(_ p: Parameter, gradient g: Tensor) throws -> [Float] {
        guard g.shape == p.value.shape else {
            throw PruningError.shapeMismatch(what: "accumulated gradient", parameter: p.name,
                                             expected: p.value.shape, got: g.shape)
        }
        let v = p.value.data, gd = g.data
        return [Float](unsafeUninitializedCapacity: p.count) { out, n in
            for i in 0..<p.count { out[i] = abs(v[i] * gd[i]) }
            n = p.count
        }
    }

    /// Uniform scores in [0, 1), drawn in order from `rng`.
    public static func random(count: Int, rng: inout RNG) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, n in
            for i in 0..<count { out[i] = rng.uniform() }
            n = count
        }
    }

    /// LAMP over the unpruned weights of one layer: ascending by `|w|` (ties by index),
    /// the weight at sorted index `u` scores `w_u^2 / sum_{v>=u} w_v^2`. The suffix sums
    /// run in `Double` so tiny weights next to large ones keep their relative order.
    /// A layer whose remaining weights are all zero scores 0 throughout (0/0).
    public static func lamp(_ p: Parameter) throws -> [Float] {
        let v = p.value.data, n = p.count
        let m = p.mask?.data
        // Keys go through buffers (no per-element capacity or bounds checks); every index
        // comes from `0..<n`, so the writes are in range.
        var bad: Int?
        var keys = [UInt64](unsafeUninitializedCapacity: n) { out, written in
            var k = 0
            for i in 0..<n where m.map({ $0[i] != 0 }) ?? true {
                let a = abs(v[i])
                guard a >= 0 else { bad = i; break }
                out[k] = LowestSelection.key(a, i)
                k &+= 1
            }
            written = k
        }
        if let i = bad { throw PruningError.invalidScore(parameter: p.name, index: i, score: abs(v[i])) }
        LowestSelection.sort(&keys)
        var scores = [Float](repeating: 0, count: n)
        scores.withUnsafeMutableBufferPointer { out in
            keys.withUnsafeBufferPointer { sorted in
                var suffix = 0.0
                for key in sorted.reversed() {
                    let i = Int(key & 0xFFFF_FFFF)
                    let sq = Double(v[i]) * Double(v[i])
                    suffix += sq
                    out[i] = suffix > 0 ? Float(sq / suffix) : 0
                }
            }
        }
        return scores
    }

    /// Lookahead scores of `p`, the `index`-th tensor of `chain`:
    /// `|W[j,k,...]| * ||W_prev[k,...]|| * ||W_next[:,j,...]||`.
    ///
    /// Where a convolution feeds a Linear layer through a flatten, the Linear's `in` is a
    /// multiple of the channel count; with NCHW flattening (channel-major) input unit `k`
    /// belongs to channel `k / (in / channels)`, so it takes that channel's norm, and the
    /// channel's outgoing norm covers all the columns it feeds.
    public static func lookahead(chain: [Parameter], index: Int) throws -> [Float] {
        let p = chain[index]
        guard p.value.rank >= 2 else { throw PruningError.notFilterShaped(parameter: p.name, shape: p.value.shape) }
        let out = p.value.shape[0], inn = p.value.shape[1]
        let spatial = p.count / Swift.max(out * inn, 1)

        var prevNorm = [Float](repeating: 1, count: inn)
        if index > 0 {
            let q = chain[index - 1]
            let qOut = q.value.shape[0], row = q.count / Swift.max(qOut, 1)
            guard qOut > 0, inn % qOut == 0 else {
                throw PruningError.lookaheadNeighbourMismatch(
                    parameter: p.name, neighbour: q.name,
                    detail: "\(inn) inputs cannot come from \(qOut) outputs")
            }
            let group = inn / qOut, qv = q.value.data
            var rowNorm = [Float](repeating: 0, count: qOut)
            for r in 0..<qOut {
                var s = 0.0
                for c in 0..<row { let x = Double(qv[r * row + c]); s += x * x }
                rowNorm[r] = Float(s.squareRoot())
            }
            for k in 0..<inn { prevNorm[k] = rowNorm[k / group] }
        }

        var nextNorm = [Float](repeating: 1, count: out)
        if index + 1 < chain.count {
            let q = chain[index + 1]
            guard q.value.rank >= 2 else {
                throw PruningError.notFilterShaped(parameter: q.name, shape: q.value.shape)
            }
            let qOut = q.value.shape[0], qIn = q.value.shape[1]
            let qSpatial = q.count / Swift.max(qOut * qIn, 1)
            guard out > 0, qIn % out == 0 else {
                throw PruningError.lookaheadNeighbourMismatch(
                    parameter: p.name, neighbour: q.name,
                    detail: "\(out) outputs cannot feed \(qIn) inputs")
            }
            let group = qIn / out, qv = q.value.data
            var sums = [Double](repeating: 0, count: out)
            for r in 0..<qOut {
                for c in 0..<qIn {
                    let base = (r * qIn + c) * qSpatial
                    var s = 0.0
                    for t in 0..<qSpatial { let x = Double(qv[base + t]); s += x * x }
                    sums[c / group] += s
                }
            }
            for j in 0..<out { nextNorm[j] = Float(sums[j].squareRoot()) }
        }

        let v = p.value.data
        var scores = [Float](repeating: 0, count: p.count)
        for j in 0..<out {
            for k in 0..<inn {
                let f = nextNorm[j] * prevNorm[k], base = (j * inn + k) * spatial
                for t in 0..<spatial { scores[base + t] = abs(v[base + t]) * f }
            }
        }
        return scores
    }
}
