import Data
import Foundation
import NN
import Tensor

/// Where a TV-PGD unit stands between two iterations, besides the model's weights, masks and
/// buffers (the checkpoint's tensors): what `TVPGDRunner`'s loop carries, so a stopped unit
/// continues with exactly the steps of one never stopped. Times are not part of it.
struct TVPGDProgress {
    /// Iterations done.
    var iteration: Int
    /// The current masks of the pruned weights, the first cycle's (mask distance), and which
    /// entries were ever pruned (weight recovery).
    var masks: [[Float]]
    var firstCycleMasks: [[Float]]?
    var everPruned: [[Bool]]
    var recovered: Int
    var maskInstalled: Bool
    var earlyStop: EarlyStopAccuracy
    var records: [TVPGDRecord]
    var optimizer: OptimizerState
    var batcher: Batcher.State
    var dropout: [[UInt64]]

    private struct Header: Codable {
        var iteration: Int
        var recovered: Int
        var maskInstalled: Bool
        var earlyStop: EarlyStopAccuracy
        var records: [TVPGDRecord]
        var batcher: Batcher.State
        var dropout: [[UInt64]]
        var optimizerSlots: [Int]
        var optimizerSteps: [Int]
        var hasFirstCycleMasks: Bool
    }

    func encoded() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let header = Header(iteration: iteration, recovered: recovered, maskInstalled: maskInstalled, earlyStop: earlyStop,
                            records: records, batcher: batcher, dropout: dropout, optimizerSlots: optimizer.slots.map(\.count),
                            optimizerSteps: optimizer.steps, hasFirstCycleMasks: firstCycleMasks != nil)
        var w = BinaryWriter()
        w.bytes(try enc.encode(header))
        // Float groups: optimizer slots (flattened), masks, ever-pruned (0/1), first-cycle masks.
        let slots: [[Float]] = optimizer.slots.flatMap { $0 }
        let ever: [[Float]] = everPruned.map { $0.map { $0 ? 1 : 0 } }
        for group in [slots, masks, ever, firstCycleMasks ?? []] {
            w.u64(UInt64(group.count))
            for a in group { w.floats(a) }
        }
        return w.data
    }

    /// Reads what `encoded()` wrote for `model` and its pruned `weights`.
    static func decode(_ data: Data, model: Model, weights: [Parameter], file: String) throws -> TVPGDProgress {
        func bad(_ r: String) -> RunError { .corruptCheckpoint(file, reason: "TV-PGD state: \(r)") }
        var r = BinaryReader(data, bad: bad)
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: try r.bytes()) } catch let e as RunError { throw e } catch {
            throw bad("unreadable")
        }
        var groups: [[[Float]]] = []
        for _ in 0..<4 { groups.append(try (0..<(try r.count())).map { _ in try r.floats() }) }
        guard r.atEnd else { throw bad("trailing bytes") }
        let fits = { (g: [[Float]]) in g.count == weights.count && zip(g, weights).allSatisfy { $0.count == $1.count } }
        let parameters = model.parameters
        guard header.optimizerSlots.count == parameters.count, header.optimizerSlots.allSatisfy({ $0 >= 0 }),
              header.optimizerSlots.reduce(0, +) == groups[0].count else { throw bad("optimizer state does not fit the model") }
        var slots: [[[Float]]] = []
        var next = 0
        for n in header.optimizerSlots {
            slots.append(Array(groups[0][next..<next + n]))
            next += n
        }
        guard fits(groups[1]), groups[2].isEmpty || fits(groups[2]), !header.hasFirstCycleMasks || fits(groups[3]) else {
            throw bad("masks do not fit the model")
        }
        return TVPGDProgress(iteration: header.iteration, masks: groups[1], firstCycleMasks: header.hasFirstCycleMasks ? groups[3] : nil,
                             everPruned: groups[2].map { $0.map { $0 != 0 } }, recovered: header.recovered,
                             maskInstalled: header.maskInstalled, earlyStop: header.earlyStop, records: header.records,
                             optimizer: OptimizerState(slots: slots, steps: header.optimizerSteps),
                             batcher: header.batcher, dropout: header.dropout)
    }
}
