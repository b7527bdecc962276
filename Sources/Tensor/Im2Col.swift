/// The geometry of a 2-D convolution or pooling window over one `[C, H, W]` sample.
public struct ConvGeometry: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let strideY: Int, strideX: Int
    public let padY: Int, padX: Int

    public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int,
                strideY: Int, strideX: Int, padY: Int, padX: Int) {
        precondition(kernelHeight > 0 && kernelWidth > 0 && strideY > 0 && strideX > 0 && padY >= 0 && padX >= 0,
                     "bad convolution window \(kernelHeight)x\(kernelWidth) stride \(strideY)x\(strideX) pad \(padY)x\(padX)")
        self.channels = channels; self.height = height; self.width = width
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.strideY = strideY; self.strideX = strideX
        self.padY = padY; self.padX = padX
    }

    /// PyTorch's floor formula; may be <= 0 when the window does not fit.
    public var outputHeight: Int { (height + 2 * padY - kernelHeight) / strideY + 1 }
    public var outputWidth: Int { (width + 2 * padX - kernelWidth) / strideX + 1 }
    /// Rows of the column matrix: one per (channel, ky, kx).
    public var columnRows: Int { channels * kernelHeight * kernelWidth }
    /// Output positions of one sample: the column matrix's width per sample.
    public var outputArea: Int { outputHeight * outputWidth }

    /// The output columns `ox` whose input column `ox * stride - pad + kx` lies inside
    /// the image: a half-open range, so the inner loops need no bounds test.
    @inlinable func validColumns(_ kx: Int) -> (Int, Int) {
        let shift = padX - kx
        // ceil(shift / stride) for the first, floor((width - 1 + shift) / stride) + 1 for the end.
        let lo = shift > 0 ? (shift + strideX - 1) / strideX : 0
        let hiRaw = width - 1 + shift
        let hi = hiRaw < 0 ? 0 : Swift.min(outputWidth, hiRaw / strideX + 1)
        return (Swift.min(lo, hi), hi)
    }
}

/// Convolution lowering: im2col copies every receptive field of a sample into a column of
/// a `[C*kh*kw, OH*OW]` matrix so that a convolution is one GEMM; col2im is its adjoint
/// (scatter-add), used for the input gradient.
///
/// Both take a leading dimension `ld` so that the columns of several samples can sit side
/// by side in one matrix (sample s at column offset s * OH*OW) and a whole chunk of the
/// batch is convolved by a single, larger GEMM.
package enum Im2Col {
    /// Writes sample `x` ([C, H, W]) into `col` (row stride `ld`), zero where the window
    /// reaches into the padding.
    package static func im2col(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int) {
        let oh = g.outputHeight, ow = g.outputWidth, h = g.height, w = g.width
        let sy = g.strideY, sx = g.strideX
        for c in 0..<g.channels {
            let plane = x + c * h * w
            for ky in 0..<g.kernelHeight {
                for kx in 0..<g.kernelWidth {
                    let row = col + ((c * g.kernelHeight + ky) * g.kernelWidth + kx) * ld
                    let (lo, hi) = g.validColumns(kx)
                    let dx = kx - g.padX
                    for oy in 0..<oh {
                        let dst = row + oy * ow
                        let iy = oy * sy - g.padY + ky
                        guard iy >= 0 && iy < h else {
                            dst.update(repeating: 0, count: ow)
                            continue
                        }
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        let src = plane + iy * w + dx
                        if sx == 1 {
                            (dst + lo).update(from: src + lo, count: hi - lo)
                        } else {
                            for ox in lo..<hi { dst[ox] = src[ox * sx] }
                        }
                        if hi < ow { (dst + hi).update(repeating: 0, count: ow - hi) }
                    }
                }
            }
        }
    }

    /// Adds the columns in `col` (row stride `ld`) back onto sample `dx` ([C, H, W]); the
    /// caller zeroes `dx` first. Padding positions are dropped.
    package static func col2im(_ g: ConvGeometry, _ col: UnsafePointer<Float>, ld: Int, _ dx: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight, ow = g.outputWidth, h = g.height, w = g.width
        let sy = g.strideY, sx = g.strideX
        for c in 0..<g.channels {
            let plane = dx + c * h * w
            for ky in 0..<g.kernelHeight {
                for kx in 0..<g.kernelWidth {
                    let row = col + ((c * g.kernelHeight + ky) * g.kernelWidth + kx) * ld
                    let (lo, hi) = g.validColumns(kx)
                    let shift = kx - g.padX
                    for oy in 0..<oh {
                        let iy = oy * sy - g.padY + ky
                        guard iy >= 0 && iy < h else { continue }
                        let src = row + oy * ow
                        let dst = plane + iy * w + shift
                        if sx == 1 {
                            for ox in lo..<hi { dst[ox] += src[ox] }
                        } else {
                            for ox in lo..<hi { dst[ox * sx] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}
