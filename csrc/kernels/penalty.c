/*
 * penalty.c — the parameter-norm penalties of the lecture, value and gradient in one
 * pass over a flat weight buffer (Goodfellow et al. 2016, §7.1):
 *   L2: Ω = λ/2·Σ w²,  g ← g + λw;
 *   L1: Ω = λ·Σ |w|,   g ← g + λ·sign(w)  (sign(0) = 0).
 * Each element is read once: its gradient is updated while it enters the sum. The sum
 * is the deterministic chunked sum of reduce.h (the same bits for any thread count).
 */

typedef struct {
    const T *w;
    T *g;
    T lam;
} KN(penalty_args);

// w, g (n) from element begin of ctx: g ← g + λw; -> Σ w²
static double KN(l2_chunk)(pdt_int begin, pdt_int n, void *ctx) {
    const KN(penalty_args) *a = ctx;
    const T *w = a->w + begin;
    T *g = a->g + begin;
    const V lam = vset1(a->lam);
    double total = 0.0;
    for (pdt_int b = 0; b < n; b += PDT_REDUCE_BLOCK) {
        const pdt_int e = b + PDT_REDUCE_BLOCK < n ? b + PDT_REDUCE_BLOCK : n;
        V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        pdt_int i = b;
        for (; i + 4 * VN <= e; i += 4 * VN) {
            V w0 = vload(w + i), w1 = vload(w + i + VN), w2 = vload(w + i + 2 * VN), w3 = vload(w + i + 3 * VN);
            vstore(g + i, vfma(lam, w0, vload(g + i)));
            vstore(g + i + VN, vfma(lam, w1, vload(g + i + VN)));
            vstore(g + i + 2 * VN, vfma(lam, w2, vload(g + i + 2 * VN)));
            vstore(g + i + 3 * VN, vfma(lam, w3, vload(g + i + 3 * VN)));
            a0 = vfma(w0, w0, a0);
            a1 = vfma(w1, w1, a1);
            a2 = vfma(w2, w2, a2);
            a3 = vfma(w3, w3, a3);
        }
        for (; i < e; i += VN) {
            const pdt_int r = e - i < VN ? e - i : VN;
            V wi = vload_tail(w + i, r);
            vstore_tail(g + i, vfma(lam, wi, vload_tail(g + i, r)), r);
            a0 = vfma(wi, wi, a0);
        }
        total += (double)vreduce_add(vadd(vadd(a0, a1), vadd(a2, a3)));
    }
    return total;
}

// λ·sign(w): +λ, −λ, or 0 at 0 (and for NaN, whose |w| makes the value NaN)
static inline V KN(signed_lam)(V w, V lam, V neg_lam) {
    const V zero = vzero();
    return vselect(vgt(w, zero), lam, vselect(vlt(w, zero), neg_lam, zero));
}

// w, g (n) from element begin of ctx: g ← g + λ·sign(w); -> Σ |w|
static double KN(l1_chunk)(pdt_int begin, pdt_int n, void *ctx) {
    const KN(penalty_args) *a = ctx;
    const T *w = a->w + begin;
    T *g = a->g + begin;
    const V lam = vset1(a->lam), neg_lam = vset1(-a->lam);
    double total = 0.0;
    for (pdt_int b = 0; b < n; b += PDT_REDUCE_BLOCK) {
        const pdt_int e = b + PDT_REDUCE_BLOCK < n ? b + PDT_REDUCE_BLOCK : n;
        V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        pdt_int i = b;
        for (; i + 4 * VN <= e; i += 4 * VN) {
            V w0 = vload(w + i), w1 = vload(w + i + VN), w2 = vload(w + i + 2 * VN), w3 = vload(w + i + 3 * VN);
            vstore(g + i, vadd(vload(g + i), KN(signed_lam)(w0, lam, neg_lam)));
            vstore(g + i + VN, vadd(vload(g + i + VN), KN(signed_lam)(w1, lam, neg_lam)));
            vstore(g + i + 2 * VN, vadd(vload(g + i + 2 * VN), KN(signed_lam)(w2, lam, neg_lam)));
            vstore(g + i + 3 * VN, vadd(vload(g + i + 3 * VN), KN(signed_lam)(w3, lam, neg_lam)));
            a0 = vadd(a0, vabs(w0));
            a1 = vadd(a1, vabs(w1));
            a2 = vadd(a2, vabs(w2));
            a3 = vadd(a3, vabs(w3));
        }
        for (; i < e; i += VN) {
            const pdt_int r = e - i < VN ? e - i : VN;
            V wi = vload_tail(w + i, r);
            vstore_tail(g + i, vadd(vload_tail(g + i, r), KN(signed_lam)(wi, lam, neg_lam)), r);
            a0 = vadd(a0, vabs(wi));
        }
        total += (double)vreduce_add(vadd(vadd(a0, a1), vadd(a2, a3)));
    }
    return total;
}

// w, grad (n); Ω = λ/2·Σ w² -> *value;  grad ← grad + λw
static pdt_status KN(l2_penalty)(pdt_int n, const T *w, T *grad, double lam, double *value) {
    KN(penalty_args) a = {w, grad, (T)lam};
    double sumsq = 0.0;
    pdt_status st = pdt_chunked_sum(n, KN(l2_chunk), &a, &sumsq);
    *value = 0.5 * lam * sumsq;
    return st;
}

// w, grad (n); Ω = λ·Σ |w| -> *value;  grad ← grad + λ·sign(w)
static pdt_status KN(l1_penalty)(pdt_int n, const T *w, T *grad, double lam, double *value) {
    KN(penalty_args) a = {w, grad, (T)lam};
    double sumabs = 0.0;
    pdt_status st = pdt_chunked_sum(n, KN(l1_chunk), &a, &sumabs);
    *value = lam * sumabs;
    return st;
}
