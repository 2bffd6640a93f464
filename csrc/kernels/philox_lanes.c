/*
 * philox_lanes.c — Philox4x32-10 blocks computed side by side in 32-bit integer
 * vectors (vu32_* of simd/): the same words rng.h's pdt_philox_block gives one
 * block at a time, for the kernels that draw for every element (dropout masks,
 * uniform and normal fills, Gaussian noise).
 */

#ifndef PDT_PHILOX_LANES
#define PDT_PHILOX_LANES 64  /* blocks per call: enough independent lanes to hide the multiply latency */
#endif
#define PDT_PHILOX_CHUNKS(n) (((n) + PDT_PHILOX_LANES - 1) / PDT_PHILOX_LANES)

#ifndef PDT_PHILOX_NV
#define PDT_PHILOX_NV (PDT_PHILOX_LANES / vu32_N)  /* vectors of 32-bit lanes per chunk */
#endif

// w[4][LANES]: the four words of blocks first .. first + LANES − 1 of stream seed
// (Philox4x32-10 as in rng.h, computed PDT_PHILOX_NV vectors at a time)
static inline void KN(philox_lanes)(uint64_t seed, uint64_t first, uint32_t w[4][PDT_PHILOX_LANES]) {
    for (int b = 0; b < PDT_PHILOX_LANES; ++b) {
        uint64_t ctr = first + (uint64_t)b;
        w[0][b] = (uint32_t)ctr;
        w[1][b] = (uint32_t)(ctr >> 32);
    }
    vu32_t c0[PDT_PHILOX_NV], c1[PDT_PHILOX_NV], c2[PDT_PHILOX_NV], c3[PDT_PHILOX_NV];
    for (int v = 0; v < PDT_PHILOX_NV; ++v) {
        c0[v] = vu32_load(&w[0][v * vu32_N]);
        c1[v] = vu32_load(&w[1][v * vu32_N]);
        c2[v] = c3[v] = vu32_set1(0u);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const vu32_t vk0 = vu32_set1(k0), vk1 = vu32_set1(k1);
        for (int v = 0; v < PDT_PHILOX_NV; ++v) {
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
    for (int v = 0; v < PDT_PHILOX_NV; ++v) {
        vu32_store(&w[0][v * vu32_N], c0[v]);
        vu32_store(&w[1][v * vu32_N], c1[v]);
        vu32_store(&w[2][v * vu32_N], c2[v]);
        vu32_store(&w[3][v * vu32_N], c3[v]);
    }
}

// Chunk k of an n-element draw (elements k·LANES ..): z[j] = the standard normal of element k·LANES + j,
// i.e. of block offset + k·LANES + j (rng.h's pdt_normal_at); returns how many of z the chunk holds.
static inline pdt_int KN(philox_normal_chunk)(pdt_rng rng, pdt_int n, pdt_int k, double z[PDT_PHILOX_LANES]) {
    uint32_t w[4][PDT_PHILOX_LANES];
    const pdt_int base = k * PDT_PHILOX_LANES;
    KN(philox_lanes)(rng.seed, rng.offset + (uint64_t)base, w);
    for (int b = 0; b < PDT_PHILOX_LANES; ++b) z[b] = pdt_box_muller(w[0][b], w[1][b], w[2][b], w[3][b]);
    return n - base < PDT_PHILOX_LANES ? n - base : PDT_PHILOX_LANES;
}

// The same chunk as uniform [0, 1) draws (rng.h's pdt_uniform_at).
static inline pdt_int KN(philox_uniform_chunk)(pdt_rng rng, pdt_int n, pdt_int k, double u[PDT_PHILOX_LANES]) {
    uint32_t w[4][PDT_PHILOX_LANES];
    const pdt_int base = k * PDT_PHILOX_LANES;
    KN(philox_lanes)(rng.seed, rng.offset + (uint64_t)base, w);
    for (int b = 0; b < PDT_PHILOX_LANES; ++b) u[b] = pdt_u53(w[0][b], w[1][b]);
    return n - base < PDT_PHILOX_LANES ? n - base : PDT_PHILOX_LANES;
}
