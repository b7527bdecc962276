import CDNNL
import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// The oneDNN CPU engine and the threading knob, shared by every convolution.
package enum OneDNN {
    /// Nil when the library cannot make a CPU engine; convolutions then stay on im2col.
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
        var e: dnnl_engine_t?
        return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nil
    }()

    /// Makes oneDNN's parallel regions started from this thread use `n` threads: set on the
    /// calling thread before every primitive is created (oneDNN's kernels split their work for
    /// the thread count seen then) and before every execution. Nothing without an engine.
    static func useThreads(_ n: Int) {
        if engine != nil { OpenMP.useThreads(n) }
    }

    /// "oneDNN MAJOR.MINOR.PATCH (CPU runtime)", recorded with results: its kernels differ per CPU.
    package static var version: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN (unknown version)" }
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }

    /// Whether oneDNN runs its AVX-512 kernels (`avx512_core` or above; `DNNL_MAX_CPU_ISA` can lower it).
    static let hasAVX512: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue, avx512 = dnnl_cpu_isa_avx512_core.rawValue
        return engine != nil && isa & avx512 == avx512
    }()

    /// The calling thread's OpenMP team size (1 without OpenMP).
    static var threads: Int { engine == nil ? 1 : OpenMP.threads }

    /// Attributes for every primitive: scratchpad memory is passed in by us. Debian builds
    /// oneDNN without DNNL_ENABLE_CONCURRENT_EXEC, so the library-managed scratchpad is one
    /// buffer shared by all primitives, and two running at once (our workers, or tests in
    /// parallel) corrupted each other's (a crash in memset).
    nonisolated(unsafe) static let attributes: dnnl_primitive_attr_t? = {
        var a: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&a) == dnnl_success,
              dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user) == dnnl_success else { return nil }
        return a
    }()

    /// Bytes of scratchpad a primitive needs.
    static func scratchpadBytes(_ pd: dnnl_primitive_desc_t) -> Int {
        dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0))
    }

    // The DNNL_ARG_* macros (some are aliases Swift does not import).
    static let argSrc: Int32 = 1, argDst: Int32 = 17, argWeights: Int32 = 33, argBias: Int32 = 41
    static let argScratchpad: Int32 = 80
    static let argDiffSrc: Int32 = 129, argDiffDst: Int32 = 145, argDiffWeights: Int32 = 161, argDiffBias: Int32 = 169
}

/// One tensor argument of a primitive: memory over the caller's plain buffer (NCHW, OIHW,
/// GOIHW or a vector; its pointer is set at each call) and, when the primitive wants another
/// layout, a library-owned buffer in that layout with the reorder between the two.
final class OneDNNPort {
    let user: dnnl_memory_t
    let inner: dnnl_memory_t?
    let reorder: dnnl_primitive_t?
    let input: Bool
    /// The library-layout buffer is lent by the caller at each call (see `lend`) instead of owned.
    let borrowsInner: Bool
    /// Bytes of the library-layout buffer (0 when there is none).
    let innerBytes: Int
    /// Run the conversion on one thread: the weight tensors are so small that waking a second
    /// thread costs more than it saves (and on a busy machine a 16x16x3x3 reorder waited ~8 ms
    /// for it).
    let serial: Bool
    /// Scratchpad bytes the reorder needs.
    private(set) var scratchpadBytes = 0

    /// `plain` describes the caller's buffer, `wanted` what the primitive asked for.
    init?(plain: dnnl_memory_desc_t, wanted: UnsafePointer<dnnl_memory_desc_t>, input: Bool,
          borrowsInner: Bool = false, serial: Bool = false) {
        guard let engine = OneDNN.engine, let attributes = OneDNN.attributes else { return nil }
        var plain = plain
        var u: dnnl_memory_t?
        guard dnnl_memory_create(&u, &plain, engine, nil) == dnnl_success, let u else { return nil }
        user = u
        self.input = input
        self.serial = serial
        if dnnl_memory_desc_equal(&plain, wanted) != 0 {
            inner = nil; reorder = nil; self.borrowsInner = false; innerBytes = 0
            return
        }
        self.borrowsInner = borrowsInner
        innerBytes = dnnl_memory_desc_get_size(wanted)
        var m: dnnl_memory_t?, pd: dnnl_primitive_desc_t?, r: dnnl_primitive_t?
        // DNNL_MEMORY_ALLOCATE is ((void *)(size_t)-1): the library allocates the buffer.
        let handle = borrowsInner ? nil : UnsafeMutableRawPointer(bitPattern: -1)
        guard dnnl_memory_create(&m, wanted, engine, handle) == dnnl_success else {
            dnnl_memory_destroy(u); return nil
        }
        let status = input ? dnnl_reorder_primitive_desc_create(&pd, &plain, engine, wanted, engine, attributes)
                           : dnnl_reorder_primitive_desc_create(&pd, wanted, engine, &plain, engine, attributes)
        guard status == dnnl_success, dnnl_primitive_create(&r, pd) == dnnl_success else {
            if pd != nil { dnnl_primitive_desc_destroy(pd) }
            dnnl_memory_destroy(m); dnnl_memory_destroy(u); return nil
        }
        scratchpadBytes = OneDNN.scratchpadBytes(pd!)
        dnnl_primitive_desc_destroy(pd)
        inner = m; reorder = r
    }

    deinit {
        if let reorder { dnnl_primitive_destroy(reorder) }
        if let inner { dnnl_memory_destroy(inner) }
        dnnl_memory_destroy(user)
    }

    /// What the primitive reads or writes.
    var memory: dnnl_memory_t { inner ?? user }

    func bind(_ p: UnsafeMutablePointer<Float>) { dnnl_memory_set_data_handle(user, p) }

    /// Points a borrowed library-layout buffer at `p` (at least `innerBytes`).
    func lend(_ p: UnsafeMutablePointer<Float>) {
        if borrowsInner, let inner { dnnl_memory_set_data_handle(inner, p) }
    }

    /// For an input: plain → library layout. For an output: library layout → plain.
    func convert(_ stream: dnnl_stream_t, _ scratchpad: dnnl_memory_t) {
        guard let reorder, let inner else { return }
        let threads = OneDNN.threads
        if serial { OneDNN.useThreads(1) }
        defer { if serial { OneDNN.useThreads(threads) } }
        var args = input ? [dnnl_exec_arg_t(arg: OneDNN.argSrc, memory: user), dnnl_exec_arg_t(arg: OneDNN.argDst, memory: inner)]
                         : [dnnl_exec_arg_t(arg: OneDNN.argSrc, memory: inner), dnnl_exec_arg_t(arg: OneDNN.argDst, memory: user)]
        if scratchpadBytes > 0 { args.append(dnnl_exec_arg_t(arg: OneDNN.argScratchpad, memory: scratchpad)) }
        dnnl_primitive_execute(reorder, stream, Int32(args.count), &args)
    }
}

/// The buffers a plan borrows for one call (see `OneDNNConvPlan.scratchFloats`): nothing in
/// them outlives the call, so one set per worker serves every convolution of a network.
struct OneDNNScratch: @unchecked Sendable {
    /// Library-layout output (forward) or output gradient (backward).
    let output: UnsafeMutablePointer<Float>
    /// Library-layout input gradient, and backward weights' own copy of the output gradient.
    let gradient: UnsafeMutablePointer<Float>
    /// Library-layout weights (forward, backward data) and weight gradient (backward weights).
    let weights: UnsafeMutablePointer<Float>
    /// The primitives' and reorders' scratchpad.
    let scratchpad: UnsafeMutablePointer<Float>
}

/// Forward, backward-data and backward-weights primitives of one convolution for one input
/// shape and thread count, with their argument memories. Creating primitives costs far more
/// than running them, so `OneDNNConvolution` keeps these per shape. The plan owns no large
/// buffer: its library-layout weights and its scratchpad are borrowed per call like the
/// activations (VGG-16 on oneDNN everywhere, batch 128: two workers' own copies of the
/// 512-channel weights and their gradients had cost 300 MB).
final class OneDNNConvPlan {
    let stream: dnnl_stream_t
    /// Scratchpad memory for all of this plan's primitives (they run one at a time), lent per call.
    let scratchpad: dnnl_memory_t
    private let scratchpadBytes: Int
    private var primitives: [dnnl_primitive_t] = []
    private var descriptors: [dnnl_primitive_desc_t] = []
    let forward: dnnl_primitive_t, backwardData: dnnl_primitive_t, backwardWeights: dnnl_primitive_t
    // Forward.
    let src: OneDNNPort, weights: OneDNNPort, bias: OneDNNPort?, dst: OneDNNPort
    // Backward data; `dataWeights` re-reads the (plain) weights.
    let diffDst: OneDNNPort, dataWeights: OneDNNPort, diffSrc: OneDNNPort
    // Backward weights: `weightsSrc` is `src` and `weightsDiffDst` is `diffDst` when the
    // layouts agree (the forward's and backward data's conversions are then reused).
    let weightsSrc: OneDNNPort, weightsDiffDst: OneDNNPort, diffWeights: OneDNNPort, diffBias: OneDNNPort?
    /// The implementations oneDNN chose (forward, backward data, backward weights).
    let implementations: [String]
    /// Whether forward and backward data use oneDNN's Winograd kernels.
    let winograd: Bool
    /// The OpenMP team size the primitives were made for (set it on the executing thread).
    let threads: Int

    /// `preferred`: let oneDNN pick its own (blocked) layouts, converting at the edges;
    /// otherwise it must work on the plain ones.
    init?(input shape: [Int], outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int,
          bias hasBias: Bool, preferred: Bool, threads: Int, winograd: Bool = false) {
        self.threads = threads
        self.winograd = winograd
        guard let engine = OneDNN.engine, let attributes = OneDNN.attributes else { return nil }
        var s: dnnl_stream_t?
        guard dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let s else { return nil }
        stream = s
        let n = Int64(shape[0]), c = Int64(shape[1]), h = Int64(shape[2]), w = Int64(shape[3])
        let o = Int64(outChannels), k = Int64(kernel), st = Int64(stride), pad = Int64(padding), g = Int64(groups)
        let oh = (h + 2 * pad - k) / st + 1, ow = (w + 2 * pad - k) / st + 1
        func md(_ dims: [Int64], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
            var d = dnnl_memory_desc_t()
            _ = dnnl_memory_desc_init_by_tag(&d, Int32(dims.count), dims, dnnl_f32, tag)
            return d
        }
        let plainSrc = md([n, c, h, w], dnnl_nchw), plainDst = md([n, o, oh, ow], dnnl_nchw)
        let plainWeights = groups == 1 ? md([o, c, k, k], dnnl_oihw) : md([g, o / g, c / g, k, k], dnnl_goihw)
        let plainBias = md([o], dnnl_x)
        let any = preferred ? dnnl_format_tag_any : nil
        var srcAny = any.map { md([n, c, h, w], $0) } ?? plainSrc
        var dstAny = any.map { md([n, o, oh, ow], $0) } ?? plainDst
        var weightsAny = any.map { groups == 1 ? md([o, c, k, k], $0) : md([g, o / g, c / g, k, k], $0) } ?? plainWeights
        let biasMD = plainBias
        let biasPointer = UnsafeMutablePointer<dnnl_memory_desc_t>.allocate(capacity: 1)
        biasPointer.initialize(to: biasMD)
        defer { biasPointer.deallocate() }
        let biasArg: UnsafeMutablePointer<dnnl_memory_desc_t>? = hasBias ? biasPointer : nil
        let strides = [st, st], pads = [pad, pad]

        // Descriptors and primitives are released in deinit; a failed init releases them too
        // (a failable init of a class runs deinit only once every stored property is set, so
        // cleanup on failure goes through `release`).
        var pds: [dnnl_primitive_desc_t] = [], prims: [dnnl_primitive_t] = []
        func release() {
            prims.forEach { dnnl_primitive_destroy($0) }
            pds.forEach { dnnl_primitive_desc_destroy($0) }
            dnnl_stream_destroy(s)
        }
        func make(_ desc: UnsafeRawPointer, hint: dnnl_primitive_desc_t?) -> (dnnl_primitive_desc_t, dnnl_primitive_t)? {
            var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
            guard dnnl_primitive_desc_create(&pd, desc, attributes, engine, hint) == dnnl_success, let pd else { return nil }
            pds.append(pd)
            guard dnnl_primitive_create(&p, pd) == dnnl_success, let p else { return nil }
            prims.append(p)
            return (pd, p)
        }
        func name(_ pd: dnnl_primitive_desc_t) -> String {
            var str: UnsafePointer<CChar>?
            return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &str) == dnnl_success && str != nil
                ? String(cString: str!) : "?"
        }

        var fd = dnnl_convolution_desc_t()
        var bd = dnnl_convolution_desc_t()
        var wd = dnnl_convolution_desc_t()
        // Winograd (F(4x4, 3x3)) for forward and backward data only: oneDNN 2.6's Winograd
        // backward-weights crashed here, and its direct one is what the layer had.
        let algorithm = winograd ? dnnl_convolution_winograd : dnnl_convolution_direct
        guard dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, algorithm, &srcAny, &weightsAny,
                                                 biasArg, &dstAny, strides, pads, pads) == dnnl_success,
              let (fpd, fp) = make(&fd, hint: nil),
              dnnl_convolution_backward_data_desc_init(&bd, algorithm, &srcAny, &weightsAny, &dstAny,
                                                       strides, pads, pads) == dnnl_success,
              let (bpd, bp) = make(&bd, hint: fpd),
              dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &srcAny, &weightsAny,
                                                          biasArg, &dstAny, strides, pads, pads) == dnnl_success,
              let (wpd, wp) = make(&wd, hint: fpd)
        else { release(); return nil }

        func port(_ plain: dnnl_memory_desc_t, _ pd: dnnl_primitive_desc_t, _ q: dnnl_query_t, _ i: Int32, input: Bool,
                  borrows: Bool = false, serial: Bool = false) -> OneDNNPort? {
            OneDNNPort(plain: plain, wanted: dnnl_primitive_desc_query_md(pd, q, i), input: input,
                       borrowsInner: borrows, serial: serial)
        }
        func same(_ a: dnnl_primitive_desc_t, _ qa: dnnl_query_t, _ b: dnnl_primitive_desc_t, _ qb: dnnl_query_t) -> Bool {
            dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(a, qa, 0), dnnl_primitive_desc_query_md(b, qb, 0)) != 0
        }
        guard let src = port(plainSrc, fpd, dnnl_query_src_md, 0, input: true, borrows: true),
              let weights = port(plainWeights, fpd, dnnl_query_weights_md, 0, input: true, borrows: true, serial: true),
              let dst = port(plainDst, fpd, dnnl_query_dst_md, 0, input: false, borrows: true),
              let diffDst = port(plainDst, bpd, dnnl_query_diff_dst_md, 0, input: true, borrows: true),
              let dataWeights = port(plainWeights, bpd, dnnl_query_weights_md, 0, input: true, borrows: true, serial: true),
              let diffSrc = port(plainSrc, bpd, dnnl_query_diff_src_md, 0, input: false, borrows: true),
              let weightsSrc = same(wpd, dnnl_query_src_md, fpd, dnnl_query_src_md)
                  ? src : port(plainSrc, wpd, dnnl_query_src_md, 0, input: true),
              let weightsDiffDst = same(wpd, dnnl_query_diff_dst_md, bpd, dnnl_query_diff_dst_md)
                  ? diffDst : port(plainDst, wpd, dnnl_query_diff_dst_md, 0, input: true, borrows: true),
              let diffWeights = port(plainWeights, wpd, dnnl_query_diff_weights_md, 0, input: false, borrows: true, serial: true)
        else { release(); return nil }
        var bias: OneDNNPort?, diffBias: OneDNNPort?
        if hasBias {
            guard let b = port(plainBias, fpd, dnnl_query_weights_md, 1, input: true),
                  let db = port(plainBias, wpd, dnnl_query_diff_weights_md, 1, input: false, serial: true)
            else { release(); return nil }
            bias = b; diffBias = db
        }
        let ports = [src, weights, dst, diffDst, dataWeights, diffSrc, weightsSrc, weightsDiffDst, diffWeights]
            + [bias, diffBias].compactMap { $0 }
        let bytes = Swift.max(1, ([fpd, bpd, wpd].map(OneDNN.scratchpadBytes) + ports.map(\.scratchpadBytes)).max()!)
        var scratchMD = dnnl_memory_desc_t(), scratchpad: dnnl_memory_t?
        guard dnnl_memory_desc_init_by_tag(&scratchMD, 1, [Int64(bytes)], dnnl_u8, dnnl_x) == dnnl_success,
              dnnl_memory_create(&scratchpad, &scratchMD, engine, nil) == dnnl_success,
              let scratchpad
        else { release(); return nil }
        self.scratchpad = scratchpad
        scratchpadBytes = bytes
        self.src = src; self.weights = weights; self.bias = bias; self.dst = dst
        self.diffDst = diffDst; self.dataWeights = dataWeights; self.diffSrc = diffSrc
        self.weightsSrc = weightsSrc; self.weightsDiffDst = weightsDiffDst
        self.diffWeights = diffWeights; self.diffBias = diffBias
        forward = fp; backwardData = bp; backwardWeights = wp
        primitives = prims; descriptors = pds
        implementations = [name(fpd), name(bpd), name(wpd)]
    }

    deinit {
        dnnl_memory_destroy(scratchpad)
        primitives.forEach { dnnl_primitive_destroy($0) }
        descriptors.forEach { dnnl_primitive_desc_destroy($0) }
        dnnl_stream_destroy(stream)
    }

    /// Floats of the four regions of `OneDNNScratch` the caller lends each call, in its order.
    /// The library-layout copy of the input is lent separately (`inputFloats`): backward reads it.
    var scratchFloats: [Int] {
        let output = Swift.max(dst.innerBytes, diffDst.innerBytes)
        let gradient = Swift.max(diffSrc.innerBytes, weightsDiffDst === diffDst ? 0 : weightsDiffDst.innerBytes)
        let weights = [self.weights, dataWeights, diffWeights].map(\.innerBytes).max()!
        return [output, gradient, weights, scratchpadBytes].map { ($0 + 3) / 4 }
    }

    /// Floats of the library-layout copy of the input (0 when the primitives read NCHW).
    var inputFloats: Int { (src.innerBytes + 3) / 4 }

    private func execute(_ p: dnnl_primitive_t, _ args: [(Int32, dnnl_memory_t)]) {
        var a = (args + [(OneDNN.argScratchpad, scratchpad)]).map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        dnnl_primitive_execute(p, stream, Int32(a.count), &a)
    }

    /// y = conv(x, w) + b.
    func runForward(x: UnsafeMutablePointer<Float>, weight: UnsafeMutablePointer<Float>,
                    bias b: UnsafeMutablePointer<Float>?, y: UnsafeMutablePointer<Float>,
                    scratch: OneDNNScratch, input: UnsafeMutablePointer<Float>) {
        src.bind(x); weights.bind(weight); dst.bind(y)
        dst.lend(scratch.output); src.lend(input); weights.lend(scratch.weights)
        dnnl_memory_set_data_handle(scratchpad, scratch.scratchpad)
        src.convert(stream, scratchpad); weights.convert(stream, scratchpad)
        var args = [(OneDNN.argSrc, src.memory), (OneDNN.argWeights, weights.memory), (OneDNN.argDst, dst.memory)]
        if let bias, let b { bias.bind(b); args.append((OneDNN.argBias, bias.memory)) }
        execute(forward, args)
        dst.convert(stream, scratchpad)
        dnnl_stream_wait(stream)
    }

    /// dx = convᵀ(dy, w) when `dx` is given; dw and db (overwritten, not accumulated) when `dw` is.
    /// `input` holds the library-layout copy of x that `runForward` made when `inputReady`;
    /// otherwise x is converted into it again.
    func runBackward(x: UnsafeMutablePointer<Float>, weight: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                     dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
                     scratch: OneDNNScratch, input: UnsafeMutablePointer<Float>, inputReady: Bool) {
        diffDst.bind(dy)
        diffDst.lend(scratch.output); diffSrc.lend(scratch.gradient)
        if weightsDiffDst !== diffDst { weightsDiffDst.lend(scratch.gradient) }
        // Backward data is done with its weights before backward weights writes its gradient there.
        dataWeights.lend(scratch.weights); diffWeights.lend(scratch.weights)
        dnnl_memory_set_data_handle(scratchpad, scratch.scratchpad)
        diffDst.convert(stream, scratchpad)
        if let dx {
            dataWeights.bind(weight); diffSrc.bind(dx)
            dataWeights.convert(stream, scratchpad)
            execute(backwardData, [(OneDNN.argDiffDst, diffDst.memory), (OneDNN.argWeights, dataWeights.memory),
                                   (OneDNN.argDiffSrc, diffSrc.memory)])
            diffSrc.convert(stream, scratchpad)
        }
        guard let dw else { dnnl_stream_wait(stream); return }
        if weightsDiffDst !== diffDst { weightsDiffDst.bind(dy); weightsDiffDst.convert(stream, scratchpad) }
        weightsSrc.bind(x)
        if weightsSrc !== src {
            weightsSrc.convert(stream, scratchpad)
        } else {
            src.lend(input)
            if !inputReady { src.convert(stream, scratchpad) }
        }
        diffWeights.bind(dw)
        var args = [(OneDNN.argSrc, weightsSrc.memory), (OneDNN.argDiffDst, weightsDiffDst.memory),
                    (OneDNN.argDiffWeights, diffWeights.memory)]
        if let diffBias, let db { diffBias.bind(db); args.append((OneDNN.argDiffBias, diffBias.memory)) }
        execute(backwardWeights, args)
        diffWeights.convert(stream, scratchpad)
        diffBias?.convert(stream, scratchpad)
        dnnl_stream_wait(stream)
    }
}
