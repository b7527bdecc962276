// Topiary's own vector kernels, compiled once per instruction-set level and chosen at run
// time (tk_isa_active), so one portable binary runs the widest kernels the CPU has without
// any build flag. Swift calls them through the Tensor module's `VectorKernels`.
#ifndef TOPIARY_KERNELS_H
#define TOPIARY_KERNELS_H

#include <stddef.h>

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
/// The level in use: the widest supported, unless TOPIARY_ISA (portable | avx2 | avx512)
/// or tk_isa_force chose another.
tk_isa tk_isa_active(void);
/// Uses `isa`'s kernels from now on (tests compare every level the CPU has). Returns 0 and
/// changes nothing when the CPU cannot run it.
int tk_isa_force(tk_isa isa);
/// "portable", "avx2" or "avx512".
const char *tk_isa_name(tk_isa isa);

// ---- kernels (one entry per operation; each dispatches to the active level's variant) ----

/// y[i] += a * x[i]
void tk_axpy(size_t n, float a, const float *x, float *y);
/// sum of x[i] * y[i], accumulated in 16 float lanes then summed in a fixed order, so every
/// level gives the same bits.
float tk_dot(size_t n, const float *x, const float *y);

#ifdef __cplusplus
}
#endif

#endif
