/*
 * dispatch.c — which SIMD targets this binary has, which the CPU and OS can
 * run (cpuid + xgetbv on x86-64; NEON is the AArch64 baseline), and their
 * kernel tables. The choice of level is made once, in Python, at import.
 */
#include <string.h>
#include "pdt.h"

extern const pdt_kernels pdt_kernels_scalar;
#if defined(__x86_64__) || defined(_M_X64)
#define PDT_X86 1
#include <cpuid.h>
extern const pdt_kernels pdt_kernels_avx2;
extern const pdt_kernels pdt_kernels_avx512;
#elif defined(__aarch64__)
#define PDT_ARM64 1
extern const pdt_kernels pdt_kernels_neon;
#endif

#ifdef PDT_X86
/* XCR0: which register states the OS saves on a context switch. */
static uint64_t pdt_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int pdt_x86_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return PDT_SIMD_SCALAR;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!(osxsave && avx && fma)) return PDT_SIMD_SCALAR;
    uint64_t xcr0 = pdt_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return PDT_SIMD_SCALAR;            /* XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return PDT_SIMD_SCALAR;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    if (!avx2) return PDT_SIMD_SCALAR;
    if (avx512f && (xcr0 & 0xE6) == 0xE6) return PDT_SIMD_AVX512; /* + opmask, ZMM0-15, ZMM16-31 */
    return PDT_SIMD_AVX2;
}
#endif

int pdt_simd_compiled(pdt_simd level) {
    switch (level) {
    case PDT_SIMD_SCALAR: return 1;
#ifdef PDT_X86
    case PDT_SIMD_AVX2:
    case PDT_SIMD_AVX512: return 1;
#endif
#ifdef PDT_ARM64
    case PDT_SIMD_NEON: return 1;
#endif
    default: return 0;
    }
}

int pdt_simd_supported(pdt_simd level) {
    if (!pdt_simd_compiled(level)) return 0;
#ifdef PDT_X86
    if (level == PDT_SIMD_AVX2 || level == PDT_SIMD_AVX512) return (int)level <= pdt_x86_level();
#endif
    return 1;
}

pdt_simd pdt_simd_best(void) {
    for (int level = PDT_SIMD_COUNT - 1; level > 0; --level)
        if (pdt_simd_supported((pdt_simd)level)) return (pdt_simd)level;
    return PDT_SIMD_SCALAR;
}

const char *pdt_simd_name(pdt_simd level) {
    static const char *const names[PDT_SIMD_COUNT] = {"scalar", "avx2", "avx512", "neon"};
    return (level >= 0 && level < PDT_SIMD_COUNT) ? names[level] : "unknown";
}

const pdt_kernels *pdt_kernels_for(pdt_simd level) {
    if (!pdt_simd_supported(level)) return NULL;
    switch (level) {
#ifdef PDT_X86
    case PDT_SIMD_AVX2: return &pdt_kernels_avx2;
    case PDT_SIMD_AVX512: return &pdt_kernels_avx512;
#endif
#ifdef PDT_ARM64
    case PDT_SIMD_NEON: return &pdt_kernels_neon;
#endif
    default: return &pdt_kernels_scalar;
    }
}
