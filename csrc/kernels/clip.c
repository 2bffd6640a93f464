/*
 * clip.c — gradient clipping over a flat gradient buffer (Pascanu et al. 2013):
 *   if ‖g‖ > η:  g ← η·g/‖g‖   (the caller scales by η/(‖g‖ + 1e-6), as PyTorch);
 *   by value:    g ← min(max(g, −c), c).
 * The norm is one read pass. Σ g² is deterministic for any thread count:
 * fixed chunks of PDT_CLIP_CHUNK elements, each summed in blocks of
 * PDT_CLIP_BLOCK (vector accumulators in T within a block, double across
 * blocks), the chunk sums combined in index order in double.
 */

#ifndef PDT_CLIP_CONSTS
#define PDT_CLIP_CONSTS
#include <stdlib.h>
#define PDT_CLIP_BLOCK 256      /* a multiple of 4 vectors of every target */
#define PDT_CLIP_CHUNK 16384    /* the unit of work of a thread; a multiple of the block */
#define PDT_CLIP_STACK 64       /* chunk partials kept on the stack up to this many */
#endif

// x (n) -> Σ x²
static double KN(sumsq_chunk)(pdt_int n, const T *x) {
    double total = 0.0;
    for (pdt_int b = 0; b < n; b += PDT_CLIP_BLOCK) {
        const pdt_int e = b + PDT_CLIP_BLOCK < n ? b + PDT_CLIP_BLOCK : n;
        V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        pdt_int i = b;
        for (; i + 4 * VN <= e; i += 4 * VN) {
            V x0 = vload(x + i), x1 = vload(x + i + VN), x2 = vload(x + i + 2 * VN), x3 = vload(x + i + 3 * VN);
            a0 = vfma(x0, x0, a0);
            a1 = vfma(x1, x1, a1);
            a2 = vfma(x2, x2, a2);
            a3 = vfma(x3, x3, a3);
        }
        for (; i < e; i += VN) {
            V xi = vload_part(x + i, e - i < VN ? e - i : VN);
            a0 = vfma(xi, xi, a0);
        }
        total += (double)vreduce_add(vadd(vadd(a0, a1), vadd(a2, a3)));
    }
    return total;
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
    const pdt_int nchunks = (n + PDT_CLIP_CHUNK - 1) / PDT_CLIP_CHUNK;
    double stack[PDT_CLIP_STACK];
    double *part = nchunks <= PDT_CLIP_STACK ? stack : malloc((size_t)nchunks * sizeof *part);
    if (!part) return PDT_ENOMEM;
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int c = 0; c < nchunks; ++c) {
        const pdt_int b = c * PDT_CLIP_CHUNK, len = n - b < PDT_CLIP_CHUNK ? n - b : PDT_CLIP_CHUNK;
        part[c] = KN(sumsq_chunk)(len, x + b);
    }
    double total = 0.0;
    for (pdt_int c = 0; c < nchunks; ++c) total += part[c];
    if (part != stack) free(part);
    *result = total;
    return PDT_OK;
}

// x (n); *result = max |x| (0 for n = 0, NaN when x holds a NaN)
static pdt_status KN(clip_maxabs)(pdt_int n, const T *x, double *result) {
    const pdt_int nchunks = (n + PDT_CLIP_CHUNK - 1) / PDT_CLIP_CHUNK;
    double stack[PDT_CLIP_STACK];
    int nan_stack[PDT_CLIP_STACK];
    double *part = nchunks <= PDT_CLIP_STACK ? stack : malloc((size_t)nchunks * sizeof *part);
    int *nan = nchunks <= PDT_CLIP_STACK ? nan_stack : malloc((size_t)nchunks * sizeof *nan);
    if (!part || !nan) {
        if (part != stack) free(part);
        if (nan != nan_stack) free(nan);
        return PDT_ENOMEM;
    }
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int c = 0; c < nchunks; ++c) {
        const pdt_int b = c * PDT_CLIP_CHUNK, len = n - b < PDT_CLIP_CHUNK ? n - b : PDT_CLIP_CHUNK;
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
