/*
 * rng.h — Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011), inline so kernels can draw per element.
 *
 * A draw is a pure function of (seed, counter): element i of a call reads
 * block offset + i, so what a thread or a SIMD lane computes never depends on
 * how the work was split. Helpers turn a block into uniforms and normals.
 */
#ifndef PDT_RNG_H
#define PDT_RNG_H
#include <math.h>
#include <stdint.h>

/* Ten rounds of Philox4x32 on counter ctr with key key. */
static inline void pdt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Block `counter` of stream `seed`: the 64-bit counter fills the low two words. */
static inline void pdt_philox_block(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0u, 0u};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    pdt_philox4x32_10(ctr, key, out);
}

/* A double in [0, 1) from 53 random bits of two words. */
static inline double pdt_u53(uint32_t hi, uint32_t lo) {
    return (double)(((uint64_t)(hi >> 5) << 26) | (lo >> 6)) * 0x1.0p-53;
}

/* Uniform [0, 1) draw for element `i` of a call starting at `offset`. */
static inline double pdt_uniform_at(uint64_t seed, uint64_t offset, uint64_t i) {
    uint32_t w[4];
    pdt_philox_block(seed, offset + i, w);
    return pdt_u53(w[0], w[1]);
}

/* A standard normal from a block's four words: Box–Muller on its two uniforms. */
static inline double pdt_box_muller(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
    double u1 = 1.0 - pdt_u53(w0, w1); /* (0, 1]: log stays finite */
    double u2 = pdt_u53(w2, w3);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Standard normal draw for element `i`. */
static inline double pdt_normal_at(uint64_t seed, uint64_t offset, uint64_t i) {
    uint32_t w[4];
    pdt_philox_block(seed, offset + i, w);
    return pdt_box_muller(w[0], w[1], w[2], w[3]);
}

#endif
