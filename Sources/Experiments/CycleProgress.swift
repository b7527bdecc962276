import Data
import Foundation
import NN
import Pruning

/// Where one cycle of `Runner` stands between two iterations: everything the rest of the
/// cycle and its record depend on besides the model's weights, masks and buffers (the
/// checkpoint's tensors hold those). A signal stops a unit after an iteration; this value,
/// stored in a mid-cycle checkpoint, lets `--resume` take exactly the steps the uninterrupted
/// run takes. The learning rate is a function of the iteration, so schedules keep no state;
/// wall-clock times are not part of it (a record's `seconds` may differ).
struct CycleProgress {
    /// The cycle being trained (its pruning and rewinding are done).
    var cycle: Int
    /// Which of the cycle's candidate peaks (one, or the oracle's grid) is training.
    var candidate: Int
    /// Oracle: the candidates finished so far (peak, best validation accuracy) and the best.
    var candidates: [CycleRecord.Candidate]
    var best: Best?
    /// The state every candidate starts from (oracle only).
    var start: ModelState?
    /// The training candidate's loop (iteration, early-stop progress, loss sums), optimizer
    /// (momentum, moments, step counts), data stream (this epoch's order, the position in it
    /// and the generator that shuffles later epochs and draws augmentation) and Dropout streams.
    var training: TrainingState
    var optimizer: OptimizerState
    var batcher: Batcher.State
    var dropout: [[UInt64]]
    /// Taken during this candidate, when already due: late rewinding's weights at iteration k,
    /// diagnostics' weights at the start of the cycle's last epoch (EWG).
    var captured: WeightSnapshot?
    var epochStart: [[Float]]?

    /// The best finished candidate: its result, the state it ended with (when there are
    /// several candidates) and what it captured.
    struct Best {
        var peak: Double
        var training: TrainingState
        var state: ModelState?
        var captured: WeightSnapshot?
        var epochStart: [[Float]]?
    }

    /// The scalar part, as JSON; the float arrays follow it in named groups.
    private struct Header: Codable {
        var cycle: Int
        var candidate: Int
        var candidates: [CycleRecord.Candidate]
        var bestPeak: Double?
        var bestTraining: TrainingState?
        var training: TrainingState
        var batcher: Batcher.State
        var dropout: [[UInt64]]
        var optimizerSlots: [Int]
        var optimizerSteps: [Int]
        var groups: [String]
    }

    private static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        // A diverged oracle candidate can leave a NaN or infinite loss sum.
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    private static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    func encoded() throws -> Data {
        var groups: [(String, [[Float]])] = [("optimizer", optimizer.slots.flatMap { $0 })]
        func add(_ name: String, _ arrays: [[Float]]?) { if let arrays { groups.append((name, arrays)) } }
        add("start.values", start?.values)
        add("start.buffers", start?.buffers)
        add("captured", captured?.entries.map(\.values))
        add("epoch-start", epochStart)
        add("best.values", best?.state?.values)
        add("best.buffers", best?.state?.buffers)
        add("best.captured", best?.captured?.entries.map(\.values))
        add("best.epoch-start", best?.epochStart)
        let header = Header(cycle: cycle, candidate: candidate, candidates: candidates, bestPeak: best?.peak,
                            bestTraining: best?.training, training: training, batcher: batcher, dropout: dropout,
                            optimizerSlots: optimizer.slots.map(\.count), optimizerSteps: optimizer.steps,
                            groups: groups.map(\.0))
        var w = BinaryWriter()
        w.bytes(try Self.encoder().encode(header))
        for (_, arrays) in groups {
            w.u64(UInt64(arrays.count))
            for a in arrays { w.floats(a) }
        }
        return w.data
    }

    /// Reads what `encoded()` wrote for `model`; anything that does not fit it is a corrupt checkpoint.
    static func decode(_ data: Data, model: Model, file: String) throws -> CycleProgress {
        func bad(_ r: String) -> RunError { .corruptCheckpoint(file, reason: "mid-cycle state: \(r)") }
        var r = BinaryReader(data, bad: bad)
        let header: Header
        do { header = try decoder().decode(Header.self, from: try r.bytes()) } catch let e as RunError { throw e } catch {
            throw bad("unreadable")
        }
        var groups: [String: [[Float]]] = [:]
        for name in header.groups {
            groups[name] = try (0..<(try r.count())).map { _ in try r.floats() }
        }
        guard r.atEnd else { throw bad("trailing bytes") }
        let parameters = model.parameters
        func snapshot(_ name: String) throws -> WeightSnapshot? {
            guard let values = groups[name] else { return nil }
            guard values.count == parameters.count, zip(values, parameters).allSatisfy({ $0.count == $1.count }) else {
                throw bad("\(name) does not fit the model")
            }
            return WeightSnapshot(entries: zip(parameters, values).map { .init(name: $0.name, shape: $0.value.shape, values: $1) })
        }
        func state(_ prefix: String) throws -> ModelState? {
            guard let values = groups[prefix + ".values"] else { return nil }
            guard let s = ModelState(values: values, buffers: groups[prefix + ".buffers"] ?? [], fitting: model) else {
                throw bad("\(prefix) does not fit the model")
            }
            return s
        }
        // Optimizer slots: per parameter, header.optimizerSlots[i] arrays in a row.
        let flat = groups["optimizer"] ?? []
        guard header.optimizerSlots.count == parameters.count, header.optimizerSlots.allSatisfy({ $0 >= 0 }),
              header.optimizerSlots.reduce(0, +) == flat.count else { throw bad("optimizer state does not fit the model") }
        var slots: [[[Float]]] = []
        var next = 0
        for n in header.optimizerSlots {
            slots.append(Array(flat[next..<next + n]))
            next += n
        }
        var best: Best?
        if let peak = header.bestPeak, let training = header.bestTraining {
            best = Best(peak: peak, training: training, state: try state("best"), captured: try snapshot("best.captured"),
                        epochStart: groups["best.epoch-start"])
        }
        return CycleProgress(cycle: header.cycle, candidate: header.candidate, candidates: header.candidates, best: best,
                             start: try state("start"), training: header.training,
                             optimizer: OptimizerState(slots: slots, steps: header.optimizerSteps),
                             batcher: header.batcher, dropout: header.dropout,
                             captured: try snapshot("captured"), epochStart: groups["epoch-start"])
    }
}
