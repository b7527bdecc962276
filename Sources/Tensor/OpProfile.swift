import Dispatch

/// The kinds of work `OpProfile` tells apart (`topiary bench --profile`).
public enum OpKind: Int, CaseIterable, Sendable {
    /// Convolutions: oneDNN primitives, or im2col + GEMM + col2im, or the direct depthwise kernels.
    case convolution
    /// Fully connected layers (one GEMM each way), including attention's projections and the MLP.
    case linear
    /// Attention's own work: the per-(sample, head) score and context GEMMs and the softmax.
    case attention
    /// BatchNorm1d / BatchNorm2d.
    case batchNorm
    /// LayerNorm.
    case layerNorm
    /// ReLU, ReLU6, GELU.
    case activation
    /// Max, average and global average pooling.
    case pooling
    /// Residual sums, dense-block concatenation, patch and position embeddings, dropout, flatten.
    case elementwise
    /// The loss: softmax and cross-entropy with its gradient.
    case loss
    /// The optimizer step.
    case optimizer

    /// The row label in the profile table.
    public var label: String {
        switch self {
        case .convolution: "convolution"
        case .linear: "linear (GEMM)"
        case .attention: "attention (scores, softmax, context)"
        case .batchNorm: "batch norm"
        case .layerNorm: "layer norm"
        case .activation: "activation"
        case .pooling: "pooling"
        case .elementwise: "elementwise / copies"
        case .loss: "softmax cross-entropy"
        case .optimizer: "optimizer"
        }
    }
}

/// Wall time per kind of operation, for `topiary bench --profile`. Off unless `enabled`; when
/// on, `measure` adds each call's *exclusive* time (nested measured calls are subtracted, so a
/// residual block's convolutions count as convolution and only its own sum as elementwise).
/// Measure only from one thread (layers' `forward`/`backward`, the optimizer step), never from
/// inside worker closures.
public enum OpProfile {
    /// Whether `measure` records (a single branch when off).
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) private static var totals = [UInt64](repeating: 0, count: OpKind.allCases.count)
    /// Time spent in nested measured calls, per open call.
    nonisolated(unsafe) private static var childTime: [UInt64] = []

    /// Runs `body`, adding its exclusive wall time to `kind` when profiling is enabled.
    @inline(__always)
    public static func measure<T>(_ kind: OpKind, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        childTime.append(0)
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        let children = childTime.removeLast()
        totals[kind.rawValue] += elapsed &- Swift.min(children, elapsed)
        if !childTime.isEmpty { childTime[childTime.count - 1] += elapsed }
        return result
    }

    /// Forgets the recorded times.
    public static func reset() {
        totals = [UInt64](repeating: 0, count: OpKind.allCases.count)
        childTime = []
    }

    /// Recorded nanoseconds per kind.
    public static var nanoseconds: [OpKind: UInt64] {
        Dictionary(uniqueKeysWithValues: OpKind.allCases.map { ($0, totals[$0.rawValue]) })
    }
}
