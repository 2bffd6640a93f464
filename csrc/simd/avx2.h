/*
 * avx2.h — the vector API on AVX2 + FMA: 8 floats or 4 doubles per vector.
 * Tails use masked loads and stores, so no kernel reads or writes past n.
 */
#ifndef PDT_SIMD_AVX2_H
#define PDT_SIMD_AVX2_H
#include <immintrin.h>
#include "../pdt.h"

#define PDT_TARGET_NAME avx2

/* 32-bit unsigned lanes, for counter-based random numbers (dtype-independent). */
typedef __m256i vu32_t;
enum { vu32_N = 8 };
static inline __m256i vu32_load(const uint32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline void vu32_store(uint32_t *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }
static inline __m256i vu32_set1(uint32_t s) { return _mm256_set1_epi32((int)s); }
static inline __m256i vu32_xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
/* a·m as a 64-bit product per lane: returns the low 32 bits, *hi gets the high 32 bits */
static inline __m256i vu32_mulhilo(__m256i a, uint32_t m, __m256i *hi) {
    const __m256i vm = _mm256_set1_epi64x(m);
    __m256i even = _mm256_mul_epu32(a, vm), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), vm);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

typedef __m256 vf32_t;
typedef __m256 vf32_mask;
enum { vf32_N = 8 };
static inline __m256i pdt_avx2_tail_mask32(pdt_int r) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline __m256 vf32_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf32_store(float *p, __m256 v) { _mm256_storeu_ps(p, v); }
static inline __m256 vf32_load_tail(const float *p, pdt_int r) { return _mm256_maskload_ps(p, pdt_avx2_tail_mask32(r)); }
static inline void vf32_store_tail(float *p, __m256 v, pdt_int r) { _mm256_maskstore_ps(p, pdt_avx2_tail_mask32(r), v); }
static inline __m256 vf32_load_part(const float *p, pdt_int r) {
    return __builtin_expect(r == vf32_N, 1) ? vf32_load(p) : vf32_load_tail(p, r);
}
static inline void vf32_store_part(float *p, __m256 v, pdt_int r) {
    if (__builtin_expect(r == vf32_N, 1)) vf32_store(p, v);
    else vf32_store_tail(p, v, r);
}
static inline __m256 vf32_set1(float s) { return _mm256_set1_ps(s); }
static inline __m256 vf32_zero(void) { return _mm256_setzero_ps(); }
static inline __m256 vf32_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
static inline __m256 vf32_sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
static inline __m256 vf32_mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
static inline __m256 vf32_div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
static inline __m256 vf32_fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
static inline __m256 vf32_fnma(__m256 a, __m256 b, __m256 c) { return _mm256_fnmadd_ps(a, b, c); }
static inline __m256 vf32_max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
static inline __m256 vf32_min(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
static inline __m256 vf32_sqrt(__m256 a) { return _mm256_sqrt_ps(a); }
static inline __m256 vf32_abs(__m256 a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline __m256 vf32_gt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline __m256 vf32_lt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline __m256 vf32_select(__m256 m, __m256 a, __m256 b) { return _mm256_blendv_ps(b, a, m); }
static inline float vf32_reduce_add(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vf32_reduce_max(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* 2^n for integer-valued n in [-126, 127]: n + bias shifted into the exponent field. */
static inline __m256 vf32_pow2i(__m256 n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}
/* 1/a for finite, nonzero normal a: 12-bit estimate, two Newton steps (r ← r + r·(1 − a·r)). */
static inline __m256 vf32_rcp(__m256 a) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 r = _mm256_rcp_ps(a);
    r = _mm256_fmadd_ps(r, _mm256_fnmadd_ps(a, r, one), r);
    return _mm256_fmadd_ps(r, _mm256_fnmadd_ps(a, r, one), r);
}
static inline __m256 vf32_trunc(__m256 a) { return _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
static inline __m256 vf32_gather(const float *base, __m256 pos) {
    return _mm256_i32gather_ps(base, _mm256_cvttps_epi32(pos), 4);
}
/* lanes 0, 2, 4, … of the 2·VN values a then b */
static inline __m256 vf32_even(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
}

typedef __m256d vf64_t;
typedef __m256d vf64_mask;
enum { vf64_N = 4 };
static inline __m256i pdt_avx2_tail_mask64(pdt_int r) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(r), _mm256_setr_epi64x(0, 1, 2, 3));
}
static inline __m256d vf64_load(const double *p) { return _mm256_loadu_pd(p); }
static inline void vf64_store(double *p, __m256d v) { _mm256_storeu_pd(p, v); }
static inline __m256d vf64_load_tail(const double *p, pdt_int r) { return _mm256_maskload_pd(p, pdt_avx2_tail_mask64(r)); }
static inline void vf64_store_tail(double *p, __m256d v, pdt_int r) { _mm256_maskstore_pd(p, pdt_avx2_tail_mask64(r), v); }
static inline __m256d vf64_load_part(const double *p, pdt_int r) {
    return __builtin_expect(r == vf64_N, 1) ? vf64_load(p) : vf64_load_tail(p, r);
}
static inline void vf64_store_part(double *p, __m256d v, pdt_int r) {
    if (__builtin_expect(r == vf64_N, 1)) vf64_store(p, v);
    else vf64_store_tail(p, v, r);
}
static inline __m256d vf64_set1(double s) { return _mm256_set1_pd(s); }
static inline __m256d vf64_zero(void) { return _mm256_setzero_pd(); }
static inline __m256d vf64_add(__m256d a, __m256d b) { return _mm256_add_pd(a, b); }
static inline __m256d vf64_sub(__m256d a, __m256d b) { return _mm256_sub_pd(a, b); }
static inline __m256d vf64_mul(__m256d a, __m256d b) { return _mm256_mul_pd(a, b); }
static inline __m256d vf64_div(__m256d a, __m256d b) { return _mm256_div_pd(a, b); }
static inline __m256d vf64_fma(__m256d a, __m256d b, __m256d c) { return _mm256_fmadd_pd(a, b, c); }
static inline __m256d vf64_fnma(__m256d a, __m256d b, __m256d c) { return _mm256_fnmadd_pd(a, b, c); }
static inline __m256d vf64_max(__m256d a, __m256d b) { return _mm256_max_pd(a, b); }
static inline __m256d vf64_min(__m256d a, __m256d b) { return _mm256_min_pd(a, b); }
static inline __m256d vf64_sqrt(__m256d a) { return _mm256_sqrt_pd(a); }
static inline __m256d vf64_abs(__m256d a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
static inline __m256d vf64_gt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
static inline __m256d vf64_lt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
static inline __m256d vf64_select(__m256d m, __m256d a, __m256d b) { return _mm256_blendv_pd(b, a, m); }
static inline double vf64_reduce_add(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
static inline double vf64_reduce_max(__m256d v) {
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}
/* 2^n for integer-valued n in [-1022, 1023]. */
static inline __m256d vf64_pow2i(__m256d n) {
    __m256i e = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023));
    return _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
}
/* 1/a (AVX2 has no double estimate: a division). */
static inline __m256d vf64_rcp(__m256d a) { return _mm256_div_pd(_mm256_set1_pd(1.0), a); }
static inline __m256d vf64_trunc(__m256d a) { return _mm256_round_pd(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
static inline __m256d vf64_gather(const double *base, __m256d pos) {
    return _mm256_i32gather_pd(base, _mm256_cvttpd_epi32(pos), 8);
}
static inline __m256d vf64_even(__m256d a, __m256d b) {
    return _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), 0xD8);
}

/* transpose of an 8 × 8 (float) or 4 × 4 (double) block: r[i] lane j ↔ r[j] lane i */
static inline void vf32_transpose(__m256 *r) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 2; ++g) { /* u[4g+q], 128-bit lane L: rows 4g..4g+3 of column 4L+q */
        __m256d a = _mm256_castps_pd(t[4 * g]), b = _mm256_castps_pd(t[4 * g + 1]);
        __m256d c = _mm256_castps_pd(t[4 * g + 2]), d = _mm256_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));
    }
    for (int q = 0; q < 4; ++q) {
        r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
        r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
    }
}
static inline void vf64_transpose(__m256d *r) {
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

#endif
