// Forwards each sparse kernel to the table of the level tk_isa_active() chose (dispatch.c).
#include "sparse_table.h"

static const tk_sparse_table sparse_tables[] = {
    TK_SPARSE_TABLE(tk_portable),
#if defined(__x86_64__)
    TK_SPARSE_TABLE(tk_avx2),
    TK_SPARSE_TABLE(tk_avx512),
#endif
};

static inline const tk_sparse_table *sparse_table(void) { return &sparse_tables[tk_isa_active()]; }

void tk_sparse_rows(size_t r0, size_t r1, const int32_t *rowptr, const int32_t *widx, const int32_t *off,
                    const float *w, const float *x, float *y, size_t ldy, size_t len, int accumulate) {
    sparse_table()->rows(r0, r1, rowptr, widx, off, w, x, y, ldy, len, accumulate);
}

void tk_sparse_sampled_dot(size_t r0, size_t r1, const int32_t *rowptr, const int32_t *widx, const int32_t *off,
                           const float *a, size_t lda, const float *b, size_t len, float *g) {
    sparse_table()->sampled_dot(r0, r1, rowptr, widx, off, a, lda, b, len, g);
}

void tk_transpose(size_t rows, size_t cols, const float *src, size_t lds, float *dst, size_t ldd) {
    sparse_table()->transpose(rows, cols, src, lds, dst, ldd);
}
