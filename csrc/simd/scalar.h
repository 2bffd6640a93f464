/*
 * scalar.h — the reference semantics of the vector API: one lane, plain C.
 * Every SIMD target is tested against the kernels compiled with this file.
 */
#ifndef PDT_SIMD_SCALAR_H
#define PDT_SIMD_SCALAR_H
#include <math.h>
#include <string.h>
#include "../pdt.h"

#define PDT_TARGET_NAME scalar

/* 32-bit unsigned lanes, for counter-based random numbers (dtype-independent). */
typedef uint32_t vu32_t;
enum { vu32_N = 1 };
static inline uint32_t vu32_load(const uint32_t *p) { return *p; }
static inline void vu32_store(uint32_t *p, uint32_t v) { *p = v; }
static inline uint32_t vu32_set1(uint32_t s) { return s; }
static inline uint32_t vu32_xor(uint32_t a, uint32_t b) { return a ^ b; }
/* a·m as a 64-bit product per lane: returns the low 32 bits, *hi gets the high 32 bits */
static inline uint32_t vu32_mulhilo(uint32_t a, uint32_t m, uint32_t *hi) {
    uint64_t p = (uint64_t)a * m;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

#define PDT_SCALAR_API(P, T)                                                            \
    typedef T P##_t;                                                                    \
    typedef int P##_mask;                                                               \
    enum { P##_N = 1 };                                                                 \
    static inline T P##_load(const T *p) { return *p; }                                 \
    static inline void P##_store(T *p, T v) { *p = v; }                                 \
    static inline T P##_load_tail(const T *p, pdt_int r) { return r > 0 ? *p : (T)0; }  \
    static inline void P##_store_tail(T *p, T v, pdt_int r) { if (r > 0) *p = v; }      \
    static inline T P##_load_part(const T *p, pdt_int r) { (void)r; return *p; }        \
    static inline void P##_store_part(T *p, T v, pdt_int r) { (void)r; *p = v; }       \
    static inline T P##_set1(T s) { return s; }                                         \
    static inline T P##_zero(void) { return (T)0; }                                     \
    static inline T P##_add(T a, T b) { return a + b; }                                 \
    static inline T P##_sub(T a, T b) { return a - b; }                                 \
    static inline T P##_mul(T a, T b) { return a * b; }                                 \
    static inline T P##_div(T a, T b) { return a / b; }                                 \
    static inline T P##_fma(T a, T b, T c) { return a * b + c; }                        \
    static inline T P##_fnma(T a, T b, T c) { return c - a * b; }                       \
    static inline T P##_max(T a, T b) { return a > b ? a : b; }                         \
    static inline T P##_min(T a, T b) { return a < b ? a : b; }                         \
    static inline T P##_abs(T a) { return a < 0 ? -a : a; }                            \
    static inline int P##_gt(T a, T b) { return a > b; }                                \
    static inline int P##_lt(T a, T b) { return a < b; }                                \
    static inline T P##_select(int m, T a, T b) { return m ? a : b; }                   \
    static inline T P##_reduce_add(T a) { return a; }                                  \
    static inline T P##_reduce_max(T a) { return a; }

PDT_SCALAR_API(vf32, float)
PDT_SCALAR_API(vf64, double)
static inline float vf32_sqrt(float a) { return sqrtf(a); }
static inline double vf64_sqrt(double a) { return sqrt(a); }

/* 2^n for an integer-valued n in the normal exponent range ([-126, 127] for
 * float, [-1022, 1023] for double), built from the exponent bits. */
static inline float vf32_pow2i(float n) {
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float r;
    memcpy(&r, &bits, sizeof r);
    return r;
}
static inline double vf64_pow2i(double n) {
    uint64_t bits = (uint64_t)((int64_t)n + 1023) << 52;
    double r;
    memcpy(&r, &bits, sizeof r);
    return r;
}
/* 1/a for finite, nonzero a of normal magnitude: the SIMD targets refine a hardware
 * estimate with Newton steps and are within 1 ulp, not correctly rounded. */
static inline float vf32_rcp(float a) { return 1.0f / a; }
static inline double vf64_rcp(double a) { return 1.0 / a; }
/* a rounded toward zero */
static inline float vf32_trunc(float a) { return truncf(a); }
static inline double vf64_trunc(double a) { return trunc(a); }
/* base[pos] for a whole-valued pos in [0, 2^24) (the only lane: a plain load) */
static inline float vf32_gather(const float *base, float pos) { return base[(pdt_int)pos]; }
static inline double vf64_gather(const double *base, double pos) { return base[(pdt_int)pos]; }
/* lanes 0, 2, 4, … of the 2·VN values a then b: a itself for one lane */
static inline float vf32_even(float a, float b) { (void)b; return a; }
static inline double vf64_even(double a, double b) { (void)b; return a; }
/* transpose of a VN × VN block held as VN vectors (r[i] lane j ↔ r[j] lane i): one lane, nothing moves */
static inline void vf32_transpose(float *r) { (void)r; }
static inline void vf64_transpose(double *r) { (void)r; }

#endif
