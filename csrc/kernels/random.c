/*
 * random.c — random fills from the counter-based generator (rng.h): element i
 * takes block offset + i, so the numbers are the same for float and double
 * (rounded), for every SIMD target and every thread count.
 */

// out (n); out[i] = low + (high − low)·u_i, u_i ~ U[0, 1)
static pdt_status KN(fill_uniform)(pdt_rng rng, pdt_int n, double low, double high, T *out) {
    PDT_OMP_FOR(n > PDT_PAR_MIN / 8)
    for (pdt_int i = 0; i < n; ++i)
        out[i] = (T)(low + (high - low) * pdt_uniform_at(rng.seed, rng.offset, (uint64_t)i));
    return PDT_OK;
}

// out (n); out[i] = mean + std·z_i, z_i ~ N(0, 1)
static pdt_status KN(fill_normal)(pdt_rng rng, pdt_int n, double mean, double std, T *out) {
    PDT_OMP_FOR(n > PDT_PAR_MIN / 8)
    for (pdt_int i = 0; i < n; ++i)
        out[i] = (T)(mean + std * pdt_normal_at(rng.seed, rng.offset, (uint64_t)i));
    return PDT_OK;
}
