// Topiary's own vector kernels, compiled once per instruction-set level and chosen at run
// time (tk_isa_active), so one portable binary runs the widest kernels the CPU has without
// any build flag. Swift calls them through the Tensor module's `VectorKernels`.
#ifndef TOPIARY_KERNELS_H
#define TOPIARY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels a kernel table is compiled for (the "x86-64-v1/v3/v4" levels).
typedef enum {
    TK_ISA_PORTABLE = 0, ///< baseline x86-64 (SSE2) or any other architecture
    TK_ISA_AVX2 = 1,     ///< AVX2 + FMA
    TK_ISA_AVX512 = 2,   ///< AVX-512 F/BW/DQ/VL + AVX2 + FMA
} tk_isa;

/// Whether this CPU can run `isa`'s kernels.
int tk_isa_supported(tk_isa isa);
/// The level in use on this thread: the one tk_isa_force chose for it, else the widest
/// supported, unless TOPIARY_ISA (portable | avx2 | avx512) chose another for the process.
tk_isa tk_isa_active(void);
/// Uses `isa`'s kernels on the calling thread from now on (tests compare every level the CPU
/// has while other work runs). Returns 0 and changes nothing when the CPU cannot run it.
int tk_isa_force(tk_isa isa);
/// The calling thread's forced level, or -1: what worker threads adopt, so a kernel split
/// over threads runs one level throughout.
int tk_isa_thread_override(void);
/// Sets the calling thread's forced level (-1: none); returns the previous one.
int tk_isa_set_thread_override(int level);
/// "portable", "avx2" or "avx512".
const char *tk_isa_name(tk_isa isa);
/// 1 on an AMD processor (cpuid's vendor), else 0: some defaults are measured per vendor.
int tk_cpu_is_amd(void);

// ---- kernels (one entry per operation; each dispatches to the active level's variant) ----

/// y[i] += a * x[i]
void tk_axpy(size_t n, float a, const float *x, float *y);
/// sum of x[i] * y[i], accumulated in 16 float lanes then summed in a fixed order, so every
/// level gives the same bits.
float tk_dot(size_t n, const float *x, const float *y);

/// sum of x[i], in 16 float lanes summed in a fixed order (the same bits at every level).
float tk_sum(size_t n, const float *x);
/// sum of (x[i] - mean)^2 in 16 lanes: the second pass of a two-pass variance.
float tk_sum_squared_deviations(size_t n, const float *x, float mean);
/// x[i] *= a
void tk_scale(size_t n, float a, float *x);
/// out[i] = a[i] + b[i] (out may be a or b)
void tk_add(size_t n, const float *a, const float *b, float *out);
/// dst[r*ldd + j] = src[r*lds + j] for r < rows, j < n: a block of short rows in one call
/// (the sparse convolution's padded and staged layouts) rather than a library call per row.
/// The blocks must not overlap.
void tk_copy_rows(size_t rows, size_t n, const float *src, size_t lds, float *dst, size_t ldd);
/// tk_copy_rows with a step along each row: dst[r*ldd + j*incd] = src[r*lds + j*incs].
void tk_copy_strided(size_t rows, size_t n, const float *src, size_t lds, size_t incs, float *dst, size_t ldd,
                     size_t incd);
/// out[i] = a[i] * b[i] (out may be a or b)
void tk_mul(size_t n, const float *a, const float *b, float *out);
/// y = max(0, x) (NaN gives 0, as `x > 0 ? x : 0`)
void tk_relu_forward(size_t n, const float *x, float *y);
/// dx = y > 0 ? dy : 0, with y ReLU's output
void tk_relu_backward(size_t n, const float *y, const float *dy, float *dx);
/// y = min(max(x, 0), 6) (NaN stays NaN, as Swift's min/max)
void tk_relu6_forward(size_t n, const float *x, float *y);
/// dx = 0 < y < 6 ? dy : 0, with y ReLU6's output
void tk_relu6_backward(size_t n, const float *y, const float *dy, float *dx);
/// Exact GELU, y = x Phi(x), and its derivative dydx = Phi(x) + x phi(x), with the normal CDF
/// from Topiary's own vectorisable erf/erfc approximation (a few float ulp).
void tk_gelu_forward(size_t n, const float *x, float *y, float *dydx);
/// Numerically stable softmax of each of `rows` rows of `n` values, in place.
void tk_softmax_rows(size_t rows, size_t n, float *x);
/// Softmax backward per row, in place: d = p * (d - dot(p, d)).
void tk_softmax_backward_rows(size_t rows, size_t n, const float *p, float *d);
/// LayerNorm of `rows` rows of `d` features: xhat = (x - mean) * invstd, y = gamma * xhat + beta,
/// with two-pass mean and biased variance per row; writes each row's 1/std to invstd.
void tk_layernorm_forward(size_t rows, size_t d, const float *x, const float *gamma, const float *beta, float eps,
                          float *xhat, float *y, float *invstd);
/// LayerNorm backward: dx = invstd * (u - mean(u) - xhat * mean(u * xhat)) with u = gamma * dy;
/// adds into dgamma and dbeta; `scratch` holds d floats.
void tk_layernorm_backward(size_t rows, size_t d, const float *dy, const float *xhat, const float *invstd,
                           const float *gamma, float *dx, float *dgamma, float *dbeta, float *scratch);
/// One BatchNorm plane: v = (x - mean) * inv, xhat = v (skipped when xhat is NULL), y = scale * v + shift.
void tk_bn_normalize(size_t n, const float *x, float mean, float inv, float scale, float shift, float *xhat, float *y);
/// ReLU6 of one BatchNorm plane in one pass: the bits of tk_bn_normalize then tk_relu6_forward.
void tk_bn_normalize_relu6(size_t n, const float *x, float mean, float inv, float scale, float shift, float *y);
/// ReLU of one BatchNorm plane in one pass: the bits of tk_bn_normalize then tk_relu_forward.
void tk_bn_normalize_relu(size_t n, const float *x, float mean, float inv, float scale, float shift, float *y);
/// A residual block's end in one pass, y = max(0, BN(x) + s): the bits of tk_bn_normalize,
/// tk_add and tk_relu_forward in a row.
void tk_bn_normalize_add_relu(size_t n, const float *x, float mean, float inv, float scale, float shift, const float *s,
                              float *y);
/// tk_bn_backward_sums of tk_relu_backward(y, dy) (dy where y > 0, else 0) without writing it
/// or reading y, which is tk_bn_normalize_relu(x, mean, inv, scale, shift): its mask is
/// recomputed from x with the same expression. The same bits.
void tk_bn_backward_sums_relu(size_t n, const float *dy, const float *x, float mean, float inv, float scale,
                              float shift, float *sums);
/// tk_bn_backward_input of tk_relu_backward(y, dy), y recomputed as above: the same bits.
void tk_bn_backward_input_relu(size_t n, const float *dy, const float *x, float mean, float inv, float scale,
                               float shift, float k, float meanDy, float meanDyH, float *dx);
/// tk_bn_backward_sums of tk_relu6_backward(y, dy) (dy where 0 < y < 6, else 0), y being
/// tk_bn_normalize_relu6(x, mean, inv, scale, shift), recomputed: the same bits.
void tk_bn_backward_sums_relu6(size_t n, const float *dy, const float *x, float mean, float inv, float scale,
                               float shift, float *sums);
/// tk_bn_backward_input of tk_relu6_backward(y, dy), y recomputed as above: the same bits.
void tk_bn_backward_input_relu6(size_t n, const float *dy, const float *x, float mean, float inv, float scale,
                                float shift, float k, float meanDy, float meanDyH, float *dx);
/// BatchNorm backward's two sums over one plane in one pass (16 lanes each, fixed order):
/// sums[0] = sum dy, sums[1] = sum dy * (x - mean).
void tk_bn_backward_sums(size_t n, const float *dy, const float *x, float mean, float *sums);
/// BatchNorm training-mode input gradient of one plane, xhat = (x - mean) * inv recomputed on
/// the fly: dx = k * (dy - meanDy - xhat * meanDyH).
void tk_bn_backward_input(size_t n, const float *dy, const float *x, float mean, float inv, float k, float meanDy,
                          float meanDyH, float *dx);
// Plane batches: the per-plane kernels above over `planes` consecutive planes (a sample's
// channels) in one call, plane p with its channel's parameters mean[p], inv[p], ...: the same
// bits as one call per plane, without the per-call cost that dominated on small maps.

/// Writes plane p's `rows` rows of n floats (src + p*src_plane, rows n apart) to
/// dst + first + p*dst_plane, rows ldd apart, each followed by ldd - n zeros, and zeros
/// everywhere else in dst[0 ..< count]: each float written once. Planes must not overlap and
/// must end within count.
void tk_place_rows(size_t planes, size_t rows, size_t n, const float *src, size_t src_plane, float *dst, size_t first,
                   size_t dst_plane, size_t ldd, size_t count);
/// tk_place_rows of tk_bn_normalize_planes' values (clamp 0, 1 or 2, no residual) of contiguous planes x.
void tk_place_bn_normalized(size_t planes, size_t rows, size_t n, const float *x, const float *mean, const float *inv,
                            const float *scale, const float *shift, int clamp, float *dst, size_t first,
                            size_t dst_plane, size_t ldd, size_t count);
/// tk_place_rows of tk_bn_backward_input_planes' values (clamp 0, 1 or 2) of contiguous planes dy, x.
void tk_place_bn_input_gradient(size_t planes, size_t rows, size_t n, const float *dy, const float *x, const float *mean,
                                const float *inv, const float *scale, const float *shift, const float *k,
                                const float *meanDy, const float *meanDyH, int clamp, float *dst, size_t first,
                                size_t dst_plane, size_t ldd, size_t count);
/// tk_copy_rows for each of `planes` planes, src + p*src_plane to dst + p*dst_plane; with
/// `add` (NULL: none), laid out as dst, each value written is src's + add's (tk_add's bits);
/// with `add` and `mask` (laid out as dst), that sum where mask > 0, else 0 (tk_relu_backward
/// of the sum, mask being the ReLU's output). `mask` without `add` is ignored.
void tk_copy_planes(size_t planes, size_t rows, size_t n, const float *src, size_t src_plane, size_t lds,
                    const float *add, const float *mask, float *dst, size_t dst_plane, size_t ldd);
/// out[p] = tk_sum of plane p (n values).
void tk_plane_sums(size_t planes, size_t n, const float *x, float *out);
/// out[p] = tk_sum_squared_deviations of plane p from mean[p].
void tk_plane_squared_deviations(size_t planes, size_t n, const float *x, const float *mean, float *out);
/// tk_bn_normalize (clamp 0, no xhat), tk_bn_normalize_relu (1) or tk_bn_normalize_relu6 (2), or
/// with s tk_bn_normalize_add_relu, of each plane's rows: plane p's rows at x + p*x_plane (ldx
/// apart) into y + p*y_plane (ldy apart), s laid out as y. A sparse convolution's output rows are
/// wider than the image, so its epilogue reads them where they are. The same bits as those kernels.
void tk_bn_normalize_planes(size_t planes, size_t rows, size_t n, const float *x, size_t x_plane, size_t ldx,
                            const float *mean, const float *inv, const float *scale, const float *shift, int clamp,
                            const float *s, float *y, size_t y_plane, size_t ldy);
/// sums[2p], sums[2p+1]: tk_bn_backward_sums (clamp 0; inv, scale, shift unused),
/// tk_bn_backward_sums_relu (1) or tk_bn_backward_sums_relu6 (2) of plane p.
void tk_bn_backward_plane_sums(size_t planes, size_t n, const float *dy, const float *x, const float *mean,
                               const float *inv, const float *scale, const float *shift, int clamp, float *sums);
/// tk_bn_backward_input (clamp 0; scale, shift unused), tk_bn_backward_input_relu (1) or
/// tk_bn_backward_input_relu6 (2) of plane p.
void tk_bn_backward_input_planes(size_t planes, size_t n, const float *dy, const float *x, const float *mean,
                                 const float *inv, const float *scale, const float *shift, const float *k,
                                 const float *meanDy, const float *meanDyH, int clamp, float *dx);

/// PyTorch's SGD: d = g + wd w; without `buf` w -= lr d; with it buf = mu buf + d and
/// w -= lr (nesterov ? d + mu buf : buf). Where mask[i] == 0 (mask may be NULL) w and buf become 0.
void tk_sgd(size_t n, float *w, const float *g, float *buf, const float *mask, float lr, float mu, float wd, int nesterov);
/// tk_sgd's update at the entries `kept` only (every other entry is 0 with 0 momentum), with
/// the same expressions, so the same bits as tk_sgd's full masked sweep at each level.
void tk_sgd_kept(size_t k, const int32_t *kept, float *w, const float *g, float *buf, float lr, float mu, float wd,
                 int nesterov);
/// PyTorch's Adam with L2 weight decay: m, v moments, w -= stepSize m / (sqrt(v) invSqrtCorrection2 + eps);
/// masked entries (mask may be NULL) get w = m = v = 0.
void tk_adam(size_t n, float *w, const float *g, float *m, float *v, const float *mask, float stepSize, float b1, float b2,
             float wd, float eps, float invSqrtCorrection2);
/// PyTorch's uncentred RMSProp, with momentum buffer `buf` when not NULL; masked entries
/// (mask may be NULL) get w = sq = buf = 0.
void tk_rmsprop(size_t n, float *w, const float *g, float *sq, float *buf, const float *mask, float lr, float alpha,
                float mu, float wd, float eps);

#ifdef __cplusplus
}
#endif

#endif
