/*
 * penalty.c — the parameter-norm penalties of the lecture, value and gradient in one
 * pass over a flat weight buffer (Goodfellow et al. 2016, §7.1):
 *   L2: Ω = λ/2·Σ w²,  g ← g + λw;
 *   L1: Ω = λ·Σ |w|,   g ← g + λ·sign(w)  (sign(0) = 0).
 * Each element is read once: its gradient is updated while it enters the sum. The sum
 * is the deterministic one of sum.c (the same bits for any thread count).
 */

typedef struct {
    const T *w;
    T *g;
    double lam;
} KN(penalty_args);

/* One chunk function per penalty: the pass's kind is a constant in each, so each inlines its own loop. */
// w, g (n) from element begin of ctx: g ← g + λw; -> Σ w²
static double KN(l2_chunk)(pdt_int begin, pdt_int n, void *ctx) {
    const KN(penalty_args) *a = ctx;
    return KN(sum_pass)(PDT_PASS_L2, n, a->w + begin, a->g + begin, a->lam);
}

// w, g (n) from element begin of ctx: g ← g + λ·sign(w); -> Σ |w|
static double KN(l1_chunk)(pdt_int begin, pdt_int n, void *ctx) {
    const KN(penalty_args) *a = ctx;
    return KN(sum_pass)(PDT_PASS_L1, n, a->w + begin, a->g + begin, a->lam);
}

// w, grad (n); Ω = λ/2·Σ w² -> *value;  grad ← grad + λw
static pdt_status KN(l2_penalty)(pdt_int n, const T *w, T *grad, double lam, double *value) {
    KN(penalty_args) a = {w, grad, lam};
    double sumsq = 0.0;
    pdt_status st = pdt_chunked_sum(n, KN(l2_chunk), &a, &sumsq);
    *value = 0.5 * lam * sumsq;
    return st;
}

// w, grad (n); Ω = λ·Σ |w| -> *value;  grad ← grad + λ·sign(w)
static pdt_status KN(l1_penalty)(pdt_int n, const T *w, T *grad, double lam, double *value) {
    KN(penalty_args) a = {w, grad, lam};
    double sumabs = 0.0;
    pdt_status st = pdt_chunked_sum(n, KN(l1_chunk), &a, &sumabs);
    *value = lam * sumabs;
    return st;
}
