// Bodies of the sparse kernels (topiary_sparse_kernels.h), included once per instruction-set
// level by kernels_<level>.c inside its target pragma, with TK_VARIANT naming the copy.
// Explicit 16-float vectors block the output in registers: the compiler lowers each to one
// zmm (AVX-512), two ymm (AVX2) or four xmm (baseline) operations.

#include "topiary_sparse_kernels.h"

typedef float tk_sv16 __attribute__((vector_size(64), aligned(4)));

#ifndef TK_SPARSE_HELPERS
#define TK_SPARSE_HELPERS
#define TK_SLOAD(p) ({ tk_sv16 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
typedef float tk_sr8 __attribute__((vector_size(32), aligned(4)));
typedef float tk_sr4 __attribute__((vector_size(16), aligned(4)));
// Sums a 16-lane accumulator by halving it (16 -> 8 -> 4 -> 2 -> 1 lanes): a fixed tree, so
// every level adds in the same order, in four steps instead of a chain of fifteen dependent
// adds (a macro: vector arguments would change the ABI).
#define TK_SHSUM(v) ({ tk_sv16 h_ = (v); \
    tk_sr8 e_ = __builtin_shufflevector(h_, h_, 0, 1, 2, 3, 4, 5, 6, 7) \
              + __builtin_shufflevector(h_, h_, 8, 9, 10, 11, 12, 13, 14, 15); \
    tk_sr4 f_ = __builtin_shufflevector(e_, e_, 0, 1, 2, 3) + __builtin_shufflevector(e_, e_, 4, 5, 6, 7); \
    (f_[0] + f_[2]) + (f_[1] + f_[3]); })
#define TK_SSTORE(p, v) do { tk_sv16 s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
#endif

// NV vectors (16*NV floats) of row r's output from column t, accumulated over the row's
// nonzeros; advances t.
#define TK_ROWS_BLOCK(NV)                                                            \
    for (; t + 16 * (NV) <= end; t += 16 * (NV)) {                                   \
        tk_sv16 acc[NV];                                                             \
        for (int v = 0; v < (NV); v++)                                               \
            acc[v] = accumulate ? TK_SLOAD(yr + t + 16 * v) : (tk_sv16){0};          \
        for (int32_t j = j0; j < j1; j++) {                                          \
            const float wv = w[widx[j]];                                             \
            const float *xp = x + off[j] + t;                                        \
            for (int v = 0; v < (NV); v++) acc[v] += wv * TK_SLOAD(xp + 16 * v);     \
        }                                                                            \
        for (int v = 0; v < (NV); v++) TK_SSTORE(yr + t + 16 * v, acc[v]);           \
    }

// Columns in tiles of 128 with every row inside a tile: the rows of a convolution read
// shifted copies of the same input span, which then stays in L1 across the rows instead of
// streaming from L2 once per row. Each output float sees its nonzeros in the same order
// whatever the tiling, so the bits do not depend on it.
void TK_VARIANT(sparse_rows)(size_t r0, size_t r1, const int32_t *restrict rowptr, const int32_t *restrict widx,
                             const int32_t *restrict off, const float *restrict w, const float *restrict x,
                             float *restrict y, size_t ldy, size_t len, int accumulate) {
    const size_t tiled = len & ~(size_t)127;
    for (size_t tile = 0; tile < tiled; tile += 128) {
        for (size_t r = r0; r < r1; r++) {
            const int32_t j0 = rowptr[r], j1 = rowptr[r + 1];
            float *yr = y + r * ldy;
            size_t t = tile, end = tile + 128;
            TK_ROWS_BLOCK(8)
        }
    }
    if (tiled == len) return;
    for (size_t r = r0; r < r1; r++) {
        const int32_t j0 = rowptr[r], j1 = rowptr[r + 1];
        float *yr = y + r * ldy;
        size_t t = tiled, end = len;
        TK_ROWS_BLOCK(4)
        TK_ROWS_BLOCK(2)
        TK_ROWS_BLOCK(1)
        for (; t < len; t++) {
            float s = accumulate ? yr[t] : 0;
            for (int32_t j = j0; j < j1; j++) s += w[widx[j]] * x[off[j] + t];
            yr[t] = s;
        }
    }
}


void TK_VARIANT(sparse_sampled_dot)(size_t r0, size_t r1, const int32_t *restrict rowptr, const int32_t *restrict widx,
                                    const int32_t *restrict off, const float *restrict a, size_t lda,
                                    const float *restrict b, size_t len, float *restrict g) {
    // Where nonzero j's sum goes: its weight index, or j itself without one.
    #define TK_GJ(j) (widx ? widx[j] : (j))
    const size_t vl = len & ~(size_t)15;
    for (size_t r = r0; r < r1; r++) {
        const int32_t j0 = rowptr[r], j1 = rowptr[r + 1];
        const float *ar = a + r * lda;
        int32_t j = j0;
        // Four nonzeros at a time share each load of the row's operand.
        for (; j + 4 <= j1; j += 4) {
            const float *b0 = b + off[j], *b1 = b + off[j + 1], *b2 = b + off[j + 2], *b3 = b + off[j + 3];
            tk_sv16 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
            size_t t = 0;
            for (; t + 32 <= vl; t += 32) {
                const tk_sv16 x0 = TK_SLOAD(ar + t), x1 = TK_SLOAD(ar + t + 16);
                c0 += x0 * TK_SLOAD(b0 + t); d0 += x1 * TK_SLOAD(b0 + t + 16);
                c1 += x0 * TK_SLOAD(b1 + t); d1 += x1 * TK_SLOAD(b1 + t + 16);
                c2 += x0 * TK_SLOAD(b2 + t); d2 += x1 * TK_SLOAD(b2 + t + 16);
                c3 += x0 * TK_SLOAD(b3 + t); d3 += x1 * TK_SLOAD(b3 + t + 16);
            }
            for (; t < vl; t += 16) {
                const tk_sv16 x0 = TK_SLOAD(ar + t);
                c0 += x0 * TK_SLOAD(b0 + t);
                c1 += x0 * TK_SLOAD(b1 + t);
                c2 += x0 * TK_SLOAD(b2 + t);
                c3 += x0 * TK_SLOAD(b3 + t);
            }
            float s0 = TK_SHSUM(c0 + d0), s1 = TK_SHSUM(c1 + d1);
            float s2 = TK_SHSUM(c2 + d2), s3 = TK_SHSUM(c3 + d3);
            for (; t < len; t++) {
                s0 += ar[t] * b0[t]; s1 += ar[t] * b1[t]; s2 += ar[t] * b2[t]; s3 += ar[t] * b3[t];
            }
            g[TK_GJ(j)] += s0; g[TK_GJ(j + 1)] += s1; g[TK_GJ(j + 2)] += s2; g[TK_GJ(j + 3)] += s3;
        }
        for (; j < j1; j++) {
            const float *bj = b + off[j];
            tk_sv16 c0 = {0}, c1 = {0};
            size_t t = 0;
            for (; t + 32 <= vl; t += 32) {
                c0 += TK_SLOAD(ar + t) * TK_SLOAD(bj + t);
                c1 += TK_SLOAD(ar + t + 16) * TK_SLOAD(bj + t + 16);
            }
            for (; t < vl; t += 16) c0 += TK_SLOAD(ar + t) * TK_SLOAD(bj + t);
            float s = TK_SHSUM(c0 + c1);
            for (; t < len; t++) s += ar[t] * bj[t];
            g[TK_GJ(j)] += s;
        }
    }
    #undef TK_GJ
}

#ifndef TK_TRANSPOSE_HELPERS
#define TK_TRANSPOSE_HELPERS
typedef float tk_sv8 __attribute__((vector_size(32), aligned(4)));
#define TK_LOAD8(p) ({ tk_sv8 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define TK_STORE8(p, v) do { tk_sv8 s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
#endif

void TK_VARIANT(transpose)(size_t rows, size_t cols, const float *restrict src, size_t lds,
                           float *restrict dst, size_t ldd) {
    const size_t r8 = rows & ~(size_t)7, c8 = cols & ~(size_t)7;
    // 8x8 tiles transposed in registers (unpack, 64-bit interleave, 128-bit halves).
    for (size_t r = 0; r < r8; r += 8) {
        for (size_t c = 0; c < c8; c += 8) {
            const float *s = src + r * lds + c;
            const tk_sv8 a0 = TK_LOAD8(s), a1 = TK_LOAD8(s + lds), a2 = TK_LOAD8(s + 2 * lds), a3 = TK_LOAD8(s + 3 * lds);
            const tk_sv8 a4 = TK_LOAD8(s + 4 * lds), a5 = TK_LOAD8(s + 5 * lds), a6 = TK_LOAD8(s + 6 * lds), a7 = TK_LOAD8(s + 7 * lds);
            const tk_sv8 t0 = __builtin_shufflevector(a0, a1, 0, 8, 1, 9, 4, 12, 5, 13);
            const tk_sv8 t1 = __builtin_shufflevector(a0, a1, 2, 10, 3, 11, 6, 14, 7, 15);
            const tk_sv8 t2 = __builtin_shufflevector(a2, a3, 0, 8, 1, 9, 4, 12, 5, 13);
            const tk_sv8 t3 = __builtin_shufflevector(a2, a3, 2, 10, 3, 11, 6, 14, 7, 15);
            const tk_sv8 t4 = __builtin_shufflevector(a4, a5, 0, 8, 1, 9, 4, 12, 5, 13);
            const tk_sv8 t5 = __builtin_shufflevector(a4, a5, 2, 10, 3, 11, 6, 14, 7, 15);
            const tk_sv8 t6 = __builtin_shufflevector(a6, a7, 0, 8, 1, 9, 4, 12, 5, 13);
            const tk_sv8 t7 = __builtin_shufflevector(a6, a7, 2, 10, 3, 11, 6, 14, 7, 15);
            const tk_sv8 u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
            const tk_sv8 u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
            const tk_sv8 u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
            const tk_sv8 u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
            const tk_sv8 u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);
            const tk_sv8 u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
            const tk_sv8 u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);
            const tk_sv8 u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
            float *d = dst + c * ldd + r;
            TK_STORE8(d, __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11));
            TK_STORE8(d + ldd, __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11));
            TK_STORE8(d + 2 * ldd, __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11));
            TK_STORE8(d + 3 * ldd, __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11));
            TK_STORE8(d + 4 * ldd, __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15));
            TK_STORE8(d + 5 * ldd, __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15));
            TK_STORE8(d + 6 * ldd, __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15));
            TK_STORE8(d + 7 * ldd, __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15));
        }
        for (size_t c = c8; c < cols; c++)
            for (size_t i = r; i < r + 8; i++) dst[c * ldd + i] = src[i * lds + c];
    }
    for (size_t r = r8; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}
