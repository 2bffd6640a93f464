/*
 * test_core.c — unit tests of the C core, run under ASan/UBSan by
 * `make -C csrc test`: Philox known answers, permutations, and every compiled
 * SIMD target against the scalar reference at awkward sizes (the tails are
 * where a kernel reads or writes out of bounds, which the sanitizers catch), and
 * convolution and pooling at every level against direct loops in double.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pdt.h"
#include "rng.h"

static int failures = 0;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            ++failures;                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                  \
            fprintf(stderr, "\n");                         \
        }                                                  \
    } while (0)

static const pdt_int sizes[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 1023};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* Known-answer vectors of Random123 (kat_vectors, philox4x32_10). */
static void test_philox_kat(void) {
    const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    const uint32_t key[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                 {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                 {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    for (int t = 0; t < 3; ++t) {
        uint32_t out[4];
        pdt_philox4x32_10(ctr[t], key[t], out);
        for (int w = 0; w < 4; ++w) CHECK(out[w] == want[t][w], "philox KAT %d word %d: %08x != %08x", t, w, out[w], want[t][w]);
    }
}

static void test_permutation(void) {
    for (size_t s = 0; s < NSIZES; ++s) {
        pdt_int n = sizes[s];
        int64_t *perm = malloc((size_t)(n + 1) * sizeof *perm);
        char *seen = calloc((size_t)n + 1, 1);
        pdt_permutation((pdt_rng){42, 7}, n, perm);
        for (pdt_int i = 0; i < n; ++i) {
            CHECK(perm[i] >= 0 && perm[i] < n, "permutation value out of range");
            if (perm[i] >= 0 && perm[i] < n) seen[perm[i]]++;
        }
        for (pdt_int i = 0; i < n; ++i) CHECK(seen[i] == 1, "permutation of %lld misses %lld", (long long)n, (long long)i);
        free(perm);
        free(seen);
    }
}

static void fill(pdt_int n, float *x, unsigned seed) {
    for (pdt_int i = 0; i < n; ++i) x[i] = (float)(pdt_uniform_at(seed, 0, (uint64_t)i) * 4.0 - 2.0);
}

static double max_abs_diff(pdt_int n, const float *a, const float *b) {
    double d = 0;
    for (pdt_int i = 0; i < n; ++i) d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* Each target's float kernels against the scalar table, exact sizes only (malloc'd to n, no slack). */
static void test_target(pdt_simd level) {
    const pdt_kernels *ref = pdt_kernels_for(PDT_SIMD_SCALAR), *k = pdt_kernels_for(level);
    if (!k) return;
    for (size_t s = 0; s < NSIZES; ++s) {
        pdt_int n = sizes[s], bytes = (n ? n : 1) * (pdt_int)sizeof(float);
        float *x = malloc(bytes), *dy = malloc(bytes), *y0 = malloc(bytes), *y1 = malloc(bytes);
        fill(n, x, 1);
        fill(n, dy, 2);
        ref->relu_forward_f32(n, x, y0);
        k->relu_forward_f32(n, x, y1);
        CHECK(max_abs_diff(n, y0, y1) == 0, "%s relu_forward n=%lld", pdt_simd_name(level), (long long)n);
        ref->relu_backward_f32(n, x, dy, y0);
        k->relu_backward_f32(n, x, dy, y1);
        CHECK(max_abs_diff(n, y0, y1) == 0, "%s relu_backward n=%lld", pdt_simd_name(level), (long long)n);
        memcpy(y0, x, (size_t)n * sizeof(float));
        memcpy(y1, x, (size_t)n * sizeof(float));
        ref->sgd_step_f32(n, y0, dy, 0.1);
        k->sgd_step_f32(n, y1, dy, 0.1);
        CHECK(max_abs_diff(n, y0, y1) < 1e-6, "%s sgd_step n=%lld", pdt_simd_name(level), (long long)n);
        free(x); free(dy); free(y0); free(y1);
    }
    /* L2 and L1 penalties: value and gradient against scalar; past one chunk, 1 and 2 threads bit for bit */
    const pdt_int pen_sizes[] = {0, 1, 7, 17, 1023, 3 * 16384 + 5, 300001};
    for (size_t s = 0; s < sizeof pen_sizes / sizeof pen_sizes[0]; ++s) {
        const pdt_int n = pen_sizes[s], bytes = (n ? n : 1) * (pdt_int)sizeof(float);
        float *w = malloc(bytes), *g0 = malloc(bytes), *g1 = malloc(bytes), *g2 = malloc(bytes);
        for (int l1 = 0; l1 < 2; ++l1) {
            double v0, v1, v2;
            fill(n, w, 17);
            if (n) w[n / 2] = 0.0f;  /* sign(0) = 0 */
            fill(n, g0, 18);
            memcpy(g1, g0, (size_t)n * sizeof(float));
            memcpy(g2, g0, (size_t)n * sizeof(float));
            pdt_status (*ref_k)(pdt_int, const float *, float *, double, double *) = l1 ? ref->l1_penalty_f32 : ref->l2_penalty_f32;
            pdt_status (*k_k)(pdt_int, const float *, float *, double, double *) = l1 ? k->l1_penalty_f32 : k->l2_penalty_f32;
            ref_k(n, w, g0, 0.3, &v0);
            pdt_set_num_threads(1);
            k_k(n, w, g1, 0.3, &v1);
            pdt_set_num_threads(2);
            k_k(n, w, g2, 0.3, &v2);
            pdt_set_num_threads(1);
            CHECK(fabs(v0 - v1) <= 1e-6 * fabs(v0) && max_abs_diff(n, g0, g1) < 1e-6, "%s %s_penalty n=%lld",
                  pdt_simd_name(level), l1 ? "l1" : "l2", (long long)n);
            CHECK(v1 == v2 && memcmp(g1, g2, (size_t)n * sizeof(float)) == 0, "%s %s_penalty 1 vs 2 threads n=%lld",
                  pdt_simd_name(level), l1 ? "l1" : "l2", (long long)n);
        }
        free(w); free(g0); free(g1); free(g2);
    }
    /* Σ x² of float32 values whose squares overflow float: finite, and the same bits on every target and
     * thread count (such a chunk is summed again in double, element by element) */
    const pdt_int big_sizes[] = {1, 300, 3 * 16384 + 5};
    for (size_t s = 0; s < sizeof big_sizes / sizeof big_sizes[0]; ++s) {
        const pdt_int n = big_sizes[s];
        float *x = malloc((size_t)n * sizeof(float));
        for (pdt_int i = 0; i < n; ++i) x[i] = i % 3 ? 1e20f : -3e19f;
        double v0, v1, v2;
        ref->clip_sumsq_f32(n, x, &v0);
        k->clip_sumsq_f32(n, x, &v1);
        pdt_set_num_threads(2);
        k->clip_sumsq_f32(n, x, &v2);
        pdt_set_num_threads(1);
        CHECK(isfinite(v0) && v0 == v1 && v1 == v2, "%s clip_sumsq of float-overflowing squares n=%lld: %g %g %g",
              pdt_simd_name(level), (long long)n, v0, v1, v2);
        free(x);
    }
    /* softmax cross-entropy, rows of k classes (integer labels with smoothing, and soft targets) */
    for (size_t s = 0; s < NSIZES; ++s) {
        const pdt_int rows = 3, kk = sizes[s], n = rows * kk;
        if (kk == 0) continue;
        float *z = malloc(sizeof(float) * n), *t = malloc(sizeof(float) * n), *p0 = malloc(sizeof(float) * n);
        float *p1 = malloc(sizeof(float) * n), *l0 = malloc(sizeof(float) * rows), *l1 = malloc(sizeof(float) * rows);
        const int64_t labels[3] = {0, kk / 2, kk - 1};
        fill(n, z, 11);
        fill(n, t, 12);
        for (pdt_int i = 0; i < n; ++i) t[i] = t[i] < 0 ? 0 : t[i];  /* some zero targets */
        ref->cross_entropy_forward_f32(rows, kk, z, labels, 0.9, 0.01, p0, l0);
        k->cross_entropy_forward_f32(rows, kk, z, labels, 0.9, 0.01, p1, l1);
        CHECK(max_abs_diff(n, p0, p1) < 1e-6 && max_abs_diff(rows, l0, l1) < 1e-5 * (double)kk,
              "%s cross_entropy_forward k=%lld", pdt_simd_name(level), (long long)kk);
        ref->cross_entropy_soft_forward_f32(rows, kk, z, t, p0, l0);
        k->cross_entropy_soft_forward_f32(rows, kk, z, t, p1, l1);
        CHECK(max_abs_diff(n, p0, p1) < 1e-6 && max_abs_diff(rows, l0, l1) < 1e-5 * (double)kk,
              "%s cross_entropy_soft_forward k=%lld", pdt_simd_name(level), (long long)kk);
        free(z); free(t); free(p0); free(p1); free(l0); free(l1);
    }
    /* gemm, every transposition, m x n x k over awkward sizes */
    const pdt_int dims[] = {1, 3, 8, 9, 17, 33};
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
            for (int im = 0; im < 6; ++im)
                for (int in = 0; in < 6; ++in)
                    for (int ik = 0; ik < 6; ++ik) {
                        pdt_int m = dims[im], n = dims[in], kk = dims[ik];
                        float *a = malloc(sizeof(float) * m * kk), *b = malloc(sizeof(float) * kk * n);
                        float *c0 = malloc(sizeof(float) * m * n), *c1 = malloc(sizeof(float) * m * n);
                        float *bias = malloc(sizeof(float) * n);
                        fill(m * kk, a, 3); fill(kk * n, b, 4); fill(m * n, c0, 5); fill(n, bias, 6);
                        memcpy(c1, c0, sizeof(float) * m * n);
                        ref->gemm_f32(ta, tb, m, n, kk, 0.5, a, ta ? m : kk, b, tb ? kk : n, 1.0, c0, n, bias);
                        k->gemm_f32(ta, tb, m, n, kk, 0.5, a, ta ? m : kk, b, tb ? kk : n, 1.0, c1, n, bias);
                        CHECK(max_abs_diff(m * n, c0, c1) < 1e-4, "%s gemm ta=%d tb=%d %lldx%lldx%lld", pdt_simd_name(level),
                              ta, tb, (long long)m, (long long)n, (long long)kk);
                        free(a); free(b); free(c0); free(c1); free(bias);
                    }
    /* gemm past the register tile and the cache blocks (KC, MC, NC edges, unpacked and dot-product
     * paths, the latter with its aligned copies of misaligned rows: malloc gives 16-byte alignment and
     * rows of 300, 201 or 1030 floats start off a vector boundary; the last three are split between
     * two threads, by columns with copies of A and B, by rows with copies of A, by rows with copies of B),
     * every transposition, against scalar; 1 and 2 threads must agree bit for bit. 23 x 700 x 800: the
     * unpacked path copying each panel of an op(B) of 2 MiB or more, edge tiles of 11, 5 and 3 rows */
    const pdt_int big[][3] = {{97, 65, 300}, {13, 4100, 3}, {481, 33, 257}, {200, 130, 600}, {64, 70, 520}, {37, 1, 1025},
                              {23, 700, 800},
                              {16, 50, 300}, {130, 10, 201}, {32, 300, 1030}, {32, 28, 1030}, {600, 4, 300}};
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
            for (size_t s = 0; s < sizeof big / sizeof big[0]; ++s) {
                pdt_int m = big[s][0], n = big[s][1], kk = big[s][2];
                float *a = malloc(sizeof(float) * m * kk), *b = malloc(sizeof(float) * kk * n);
                float *c0 = malloc(sizeof(float) * m * n), *c1 = malloc(sizeof(float) * m * n);
                float *c2 = malloc(sizeof(float) * m * n), *bias = malloc(sizeof(float) * n);
                fill(m * kk, a, 7); fill(kk * n, b, 8); fill(m * n, c0, 9); fill(n, bias, 10);
                memcpy(c1, c0, sizeof(float) * m * n);
                memcpy(c2, c0, sizeof(float) * m * n);
                ref->gemm_f32(ta, tb, m, n, kk, -1.5, a, ta ? m : kk, b, tb ? kk : n, 1.0, c0, n, bias);
                pdt_set_num_threads(1);
                k->gemm_f32(ta, tb, m, n, kk, -1.5, a, ta ? m : kk, b, tb ? kk : n, 1.0, c1, n, bias);
                pdt_set_num_threads(2);
                k->gemm_f32(ta, tb, m, n, kk, -1.5, a, ta ? m : kk, b, tb ? kk : n, 1.0, c2, n, bias);
                pdt_set_num_threads(1);
                CHECK(max_abs_diff(m * n, c0, c1) < 2e-5 * (double)kk, "%s gemm ta=%d tb=%d %lldx%lldx%lld",
                      pdt_simd_name(level), ta, tb, (long long)m, (long long)n, (long long)kk);
                CHECK(memcmp(c1, c2, sizeof(float) * m * n) == 0, "%s gemm 1 vs 2 threads ta=%d tb=%d %lldx%lldx%lld",
                      pdt_simd_name(level), ta, tb, (long long)m, (long long)n, (long long)kk);
                free(a); free(b); free(c0); free(c1); free(c2); free(bias);
            }
    /* x·Wᵀ with β = 0 over outputs full of NaN (never read) for batches around multiples of the register-tile width
     * up to 128 rows (NR = 4 scalar, 12 NEON, 16 AVX2, 32 AVX-512 in float32), which run transposed (gemm_use_swap),
     * and at 192 and 256 rows (transposed on AVX-512 at 520 × 1030), one and several KC blocks, from 2^19
     * multiply-adds on split between two threads: against scalar, 1 and 2 threads bit for bit */
    const pdt_int batch[] = {4, 8, 12, 16, 24, 32, 33, 48, 64, 96, 128, 192, 256},
                  wide[][2] = {{128, 256}, {201, 300}, {1030, 600}, {520, 1030}};
    for (size_t im = 0; im < sizeof batch / sizeof batch[0]; ++im)
        for (size_t s = 0; s < sizeof wide / sizeof wide[0]; ++s) {
            pdt_int m = batch[im], n = wide[s][0], kk = wide[s][1];
            float *a = malloc(sizeof(float) * m * kk), *b = malloc(sizeof(float) * kk * n);
            float *c0 = malloc(sizeof(float) * m * n), *c1 = malloc(sizeof(float) * m * n);
            float *c2 = malloc(sizeof(float) * m * n), *bias = malloc(sizeof(float) * n);
            fill(m * kk, a, 11); fill(kk * n, b, 12); fill(n, bias, 13);
            for (pdt_int i = 0; i < m * n; ++i) c0[i] = c1[i] = c2[i] = NAN;
            ref->gemm_f32(0, 1, m, n, kk, 0.5, a, kk, b, kk, 0.0, c0, n, bias);
            pdt_set_num_threads(1);
            k->gemm_f32(0, 1, m, n, kk, 0.5, a, kk, b, kk, 0.0, c1, n, bias);
            pdt_set_num_threads(2);
            k->gemm_f32(0, 1, m, n, kk, 0.5, a, kk, b, kk, 0.0, c2, n, bias);
            pdt_set_num_threads(1);
            pdt_int unwritten = 0;
            for (pdt_int i = 0; i < m * n; ++i) unwritten += !isfinite(c1[i]);
            CHECK(unwritten == 0 && max_abs_diff(m * n, c0, c1) < 2e-5 * (double)kk, "%s gemm x·Wt beta=0 %lldx%lldx%lld",
                  pdt_simd_name(level), (long long)m, (long long)n, (long long)kk);
            CHECK(memcmp(c1, c2, sizeof(float) * m * n) == 0, "%s gemm x·Wt beta=0 1 vs 2 threads %lldx%lldx%lld",
                  pdt_simd_name(level), (long long)m, (long long)n, (long long)kk);
            free(a); free(b); free(c0); free(c1); free(c2); free(bias);
        }
    /* x·Wᵀ with every leading dimension past its row (lda, ldb > k, ldc > n), operands allocated to their last
     * element, transposed (gemm_use_swap) at 32, 64 and 128 rows on AVX-512 and AVX2 (64 × 130 only on AVX-512),
     * at 256 rows on AVX-512, not at 97: bit for bit
     * (W·xᵀ)ᵀ + bias computed unswapped by this target (no shape here takes the dot-product tile either way), the
     * gaps between C's rows left untouched, 1 and 2 threads */
    const pdt_int xwt_ld[][3] = {{32, 200, 257}, {32, 1030, 513}, {64, 130, 256}, {64, 1030, 1031}, {97, 1030, 1031},
                                 {128, 300, 513}, {128, 1030, 1031}, {256, 520, 1024}};
    for (size_t s = 0; s < sizeof xwt_ld / sizeof xwt_ld[0]; ++s) {
        const pdt_int m = xwt_ld[s][0], n = xwt_ld[s][1], kk = xwt_ld[s][2], lda = kk + 3, ldb = kk + 5, ldc = n + 7;
        const pdt_int asize = (m - 1) * lda + kk, bsize = (n - 1) * ldb + kk, csize = (m - 1) * ldc + n;
        float *a = malloc(sizeof(float) * asize), *b = malloc(sizeof(float) * bsize), *bias = malloc(sizeof(float) * n);
        float *c1 = malloc(sizeof(float) * csize), *c2 = malloc(sizeof(float) * csize);
        float *ct = malloc(sizeof(float) * n * m);
        fill(asize, a, 14); fill(bsize, b, 15); fill(n, bias, 16);
        for (pdt_int i = 0; i < csize; ++i) c1[i] = c2[i] = 1234.5f;
        k->gemm_f32(0, 1, n, m, kk, -0.75, b, ldb, a, lda, 0.0, ct, m, NULL);
        pdt_set_num_threads(1);
        k->gemm_f32(0, 1, m, n, kk, -0.75, a, lda, b, ldb, 0.0, c1, ldc, bias);
        pdt_set_num_threads(2);
        k->gemm_f32(0, 1, m, n, kk, -0.75, a, lda, b, ldb, 0.0, c2, ldc, bias);
        pdt_set_num_threads(1);
        pdt_int differ = 0, gaps = 0;
        double err = 0;  // against a plain double loop: the unswapped product shares the in-place reads of op(A)
        for (pdt_int i = 0; i < m; ++i) {
            for (pdt_int j = 0; j < n; ++j) {
                double want = 0;
                for (pdt_int p = 0; p < kk; ++p) want += (double)a[i * lda + p] * (double)b[j * ldb + p];
                err = fmax(err, fabs(c1[i * ldc + j] - (-0.75 * want + bias[j])));
                differ += c1[i * ldc + j] != ct[j * m + i] + bias[j];
            }
            for (pdt_int j = n; j < ldc && i < m - 1; ++j) gaps += c1[i * ldc + j] != 1234.5f;
        }
        CHECK(differ == 0 && gaps == 0 && err < 2e-5 * (double)kk,
              "%s gemm x·Wt beta=0 with ld past the rows %lldx%lldx%lld: %lld differ, %lld gaps written, error %g",
              pdt_simd_name(level), (long long)m, (long long)n, (long long)kk, (long long)differ, (long long)gaps, err);
        CHECK(memcmp(c1, c2, sizeof(float) * csize) == 0, "%s gemm x·Wt beta=0 ld past the rows 1 vs 2 threads %lldx%lldx%lld",
              pdt_simd_name(level), (long long)m, (long long)n, (long long)kk);
        free(a); free(b); free(bias); free(c1); free(c2); free(ct);
    }
}

/* The thread pool (threads.c) under load: two callers at once (one runs its regions in place while the
 * other holds the pool), more threads than cores, thread counts changed between calls. Every result
 * must equal the one-thread result bit for bit. */
typedef struct {
    const pdt_kernels *k;
    const float *x, *a, *b;
    double sumsq;
    const float *c_ref;
    int mismatches;
} pool_job;

enum { POOL_N = 1 << 20, POOL_M = 64, POOL_K = 256, POOL_NC = 128, POOL_CALLS = 200 };

static void *pool_caller(void *arg) {
    pool_job *job = arg;
    float *c = malloc(sizeof(float) * POOL_M * POOL_NC);
    for (int call = 0; call < POOL_CALLS; ++call) {
        double s = -1;
        job->k->clip_sumsq_f32(POOL_N, job->x, &s);
        job->mismatches += s != job->sumsq;
        job->k->gemm_f32(0, 1, POOL_M, POOL_NC, POOL_K, 1.0, job->a, POOL_K, job->b, POOL_K, 0.0, c, POOL_NC, NULL);
        job->mismatches += memcmp(c, job->c_ref, sizeof(float) * POOL_M * POOL_NC) != 0;
    }
    free(c);
    return NULL;
}

static void test_pool(void) {
    const pdt_kernels *k = pdt_kernels_for(pdt_simd_best());
    float *x = malloc(sizeof(float) * POOL_N), *a = malloc(sizeof(float) * POOL_M * POOL_K);
    float *b = malloc(sizeof(float) * POOL_NC * POOL_K), *c_ref = malloc(sizeof(float) * POOL_M * POOL_NC);
    fill(POOL_N, x, 21);
    fill(POOL_M * POOL_K, a, 22);
    fill(POOL_NC * POOL_K, b, 23);
    pdt_set_num_threads(1);
    double sumsq;
    k->clip_sumsq_f32(POOL_N, x, &sumsq);
    k->gemm_f32(0, 1, POOL_M, POOL_NC, POOL_K, 1.0, a, POOL_K, b, POOL_K, 0.0, c_ref, POOL_NC, NULL);
    for (int threads = 2; threads <= 3; ++threads) {
        pdt_set_num_threads(threads);
        pool_job jobs[2] = {{k, x, a, b, sumsq, c_ref, 0}, {k, x, a, b, sumsq, c_ref, 0}};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, pool_caller, &jobs[1]) == 0, "pool: pthread_create");
        pool_caller(&jobs[0]);
        pthread_join(t, NULL);
        CHECK(jobs[0].mismatches + jobs[1].mismatches == 0, "pool: %d of %d results differ from one thread's at %d threads",
              jobs[0].mismatches + jobs[1].mismatches, 4 * POOL_CALLS, threads);
    }
    pdt_set_num_threads(1);
    free(x); free(a); free(b); free(c_ref);
}

/* Augmentation kernels on every target against scalar (translate, flip and erase move values: bit for bit),
 * at 1 and 2 threads bit for bit, over images of awkward sizes allocated to their last pixel, so that a read
 * or write outside an image is caught by the sanitizers: shifts and crops past the image, edge fill, rotation
 * by up to 180° (every sample position outside), erasing in place. */
static void test_augment(pdt_simd level) {
    const pdt_kernels *ref = pdt_kernels_for(PDT_SIMD_SCALAR), *k = pdt_kernels_for(level);
    if (!k) return;
    const pdt_int hw[][2] = {{1, 1}, {1, 9}, {7, 1}, {3, 17}, {8, 8}, {28, 28}, {33, 15}};
    const pdt_rng rng = {77, 5};
    const pdt_erase_hp erase = {0.8, 0.02, 0.5, -1.2, 1.2, -3.0};
    for (size_t s = 0; s < sizeof hw / sizeof hw[0]; ++s) {
        const pdt_int n = 90, c = 2, h = hw[s][0], w = hw[s][1], size = n * c * h * w;
        const pdt_int oh = h + 1, ow = w > 1 ? w - 1 : 1, osize = n * c * oh * ow;
        float *x = malloc(sizeof(float) * size), *y0 = malloc(sizeof(float) * size), *y1 = malloc(sizeof(float) * size);
        float *y2 = malloc(sizeof(float) * size), *o0 = malloc(sizeof(float) * osize), *o1 = malloc(sizeof(float) * osize);
        float *o2 = malloc(sizeof(float) * osize);
        fill(size, x, 17);
        const char *name = pdt_simd_name(level);
        for (int edge = 0; edge < 2; ++edge) {
            ref->augment_translate_f32(rng, n, c, h, w, oh, ow, -h - 2, h + 2, -3, w + 1, edge, x, o0);
            pdt_set_num_threads(1);
            k->augment_translate_f32(rng, n, c, h, w, oh, ow, -h - 2, h + 2, -3, w + 1, edge, x, o1);
            pdt_set_num_threads(2);
            k->augment_translate_f32(rng, n, c, h, w, oh, ow, -h - 2, h + 2, -3, w + 1, edge, x, o2);
            CHECK(memcmp(o0, o1, sizeof(float) * osize) == 0 && memcmp(o1, o2, sizeof(float) * osize) == 0,
                  "%s augment_translate edge=%d %lldx%lld", name, edge, (long long)h, (long long)w);
        }
        ref->augment_hflip_f32(rng, n, c, h, w, 0.5, x, y0);
        pdt_set_num_threads(1);
        k->augment_hflip_f32(rng, n, c, h, w, 0.5, x, y1);
        pdt_set_num_threads(2);
        k->augment_hflip_f32(rng, n, c, h, w, 0.5, x, y2);
        CHECK(memcmp(y0, y1, sizeof(float) * size) == 0 && memcmp(y1, y2, sizeof(float) * size) == 0,
              "%s augment_hflip %lldx%lld", name, (long long)h, (long long)w);
        ref->augment_rotate_f32(rng, n, c, h, w, 180.0, x, y0);
        pdt_set_num_threads(1);
        k->augment_rotate_f32(rng, n, c, h, w, 180.0, x, y1);
        pdt_set_num_threads(2);
        k->augment_rotate_f32(rng, n, c, h, w, 180.0, x, y2);
        /* sampling positions up to 34 rounded in float32 by fused or separate multiply-adds: a few 1e-6 of a
         * pixel, times pixel differences up to 4 */
        CHECK(max_abs_diff(size, y0, y1) < 5e-5 && memcmp(y1, y2, sizeof(float) * size) == 0,
              "%s augment_rotate %lldx%lld: %g from scalar, 1 vs 2 threads %s", name, (long long)h, (long long)w,
              max_abs_diff(size, y0, y1), memcmp(y1, y2, sizeof(float) * size) ? "differ" : "agree");
        ref->augment_erase_f32(rng, n, c, h, w, &erase, x, y0);
        memcpy(y1, x, sizeof(float) * size);
        pdt_set_num_threads(1);
        k->augment_erase_f32(rng, n, c, h, w, &erase, y1, y1);
        pdt_set_num_threads(2);
        k->augment_erase_f32(rng, n, c, h, w, &erase, x, y2);
        pdt_set_num_threads(1);
        CHECK(memcmp(y0, y1, sizeof(float) * size) == 0 && memcmp(y1, y2, sizeof(float) * size) == 0,
              "%s augment_erase %lldx%lld", name, (long long)h, (long long)w);
        free(x); free(y0); free(y1); free(y2); free(o0); free(o1); free(o2);
    }
}

/* Direct convolution in double: y (N, O, oh, ow), or with dy given, dx (N, C, H, W) and dw. */
static void conv_direct(const pdt_conv2d *p, const float *x, const float *w, const float *dy, double *y, double *dx,
                        double *dw) {
    const pdt_int cg = p->c / p->groups, og = p->o / p->groups;
    for (pdt_int n = 0; n < p->n; ++n)
        for (pdt_int o = 0; o < p->o; ++o)
            for (pdt_int r = 0; r < p->oh; ++r)
                for (pdt_int s = 0; s < p->ow; ++s) {
                    const pdt_int yi = ((n * p->o + o) * p->oh + r) * p->ow + s;
                    double acc = 0;
                    for (pdt_int c = 0; c < cg; ++c)
                        for (pdt_int i = 0; i < p->kh; ++i)
                            for (pdt_int j = 0; j < p->kw; ++j) {
                                const pdt_int ih = r * p->sh - p->ph + i * p->dh, iw = s * p->sw - p->pw + j * p->dw;
                                if (ih < 0 || ih >= p->h || iw < 0 || iw >= p->w) continue;
                                const pdt_int xi = ((n * p->c + o / og * cg + c) * p->h + ih) * p->w + iw;
                                const pdt_int wi = ((o * cg + c) * p->kh + i) * p->kw + j;
                                if (dy) {
                                    dx[xi] += (double)w[wi] * dy[yi];
                                    dw[wi] += (double)x[xi] * dy[yi];
                                } else {
                                    acc += (double)w[wi] * x[xi];
                                }
                            }
                    if (!dy) y[yi] = acc;
                }
}

static double max_diff_d(pdt_int n, const float *a, const double *b) {
    double d = 0;
    for (pdt_int i = 0; i < n; ++i) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* conv2d forward/backward of one level against the direct loops (exact-size buffers), and 1 vs 2 threads. */
static void test_conv(pdt_simd level) {
    const pdt_kernels *k = pdt_kernels_for(level);
    /* n, c, h, w, o, oh, ow (0: computed), kh, kw, sh, sw, ph, pw, dh, dw, groups */
    const pdt_conv2d cases[] = {
        {2, 3, 7, 6, 4, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1},   {3, 4, 9, 8, 6, 0, 0, 3, 3, 2, 2, 1, 1, 2, 2, 2},
        {11, 2, 5, 6, 3, 0, 0, 3, 3, 1, 1, 0, 1, 1, 1, 1},  {2, 5, 4, 7, 3, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {3, 5, 9, 8, 5, 0, 0, 3, 3, 2, 2, 1, 1, 2, 2, 5},   {9, 6, 4, 5, 6, 0, 0, 2, 2, 1, 2, 0, 0, 1, 1, 6},
        {20, 1, 8, 8, 16, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 3, 3, 2, 0, 0, 5, 5, 1, 1, 1, 1, 1, 1, 1},
        {16, 8, 12, 12, 16, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1}, {16, 32, 10, 10, 32, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 32},
        {5, 16, 7, 9, 20, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1}, {16, 16, 12, 12, 16, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    };  // cases 8, 9 and 11 large enough for their blocks or planes to run on threads; 10 and 11 by Winograd
        // F(2×2, 3×3) (odd planes with O ≠ C; several blocks)
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; ++t) {
        pdt_conv2d p = cases[t];
        p.oh = (p.h + 2 * p.ph - p.dh * (p.kh - 1) - 1) / p.sh + 1;
        p.ow = (p.w + 2 * p.pw - p.dw * (p.kw - 1) - 1) / p.sw + 1;
        const pdt_int nx = p.n * p.c * p.h * p.w, nw = p.o * (p.c / p.groups) * p.kh * p.kw;
        const pdt_int ny = p.n * p.o * p.oh * p.ow, nwork = pdt_conv2d_work(&p);
        float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), *dy = malloc(ny * sizeof(float));
        float *y = malloc(ny * sizeof(float)), *y2 = malloc(ny * sizeof(float)), *dx = malloc(nx * sizeof(float));
        float *dx2 = malloc(nx * sizeof(float)), *dw = calloc(nw, sizeof(float)), *dw2 = calloc(nw, sizeof(float));
        float *work = malloc((nwork ? nwork : 1) * sizeof(float));
        double *yr = calloc(ny, sizeof(double)), *dxr = calloc(nx, sizeof(double)), *dwr = calloc(nw, sizeof(double));
        fill(nx, x, 3);
        fill(nw, w, 4);
        fill(ny, dy, 5);
        conv_direct(&p, x, w, NULL, yr, NULL, NULL);
        conv_direct(&p, x, w, dy, NULL, dxr, dwr);
        for (int threads = 1; threads <= 2; ++threads) {
            pdt_set_num_threads(threads);
            float *yo = threads == 1 ? y : y2, *dxo = threads == 1 ? dx : dx2, *dwo = threads == 1 ? dw : dw2;
            CHECK(k->conv2d_forward_f32(&p, x, w, NULL, yo, work) == PDT_OK, "conv2d_forward status");
            CHECK(k->conv2d_backward_f32(&p, x, w, dy, dxo, dwo, NULL, work) == PDT_OK, "conv2d_backward status");
        }
        pdt_set_num_threads(1);
        CHECK(max_diff_d(ny, y, yr) < 1e-4 && max_diff_d(nx, dx, dxr) < 1e-4 && max_diff_d(nw, dw, dwr) < 1e-3,
              "%s conv2d case %zu: y %g dx %g dw %g", pdt_simd_name(level), t, max_diff_d(ny, y, yr),
              max_diff_d(nx, dx, dxr), max_diff_d(nw, dw, dwr));
        CHECK(!memcmp(y, y2, ny * sizeof(float)) && !memcmp(dx, dx2, nx * sizeof(float)) &&
                  !memcmp(dw, dw2, nw * sizeof(float)),
              "%s conv2d case %zu: 1 vs 2 threads", pdt_simd_name(level), t);
        free(x), free(w), free(dy), free(y), free(y2), free(dx), free(dx2), free(dw), free(dw2), free(work);
        free(yr), free(dxr), free(dwr);
    }
}

int main(void) {
    test_philox_kat();
    test_permutation();
    test_pool();
    for (int level = 0; level < PDT_SIMD_COUNT; ++level)
        if (pdt_simd_supported((pdt_simd)level)) test_conv((pdt_simd)level);
    for (int level = 1; level < PDT_SIMD_COUNT; ++level) {
        if (pdt_simd_supported((pdt_simd)level)) {
            printf("testing target %s against scalar\n", pdt_simd_name((pdt_simd)level));
            test_target((pdt_simd)level);
            test_augment((pdt_simd)level);
        }
    }
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
