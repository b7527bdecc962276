import NN
import Tensor

/// A structured-pruned network rebuilt with physically smaller dense layers (`compact`).
public struct CompactedModel {
    /// The smaller network: same layer order, parameter names, input shape and classes as
    /// the original, with removed channels gone from every tensor that held them.
    public let model: Model
    /// Per compacted unit (its weight's name, e.g. "conv3.weight"): the output channels kept,
    /// as indices into the original layer, ascending. Units not listed kept every channel.
    public let keptChannels: [String: [Int]]
    /// Per compacted unit: its original number of output channels.
    public let originalChannels: [String: Int]
    /// Per parameter of `model` that shrank (by name): for each of its entries, in order, the
    /// flat index of the entry of the original parameter it was copied from.
    public let sourceIndices: [String: [Int]]

    /// Channels removed in all.
    public var removedChannels: Int { keptChannels.reduce(0) { $0 + originalChannels[$1.key]! - $1.value.count } }
}

/// Builds a copy of `model` in which every removed unit of structured pruning is physically
/// gone: for each unit that `FilterUnits` marks exact, the output channels whose filter is
/// entirely masked and whose companions (bias, BatchNorm γ and β) are masked too — what
/// `pruneUnits` leaves — are deleted from the layer's weight and bias, from its BatchNorm
/// (γ, β, running mean and variance) and from the input channels of the weights that read
/// them (the next conv's kernels, the next Linear's columns, `H * W` of them after Flatten).
/// Such a channel outputs exactly 0 for every input, so the compacted network computes the
/// same function in training and evaluation mode, up to float rounding (its GEMMs sum fewer
/// zero terms, in a different blocking), and the same gradients at every kept weight.
///
/// What is never compacted, and why:
/// - the classifier's rows (the logits); its input columns do shrink;
/// - residual networks: only the first convolution of each basic block (with bn1 and the
///   second convolution's input channels), as PFEC (Li et al. 2017) does. The stem, each
///   block's second convolution and the projections feed the shortcut sum, where a removed
///   channel would have to be removed from every block of the stage at once; their pruned
///   filters stay in place, masked;
/// - a channel whose filter is dead but whose bias or BatchNorm is not masked (pruned by
///   `pruneFilters` alone): it still emits a constant;
/// - the last channel of a layer: when every channel is removable one stays, so no layer
///   ends up with zero width.
///
/// Kept entries keep their masks (sliced to the new shapes), so pruning can go on.
/// Parameters, running statistics and masks are copies: the original model is untouched
/// and the two never share state. Layers without parameters are new instances too.
/// Optimizer state (momentum, Adam moments) is kept per `Parameter` by the optimizer and is
/// not carried over: train the compacted model with a fresh optimizer.
///
/// Supports networks made of `Conv2d` (ungrouped), `Linear`, `BatchNorm2d`, `ResidualBlock`,
/// ReLU, max, average and global average pooling and `Flatten` (the zoo's mlp, lenet300,
/// lenet5, convnet, vgg* and resnet* models); anything else throws
/// `PruningError.cannotCompact`.
public func compact(_ model: Model) throws -> CompactedModel {
    let layers = model.network.layers
    for layer in layers where !compactable(layer) {
        throw PruningError.cannotCompact(model: model.name, layer: layer.summary)
    }
    let units = FilterUnits(model)
    var outputs: [ObjectIdentifier: [Int]] = [:]   // weight, bias, BN γ/β → kept output channels
    var inputs: [ObjectIdentifier: [Int]] = [:]    // reader weight → kept input channels
    var perChannel: [ObjectIdentifier: Int] = [:]  // reader weight → entries of a row per channel
    var kept: [String: [Int]] = [:], original: [String: Int] = [:]
    for unit in units.units where unit.exact && unit.weight !== units.classifier {
        let channels = unit.weight.value.shape[0]
        let dead = Set(deadFilters(unit.weight).filter { f in unit.companions.allSatisfy { ($0.mask?[f] ?? 1) == 0 } })
        guard !dead.isEmpty else { continue }
        var keep = (0..<channels).filter { !dead.contains($0) }
        if keep.isEmpty { keep = [0] }
        kept[unit.weight.name] = keep
        original[unit.weight.name] = channels
        for p in [unit.weight] + unit.companions { outputs[ObjectIdentifier(p)] = keep }
        for r in unit.readers {
            inputs[ObjectIdentifier(r.weight)] = keep
            perChannel[ObjectIdentifier(r.weight)] = r.entriesPerChannel
        }
    }
    let plan = CompactionPlan(outputs: outputs, inputs: inputs, perChannel: perChannel)
    let workspace = layers.lazy.compactMap { ($0 as? Conv2d)?.workspace ?? ($0 as? ResidualBlock)?.conv1.workspace }.first
    let ws = ConvWorkspace(maxColumnFloats: workspace?.maxColumnFloats ?? 1 << 16,
                           minimumGEMMColumns: workspace?.minimumGEMMColumns ?? 256)
    let rebuilt = layers.map { plan.rebuild($0, workspace: ws) }
    let network = Model(name: model.name, network: Sequential(rebuilt), inputShape: model.inputShape, classes: model.classes)
    return CompactedModel(model: network, keptChannels: kept, originalChannels: original, sourceIndices: plan.sources)
}

private func compactable(_ layer: any Layer) -> Bool {
    switch layer {
    case let c as Conv2d: return c.groups == 1 && c.kernelHeight == c.kernelWidth
    case is Linear, is BatchNorm2d, is ReLU, is MaxPool2d, is AvgPool2d, is GlobalAvgPool, is Flatten: return true
    case let b as ResidualBlock: return b.sublayers.allSatisfy { compactable($0) }
    default: return false
    }
}

/// Which channels each tensor keeps, and the copying that applies it.
private final class CompactionPlan {
    let outputs: [ObjectIdentifier: [Int]]
    let inputs: [ObjectIdentifier: [Int]]
    let perChannel: [ObjectIdentifier: Int]
    /// What `CompactedModel.sourceIndices` reports, filled by `copy`.
    var sources: [String: [Int]] = [:]

    init(outputs: [ObjectIdentifier: [Int]], inputs: [ObjectIdentifier: [Int]], perChannel: [ObjectIdentifier: Int]) {
        self.outputs = outputs
        self.inputs = inputs
        self.perChannel = perChannel
    }

    func kept(_ p: Parameter) -> [Int]? { outputs[ObjectIdentifier(p)] }

    func rebuild(_ layer: any Layer, workspace: ConvWorkspace) -> any Layer {
        switch layer {
        case let c as Conv2d: return conv(c, workspace: workspace)
        case let l as Linear:
            let rows = kept(l.weight), k = inputs[ObjectIdentifier(l.weight)]
            // Columns per input channel: the Flatten area, or 1.
            let perChannel = self.perChannel[ObjectIdentifier(l.weight)] ?? 1
            let outF = rows?.count ?? l.outFeatures, inF = (k?.count).map { $0 * perChannel } ?? l.inFeatures
            var rng = RNG(seed: 0)
            let n = Linear(inF, outF, bias: l.bias != nil, name: layerName(l.weight), initializer: .zeros, rng: &rng)
            copy(l.weight, into: n.weight, rows: rows, channels: k, perChannel: perChannel)
            if let b = l.bias, let nb = n.bias { copy(b, into: nb, rows: rows, channels: nil, perChannel: 1) }
            n.computesInputGradient = l.computesInputGradient
            return n
        case let bn as BatchNorm2d: return norm(bn)
        case let b as ResidualBlock:
            var rng = RNG(seed: 0)
            let inner = kept(b.conv1.weight)?.count ?? b.innerChannels
            let n = ResidualBlock(b.inChannels, b.outChannels, innerChannels: inner, stride: b.stride,
                                  name: String(layerName(b.conv1.weight).dropLast(".conv1".count)),
                                  initializer: .zeros, workspace: workspace, rng: &rng)
            for (from, to) in zip(b.conv1.parameters + b.bn1.parameters + b.conv2.parameters + b.bn2.parameters,
                                  n.conv1.parameters + n.bn1.parameters + n.conv2.parameters + n.bn2.parameters) {
                copyConvOrNorm(from, into: to, inputs: from === b.conv2.weight ? inputs[ObjectIdentifier(from)] : nil)
            }
            copyStatistics(b.bn1, into: n.bn1)
            copyStatistics(b.bn2, into: n.bn2)
            if let (c, bn) = b.projection, let (nc, nbn) = n.projection {
                for (from, to) in zip(c.parameters + bn.parameters, nc.parameters + nbn.parameters) {
                    copyConvOrNorm(from, into: to, inputs: nil)
                }
                copyStatistics(bn, into: nbn)
                nc.algorithm = c.algorithm
            }
            n.conv1.algorithm = b.conv1.algorithm
            n.conv2.algorithm = b.conv2.algorithm
            n.conv1.computesInputGradient = b.conv1.computesInputGradient
            return n
        case let r as ReLU: return ReLU(name: r.name)
        case let p as MaxPool2d: return MaxPool2d(kernel: p.kernel, stride: p.stride)
        case let p as AvgPool2d: return AvgPool2d(kernel: p.kernel, stride: p.stride)
        case is GlobalAvgPool: return GlobalAvgPool()
        case is Flatten: return Flatten()
        default: preconditionFailure("compact: unsupported layer \(layer.summary)")
        }
    }

    func conv(_ c: Conv2d, workspace: ConvWorkspace) -> Conv2d {
        var rng = RNG(seed: 0)
        let rows = kept(c.weight), k = inputs[ObjectIdentifier(c.weight)]
        let n = Conv2d(k?.count ?? c.inChannels, rows?.count ?? c.outChannels, kernel: c.kernelHeight, stride: c.stride,
                       padding: c.padding, bias: c.bias != nil, name: layerName(c.weight), initializer: .zeros,
                       workspace: workspace, rng: &rng)
        copy(c.weight, into: n.weight, rows: rows, channels: k, perChannel: c.kernelHeight * c.kernelWidth)
        if let b = c.bias, let nb = n.bias { copy(b, into: nb, rows: rows, channels: nil, perChannel: 1) }
        n.algorithm = c.algorithm
        n.computesInputGradient = c.computesInputGradient
        return n
    }

    func norm(_ bn: BatchNorm2d) -> BatchNorm2d {
        let rows = kept(bn.gamma)
        let n = BatchNorm2d(rows?.count ?? bn.channels, eps: bn.eps, momentum: bn.momentum, name: layerName(bn.gamma))
        copy(bn.gamma, into: n.gamma, rows: rows, channels: nil, perChannel: 1)
        copy(bn.beta, into: n.beta, rows: rows, channels: nil, perChannel: 1)
        copyStatistics(bn, into: n)
        return n
    }

    func copyStatistics(_ bn: BatchNorm2d, into n: BatchNorm2d) {
        let rows = kept(bn.gamma) ?? Array(0..<bn.channels)
        for (i, c) in rows.enumerated() {
            n.runningMean[i] = bn.runningMean[c]
            n.runningVar[i] = bn.runningVar[c]
        }
    }

    /// A conv weight (`[out, in, k, k]`) or a per-channel vector, with this plan's rows and
    /// the given input channels.
    func copyConvOrNorm(_ p: Parameter, into q: Parameter, inputs channels: [Int]?) {
        let shape = p.value.shape
        let perChannel = shape.count == 4 ? shape[2] * shape[3] : 1
        copy(p, into: q, rows: kept(p), channels: channels, perChannel: perChannel)
    }

    /// Copies value and mask of `p`, seen as `[rows, channels, perChannel]`, keeping the given
    /// rows and channels (nil: all), into `q` of the resulting shape.
    func copy(_ p: Parameter, into q: Parameter, rows: [Int]?, channels: [Int]?, perChannel k: Int) {
        let r = p.value.shape[0], rowSize = p.count / r, c = rowSize / k
        let keptRows = rows ?? Array(0..<r), keptChannels = channels ?? Array(0..<c)
        precondition(q.count == keptRows.count * keptChannels.count * k,
                     "compact: \(p.name) \(p.value.shape) does not map onto \(q.value.shape)")
        let mask = p.mask.map { _ in Tensor(shape: q.value.shape) }
        var o = 0, indices: [Int] = []
        indices.reserveCapacity(q.count)
        for row in keptRows {
            for ch in keptChannels {
                let base = row * rowSize + ch * k
                for j in 0..<k {
                    q.value[o] = p.value[base + j]
                    indices.append(base + j)
                    if let m = mask { m[o] = p.mask![base + j] }
                    o += 1
                }
            }
        }
        q.prunable = p.prunable
        if let mask { q.setMask(mask) }
        if q.count != p.count { sources[q.name] = indices }
    }
}

/// The layer prefix of a parameter name: "conv3.weight" → "conv3".
private func layerName(_ p: Parameter) -> String {
    guard let dot = p.name.lastIndex(of: ".") else { return p.name }
    return String(p.name[..<dot])
}

