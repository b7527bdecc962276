// One function-pointer table per instruction-set level. Adding a kernel: declare it in
// topiary_kernels.h, write its body in kernels_body.h, add a field here, a TK_ENTRY line in
// dispatch.c, and a forwarding function there.
#include "topiary_kernels.h"

#define TK_DECLARE(prefix) \
    void prefix##_axpy(size_t, float, const float *, float *); \
    float prefix##_dot(size_t, const float *, const float *);

TK_DECLARE(tk_portable)
#if defined(__x86_64__)
TK_DECLARE(tk_avx2)
TK_DECLARE(tk_avx512)
#endif

typedef struct {
    void (*axpy)(size_t, float, const float *, float *);
    float (*dot)(size_t, const float *, const float *);
} tk_table;

#define TK_TABLE(prefix) { prefix##_axpy, prefix##_dot }
