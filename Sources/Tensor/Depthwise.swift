/// Direct kernels for depthwise convolution, one channel plane at a time: each output channel
/// reads one input channel through a kh x kw window. Lowering these to im2col + GEMM makes one
/// 1-row GEMM per channel and sample, dominated by call and copy overhead.
///
/// `g` describes one plane (`channels` is ignored); `w` is the plane's kh*kw weights.
/// Inner loops run over the output columns whose input lies inside the image
/// (`ConvGeometry.validColumns`), so they need no bounds test.
package enum Depthwise {
    /// out (OH x OW) = bias + correlation of `x` (H x W) with `w`.
    package static func forward(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, bias: Float,
                               _ out: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight, ow = g.outputWidth, sx = g.strideX
        for oy in 0..<oh {
            let o = out + oy * ow
            o.update(repeating: bias, count: ow)
            for ky in 0..<g.kernelHeight {
                let iy = oy * g.strideY - g.padY + ky
                guard iy >= 0 && iy < g.height else { continue }
                for kx in 0..<g.kernelWidth {
                    let (lo, hi) = g.validColumns(kx)
                    let wv = w[ky * g.kernelWidth + kx], src = x + iy * g.width + kx - g.padX
                    for ox in lo..<hi { o[ox] += wv * src[ox * sx] }
                }
            }
        }
    }

    /// dx (H x W) += the adjoint of `forward` applied to dy (OH x OW).
    package static func backwardInput(_ g: ConvGeometry, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                     _ dx: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight, ow = g.outputWidth, sx = g.strideX
        for oy in 0..<oh {
            let d = dy + oy * ow
            for ky in 0..<g.kernelHeight {
                let iy = oy * g.strideY - g.padY + ky
                guard iy >= 0 && iy < g.height else { continue }
                for kx in 0..<g.kernelWidth {
                    let (lo, hi) = g.validColumns(kx)
                    let wv = w[ky * g.kernelWidth + kx], dst = dx + iy * g.width + kx - g.padX
                    for ox in lo..<hi { dst[ox * sx] += wv * d[ox] }
                }
            }
        }
    }

    /// dw (kh x kw) += sum over output positions of dy times the input under each tap.
    package static func backwardWeight(_ g: ConvGeometry, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                      _ dw: UnsafeMutablePointer<Float>) {
        let oh = g.outputHeight, ow = g.outputWidth, sx = g.strideX
        for ky in 0..<g.kernelHeight {
            for kx in 0..<g.kernelWidth {
                let (lo, hi) = g.validColumns(kx)
                var sum: Float = 0
                for oy in 0..<oh {
                    let iy = oy * g.strideY - g.padY + ky
                    guard iy >= 0 && iy < g.height else { continue }
                    let d = dy + oy * ow, src = x + iy * g.width + kx - g.padX
                    for ox in lo..<hi { sum += d[ox] * src[ox * sx] }
                }
                dw[ky * g.kernelWidth + kx] += sum
            }
        }
    }
}
