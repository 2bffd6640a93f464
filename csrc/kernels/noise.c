/*
 * noise.c — additive Gaussian noise on a layer's input (training only; the
 * lecture's input noise): y = x + σ·z, z ~ N(0, 1). The draw of element i is
 * block offset + i of the counter-based generator (rng.h, Box–Muller), the
 * same numbers fill_normal gives, whatever the thread count or SIMD level;
 * blocks are computed PDT_PHILOX_LANES at a time (philox_lanes.c).
 * The backward is the identity (dx = dy) and needs no kernel.
 */

// x, y (n); y may be x
// y_i = x_i + std·z_i
static pdt_status KN(gaussian_noise_forward)(pdt_rng rng, pdt_int n, double std, const T *x, T *y) {
    const pdt_int chunks = PDT_PHILOX_CHUNKS(n);
    PDT_OMP_FOR(n > PDT_PAR_MIN / 8)
    for (pdt_int k = 0; k < chunks; ++k) {
        double z[PDT_PHILOX_LANES];
        const pdt_int len = KN(philox_normal_chunk)(rng, n, k, z);
        const T *xk = x + k * PDT_PHILOX_LANES;
        T *yk = y + k * PDT_PHILOX_LANES;
        for (pdt_int j = 0; j < len; ++j) yk[j] = (T)((double)xk[j] + std * z[j]);
    }
    return PDT_OK;
}
