import Tensor

/// Shape check shared by the pooling layers: `[N, C, H, W]` → output size with PyTorch's floor rule.
private func pooledSize(_ name: String, _ shape: [Int], kernel: Int, stride: Int) -> (Int, Int) {
    precondition(shape.count == 4, "\(name) needs [N, C, H, W], got \(shape)")
    let oh = (shape[2] - kernel) / stride + 1, ow = (shape[3] - kernel) / stride + 1
    precondition(shape[2] >= kernel && shape[3] >= kernel, "\(name): input \(shape) is smaller than the window")
    return (oh, ow)
}

/// Max pooling over `kernel x kernel` windows (no padding). Forward records, per output,
/// the offset of the winner inside its input plane, so backward is a scatter; ties go to
/// the first maximum in row-major order, as in PyTorch.
public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    /// Winner offsets within the plane; Int32 because Float would lose offsets past 2^24.
    private var argmax: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    private var argmaxCapacity = 1

    public init(kernel: Int, stride: Int? = nil) {
        precondition(kernel > 0 && (stride ?? 1) > 0, "MaxPool2d: bad kernel \(kernel) or stride \(String(describing: stride))")
        self.kernel = kernel
        self.stride = stride ?? kernel
    }

    deinit { argmax.deallocate() }

    public var summary: String { stride == kernel ? "MaxPool2d(\(kernel))" : "MaxPool2d(\(kernel), stride \(stride))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.pooling) {
            let (oh, ow) = pooledSize(summary, x.shape, kernel: kernel, stride: stride)
            inputShape = x.shape
            let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
            output.resize([x.shape[0], x.shape[1], oh, ow])
            if output.count > argmaxCapacity {
                argmax.deallocate()
                argmaxCapacity = output.count
                argmax = .allocate(capacity: argmaxCapacity)
            }
            let xp = SendablePointer(x.data), yp = SendablePointer(output.data), ap = SendablePointer(argmax)
            let k = kernel, s = stride
            Parallel.forChunks(planes, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, h * w))) { lo, hi in
                for pl in lo..<hi {
                    let src = xp.p + pl * h * w, dst = yp.p + pl * oh * ow, idx = ap.p + pl * oh * ow
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var best = (oy * s) * w + ox * s
                            var bestValue = src[best]
                            for ky in 0..<k {
                                let row = (oy * s + ky) * w + ox * s
                                for kx in 0..<k where src[row + kx] > bestValue {
                                    bestValue = src[row + kx]
                                    best = row + kx
                                }
                            }
                            dst[oy * ow + ox] = bestValue
                            idx[oy * ow + ox] = Int32(best)
                        }
                    }
                }
            }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.pooling) {
            precondition(dy.count == output.count, "MaxPool2d.backward: gradient \(dy.shape) for output \(output.shape)")
            gradInput.resize(inputShape)
            gradInput.zero()
            let planes = inputShape[0] * inputShape[1], area = inputShape[2] * inputShape[3]
            let outArea = output.count / Swift.max(planes, 1)
            let gp = SendablePointer(dy.data), dp = SendablePointer(gradInput.data), ap = SendablePointer(argmax)
            Parallel.forChunks(planes, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, area))) { lo, hi in
                for pl in lo..<hi {
                    let g = gp.p + pl * outArea, d = dp.p + pl * area, idx = ap.p + pl * outArea
                    // += rather than =: overlapping windows (stride < kernel) can share a winner.
                    for i in 0..<outArea { d[Int(idx[i])] += g[i] }
                }
            }
            return gradInput
        }
    }
}

/// Average pooling over `kernel x kernel` windows (no padding).
public final class AvgPool2d: Layer {
    public let kernel: Int, stride: Int
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []

    public init(kernel: Int, stride: Int? = nil) {
        precondition(kernel > 0 && (stride ?? 1) > 0, "AvgPool2d: bad kernel \(kernel) or stride \(String(describing: stride))")
        self.kernel = kernel
        self.stride = stride ?? kernel
    }

    public var summary: String { stride == kernel ? "AvgPool2d(\(kernel))" : "AvgPool2d(\(kernel), stride \(stride))" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.pooling) {
            let (oh, ow) = pooledSize(summary, x.shape, kernel: kernel, stride: stride)
            inputShape = x.shape
            let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
            output.resize([x.shape[0], x.shape[1], oh, ow])
            let xp = SendablePointer(x.data), yp = SendablePointer(output.data)
            let k = kernel, s = stride, inv = 1 / Float(kernel * kernel)
            Parallel.forChunks(planes, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, h * w))) { lo, hi in
                for pl in lo..<hi {
                    let src = xp.p + pl * h * w, dst = yp.p + pl * oh * ow
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var acc: Float = 0
                            for ky in 0..<k {
                                let row = src + (oy * s + ky) * w + ox * s
                                for kx in 0..<k { acc += row[kx] }
                            }
                            dst[oy * ow + ox] = acc * inv
                        }
                    }
                }
            }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.pooling) {
            precondition(dy.count == output.count, "AvgPool2d.backward: gradient \(dy.shape) for output \(output.shape)")
            gradInput.resize(inputShape)
            gradInput.zero()
            let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3]
            let oh = output.shape[2], ow = output.shape[3]
            let gp = SendablePointer(dy.data), dp = SendablePointer(gradInput.data)
            let k = kernel, s = stride, inv = 1 / Float(kernel * kernel)
            Parallel.forChunks(planes, minimum: Swift.max(1, Parallel.minimumWork / Swift.max(1, h * w))) { lo, hi in
                for pl in lo..<hi {
                    let g = gp.p + pl * oh * ow, d = dp.p + pl * h * w
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let v = g[oy * ow + ox] * inv
                            for ky in 0..<k {
                                let row = d + (oy * s + ky) * w + ox * s
                                for kx in 0..<k { row[kx] += v }
                            }
                        }
                    }
                }
            }
            return gradInput
        }
    }
}

/// Mean over each channel's H x W plane: `[N, C, H, W]` → `[N, C]`. Ending a network with it
/// lets one classifier take any input resolution (28x28 Fashion-MNIST and 32x32 CIFAR alike).
public final class GlobalAvgPool: Layer {
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    public init() {}
    public var summary: String { "GlobalAvgPool" }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        OpProfile.measure(.pooling) {
            precondition(x.rank == 4, "GlobalAvgPool needs [N, C, H, W], got \(x.shape)")
            inputShape = x.shape
            let planes = x.shape[0] * x.shape[1], area = x.shape[2] * x.shape[3]
            output.resize([x.shape[0], x.shape[1]])
            let inv = 1 / Float(area)
            for pl in 0..<planes { output.data[pl] = Ops.sum(area, x.data + pl * area) * inv }
            return output
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        OpProfile.measure(.pooling) {
            let planes = inputShape[0] * inputShape[1], area = inputShape[2] * inputShape[3]
            precondition(dy.count == planes, "GlobalAvgPool.backward: gradient \(dy.shape) for input \(inputShape)")
            gradInput.resize(inputShape)
            let inv = 1 / Float(area)
            for pl in 0..<planes { (gradInput.data + pl * area).update(repeating: dy.data[pl] * inv, count: area) }
            return gradInput
        }
    }
}
