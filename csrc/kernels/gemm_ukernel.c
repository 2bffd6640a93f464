/*
 * gemm_ukernel.c — the register-blocked micro-kernel of the GEMM (gemm.c), its
 * dot-product tile for x·Wᵀ at batch sizes, and the FMA peak yardstick of the
 * benchmark.
 *
 *   C[0:mr, 0:nr] = α·Σ_p A(i, p)·B(p, j) + β·C      (mr ≤ MR, nr ≤ NR)
 *
 * MR rows × NV vectors of accumulators live in registers for the whole k loop;
 * each k step loads NV vectors of one B row and broadcasts MR values of A
 * (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
 * Functionality", ACM TOMS 2015; Goto & van de Geijn, "Anatomy of
 * High-Performance Matrix Multiplication", ACM TOMS 2008). A is read through
 * strides (packed: rsa = 1, csa = MR; unpacked: the caller's layout), B rows
 * are contiguous NR-wide (packed: rsb = NR; unpacked: ldb). Each element is the
 * same fused sequence in k order whatever the strides, so packed, unpacked and
 * edge tiles give bit-identical values. The dot-product tile sums in VN lanes
 * then reduces; which of the two runs depends on the shape only, never on the
 * thread count.
 */
#include "gemm_blocking.h"

#ifndef PDT_GEMM_INLINE
#if defined(__GNUC__)
#define PDT_GEMM_INLINE static inline __attribute__((always_inline))
#define PDT_GEMM_UNROLL _Pragma("GCC unroll 32")
/* the k loop four steps per iteration: its pointer updates and branch otherwise take issue slots
 * of the FMA ports (bench/NOTES.md, "The k loop unrolled by four") */
#define PDT_GEMM_UNROLL_K _Pragma("GCC unroll 4")
#define PDT_GEMM_PREFETCHW(p) __builtin_prefetch((p), 1, 3)
#else
#define PDT_GEMM_PREFETCHW(p) ((void)(p))
#define PDT_GEMM_INLINE static inline
#define PDT_GEMM_UNROLL
#define PDT_GEMM_UNROLL_K
#endif
#endif

// a (mr, kc) at a[i·rsa + p·csa], b (kc, NR) at b[p·rsb + j], c (mr, nr) at c[i·ldc + j]
// c ← α·a·b + β·c (+ bias[j] when bias is given); β = 0 writes without reading c;
// rows ≥ mr and columns ≥ nr of c are neither read nor stored. `rows` (a constant ≥ mr: MR or an edge height below)
// is how many rows the k loop computes.
PDT_GEMM_INLINE void KN(gemm_ukernel_body)(pdt_int kc, const T *restrict a, pdt_int rsa, pdt_int csa,
                                           const T *restrict b, pdt_int rsb, T alpha, T beta,
                                           T *restrict c, pdt_int ldc, pdt_int mr, pdt_int nr,
                                           const T *restrict bias, const int rows) {
    V acc[GEMM_MR][GEMM_NV];
    PDT_GEMM_UNROLL
    for (int i = 0; i < rows; ++i) {
        PDT_GEMM_UNROLL
        for (int v = 0; v < GEMM_NV; ++v) acc[i][v] = vzero();
    }
    // fetch the C tile for writing now, so its misses overlap the k loop instead of stalling the stores
    PDT_GEMM_UNROLL
    for (int i = 0; i < rows; ++i) {
        if (i >= mr) break;
        PDT_GEMM_PREFETCHW(c + i * ldc);
        PDT_GEMM_PREFETCHW(c + i * ldc + nr - 1);
    }
    /* A's rows in groups of four, each group from one base pointer: the k loop then needs a few
     * registers for A's addresses, not one per row, which an A read in place (rsa = its row pitch) would
     * run out of (bench/NOTES.md, "A's rows in groups of four base pointers"). */
    const T *ag[(GEMM_MR + 3) / 4];
    PDT_GEMM_UNROLL
    for (int g = 0; g < (rows + 3) / 4; ++g) ag[g] = a + 4 * g * rsa;
    PDT_GEMM_UNROLL_K
    for (pdt_int p = 0; p < kc; ++p) {
        V bv[GEMM_NV];
        PDT_GEMM_UNROLL
        for (int v = 0; v < GEMM_NV; ++v) bv[v] = vload(b + p * rsb + v * VN);
        PDT_GEMM_UNROLL
        for (int i = 0; i < rows; ++i) {
            const V ai = vset1(ag[i / 4][(i % 4) * rsa + p * csa]);
            PDT_GEMM_UNROLL
            for (int v = 0; v < GEMM_NV; ++v) acc[i][v] = vfma(ai, bv[v], acc[i][v]);
        }
    }
    const V va = vset1(alpha), vb = vset1(beta);
    PDT_GEMM_UNROLL
    for (int i = 0; i < rows; ++i) {
        if (i >= mr) break;
        T *ci = c + i * ldc;
        PDT_GEMM_UNROLL
        for (int v = 0; v < GEMM_NV; ++v) {
            const pdt_int left = nr - v * VN, lanes = left < VN ? left : VN;
            if (lanes <= 0) break;
            V r = vmul(va, acc[i][v]);
            if (beta != 0) r = vfma(vb, vload_part(ci + v * VN, lanes), r);
            if (bias) r = vadd(r, vload_part(bias + v * VN, lanes));
            vstore_part(ci + v * VN, r, lanes);
        }
    }
}

/* An edge tile of mr < MR rows runs a shorter k loop instead of MR rows of which some are discarded:
 * batch sizes are rarely multiples of MR (on AVX-512, 256 = 21·12 + 4, 128 = 10·12 + 8, 32 = 2·12 + 8).
 * Its height is the next multiple of MR/3 when MR is a multiple of 3 (12 → 4, 8, 12; 6 → 2, 4, 6),
 * else of MR/2 (bench/NOTES.md, "Edge tiles of a third or half the height").
 * Each row is the same fused k sequence whatever the height, so the values do not change. */
#define PDT_GEMM_EDGE_STEP (GEMM_MR % 3 == 0 ? GEMM_MR / 3 : GEMM_MR / 2)

// packed A: a micro-panel (kc, MR) stored column by column; b rows rsb apart
static void KN(gemm_ukernel_packed)(pdt_int kc, const T *restrict a, const T *restrict b, pdt_int rsb, T alpha,
                                    T beta, T *restrict c, pdt_int ldc, pdt_int mr, pdt_int nr,
                                    const T *restrict bias) {
    if (mr <= PDT_GEMM_EDGE_STEP)
        KN(gemm_ukernel_body)(kc, a, 1, GEMM_MR, b, rsb, alpha, beta, c, ldc, mr, nr, bias, PDT_GEMM_EDGE_STEP);
    else if (mr <= 2 * PDT_GEMM_EDGE_STEP && 2 * PDT_GEMM_EDGE_STEP < GEMM_MR)
        KN(gemm_ukernel_body)(kc, a, 1, GEMM_MR, b, rsb, alpha, beta, c, ldc, mr, nr, bias, 2 * PDT_GEMM_EDGE_STEP);
    else
        KN(gemm_ukernel_body)(kc, a, 1, GEMM_MR, b, rsb, alpha, beta, c, ldc, mr, nr, bias, GEMM_MR);
}

// unpacked ("sup") operands: A through any strides (MR readable rows), B rows ldb apart with NR readable columns
static void KN(gemm_ukernel_strided)(pdt_int kc, const T *restrict a, pdt_int rsa, pdt_int csa,
                                     const T *restrict b, pdt_int rsb, T alpha, T beta,
                                     T *restrict c, pdt_int ldc, pdt_int mr, pdt_int nr,
                                     const T *restrict bias) {
    KN(gemm_ukernel_body)(kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, nr, bias, GEMM_MR);
}

// a (mr, k) rows lda apart, b (nr, k) rows ldb apart: c[i, j] ← α·Σ_p a[i, p]·b[j, p] + β·c[i, j] (+ bias[j])
// Dot products along k for op(B) = Bᵀ without packing B: DM·DN vector accumulators of lane-wise
// partial sums, reduced in a fixed order at the end. Rows past mr/nr re-read row 0 and are discarded.
static void KN(gemm_dot_tile)(pdt_int k, const T *restrict a, pdt_int lda, const T *restrict b, pdt_int ldb,
                              T alpha, T beta, T *restrict c, pdt_int ldc, pdt_int mr, pdt_int nr,
                              const T *restrict bias) {
    const T *ar[GEMM_DM], *br[GEMM_DN];
    V acc[GEMM_DM][GEMM_DN];
    PDT_GEMM_UNROLL
    for (int i = 0; i < GEMM_DM; ++i) ar[i] = a + (i < mr ? i : 0) * lda;
    PDT_GEMM_UNROLL
    for (int j = 0; j < GEMM_DN; ++j) br[j] = b + (j < nr ? j : 0) * ldb;
    PDT_GEMM_UNROLL
    for (int i = 0; i < GEMM_DM; ++i) {
        PDT_GEMM_UNROLL
        for (int j = 0; j < GEMM_DN; ++j) acc[i][j] = vzero();
    }
    pdt_int p = 0;
    for (; p + VN <= k; p += VN) {
        V av[GEMM_DM];
        PDT_GEMM_UNROLL
        for (int i = 0; i < GEMM_DM; ++i) av[i] = vload(ar[i] + p);
        PDT_GEMM_UNROLL
        for (int j = 0; j < GEMM_DN; ++j) {
            const V bv = vload(br[j] + p);
            PDT_GEMM_UNROLL
            for (int i = 0; i < GEMM_DM; ++i) acc[i][j] = vfma(av[i], bv, acc[i][j]);
        }
    }
    if (p < k) {
        V av[GEMM_DM];
        PDT_GEMM_UNROLL
        for (int i = 0; i < GEMM_DM; ++i) av[i] = vload_tail(ar[i] + p, k - p);
        PDT_GEMM_UNROLL
        for (int j = 0; j < GEMM_DN; ++j) {
            const V bv = vload_tail(br[j] + p, k - p);
            PDT_GEMM_UNROLL
            for (int i = 0; i < GEMM_DM; ++i) acc[i][j] = vfma(av[i], bv, acc[i][j]);
        }
    }
    PDT_GEMM_UNROLL
    for (int i = 0; i < GEMM_DM; ++i) {
        if (i >= mr) break;
        PDT_GEMM_UNROLL
        for (int j = 0; j < GEMM_DN; ++j) {
            if (j >= nr) break;
            T r = alpha * vreduce_add(acc[i][j]);
            if (beta != 0) r += beta * c[i * ldc + j];
            if (bias) r += bias[j];
            c[i * ldc + j] = r;
        }
    }
}

/* Independent FMA chains: as many as the micro-kernel has accumulators, so the
 * loop is bound by FMA throughput, not latency. */
#define PDT_FMA_PEAK_CHAINS (GEMM_MR * GEMM_NV)

// sink (parts): one value per part so the chains are not optimized away; *flops ← flops done
// acc_c ← acc_c·x + y, reps times per chain, in `parts` threads of work at once
static pdt_status KN(fma_peak)(pdt_int reps, pdt_int parts, T *sink, double *flops) {
    PDT_OMP_FOR(parts > 1)
    for (pdt_int t = 0; t < parts; ++t) {
        V acc[PDT_FMA_PEAK_CHAINS];
        const V x = vset1((T)0.999999), y = vset1((T)1e-7);
        PDT_GEMM_UNROLL
        for (int q = 0; q < PDT_FMA_PEAK_CHAINS; ++q) acc[q] = vset1((T)(q + t));
        for (pdt_int r = 0; r < reps; ++r) {
            PDT_GEMM_UNROLL
            for (int q = 0; q < PDT_FMA_PEAK_CHAINS; ++q) acc[q] = vfma(acc[q], x, y);
        }
        V s = vzero();
        PDT_GEMM_UNROLL
        for (int q = 0; q < PDT_FMA_PEAK_CHAINS; ++q) s = vadd(s, acc[q]);
        sink[t] = vreduce_add(s);
    }
    *flops = 2.0 * (double)VN * PDT_FMA_PEAK_CHAINS * (double)reps * (double)parts;
    return PDT_OK;
}
