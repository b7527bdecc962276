// The kernel bodies, included once per instruction-set level by kernels_<level>.c with
// TK_VARIANT(name) naming that level's copy and a `#pragma clang attribute` giving it the
// level's target features. Plain loops the compiler vectorises at that width; reductions use
// explicit 16-lane accumulators so their order (and bits) is the same at every level.
// Keep every kernel `static`-free: dispatch.c takes their addresses.

#include "topiary_kernels.h"

typedef float tk_f32x16 __attribute__((vector_size(64), aligned(4)));
typedef int tk_i32x16 __attribute__((vector_size(64), aligned(4)));

void TK_VARIANT(axpy)(size_t n, float a, const float *restrict x, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

float TK_VARIANT(dot)(size_t n, const float *restrict x, const float *restrict y) {
    #pragma clang fp contract(off) // no FMA: the same bits at every level
    tk_f32x16 acc = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        tk_f32x16 a, b;
        __builtin_memcpy(&a, x + i, sizeof a);
        __builtin_memcpy(&b, y + i, sizeof b);
        acc += a * b;
    }
    float s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

// ---- shared helpers (static inline: each level's translation unit gets its own copy) ----

/// The bits of a float as an integer and back (compiled to register moves).
static inline unsigned TK_VARIANT(bits)(float x) { unsigned u; __builtin_memcpy(&u, &x, 4); return u; }
static inline float TK_VARIANT(from_bits)(unsigned u) { float x; __builtin_memcpy(&x, &u, 4); return x; }

/// e^x to about 2 ulp for x in [-87, 88]; 0 below -87.3 and e^88 above 88 (no inf, no NaN
/// from finite input). Branch-free so loops calling it vectorise: x = k ln2 + r with k the
/// nearest integer (the 1.5 * 2^23 shift rounds), e^r by its Taylor polynomial to r^7
/// (|r| <= ln2 / 2, truncation error below 6e-9), 2^k built in the exponent bits.
static inline float TK_VARIANT(exp)(float x) {
    const float shift = 12582912.0f; // 1.5 * 2^23
    float c = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = c * 1.44269504088896341f + shift;
    float kf = k - shift;
    float r = c - kf * 0.693145751953125f;   // ln2's high part (exact in 16 bits)
    r = r - kf * 1.428606765330187e-06f;     // and the rest
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int ki = (int)(TK_VARIANT(bits)(k) - TK_VARIANT(bits)(shift));
    float scale = TK_VARIANT(from_bits)((unsigned)(ki + 127) << 23);
    float y = p * scale;
    return x < -87.33f ? 0.0f : y;
}

/// Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF, and phi(x) = its density,
/// to a few float ulp. With z = |x| / sqrt 2: below z = 1, erf(z) = z P(z^2) (P of degree 6);
/// from 1 up, erfc(z) = t exp(-z^2 + Q(t)) with t = 1 / (1 + z/2) (Q of degree 8), which keeps
/// the tail's relative accuracy. Both polynomials are least-squares fits on Chebyshev nodes
/// (relative error below 2e-7 and 5e-8 in float). Both branches run and a select picks one.
static inline float TK_VARIANT(normal_cdf)(float x, float *density) {
    const float invSqrt2 = 0.70710678118654752f, invSqrt2Pi = 0.39894228040143268f;
    float z = (x < 0 ? -x : x) * invSqrt2;
    z = z > 10.0f ? 10.0f : z;
    float z2 = z * z;
    float e = TK_VARIANT(exp)(-z2); // also the density: phi(x) = e / sqrt(2 pi)
    *density = e * invSqrt2Pi;
    // erf near 0
    float a = 7.933398696e-05f;
    a = a * z2 - 8.034821787e-04f;
    a = a * z2 + 5.191216020e-03f;
    a = a * z2 - 2.685539848e-02f;
    a = a * z2 + 1.128362571e-01f;
    a = a * z2 - 3.761262988e-01f;
    a = a * z2 + 1.128379167e+00f;
    float erfSmall = a * z;
    // erfc away from 0
    float t = 1.0f / (1.0f + 0.5f * z);
    float q = -2.439022867e-01f;
    q = q * t + 6.563744340e-01f;
    q = q * t - 4.676259247e-01f;
    q = q * t - 5.170387777e-02f;
    q = q * t - 7.981135790e-02f;
    q = q * t + 7.376290844e-02f;
    q = q * t + 3.774372304e-01f;
    q = q * t + 9.997231006e-01f;
    q = q * t - 1.265499877e+00f;
    float erfcLarge = t * e * TK_VARIANT(exp)(q);
    // Phi(x) = 1/2 + sign(x) erf(z) / 2 = (x >= 0 ? 1 - erfc(z) / 2 : erfc(z) / 2)
    float small = x < 0 ? 0.5f - 0.5f * erfSmall : 0.5f + 0.5f * erfSmall;
    float large = x < 0 ? 0.5f * erfcLarge : 1.0f - 0.5f * erfcLarge;
    return z < 1.0f ? small : large;
}

/// Sum of n values in 16 lanes, the lanes then added in a fixed order (same bits at every level).
static inline float TK_VARIANT(lanes_sum)(size_t n, const float *restrict x) {
    #pragma clang fp contract(off) // no FMA: the same bits at every level
    tk_f32x16 acc = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        tk_f32x16 a;
        __builtin_memcpy(&a, x + i, sizeof a);
        acc += a;
    }
    float s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; i < n; i++) s += x[i];
    return s;
}

// ---- reductions ----

float TK_VARIANT(sum)(size_t n, const float *restrict x) { return TK_VARIANT(lanes_sum)(n, x); }

float TK_VARIANT(sum_squared_deviations)(size_t n, const float *restrict x, float mean) {
    #pragma clang fp contract(off) // no FMA: the same bits at every level
    tk_f32x16 acc = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        tk_f32x16 a;
        __builtin_memcpy(&a, x + i, sizeof a);
        a -= mean;
        acc += a * a;
    }
    float s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; i < n; i++) { float d = x[i] - mean; s += d * d; }
    return s;
}

// ---- elementwise ----

void TK_VARIANT(scale)(size_t n, float a, float *restrict x) {
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

void TK_VARIANT(add)(size_t n, const float *a, const float *b, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

// no_builtin: the loop stays a loop instead of becoming a memcpy call per row.
__attribute__((no_builtin("memcpy")))
void TK_VARIANT(copy_rows)(size_t rows, size_t n, const float *restrict src, size_t lds, float *restrict dst,
                           size_t ldd) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++) dst[r * ldd + j] = src[r * lds + j];
}

// copy_rows with a step along the rows. Step 2 (a stride-2 convolution's phase planes and
// back) runs 16 values at a time with two-source shuffles: a gather reads s[2j .. 2j+30] as
// two vectors (the second from s + 15, so nothing past the last value read), a scatter
// merges into the destination's vectors, keeping its odd positions (another phase's), and
// stores them back; other steps and the tails run the general loop.
void TK_VARIANT(copy_strided)(size_t rows, size_t n, const float *restrict src, size_t lds, size_t incs,
                              float *restrict dst, size_t ldd, size_t incd) {
    for (size_t r = 0; r < rows; r++) {
        const float *restrict s = src + r * lds;
        float *restrict d = dst + r * ldd;
        size_t j = 0;
        if (incs == 2 && incd == 1) {
            for (; j + 16 <= n; j += 16) {
                tk_f32x16 a, b;
                __builtin_memcpy(&a, s + 2 * j, sizeof a);
                __builtin_memcpy(&b, s + 2 * j + 15, sizeof b);
                tk_f32x16 even = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
                __builtin_memcpy(d + j, &even, sizeof even);
            }
        } else if (incs == 1 && incd == 2) {
            for (; j + 16 <= n; j += 16) {
                tk_f32x16 v, a, b;
                __builtin_memcpy(&v, s + j, sizeof v);
                __builtin_memcpy(&a, d + 2 * j, sizeof a);
                __builtin_memcpy(&b, d + 2 * j + 15, sizeof b);
                a = __builtin_shufflevector(a, v, 16, 1, 17, 3, 18, 5, 19, 7, 20, 9, 21, 11, 22, 13, 23, 15);
                b = __builtin_shufflevector(b, v, 0, 24, 2, 25, 4, 26, 6, 27, 8, 28, 10, 29, 12, 30, 14, 31);
                __builtin_memcpy(d + 2 * j, &a, sizeof a);
                __builtin_memcpy(d + 2 * j + 15, &b, sizeof b);
            }
        }
        for (; j < n; j++) d[j * incd] = s[j * incs];
    }
}

void TK_VARIANT(mul)(size_t n, const float *a, const float *b, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

void TK_VARIANT(relu_forward)(size_t n, const float *restrict x, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void TK_VARIANT(relu_backward)(size_t n, const float *restrict y, const float *restrict dy, float *restrict dx) {
    for (size_t i = 0; i < n; i++) { float g = dy[i]; dx[i] = y[i] > 0 ? g : 0; }
}

void TK_VARIANT(relu6_forward)(size_t n, const float *restrict x, float *restrict y) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float lo = 0 >= v ? 0 : v;  // Swift.max(v, 0): NaN stays NaN
        y[i] = 6 < lo ? 6 : lo;     // Swift.min(lo, 6)
    }
}

void TK_VARIANT(relu6_backward)(size_t n, const float *restrict y, const float *restrict dy, float *restrict dx) {
    for (size_t i = 0; i < n; i++) { float g = dy[i], v = y[i]; dx[i] = ((v > 0) & (v < 6)) ? g : 0; }
}

void TK_VARIANT(gelu_forward)(size_t n, const float *restrict x, float *restrict y, float *restrict dydx) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i], density;
        float cdf = TK_VARIANT(normal_cdf)(v, &density);
        y[i] = v * cdf;
        dydx[i] = cdf + v * density;
    }
}

// ---- softmax ----

void TK_VARIANT(softmax_rows)(size_t rows, size_t n, float *restrict x) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        float mx = row[0];
        for (size_t j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        for (size_t j = 0; j < n; j++) row[j] = TK_VARIANT(exp)(row[j] - mx);
        float inv = 1.0f / TK_VARIANT(lanes_sum)(n, row);
        for (size_t j = 0; j < n; j++) row[j] *= inv;
    }
}

void TK_VARIANT(softmax_backward_rows)(size_t rows, size_t n, const float *restrict p, float *restrict d) {
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * n;
        float *dr = d + r * n;
        float inner = TK_VARIANT(dot)(n, pr, dr);
        for (size_t j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - inner);
    }
}

// ---- normalisation ----

void TK_VARIANT(layernorm_forward)(size_t rows, size_t d, const float *restrict x, const float *restrict gamma,
                                   const float *restrict beta, float eps, float *restrict xhat, float *restrict y,
                                   float *restrict invstd) {
    float invD = 1.0f / (float)d;
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * d;
        float *h = xhat + r * d, *out = y + r * d;
        float mean = TK_VARIANT(lanes_sum)(d, row) * invD;
        float variance = TK_VARIANT(sum_squared_deviations)(d, row, mean) * invD;
        float s = 1.0f / __builtin_elementwise_sqrt(variance + eps);
        invstd[r] = s;
        for (size_t j = 0; j < d; j++) {
            float v = (row[j] - mean) * s;
            h[j] = v;
            out[j] = gamma[j] * v + beta[j];
        }
    }
}

void TK_VARIANT(layernorm_backward)(size_t rows, size_t d, const float *restrict dy, const float *restrict xhat,
                                    const float *restrict invstd, const float *restrict gamma, float *restrict dx,
                                    float *restrict dgamma, float *restrict dbeta, float *restrict scratch) {
    float invD = 1.0f / (float)d;
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * d, *h = xhat + r * d;
        float *out = dx + r * d;
        for (size_t j = 0; j < d; j++) {
            scratch[j] = gamma[j] * g[j];
            dgamma[j] += g[j] * h[j];
            dbeta[j] += g[j];
        }
        float meanU = TK_VARIANT(lanes_sum)(d, scratch) * invD;
        float meanUH = TK_VARIANT(dot)(d, scratch, h) * invD;
        float s = invstd[r];
        for (size_t j = 0; j < d; j++) out[j] = s * (scratch[j] - meanU - h[j] * meanUH);
    }
}

// BN's output before the activation, v = scale * ((x - mean) * inv) + shift: bn_normalize's
// expression, contracted (FMA or not) as it is there, so the activation's mask recomputed
// from x in backward is the mask of forward's output (0 < y iff 0 < v; 0 < y < 6 likewise).
static inline float TK_VARIANT(bn_affine)(float x, float mean, float inv, float scale, float shift) {
    return scale * ((x - mean) * inv) + shift;
}
// In place through a pointer: a vector argument or result would change the ABI.
static inline void TK_VARIANT(bn_affine16)(tk_f32x16 *v, float mean, float inv, float scale, float shift) {
    *v = scale * ((*v - mean) * inv) + shift;
}

// One row of n values: bn_normalize's value, then the activation `clamp` (0 none, 1 ReLU,
// 2 ReLU6), or with s the residual sum then ReLU; each the expression of the layer it stands
// for, so the fused kernels below give the bits of the layers one after the other.
static inline void TK_VARIANT(bn_normalize_row)(size_t n, const float *restrict x, float mean, float inv, float scale,
                                                float shift, int clamp, const float *restrict s, float *restrict y) {
    if (s) {
        for (size_t j = 0; j < n; j++) {
            float t = TK_VARIANT(bn_affine)(x[j], mean, inv, scale, shift) + s[j];  // add's
            y[j] = t > 0 ? t : 0;                                                    // relu_forward's
        }
    } else if (clamp == 1) {
        for (size_t j = 0; j < n; j++) {
            float v = TK_VARIANT(bn_affine)(x[j], mean, inv, scale, shift);
            y[j] = v > 0 ? v : 0;  // relu_forward's
        }
    } else if (clamp == 2) {
        for (size_t j = 0; j < n; j++) {
            float v = TK_VARIANT(bn_affine)(x[j], mean, inv, scale, shift);
            float lo = 0 >= v ? 0 : v;  // relu6_forward's
            y[j] = 6 < lo ? 6 : lo;
        }
    } else {
        for (size_t j = 0; j < n; j++) y[j] = TK_VARIANT(bn_affine)(x[j], mean, inv, scale, shift);
    }
}

void TK_VARIANT(bn_normalize)(size_t n, const float *restrict x, float mean, float inv, float scale, float shift,
                              float *restrict xhat, float *restrict y) {
    if (!xhat) {
        TK_VARIANT(bn_normalize_row)(n, x, mean, inv, scale, shift, 0, 0, y);
        return;
    }
    for (size_t j = 0; j < n; j++) {
        float v = (x[j] - mean) * inv;
        xhat[j] = v;
        y[j] = scale * v + shift;
    }
}

void TK_VARIANT(bn_normalize_relu6)(size_t n, const float *restrict x, float mean, float inv, float scale,
                                    float shift, float *restrict y) {
    TK_VARIANT(bn_normalize_row)(n, x, mean, inv, scale, shift, 2, 0, y);
}

void TK_VARIANT(bn_normalize_relu)(size_t n, const float *restrict x, float mean, float inv, float scale,
                                   float shift, float *restrict y) {
    TK_VARIANT(bn_normalize_row)(n, x, mean, inv, scale, shift, 1, 0, y);
}

void TK_VARIANT(bn_normalize_add_relu)(size_t n, const float *restrict x, float mean, float inv, float scale,
                                       float shift, const float *restrict s, float *restrict y) {
    TK_VARIANT(bn_normalize_row)(n, x, mean, inv, scale, shift, 1, s, y);
}

void TK_VARIANT(bn_backward_sums)(size_t n, const float *restrict dy, const float *restrict x, float mean,
                                  float *restrict sums) {
    #pragma clang fp contract(off) // no FMA: the same bits at every level
    tk_f32x16 s = {0}, sx = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        tk_f32x16 g, v;
        __builtin_memcpy(&g, dy + i, sizeof g);
        __builtin_memcpy(&v, x + i, sizeof v);
        s += g;
        sx += g * (v - mean);
    }
    float a = 0, b = 0;
    for (int l = 0; l < 16; l++) { a += s[l]; b += sx[l]; }
    for (; i < n; i++) { a += dy[i]; b += dy[i] * (x[i] - mean); }
    sums[0] = a;
    sums[1] = b;
}

// bn_backward_sums of relu_backward(y, dy) (six = 0) or relu6_backward(y, dy) (six = 1)
// without writing it or reading y: g = dy where the activation passed BN's output, else 0.
static inline void TK_VARIANT(bn_backward_sums_masked)(size_t n, const float *restrict dy, const float *restrict x,
                                                       float mean, float inv, float scale, float shift,
                                                       float *restrict sums, int six) {
    #pragma clang fp contract(off) // no FMA: the same bits at every level
    tk_f32x16 s = {0}, sx = {0}, zero = {0}, top = zero + 6;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        tk_f32x16 g, v;
        __builtin_memcpy(&g, dy + i, sizeof g);
        __builtin_memcpy(&v, x + i, sizeof v);
        tk_f32x16 r = v;
        TK_VARIANT(bn_affine16)(&r, mean, inv, scale, shift);
        tk_i32x16 keep = r > zero;
        if (six) keep &= r < top;
        g = (tk_f32x16)((tk_i32x16)g & keep);  // dy where kept, else +0: the backward kernels' values
        s += g;
        sx += g * (v - mean);
    }
    float a = 0, b = 0;
    for (int l = 0; l < 16; l++) { a += s[l]; b += sx[l]; }
    for (; i < n; i++) {
        const float r = TK_VARIANT(bn_affine)(x[i], mean, inv, scale, shift);
        float g = (r > 0 && (!six || r < 6)) ? dy[i] : 0;
        a += g;
        b += g * (x[i] - mean);
    }
    sums[0] = a;
    sums[1] = b;
}

void TK_VARIANT(bn_backward_sums_relu)(size_t n, const float *restrict dy, const float *restrict x, float mean,
                                       float inv, float scale, float shift, float *restrict sums) {
    TK_VARIANT(bn_backward_sums_masked)(n, dy, x, mean, inv, scale, shift, sums, 0);
}

void TK_VARIANT(bn_backward_sums_relu6)(size_t n, const float *restrict dy, const float *restrict x, float mean,
                                        float inv, float scale, float shift, float *restrict sums) {
    TK_VARIANT(bn_backward_sums_masked)(n, dy, x, mean, inv, scale, shift, sums, 1);
}

// bn_backward_input of relu_backward(y, dy) or relu6_backward(y, dy), masked on the fly.
static inline void TK_VARIANT(bn_backward_input_masked)(size_t n, const float *restrict dy, const float *restrict x,
                                                        float mean, float inv, float scale, float shift, float k,
                                                        float meanDy, float meanDyH, float *restrict dx, int six) {
    for (size_t j = 0; j < n; j++) {
        const float v = TK_VARIANT(bn_affine)(x[j], mean, inv, scale, shift);
        float g = (six ? ((v > 0) & (v < 6)) : v > 0) ? dy[j] : 0;
        float h = (x[j] - mean) * inv;
        dx[j] = k * (g - meanDy - h * meanDyH);
    }
}

void TK_VARIANT(bn_backward_input_relu)(size_t n, const float *restrict dy, const float *restrict x, float mean,
                                        float inv, float scale, float shift, float k, float meanDy, float meanDyH,
                                        float *restrict dx) {
    TK_VARIANT(bn_backward_input_masked)(n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, dx, 0);
}

void TK_VARIANT(bn_backward_input_relu6)(size_t n, const float *restrict dy, const float *restrict x, float mean,
                                         float inv, float scale, float shift, float k, float meanDy, float meanDyH,
                                         float *restrict dx) {
    TK_VARIANT(bn_backward_input_masked)(n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, dx, 1);
}

void TK_VARIANT(bn_backward_input)(size_t n, const float *restrict dy, const float *restrict x, float mean, float inv,
                                   float k, float meanDy, float meanDyH, float *restrict dx) {
    for (size_t j = 0; j < n; j++) {
        float h = (x[j] - mean) * inv;
        dx[j] = k * (dy[j] - meanDy - h * meanDyH);
    }
}

// bn_backward_input (clamp 0), bn_backward_input_relu (1) or bn_backward_input_relu6 (2) of one
// row: the plane-batch kernels' dispatch, through the same loops, so the same bits.
static inline void TK_VARIANT(bn_backward_input_row)(size_t n, const float *restrict dy, const float *restrict x,
                                                     float mean, float inv, float scale, float shift, float k,
                                                     float meanDy, float meanDyH, int clamp, float *restrict dx) {
    if (clamp == 0) TK_VARIANT(bn_backward_input)(n, dy, x, mean, inv, k, meanDy, meanDyH, dx);
    else TK_VARIANT(bn_backward_input_masked)(n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, dx, clamp == 2);
}

// ---- optimizers (a masked entry's value and state become exactly 0, by select) ----

void TK_VARIANT(sgd)(size_t n, float *restrict w, const float *restrict g, float *restrict buf,
                     const float *restrict mask, float lr, float mu, float wd, int nesterov) {
    if (!buf) {
        if (mask) {
            for (size_t i = 0; i < n; i++) { float v = w[i] - lr * (g[i] + wd * w[i]); w[i] = mask[i] != 0 ? v : 0; }
        } else {
            for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
        }
        return;
    }
    if (mask && nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i], b = mu * buf[i] + d;
            int keep = mask[i] != 0;
            buf[i] = keep ? b : 0;
            w[i] = keep ? w[i] - lr * (d + mu * b) : 0;
        }
    } else if (mask) {
        for (size_t i = 0; i < n; i++) {
            float b = mu * buf[i] + g[i] + wd * w[i];
            int keep = mask[i] != 0;
            buf[i] = keep ? b : 0;
            w[i] = keep ? w[i] - lr * b : 0;
        }
    } else if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i], b = mu * buf[i] + d;
            buf[i] = b;
            w[i] -= lr * (d + mu * b);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float b = mu * buf[i] + g[i] + wd * w[i];
            buf[i] = b;
            w[i] -= lr * b;
        }
    }
}

void TK_VARIANT(sgd_kept)(size_t k, const int32_t *restrict kept, float *restrict w, const float *restrict g,
                          float *restrict buf, float lr, float mu, float wd, int nesterov) {
    // The expressions of sgd's masked loops, so contraction (FMA) and bits are the same.
    if (!buf) {
        for (size_t j = 0; j < k; j++) { size_t i = (size_t)kept[j]; float v = w[i] - lr * (g[i] + wd * w[i]); w[i] = v; }
    } else if (nesterov) {
        for (size_t j = 0; j < k; j++) {
            size_t i = (size_t)kept[j];
            float d = g[i] + wd * w[i], b = mu * buf[i] + d;
            buf[i] = b;
            w[i] = w[i] - lr * (d + mu * b);
        }
    } else {
        for (size_t j = 0; j < k; j++) {
            size_t i = (size_t)kept[j];
            float b = mu * buf[i] + g[i] + wd * w[i];
            buf[i] = b;
            w[i] = w[i] - lr * b;
        }
    }
}

void TK_VARIANT(adam)(size_t n, float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                      const float *restrict mask, float stepSize, float b1, float b2, float wd, float eps,
                      float invSqrtCorrection2) {
    float c1 = 1 - b1, c2 = 1 - b2;
    if (mask) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            float mi = b1 * m[i] + c1 * d, vi = b2 * v[i] + c2 * d * d;
            int keep = mask[i] != 0;
            m[i] = keep ? mi : 0;
            v[i] = keep ? vi : 0;
            float wi = w[i] - stepSize * mi / (__builtin_elementwise_sqrt(vi) * invSqrtCorrection2 + eps);
            w[i] = keep ? wi : 0;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            float mi = b1 * m[i] + c1 * d, vi = b2 * v[i] + c2 * d * d;
            m[i] = mi;
            v[i] = vi;
            w[i] -= stepSize * mi / (__builtin_elementwise_sqrt(vi) * invSqrtCorrection2 + eps);
        }
    }
}

// One RMSProp loop per (mask, momentum) case, so each vectorises without a per-element test.
#define TK_RMSPROP_LOOP(MASKED, MOMENTUM) \
    for (size_t i = 0; i < n; i++) { \
        float d = g[i] + wd * w[i]; \
        float si = alpha * sq[i] + c * d * d; \
        float step; \
        if (MOMENTUM) { \
            float bi = mu * buf[i] + d / (__builtin_elementwise_sqrt(si) + eps); \
            buf[i] = (MASKED) && mask[i] == 0 ? 0 : bi; \
            step = lr * bi; \
        } else { \
            step = lr * d / (__builtin_elementwise_sqrt(si) + eps); \
        } \
        int keep = !(MASKED) || mask[i] != 0; \
        sq[i] = keep ? si : 0; \
        w[i] = keep ? w[i] - step : 0; \
    }

void TK_VARIANT(rmsprop)(size_t n, float *restrict w, const float *restrict g, float *restrict sq, float *restrict buf,
                         const float *restrict mask, float lr, float alpha, float mu, float wd, float eps) {
    float c = 1 - alpha;
    if (mask && buf) TK_RMSPROP_LOOP(1, 1)
    else if (mask) TK_RMSPROP_LOOP(1, 0)
    else if (buf) TK_RMSPROP_LOOP(0, 1)
    else TK_RMSPROP_LOOP(0, 0)
}
#undef TK_RMSPROP_LOOP
