/// Post-activation outputs of one hidden activation layer over the diagnostic batches.
public struct ActivationDistribution: Sendable, Codable, Equatable {
    /// The activation layer's path in the network, e.g. "fc1.relu" or "layer1.0.relu1"
    /// ("hidden1", "hidden2", … in forward order for layers built without a name).
    public var name: String
    /// The activation layer's summary, e.g. "ReLU".
    public var layer: String
    /// Outputs per sample.
    public var units: Int
    /// `E_X[(1/N) sum_i h_i(X)^2]` (SILO Definition 1): the mean of `h^2` over samples and units.
    public var eaa: Double
    /// Fraction of outputs exactly 0 (inactive ReLUs).
    public var zeroFraction: Double
    public var distribution: DistributionSummary

    public init(name: String, layer: String, units: Int, eaa: Double, zeroFraction: Double,
                distribution: DistributionSummary) {
        self.name = name
        self.layer = layer
        self.units = units
        self.eaa = eaa
        self.zeroFraction = zeroFraction
        self.distribution = distribution
    }
}

/// SPEC §7's diagnostics for one cycle, measured at the end of its training.
public struct CycleDiagnostics: Sendable, Codable, Equatable {
    /// lambda: percent of the measured prunable weights still unpruned.
    public var percentRemaining: Double
    public var batches: Int
    public var samples: Int
    /// Mean cross-entropy over the diagnostic batches.
    public var loss: Double
    /// The learning rate the weight updates were scaled by (the LR at the cycle's end).
    public var learningRate: Double
    /// `|g|` thresholds of `tailMass` (the dense network's 95th / 99th percentiles).
    public var tailThresholds: [Double]
    /// Mean gradient over the batches, unpruned prunable weights only.
    public var gradientsUnpruned: DistributionSummary
    /// Mean gradient over all prunable weights, pruned ones counted as 0 (the papers' "all weight gradients").
    public var gradientsAll: DistributionSummary
    /// `learningRate * g` over the unpruned weights.
    public var updates: DistributionSummary
    /// One entry per hidden activation layer, in forward order.
    public var activations: [ActivationDistribution]
    /// All hidden layers' outputs pooled (Figure 1(b) of the S-Cyc paper).
    public var allActivations: DistributionSummary
    /// `EWG(W, W')` over one training epoch, when the caller measured it (`WeightDistance`).
    public var ewg: Double?

    public init(percentRemaining: Double, batches: Int, samples: Int, loss: Double, learningRate: Double,
                tailThresholds: [Double], gradientsUnpruned: DistributionSummary, gradientsAll: DistributionSummary,
                updates: DistributionSummary, activations: [ActivationDistribution],
                allActivations: DistributionSummary, ewg: Double? = nil) {
        self.percentRemaining = percentRemaining
        self.batches = batches
        self.samples = samples
        self.loss = loss
        self.learningRate = learningRate
        self.tailThresholds = tailThresholds
        self.gradientsUnpruned = gradientsUnpruned
        self.gradientsAll = gradientsAll
        self.updates = updates
        self.activations = activations
        self.allActivations = allActivations
        self.ewg = ewg
    }
}
