// Chooses the kernel table once, from cpuid (via the compiler's __builtin_cpu_supports) and
// the TOPIARY_ISA environment variable, and forwards each kernel call to it.
#include <stdlib.h>
#include <string.h>
#include "kernels_table.h"

static const tk_table tables[] = {
    TK_TABLE(portable),
#if defined(__x86_64__)
    TK_TABLE(avx2),
    TK_TABLE(avx512),
#endif
};

int tk_isa_supported(tk_isa isa) {
    switch (isa) {
    case TK_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case TK_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case TK_ISA_AVX512:
        return tk_isa_supported(TK_ISA_AVX2) && __builtin_cpu_supports("avx512f")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
#endif
    default: return 0;
    }
}

int tk_cpu_is_amd(void) {
#if defined(__x86_64__)
    return __builtin_cpu_is("amd");
#else
    return 0;
#endif
}

const char *tk_isa_name(tk_isa isa) {
    switch (isa) {
    case TK_ISA_AVX2: return "avx2";
    case TK_ISA_AVX512: return "avx512";
    default: return "portable";
    }
}

// -1 until first use. Races are benign: every thread computes the same value.
static volatile int active = -1;

static int widest(void) {
    const char *wanted = getenv("TOPIARY_ISA");
    if (wanted) {
        for (int isa = TK_ISA_AVX512; isa >= TK_ISA_PORTABLE; isa--)
            if (strcmp(wanted, tk_isa_name((tk_isa)isa)) == 0 && tk_isa_supported((tk_isa)isa)) return isa;
    }
    for (int isa = TK_ISA_AVX512; isa > TK_ISA_PORTABLE; isa--)
        if (tk_isa_supported((tk_isa)isa)) return isa;
    return TK_ISA_PORTABLE;
}

// A level forced for the calling thread only (tests compare levels while other tests run
// in parallel in the same process); -1: none, the process-wide level applies.
static _Thread_local int thread_level = -1;

tk_isa tk_isa_active(void) {
    if (thread_level >= 0) return (tk_isa)thread_level;
    if (active < 0) active = widest();
    return (tk_isa)active;
}

int tk_isa_force(tk_isa isa) {
    if (!tk_isa_supported(isa)) return 0;
    thread_level = (int)isa;
    return 1;
}

int tk_isa_thread_override(void) { return thread_level; }

int tk_isa_set_thread_override(int level) {
    int previous = thread_level;
    thread_level = level >= 0 && tk_isa_supported((tk_isa)level) ? level : -1;
    return previous;
}

static inline const tk_table *table(void) { return &tables[tk_isa_active()]; }

#define TK_FORWARD_V(name, params, args) void tk_##name params { table()->name args; }
#define TK_FORWARD_F(name, params, args) float tk_##name params { return table()->name args; }
TK_DENSE_KERNELS(TK_FORWARD_V, TK_FORWARD_F)
