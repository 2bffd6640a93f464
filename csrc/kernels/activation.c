/*
 * activation.c — elementwise activations, forward and backward.
 * Forward y = f(x); backward dx = dy ⊙ f'(x), from the saved input x.
 * ReLU; LeakyReLU (Maas et al. 2013); ELU (Clevert et al. 2016) and SELU (Klambauer
 * et al. 2017); sigmoid, tanh; GELU (Hendrycks & Gimpel 2016), exact and tanh form;
 * SiLU (Elfwing et al. 2018); Softplus. exp, σ, tanh and Φ come from vmath.h, where
 * their polynomials and measured errors are documented.
 */

// x, y (n); y may be x (in place)
// y = max(x, 0)
static pdt_status KN(relu_forward)(pdt_int n, const T *x, T *y) {
    const V zero = vzero();
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        vstore_part(y + i, vmax(zero, vload_part(x + i, r)), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ [x > 0]
static pdt_status KN(relu_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    const V zero = vzero();
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        vstore_part(dx + i, vselect(vgt(vload_part(x + i, r), zero), vload_part(dy + i, r), zero), r);
    }
    return PDT_OK;
}

/* Rows per task of the fused bias backward: each chunk sums its rows into its own partial
 * dbias, and the partials are added in chunk order, so any thread count gives the same bits. */
#define PDT_BIAS_ROW_CHUNK 64

// x, y (rows, cols), bias (cols); y may be x
// y = max(x + b, 0)   (one pass: the bias add and the ReLU fused)
static pdt_status KN(bias_relu_forward)(pdt_int rows, pdt_int cols, const T *x, const T *bias, T *y) {
    if (cols == 0) return PDT_OK;  // no element, however many rows (2^59 empty rows: a loop that never ends)
    const V zero = vzero();
    PDT_OMP_FOR(rows * cols > PDT_PAR_MIN && rows > 1)
    for (pdt_int i = 0; i < rows; ++i) {
        const T *xi = x + i * cols;
        T *yi = y + i * cols;
        for (pdt_int j = 0; j < cols; j += VN) {
            const pdt_int r = cols - j < VN ? cols - j : VN;
            vstore_part(yi + j, vmax(zero, vadd(vload_part(xi + j, r), vload_part(bias + j, r))), r);
        }
    }
    return PDT_OK;
}

// dy, dx, acc over one row: dx = dy ⊙ [y > 0]; acc += dx
static inline void KN(relu_grad_row_acc)(pdt_int cols, const T *y, const T *dy, T *dx, T *acc) {
    const V zero = vzero();
    for (pdt_int j = 0; j < cols; j += VN) {
        const pdt_int r = cols - j < VN ? cols - j : VN;
        const V d = vselect(vgt(vload_part(y + j, r), zero), vload_part(dy + j, r), zero);
        vstore_part(dx + j, d, r);
        vstore_part(acc + j, vadd(vload_part(acc + j, r), d), r);
    }
}

// y, dy, dx (rows, cols), dbias (cols); dx may be dy
// dx = dy ⊙ [y > 0];  dbias += Σ_rows dx   (one pass over the rows, in chunks of PDT_BIAS_ROW_CHUNK)
static pdt_status KN(bias_relu_backward)(pdt_int rows, pdt_int cols, const T *y, const T *dy, T *dx, T *dbias) {
    if (rows <= 0 || cols <= 0) return PDT_OK;  // nothing to add (rows of no units would still be counted)
    const pdt_int chunks = (rows + PDT_BIAS_ROW_CHUNK - 1) / PDT_BIAS_ROW_CHUNK;
    if (chunks <= 1) {
        for (pdt_int i = 0; i < rows; ++i) KN(relu_grad_row_acc)(cols, y + i * cols, dy + i * cols, dx + i * cols, dbias);
        return PDT_OK;
    }
    T *partial = calloc((size_t)(chunks * cols), sizeof(T));
    if (!partial) return PDT_ENOMEM;
    PDT_OMP_FOR(rows * cols > PDT_PAR_MIN)
    for (pdt_int c = 0; c < chunks; ++c) {
        const pdt_int end = (c + 1) * PDT_BIAS_ROW_CHUNK < rows ? (c + 1) * PDT_BIAS_ROW_CHUNK : rows;
        for (pdt_int i = c * PDT_BIAS_ROW_CHUNK; i < end; ++i)
            KN(relu_grad_row_acc)(cols, y + i * cols, dy + i * cols, dx + i * cols, partial + c * cols);
    }
    for (pdt_int c = 0; c < chunks; ++c) {
        const T *p = partial + c * cols;
        for (pdt_int j = 0; j < cols; j += VN) {
            const pdt_int r = cols - j < VN ? cols - j : VN;
            vstore_part(dbias + j, vadd(vload_part(dbias + j, r), vload_part(p + j, r)), r);
        }
    }
    free(partial);
    return PDT_OK;
}

// x, y (n); y may be x
// y = e^x (vmath.h; exposed so its accuracy can be measured)
static pdt_status KN(exp_forward)(pdt_int n, const T *x, T *y) {
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        vstore_part(y + i, KN(vexp)(xv), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x
// y = σ(x) = 1/(1 + e^(−x))
static pdt_status KN(sigmoid_forward)(pdt_int n, const T *x, T *y) {
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        vstore_part(y + i, KN(vsigmoid)(xv), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ σ(x)·σ(−x)   (= σ(1 − σ), without the cancellation of 1 − σ)
static pdt_status KN(sigmoid_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        V sp, sn;
        KN(vm_sigmoid_pair)(xv, &sp, &sn);
        vstore_part(dx + i, vmul(dyv, vmul(sp, sn)), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x
// y = tanh(x)
static pdt_status KN(tanh_forward)(pdt_int n, const T *x, T *y) {
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        vstore_part(y + i, KN(vtanh)(xv), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ (1 − tanh²(x)) = dy ⊙ 4e/(1 + e)², e = e^(−2|x|): no cancellation where tanh² ≈ 1
static pdt_status KN(tanh_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    const V one = vset1((T)1), four = vset1((T)4), m2 = vset1((T)-2);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        V e = KN(vexp)(vmul(m2, vabs(xv)));
        V d = vadd(one, e);
        vstore_part(dx + i, vmul(dyv, vdiv(vmul(four, e), vmul(d, d))), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x
// y = x if x > 0 else negative_slope·x
static pdt_status KN(leaky_relu_forward)(pdt_int n, const T *x, double negative_slope, T *y) {
    const V zero = vzero(), slope = vset1((T)negative_slope);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        vstore_part(y + i, vselect(vgt(xv, zero), xv, vmul(slope, xv)), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy if x > 0 else negative_slope·dy
static pdt_status KN(leaky_relu_backward)(pdt_int n, const T *x, const T *dy, double negative_slope, T *dx) {
    const V zero = vzero(), slope = vset1((T)negative_slope);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        vstore_part(dx + i, vselect(vgt(xv, zero), dyv, vmul(slope, dyv)), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x. ELU: scale = 1; SELU: α ≈ 1.6733, scale ≈ 1.0507 (Klambauer et al. 2017)
// y = scale·x if x > 0 else scale·α·(e^x − 1)   (Clevert et al. 2016)
static pdt_status KN(elu_forward)(pdt_int n, const T *x, double alpha, double scale, T *y) {
    const V zero = vzero(), vs = vset1((T)scale), vas = vset1((T)(alpha * scale));
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        vstore_part(y + i, vselect(vgt(xv, zero), vmul(vs, xv), vmul(vas, KN(vexpm1)(xv))), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = scale·dy if x > 0 else scale·α·e^x·dy
static pdt_status KN(elu_backward)(pdt_int n, const T *x, const T *dy, double alpha, double scale, T *dx) {
    const V zero = vzero(), vs = vset1((T)scale), vas = vset1((T)(alpha * scale));
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        vstore_part(dx + i, vmul(dyv, vselect(vgt(xv, zero), vs, vmul(vas, KN(vexp)(xv)))), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x
// y = x·Φ(x) = x/2·(1 + erf(x/√2))   (Hendrycks & Gimpel 2016); computed as
// max(x, 0) − |x|·Φ(−|x|) in one fma (x·Φ(x) for x < 0, x − x·Φ(−x) for x ≥ 0), so both
// tails keep their accuracy; beyond |x| = VM_TAIL_MAX, y = max(x, 0) (|x·Φ(x)| < 1e-36
// float / 1e-297 double there)
static pdt_status KN(gelu_forward)(pdt_int n, const T *x, T *y) {
    const V zero = vzero(), sat = vset1((T)VM_TAIL_MAX);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        V tail, u;
        KN(vm_normal_tail)(xv, &tail, &u);
        const V a = vabs(xv), relu = vmax(xv, zero);
        vstore_part(y + i, vselect(vgt(a, sat), relu, vfnma(a, tail, relu)), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ (Φ(x) + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π); with u = Φ(−|x|) − |x|·φ(x) from vmath.h,
// Φ(x) + x·φ(x) = u for x < 0 and 1 − u for x ≥ 0. Beyond |x| = VM_TAIL_MAX, |u| < 1e-36 float /
// 1e-297 double and u is taken as 0 (vmath.h's clamped u would turn a huge or infinite dy into a
// number where the exact gradient gives 0, or NaN for inf·0)
static pdt_status KN(gelu_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    const V zero = vzero(), one = vset1((T)1), sat = vset1((T)VM_TAIL_MAX);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        V tail, u;
        KN(vm_normal_tail)(xv, &tail, &u);
        u = vselect(vgt(vabs(xv), sat), zero, u);
        vstore_part(dx + i, vmul(dyv, vselect(vlt(xv, zero), u, vsub(one, u))), r);
    }
    return PDT_OK;
}

#ifndef PDT_GELU_K0
#define PDT_GELU_K0 0.79788456080286535588  /* √(2/π) */
#define PDT_GELU_K1 0.044715
#endif

#ifndef PDT_ACT_BIG
/* The largest finite T. x clamped to ±it is every finite x unchanged, and ±inf made a number whose
 * product with an exact 0 of σ is 0, the function's limit there, instead of inf·0 = NaN. */
#define PDT_ACT_BIG (VM_F32 ? FLT_MAX : DBL_MAX)
#endif

// x, y (n); y may be x
// y = x/2·(1 + tanh(u)), u = √(2/π)·(x + 0.044715x³); computed as x·σ(2u), the same number;
// x = −inf is taken as −PDT_ACT_BIG (y = 0, the limit)
static pdt_status KN(gelu_tanh_forward)(pdt_int n, const T *x, T *y) {
    const V one = vset1((T)1), k0 = vset1((T)(2 * PDT_GELU_K0)), k1 = vset1((T)PDT_GELU_K1);
    const V nbig = vset1((T)-PDT_ACT_BIG);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vmax(nbig, vload_part(x + i, r));  // x second: a NaN x stays NaN on every target
        V u2 = vmul(vmul(k0, xv), vfma(k1, vmul(xv, xv), one));
        vstore_part(y + i, vmul(xv, KN(vsigmoid)(u2)), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ (s + x·s·(1 − s)·2u'),  s = σ(2u), 2u' = 2√(2/π)·(1 + 3·0.044715x²);
// x is clamped to ±30, where s is already exactly 0 or 1, so huge |x| cannot make inf·0
static pdt_status KN(gelu_tanh_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    const V one = vset1((T)1), k0 = vset1((T)(2 * PDT_GELU_K0)), k1 = vset1((T)PDT_GELU_K1);
    const V k13 = vset1((T)(3 * PDT_GELU_K1)), lim = vset1((T)30), nlim = vset1((T)-30);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        V xc = vmin(lim, vmax(nlim, xv));  // x second: a NaN x stays NaN on every target
        V x2 = vmul(xc, xc);
        V u2 = vmul(vmul(k0, xc), vfma(k1, x2, one));
        V du2 = vmul(k0, vfma(k13, x2, one));
        V sp, sn;
        KN(vm_sigmoid_pair)(u2, &sp, &sn);
        vstore_part(dx + i, vmul(dyv, vfma(vmul(xc, vmul(sp, sn)), du2, sp)), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x
// y = x·σ(x)   (SiLU / Swish, Elfwing et al. 2018; Ramachandran et al. 2017); x = −inf is taken
// as −PDT_ACT_BIG (y = 0, the limit)
static pdt_status KN(silu_forward)(pdt_int n, const T *x, T *y) {
    const V nbig = vset1((T)-PDT_ACT_BIG);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vmax(nbig, vload_part(x + i, r));  // x second: a NaN x stays NaN on every target
        vstore_part(y + i, vmul(xv, KN(vsigmoid)(xv)), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ σ(x)·(1 + x·σ(−x)); x = ±inf is taken as ±PDT_ACT_BIG (the limits dy and 0)
static pdt_status KN(silu_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    const V one = vset1((T)1), big = vset1((T)PDT_ACT_BIG), nbig = vset1((T)-PDT_ACT_BIG);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vmin(big, vmax(nbig, vload_part(x + i, r))), dyv = vload_part(dy + i, r);
        V sp, sn;
        KN(vm_sigmoid_pair)(xv, &sp, &sn);
        vstore_part(dx + i, vmul(dyv, vmul(sp, vfma(xv, sn, one))), r);
    }
    return PDT_OK;
}

// x, y (n); y may be x
// y = (1/β)·log(1 + e^(βx)) if βx ≤ threshold else x   (PyTorch's linear regime above threshold);
// log(1 + e^z) = max(z, 0) + log(1 + e^(−|z|)) never overflows
static pdt_status KN(softplus_forward)(pdt_int n, const T *x, double beta, double threshold, T *y) {
    const V zero = vzero(), vb = vset1((T)beta), vib = vset1((T)(1.0 / beta)), thr = vset1((T)threshold);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r);
        V z = vmul(vb, xv);
        V sp = vadd(vmax(z, zero), KN(vm_log1p_exp_neg_abs)(z));
        vstore_part(y + i, vselect(vgt(z, thr), xv, vmul(vib, sp)), r);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ σ(βx) if βx ≤ threshold else dy
static pdt_status KN(softplus_backward)(pdt_int n, const T *x, const T *dy, double beta, double threshold, T *dx) {
    const V vb = vset1((T)beta), thr = vset1((T)threshold);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        const V xv = vload_part(x + i, r), dyv = vload_part(dy + i, r);
        V z = vmul(vb, xv);
        vstore_part(dx + i, vselect(vgt(z, thr), dyv, vmul(dyv, KN(vsigmoid)(z))), r);
    }
    return PDT_OK;
}
