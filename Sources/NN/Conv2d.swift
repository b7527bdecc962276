import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// Scratch buffers for convolution lowering, shareable by every convolution of a network.
///
/// The column matrix is only needed inside one forward or backward call (backward rebuilds
/// it rather than keeping it), and a network runs its layers one at a time, so one
/// workspace per network holds the largest layer's columns once instead of once per layer.
/// Layers built on their own get a private one. Never share a workspace between networks
/// that may run concurrently.
public final class ConvWorkspace: @unchecked Sendable {
    /// Per worker: the column matrix of its current chunk.
    var columns: [Tensor] = []
    /// Per worker: one chunk of output or output gradient, `[out, samples * OH*OW]` as the GEMM wants it.
    var staging: [Tensor] = []
    /// Per worker but the first: a private weight gradient, summed after the parallel region.
    var weightGrads: [Tensor] = []
    /// Upper bound on one worker's column matrix, in floats: its samples are convolved in
    /// chunks of whole samples that fit (always at least one sample). Measured on ResNet-20
    /// (batch 128): 2^23 (whole batch per GEMM) 1.29 s/step, 2^20 1.01 s, 2^16 (one sample
    /// per chunk in the wide layers) 0.99 s; the column matrix that stays in cache beats the
    /// wider GEMM.
    public var maxColumnFloats: Int

    /// Lower bound on a chunk's GEMM width (samples x output pixels), which overrides
    /// `maxColumnFloats`: on small maps a one-sample GEMM re-reads the whole weight matrix for a
    /// few columns. VGG-16 (batch 128, 2x2..4x4 maps at 512 channels): 1 → 5.4 s/step, 256 →
    /// 4.3 s, 1024 → 4.8 s; ResNet-20 unchanged.
    public var minimumGEMMColumns: Int

    /// Activation and gradient buffers that composites of one network share between their
    /// layers and recompute in backward (`InvertedResidual`), created on first use.
    private var sharedActivationBuffers: [Tensor] = []

    /// The `count` shared activation buffers (the same tensors on every call).
    func sharedActivations(_ count: Int) -> [Tensor] {
        while sharedActivationBuffers.count < count { sharedActivationBuffers.append(Tensor(shape: [0])) }
        return Array(sharedActivationBuffers.prefix(count))
    }

    public init(maxColumnFloats: Int = 1 << 16, minimumGEMMColumns: Int = 256) {
        self.maxColumnFloats = maxColumnFloats
        self.minimumGEMMColumns = minimumGEMMColumns
    }

    /// Per oneDNN worker: its weight and bias gradient of one call (added to the parameters'
    /// gradients afterwards), its scratch regions (`OneDNNScratch`, sizes from
    /// `OneDNNConvPlan.scratchFloats`) and where an evaluation-mode forward puts its
    /// library-layout input (not kept).
    var oneDNNBuffers: [(weightGrad: Tensor, biasGrad: Tensor, scratch: [Tensor], input: Tensor)] = []

    /// Scratch of worker `w`, grown to what `plan` needs.
    func oneDNNScratch(_ w: Int, for plan: OneDNNConvPlan) -> OneDNNScratch {
        while oneDNNBuffers.count <= w {
            oneDNNBuffers.append((Tensor(shape: [0]), Tensor(shape: [0]), (0..<4).map { _ in Tensor(shape: [0]) }, Tensor(shape: [0])))
        }
        let s = oneDNNBuffers[w].scratch
        for (t, floats) in zip(s, plan.scratchFloats) where t.count < floats { t.resize([floats]) }
        return OneDNNScratch(output: s[0].data, gradient: s[1].data, weights: s[2].data, scratchpad: s[3].data)
    }

    /// The shared buffer for worker `w`'s library-layout input, grown to `floats`.
    func oneDNNSharedInput(_ w: Int, _ floats: Int) -> UnsafeMutablePointer<Float> {
        let t = oneDNNBuffers[w].input
        if t.count < floats { t.resize([floats]) }
        return t.data
    }

    /// Makes `workers` sets of buffers exist (sizes are set by their users).
    func reserve(workers: Int) {
        while columns.count < workers { columns.append(Tensor(shape: [0])) }
        while staging.count < workers { staging.append(Tensor(shape: [0])) }
        while weightGrads.count < workers { weightGrads.append(Tensor(shape: [0])) }
    }
}

/// 2-D convolution over NCHW inputs, weight `[out, in/groups, kh, kw]` as in PyTorch,
/// with stride, zero padding, groups (depthwise when groups == in) and optional bias.
///
/// Lowered to GEMM: a chunk of `b` samples is unfolded by im2col into one
/// `[in*kh*kw, b*OH*OW]` matrix and each group is one GEMM with its weight rows; the
/// `[out, b*OH*OW]` result is then scattered to NCHW (a one-sample chunk's result is its NCHW
/// slice already). Backward rebuilds the columns, accumulates dW = dY colᵀ, overwrites the
/// columns with Wᵀ dY and scatters them back with col2im.
///
/// With `Parallel.threads > 1` the batch is split into one contiguous range of samples per
/// worker, each with its own buffers and single-threaded GEMMs (weight gradients go to
/// private buffers and are summed at the end). Threading inside each small GEMM instead made
/// OpenBLAS's spinning pool collapse on a shared 2-core machine (ResNet-20 step 0.9 s → 4.6 s).
///
/// Layers with output maps above 16 pixels (every layer with AVX-512) run on oneDNN instead
/// (`Algorithm`, `usesOneDNN`): its direct convolutions in its blocked layout (nChw8c on
/// AVX2, nChw16c on AVX-512), with the input, output and
/// their gradients reordered from and to NCHW at each call and the weights from and to
/// OIHW. The batch is split between workers the same way, each with single-threaded
/// primitives made once per input shape and kept (`OneDNNConvPlan`). The weight-gradient pass
/// reads the blocked copy of the input made by forward (im2col re-reads the input tensor),
/// so that copy stays per layer until the next forward: more memory (ResNet-20 batch 128 peak
/// 804 → 931 MB when the plans still owned their weights' copies; those and the scratchpads are
/// now lent per call, `OneDNNScratch`). Results agree with im2col to rounding; summation order
/// differs.
public final class Conv2d: InputGradientSkippable {
    /// How a convolution is computed.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// Per layer, whichever measured faster (see `usesOneDNN`).
        case automatic
        /// im2col + OpenBLAS GEMM (below), always available.
        case im2col
        /// oneDNN primitives in the layouts oneDNN prefers, converting from and to NCHW at the edges.
        case oneDNN
        /// oneDNN primitives working on NCHW / OIHW directly.
        case oneDNNPlain
    }

    /// The path every convolution takes unless its own `algorithm` says otherwise; the
    /// environment variable `TOPIARY_CONV` (an `Algorithm` name) sets it at startup.
    nonisolated(unsafe) public static var defaultAlgorithm: Algorithm =
        getenv("TOPIARY_CONV").flatMap { Algorithm(rawValue: String(cString: $0)) } ?? .automatic

    /// This layer's path; nil follows `defaultAlgorithm`. Configurations oneDNN rejects fall back to im2col.
    public var algorithm: Algorithm?

    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let stride: Int, padding: Int, groups: Int
    public var computesInputGradient = true
    /// This layer's kernels once its weight is masked; nil follows `SparseKernels.mode`.
    public var kernels: KernelMode?
    public let workspace: ConvWorkspace

    /// The last training or evaluation forward's input (nil after `inferFolding`: no backward).
    var input: Tensor?
    /// oneDNN primitives per (worker, samples, C, H, W, threads, layout choice); nil where oneDNN declined.
    private var oneDNNPlans: [[Int]: OneDNNConvPlan?] = [:]
    /// The plans the last forward ran, one per worker with its first sample (backward runs the
    /// same ones); empty after an im2col forward.
    private var lastPlans: [(plan: OneDNNConvPlan, first: Int)] = []
    /// Whether the last forward ran on oneDNN (false: im2col or direct kernels, also when
    /// oneDNN declined a configuration), so tests can tell a fallback from the path they test.
    var lastForwardUsedOneDNN: Bool { !lastPlans.isEmpty }
    /// Whether the last forward ran on oneDNN's Winograd kernels (`usesWinograd`).
    var lastForwardUsedWinograd: Bool { lastPlans.first?.plan.winograd ?? false }
    /// Per worker: the library-layout input of the last training-mode forward, which backward
    /// reads (one per layer, whatever the batch size; evaluation-mode forwards use the
    /// workspace's shared buffer and backward converts again).
    private var blockedInputs: [Tensor] = []
    /// Whether `blockedInputs` holds the last forward's input.
    private var keptBlockedInput = false
    /// Output and input gradient: the layer's own, or buffers a composite shares (`DenseBlock`).
    var output = Tensor(shape: [0])
    var gradInput = Tensor(shape: [0])
    /// Whether a training-mode oneDNN forward keeps its library-layout input for backward (one
    /// input-sized copy per layer). Off, backward converts the input again from the workspace's
    /// shared buffer: slower by one reorder, for composites that recompute their inputs.
    var keepsLibraryInput = true
    /// Sparse kernels' patterns and buffers (SparseConv.swift).
    let sparse = SparseLayerState()

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, name: String = "conv",
                initializer: Initializer = .heNormal, workspace: ConvWorkspace? = nil, rng: inout RNG) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: groups \(groups) must divide in \(inChannels) and out \(outChannels)")
        precondition(kernel > 0 && stride > 0 && padding >= 0, "Conv2d: bad kernel \(kernel), stride \(stride), padding \(padding)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        kernelHeight = kernel
        kernelWidth = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.workspace = workspace ?? ConvWorkspace()
        let perGroupIn = inChannels / groups
        weight = Parameter(name: "\(name).weight", shape: [outChannels, perGroupIn, kernel, kernel], prunable: true, kind: "conv")
        // Each output sees in/groups channels of kernel area: PyTorch's fan-in for grouped convs.
        initializer.fill(weight.value, fanIn: perGroupIn * kernel * kernel,
                         fanOut: outChannels / groups * kernel * kernel, rng: &rng)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outChannels], prunable: false, kind: "bias") : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public var summary: String {
        var s = "Conv2d(\(inChannels)→\(outChannels), \(kernelHeight)x\(kernelWidth)"
        if stride != 1 { s += ", stride \(stride)" }
        if padding != 0 { s += ", pad \(padding)" }
        if groups != 1 { s += ", groups \(groups)" }
        return s + ")"
    }

    /// Output shape for an input of shape `[N, C, H, W]`.
    public func outputShape(for shape: [Int]) -> [Int] {
        let g = geometry(shape)
        return [shape[0], outChannels, g.outputHeight, g.outputWidth]
    }

    func geometry(_ shape: [Int]) -> ConvGeometry {
        precondition(shape.count == 4 && shape[1] == inChannels, "\(summary) needs [N, \(inChannels), H, W], got \(shape)")
        let g = ConvGeometry(channels: inChannels, height: shape[2], width: shape[3],
                             kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                             strideY: stride, strideX: stride, padY: padding, padX: padding)
        precondition(g.outputHeight > 0 && g.outputWidth > 0, "\(summary): input \(shape) is smaller than the kernel")
        return g
    }

    /// Samples per chunk so that a worker's column matrix stays within the workspace's bound.
    private func chunkSize(_ g: ConvGeometry, batch: Int) -> Int {
        let bound = workspace.maxColumnFloats / Swift.max(1, g.columnRows * g.outputArea)
        let wide = (workspace.minimumGEMMColumns + g.outputArea - 1) / g.outputArea
        return Swift.max(1, Swift.min(batch, Swift.max(bound, wide)))
    }

    /// Workers for `n` samples and `work` column entries in all, with their buffers reserved.
    private func workerCount(_ n: Int, work: Int) -> Int {
        let workers = Swift.max(1, Swift.min(Parallel.threads, n, work / Parallel.minimumWork))
        workspace.reserve(workers: workers)
        return workers
    }

    /// What one worker needs, as plain values and pointers (the closure must be `@Sendable`).
    private struct Plan: @unchecked Sendable {
        let g: ConvGeometry
        let groups: Int, outChannels: Int, chunk: Int
        let x: UnsafeMutablePointer<Float>
        let weight: UnsafeMutablePointer<Float>
        let bias: UnsafeMutablePointer<Float>?
        let columns: [UnsafeMutablePointer<Float>]
        let staging: [UnsafeMutablePointer<Float>]
        var area: Int { g.outputArea }
        var kg: Int { g.columnRows / groups }
        var og: Int { outChannels / groups }
        var sampleIn: Int { g.channels * g.height * g.width }

        /// im2col of samples `n0 ..< n0 + b` into `col`, side by side.
        func unfold(_ col: UnsafeMutablePointer<Float>, _ n0: Int, _ b: Int) {
            for s in 0..<b { Im2Col.im2col(g, x + (n0 + s) * sampleIn, col + s * area, ld: b * area) }
        }
    }

    private func plan(_ g: ConvGeometry, _ x: Tensor, batch n: Int, workers: Int) -> Plan {
        let chunk = chunkSize(g, batch: (n + workers - 1) / workers)
        for w in 0..<workers {
            workspace.columns[w].resize([g.columnRows, chunk * g.outputArea])
            workspace.staging[w].resize([outChannels, chunk * g.outputArea])
        }
        return Plan(g: g, groups: groups, outChannels: outChannels, chunk: chunk, x: x.data,
                    weight: weight.value.data, bias: bias?.value.data,
                    columns: workspace.columns.prefix(workers).map(\.data),
                    staging: workspace.staging.prefix(workers).map(\.data))
    }

    /// Whether `automatic` sends this layer to oneDNN: when its output map has more than 16
    /// pixels. Measured with `topiary bench --profile` at batch 128 (64 for the last three),
    /// 2 threads, on the shared 2-core AVX2 machine with another training run going, im2col →
    /// oneDNN everywhere: ResNet-20 1000 → 601 ms/step (16-channel stage 419 → 243 ms),
    /// MobileNetV2 3254 → 2041, DenseNet-40 5261 → 3138, ConvNet 172 → 121. VGG-16 got slower
    /// on its 512-channel 4x4 and 2x2 maps (those convolutions' backward 943 → 1532 ms; 8x8 and
    /// up faster): all-oneDNN 4378 ms/step, oneDNN only above 16 output pixels 3701, above 64
    /// pixels 4069, im2col 4440. Depthwise layers too: MobileNetV2 (batch 32) 615 ms/step with
    /// oneDNN's depthwise kernels against 980 with `Depthwise`'s direct ones, which remain for
    /// small maps and the im2col setting.
    ///
    /// With AVX-512 kernels (`OneDNN.hasAVX512`) oneDNN is faster on the small maps too, and
    /// takes every layer: VGG-16 (batch 128, 2 threads) measured with `TOPIARY_CONV=oneDNN`
    /// against this threshold, alternating with PyTorch, on the AMD EPYC (Zen 4) 1431 against
    /// 1666 ms/step (PyTorch 1388), MobileNetV2 (batch 64) 813 against 901; on the Intel Xeon
    /// (Emerald Rapids) VGG-16 was even or faster too.
    func usesOneDNN(_ g: ConvGeometry) -> Bool {
        g.outputArea > 16 || OneDNN.hasAVX512
    }

    /// Whether a layer on oneDNN under `automatic` runs forward and backward data on oneDNN's
    /// Winograd kernels (F(4x4, 3x3): fewer multiplications, other rounding): 3x3, stride 1, no
    /// groups, with AVX-512, and in x out channels x output pixels at least 2^20. Measured on
    /// the AMD EPYC (batch 128, 2 threads, alternating rounds): every VGG-16 layer qualifies, step
    /// 1233 → 1017 ms; ResNet-20's 64-channel 8x8 layers (2^18) got slower on Winograd (step
    /// 240 → 300 ms with them), so none of its layers qualifies.
    func usesWinograd(_ g: ConvGeometry) -> Bool {
        (algorithm ?? Conv2d.defaultAlgorithm) == .automatic && OneDNN.hasAVX512 && kernelHeight == 3
            && kernelWidth == 3 && stride == 1 && groups == 1
            && g.channels * outChannels * g.outputArea >= 1 << 20
    }

    /// Whether a layer on oneDNN under `automatic` computes its weight gradient with im2col
    /// GEMMs instead (forward and the input gradient stay on oneDNN): on maps of 16 pixels or
    /// fewer oneDNN 2.6's backward-weights kernel is slow. VGG-16 (batch 128, AVX-512, per
    /// worker of 64 samples, `DNNL_VERBOSE`): 512 channels on 4x4 maps 143 ms a call against
    /// 42 ms forward, on 2x2 maps 69 against 12.
    func weightGradientOnIm2col(_ g: ConvGeometry) -> Bool {
        (algorithm ?? Conv2d.defaultAlgorithm) == .automatic && !isDepthwise && g.outputArea <= 16
    }

    /// The oneDNN plans for this input under the chosen algorithm, one per worker with its
    /// first sample; empty for im2col.
    ///
    /// The batch is split between `Parallel.threads` workers like im2col's, each running
    /// single-threaded primitives on its samples, rather than one primitive on oneDNN's own
    /// OpenMP team: on this shared 2-core machine, with another process busy, ResNet-20 (batch
    /// 128) took 1.93 s/step with a 2-thread OpenMP team against 0.61 s on one thread (the
    /// team's barriers wait for a descheduled thread), and at batch 1 a 2-thread team took
    /// 1147 ms/step against 6 ms single-threaded. So oneDNN never gets more than one thread;
    /// fewer samples than threads leave threads idle.
    private func oneDNNPlans(_ x: Tensor, _ g: ConvGeometry) -> [(plan: OneDNNConvPlan, first: Int)] {
        let preferred: Bool
        switch algorithm ?? Conv2d.defaultAlgorithm {
        case .im2col: return []
        case .oneDNN: preferred = true
        case .oneDNNPlain: preferred = false
        case .automatic:
            guard usesOneDNN(g) else { return [] }
            preferred = true
        }
        let n = x.shape[0]
        let workers = Swift.max(1, Swift.min(Parallel.threads, n))
        let threads = 1
        let per = (n + workers - 1) / workers
        var plans: [(plan: OneDNNConvPlan, first: Int)] = []
        OneDNN.useThreads(threads)
        for w in 0..<workers {
            let lo = w * per, hi = Swift.min(n, lo + per)
            guard lo < hi else { break }
            let shape = [hi - lo] + x.shape.dropFirst()
            let winograd = usesWinograd(g)
            let key = [w] + shape + [threads, preferred ? 1 : 0, winograd ? 1 : 0]
            if oneDNNPlans[key] == nil {
                func make(winograd: Bool) -> OneDNNConvPlan? {
                    OneDNNConvPlan(input: shape, outChannels: outChannels, kernel: kernelHeight, stride: stride,
                                   padding: padding, groups: groups, bias: bias != nil, preferred: preferred,
                                   threads: threads, winograd: winograd)
                }
                // Where oneDNN has no Winograd kernel for the layer, the direct one.
                let wino = winograd ? make(winograd: true) : nil
                oneDNNPlans[key] = .some(wino ?? make(winograd: false))
            }
            guard let plan = oneDNNPlans[key]! else { return [] }
            plans.append((plan, lo))
        }
        return plans
    }

    /// Per plan of `lastPlans`: where its library-layout input goes (forward) or is (backward).
    private func blockedInputPointers(forward: Bool) -> [SendablePointer<Float>] {
        lastPlans.enumerated().map { w, p in
            let floats = p.plan.inputFloats
            guard keptBlockedInput else { return SendablePointer(workspace.oneDNNSharedInput(w, floats)) }
            while blockedInputs.count <= w { blockedInputs.append(Tensor(shape: [0])) }
            if forward && blockedInputs[w].count < floats { blockedInputs[w].resize([floats]) }
            return SendablePointer(blockedInputs[w].data)
        }
    }

    /// Runs `body(plan, first sample, worker)` for every plan, in parallel when there are several.
    private func runPlans(_ plans: [(plan: OneDNNConvPlan, first: Int)], _ body: @Sendable (OneDNNConvPlan, Int, Int) -> Void) {
        let box = PlanList(plans)
        SampleWorkers.run(workers: plans.count, plans.count) { _, lo, hi in
            for w in lo..<hi {
                OneDNN.useThreads(box.plans[w].plan.threads)
                body(box.plans[w].plan, box.plans[w].first, w)
            }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.convolution) {
            let g = geometry(x.shape)
            input = x
            let n = x.shape[0], o = outChannels, area = g.outputArea
            if let y = sparseForward(x, g) {
                lastPlans = []
                return y
            }
            output.resize([n, o, g.outputHeight, g.outputWidth])
            lastPlans = oneDNNPlans(x, g)
            if !lastPlans.isEmpty {
                let scratch = lastPlans.enumerated().map { workspace.oneDNNScratch($0.offset, for: $0.element.plan) }
                // With the weight gradient on im2col, backward never reads the library-layout input.
                keptBlockedInput = training && keepsLibraryInput && !weightGradientOnIm2col(g)
                let inputs = blockedInputPointers(forward: true)
                let xp = SendablePointer(x.data), yp = SendablePointer(output.data), wp = SendablePointer(weight.value.data)
                let bp = bias.map { SendablePointer($0.value.data) }
                let inSize = g.channels * g.height * g.width, outSize = o * area
                runPlans(lastPlans) { plan, first, w in
                    plan.runForward(x: xp.p + first * inSize, weight: wp.p, bias: bp?.p, y: yp.p + first * outSize,
                                    scratch: scratch[w], input: inputs[w].p)
                }
                return output
            }
            if isDepthwise {
                depthwiseForward(g, x, into: output)
                return output
            }
            let workers = workerCount(n, work: n * g.columnRows * area)
            let p = plan(g, x, batch: n, workers: workers)
            let out = SendablePointer(output.data)
            SampleWorkers.run(workers: workers, n) { w, lo, hi in
                let col = p.columns[w], kg = p.kg, og = p.og
                for n0 in Swift.stride(from: lo, to: hi, by: p.chunk) {
                    let b = Swift.min(p.chunk, hi - n0), ld = b * area
                    p.unfold(col, n0, b)
                    // A one-sample chunk's [out, area] result already is its NCHW slice.
                    let direct = b == 1
                    let stage = direct ? out.p + n0 * o * area : p.staging[w]
                    for gi in 0..<p.groups {
                        BLAS.gemm(m: og, n: ld, k: kg, p.weight + gi * og * kg, lda: kg, col + gi * kg * ld, ldb: ld,
                                  stage + gi * og * ld, ldc: ld)
                    }
                    for s in 0..<b {
                        for c in 0..<o {
                            let to = out.p + ((n0 + s) * o + c) * area
                            let v = p.bias?[c] ?? 0
                            if direct {
                                if p.bias != nil { for i in 0..<area { to[i] += v } }
                            } else {
                                let from = stage + c * ld + s * area
                                for i in 0..<area { to[i] = from[i] + v }
                            }
                        }
                    }
                }
            }
            return output
        }
    }

    /// db += dy summed over samples and positions (dense and sparse backward alike).
    func addBiasGradient(_ dy: Tensor, samples n: Int, area: Int) {
        guard let bias else { return }
        let db = bias.grad.data, o = outChannels
        for i in 0..<n {
            for c in 0..<o { db[c] += Ops.sum(area, dy.data + (i * o + c) * area) }
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.convolution) {
            guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
            let g = geometry(x.shape)
            let n = x.shape[0], area = g.outputArea, o = outChannels
            precondition(dy.count == n * o * area, "\(summary).backward: gradient \(dy.shape) for output \(output.shape)")
            if sparse.lastForwardSparse { return sparseBackward(dy, x, g) }
            if !lastPlans.isEmpty {
                if computesInputGradient { gradInput.resize(x.shape) }
                let scratch = lastPlans.enumerated().map { workspace.oneDNNScratch($0.offset, for: $0.element.plan) }
                let grads = (0..<lastPlans.count).map { w in
                    let b = workspace.oneDNNBuffers[w]
                    b.weightGrad.resize(weight.value.shape)
                    b.biasGrad.resize([o])
                    return (SendablePointer(b.weightGrad.data), SendablePointer(b.biasGrad.data))
                }
                let xp = SendablePointer(x.data), wp = SendablePointer(weight.value.data), dyp = SendablePointer(dy.data)
                let dxp = computesInputGradient ? SendablePointer(gradInput.data) : nil
                let hasBias = bias != nil, ready = keptBlockedInput, onDNN = !weightGradientOnIm2col(g)
                let inputs = blockedInputPointers(forward: false)
                let inSize = g.channels * g.height * g.width, outSize = o * area
                runPlans(lastPlans) { plan, first, w in
                    plan.runBackward(x: xp.p + first * inSize, weight: wp.p, dy: dyp.p + first * outSize,
                                     dx: dxp.map { $0.p + first * inSize }, dw: onDNN ? grads[w].0.p : nil,
                                     db: hasBias && onDNN ? grads[w].1.p : nil,
                                     scratch: scratch[w], input: inputs[w].p, inputReady: ready)
                }
                guard onDNN else {
                    addBiasGradient(dy, samples: n, area: area)
                    im2colBackward(g, x, dy, inputGradient: false)
                    return gradInput
                }
                for (dw, db) in grads {
                    Ops.axpy(weight.count, 1, dw.p, weight.grad.data)
                    if let bias { Ops.axpy(o, 1, db.p, bias.grad.data) }
                }
                return gradInput
            }
            addBiasGradient(dy, samples: n, area: area)
            let inputGradient = computesInputGradient
            if inputGradient { gradInput.resize(x.shape) }
            if isDepthwise {
                depthwiseBackward(g, x, dy, gradInput: inputGradient ? gradInput : nil)
                return gradInput
            }
            im2colBackward(g, x, dy, inputGradient: inputGradient)
            return gradInput
        }
    }

    /// dW += dY · colᵀ with im2col GEMMs and, when `inputGradient`, dx = col2im(Wᵀ dY) into `gradInput` (sized by the caller).
    private func im2colBackward(_ g: ConvGeometry, _ x: Tensor, _ dy: Tensor, inputGradient: Bool) {
        let n = x.shape[0], area = g.outputArea, o = outChannels
        let workers = workerCount(n, work: n * g.columnRows * area)
        let p = plan(g, x, batch: n, workers: workers)
        let dwp = weightGradientPartials(workers: workers), dyp = SendablePointer(dy.data), dxp = SendablePointer(gradInput.data)
        SampleWorkers.run(workers: workers, n) { w, lo, hi in
            let col = p.columns[w], kg = p.kg, og = p.og, dw = dwp[w].p
            for n0 in Swift.stride(from: lo, to: hi, by: p.chunk) {
                let b = Swift.min(p.chunk, hi - n0), ld = b * area
                // dy's chunk as [out, b*area], the layout the GEMMs read; a one-sample chunk in place.
                let stage: UnsafeMutablePointer<Float>
                if b == 1 {
                    stage = dyp.p + n0 * o * area
                } else {
                    stage = p.staging[w]
                    for s in 0..<b {
                        for c in 0..<o {
                            (stage + c * ld + s * area).update(from: dyp.p + ((n0 + s) * o + c) * area, count: area)
                        }
                    }
                }
                p.unfold(col, n0, b)
                for gi in 0..<p.groups {
                    // dW_g += dY_g · col_gᵀ
                    BLAS.gemm(transB: true, m: og, n: kg, k: ld, stage + gi * og * ld, lda: ld,
                              col + gi * kg * ld, ldb: ld, beta: 1, dw + gi * og * kg, ldc: kg)
                }
                guard inputGradient else { continue }
                // The columns are no longer needed: overwrite them with dCol_g = W_gᵀ · dY_g.
                for gi in 0..<p.groups {
                    BLAS.gemm(transA: true, m: kg, n: ld, k: og, p.weight + gi * og * kg, lda: kg,
                              stage + gi * og * ld, ldb: ld, col + gi * kg * ld, ldc: ld)
                }
                for s in 0..<b {
                    let sample = dxp.p + (n0 + s) * p.sampleIn
                    sample.update(repeating: 0, count: p.sampleIn)
                    Im2Col.col2im(g, col + s * area, ld: ld, sample)
                }
            }
        }
        sumWeightGradientPartials(workers: workers)
    }

    /// Per worker, where its weight gradient accumulates: worker 0 straight into the
    /// parameter's gradient, the others into zeroed private buffers (reserved by the caller)
    /// that `sumWeightGradientPartials` adds in after the parallel region.
    func weightGradientPartials(workers: Int) -> [SendablePointer<Float>] {
        var partials = [SendablePointer(weight.grad.data)]
        for w in 1..<Swift.max(1, workers) {
            workspace.weightGrads[w].resize(weight.value.shape)
            workspace.weightGrads[w].zero()
            partials.append(SendablePointer(workspace.weightGrads[w].data))
        }
        return partials
    }

    func sumWeightGradientPartials(workers: Int) {
        for w in 1..<Swift.max(1, workers) {
            Ops.axpy(weight.count, 1, workspace.weightGrads[w].data, weight.grad.data)
        }
    }
}

/// The plans of one call, for the workers' `@Sendable` closure (each worker touches only its own).
private struct PlanList: @unchecked Sendable {
    let plans: [(plan: OneDNNConvPlan, first: Int)]
    init(_ plans: [(plan: OneDNNConvPlan, first: Int)]) { self.plans = plans }
}
