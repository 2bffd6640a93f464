/*
 * rng.c — the dtype-free random functions of the core: raw Philox blocks and
 * permutations (for shuffling). Per-element draws for kernels are in rng.h.
 */
#include "pdt.h"
#include "rng.h"

void pdt_philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    pdt_philox_block(seed, counter, out);
}

/* Fisher–Yates: step i swaps out[i] with out[j], j = ⌊u_i·(i+1)⌋, u_i the draw of element i. */
void pdt_permutation(pdt_rng rng, pdt_int n, int64_t *out) {
    for (pdt_int i = 0; i < n; ++i) out[i] = i;
    for (pdt_int i = n - 1; i > 0; --i) {
        pdt_int j = (pdt_int)(pdt_uniform_at(rng.seed, rng.offset, (uint64_t)i) * (double)(i + 1));
        if (j > i) j = i;
        int64_t tmp = out[i];
        out[i] = out[j];
        out[j] = tmp;
    }
}
