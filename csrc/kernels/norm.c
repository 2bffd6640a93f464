/*
 * norm.c — batch normalization (Ioffe & Szegedy, ICML 2015) and layer
 * normalization (Ba, Kiros & Hinton, 2016).
 *   BatchNorm, per channel over the batch (and spatial positions):
 *     μ = (1/m)Σx, σ² = (1/m)Σ(x − μ)², x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β;
 *     dx = γ/√(σ² + ε)·(dy − (1/m)Σdy − x̂·(1/m)Σdy·x̂).
 *   LayerNorm, per row over its d units: the same formulas with the roles of
 *   rows and columns exchanged, identical in training and inference.
 * Every reduction ends in double. Reductions across rows use a fixed split
 * into PDT_NORM_CHUNKS chunks (a function of the shape only), each summed in
 * order by one thread and combined in chunk order afterwards, so results are
 * bit-identical for any thread count. Sums add PDT_NORM_FLUSH vectors (along a
 * row) or rows (down an (n, c) array, LayerNorm's dγ, dβ) in T, fused into the
 * data pass, before each block goes into the double sums: a few roundings of T
 * per value, then double.
 * One-pass statistics are shifted (by a value of the data, or the mean) so the
 * variance never cancels catastrophically.
 */
#include <stdlib.h>

#ifndef PDT_NORM_CHUNKS
#define PDT_NORM_CHUNKS 32  /* most row chunks of the cross-row reductions */
#define PDT_NORM_FLUSH 16   /* rows summed in T before a flush into the double partial sums (a multiple of
                               PDT_NORM_GROUP, so groups of rows never straddle a flush) */
#endif

// x (len); Σ (x_j − shift) and Σ (x_j − shift)²: T vectors over blocks of PDT_NORM_FLUSH vectors,
// each block's lanes then added into double; the last len % VN values in double (shift is a T value)
static inline void KN(norm_row_sums)(pdt_int len, const T *restrict x, double shift, double *s1, double *s2) {
    const V vs = vset1((T)shift);
    const pdt_int full = len - len % VN;
    double t1 = 0.0, t2 = 0.0;
    pdt_int j = 0;
    while (j < full) {
        const pdt_int end = full - j > PDT_NORM_FLUSH * VN ? j + PDT_NORM_FLUSH * VN : full;
        V a1 = vzero(), a2 = vzero();
        for (; j < end; j += VN) {
            const V d = vsub(vload(x + j), vs);
            a1 = vadd(a1, d);
            a2 = vfma(d, d, a2);
        }
        t1 += (double)vreduce_add(a1);
        t2 += (double)vreduce_add(a2);
    }
    for (; j < len; ++j) {
        const double d = (double)x[j] - shift;
        t1 += d;
        t2 += d * d;
    }
    *s1 = t1;
    *s2 = t2;
}

// one row of layernorm_backward: dx = rstd·(dy·γ + cx·x̂ + c0), x̂ = (x − μ)·rstd; with ag given, the
// T sums ag += dy·x̂ (dγ) and ag + ds += dy (dβ)
typedef struct {
    const T *x, *dy, *gamma;
    V mu, rstd, cx, c0;
    T *dx, *ag;
    pdt_int ds;
} KN(ln_row);

// lanes j .. j + q − 1 (q ≤ VN) of a row's dx and of its dγ, dβ sums
static inline void KN(ln_dx_lanes)(const KN(ln_row) *w, pdt_int j, pdt_int q) {
    const V dyv = vload_part(w->dy + j, q), xv = vload_part(w->x + j, q);
    const V gv = w->gamma ? vload_part(w->gamma + j, q) : vset1((T)1);
    const V xh = vmul(vsub(xv, w->mu), w->rstd);
    vstore_part(w->dx + j, vmul(w->rstd, vfma(dyv, gv, vfma(w->cx, xh, w->c0))), q);
    if (w->ag) {
        T *a1 = w->ag + j, *a2 = w->ag + w->ds + j;
        vstore_part(a1, vfma(dyv, xh, vload_part(a1, q)), q);
        vstore_part(a2, vadd(dyv, vload_part(a2, q)), q);
    }
}

// x, y (len), gamma (len) or NULL: with g = y (⊙ gamma), Σ g_j and Σ g_j·(x_j − shift), blocked as above.
// With `row` (len values too) the same loop computes its dx, so that reads and writes interleave as in an
// elementwise kernel (layernorm_backward: the dx of one row while the next row's sums are taken).
static inline void KN(norm_row_dots)(pdt_int len, const T *restrict x, const T *restrict y, const T *restrict gamma,
                                     double shift, const KN(ln_row) *row, double *sy, double *syx) {
    const V vs = vset1((T)shift);
    const pdt_int full = len - len % VN;
    double t1 = 0.0, t2 = 0.0;
    pdt_int j = 0;
    while (j < full) {
        const pdt_int end = full - j > PDT_NORM_FLUSH * VN ? j + PDT_NORM_FLUSH * VN : full;
        V a1 = vzero(), a2 = vzero();
        for (; j < end; j += VN) {
            const V g = gamma ? vmul(vload(y + j), vload(gamma + j)) : vload(y + j);
            a1 = vadd(a1, g);
            a2 = vfma(g, vsub(vload(x + j), vs), a2);
            if (row) KN(ln_dx_lanes)(row, j, VN);
        }
        t1 += (double)vreduce_add(a1);
        t2 += (double)vreduce_add(a2);
    }
    if (row && j < len) KN(ln_dx_lanes)(row, j, len - j);
    for (; j < len; ++j) {
        const double g = gamma ? (double)y[j] * (double)gamma[j] : (double)y[j];
        t1 += g;
        t2 += g * ((double)x[j] - shift);
    }
    *sy = t1;
    *syx = t2;
}

#ifndef PDT_NORM_GROUP
#define PDT_NORM_GROUP 4  /* rows whose terms go into the T sums in one load and store of them (divides FLUSH) */
#endif

// x, y (rows r ≤ PDT_NORM_GROUP, pitch c): lanes j .. j + q − 1 (q ≤ VN) of the T sums a1 += Σ g, a2 += Σ g·(x − shift),
// g = y or x − shift, added row after row (the order of one row at a time) in registers
static inline void KN(bn_rows_acc)(pdt_int r, pdt_int c, pdt_int j, pdt_int q, const T *x, const T *y, const T *tshift,
                                   T *a1, T *a2) {
    const V sh = vload_part(tshift + j, q);
    V s1 = vload_part(a1 + j, q), s2 = vload_part(a2 + j, q);
    for (pdt_int t = 0; t < r; ++t) {
        const T *xr = x + t * c + j, *yr = y ? y + t * c + j : NULL;
        const V xc = vsub(vload_part(xr, q), sh);
        const V g = yr ? vload_part(yr, q) : xc;
        s1 = vadd(s1, g);
        s2 = vfma(g, xc, s2);
    }
    vstore_part(a1 + j, s1, q);
    vstore_part(a2 + j, s2, q);
}

// x, y (n, c, s), shift (c): part1/part2 (chunks, c) get per-chunk Σ(x − shift) and Σ(x − shift)²
// (y NULL) or Σy and Σy·(x − shift) (y given). Chunk k covers rows [k·rows, (k+1)·rows).
// (n, c) inputs (s = 1) are summed as T vectors over blocks of PDT_NORM_FLUSH rows (PDT_NORM_GROUP rows per
// load and store of the sums), each block then added into the double sums; longer rows (s > 1) are summed
// in double directly.
static pdt_status KN(bn_partials)(pdt_int n, pdt_int c, pdt_int s, const T *x, const T *y, const double *shift,
                                  pdt_int rows, pdt_int chunks, double *part1, double *part2) {
    const pdt_int cs = c + 16;  /* T-sum stride: the second sum not 4 KiB after the first (no false aliasing) */
    T *scratch = NULL;
    if (s == 1) {
        scratch = calloc((size_t)((2 * chunks + 1) * cs), sizeof(T));  /* T sums start at 0 */
        if (!scratch) return PDT_ENOMEM;
        for (pdt_int ch = 0; ch < c; ++ch) scratch[2 * chunks * cs + ch] = (T)shift[ch];
    }
    PDT_OMP_FOR(n * c * s > PDT_PAR_MIN && chunks > 1)
    for (pdt_int k = 0; k < chunks; ++k) {
        double *restrict p1 = part1 + k * c, *restrict p2 = part2 + k * c;
        for (pdt_int ch = 0; ch < c; ++ch) p1[ch] = p2[ch] = 0.0;
        const pdt_int begin = k * rows, end = (k + 1) * rows < n ? (k + 1) * rows : n;
        if (s == 1) {
            T *restrict a1 = scratch + 2 * k * cs, *restrict a2 = a1 + cs;
            const T *restrict tshift = scratch + 2 * chunks * cs;
            for (pdt_int i = begin; i < end;) {
                const pdt_int r = end - i < PDT_NORM_GROUP ? end - i : PDT_NORM_GROUP;
                const T *xr = x + i * c, *yr = y ? y + i * c : NULL;
                pdt_int j = 0;
                if (r == PDT_NORM_GROUP) /* the constant row count: its loop unrolled */
                    for (; j + VN <= c; j += VN) KN(bn_rows_acc)(PDT_NORM_GROUP, c, j, VN, xr, yr, tshift, a1, a2);
                for (; j < c; j += VN) KN(bn_rows_acc)(r, c, j, c - j < VN ? c - j : VN, xr, yr, tshift, a1, a2);
                i += r;
                if ((i - begin) % PDT_NORM_FLUSH == 0 || i == end)
                    for (pdt_int ch = 0; ch < c; ++ch) {
                        p1[ch] += (double)a1[ch];
                        p2[ch] += (double)a2[ch];
                        a1[ch] = a2[ch] = (T)0;
                    }
            }
        } else {
            for (pdt_int i = begin; i < end; ++i) {
                const T *xr = x + i * c * s;
                for (pdt_int ch = 0; ch < c; ++ch) {
                    double a, b;
                    if (y == NULL) KN(norm_row_sums)(s, xr + ch * s, shift[ch], &a, &b);
                    else KN(norm_row_dots)(s, xr + ch * s, y + (i * c + ch) * s, NULL, shift[ch], NULL, &a, &b);
                    p1[ch] += a;
                    p2[ch] += b;
                }
            }
        }
    }
    free(scratch);
    return PDT_OK;
}

// x, dy, y (n, c, s), sub/a/b/e (c): y = (x − sub)·a + b per channel, or with dy given
// y = dy·a + (x − sub)·b + e   (the backward's form)
static void KN(bn_apply)(pdt_int n, pdt_int c, pdt_int s, const T *x, const T *dy, const T *sub, const T *a,
                         const T *b, const T *e, T *y) {
    PDT_OMP_FOR(n * c * s > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; ++i) {
        const T *xr = x + i * c * s;
        const T *dr = dy ? dy + i * c * s : NULL;
        T *yr = y + i * c * s;
        if (s == 1) {
            for (pdt_int j = 0; j < c; j += VN) {
                const pdt_int r = c - j < VN ? c - j : VN;
                const V xc = vsub(vload_part(xr + j, r), vload_part(sub + j, r));
                vstore_part(yr + j,
                            dr ? vfma(vload_part(dr + j, r), vload_part(a + j, r),
                                      vfma(xc, vload_part(b + j, r), vload_part(e + j, r)))
                               : vfma(xc, vload_part(a + j, r), vload_part(b + j, r)),
                            r);
            }
        } else {
            for (pdt_int ch = 0; ch < c; ++ch) {
                const V vsub_ = vset1(sub[ch]), va = vset1(a[ch]), vb = vset1(b[ch]);
                const V ve = vset1(dr ? e[ch] : (T)0);
                const T *xs = xr + ch * s, *ds = dr ? dr + ch * s : NULL;
                T *ys = yr + ch * s;
                for (pdt_int j = 0; j < s; j += VN) {
                    const pdt_int r = s - j < VN ? s - j : VN;
                    const V xc = vsub(vload_part(xs + j, r), vsub_);
                    vstore_part(ys + j, ds ? vfma(vload_part(ds + j, r), va, vfma(xc, vb, ve)) : vfma(xc, va, vb), r);
                }
            }
        }
    }
}

#ifndef PDT_NORM_SPLIT
#define PDT_NORM_SPLIT
/* rows per chunk of the fixed split of n rows: at most PDT_NORM_CHUNKS chunks, none shorter than
 * 4·PDT_NORM_FLUSH rows (short chunks would cost more in partial sums than they save) */
static inline pdt_int pdt_norm_rows(pdt_int n) {
    pdt_int rows = (n + PDT_NORM_CHUNKS - 1) / PDT_NORM_CHUNKS;
    return rows > 4 * PDT_NORM_FLUSH ? rows : 4 * PDT_NORM_FLUSH;
}
#endif

// part1/part2 (chunks, c) -> s1/s2 (c): chunk sums added in chunk order (k outer: unit stride)
static void KN(bn_combine)(pdt_int c, pdt_int chunks, const double *part1, const double *part2, double *s1,
                           double *s2) {
    for (pdt_int ch = 0; ch < c; ++ch) s1[ch] = s2[ch] = 0.0;
    for (pdt_int k = 0; k < chunks; ++k)
        for (pdt_int ch = 0; ch < c; ++ch) {
            s1[ch] += part1[k * c + ch];
            s2[ch] += part2[k * c + ch];
        }
}

// The shift of one-pass statistics: the first value, or 0 when it is ±inf or NaN (x − inf would make every
// term NaN, and the mean of values holding +inf must stay +inf)
static inline double KN(norm_shift)(T first) { return isfinite(first) ? (double)first : 0.0; }

// x (n, c, s), mean/var (c)
// μ_c = (1/m)Σx, σ²_c = (1/m)Σ(x − μ_c)², m = n·s; one pass, shifted by the channel's first value
static pdt_status KN(batchnorm_stats)(pdt_int n, pdt_int c, pdt_int s, const T *x, T *mean, T *var) {
    if (n < 1 || c < 1 || s < 1) return PDT_EINVAL; /* no value to average (the binding rejects this) */
    const pdt_int rows = pdt_norm_rows(n), chunks = (n + rows - 1) / rows;
    double *buf = malloc(sizeof(double) * (size_t)(c * (2 * chunks + 3)));  /* every chunk zeroes its sums */
    if (!buf) return PDT_ENOMEM;
    double *shift = buf, *s1 = buf + c, *s2 = buf + 2 * c, *p1 = buf + 3 * c, *p2 = p1 + chunks * c;
    for (pdt_int ch = 0; ch < c; ++ch) shift[ch] = KN(norm_shift)(x[ch * s]);
    if (KN(bn_partials)(n, c, s, x, NULL, shift, rows, chunks, p1, p2) != PDT_OK) {
        free(buf);
        return PDT_ENOMEM;
    }
    KN(bn_combine)(c, chunks, p1, p2, s1, s2);
    const double m = (double)n * (double)s;
    for (pdt_int ch = 0; ch < c; ++ch) {
        double d = s1[ch] / m, v = s2[ch] / m - d * d;
        mean[ch] = (T)(shift[ch] + d);
        var[ch] = (T)(v < 0.0 ? 0.0 : v);  /* rounding below 0 clamped; a NaN (an inf in x) stays NaN */
    }
    free(buf);
    return PDT_OK;
}

// x, y (n, c, s), mean/var/gamma/beta (c); gamma, beta may be NULL
// y = γ(x − μ)/√(σ² + ε) + β
static pdt_status KN(batchnorm_normalize)(pdt_int n, pdt_int c, pdt_int s, const T *x, const T *mean, const T *var,
                                          const T *gamma, const T *beta, double eps, T *y) {
    T *buf = malloc(sizeof(T) * (size_t)(2 * c));
    if (!buf) return PDT_ENOMEM;
    T *a = buf, *b = buf + c;
    for (pdt_int ch = 0; ch < c; ++ch) {
        double rstd = 1.0 / sqrt((double)var[ch] + eps);
        a[ch] = (T)(gamma ? (double)gamma[ch] * rstd : rstd);
        b[ch] = beta ? beta[ch] : (T)0;
    }
    KN(bn_apply)(n, c, s, x, NULL, mean, a, b, NULL, y);
    free(buf);
    return PDT_OK;
}

// x, dy, dx (n, c, s), mean/var/gamma/dgamma/dbeta (c); gamma/dgamma/dbeta may be NULL
// dγ += Σ dy·x̂, dβ += Σ dy; batch_stats: dx = γ·rstd·(dy − Σdy/m − x̂·Σdy·x̂/m), else dx = γ·rstd·dy
static pdt_status KN(batchnorm_backward)(pdt_int n, pdt_int c, pdt_int s, const T *x, const T *dy, const T *mean,
                                         const T *var, const T *gamma, double eps, int batch_stats, T *dx,
                                         T *dgamma, T *dbeta) {
    if (n < 1 || c < 1 || s < 1) return PDT_OK; /* an empty batch: no gradient */
    const pdt_int rows = pdt_norm_rows(n), chunks = (n + rows - 1) / rows;
    double *buf = malloc(sizeof(double) * (size_t)(c * (2 * chunks + 3)));  /* every chunk zeroes its sums */
    T *coef = malloc(sizeof(T) * (size_t)(3 * c));
    if (!buf || !coef) {
        free(buf);
        free(coef);
        return PDT_ENOMEM;
    }
    double *shift = buf, *s1 = buf + c, *s2 = buf + 2 * c, *p1 = buf + 3 * c, *p2 = p1 + chunks * c;
    for (pdt_int ch = 0; ch < c; ++ch) shift[ch] = (double)mean[ch];
    if (KN(bn_partials)(n, c, s, x, dy, shift, rows, chunks, p1, p2) != PDT_OK) {
        free(buf);
        free(coef);
        return PDT_ENOMEM;
    }
    KN(bn_combine)(c, chunks, p1, p2, s1, s2);
    const double m = (double)n * (double)s;
    T *a = coef, *b = coef + c, *e = coef + 2 * c;
    for (pdt_int ch = 0; ch < c; ++ch) {
        const double sdy = s1[ch], sdyx = s2[ch];
        double rstd = 1.0 / sqrt((double)var[ch] + eps);
        double sdyxhat = sdyx * rstd;
        if (dgamma) dgamma[ch] = (T)((double)dgamma[ch] + sdyxhat);
        if (dbeta) dbeta[ch] = (T)((double)dbeta[ch] + sdy);
        double ga = (gamma ? (double)gamma[ch] : 1.0) * rstd;
        a[ch] = (T)ga;
        b[ch] = batch_stats ? (T)(-ga * rstd * sdyxhat / m) : (T)0;
        e[ch] = batch_stats ? (T)(-ga * sdy / m) : (T)0;
    }
    if (batch_stats)
        KN(bn_apply)(n, c, s, x, dy, mean, a, b, e, dx);
    else  // dx = (dy − 0)·a + 0 (b, e are 0): x stays out, where an inf would make 0·inf = NaN
        KN(bn_apply)(n, c, s, dy, NULL, e, a, b, NULL, dx);
    free(buf);
    free(coef);
    return PDT_OK;
}

// x, y (m, d), gamma/beta (d) or NULL, mean/rstd (m)
// μ = (1/d)Σx, rstd = 1/√((1/d)Σ(x − μ)² + ε), y = γ(x − μ)·rstd + β
static pdt_status KN(layernorm_forward)(pdt_int m, pdt_int d, const T *x, const T *gamma, const T *beta, double eps,
                                        T *y, T *mean, T *rstd) {
    PDT_OMP_FOR(m * d > PDT_PAR_MIN / 4)
    for (pdt_int i = 0; i < m; ++i) {
        const T *xr = x + i * d;
        T *yr = y + i * d;
        /* one pass of sums shifted by the row's first value: no cancellation for any mean */
        double s1, s2;
        const double shift = KN(norm_shift)(xr[0]);
        KN(norm_row_sums)(d, xr, shift, &s1, &s2);
        double mu_shift = s1 / (double)d, v = s2 / (double)d - mu_shift * mu_shift;
        double mu = shift + mu_shift;
        double r = 1.0 / sqrt((v < 0.0 ? 0.0 : v) + eps);  /* as batchnorm_stats: a NaN stays NaN */
        mean[i] = (T)mu;
        rstd[i] = (T)r;
        const V vmu = vset1((T)mu), vr = vset1((T)r);
        for (pdt_int j = 0; j < d; j += VN) {
            const pdt_int q = d - j < VN ? d - j : VN;
            const V xh = vmul(vsub(vload_part(xr + j, q), vmu), vr);
            vstore_part(yr + j, gamma ? vfma(xh, vload_part(gamma + j, q), vload_part(beta + j, q)) : xh, q);
        }
    }
    return PDT_OK;
}

// x, dy, dx (m, d), mean/rstd (m), gamma/dgamma/dbeta (d) or NULL
// g = γ·dy, x̂ = (x − μ)·rstd: dx = rstd·(g − Σg/d − x̂·Σg·x̂/d); dγ += Σ_rows dy·x̂, dβ += Σ_rows dy
// norm_row_dots computes a row's dx in its loop over the next row's sums Σg, Σg·(x − μ), so reads from
// memory and writes interleave as in an elementwise kernel.
// dγ, dβ: rows are summed in T in blocks of PDT_NORM_FLUSH (fused into the dx loop), each block
// added into double partial sums per fixed chunk, the chunks combined in order.
static pdt_status KN(layernorm_backward)(pdt_int m, pdt_int d, const T *x, const T *dy, const T *mean,
                                         const T *rstd, const T *gamma, T *dx, T *dgamma, T *dbeta) {
    const pdt_int rows = pdt_norm_rows(m), chunks = (m + rows - 1) / rows;
    const pdt_int ds = d + 16;  /* T-sum stride: dβ's row not 4 KiB after dγ's (no false store-load aliasing) */
    double *part = NULL;
    T *tacc = NULL;
    if (dgamma) {
        part = calloc((size_t)(2 * chunks * d), sizeof(double));
        tacc = calloc((size_t)(2 * chunks * ds), sizeof(T));
        if (!part || !tacc) {
            free(part);
            free(tacc);
            return PDT_ENOMEM;
        }
    }
    PDT_OMP_FOR(m * d > PDT_PAR_MIN / 4 && chunks > 1)
    for (pdt_int k = 0; k < chunks; ++k) {
        double *restrict pg = part ? part + 2 * k * d : NULL;
        T *restrict ag = tacc ? tacc + 2 * k * ds : NULL;
        const pdt_int begin = k * rows, end = (k + 1) * rows < m ? (k + 1) * rows : m;
        double sg, sgx;  /* the current row's Σg, Σg·(x − μ) */
        KN(norm_row_dots)(d, x + begin * d, dy + begin * d, gamma, (double)mean[begin], NULL, &sg, &sgx);
        for (pdt_int i = begin; i < end; ++i) {
            const double mu = (double)mean[i], r = (double)rstd[i];
            const KN(ln_row) row = {.x = x + i * d, .dy = dy + i * d, .gamma = gamma, .mu = vset1((T)mu),
                                    .rstd = vset1((T)r), .cx = vset1((T)(-r * sgx / (double)d)),
                                    .c0 = vset1((T)(-sg / (double)d)), .dx = dx + i * d, .ag = ag, .ds = ds};
            if (i + 1 < end)  /* this row's dx, in the loop that takes the next row's sums */
                KN(norm_row_dots)(d, row.x + d, row.dy + d, gamma, (double)mean[i + 1], &row, &sg, &sgx);
            else
                for (pdt_int j = 0; j < d; j += VN) KN(ln_dx_lanes)(&row, j, d - j < VN ? d - j : VN);
            if (ag && ((i - begin + 1) % PDT_NORM_FLUSH == 0 || i + 1 == end))
                for (pdt_int j = 0; j < d; ++j) {
                    pg[j] += (double)ag[j];
                    pg[d + j] += (double)ag[ds + j];
                    ag[j] = ag[ds + j] = (T)0;
                }
        }
    }
    if (part) {
        for (pdt_int j = 0; j < d; ++j) {
            double sg = 0.0, sb = 0.0;
            for (pdt_int k = 0; k < chunks; ++k) {
                sg += part[2 * k * d + j];
                sb += part[2 * k * d + d + j];
            }
            dgamma[j] = (T)((double)dgamma[j] + sg);
            if (dbeta) dbeta[j] = (T)((double)dbeta[j] + sb);
        }
        free(part);
        free(tacc);
    }
    return PDT_OK;
}
