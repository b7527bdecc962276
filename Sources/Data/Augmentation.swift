import Tensor

/// CIFAR-style augmentation: a random crop of the sample zero-padded by `padding` pixels on
/// every side, then a horizontal flip with probability 1/2. Works in place on one sample
/// (CHW layout); padding is 0, which after per-channel normalisation is the channel mean.
public struct CropAndFlip: Sendable {
    public let channels: Int, height: Int, width: Int, padding: Int

    public init(sampleShape: [Int], padding: Int = 4) {
        precondition(sampleShape.count == 3, "crop and flip needs [channels, height, width], got \(sampleShape)")
        channels = sampleShape[0]
        height = sampleShape[1]
        width = sampleShape[2]
        self.padding = padding
    }

    /// Applies a random crop offset and flip drawn from `rng`, using `scratch` (one sample).
    public func apply(_ x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, rng: inout RNG) {
        let dy = rng.below(2 * padding + 1) - padding
        let dx = rng.below(2 * padding + 1) - padding
        let flip = rng.below(2) == 1
        let plane = height * width
        scratch.update(from: x, count: channels * plane)
        for c in 0..<channels {
            let src = scratch + c * plane, dst = x + c * plane
            for i in 0..<height {
                let si = i + dy
                for j in 0..<width {
                    let sj = (flip ? width - 1 - j : j) + dx
                    dst[i * width + j] = si >= 0 && si < height && sj >= 0 && sj < width ? src[si * width + sj] : 0
                }
            }
        }
    }

    /// A `Batcher.transform` applying this augmentation with its own scratch buffer.
    public func transform() -> (UnsafeMutablePointer<Float>, inout RNG) -> Void {
        let scratch = Tensor(shape: [channels, height, width])
        return { x, rng in self.apply(x, scratch: scratch.data, rng: &rng) }
    }
}
