/*
 * sum.c — the one deterministic sum of the kernels, and the one pass that feeds it.
 * n elements are cut into fixed chunks of PDT_SUM_CHUNK (one per loop iteration, on
 * whichever thread runs it); a chunk is summed in blocks of PDT_SUM_BLOCK with four
 * vector accumulators in T, the blocks in double; the chunk sums are combined in index
 * order. The cuts and the order never depend on the thread count, so neither do the
 * bits. A float chunk whose sum comes out NaN or Inf (its float accumulators overflowed,
 * or it holds a NaN/Inf) is summed again element by element in double, so that finite
 * float32 values give a finite sum (their squares stay below 1.2e77); not for
 * PDT_PASS_DIFFSQ_KEEP, whose pass has overwritten g by then. The pass over a chunk may
 * also update a gradient lane by lane as it reads w:
 *   PDT_PASS_SUMSQ: Σ w²;  PDT_PASS_L2: g ← g + λw, Σ w²;   PDT_PASS_L1: g ← g + λ·sign(w), Σ |w|;
 *   PDT_PASS_DIFFSQ: Σ (w − g)²;  PDT_PASS_DIFFSQ_KEEP: Σ (w − g)², g ← w (g keeps w for the next call).
 */

#ifndef PDT_SUM_DRIVER
#define PDT_SUM_DRIVER
#define PDT_SUM_BLOCK 256    /* a multiple of 4 vectors of every target */
#define PDT_SUM_CHUNK 16384  /* the unit of work of a thread; a multiple of the block */
#define PDT_SUM_STACK 64     /* chunk partials kept on the stack up to this many */

enum { PDT_PASS_SUMSQ, PDT_PASS_L2, PDT_PASS_L1, PDT_PASS_DIFFSQ, PDT_PASS_DIFFSQ_KEEP };

/* The sum over elements [begin, begin + len) of the kernel's arrays, described by ctx. */
typedef double (*pdt_chunk_sum)(pdt_int begin, pdt_int len, void *ctx);

// *result = Σ_c chunk(c·CHUNK, len_c, ctx) over the chunks of n elements, in index order
static pdt_status pdt_chunked_sum(pdt_int n, pdt_chunk_sum chunk, void *ctx, double *result) {
    const pdt_int nchunks = (n + PDT_SUM_CHUNK - 1) / PDT_SUM_CHUNK;
    double stack[PDT_SUM_STACK];
    double *part = nchunks <= PDT_SUM_STACK ? stack : malloc((size_t)nchunks * sizeof *part);
    if (!part) return PDT_ENOMEM;
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int c = 0; c < nchunks; ++c) {
        const pdt_int b = c * PDT_SUM_CHUNK, len = n - b < PDT_SUM_CHUNK ? n - b : PDT_SUM_CHUNK;
        part[c] = chunk(b, len, ctx);
    }
    double total = 0.0;
    for (pdt_int c = 0; c < nchunks; ++c) total += part[c];
    if (part != stack) free(part);
    *result = total;
    return PDT_OK;
}
#endif

// x: r lanes of w at element i; updates g[i, i + r) as `kind` says; -> acc + x² (or + |x| for L1)
static inline V KN(pass_lanes)(int kind, V x, T *g, pdt_int i, pdt_int r, V lam, V acc) {
    if (kind == PDT_PASS_L2) vstore_part(g + i, vfma(lam, x, vload_part(g + i, r)), r);
    if (kind == PDT_PASS_L1) {
        const V zero = vzero();  /* λ·sign(x): 0 at 0 and for NaN (whose |x| makes the sum NaN) */
        const V step = vselect(vgt(x, zero), lam, vselect(vlt(x, zero), vsub(zero, lam), zero));
        vstore_part(g + i, vadd(vload_part(g + i, r), step), r);
    }
    if (kind == PDT_PASS_DIFFSQ || kind == PDT_PASS_DIFFSQ_KEEP) {
        const V d = vsub(x, vload_part(g + i, r));
        if (kind == PDT_PASS_DIFFSQ_KEEP) vstore_part(g + i, x, r);
        x = d;
    }
    return kind == PDT_PASS_L1 ? vadd(acc, vabs(x)) : vfma(x, x, acc);
}

// w, g (n) -> the sum of `kind` (w², |w| for L1, (w − g)² for the differences) in double, element by element
__attribute__((noinline, cold)) static double KN(sum_in_double)(int kind, pdt_int n, const T *w, const T *g) {
    double total = 0.0;
    for (pdt_int i = 0; i < n; ++i) {
        double x = (double)w[i];
        if (kind == PDT_PASS_DIFFSQ) x -= (double)g[i];
        total += kind == PDT_PASS_L1 ? fabs(x) : x * x;
    }
    return total;
}

// w (n), g (n, or NULL for PDT_PASS_SUMSQ): one pass of `kind`; -> the sum, blocks in double
static inline double KN(sum_pass)(int kind, pdt_int n, const T *w, T *g, double lam) {
    const V vlam = vset1((T)lam);
    double total = 0.0;
    for (pdt_int b = 0; b < n; b += PDT_SUM_BLOCK) {
        const pdt_int e = b + PDT_SUM_BLOCK < n ? b + PDT_SUM_BLOCK : n;
        V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        pdt_int i = b;
        for (; i + 4 * VN <= e; i += 4 * VN) {
            a0 = KN(pass_lanes)(kind, vload(w + i), g, i, VN, vlam, a0);
            a1 = KN(pass_lanes)(kind, vload(w + i + VN), g, i + VN, VN, vlam, a1);
            a2 = KN(pass_lanes)(kind, vload(w + i + 2 * VN), g, i + 2 * VN, VN, vlam, a2);
            a3 = KN(pass_lanes)(kind, vload(w + i + 3 * VN), g, i + 3 * VN, VN, vlam, a3);
        }
        for (; i < e; i += VN) {
            const pdt_int r = e - i < VN ? e - i : VN;
            a0 = KN(pass_lanes)(kind, vload_part(w + i, r), g, i, r, vlam, a0);
        }
        total += (double)vreduce_add(vadd(vadd(a0, a1), vadd(a2, a3)));
    }
    if (sizeof(T) < sizeof(double) && kind != PDT_PASS_DIFFSQ_KEEP && !isfinite(total))
        total = KN(sum_in_double)(kind, n, w, g);
    return total;
}
