#if defined(__x86_64__)
#define TK_VARIANT(name) tk_avx512_##name
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#include "kernels_body.h"
#include "planes_body.h"
#include "sparse_body.h"
#pragma clang attribute pop
#endif
