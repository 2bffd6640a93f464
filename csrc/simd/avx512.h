/*
 * avx512.h — the vector API on AVX-512F: 16 floats or 8 doubles per vector.
 * Tails use the native write masks.
 */
#ifndef PDT_SIMD_AVX512_H
#define PDT_SIMD_AVX512_H
#include <immintrin.h>
#include "../pdt.h"

#define PDT_TARGET_NAME avx512

/* 32-bit unsigned lanes, for counter-based random numbers (dtype-independent). */
typedef __m512i vu32_t;
enum { vu32_N = 16 };
static inline __m512i vu32_load(const uint32_t *p) { return _mm512_loadu_si512((const void *)p); }
static inline void vu32_store(uint32_t *p, __m512i v) { _mm512_storeu_si512((void *)p, v); }
static inline __m512i vu32_set1(uint32_t s) { return _mm512_set1_epi32((int)s); }
static inline __m512i vu32_xor(__m512i a, __m512i b) { return _mm512_xor_si512(a, b); }
/* a·m as a 64-bit product per lane: returns the low 32 bits, *hi gets the high 32 bits */
static inline __m512i vu32_mulhilo(__m512i a, uint32_t m, __m512i *hi) {
    const __m512i vm = _mm512_set1_epi64(m);
    __m512i even = _mm512_mul_epu32(a, vm), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), vm);
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

typedef __m512 vf32_t;
typedef __mmask16 vf32_mask;
enum { vf32_N = 16 };
static inline __mmask16 pdt_avx512_tail16(pdt_int r) { return (__mmask16)((1u << r) - 1u); }
static inline __m512 vf32_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf32_store(float *p, __m512 v) { _mm512_storeu_ps(p, v); }
static inline __m512 vf32_load_tail(const float *p, pdt_int r) { return _mm512_maskz_loadu_ps(pdt_avx512_tail16(r), p); }
static inline void vf32_store_tail(float *p, __m512 v, pdt_int r) { _mm512_mask_storeu_ps(p, pdt_avx512_tail16(r), v); }
static inline __m512 vf32_load_part(const float *p, pdt_int r) {
    return __builtin_expect(r == vf32_N, 1) ? vf32_load(p) : vf32_load_tail(p, r);
}
static inline void vf32_store_part(float *p, __m512 v, pdt_int r) {
    if (__builtin_expect(r == vf32_N, 1)) vf32_store(p, v);
    else vf32_store_tail(p, v, r);
}
static inline __m512 vf32_set1(float s) { return _mm512_set1_ps(s); }
static inline __m512 vf32_zero(void) { return _mm512_setzero_ps(); }
static inline __m512 vf32_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
static inline __m512 vf32_sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
static inline __m512 vf32_mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
static inline __m512 vf32_div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
static inline __m512 vf32_fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
static inline __m512 vf32_fnma(__m512 a, __m512 b, __m512 c) { return _mm512_fnmadd_ps(a, b, c); }
static inline __m512 vf32_max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
static inline __m512 vf32_min(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
static inline __m512 vf32_sqrt(__m512 a) { return _mm512_sqrt_ps(a); }
static inline __m512 vf32_abs(__m512 a) { return _mm512_abs_ps(a); }
static inline __mmask16 vf32_gt(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline __mmask16 vf32_lt(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline __m512 vf32_select(__mmask16 m, __m512 a, __m512 b) { return _mm512_mask_blend_ps(m, b, a); }
static inline float vf32_reduce_add(__m512 v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vf32_reduce_max(__m512 v) {
    __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* 2^n for integer-valued n in [-126, 127]: n + bias shifted into the exponent field. */
static inline __m512 vf32_pow2i(__m512 n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
}
/* 1/a for finite, nonzero normal a: 14-bit estimate, one Newton step (r ← r + r·(1 − a·r)). */
static inline __m512 vf32_rcp(__m512 a) {
    __m512 r = _mm512_rcp14_ps(a);
    return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(1.0f)), r);
}
static inline __m512 vf32_trunc(__m512 a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
static inline __m512 vf32_gather(const float *base, __m512 pos) {
    return _mm512_i32gather_ps(_mm512_cvttps_epi32(pos), base, 4);
}
/* lanes 0, 2, 4, … of the 2·VN values a then b */
static inline __m512 vf32_even(__m512 a, __m512 b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
}

typedef __m512d vf64_t;
typedef __mmask8 vf64_mask;
enum { vf64_N = 8 };
static inline __mmask8 pdt_avx512_tail8(pdt_int r) { return (__mmask8)((1u << r) - 1u); }
static inline __m512d vf64_load(const double *p) { return _mm512_loadu_pd(p); }
static inline void vf64_store(double *p, __m512d v) { _mm512_storeu_pd(p, v); }
static inline __m512d vf64_load_tail(const double *p, pdt_int r) { return _mm512_maskz_loadu_pd(pdt_avx512_tail8(r), p); }
static inline void vf64_store_tail(double *p, __m512d v, pdt_int r) { _mm512_mask_storeu_pd(p, pdt_avx512_tail8(r), v); }
static inline __m512d vf64_load_part(const double *p, pdt_int r) {
    return __builtin_expect(r == vf64_N, 1) ? vf64_load(p) : vf64_load_tail(p, r);
}
static inline void vf64_store_part(double *p, __m512d v, pdt_int r) {
    if (__builtin_expect(r == vf64_N, 1)) vf64_store(p, v);
    else vf64_store_tail(p, v, r);
}
static inline __m512d vf64_set1(double s) { return _mm512_set1_pd(s); }
static inline __m512d vf64_zero(void) { return _mm512_setzero_pd(); }
static inline __m512d vf64_add(__m512d a, __m512d b) { return _mm512_add_pd(a, b); }
static inline __m512d vf64_sub(__m512d a, __m512d b) { return _mm512_sub_pd(a, b); }
static inline __m512d vf64_mul(__m512d a, __m512d b) { return _mm512_mul_pd(a, b); }
static inline __m512d vf64_div(__m512d a, __m512d b) { return _mm512_div_pd(a, b); }
static inline __m512d vf64_fma(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
static inline __m512d vf64_fnma(__m512d a, __m512d b, __m512d c) { return _mm512_fnmadd_pd(a, b, c); }
static inline __m512d vf64_max(__m512d a, __m512d b) { return _mm512_max_pd(a, b); }
static inline __m512d vf64_min(__m512d a, __m512d b) { return _mm512_min_pd(a, b); }
static inline __m512d vf64_sqrt(__m512d a) { return _mm512_sqrt_pd(a); }
static inline __m512d vf64_abs(__m512d a) { return _mm512_abs_pd(a); }
static inline __mmask8 vf64_gt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
static inline __mmask8 vf64_lt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline __m512d vf64_select(__mmask8 m, __m512d a, __m512d b) { return _mm512_mask_blend_pd(m, b, a); }
static inline double vf64_reduce_add(__m512d v) {
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
static inline double vf64_reduce_max(__m512d v) {
    __m256d h = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}
/* 2^n for integer-valued n in [-1022, 1023]. */
static inline __m512d vf64_pow2i(__m512d n) {
    __m512i e = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_cvtpd_epi32(n)), _mm512_set1_epi64(1023));
    return _mm512_castsi512_pd(_mm512_slli_epi64(e, 52));
}
/* 1/a for finite, nonzero normal a: 14-bit estimate, two Newton steps. */
static inline __m512d vf64_rcp(__m512d a) {
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d r = _mm512_rcp14_pd(a);
    r = _mm512_fmadd_pd(r, _mm512_fnmadd_pd(a, r, one), r);
    return _mm512_fmadd_pd(r, _mm512_fnmadd_pd(a, r, one), r);
}
static inline __m512d vf64_trunc(__m512d a) { return _mm512_roundscale_pd(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
static inline __m512d vf64_gather(const double *base, __m512d pos) {
    return _mm512_i32gather_pd(_mm512_cvttpd_epi32(pos), base, 8);
}
static inline __m512d vf64_even(__m512d a, __m512d b) {
    return _mm512_permutex2var_pd(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b);
}

/* transpose of a 16 × 16 (float) or 8 × 8 (double) block: r[i] lane j ↔ r[j] lane i */
static inline void vf32_transpose(__m512 *r) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; ++g) { /* u[4g+q], 128-bit lane L: rows 4g..4g+3 of column 4L+q */
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int q = 0; q < 4; ++q) { /* 4 × 4 transpose of the 128-bit lanes of u[q], u[4+q], u[8+q], u[12+q] */
        __m512 s0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44), s1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE);
        __m512 s2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44), s3 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);
        r[q] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        r[4 + q] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
        r[8 + q] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
    }
}
static inline void vf64_transpose(__m512d *r) {
    __m512d t[8];
    for (int i = 0; i < 4; ++i) { /* t[2g+q], 128-bit lane L: rows 2g, 2g+1 of column 2L+q */
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    for (int q = 0; q < 2; ++q) {
        __m512d s0 = _mm512_shuffle_f64x2(t[q], t[2 + q], 0x44), s1 = _mm512_shuffle_f64x2(t[q], t[2 + q], 0xEE);
        __m512d s2 = _mm512_shuffle_f64x2(t[4 + q], t[6 + q], 0x44), s3 = _mm512_shuffle_f64x2(t[4 + q], t[6 + q], 0xEE);
        r[q] = _mm512_shuffle_f64x2(s0, s2, 0x88);
        r[2 + q] = _mm512_shuffle_f64x2(s0, s2, 0xDD);
        r[4 + q] = _mm512_shuffle_f64x2(s1, s3, 0x88);
        r[6 + q] = _mm512_shuffle_f64x2(s1, s3, 0xDD);
    }
}

#endif
