/*
 * gemm.c — general matrix product, row-major:
 *   C = α·op(A)·op(B) + β·C (+ bias[j] added to every row),
 * op(A) (m, k), op(B) (k, n), C (m, n); op transposes when trans_* != 0.
 * β = 0 writes C without reading it; β = 1 accumulates (gradients).
 *
 * This is the straightforward version: one output row per task, vectorized
 * over n (op(B) rows contiguous) or over k (dot products when B is
 * transposed). Each element is summed over k in order by one thread, so the
 * result does not depend on the thread count.
 */

// c[0:n] = β·c (β = 0 writes zeros, so NaN/Inf already in C never leak in)
static inline void KN(gemm_scale_row)(pdt_int n, double beta, T *c) {
    if (beta == 1.0) return;
    const V vb = vset1((T)beta);
    for (pdt_int j = 0; j < n; j += VN) {
        pdt_int r = n - j < VN ? n - j : VN;
        vstore_tail(c + j, beta == 0.0 ? vzero() : vmul(vb, vload_tail(c + j, r)), r);
    }
}

// c[0:n] += s·b[0:n]
static inline void KN(gemm_axpy_row)(pdt_int n, T s, const T *b, T *c) {
    const V vs = vset1(s);
    pdt_int j = 0;
    for (; j + VN <= n; j += VN) vstore(c + j, vfma(vs, vload(b + j), vload(c + j)));
    if (j < n) vstore_tail(c + j, vfma(vs, vload_tail(b + j, n - j), vload_tail(c + j, n - j)), n - j);
}

// Σ_p x[p]·y[p] over k, in VN-lane partial sums then a fixed-order reduction
static inline T KN(gemm_dot)(pdt_int k, const T *x, const T *y) {
    V acc = vzero();
    pdt_int p = 0;
    for (; p + VN <= k; p += VN) acc = vfma(vload(x + p), vload(y + p), acc);
    if (p < k) acc = vfma(vload_tail(x + p, k - p), vload_tail(y + p, k - p), acc);
    return vreduce_add(acc);
}

static pdt_status KN(gemm)(int trans_a, int trans_b, pdt_int m, pdt_int n, pdt_int k, double alpha,
                           const T *a, pdt_int lda, const T *b, pdt_int ldb, double beta,
                           T *c, pdt_int ldc, const T *bias) {
    PDT_OMP_FOR(m > 1 && m * n * k > 32768)
    for (pdt_int i = 0; i < m; ++i) {
        T *ci = c + i * ldc;
        KN(gemm_scale_row)(n, beta, ci);
        if (!trans_b) {
            for (pdt_int p = 0; p < k; ++p) {
                T aip = trans_a ? a[p * lda + i] : a[i * lda + p];
                KN(gemm_axpy_row)(n, (T)(alpha * aip), b + p * ldb, ci);
            }
        } else if (!trans_a) {
            for (pdt_int j = 0; j < n; ++j) ci[j] += (T)alpha * KN(gemm_dot)(k, a + i * lda, b + j * ldb);
        } else {
            for (pdt_int j = 0; j < n; ++j) {
                T s = 0;
                for (pdt_int p = 0; p < k; ++p) s += a[p * lda + i] * b[j * ldb + p];
                ci[j] += (T)alpha * s;
            }
        }
        if (bias) KN(gemm_axpy_row)(n, (T)1, bias, ci);
    }
    return PDT_OK;
}
