/*
 * average.c — weight averaging and the lecture's PMPE over flat buffers:
 *   EMA (exponentially weighted moving average): e ← βe + (1−β)θ, ê = e/(1−βᵗ);
 *   SWA (Izmailov et al. 2018): θ_SWA ← θ_SWA + (θ − θ_SWA)/(k+1), the mean of k+1 samples.
 * Both are avg ← avg + w·(x − avg), one read-modify pass over the arena.
 */

// avg, x (n)
// avg ← avg + w·(x − avg)
static pdt_status KN(average_update)(pdt_int n, T *avg, const T *x, double weight) {
    const V w = vset1((T)weight);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V a = vload_part(avg + i, r);
        vstore_part(avg + i, vfma(w, vsub(vload_part(x + i, r), a), a), r);
    }
    return PDT_OK;
}

// series, out (n)
// e₀ = 0;  e ← βe + (1−β)s[t];  out[t] = e/(1−β^(t+1)) with bias correction, else e   (a recurrence: serial, in double)
static pdt_status KN(ema_series)(pdt_int n, const T *series, double beta, int bias_correction, T *out) {
    double e = 0.0, power = 1.0;
    for (pdt_int t = 0; t < n; ++t) {
        e = beta * e + (1.0 - beta) * (double)series[t];
        power *= beta;
        out[t] = (T)(bias_correction ? e / (1.0 - power) : e);
    }
    return PDT_OK;
}
