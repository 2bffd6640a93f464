/*
 * clip.c — gradient clipping over a flat gradient buffer (Pascanu et al. 2013):
 *   if ‖g‖ > η:  g ← η·g/‖g‖   (the caller scales by η/(‖g‖ + 1e-6), as PyTorch);
 *   by value:    g ← min(max(g, −c), c).
 * The norm is one read pass, Σ g² the deterministic sum of sum.c. segment_sumsq gives
 * one such sum per parameter of a flat buffer (the training monitors' per-layer norms).
 */

// x (n) from element begin of ctx -> Σ x²
static double KN(sumsq_chunk)(pdt_int begin, pdt_int n, void *ctx) {
    return KN(sum_pass)(PDT_PASS_SUMSQ, n, (const T *)ctx + begin, NULL, 0.0);
}

// x (n) -> max |x|; *nan = 1 when x holds a NaN
static double KN(maxabs_chunk)(pdt_int n, const T *x, int *nan) {
    const V minus_one = vset1((T)-1), one = vset1((T)1), zero = vzero();
    V mx = vzero(), nans = vzero();
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        V a = vabs(vload_part(x + i, r));
        mx = vmax(mx, a);
        nans = vadd(nans, vselect(vgt(a, minus_one), zero, one)); /* |x| > −1 fails only for NaN */
    }
    *nan = vreduce_add(nans) > 0;
    return (double)vreduce_max(mx);
}

// x (n); *result = Σ x², in double, the same bits for any thread count
static pdt_status KN(clip_sumsq)(pdt_int n, const T *x, double *result) {
    return pdt_chunked_sum(n, KN(sumsq_chunk), (void *)x, result);
}

typedef struct { const T *x; T *y; int kind; } KN(diff_ctx);

// x, y (n) from element begin of ctx -> Σ (x − y)² (and y ← x for PDT_PASS_DIFFSQ_KEEP)
static double KN(diffsq_chunk)(pdt_int begin, pdt_int n, void *ctx) {
    const KN(diff_ctx) *c = ctx;
    return KN(sum_pass)(c->kind, n, c->x + begin, c->y + begin, 0.0);
}

// x, y (ends[nseg−1]), ends (nseg) ascending; out[s] = Σ_{ends[s−1] ≤ i < ends[s]} (x_i − y_i)², y NULL as 0;
// keep: then y ← x in the same pass. Each segment summed as clip_sumsq sums an array of its own (the same bits)
static pdt_status KN(segment_sumsq)(pdt_int nseg, const pdt_int *ends, const T *x, T *y, int keep, double *out) {
    pdt_int begin = 0;
    for (pdt_int s = 0; s < nseg; ++s) {
        const pdt_int n = ends[s] - begin;
        KN(diff_ctx) ctx = {x + begin, y ? y + begin : NULL, keep ? PDT_PASS_DIFFSQ_KEEP : PDT_PASS_DIFFSQ};
        const pdt_status st = y ? pdt_chunked_sum(n, KN(diffsq_chunk), &ctx, out + s)
                                : pdt_chunked_sum(n, KN(sumsq_chunk), (void *)(x + begin), out + s);
        if (st != PDT_OK) return st;
        begin = ends[s];
    }
    return PDT_OK;
}

// w, g, prev (ends[nseg−1]); out (3, nseg): Σ g², Σ w², Σ (w − prev)² per segment (a training monitor's
// step in one call); keep: prev ← w
static pdt_status KN(segment_norms)(pdt_int nseg, const pdt_int *ends, const T *w, const T *g, T *prev, int keep,
                                    double *out) {
    pdt_status st = KN(segment_sumsq)(nseg, ends, g, NULL, 0, out);
    if (st == PDT_OK) st = KN(segment_sumsq)(nseg, ends, w, NULL, 0, out + nseg);
    if (st == PDT_OK) st = KN(segment_sumsq)(nseg, ends, w, prev, keep, out + 2 * nseg);
    return st;
}

// x (n); *result = max |x| (0 for n = 0, NaN when x holds a NaN)
static pdt_status KN(clip_maxabs)(pdt_int n, const T *x, double *result) {
    const pdt_int nchunks = (n + PDT_SUM_CHUNK - 1) / PDT_SUM_CHUNK;
    double stack[PDT_SUM_STACK];
    int nan_stack[PDT_SUM_STACK];
    double *part = nchunks <= PDT_SUM_STACK ? stack : malloc((size_t)nchunks * sizeof *part);
    int *nan = nchunks <= PDT_SUM_STACK ? nan_stack : malloc((size_t)nchunks * sizeof *nan);
    if (!part || !nan) {
        if (part != stack) free(part);
        if (nan != nan_stack) free(nan);
        return PDT_ENOMEM;
    }
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int c = 0; c < nchunks; ++c) {
        const pdt_int b = c * PDT_SUM_CHUNK, len = n - b < PDT_SUM_CHUNK ? n - b : PDT_SUM_CHUNK;
        part[c] = KN(maxabs_chunk)(len, x + b, nan + c);
    }
    double mx = 0.0;
    int any_nan = 0;
    for (pdt_int c = 0; c < nchunks; ++c) {
        mx = part[c] > mx ? part[c] : mx;
        any_nan |= nan[c];
    }
    if (part != stack) free(part);
    if (nan != nan_stack) free(nan);
    *result = any_nan ? NAN : mx;
    return PDT_OK;
}

// x (n); x ← min(max(x, −c), c), NaN stays NaN
static pdt_status KN(clip_value)(pdt_int n, T *x, double clip) {
    const V hi = vset1((T)clip), lo = vset1((T)-clip);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        /* constant first: every target's max/min then returns the NaN operand */
        vstore_part(x + i, vmin(hi, vmax(lo, vload_part(x + i, r))), r);
    }
    return PDT_OK;
}
