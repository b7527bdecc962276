// One function-pointer table per instruction-set level. Adding a kernel: declare it in
// topiary_kernels.h, write its body in kernels_body.h and add one line to TK_DENSE_KERNELS
// below; the declarations of every level's copy, the table field, its entries and the
// forwarding function in dispatch.c all come from that line.
#include "topiary_kernels.h"

// V(name, parameters, arguments) for kernels returning void, F(...) for those returning float.
#define TK_DENSE_KERNELS(V, F) \
    V(axpy, (size_t n, float a, const float *x, float *y), (n, a, x, y)) \
    F(dot, (size_t n, const float *x, const float *y), (n, x, y)) \
    F(sum, (size_t n, const float *x), (n, x)) \
    F(sum_squared_deviations, (size_t n, const float *x, float mean), (n, x, mean)) \
    V(scale, (size_t n, float a, float *x), (n, a, x)) \
    V(add, (size_t n, const float *a, const float *b, float *out), (n, a, b, out)) \
    V(copy_rows, (size_t rows, size_t n, const float *src, size_t lds, float *dst, size_t ldd), \
      (rows, n, src, lds, dst, ldd)) \
    V(copy_strided, (size_t rows, size_t n, const float *src, size_t lds, size_t incs, float *dst, size_t ldd, \
                     size_t incd), (rows, n, src, lds, incs, dst, ldd, incd)) \
    V(mul, (size_t n, const float *a, const float *b, float *out), (n, a, b, out)) \
    V(relu_forward, (size_t n, const float *x, float *y), (n, x, y)) \
    V(relu_backward, (size_t n, const float *y, const float *dy, float *dx), (n, y, dy, dx)) \
    V(relu6_forward, (size_t n, const float *x, float *y), (n, x, y)) \
    V(relu6_backward, (size_t n, const float *y, const float *dy, float *dx), (n, y, dy, dx)) \
    V(gelu_forward, (size_t n, const float *x, float *y, float *dydx), (n, x, y, dydx)) \
    V(softmax_rows, (size_t rows, size_t n, float *x), (rows, n, x)) \
    V(softmax_backward_rows, (size_t rows, size_t n, const float *p, float *d), (rows, n, p, d)) \
    V(layernorm_forward, (size_t rows, size_t d, const float *x, const float *gamma, const float *beta, float eps, \
                          float *xhat, float *y, float *invstd), (rows, d, x, gamma, beta, eps, xhat, y, invstd)) \
    V(layernorm_backward, (size_t rows, size_t d, const float *dy, const float *xhat, const float *invstd, \
                           const float *gamma, float *dx, float *dgamma, float *dbeta, float *scratch), \
      (rows, d, dy, xhat, invstd, gamma, dx, dgamma, dbeta, scratch)) \
    V(bn_normalize, (size_t n, const float *x, float mean, float inv, float scale, float shift, float *xhat, float *y), \
      (n, x, mean, inv, scale, shift, xhat, y)) \
    V(bn_normalize_relu6, (size_t n, const float *x, float mean, float inv, float scale, float shift, float *y), \
      (n, x, mean, inv, scale, shift, y)) \
    V(bn_normalize_relu, (size_t n, const float *x, float mean, float inv, float scale, float shift, float *y), \
      (n, x, mean, inv, scale, shift, y)) \
    V(bn_normalize_add_relu, (size_t n, const float *x, float mean, float inv, float scale, float shift, const float *s, \
                              float *y), (n, x, mean, inv, scale, shift, s, y)) \
    V(bn_backward_sums, (size_t n, const float *dy, const float *x, float mean, float *sums), (n, dy, x, mean, sums)) \
    V(bn_backward_sums_relu, (size_t n, const float *dy, const float *x, float mean, float inv, float scale, \
                              float shift, float *sums), (n, dy, x, mean, inv, scale, shift, sums)) \
    V(bn_backward_input_relu, (size_t n, const float *dy, const float *x, float mean, float inv, float scale, \
                               float shift, float k, float meanDy, float meanDyH, float *dx), \
      (n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, dx)) \
    V(bn_backward_sums_relu6, (size_t n, const float *dy, const float *x, float mean, float inv, float scale, \
                               float shift, float *sums), (n, dy, x, mean, inv, scale, shift, sums)) \
    V(bn_backward_input_relu6, (size_t n, const float *dy, const float *x, float mean, float inv, float scale, \
                                float shift, float k, float meanDy, float meanDyH, float *dx), \
      (n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, dx)) \
    V(bn_backward_input, (size_t n, const float *dy, const float *x, float mean, float inv, float k, float meanDy, \
                          float meanDyH, float *dx), (n, dy, x, mean, inv, k, meanDy, meanDyH, dx)) \
    V(place_rows, (size_t planes, size_t rows, size_t n, const float *src, size_t src_plane, float *dst, size_t first, \
                   size_t dst_plane, size_t ldd, size_t count), \
      (planes, rows, n, src, src_plane, dst, first, dst_plane, ldd, count)) \
    V(place_bn_normalized, (size_t planes, size_t rows, size_t n, const float *x, const float *mean, const float *inv, \
                            const float *scale, const float *shift, int clamp, float *dst, size_t first, \
                            size_t dst_plane, size_t ldd, size_t count), \
      (planes, rows, n, x, mean, inv, scale, shift, clamp, dst, first, dst_plane, ldd, count)) \
    V(place_bn_input_gradient, (size_t planes, size_t rows, size_t n, const float *dy, const float *x, const float *mean, \
                                const float *inv, const float *scale, const float *shift, const float *k, \
                                const float *meanDy, const float *meanDyH, int clamp, float *dst, size_t first, \
                                size_t dst_plane, size_t ldd, size_t count), \
      (planes, rows, n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, clamp, dst, first, dst_plane, ldd, count)) \
    V(copy_planes, (size_t planes, size_t rows, size_t n, const float *src, size_t src_plane, size_t lds, \
                    const float *add, const float *mask, float *dst, size_t dst_plane, size_t ldd), \
      (planes, rows, n, src, src_plane, lds, add, mask, dst, dst_plane, ldd)) \
    V(plane_sums, (size_t planes, size_t n, const float *x, float *out), (planes, n, x, out)) \
    V(plane_squared_deviations, (size_t planes, size_t n, const float *x, const float *mean, float *out), \
      (planes, n, x, mean, out)) \
    V(bn_normalize_planes, (size_t planes, size_t rows, size_t n, const float *x, size_t x_plane, size_t ldx, \
                            const float *mean, const float *inv, const float *scale, const float *shift, int clamp, \
                            const float *s, float *y, size_t y_plane, size_t ldy), \
      (planes, rows, n, x, x_plane, ldx, mean, inv, scale, shift, clamp, s, y, y_plane, ldy)) \
    V(bn_backward_plane_sums, (size_t planes, size_t n, const float *dy, const float *x, const float *mean, \
                               const float *inv, const float *scale, const float *shift, int clamp, float *sums), \
      (planes, n, dy, x, mean, inv, scale, shift, clamp, sums)) \
    V(bn_backward_input_planes, (size_t planes, size_t n, const float *dy, const float *x, const float *mean, \
                                 const float *inv, const float *scale, const float *shift, const float *k, \
                                 const float *meanDy, const float *meanDyH, int clamp, float *dx), \
      (planes, n, dy, x, mean, inv, scale, shift, k, meanDy, meanDyH, clamp, dx)) \
    V(sgd, (size_t n, float *w, const float *g, float *buf, const float *mask, float lr, float mu, float wd, int nesterov), \
      (n, w, g, buf, mask, lr, mu, wd, nesterov)) \
    V(sgd_kept, (size_t k, const int32_t *kept, float *w, const float *g, float *buf, float lr, float mu, float wd, \
                 int nesterov), (k, kept, w, g, buf, lr, mu, wd, nesterov)) \
    V(adam, (size_t n, float *w, const float *g, float *m, float *v, const float *mask, float stepSize, float b1, float b2, \
             float wd, float eps, float invSqrtCorrection2), (n, w, g, m, v, mask, stepSize, b1, b2, wd, eps, invSqrtCorrection2)) \
    V(rmsprop, (size_t n, float *w, const float *g, float *sq, float *buf, const float *mask, float lr, float alpha, \
                float mu, float wd, float eps), (n, w, g, sq, buf, mask, lr, alpha, mu, wd, eps))

#define TK_DECLARE_V_portable(name, params, args) void tk_portable_##name params;
#define TK_DECLARE_F_portable(name, params, args) float tk_portable_##name params;
#define TK_DECLARE_V_avx2(name, params, args) void tk_avx2_##name params;
#define TK_DECLARE_F_avx2(name, params, args) float tk_avx2_##name params;
#define TK_DECLARE_V_avx512(name, params, args) void tk_avx512_##name params;
#define TK_DECLARE_F_avx512(name, params, args) float tk_avx512_##name params;

TK_DENSE_KERNELS(TK_DECLARE_V_portable, TK_DECLARE_F_portable)
#if defined(__x86_64__)
TK_DENSE_KERNELS(TK_DECLARE_V_avx2, TK_DECLARE_F_avx2)
TK_DENSE_KERNELS(TK_DECLARE_V_avx512, TK_DECLARE_F_avx512)
#endif

#define TK_FIELD_V(name, params, args) void (*name) params;
#define TK_FIELD_F(name, params, args) float (*name) params;

typedef struct {
    TK_DENSE_KERNELS(TK_FIELD_V, TK_FIELD_F)
} tk_table;

#define TK_ENTRY_portable(name, params, args) .name = tk_portable_##name,
#define TK_ENTRY_avx2(name, params, args) .name = tk_avx2_##name,
#define TK_ENTRY_avx512(name, params, args) .name = tk_avx512_##name,

#define TK_TABLE(level) { TK_DENSE_KERNELS(TK_ENTRY_##level, TK_ENTRY_##level) }
