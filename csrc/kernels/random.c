/*
 * random.c — random fills from the counter-based generator (rng.h): element i
 * takes block offset + i, so the numbers are the same for float and double
 * (rounded), for every SIMD target and every thread count; blocks are computed
 * PDT_PHILOX_LANES at a time (philox_lanes.c).
 */

// out (n); out[i] = low + (high − low)·u_i, u_i ~ U[0, 1)
static pdt_status KN(fill_uniform)(pdt_rng rng, pdt_int n, double low, double high, T *out) {
    const pdt_int chunks = PDT_PHILOX_CHUNKS(n);
    PDT_OMP_FOR(n > PDT_PAR_MIN / 8)
    for (pdt_int k = 0; k < chunks; ++k) {
        double u[PDT_PHILOX_LANES];
        const pdt_int len = KN(philox_uniform_chunk)(rng, n, k, u);
        for (pdt_int j = 0; j < len; ++j) out[k * PDT_PHILOX_LANES + j] = (T)(low + (high - low) * u[j]);
    }
    return PDT_OK;
}

// out (n); out[i] = mean + std·z_i, z_i ~ N(0, 1)
static pdt_status KN(fill_normal)(pdt_rng rng, pdt_int n, double mean, double std, T *out) {
    const pdt_int chunks = PDT_PHILOX_CHUNKS(n);
    PDT_OMP_FOR(n > PDT_PAR_MIN / 8)
    for (pdt_int k = 0; k < chunks; ++k) {
        double z[PDT_PHILOX_LANES];
        const pdt_int len = KN(philox_normal_chunk)(rng, n, k, z);
        for (pdt_int j = 0; j < len; ++j) out[k * PDT_PHILOX_LANES + j] = (T)(mean + std * z[j]);
    }
    return PDT_OK;
}
