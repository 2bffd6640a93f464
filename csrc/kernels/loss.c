/*
 * loss.c — softmax cross-entropy fused on logits, stable for any finite logits:
 *   p = softmax(z) = exp(z − max z) / Σ exp(z − max z),
 *   Lᵢ = −Σ_c q_c·log p_c = −Σ_c q_c·(z_c − lse(z)),   ∂L/∂z = p − q.
 * q is the target distribution: from an integer label with smoothing
 * (on_value at the label, off_value elsewhere: one-hot when 1 and 0) or given
 * as a row of probabilities.
 * Per row, with x = z − max z (rounded to T, the exps' argument) and s = Σ exp(x):
 * one pass finds max z in vectors; a second computes the exps in vectors, stores
 * them and sums them (and Σ x when smoothing needs it) while they are still in
 * registers; a third scales the row by 1/s. lse(z) = max z + log s, and the
 * target sums need no pass over (z_c − lse):
 *   Σ_c q_c (z_c − lse) = Σ_c q_c x_c − (Σ_c q_c)·log s,
 * all of whose terms have one sign for targets ≥ 0 (x ≤ 0, log s ≥ 0): nothing
 * cancels. Row sums are T vectors over a few vectors, whose lanes are then
 * added into a double sum: at most 5 + log2(VN) roundings of T per value (9 for
 * float on AVX-512), then double. The max is one of the logits, exact.
 */

/* Rows a softmax pass works on at a time: first the exps of every row of the block are
 * stored, then each row is scaled. Scaling a row right after its exps were stored reads
 * values still in flight from a (masked) vector store, which store forwarding cannot
 * serve, and that stall dominates short rows (bench/NOTES.md, "Softmax rows in blocks"). */
#ifndef PDT_SOFTMAX_BLOCK
#define PDT_SOFTMAX_BLOCK 8
#endif
#ifndef PDT_SOFTMAX_FLUSH
#define PDT_SOFTMAX_FLUSH 16  /* exps summed in T before a flush into the double row sums (a multiple of 4) */
#endif

// a mask of lanes 0 .. r − 1 (0 < r ≤ VN): the lanes vload_tail(p, r) loads from p
static inline VMASK KN(lanes_below)(pdt_int r) {
    static const T ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    _Static_assert(VN <= 16, "lanes_below: at most 16 lanes");
    return vgt(vload_tail(ones, r), vzero());
}

// z (k) -> max z: VN-lane maxima over the full vectors (four running ones, so the compares do not wait on
// each other), then the last k % VN values one by one (vload_tail's zero padding never enters). The max of
// finite numbers is exact in any order; a NaN anywhere makes the row NaN whatever the max (its exp is NaN).
static inline T KN(row_max)(pdt_int k, const T *restrict z) {
    const pdt_int full = k - k % VN;
    T m = (T)-INFINITY;
    if (full > 0) {
        V m0 = vload(z), m1 = m0, m2 = m0, m3 = m0;
        pdt_int j = VN;
        for (; j + 4 * VN <= full; j += 4 * VN) {
            m0 = vmax(m0, vload(z + j));
            m1 = vmax(m1, vload(z + j + VN));
            m2 = vmax(m2, vload(z + j + 2 * VN));
            m3 = vmax(m3, vload(z + j + 3 * VN));
        }
        for (; j < full; j += VN) m0 = vmax(m0, vload(z + j));
        m = vreduce_max(vmax(vmax(m0, m1), vmax(m2, m3)));
    }
    for (pdt_int j = full; j < k; ++j) m = z[j] > m ? z[j] : m;
    return m;
}

// one vector of the exp pass: x = z[0..VN) − mx, p[0..VN) ← exp(x); returns exp(x)
static inline V KN(softmax_exp_vec)(const T *restrict z, T *restrict p, V vmx, V *x) {
    *x = vsub(vload(z), vmx);
    const V e = KN(vexp)(*x);
    vstore(p, e);
    return e;
}

// z (k), mx = max z -> p (k) = exp(x), x = z − mx, not yet normalised; returns Σ exp(x) and, if sx is not NULL,
// *sx = Σ x. The exps run in vectors (vmath.h's vexp, ≤ 1 ulp). Sums in T over blocks of PDT_SOFTMAX_FLUSH
// vectors: groups of 4 added pairwise, the group sums (and the < 4 vectors left at the end of a row, apart)
// in order, the block's lanes then added into double; at most 5 + log2(VN) roundings of T per value.
// The padded lanes of the last vector (exp(0 − mx), not 0) are kept out of the sums.
static inline double KN(softmax_exp_row)(pdt_int k, const T *restrict z, T mx, T *restrict p, double *sx) {
    const V vmx = vset1(mx);
    const pdt_int full = k - k % VN;
    double se = 0.0, s1 = 0.0;
    pdt_int j = 0;
    while (j < full) {
        const pdt_int end = full - j > PDT_SOFTMAX_FLUSH * VN ? j + PDT_SOFTMAX_FLUSH * VN : full;
        V ae = vzero(), ax = vzero(), re = vzero(), rx = vzero();
        for (; j + 4 * VN <= end; j += 4 * VN) {
            V x0, x1, x2, x3;
            const V e0 = KN(softmax_exp_vec)(z + j, p + j, vmx, &x0);
            const V e1 = KN(softmax_exp_vec)(z + j + VN, p + j + VN, vmx, &x1);
            const V e2 = KN(softmax_exp_vec)(z + j + 2 * VN, p + j + 2 * VN, vmx, &x2);
            const V e3 = KN(softmax_exp_vec)(z + j + 3 * VN, p + j + 3 * VN, vmx, &x3);
            ae = vadd(ae, vadd(vadd(e0, e1), vadd(e2, e3)));
            if (sx) ax = vadd(ax, vadd(vadd(x0, x1), vadd(x2, x3)));
        }
        for (; j < end; j += VN) {
            V x;
            re = vadd(re, KN(softmax_exp_vec)(z + j, p + j, vmx, &x));
            if (sx) rx = vadd(rx, x);
        }
        se += (double)vreduce_add(vadd(ae, re));
        if (sx) s1 += (double)vreduce_add(vadd(ax, rx));
    }
    if (j < k) {
        const pdt_int r = k - j;
        const VMASK in = KN(lanes_below)(r);
        const V x = vsub(vload_tail(z + j, r), vmx), e = KN(vexp)(x);
        vstore_tail(p + j, e, r);
        se += (double)vreduce_add(vselect(in, e, vzero()));
        if (sx) s1 += (double)vreduce_add(vselect(in, x, vzero()));
    }
    if (sx) *sx = s1;
    return se;
}

// rows i0..i1 of logits (n, k) → their maxima mx, exps in probs and exp sums s (and Σ x in sx, when given), each
// indexed from i0: the exp pass of a block of rows, all stored before any row is scaled (see PDT_SOFTMAX_BLOCK)
static inline void KN(softmax_exp_rows)(pdt_int i0, pdt_int i1, pdt_int k, const T *restrict logits,
                                        T *restrict probs, T *mx, double *s, double *sx) {
    for (pdt_int i = i0; i < i1; ++i) {
        const T *z = logits + i * k;
        mx[i - i0] = KN(row_max)(k, z);
        s[i - i0] = KN(softmax_exp_row)(k, z, mx[i - i0], probs + i * k, sx ? &sx[i - i0] : NULL);
    }
}

// p (k) ← p·(1/s)
static inline void KN(softmax_scale_row)(pdt_int k, T *p, double s) {
    const V inv = vset1((T)(1.0 / s));
    for (pdt_int j = 0; j < k; j += VN) {
        const pdt_int r = k - j < VN ? k - j : VN;
        vstore_part(p + j, vmul(vload_part(p + j, r), inv), r);
    }
}

// t, x: t·x, or t·0 where t is 0 (so a −inf logit may carry no target mass without a 0·(−inf) NaN;
// a NaN t stays NaN)
static inline V KN(soft_term)(V t, V x) {
    return vselect(vgt(vabs(t), vzero()), vmul(t, x), vmul(t, vzero()));
}

// z, t (k), mx = max z: *stx = Σ t·x, x = z − mx (rounded to T, as the exps' argument), leaving out the terms
// whose t is 0 (soft_term), and *st = Σ t: T vectors over blocks of 4 vectors (the product, then 3 + log2(VN)
// additions in T per value), the block's lanes then added into double; the last k % VN values in one vector
// whose padded lanes (t = 0) add 0
static inline void KN(soft_row_dots)(pdt_int k, const T *restrict z, const T *restrict t, T mx, double *stx,
                                     double *st) {
    const V vmx = vset1(mx);
    const pdt_int full = k - k % VN;
    double s1 = 0.0, s2 = 0.0;
    pdt_int j = 0;
    while (j < full) {
        const pdt_int end = full - j > 4 * VN ? j + 4 * VN : full;
        V a1 = vzero(), a2 = vzero();
        for (; j < end; j += VN) {
            const V tv = vload(t + j);
            a1 = vadd(a1, KN(soft_term)(tv, vsub(vload(z + j), vmx)));
            a2 = vadd(a2, tv);
        }
        s1 += (double)vreduce_add(a1);
        s2 += (double)vreduce_add(a2);
    }
    if (j < k) {
        const V tv = vload_tail(t + j, k - j);
        s1 += (double)vreduce_add(KN(soft_term)(tv, vsub(vload_tail(z + j, k - j), vmx)));
        s2 += (double)vreduce_add(tv);
    }
    *stx = s1;
    *st = s2;
}

// logits, probs (n, k), labels (n) in [0, k), losses (n)
// Lᵢ = −Σ_c q_c (z_ic − lse(z_i)),  q_c = on_value if c = labelᵢ else off_value
//    = −off_value·(Σ_c x_ic − k·log sᵢ) − (on_value − off_value)·(x_i,label − log sᵢ)
static pdt_status KN(cross_entropy_forward)(pdt_int n, pdt_int k, const T *logits, const int64_t *labels,
                                            double on_value, double off_value, T *probs, T *losses) {
    const pdt_int blocks = (n + PDT_SOFTMAX_BLOCK - 1) / PDT_SOFTMAX_BLOCK;
    PDT_OMP_FOR(n * k > PDT_PAR_MIN)
    for (pdt_int b = 0; b < blocks; ++b) {
        const pdt_int i0 = b * PDT_SOFTMAX_BLOCK, i1 = n - i0 < PDT_SOFTMAX_BLOCK ? n : i0 + PDT_SOFTMAX_BLOCK;
        T mx[PDT_SOFTMAX_BLOCK];
        double s[PDT_SOFTMAX_BLOCK], sx[PDT_SOFTMAX_BLOCK];
        KN(softmax_exp_rows)(i0, i1, k, logits, probs, mx, s, off_value != 0.0 ? sx : NULL);
        for (pdt_int i = i0; i < i1; ++i) {
            KN(softmax_scale_row)(k, probs + i * k, s[i - i0]);
            const double ls = log(s[i - i0]);
            double loss = 0.0;
            if (off_value != 0.0) loss -= off_value * (sx[i - i0] - (double)k * ls);
            loss -= (on_value - off_value) * (((double)logits[i * k + labels[i]] - (double)mx[i - i0]) - ls);
            losses[i] = (T)loss;
        }
    }
    return PDT_OK;
}

// logits, targets, probs (n, k), losses (n)
// Lᵢ = −Σ_c t_ic (z_ic − lse(z_i)) = (Σ_c t_ic)·log sᵢ − Σ_c t_ic x_ic, leaving out the terms with t_ic = 0
static pdt_status KN(cross_entropy_soft_forward)(pdt_int n, pdt_int k, const T *logits, const T *targets,
                                                 T *probs, T *losses) {
    const pdt_int blocks = (n + PDT_SOFTMAX_BLOCK - 1) / PDT_SOFTMAX_BLOCK;
    PDT_OMP_FOR(n * k > PDT_PAR_MIN)
    for (pdt_int b = 0; b < blocks; ++b) {
        const pdt_int i0 = b * PDT_SOFTMAX_BLOCK, i1 = n - i0 < PDT_SOFTMAX_BLOCK ? n : i0 + PDT_SOFTMAX_BLOCK;
        T mx[PDT_SOFTMAX_BLOCK];
        double s[PDT_SOFTMAX_BLOCK];
        KN(softmax_exp_rows)(i0, i1, k, logits, probs, mx, s, NULL);
        for (pdt_int i = i0; i < i1; ++i) {
            KN(softmax_scale_row)(k, probs + i * k, s[i - i0]);
            double stx, st;
            KN(soft_row_dots)(k, logits + i * k, targets + i * k, mx[i - i0], &stx, &st);
            double loss = 0.0 - stx;
            if (st != 0.0) loss += st * log(s[i - i0]);  // a row of zero targets has loss 0, whatever its logits
            losses[i] = (T)loss;
        }
    }
    return PDT_OK;
}

// probs, dlogits (n, k), labels (n)
// ∂L/∂z_ic = scale·(p_ic − q_c)   (scale = 1/n for the mean)
static pdt_status KN(cross_entropy_backward)(pdt_int n, pdt_int k, const T *probs, const int64_t *labels,
                                             double on_value, double off_value, double scale, T *dlogits) {
    PDT_OMP_FOR(n * k > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; ++i) {
        const T *p = probs + i * k;
        T *d = dlogits + i * k;
        for (pdt_int j = 0; j < k; ++j) d[j] = (T)(scale * ((double)p[j] - off_value));
        d[labels[i]] = (T)(scale * ((double)p[labels[i]] - on_value));
    }
    return PDT_OK;
}

// probs, targets, dlogits (n, k)
// ∂L/∂z_ic = scale·(p_ic − t_ic)
static pdt_status KN(cross_entropy_soft_backward)(pdt_int n, pdt_int k, const T *probs, const T *targets,
                                                  double scale, T *dlogits) {
    const pdt_int total = n * k;
    const V vs = vset1((T)scale);
    PDT_OMP_FOR(total > PDT_PAR_MIN)
    for (pdt_int i = 0; i < total; i += VN) {
        const pdt_int r = total - i < VN ? total - i : VN;
        vstore_part(dlogits + i, vmul(vs, vsub(vload_part(probs + i, r), vload_part(targets + i, r))), r);
    }
    return PDT_OK;
}

/* Binary cross-entropy on logits and the mean squared error, per element
 * (the caller reduces, in double): sigmoid/log through vmath.h. */

// logits, targets, losses (n)
// Lᵢ = max(zᵢ, 0) − zᵢ·yᵢ + log(1 + e^(−|zᵢ|)) = −[yᵢ log σ(zᵢ) + (1 − yᵢ) log(1 − σ(zᵢ))], stable for any z
static pdt_status KN(bce_with_logits_forward)(pdt_int n, const T *logits, const T *targets, T *losses) {
    const V zero = vzero();
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V z = vload_part(logits + i, r), y = vload_part(targets + i, r);
        vstore_part(losses + i, vadd(vfnma(z, y, vmax(z, zero)), KN(vm_log1p_exp_neg_abs)(z)), r);
    }
    return PDT_OK;
}

// logits, targets, dlogits (n)
// ∂L/∂zᵢ = scale·(σ(zᵢ) − yᵢ)   (scale = 1/n for the mean)
static pdt_status KN(bce_with_logits_backward)(pdt_int n, const T *logits, const T *targets, double scale,
                                               T *dlogits) {
    const V vs = vset1((T)scale);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        vstore_part(dlogits + i, vmul(vs, vsub(KN(vsigmoid)(vload_part(logits + i, r)), vload_part(targets + i, r))), r);
    }
    return PDT_OK;
}

// input, target, losses (n)
// Lᵢ = (xᵢ − tᵢ)²
static pdt_status KN(mse_forward)(pdt_int n, const T *input, const T *target, T *losses) {
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V d = vsub(vload_part(input + i, r), vload_part(target + i, r));
        vstore_part(losses + i, vmul(d, d), r);
    }
    return PDT_OK;
}

// input, target, dinput (n)
// ∂L/∂xᵢ = scale·2(xᵢ − tᵢ)   (scale = 1/n for the mean)
static pdt_status KN(mse_backward)(pdt_int n, const T *input, const T *target, double scale, T *dinput) {
    /* the same scaled difference as the soft-target cross-entropy's, over one row of n */
    return KN(cross_entropy_soft_backward)(1, n, input, target, 2.0 * scale, dinput);
}
