/*
 * neon.h — the vector API on AArch64 Advanced SIMD: 4 floats or 2 doubles per
 * vector. NEON has no masked memory access, so tails go through a small
 * stack buffer.
 */
#ifndef PDT_SIMD_NEON_H
#define PDT_SIMD_NEON_H
#include <arm_neon.h>
#include <string.h>
#include "../pdt.h"

#define PDT_TARGET_NAME neon

/* 32-bit unsigned lanes, for counter-based random numbers (dtype-independent). */
typedef uint32x4_t vu32_t;
enum { vu32_N = 4 };
static inline uint32x4_t vu32_load(const uint32_t *p) { return vld1q_u32(p); }
static inline void vu32_store(uint32_t *p, uint32x4_t v) { vst1q_u32(p, v); }
static inline uint32x4_t vu32_set1(uint32_t s) { return vdupq_n_u32(s); }
static inline uint32x4_t vu32_xor(uint32x4_t a, uint32x4_t b) { return veorq_u32(a, b); }
/* a·m as a 64-bit product per lane: returns the low 32 bits, *hi gets the high 32 bits
 * (the high words are the odd 32-bit halves of the two widening products) */
static inline uint32x4_t vu32_mulhilo(uint32x4_t a, uint32_t m, uint32x4_t *hi) {
    uint64x2_t lo_pair = vmull_u32(vget_low_u32(a), vdup_n_u32(m));
    uint64x2_t hi_pair = vmull_high_u32(a, vdupq_n_u32(m));
    *hi = vuzp2q_u32(vreinterpretq_u32_u64(lo_pair), vreinterpretq_u32_u64(hi_pair));
    return vmulq_u32(a, vdupq_n_u32(m));
}

typedef float32x4_t vf32_t;
typedef uint32x4_t vf32_mask;
enum { vf32_N = 4 };
static inline float32x4_t vf32_load(const float *p) { return vld1q_f32(p); }
static inline void vf32_store(float *p, float32x4_t v) { vst1q_f32(p, v); }
static inline float32x4_t vf32_load_tail(const float *p, pdt_int r) {
    float buf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(buf, p, (size_t)r * sizeof(float));
    return vld1q_f32(buf);
}
static inline void vf32_store_tail(float *p, float32x4_t v, pdt_int r) {
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, (size_t)r * sizeof(float));
}
static inline float32x4_t vf32_load_part(const float *p, pdt_int r) {
    return __builtin_expect(r == vf32_N, 1) ? vf32_load(p) : vf32_load_tail(p, r);
}
static inline void vf32_store_part(float *p, float32x4_t v, pdt_int r) {
    if (__builtin_expect(r == vf32_N, 1)) vf32_store(p, v);
    else vf32_store_tail(p, v, r);
}
static inline float32x4_t vf32_set1(float s) { return vdupq_n_f32(s); }
static inline float32x4_t vf32_zero(void) { return vdupq_n_f32(0.0f); }
static inline float32x4_t vf32_add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
static inline float32x4_t vf32_sub(float32x4_t a, float32x4_t b) { return vsubq_f32(a, b); }
static inline float32x4_t vf32_mul(float32x4_t a, float32x4_t b) { return vmulq_f32(a, b); }
static inline float32x4_t vf32_div(float32x4_t a, float32x4_t b) { return vdivq_f32(a, b); }
static inline float32x4_t vf32_fma(float32x4_t a, float32x4_t b, float32x4_t c) { return vfmaq_f32(c, a, b); }
static inline float32x4_t vf32_fnma(float32x4_t a, float32x4_t b, float32x4_t c) { return vfmsq_f32(c, a, b); }
static inline float32x4_t vf32_max(float32x4_t a, float32x4_t b) { return vmaxq_f32(a, b); }
static inline float32x4_t vf32_min(float32x4_t a, float32x4_t b) { return vminq_f32(a, b); }
static inline float32x4_t vf32_sqrt(float32x4_t a) { return vsqrtq_f32(a); }
static inline float32x4_t vf32_abs(float32x4_t a) { return vabsq_f32(a); }
static inline uint32x4_t vf32_gt(float32x4_t a, float32x4_t b) { return vcgtq_f32(a, b); }
static inline uint32x4_t vf32_lt(float32x4_t a, float32x4_t b) { return vcltq_f32(a, b); }
static inline float32x4_t vf32_select(uint32x4_t m, float32x4_t a, float32x4_t b) { return vbslq_f32(m, a, b); }
static inline float vf32_reduce_add(float32x4_t v) {
    float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(s, 0) + vget_lane_f32(s, 1);
}
static inline float vf32_reduce_max(float32x4_t v) { return vmaxvq_f32(v); }
/* 2^n for integer-valued n in [-126, 127]: n + bias shifted into the exponent field. */
static inline float32x4_t vf32_pow2i(float32x4_t n) {
    int32x4_t e = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
}
/* 1/a for finite, nonzero normal a: 8-bit estimate, two Newton steps (vrecps gives 2 − a·r). */
static inline float32x4_t vf32_rcp(float32x4_t a) {
    float32x4_t r = vrecpeq_f32(a);
    r = vmulq_f32(r, vrecpsq_f32(a, r));
    return vmulq_f32(r, vrecpsq_f32(a, r));
}
static inline float32x4_t vf32_trunc(float32x4_t a) { return vrndq_f32(a); }
/* NEON has no gather: four loads */
static inline float32x4_t vf32_gather(const float *base, float32x4_t pos) {
    int32x4_t i = vcvtq_s32_f32(pos);
    float32x4_t r = vdupq_n_f32(base[vgetq_lane_s32(i, 0)]);
    r = vsetq_lane_f32(base[vgetq_lane_s32(i, 1)], r, 1);
    r = vsetq_lane_f32(base[vgetq_lane_s32(i, 2)], r, 2);
    return vsetq_lane_f32(base[vgetq_lane_s32(i, 3)], r, 3);
}
/* lanes 0, 2, 4, … of the 2·VN values a then b */
static inline float32x4_t vf32_even(float32x4_t a, float32x4_t b) { return vuzp1q_f32(a, b); }

typedef float64x2_t vf64_t;
typedef uint64x2_t vf64_mask;
enum { vf64_N = 2 };
static inline float64x2_t vf64_load(const double *p) { return vld1q_f64(p); }
static inline void vf64_store(double *p, float64x2_t v) { vst1q_f64(p, v); }
static inline float64x2_t vf64_load_tail(const double *p, pdt_int r) {
    double buf[2] = {0.0, 0.0};
    memcpy(buf, p, (size_t)r * sizeof(double));
    return vld1q_f64(buf);
}
static inline void vf64_store_tail(double *p, float64x2_t v, pdt_int r) {
    double buf[2];
    vst1q_f64(buf, v);
    memcpy(p, buf, (size_t)r * sizeof(double));
}
static inline float64x2_t vf64_load_part(const double *p, pdt_int r) {
    return __builtin_expect(r == vf64_N, 1) ? vf64_load(p) : vf64_load_tail(p, r);
}
static inline void vf64_store_part(double *p, float64x2_t v, pdt_int r) {
    if (__builtin_expect(r == vf64_N, 1)) vf64_store(p, v);
    else vf64_store_tail(p, v, r);
}
static inline float64x2_t vf64_set1(double s) { return vdupq_n_f64(s); }
static inline float64x2_t vf64_zero(void) { return vdupq_n_f64(0.0); }
static inline float64x2_t vf64_add(float64x2_t a, float64x2_t b) { return vaddq_f64(a, b); }
static inline float64x2_t vf64_sub(float64x2_t a, float64x2_t b) { return vsubq_f64(a, b); }
static inline float64x2_t vf64_mul(float64x2_t a, float64x2_t b) { return vmulq_f64(a, b); }
static inline float64x2_t vf64_div(float64x2_t a, float64x2_t b) { return vdivq_f64(a, b); }
static inline float64x2_t vf64_fma(float64x2_t a, float64x2_t b, float64x2_t c) { return vfmaq_f64(c, a, b); }
static inline float64x2_t vf64_fnma(float64x2_t a, float64x2_t b, float64x2_t c) { return vfmsq_f64(c, a, b); }
static inline float64x2_t vf64_max(float64x2_t a, float64x2_t b) { return vmaxq_f64(a, b); }
static inline float64x2_t vf64_min(float64x2_t a, float64x2_t b) { return vminq_f64(a, b); }
static inline float64x2_t vf64_sqrt(float64x2_t a) { return vsqrtq_f64(a); }
static inline float64x2_t vf64_abs(float64x2_t a) { return vabsq_f64(a); }
static inline uint64x2_t vf64_gt(float64x2_t a, float64x2_t b) { return vcgtq_f64(a, b); }
static inline uint64x2_t vf64_lt(float64x2_t a, float64x2_t b) { return vcltq_f64(a, b); }
static inline float64x2_t vf64_select(uint64x2_t m, float64x2_t a, float64x2_t b) { return vbslq_f64(m, a, b); }
static inline double vf64_reduce_add(float64x2_t v) { return vgetq_lane_f64(v, 0) + vgetq_lane_f64(v, 1); }
static inline double vf64_reduce_max(float64x2_t v) { return vmaxvq_f64(v); }
/* 2^n for integer-valued n in [-1022, 1023]. */
static inline float64x2_t vf64_pow2i(float64x2_t n) {
    int64x2_t e = vaddq_s64(vcvtnq_s64_f64(n), vdupq_n_s64(1023));
    return vreinterpretq_f64_s64(vshlq_n_s64(e, 52));
}
/* 1/a for finite, nonzero normal a: 8-bit estimate, three Newton steps. */
static inline float64x2_t vf64_rcp(float64x2_t a) {
    float64x2_t r = vrecpeq_f64(a);
    r = vmulq_f64(r, vrecpsq_f64(a, r));
    r = vmulq_f64(r, vrecpsq_f64(a, r));
    return vmulq_f64(r, vrecpsq_f64(a, r));
}
static inline float64x2_t vf64_trunc(float64x2_t a) { return vrndq_f64(a); }
static inline float64x2_t vf64_gather(const double *base, float64x2_t pos) {
    int64x2_t i = vcvtq_s64_f64(pos);
    return vsetq_lane_f64(base[vgetq_lane_s64(i, 1)], vdupq_n_f64(base[vgetq_lane_s64(i, 0)]), 1);
}
static inline float64x2_t vf64_even(float64x2_t a, float64x2_t b) { return vuzp1q_f64(a, b); }

/* transpose of a 4 × 4 (float) or 2 × 2 (double) block: r[i] lane j ↔ r[j] lane i */
static inline void vf32_transpose(float32x4_t *r) {
    float64x2_t t0 = vreinterpretq_f64_f32(vtrn1q_f32(r[0], r[1])), t1 = vreinterpretq_f64_f32(vtrn2q_f32(r[0], r[1]));
    float64x2_t t2 = vreinterpretq_f64_f32(vtrn1q_f32(r[2], r[3])), t3 = vreinterpretq_f64_f32(vtrn2q_f32(r[2], r[3]));
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(t0, t2));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(t1, t3));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(t0, t2));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(t1, t3));
}
static inline void vf64_transpose(float64x2_t *r) {
    float64x2_t a = vtrn1q_f64(r[0], r[1]), b = vtrn2q_f64(r[0], r[1]);
    r[0] = a;
    r[1] = b;
}

#endif
