import Dispatch
import Experiments
import Foundation
import NN
import Tensor

extension Bench {
    /// `--calibrate-sparse`: the break-even densities of `auto` measured on this machine. Times
    /// a training step (forward and backward) of single layers of the shapes the thresholds
    /// are for, dense against sparse, in alternating rounds at densities from 50% down, and
    /// prints each layer's largest density at which sparse was not slower next to the threshold
    /// `auto` uses. Nothing is changed: `--sparse-threshold` (or `SparseKernels`' overrides)
    /// applies a measured value, which keeps a run's choice of kernels fixed for its seed.
    func benchSparseCalibration() throws {
        var rng = RNG(seed: 1, stream: "calibrate")
        let n = batchSize
        typealias Case = (name: String, layer: any Layer, weight: Parameter, input: [Int], kind: SparseKernels.LayerKind,
                          setMode: (KernelMode) -> Void)
        func linear(_ i: Int, _ o: Int) -> Case {
            let l = Linear(i, o, rng: &rng)
            return ("Linear(\(i)→\(o))", l, l.weight, [n, i], .linear, { l.kernels = $0 })
        }
        // A kxk convolution of stride s on side x side inputs (padding k/2).
        func conv(_ c: Int, _ o: Int, _ k: Int, stride s: Int = 1, _ side: Int) -> Case {
            let l = Conv2d(c, o, kernel: k, stride: s, padding: k / 2, bias: false, rng: &rng)
            let out = (side - 1) / s + 1
            return ("Conv2d(\(c)→\(o), \(k)x\(k)\(s > 1 ? " stride \(s)" : "")) on \(side)x\(side)", l, l.weight, [n, c, side, side],
                    .convolution(outputPixels: out * out, weightsPerOutput: c * k * k), { l.kernels = $0 })
        }
        // ResNet-20's shapes: 3x3 at each map size; its first layer and 1x1 projections (short rows).
        let cases = [linear(784, 256), linear(256, 256), conv(16, 16, 3, 32), conv(32, 32, 3, 16), conv(64, 64, 3, 8),
                     conv(3, 16, 3, 32), conv(16, 32, 1, stride: 2, 32), conv(32, 64, 1, stride: 2, 16)]
        let densities = [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
        let rounds = Swift.max(compare, 3)
        print("CPU: \(RunEnvironment.current.cpu); \(Parallel.threads) threads, batch \(n), \(rounds) rounds, "
              + "\(VectorISA.active.rawValue) kernels, GEMM on \(BLAS.backend.rawValue)")
        print("| layer | kept | dense ms | sparse ms | ratio |")
        print("|---|--:|--:|--:|--:|")
        var summary: [String] = []
        for c in cases {
            let x = Tensor(shape: c.input)
            for i in 0..<x.count { x[i] = rng.normal() }
            var dy: Tensor?
            var faster: [Bool] = []
            for d in densities {
                let mask = Tensor(shape: c.weight.value.shape)
                for i in 0..<mask.count { mask[i] = Double(rng.uniform()) < d ? 1 : 0 }
                c.weight.setMask(mask)
                func step() {
                    let y = c.layer.forward(x, training: true)
                    if dy == nil {
                        dy = Tensor(shape: y.shape)
                        for i in 0..<y.count { dy![i] = rng.normal() }
                    }
                    _ = c.layer.backward(dy!)
                }
                // Enough steps for about 20 ms a round, from one timed dense step.
                c.setMode(.dense)
                step()
                let t0 = DispatchTime.now().uptimeNanoseconds
                step()
                let once = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                let steps = Swift.max(1, Int(20 / Swift.max(once, 1e-3)))
                var times: [KernelMode: [Double]] = [.dense: [], .sparse: []]
                for round in 0..<rounds {
                    for mode in round % 2 == 0 ? [KernelMode.dense, .sparse] : [.sparse, .dense] {
                        c.setMode(mode)
                        step()
                        let start = DispatchTime.now().uptimeNanoseconds
                        for _ in 0..<steps { step() }
                        times[mode]!.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps))
                    }
                }
                let dense = median(times[.dense]!), sparse = median(times[.sparse]!)
                faster.append(sparse <= dense)
                print(String(format: "| %@ | %.0f%% | %.3f | %.3f | %.2fx |", c.name, d * 100, dense, sparse, dense / sparse))
            }
            // The largest density at which sparse was not slower there and at every lower one.
            let kept = zip(densities, faster).reversed().prefix { $0.1 }.last?.0
            let measured = kept.map { String(format: "%.0f%%", $0 * 100) } ?? "below 5%"
            summary.append(String(format: "%@: sparse not slower from %@ kept down; auto's threshold %.0f%%",
                                  c.name, measured, SparseKernels.threshold(for: c.kind) * 100))
        }
        print("")
        for line in summary { print(line) }
    }
}
