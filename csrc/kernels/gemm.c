/*
 * gemm.c — general matrix product, row-major:
 *   C = α·op(A)·op(B) + β·C (+ bias[j] added to every row),
 * op(A) (m, k), op(B) (k, n), C (m, n); op transposes when trans_* != 0.
 * β = 0 writes C without reading it; β = 1 accumulates (gradients).
 *
 * BLIS's five loops around the micro-kernel of gemm_ukernel.c (Van Zee & van
 * de Geijn, ACM TOMS 2015; Goto & van de Geijn, ACM TOMS 2008):
 *   jc: NC columns of C
 *    pc: KC of the depth  → pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide panels (L2)
 *     ic: MC rows of C    → pack op(A)[ic:ic+MC, pc:pc+KC] into MR-high panels (L3)
 *      ir: MR rows        (the A micro-panel stays in L1)
 *       jr: NR columns    → micro-kernel, MR × NR accumulators in registers
 * (the roles of BLIS's Sapphire Rapids/Skylake-X setup: the broadcast operand in
 * L1, the vector operand streamed from L2).
 * x·Wᵀ for a batch that is a multiple of the register-tile width, up to 128 rows (256 for wide layers on
 * AVX-512 in float32), runs transposed, Cᵀ = W·xᵀ, then C is transposed into place (gemm_use_swap): W is then
 * read in place, not transposed NR-wide panel by panel.
 * In the five loops, an op(A) whose rows are contiguous is not packed: the micro-kernel broadcasts from
 * its MR rows in place (that tile stays in L1 while the panels of the B block pass), and only rows short of a
 * tile are packed, which saves the transposing pack (bench/NOTES.md, "op(A) read in place").
 * Transposition is absorbed by the packing (or by the micro-kernel's A strides).
 * Edge tiles use the same micro-kernel with masked stores; operands that are not
 * packed have their edge panels copied into a small zero-padded buffer.
 *
 * Threads: C is cut into one slab per thread (columns when n ≥ m, else rows),
 * aligned to the register tile; each slab runs the loops above with its own
 * part of the calling thread's scratch buffer (scratch.h). Every element is
 * then summed by one thread, over the same KC blocks in the same k order, so
 * results are bit-identical for any thread count.
 */

#ifndef PDT_GEMM_HELPERS
#define PDT_GEMM_HELPERS
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
static inline pdt_int pdt_gemm_min(pdt_int a, pdt_int b) { return a < b ? a : b; }
static inline pdt_int pdt_gemm_round_up(pdt_int a, pdt_int b) { return (a + b - 1) / b * b; }
/* Unpacked ("sup") path for batch-sized m ≤ 128 (gemm_slab_sup), where packing whole blocks costs more
 * than it saves: A is read in place through the micro-kernel's strides and op(B) one NR-wide panel at a
 * time, copied into an L1 buffer just before use when it is transposed, reused by m ≥ 64 rows, or part of
 * an untransposed op(B) (dy·W, dyᵀ·x) of 2 MiB or more (read in place, a panel strides by ldb on every k
 * step, which the hardware prefetcher does not follow from beyond L2). Measurements: bench/NOTES.md,
 * "The unpacked path for batch-sized m". */
#define PDT_GEMM_SUP_M 128
#define PDT_GEMM_SUP_COPY_B_M 64
#define PDT_GEMM_SUP_COPY_B_BYTES (2 << 20)
/* ...except for an untransposed op(B) (dy·W, dyᵀ·x) when k and n are both ≥ 512 and m > 32, where the
 * five loops win. x·Wᵀ that is not swapped (gemm_use_swap) stays unpacked up to m = 128: the five loops win
 * only from about 160 rows (bench/NOTES.md, "The five loops for wide untransposed op(B) past 32 rows"). */
#define PDT_GEMM_SUP_BIG_M 32
#define PDT_GEMM_SWAP_M 128
#define PDT_GEMM_SWAP_BIG_PANELS 8  /* panels of x (NR rows each) up to which a wide layer is swapped (gemm_use_swap) */
#define PDT_GEMM_SWAP_BYTES (4 << 20)
#define PDT_GEMM_PACK_ROWS 16  /* source rows a copying pack takes into each panel per visit (gemm_pack_panels) */
#endif

/* x·Wᵀ runs as dot products along k (gemm_dot_tile), with no panel of W transposed and no register tile
 * mostly empty, for outputs narrower than half a tile (n ≤ NR/2, e.g. 10 classes) from k = 128, for
 * batches of m ≤ 16 rows from k = 256 and of m ≤ 32 from k = 1024: where it beats the unpacked path. Wider
 * outputs with more rows lose to the dot tile's final horizontal reductions and its reloads of x
 * (bench/NOTES.md, "Dot-product tiles"). */
static inline int KN(gemm_use_dot)(pdt_int m, pdt_int n, pdt_int k) {
    return (n <= GEMM_NR / 2 && k >= 128) || (m <= 16 && k >= 256) || (m <= 32 && k >= 1024);
}

/* The unpacked path also for narrow outputs of any m: with n ≤ 2·NR a packed A panel would serve only
 * one or two micro-tiles, so packing A costs more than reading it in place; up to 4·NR while A fits in L2
 * (1 MiB), as each panel of op(B) reads all of A again (bench/NOTES.md, "Narrow outputs"). */
static inline int KN(gemm_use_sup)(pdt_int m, pdt_int n, pdt_int k, int trans_b) {
    if (m <= PDT_GEMM_SUP_M) return trans_b || m <= PDT_GEMM_SUP_BIG_M || k < 512 || n < 512;
    return n <= 2 * GEMM_NR ||
           (n <= 4 * GEMM_NR && (double)m * (double)k * sizeof(T) <= (double)(1 << 20));
}

/* x·Wᵀ for a batch that is a multiple of the register-tile width NR, up to PDT_GEMM_SWAP_M rows, runs
 * transposed, Cᵀ = W·xᵀ, through the five loops, then each thread's slab of Cᵀ is transposed into C with the
 * bias (gemm_transpose_out): W, the large operand, is read in place by the micro-kernel's broadcasts instead of
 * having every NR-wide panel transposed into a buffer, and only x (into m / NR panels) and W's rows short of a
 * tile are packed. The conditions, each where the swap was measured to gain:
 *   m % NR == 0: otherwise part of a panel of x stays empty and the swap loses;
 *   n ≥ 128 (≥ 256 past 2·NR rows: the widths measured), k ≥ 256 (k = 128 lost);
 *   from 3·NR rows the dot-product tiles keep the shapes they take (gemm_use_dot), not measured swapped;
 *   Cᵀ takes scratch memory (scratch.h), up to PDT_GEMM_SWAP_BYTES;
 *   past 128 rows, up to PDT_GEMM_SWAP_BIG_PANELS panels of x (256 rows in float32 on AVX-512, no more than
 *   128 elsewhere), only wide layers (k ≥ 1024, n ≥ 512) gain; smaller ones lose.
 * The values are those of the unswapped micro-kernel: each element is the same fused k sequence, a·b + c
 * being the same product whichever operand is broadcast; the bias is added after, as the last step of the
 * unswapped epilogue. Measurements: bench/NOTES.md, "Swapped x·Wᵀ". */
static inline int KN(gemm_use_swap)(pdt_int m, pdt_int n, pdt_int k) {
    return m % GEMM_NR == 0 &&
           (m <= PDT_GEMM_SWAP_M || (m <= PDT_GEMM_SWAP_BIG_PANELS * GEMM_NR && k >= 1024 && n >= 512)) &&
           n >= (m <= 2 * GEMM_NR ? 128 : 256) && k >= 256 &&
           (m <= 2 * GEMM_NR || !KN(gemm_use_dot)(m, n, k)) &&
           (double)m * (double)n * sizeof(T) <= (double)PDT_GEMM_SWAP_BYTES;
}

// the operands of one call: element (i, p) of op(A) at a[i·rsa + p·csa], (p, j) of op(B) at b[p·rsb + j·csb]
typedef struct {
    pdt_int m, n, k;
    const T *a;
    pdt_int rsa, csa;
    const T *b;
    pdt_int rsb, csb;
    T *c;
    pdt_int ldc;
    const T *bias;
    T alpha, beta;
    int packed, dot, dot_copy_a, dot_copy_b;
    T *out;  // when swapped: c holds Cᵀ (gemm_use_swap), transposed into out (ldo apart) with out_bias added
    pdt_int ldo;
    const T *out_bias;
} KN(gemm_problem);

// rows[0:nrows] (each `ld` apart, contiguous along p) at p0..p0+pk → dst[q·width + 0:lanes] (+ add[0:lanes]
// when given) for q < pk, i.e. a transposed VN × VN block: rows past nrows read as zero, lanes ≤ VN are stored
static inline void KN(gemm_pack_block_t)(const T *restrict rows, pdt_int ld, pdt_int nrows, pdt_int pk, T *restrict dst,
                                          pdt_int width, pdt_int lanes, const T *restrict add) {
    V r[VN];
    for (pdt_int q = 0; q < VN; ++q)
        r[q] = q >= nrows ? vzero() : vload_part(rows + q * ld, pk);
    vtranspose(r);
    const V va = add ? vload_part(add, lanes) : vzero();
    for (pdt_int q = 0; q < pk; ++q) vstore_part(dst + q * width, add ? vadd(r[q], va) : r[q], lanes);
}

// src (count, kc), element (i, p) at src[i·sc + p·sk] → width-wide micro-panels, dst[(i/width)·width·kc +
// p·width + i%width]; elements past count are zero. gemm_pack_a and gemm_pack_b below, width MR and NR.
// A source contiguous along i is copied PDT_GEMM_PACK_ROWS values of p at a time across all panels: panel by
// panel, each source row gives only width·sizeof(T) bytes per visit, too little for the hardware prefetcher at
// a 4 KiB row pitch; one row at a time writes every panel once per row, and the panels, a multiple of 4 KiB
// apart, share L1 sets (bench/NOTES.md, "Copying pack, 16 rows a visit").
// A source contiguous along p is transposed VN × VN blocks at a time in registers.
PDT_GEMM_INLINE void KN(gemm_pack_panels)(pdt_int count, pdt_int kc, const T *restrict src, pdt_int sc, pdt_int sk,
                                          T *restrict dst, const int width) {
    if (sc == 1) {
        for (pdt_int p0 = 0; p0 < kc; p0 += PDT_GEMM_PACK_ROWS)
            for (pdt_int i0 = 0; i0 < count; i0 += width) {
                const pdt_int w = pdt_gemm_min(width, count - i0);
                for (pdt_int p = p0; p < pdt_gemm_min(kc, p0 + PDT_GEMM_PACK_ROWS); ++p) {
                    const T *from = src + p * sk + i0;
                    T *to = dst + i0 * kc + p * width;
                    for (int i = 0; i < width; i += VN) {
                        const pdt_int take = pdt_gemm_min(VN, width - i), have = pdt_gemm_min(take, w - i);
                        vstore_part(to + i, have > 0 ? vload_part(from + i, have) : vzero(), take);
                    }
                }
            }
        return;
    }
    for (pdt_int i0 = 0; i0 < count; i0 += width) {
        const pdt_int w = pdt_gemm_min(width, count - i0);
        for (pdt_int p0 = 0; p0 < kc; p0 += VN)
            for (int i = 0; i < width; i += VN)
                KN(gemm_pack_block_t)(src + (i0 + i) * sc + p0, sc, w - i, pdt_gemm_min(VN, kc - p0),
                                      dst + i0 * kc + p0 * width + i, width, pdt_gemm_min(VN, width - i), NULL);
    }
}

// op(A)[0:mc, 0:kc] → MR-row micro-panels, pa[(i/MR)·MR·kc + p·MR + i%MR]; rows past mc are zero
static void KN(gemm_pack_a)(pdt_int mc, pdt_int kc, const T *restrict a, pdt_int rsa, pdt_int csa, T *restrict pa) {
    KN(gemm_pack_panels)(mc, kc, a, rsa, csa, pa, GEMM_MR);
}

// op(B)[0:kc, 0:nc] → NR-wide micro-panels, pb[(j/NR)·NR·kc + p·NR + j%NR]; columns past nc are zero
static void KN(gemm_pack_b)(pdt_int kc, pdt_int nc, const T *restrict b, pdt_int rsb, pdt_int csb, T *restrict pb) {
    KN(gemm_pack_panels)(nc, kc, b, csb, rsb, pb, GEMM_NR);
}

// c[0:m, 0:n] ← β·c + bias, the whole product when k = 0
static void KN(gemm_scale)(pdt_int m, pdt_int n, T beta, const T *bias, T *c, pdt_int ldc) {
    const V vb = vset1(beta);
    for (pdt_int i = 0; i < m; ++i)
        for (pdt_int j = 0; j < n; j += VN) {
            const pdt_int r = pdt_gemm_min(VN, n - j);
            V x = beta != 0 ? vmul(vb, vload_part(c + i * ldc + j, r)) : vzero();
            if (bias) x = vadd(x, vload_part(bias + j, r));
            vstore_part(c + i * ldc + j, x, r);
        }
}

// buffer elements one slab needs: the packed A and B blocks, or the two edge panels of the unpacked path
static pdt_int KN(gemm_slab_buffer)(const KN(gemm_problem) *g, pdt_int rows, pdt_int cols) {
    const pdt_int kc = pdt_gemm_min(GEMM_KC, g->k);
    if (!g->packed) return pdt_gemm_round_up((GEMM_MR + GEMM_NR) * kc, 64);
    const pdt_int a = pdt_gemm_round_up(pdt_gemm_min(GEMM_MC, rows), GEMM_MR) * kc;
    const pdt_int b = pdt_gemm_round_up(pdt_gemm_min(GEMM_NC, cols), GEMM_NR) * kc;
    return pdt_gemm_round_up(a + b, 64);
}

// whether rows of T, `ld` apart from p, all start on a vector boundary (VN·sizeof(T) bytes)
static inline int KN(gemm_rows_aligned)(const T *p, pdt_int ld) {
    return ((uintptr_t)p | (uintptr_t)ld * sizeof(T)) % (VN * sizeof(T)) == 0;
}

// row pitch of the rows gemm_dot_slab copies: whole vectors
static inline pdt_int KN(gemm_dot_pitch)(pdt_int k) { return pdt_gemm_round_up(k, VN); }

// rows[0:count] (ld apart, k long) → dst at `pitch`
static void KN(gemm_copy_rows)(pdt_int count, pdt_int k, const T *restrict rows, pdt_int ld, T *restrict dst,
                               pdt_int pitch) {
    for (pdt_int r = 0; r < count; ++r) memcpy(dst + r * pitch, rows + r * ld, (size_t)k * sizeof(T));
}

// C[m0:m1, n0:n1] of A·Bᵀ by dot-product tiles; a DN-row strip of B stays in L1 while the rows of A pass.
// A vector load from a row that does not start on a vector boundary straddles two cache lines (NumPy's
// large arrays start 16 bytes into one), which slows the tiles down (bench/NOTES.md, "Aligned copies"): a
// misaligned strip of B is copied to aligned rows in `buf` when several tiles use it (dot_copy_b), and the
// slab's rows of A once, when many strips pass over them and they are small (dot_copy_a). The values are
// the same either way: each row is summed lane p % VN by lane, in k order, wherever it lies.
static void KN(gemm_dot_slab)(const KN(gemm_problem) *g, pdt_int m0, pdt_int m1, pdt_int n0, pdt_int n1, T *buf) {
    const pdt_int pitch = KN(gemm_dot_pitch)(g->k);
    const T *a = g->a + m0 * g->rsa;
    pdt_int lda = g->rsa;
    if (g->dot_copy_a) {
        KN(gemm_copy_rows)(m1 - m0, g->k, a, lda, buf + GEMM_DN * pitch, pitch);
        a = buf + GEMM_DN * pitch;
        lda = pitch;
    }
    for (pdt_int j0 = n0; j0 < n1; j0 += GEMM_DN) {
        const pdt_int nr = pdt_gemm_min(GEMM_DN, n1 - j0);
        const T *strip = g->b + j0 * g->csb;
        pdt_int ldb = g->csb;
        if (g->dot_copy_b) {
            KN(gemm_copy_rows)(nr, g->k, strip, ldb, buf, pitch);
            strip = buf;
            ldb = pitch;
        }
        for (pdt_int i0 = 0; i0 < m1 - m0; i0 += GEMM_DM)
            KN(gemm_dot_tile)(g->k, a + i0 * lda, lda, strip, ldb, g->alpha, g->beta,
                              g->c + (m0 + i0) * g->ldc + j0, g->ldc, pdt_gemm_min(GEMM_DM, m1 - m0 - i0), nr,
                              g->bias ? g->bias + j0 : NULL);
    }
}

// C[m0:m1, n0:n1] for batch-sized m without block packing: for each NR-wide panel of op(B), every
// MR-row tile of A in turn. A is read in place (its edge rows packed once per KC block into ea);
// a panel of op(B) is read in place, or copied into the L1-sized eb just before use when op(B) is
// transposed, m is large enough to reuse it, op(B) takes 2 MiB or more, or the panel is an edge: no
// packed B block travels through L2.
static void KN(gemm_slab_sup)(const KN(gemm_problem) *g, pdt_int m0, pdt_int m1, pdt_int n0, pdt_int n1, T *ea,
                              T *eb) {
    const pdt_int mc = m1 - m0, medge = mc / GEMM_MR * GEMM_MR;
    const int copy_b = g->csb != 1 || g->m >= PDT_GEMM_SUP_COPY_B_M ||
                       (double)g->k * (double)g->n * sizeof(T) >= (double)PDT_GEMM_SUP_COPY_B_BYTES;
    for (pdt_int pc = 0; pc < g->k; pc += GEMM_KC) {
        const pdt_int kc = pdt_gemm_min(GEMM_KC, g->k - pc);
        const T beta = pc == 0 ? g->beta : (T)1;
        const T *bias = pc + kc == g->k ? g->bias : NULL;
        const T *ablk = g->a + m0 * g->rsa + pc * g->csa;
        if (medge < mc) KN(gemm_pack_a)(mc - medge, kc, ablk + medge * g->rsa, g->rsa, g->csa, ea);
        for (pdt_int jr = n0; jr < n1; jr += GEMM_NR) {
            const pdt_int nr = pdt_gemm_min(GEMM_NR, n1 - jr);
            const T *bp = g->b + pc * g->rsb + jr * g->csb;
            pdt_int rsb = g->rsb;
            if (copy_b || nr < GEMM_NR) {
                KN(gemm_pack_b)(kc, nr, bp, g->rsb, g->csb, eb);
                bp = eb;
                rsb = GEMM_NR;
            }
            const T *biasp = bias ? bias + jr : NULL;
            for (pdt_int ir = 0; ir < mc; ir += GEMM_MR) {
                T *cp = g->c + (m0 + ir) * g->ldc + jr;
                if (ir < medge)
                    KN(gemm_ukernel_strided)(kc, ablk + ir * g->rsa, g->rsa, g->csa, bp, rsb, g->alpha, beta, cp,
                                             g->ldc, GEMM_MR, nr, biasp);
                else
                    KN(gemm_ukernel_packed)(kc, ea, bp, rsb, g->alpha, beta, cp, g->ldc, mc - ir, nr, biasp);
            }
        }
    }
}

// out[j, i] ← c[i, j] + out_bias[i] for i in m0..m1, j in n0..n1: a swapped product's slab (of Cᵀ) into C,
// VN rows of C at a time, each written left to right: column strip by column strip, every store would go to a
// different row of C, 4 KiB multiples apart at a 1024-wide layer, in one L1 set and out of the hardware
// prefetcher's reach (bench/NOTES.md, "Transposing a swapped product into C").
static void KN(gemm_transpose_out)(const KN(gemm_problem) *g, pdt_int m0, pdt_int m1, pdt_int n0, pdt_int n1) {
    for (pdt_int j0 = n0; j0 < n1; j0 += VN)
        for (pdt_int i0 = m0; i0 < m1; i0 += VN) {
            const pdt_int rows = pdt_gemm_min(VN, m1 - i0);
            KN(gemm_pack_block_t)(g->c + i0 * g->ldc + j0, g->ldc, rows, pdt_gemm_min(VN, n1 - j0),
                                  g->out + j0 * g->ldo + i0, g->ldo, rows, g->out_bias ? g->out_bias + i0 : NULL);
        }
}

// C[m0:m1, n0:n1] by the five loops (or the unpacked / dot-product paths), with the slab's own buffer
static void KN(gemm_slab)(const KN(gemm_problem) *g, pdt_int m0, pdt_int m1, pdt_int n0, pdt_int n1, T *buf) {
    const pdt_int kcmax = pdt_gemm_min(GEMM_KC, g->k);
    if (g->dot) {
        KN(gemm_dot_slab)(g, m0, m1, n0, n1, buf);
        return;
    }
    if (!g->packed) {
        KN(gemm_slab_sup)(g, m0, m1, n0, n1, buf, buf + GEMM_MR * kcmax);
        return;
    }
    T *pa = buf, *pb = buf + pdt_gemm_round_up(pdt_gemm_min(GEMM_MC, m1 - m0), GEMM_MR) * kcmax;
    for (pdt_int jc = n0; jc < n1; jc += GEMM_NC) {
        const pdt_int nc = pdt_gemm_min(GEMM_NC, n1 - jc);
        for (pdt_int pc = 0; pc < g->k; pc += GEMM_KC) {
            const pdt_int kc = pdt_gemm_min(GEMM_KC, g->k - pc);
            const T beta = pc == 0 ? g->beta : (T)1;
            const T *bias = pc + kc == g->k && g->bias ? g->bias + jc : NULL;
            KN(gemm_pack_b)(kc, nc, g->b + pc * g->rsb + jc * g->csb, g->rsb, g->csb, pb);
            for (pdt_int ic = m0; ic < m1; ic += GEMM_MC) {
                const pdt_int mc = pdt_gemm_min(GEMM_MC, m1 - ic);
                const T *ablk = g->a + ic * g->rsa + pc * g->csa;
                // op(A) with contiguous rows: read in place, but for the rows short of a tile (see the file header)
                const pdt_int in_place = g->csa == 1 ? mc / GEMM_MR * GEMM_MR : 0;
                KN(gemm_pack_a)(mc - in_place, kc, ablk + in_place * g->rsa, g->rsa, g->csa, pa + in_place * kc);
                for (pdt_int ir = 0; ir < mc; ir += GEMM_MR) {
                    T *cp = g->c + (ic + ir) * g->ldc + jc;
                    for (pdt_int jr = 0; jr < nc; jr += GEMM_NR) {
                        const pdt_int nr = pdt_gemm_min(GEMM_NR, nc - jr);
                        if (ir < in_place)
                            KN(gemm_ukernel_strided)(kc, ablk + ir * g->rsa, g->rsa, 1, pb + jr * kc, GEMM_NR, g->alpha,
                                                     beta, cp + jr, g->ldc, GEMM_MR, nr, bias ? bias + jr : NULL);
                        else
                            KN(gemm_ukernel_packed)(kc, pa + ir * kc, pb + jr * kc, GEMM_NR, g->alpha, beta, cp + jr,
                                                    g->ldc, mc - ir, nr, bias ? bias + jr : NULL);
                    }
                }
            }
        }
    }
    if (g->out) KN(gemm_transpose_out)(g, m0, m1, n0, n1);  // a swapped product's slab of Cᵀ into C
}

static pdt_status KN(gemm)(int trans_a, int trans_b, pdt_int m, pdt_int n, pdt_int k, double alpha,
                           const T *a, pdt_int lda, const T *b, pdt_int ldb, double beta,
                           T *c, pdt_int ldc, const T *bias) {
    if (m <= 0 || n <= 0) return PDT_OK;
    if (k <= 0) {
        KN(gemm_scale)(m, n, (T)beta, bias, c, ldc);
        return PDT_OK;
    }
    KN(gemm_problem) g = {
        .m = m, .n = n, .k = k, .a = a, .rsa = trans_a ? 1 : lda, .csa = trans_a ? lda : 1,
        .b = b, .rsb = trans_b ? 1 : ldb, .csb = trans_b ? ldb : 1, .c = c, .ldc = ldc, .bias = bias,
        .alpha = (T)alpha, .beta = (T)beta,
        .packed = !KN(gemm_use_sup)(m, n, k, trans_b),
        .dot = trans_b && !trans_a && KN(gemm_use_dot)(m, n, k),
    };
    if (trans_b && !trans_a && beta == 0 && KN(gemm_use_swap)(m, n, k))  // Cᵀ = B·Aᵀ by the five loops; c set below
        g = (KN(gemm_problem)){.m = n, .n = m, .k = k, .a = b, .rsa = ldb, .csa = 1, .b = a, .rsb = 1, .csb = lda,
                               .ldc = m, .alpha = (T)alpha, .packed = 1, .out = c, .ldo = ldc, .out_bias = bias};
    // aligned copies for the dot tiles (see gemm_dot_slab): B's strips when several row tiles use each, A's
    // rows when more than 4 strips pass over them and they take at most 1 MiB
    g.dot_copy_b = g.dot && m > GEMM_DM && !KN(gemm_rows_aligned)(b, ldb);
    g.dot_copy_a = g.dot && n > 4 * GEMM_DN && (double)m * k * sizeof(T) <= (double)(1 << 20) &&
                   !KN(gemm_rows_aligned)(a, lda);
    // one slab per thread: columns when C is wide, else rows, aligned to the register tile
    const int threads = pdt_get_num_threads();
    pdt_int parts = (double)m * (double)n * (double)k >= PDT_GEMM_PAR_MIN ? threads : 1;
    const int by_cols = g.n >= g.m;
    const pdt_int tile = g.dot ? (by_cols ? GEMM_DN : GEMM_DM) : (by_cols ? GEMM_NR : GEMM_MR);
    const pdt_int extent = by_cols ? g.n : g.m;
    const pdt_int step = pdt_gemm_round_up((extent + parts - 1) / parts, tile);
    parts = (extent + step - 1) / step;
    // the dot path's buffer: B's strip at its start, then the slab's rows of A when those are copied
    const pdt_int per = g.dot ? (g.dot_copy_a || g.dot_copy_b
                                     ? pdt_gemm_round_up((GEMM_DN + (g.dot_copy_a ? (by_cols ? g.m : step) : 0)) *
                                                             KN(gemm_dot_pitch)(k), 64)
                                     : 0)
                              : KN(gemm_slab_buffer)(&g, by_cols ? g.m : step, by_cols ? step : g.n);
    const pdt_int swapped = g.out ? pdt_gemm_round_up(g.m * g.n, 64) : 0;  // Cᵀ after the slabs' buffers
    T *buf = NULL;
    if (per + swapped > 0 && !(buf = pdt_scratch((size_t)(per * parts + swapped) * sizeof(T)))) return PDT_ENOMEM;
    if (g.out) g.c = buf + per * parts;
    PDT_OMP_FOR(parts > 1)
    for (pdt_int s = 0; s < parts; ++s) {
        const pdt_int lo = s * step, hi = pdt_gemm_min(extent, lo + step);
        T *own = buf ? buf + s * per : NULL;
        if (by_cols) KN(gemm_slab)(&g, 0, g.m, lo, hi, own);
        else KN(gemm_slab)(&g, lo, hi, 0, g.n, own);
    }
    return PDT_OK;
}
