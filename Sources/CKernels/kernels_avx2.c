#if defined(__x86_64__)
#define TK_VARIANT(name) tk_avx2_##name
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "kernels_body.h"
#include "planes_body.h"
#include "sparse_body.h"
#pragma clang attribute pop
#endif
