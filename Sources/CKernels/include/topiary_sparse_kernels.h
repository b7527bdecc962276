// Topiary's sparse kernels for pruned layers (unstructured masks), compiled once per
// instruction-set level like topiary_kernels.h and dispatched through the same tk_isa_active().
//
// One sparse structure serves every pass: a list of rows, each with its nonzeros j given as
// the weight's flat index widx[j] (values are read from the dense weight, so training never
// repacks) and an offset off[j] into a dense operand whose vector axis (batch or spatial) is
// contiguous. A row's output is a contiguous run of `len` floats held in registers across
// the row's nonzeros.
#ifndef TOPIARY_SPARSE_KERNELS_H
#define TOPIARY_SPARSE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// For rows r in [r0, r1): y[r*ldy + t] = (accumulate ? y[r*ldy + t] : 0)
///   + sum over j in [rowptr[r], rowptr[r+1]) of w[widx[j]] * x[off[j] + t], for t in [0, len).
void tk_sparse_rows(size_t r0, size_t r1, const int32_t *rowptr, const int32_t *widx, const int32_t *off,
                    const float *w, const float *x, float *y, size_t ldy, size_t len, int accumulate);

/// The sampled dense-dense product: for rows r in [r0, r1) and j in [rowptr[r], rowptr[r+1]),
/// g[widx[j]] += sum over t in [0, len) of a[r*lda + t] * b[off[j] + t]; with widx NULL, g[j] instead
/// (a buffer of the kept weights alone, in nonzero order).
void tk_sparse_sampled_dot(size_t r0, size_t r1, const int32_t *rowptr, const int32_t *widx, const int32_t *off,
                           const float *a, size_t lda, const float *b, size_t len, float *g);

/// dst[c*ldd + r] = src[r*lds + c] for r < rows, c < cols (a blocked transpose).
void tk_transpose(size_t rows, size_t cols, const float *src, size_t lds, float *dst, size_t ldd);

#ifdef __cplusplus
}
#endif

#endif
