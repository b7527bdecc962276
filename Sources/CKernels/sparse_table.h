// One table of sparse kernels per instruction-set level (see kernels_table.h). Adding a
// kernel: declare it in topiary_sparse_kernels.h, write its body in sparse_body.h, add a field
// and a TK_SPARSE_DECLARE line here, and a forwarding function in sparse_dispatch.c.
#include "topiary_kernels.h"
#include "topiary_sparse_kernels.h"

#define TK_SPARSE_DECLARE(prefix) \
    void prefix##_sparse_rows(size_t, size_t, const int32_t *, const int32_t *, const int32_t *, \
                              const float *, const float *, float *, size_t, size_t, int); \
    void prefix##_sparse_sampled_dot(size_t, size_t, const int32_t *, const int32_t *, const int32_t *, \
                                     const float *, size_t, const float *, size_t, float *); \
    void prefix##_transpose(size_t, size_t, const float *, size_t, float *, size_t);

TK_SPARSE_DECLARE(tk_portable)
#if defined(__x86_64__)
TK_SPARSE_DECLARE(tk_avx2)
TK_SPARSE_DECLARE(tk_avx512)
#endif

typedef struct {
    void (*rows)(size_t, size_t, const int32_t *, const int32_t *, const int32_t *,
                 const float *, const float *, float *, size_t, size_t, int);
    void (*sampled_dot)(size_t, size_t, const int32_t *, const int32_t *, const int32_t *,
                        const float *, size_t, const float *, size_t, float *);
    void (*transpose)(size_t, size_t, const float *, size_t, float *, size_t);
} tk_sparse_table;

#define TK_SPARSE_TABLE(prefix) { prefix##_sparse_rows, prefix##_sparse_sampled_dot, prefix##_transpose }
