import NN

/// One output filter (conv) or neuron (Linear row) family of a prunable weight, as
/// structured pruning removes it (SPEC §1: filter, bias, BatchNorm affine, next layer's
/// kernels that read it).
public struct FilterUnit {
    /// A weight that reads this unit's output channels as its input channels.
    public struct Reader {
        public let weight: Parameter
        /// Consecutive entries of each row of `weight` that read one channel: `kh * kw` for a
        /// conv, 1 for a Linear after global pooling, `H * W` for a Linear after Flatten.
        public let entriesPerChannel: Int
    }

    /// `[out, ...]`: filter `c` is slice `c` along dimension 0.
    public let weight: Parameter
    /// `[out]`-shaped parameters that act on output channel `c` alone: the layer's bias and
    /// the γ and β of BatchNorms the channel passes through before its next weight.
    public let companions: [Parameter]
    public let readers: [Reader]
    /// True when `readers` are every consumer of the channel, so a removed filter is gone
    /// from the network. False where the channel also reaches a skip connection, a
    /// concatenation or a layer this description does not follow: there only the filter
    /// and its companions are zeroed.
    public let exact: Bool
}

/// Which parameters belong to which output channel, for every prunable weight of a network.
///
/// Follows the top-level layers of the network in order. A channel is followed through
/// layers that keep channels apart and map 0 to 0 (ReLU, ReLU6, GELU, pooling, Flatten,
/// Dropout), collecting BatchNorms on the way, up to the next Linear or ungrouped conv,
/// whose input kernels reading it become its readers. What that gives per zoo model:
///
/// - mlp, lenet300, lenet5, convnet, vgg*: every hidden layer is exact: filter, bias,
///   BN γ/β and the next layer's input kernels (conv: the `[o, c, :, :]` kernels; the
///   first Linear after Flatten: the `H * W` columns of the channel).
/// - resnet*: the first conv of each basic block is exact (its output feeds only the
///   block's second conv, through bn1 and ReLU). The stem, each block's second conv and
///   the projection shortcuts feed a residual sum: filter and BN only.
/// - mobilenetv2: the last 1x1 conv (conv2 → BN → ReLU6 → pool → fc) is exact; the stem
///   and the convs inside inverted residual blocks get filter and BN only.
/// - densenet40: outputs are concatenated and normalised later per consumer: filter only.
/// - vit-tiny and any other layer: filter and the layer's own bias (`X.weight` → `X.bias`).
///
/// The classifier, the network's last prunable weight, is reported separately: its rows
/// are the class logits, which structured pruning never removes.
public struct FilterUnits {
    public let units: [FilterUnit]
    public let classifier: Parameter?

    public subscript(weightName: String) -> FilterUnit? { units.first { $0.weight.name == weightName } }

    public init(units: [FilterUnit], classifier: Parameter?) {
        self.units = units
        self.classifier = classifier
    }

    public init(_ model: Model) { self.init(layers: model.network.layers) }

    public init(layers: [any Layer]) {
        var units: [FilterUnit] = []
        // The unit whose channels flow unchanged through the current layer, if any.
        var open: (weight: Parameter, companions: [Parameter])?
        func close(reader: FilterUnit.Reader?) {
            guard let o = open else { return }
            units.append(FilterUnit(weight: o.weight, companions: o.companions,
                                    readers: reader.map { [$0] } ?? [], exact: reader != nil))
            open = nil
        }
        func start(_ weight: Parameter, _ companions: [Parameter?]) {
            open = (weight, companions.compactMap { $0 })
        }
        // A BatchNorm of the open unit's channels, one γ/β entry per channel.
        func follow(_ gamma: Parameter, _ beta: Parameter) {
            guard let o = open else { return }
            if gamma.value.shape == [o.weight.value.shape[0]] { open!.companions += [gamma, beta] } else { close(reader: nil) }
        }
        for layer in layers {
            switch layer {
            case let l as Linear:
                close(reader: Self.reader(l.weight, of: open?.weight))
                start(l.weight, [l.bias])
            case let c as Conv2d where c.groups == 1:
                close(reader: Self.reader(c.weight, of: open?.weight))
                start(c.weight, [c.bias])
            case let bn as BatchNorm2d:
                follow(bn.gamma, bn.beta)
            case let bn as BatchNorm1d:
                follow(bn.gamma, bn.beta)
            case is ReLU, is ReLU6, is GELU, is MaxPool2d, is AvgPool2d, is GlobalAvgPool, is Flatten, is Dropout:
                continue
            case let block as ResidualBlock:
                close(reader: nil)
                units.append(FilterUnit(weight: block.conv1.weight, companions: [block.bn1.gamma, block.bn1.beta],
                                        readers: [Self.reader(block.conv2.weight, of: block.conv1.weight)!], exact: true))
                units.append(Self.partial(block.conv2, block.bn2))
                if let (conv, bn) = block.projection { units.append(Self.partial(conv, bn)) }
            case let block as InvertedResidual:
                close(reader: nil)
                if let (conv, bn, _) = block.expand { units.append(Self.partial(conv, bn)) }
                units.append(Self.partial(block.depthwise, block.bn2))
                units.append(Self.partial(block.project, block.bn3))
            default:
                close(reader: nil)
                units += Self.ownBiasOnly(layer.parameters)
            }
        }
        close(reader: nil)
        self.units = units
        classifier = layers.flatMap(\.parameters).last { $0.prunable }
    }

    /// `weight` as the reader of `producer`'s channels, when its rows split evenly into them.
    static func reader(_ weight: Parameter, of producer: Parameter?) -> FilterUnit.Reader? {
        guard let producer, weight.value.rank >= 2 else { return nil }
        let channels = producer.value.shape[0], row = weight.count / weight.value.shape[0]
        guard channels > 0, row % channels == 0 else { return nil }
        return .init(weight: weight, entriesPerChannel: row / channels)
    }

    static func partial(_ conv: Conv2d, _ bn: BatchNorm2d) -> FilterUnit {
        FilterUnit(weight: conv.weight, companions: [conv.bias, bn.gamma, bn.beta].compactMap { $0 },
                   readers: [], exact: false)
    }

    /// Units for layers not followed: each prunable weight, `X.weight` with its `[out]`-shaped `X.bias`.
    static func ownBiasOnly(_ parameters: [Parameter]) -> [FilterUnit] {
        let byName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return parameters.filter { $0.prunable && $0.value.rank >= 2 }.map { w in
            let bias = w.name.hasSuffix(".weight") ? byName[String(w.name.dropLast("weight".count)) + "bias"] : nil
            let fits = bias.map { $0.value.shape == [w.value.shape[0]] } ?? false
            return FilterUnit(weight: w, companions: fits ? [bias!] : [], readers: [], exact: false)
        }
    }
}
