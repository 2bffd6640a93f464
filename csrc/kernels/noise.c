/*
 * noise.c — additive Gaussian noise on a layer's input (training only; the
 * lecture's input noise): y = x + σ·z, z ~ N(0, 1). The draw of element i is
 * block offset + i of the counter-based generator (rng.h, Box–Muller), the
 * same numbers fill_normal gives, whatever the thread count or SIMD level.
 * The backward is the identity (dx = dy) and needs no kernel.
 */

// x, y (n); y may be x
// y_i = x_i + std·z_i
static pdt_status KN(gaussian_noise_forward)(pdt_rng rng, pdt_int n, double std, const T *x, T *y) {
    PDT_OMP_FOR(n > PDT_PAR_MIN / 8)
    for (pdt_int i = 0; i < n; ++i)
        y[i] = (T)((double)x[i] + std * pdt_normal_at(rng.seed, rng.offset, (uint64_t)i));
    return PDT_OK;
}
