import Foundation
import NN
import Tensor

/// Runs a network's top-level layers one by one and accumulates wall time per distinct layer
/// summary (layers of one shape share a row), forward and backward apart: `bench --profile`.
struct LayerProfiler {
    let network: Sequential
    var layers: [any Layer] { network.layers }
    private(set) var forwardNanos: [String: UInt64] = [:]
    private(set) var backwardNanos: [String: UInt64] = [:]

    init(_ network: Sequential) { self.network = network }

    static func kind(_ layer: any Layer) -> String { layer.summary }

    mutating func reset() {
        forwardNanos = [:]
        backwardNanos = [:]
    }

    mutating func forward(_ x: Tensor) -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            let t = DispatchTime.now().uptimeNanoseconds
            h = network.forwardLayer(i, h, training: true)
            forwardNanos[Self.kind(layer), default: 0] += DispatchTime.now().uptimeNanoseconds - t
        }
        return h
    }

    mutating func backward(_ dy: Tensor) {
        var g = dy
        for layer in layers.reversed() {
            let t = DispatchTime.now().uptimeNanoseconds
            g = layer.backward(g)
            backwardNanos[Self.kind(layer), default: 0] += DispatchTime.now().uptimeNanoseconds - t
        }
    }

    /// Milliseconds per step for each distinct layer, in network order.
    func table(steps: Int) -> String {
        var kinds: [String] = []
        for k in layers.map(Self.kind) where !kinds.contains(k) { kinds.append(k) }
        let ms = { (n: UInt64) in Double(n) / 1e6 / Double(steps) }
        let width = kinds.map(\.count).max() ?? 0
        var lines = ["layer".padding(toLength: width, withPad: " ", startingAt: 0) + "  forward ms  backward ms"]
        for k in kinds {
            lines.append(k.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %10.2f  %11.2f", ms(forwardNanos[k, default: 0]), ms(backwardNanos[k, default: 0])))
        }
        let total = { (d: [String: UInt64]) in ms(d.values.reduce(0, +)) }
        lines.append("total".padding(toLength: width, withPad: " ", startingAt: 0)
            + String(format: "  %10.2f  %11.2f", total(forwardNanos), total(backwardNanos)))
        return lines.joined(separator: "\n")
    }
}
