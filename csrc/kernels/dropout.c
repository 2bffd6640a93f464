/*
 * dropout.c — dropout (Srivastava et al., JMLR 2014): r_i ~ Bernoulli(p_keep),
 * ỹ = r ⊙ y. Two schemes share these kernels through `scale`:
 *   inverted:  training y = r ⊙ x / p_keep, inference y = x;
 *   lecture:   training y = r ⊙ x,          inference y = p_keep·x.
 * The keep decision of element i is u_i < p_keep on a 32-bit Philox word
 * (threshold round(p_keep·2³²)), a pure function of (seed, offset, i): the
 * elements of chunk k = i/256 read the 64 blocks offset + 64k .. offset + 64k + 63,
 * element i word (i%256)/64 of block offset + 64k + i%64. So one call uses
 * 64·⌈n/256⌉ counters, and a chunk's 64 blocks are computed side by side in
 * 32-bit integer vectors (vu32_* of simd/), whatever the SIMD level or thread count.
 *
 * The mask is stored as uint8 bytes (0/1) rather than regenerated in the
 * backward from the saved counter: regenerating would save 2 bytes of
 * traffic per element but repeat the Philox rounds, which cost more than those
 * bytes (the forward is bound by them); the backward stays a pure stream, and
 * the mask can be inspected or held fixed (the finite-difference check does).
 */

#include <string.h>

#ifndef PDT_DROPOUT_LANES
#define PDT_DROPOUT_LANES 64  /* Philox blocks per chunk (4 words each: 256 elements); enough
                                 independent lanes to hide the multiply latency */
#endif

#ifndef PDT_DROPOUT_NV
#define PDT_DROPOUT_NV (PDT_DROPOUT_LANES / vu32_N)  /* vectors of 32-bit lanes per chunk */
#endif

// w[4][LANES]: the four words of blocks first .. first + LANES − 1 of stream seed
// (Philox4x32-10 as in rng.h, computed PDT_DROPOUT_NV vectors at a time)
static inline void KN(dropout_philox_lanes)(uint64_t seed, uint64_t first, uint32_t w[4][PDT_DROPOUT_LANES]) {
    for (int b = 0; b < PDT_DROPOUT_LANES; ++b) {
        uint64_t ctr = first + (uint64_t)b;
        w[0][b] = (uint32_t)ctr;
        w[1][b] = (uint32_t)(ctr >> 32);
    }
    vu32_t c0[PDT_DROPOUT_NV], c1[PDT_DROPOUT_NV], c2[PDT_DROPOUT_NV], c3[PDT_DROPOUT_NV];
    for (int v = 0; v < PDT_DROPOUT_NV; ++v) {
        c0[v] = vu32_load(&w[0][v * vu32_N]);
        c1[v] = vu32_load(&w[1][v * vu32_N]);
        c2[v] = c3[v] = vu32_set1(0u);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const vu32_t vk0 = vu32_set1(k0), vk1 = vu32_set1(k1);
        for (int v = 0; v < PDT_DROPOUT_NV; ++v) {
            vu32_t hi0, hi1;
            vu32_t lo0 = vu32_mulhilo(c0[v], 0xD2511F53u, &hi0);
            vu32_t lo1 = vu32_mulhilo(c2[v], 0xCD9E8D57u, &hi1);
            c0[v] = vu32_xor(vu32_xor(hi1, c1[v]), vk0);
            c2[v] = vu32_xor(vu32_xor(hi0, c3[v]), vk1);
            c1[v] = lo1;
            c3[v] = lo0;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int v = 0; v < PDT_DROPOUT_NV; ++v) {
        vu32_store(&w[0][v * vu32_N], c0[v]);
        vu32_store(&w[1][v * vu32_N], c1[v]);
        vu32_store(&w[2][v * vu32_N], c2[v]);
        vu32_store(&w[3][v * vu32_N], c3[v]);
    }
}

// x, y (n), mask (n) uint8; y may be x
// mask_i = [u_i < keep_prob]; y_i = mask_i·scale·x_i   (scale = 1/keep_prob inverted, 1 lecture)
static pdt_status KN(dropout_forward)(pdt_rng rng, pdt_int n, double keep_prob, double scale, const T *x, T *y,
                                      uint8_t *mask) {
    const uint64_t thr = (uint64_t)llround(keep_prob * 4294967296.0); /* keep ⇔ word < thr; 2³² keeps all */
    const uint8_t keep_all = thr > UINT32_MAX;
    const uint32_t thr32 = (uint32_t)thr; /* 32-bit compares vectorize twice as wide */
    const T s = (T)scale;
    const pdt_int chunk = 4 * PDT_DROPOUT_LANES;
    const pdt_int nchunks = (n + chunk - 1) / chunk;
    PDT_OMP_FOR(n > PDT_PAR_MIN / 4)
    for (pdt_int k = 0; k < nchunks; ++k) {
        uint32_t w[4][PDT_DROPOUT_LANES];
        KN(dropout_philox_lanes)(rng.seed, rng.offset + (uint64_t)k * PDT_DROPOUT_LANES, w);
        const uint32_t *words = &w[0][0];
        const pdt_int base = k * chunk, len = n - base < chunk ? n - base : chunk;
        T factor[4 * PDT_DROPOUT_LANES];
        uint8_t keep[4 * PDT_DROPOUT_LANES];
        for (pdt_int j = 0; j < chunk; ++j) {
            keep[j] = keep_all | (uint8_t)(words[j] < thr32);
            factor[j] = keep[j] ? s : (T)0;
        }
        memcpy(mask + base, keep, (size_t)len);
        for (pdt_int j = 0; j < len; j += VN) {
            const pdt_int r = len - j < VN ? len - j : VN;
            vstore_part(y + base + j, vmul(vload_part(x + base + j, r), vload(factor + j)), r);
        }
    }
    return PDT_OK;
}

// dy, dx (n), mask (n) uint8; dx may be dy
// dx_i = mask_i·scale·dy_i
static pdt_status KN(dropout_backward)(pdt_int n, double scale, const T *dy, const uint8_t *mask, T *dx) {
    const T s = (T)scale;
    const pdt_int chunk = 4096;
    const pdt_int nchunks = (n + chunk - 1) / chunk;
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int k = 0; k < nchunks; ++k) {
        const pdt_int end = (k + 1) * chunk < n ? (k + 1) * chunk : n;
        for (pdt_int i = k * chunk; i < end; ++i) dx[i] = (T)mask[i] * s * dy[i];
    }
    return PDT_OK;
}
