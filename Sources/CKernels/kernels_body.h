// The kernel bodies, included once per instruction-set level by kernels_<level>.c with
// TK_VARIANT(name) naming that level's copy and a `#pragma clang attribute` giving it the
// level's target features. Plain loops the compiler vectorises at that width; reductions use
// explicit 16-lane accumulators so their order (and bits) is the same at every level.
// Keep every kernel `static`-free: dispatch.c takes their addresses.

#include "topiary_kernels.h"

typedef float tk_f32x16 __attribute__((vector_size(64), aligned(4)));

void TK_VARIANT(axpy)(size_t n, float a, const float *restrict x, float *restrict y) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

float TK_VARIANT(dot)(size_t n, const float *restrict x, const float *restrict y) {
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
