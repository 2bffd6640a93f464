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
 * 32-bit integer vectors (philox_lanes.c), whatever the SIMD level or thread count.
 *
 * The mask is stored as uint8 bytes (0/1) rather than regenerated in the
 * backward from the saved counter: regenerating would save 2 bytes of
 * traffic per element but repeat the Philox rounds, which cost more than those
 * bytes (the forward is bound by them); the backward stays a pure stream, and
 * the mask can be inspected or held fixed (the finite-difference check does).
 */

#include <string.h>

// x, y (n), mask (n) uint8; y may be x
// mask_i = [u_i < keep_prob]; y_i = mask_i·scale·x_i   (scale = 1/keep_prob inverted, 1 lecture)
static pdt_status KN(dropout_forward)(pdt_rng rng, pdt_int n, double keep_prob, double scale, const T *x, T *y,
                                      uint8_t *mask) {
    const uint64_t thr = (uint64_t)llround(keep_prob * 4294967296.0); /* keep ⇔ word < thr; 2³² keeps all */
    const uint8_t keep_all = thr > UINT32_MAX;
    const uint32_t thr32 = (uint32_t)thr; /* 32-bit compares vectorize twice as wide */
    const T s = (T)scale;
    const pdt_int chunk = 4 * PDT_PHILOX_LANES;
    const pdt_int nchunks = (n + chunk - 1) / chunk;
    PDT_OMP_FOR(n > PDT_PAR_MIN / 4)
    for (pdt_int k = 0; k < nchunks; ++k) {
        uint32_t w[4][PDT_PHILOX_LANES];
        KN(philox_lanes)(rng.seed, rng.offset + (uint64_t)k * PDT_PHILOX_LANES, w);
        const uint32_t *words = &w[0][0];
        const pdt_int base = k * chunk, len = n - base < chunk ? n - base : chunk;
        T factor[4 * PDT_PHILOX_LANES];
        uint8_t keep[4 * PDT_PHILOX_LANES];
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
