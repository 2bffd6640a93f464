/*
 * loss.c — softmax cross-entropy fused on logits, stable for any finite logits:
 *   p = softmax(z) = exp(z − max z) / Σ exp(z − max z),
 *   Lᵢ = −Σ_c q_c·log p_c = −Σ_c q_c·(z_c − lse(z)),   ∂L/∂z = p − q.
 * q is the target distribution: from an integer label with smoothing
 * (on_value at the label, off_value elsewhere: one-hot when 1 and 0) or given
 * as a row of probabilities. Row sums are accumulated in double.
 */

/* Rows a softmax pass works on at a time: first the exps of every row of the block are
 * stored, then each row is summed and scaled. Summing a row right after its exps were
 * stored reads values still in flight from a (masked) vector store, which store
 * forwarding cannot serve: that stall was half the time of a 10-class row. */
#ifndef PDT_SOFTMAX_BLOCK
#define PDT_SOFTMAX_BLOCK 8
#endif

// z (k) -> p (k) = exp(z − max z), not yet normalised; returns max z
// the exps run in vectors (vmath.h's vexp, ≤ 1 ulp); the max stays in double
static inline double KN(softmax_exp_row)(pdt_int k, const T *z, T *p) {
    /* four running maxima break the chain of dependent compares; the max of finite numbers is
     * exact in any order (a NaN anywhere in the row makes the whole row NaN either way) */
    T m0 = z[0], m1 = z[0], m2 = z[0], m3 = z[0];
    pdt_int j = 1;
    for (; j + 4 <= k; j += 4) {
        m0 = z[j] > m0 ? z[j] : m0;
        m1 = z[j + 1] > m1 ? z[j + 1] : m1;
        m2 = z[j + 2] > m2 ? z[j + 2] : m2;
        m3 = z[j + 3] > m3 ? z[j + 3] : m3;
    }
    for (; j < k; ++j) m0 = z[j] > m0 ? z[j] : m0;
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    const double mx = (double)(m2 > m0 ? m2 : m0);
    const V vmx = vset1((T)mx);
    for (pdt_int j = 0; j < k; j += VN) {
        const pdt_int r = k - j < VN ? k - j : VN;
        vstore_tail(p + j, KN(vexp)(vsub(vload_tail(z + j, r), vmx)), r);
    }
    return mx;
}

// p (k) ← p / Σp; returns log Σp (so lse(z) = max z + log Σp); the sum stays in double
static inline double KN(softmax_scale_row)(pdt_int k, T *p) {
    double s = 0.0;
    for (pdt_int j = 0; j < k; ++j) s += (double)p[j];
    const V inv = vset1((T)(1.0 / s));
    for (pdt_int j = 0; j < k; j += VN) {
        const pdt_int r = k - j < VN ? k - j : VN;
        vstore_tail(p + j, vmul(vload_tail(p + j, r), inv), r);
    }
    return log(s);
}

// logits, probs (n, k), labels (n) in [0, k), losses (n)
// Lᵢ = −Σ_c q_c (z_ic − lse(z_i)),  q_c = on_value if c = labelᵢ else off_value
static pdt_status KN(cross_entropy_forward)(pdt_int n, pdt_int k, const T *logits, const int64_t *labels,
                                            double on_value, double off_value, T *probs, T *losses) {
    const pdt_int blocks = (n + PDT_SOFTMAX_BLOCK - 1) / PDT_SOFTMAX_BLOCK;
    PDT_OMP_FOR(n * k > PDT_PAR_MIN)
    for (pdt_int b = 0; b < blocks; ++b) {
        const pdt_int i0 = b * PDT_SOFTMAX_BLOCK, i1 = n - i0 < PDT_SOFTMAX_BLOCK ? n : i0 + PDT_SOFTMAX_BLOCK;
        double mx[PDT_SOFTMAX_BLOCK];
        for (pdt_int i = i0; i < i1; ++i) mx[i - i0] = KN(softmax_exp_row)(k, logits + i * k, probs + i * k);
        for (pdt_int i = i0; i < i1; ++i) {
            const T *z = logits + i * k;
            double lse = mx[i - i0] + KN(softmax_scale_row)(k, probs + i * k);
            double loss = 0.0;
            if (off_value != 0.0)
                for (pdt_int j = 0; j < k; ++j) loss -= off_value * ((double)z[j] - lse);
            loss -= (on_value - off_value) * ((double)z[labels[i]] - lse);
            losses[i] = (T)loss;
        }
    }
    return PDT_OK;
}

// logits, targets, probs (n, k), losses (n)
// Lᵢ = −Σ_c t_ic (z_ic − lse(z_i))
static pdt_status KN(cross_entropy_soft_forward)(pdt_int n, pdt_int k, const T *logits, const T *targets,
                                                 T *probs, T *losses) {
    const pdt_int blocks = (n + PDT_SOFTMAX_BLOCK - 1) / PDT_SOFTMAX_BLOCK;
    PDT_OMP_FOR(n * k > PDT_PAR_MIN)
    for (pdt_int b = 0; b < blocks; ++b) {
        const pdt_int i0 = b * PDT_SOFTMAX_BLOCK, i1 = n - i0 < PDT_SOFTMAX_BLOCK ? n : i0 + PDT_SOFTMAX_BLOCK;
        double mx[PDT_SOFTMAX_BLOCK];
        for (pdt_int i = i0; i < i1; ++i) mx[i - i0] = KN(softmax_exp_row)(k, logits + i * k, probs + i * k);
        for (pdt_int i = i0; i < i1; ++i) {
            const T *z = logits + i * k, *t = targets + i * k;
            double lse = mx[i - i0] + KN(softmax_scale_row)(k, probs + i * k);
            double loss = 0.0;
            for (pdt_int j = 0; j < k; ++j)
                if (t[j] != 0) loss -= (double)t[j] * ((double)z[j] - lse);
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
        pdt_int r = total - i < VN ? total - i : VN;
        vstore_tail(dlogits + i, vmul(vs, vsub(vload_tail(probs + i, r), vload_tail(targets + i, r))), r);
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
        pdt_int r = n - i < VN ? n - i : VN;
        V z = vload_tail(logits + i, r), y = vload_tail(targets + i, r);
        V soft = KN(vm_log1p_exp_neg_abs)(z);
        vstore_tail(losses + i, vadd(vfnma(z, y, vmax(z, zero)), soft), r);
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
        pdt_int r = n - i < VN ? n - i : VN;
        V z = vload_tail(logits + i, r), y = vload_tail(targets + i, r);
        vstore_tail(dlogits + i, vmul(vs, vsub(KN(vsigmoid)(z), y)), r);
    }
    return PDT_OK;
}

// input, target, losses (n)
// Lᵢ = (xᵢ − tᵢ)²
static pdt_status KN(mse_forward)(pdt_int n, const T *input, const T *target, T *losses) {
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        pdt_int r = n - i < VN ? n - i : VN;
        V d = vsub(vload_tail(input + i, r), vload_tail(target + i, r));
        vstore_tail(losses + i, vmul(d, d), r);
    }
    return PDT_OK;
}

// input, target, dinput (n)
// ∂L/∂xᵢ = scale·2(xᵢ − tᵢ)   (scale = 1/n for the mean)
static pdt_status KN(mse_backward)(pdt_int n, const T *input, const T *target, double scale, T *dinput) {
    /* the same scaled difference as the soft-target cross-entropy's, over one row of n */
    return KN(cross_entropy_soft_backward)(1, n, input, target, 2.0 * scale, dinput);
}
