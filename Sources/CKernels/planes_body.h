// Plane-batch kernels: one call runs a per-plane kernel of kernels_body.h over several
// consecutive planes (a sample's channels), each with its channel's parameters, through the
// same static inline loops, so the bits are those of one call per plane. On small maps (8x8
// planes of 64 floats) the per-call cost (dispatch, the caller's loop) outweighed the work.
// Included after kernels_body.h by each kernels_<level>.c.

// Zeros dst[*done ..< end] and moves *done to end: the gaps of a placed layout.
__attribute__((no_builtin("memset")))
static inline void TK_VARIANT(zero_gap)(float *restrict dst, size_t *done, size_t end) {
    for (size_t j = *done; j < end; j++) dst[j] = 0;
    *done = end;
}

// The placed layout (Ops.placeRows): plane p's `rows` rows at dst + first + p*dst_plane, rows
// ldd apart, each row's n values followed by ldd - n zeros, and zeros everywhere else in
// dst[0 ..< count]: each float written once. ROW(p, r, d) writes plane p's row r's n values to d.
#define TK_PLACE(ROW)                                                                        \
    size_t done = 0;                                                                         \
    for (size_t p = 0; p < planes; p++) {                                                    \
        TK_VARIANT(zero_gap)(dst, &done, first + p * dst_plane);                             \
        for (size_t r = 0; r < rows; r++) {                                                  \
            float *restrict d = dst + done;                                                  \
            ROW(p, r, d);                                                                    \
            for (size_t j = n; j < ldd; j++) d[j] = 0;                                       \
            done += ldd;                                                                     \
        }                                                                                    \
    }                                                                                        \
    TK_VARIANT(zero_gap)(dst, &done, count);

__attribute__((no_builtin("memcpy", "memset")))
void TK_VARIANT(place_rows)(size_t planes, size_t rows, size_t n, const float *restrict src, size_t src_plane,
                            float *restrict dst, size_t first, size_t dst_plane, size_t ldd, size_t count) {
    #define TK_COPY_ROW(p, r, d) { const float *restrict s = src + (p) * src_plane + (r) * n; \
                                   for (size_t j = 0; j < n; j++) d[j] = s[j]; }
    TK_PLACE(TK_COPY_ROW)
    #undef TK_COPY_ROW
}

__attribute__((no_builtin("memset")))
void TK_VARIANT(place_bn_normalized)(size_t planes, size_t rows, size_t n, const float *restrict x,
                                     const float *restrict mean, const float *restrict inv, const float *restrict scale,
                                     const float *restrict shift, int clamp, float *restrict dst, size_t first,
                                     size_t dst_plane, size_t ldd, size_t count) {
    #define TK_NORMALIZE_ROW(p, r, d) TK_VARIANT(bn_normalize_row)(n, x + ((p) * rows + (r)) * n, mean[p], inv[p], \
                                                                   scale[p], shift[p], clamp, 0, d)
    TK_PLACE(TK_NORMALIZE_ROW)
    #undef TK_NORMALIZE_ROW
}

__attribute__((no_builtin("memset")))
void TK_VARIANT(place_bn_input_gradient)(size_t planes, size_t rows, size_t n, const float *restrict dy,
                                         const float *restrict x, const float *restrict mean, const float *restrict inv,
                                         const float *restrict scale, const float *restrict shift,
                                         const float *restrict k, const float *restrict meanDy,
                                         const float *restrict meanDyH, int clamp, float *restrict dst, size_t first,
                                         size_t dst_plane, size_t ldd, size_t count) {
    #define TK_GRADIENT_ROW(p, r, d) {                                                                               \
        const size_t at = ((p) * rows + (r)) * n;                                                                    \
        TK_VARIANT(bn_backward_input_row)(n, dy + at, x + at, mean[p], inv[p], scale[p], shift[p], k[p], meanDy[p],  \
                                          meanDyH[p], clamp, d); }
    TK_PLACE(TK_GRADIENT_ROW)
    #undef TK_GRADIENT_ROW
}
#undef TK_PLACE

// With `add` (laid out as dst) each value is the copied one plus add's, tk_add's expression:
// a residual block's input gradient, the main path's (copied) plus the shortcut's. With
// `mask` too, that sum through tk_relu_backward with mask as the ReLU's output: the gradient
// at the input of the ReLU that produced the block's input.
__attribute__((no_builtin("memcpy")))
void TK_VARIANT(copy_planes)(size_t planes, size_t rows, size_t n, const float *restrict src, size_t src_plane,
                             size_t lds, const float *restrict add, const float *restrict mask, float *restrict dst,
                             size_t dst_plane, size_t ldd) {
    for (size_t p = 0; p < planes; p++)
        for (size_t r = 0; r < rows; r++) {
            const float *restrict s = src + p * src_plane + r * lds;
            float *restrict d = dst + p * dst_plane + r * ldd;
            const size_t at = p * dst_plane + r * ldd;
            if (add && mask) {
                const float *restrict a = add + at, *restrict y = mask + at;
                for (size_t j = 0; j < n; j++) { float g = s[j] + a[j]; d[j] = y[j] > 0 ? g : 0; }
            } else if (add) {
                const float *restrict a = add + at;
                for (size_t j = 0; j < n; j++) d[j] = s[j] + a[j];
            } else {
                for (size_t j = 0; j < n; j++) d[j] = s[j];
            }
        }
}

void TK_VARIANT(plane_sums)(size_t planes, size_t n, const float *restrict x, float *restrict out) {
    for (size_t p = 0; p < planes; p++) out[p] = TK_VARIANT(lanes_sum)(n, x + p * n);
}

void TK_VARIANT(plane_squared_deviations)(size_t planes, size_t n, const float *restrict x, const float *restrict mean,
                                          float *restrict out) {
    for (size_t p = 0; p < planes; p++) out[p] = TK_VARIANT(sum_squared_deviations)(n, x + p * n, mean[p]);
}

void TK_VARIANT(bn_normalize_planes)(size_t planes, size_t rows, size_t n, const float *restrict x, size_t x_plane,
                                     size_t ldx, const float *restrict mean, const float *restrict inv,
                                     const float *restrict scale, const float *restrict shift, int clamp,
                                     const float *restrict s, float *restrict y, size_t y_plane, size_t ldy) {
    for (size_t p = 0; p < planes; p++)
        for (size_t r = 0; r < rows; r++) {
            const size_t at = p * y_plane + r * ldy;
            TK_VARIANT(bn_normalize_row)(n, x + p * x_plane + r * ldx, mean[p], inv[p], scale[p], shift[p], clamp,
                                         s ? s + at : 0, y + at);
        }
}

void TK_VARIANT(bn_backward_plane_sums)(size_t planes, size_t n, const float *restrict dy, const float *restrict x,
                                        const float *restrict mean, const float *restrict inv,
                                        const float *restrict scale, const float *restrict shift, int clamp,
                                        float *restrict sums) {
    for (size_t p = 0; p < planes; p++) {
        const float *g = dy + p * n, *v = x + p * n;
        if (clamp == 0) TK_VARIANT(bn_backward_sums)(n, g, v, mean[p], sums + 2 * p);
        else TK_VARIANT(bn_backward_sums_masked)(n, g, v, mean[p], inv[p], scale[p], shift[p], sums + 2 * p, clamp == 2);
    }
}

void TK_VARIANT(bn_backward_input_planes)(size_t planes, size_t n, const float *restrict dy, const float *restrict x,
                                          const float *restrict mean, const float *restrict inv,
                                          const float *restrict scale, const float *restrict shift,
                                          const float *restrict k, const float *restrict meanDy,
                                          const float *restrict meanDyH, int clamp, float *restrict dx) {
    for (size_t p = 0; p < planes; p++) {
        const size_t at = p * n;
        TK_VARIANT(bn_backward_input_row)(n, dy + at, x + at, mean[p], inv[p], scale[p], shift[p], k[p], meanDy[p], meanDyH[p],
                                          clamp, dx + at);
    }
}
