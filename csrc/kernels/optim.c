/*
 * optim.c — optimizer steps over a flat parameter buffer: one call updates
 * every parameter of a group (param, grad and each state buffer are flat
 * arrays of n elements). Per-call scalars (bias corrections, 1−β) are derived
 * once in double before the loop, then cast to T.
 *   SGD + momentum (Polyak 1964; Nesterov in the form of Sutskever et al. 2013):
 *     classic  m ← μm − αg, θ ← θ + m;   pytorch  b ← μb + g, θ ← θ − αb
 *   RMSprop (Hinton 2012): v ← βv + (1−β)g², θ ← θ − αg/√(v+ε)
 *   Adam (Kingma & Ba 2015), AdamW (Loshchilov & Hutter 2019):
 *     m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − α·m̂/(√v̂ + ε)
 * Every element is independent, so results do not depend on the thread count.
 *
 * State buffers (momentum, averages of g and g²) are kept with subnormal values
 * flushed to zero, as the FTZ mode of the FPU would: the buffer of a unit that
 * stops receiving gradient (a dead ReLU) decays geometrically into subnormals,
 * which x86 computes about a hundred times slower, and a value below the smallest
 * normal number (1e-38 in float32) cannot change an update.
 */

// x with every |x| below the smallest normal number of T set to 0 (NaN kept)
static inline V KN(flush_subnormal)(V x) {
    const V tiny = vset1((T)(sizeof(T) == sizeof(float) ? FLT_MIN : DBL_MIN));
    return vselect(vlt(vabs(x), tiny), vzero(), x);
}

// param, grad (n)
// θ ← θ − α·g
static pdt_status KN(sgd_step)(pdt_int n, T *param, const T *grad, double lr) {
    const V neg_lr = vset1((T)-lr);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        vstore_part(param + i, vfma(neg_lr, vload_part(grad + i, r), vload_part(param + i, r)), r);
    }
    return PDT_OK;
}

// param, grad, buf (n); buf unused (may be NULL) when μ = 0
// g ← g + λθ;  μ = 0: θ ← θ − αg
// classic: m ← μm − α(1−τ)g;  θ ← θ + m,  Nesterov (θ stored at the look-ahead θ + μm): θ ← θ + μm − α(1−τ)g
// pytorch: b ← μb + (1−τ)g (b = g on the first step);  θ ← θ − α·b,  Nesterov: θ ← θ − α(g + μb)
static pdt_status KN(sgd_momentum_step)(pdt_int n, T *param, const T *grad, T *buf, const pdt_sgd_hp *hp) {
    const int use_wd = hp->weight_decay != 0.0, use_m = hp->momentum != 0.0;
    const int classic = hp->convention == PDT_SGD_CLASSIC, nesterov = hp->nesterov, first = hp->first_step;
    if (use_m && !buf) return PDT_EINVAL;
    const V wd = vset1((T)hp->weight_decay), mu = vset1((T)hp->momentum);
    const V lr = vset1((T)hp->lr), neg_lr = vset1((T)-hp->lr);
    const V damp = vset1((T)(1.0 - hp->dampening));                 /* pytorch: (1−τ) */
    const V neg_step = vset1((T)(-hp->lr * (1.0 - hp->dampening))); /* classic: −α(1−τ) */
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        V p = vload_part(param + i, r), g = vload_part(grad + i, r);
        if (use_wd) g = vfma(wd, p, g);
        if (!use_m) {
            p = vfma(neg_lr, g, p);
        } else if (classic) {
            V m = KN(flush_subnormal)(vfma(mu, vload_part(buf + i, r), vmul(neg_step, g)));
            p = nesterov ? vfma(mu, m, vfma(neg_step, g, p)) : vadd(p, m);
            vstore_part(buf + i, m, r);
        } else {
            V b = first ? g : KN(flush_subnormal)(vfma(mu, vload_part(buf + i, r), vmul(damp, g)));
            V d = nesterov ? vfma(mu, b, g) : b;
            p = vfnma(lr, d, p);
            vstore_part(buf + i, b, r);
        }
        vstore_part(param + i, p, r);
    }
    return PDT_OK;
}

// param, grad, square_avg (n); grad_avg (n) when centered, momentum_buf (n) when μ > 0, else NULL
// g ← g + λθ;  v ← βv + (1−β)g²;  centered: ḡ ← βḡ + (1−β)g, v' = v − ḡ², else v' = v
// d = √(v' + ε) (eps_inside_sqrt) or √v' + ε;  μ > 0: b ← μb + g/d, θ ← θ − αb;  else θ ← θ − α·g/d
static pdt_status KN(rmsprop_step)(pdt_int n, T *param, const T *grad, T *square_avg, T *grad_avg, T *momentum_buf,
                                   const pdt_rmsprop_hp *hp) {
    const int use_wd = hp->weight_decay != 0.0, use_m = hp->momentum != 0.0;
    const int centered = hp->centered, inside = hp->eps_inside_sqrt;
    if ((use_m && !momentum_buf) || (centered && !grad_avg)) return PDT_EINVAL;
    const V wd = vset1((T)hp->weight_decay), beta = vset1((T)hp->beta), one_m_beta = vset1((T)(1.0 - hp->beta));
    const V eps = vset1((T)hp->eps), mu = vset1((T)hp->momentum), lr = vset1((T)hp->lr);
    PDT_OMP_FOR(n > PDT_PAR_MIN / 4) /* √ and ÷ per element: threads pay off early */
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        V p = vload_part(param + i, r), g = vload_part(grad + i, r);
        if (use_wd) g = vfma(wd, p, g);
        V v = KN(flush_subnormal)(vfma(beta, vload_part(square_avg + i, r), vmul(one_m_beta, vmul(g, g))));
        vstore_part(square_avg + i, v, r);
        if (centered) {
            V ga = KN(flush_subnormal)(vfma(beta, vload_part(grad_avg + i, r), vmul(one_m_beta, g)));
            vstore_part(grad_avg + i, ga, r);
            v = vfnma(ga, ga, v);
        }
        V d = inside ? vsqrt(vadd(v, eps)) : vadd(vsqrt(v), eps);
        V q = vdiv(g, d);
        if (use_m) {
            q = KN(flush_subnormal)(vfma(mu, vload_part(momentum_buf + i, r), q));
            vstore_part(momentum_buf + i, q, r);
        }
        vstore_part(param + i, vfnma(lr, q, p), r);
    }
    return PDT_OK;
}

// param, grad, exp_avg, exp_avg_sq (n); max_exp_avg_sq (n) with AMSGrad, else NULL
// Adam: g ← g + λθ;  AdamW: θ ← θ(1 − αλ)
// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  AMSGrad: v̄ ← max(v̄, v) used for v
// θ ← θ − (α/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)
static pdt_status KN(adam_step)(pdt_int n, T *param, const T *grad, T *exp_avg, T *exp_avg_sq, T *max_exp_avg_sq,
                                const pdt_adam_hp *hp) {
    if (hp->step < 1) return PDT_EINVAL;
    const double t = (double)hp->step;
    const double bc1 = 1.0 - pow(hp->beta1, t), bc2 = 1.0 - pow(hp->beta2, t);
    const int l2 = hp->weight_decay != 0.0 && !hp->decoupled, decay = hp->weight_decay != 0.0 && hp->decoupled;
    const int ams = max_exp_avg_sq != NULL;
    const V wd = vset1((T)hp->weight_decay), shrink = vset1((T)(1.0 - hp->lr * hp->weight_decay));
    const V b1 = vset1((T)hp->beta1), c1 = vset1((T)(1.0 - hp->beta1));
    const V b2 = vset1((T)hp->beta2), c2 = vset1((T)(1.0 - hp->beta2));
    const V inv_sqrt_bc2 = vset1((T)(1.0 / sqrt(bc2))), eps = vset1((T)hp->eps);
    const V step_size = vset1((T)(hp->lr / bc1));
    PDT_OMP_FOR(n > PDT_PAR_MIN / 4) /* √ and ÷ per element: threads pay off early */
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        V p = vload_part(param + i, r), g = vload_part(grad + i, r);
        if (l2) g = vfma(wd, p, g);
        if (decay) p = vmul(p, shrink);
        V m = KN(flush_subnormal)(vfma(b1, vload_part(exp_avg + i, r), vmul(c1, g)));
        V v = KN(flush_subnormal)(vfma(b2, vload_part(exp_avg_sq + i, r), vmul(c2, vmul(g, g))));
        vstore_part(exp_avg + i, m, r);
        vstore_part(exp_avg_sq + i, v, r);
        if (ams) {
            v = vmax(vload_part(max_exp_avg_sq + i, r), v);
            vstore_part(max_exp_avg_sq + i, v, r);
        }
        V d = vfma(vsqrt(v), inv_sqrt_bc2, eps);
        vstore_part(param + i, vfnma(step_size, vdiv(m, d), p), r);
    }
    return PDT_OK;
}
