/*
 * linear.c — what the Linear layer needs beyond GEMM (y = x·Wᵀ + b goes to
 * gemm with its bias epilogue): the bias gradient, db = Σ_rows dy.
 */

// dy (rows, cols), dbias (cols)
// dbias += Σ_i dy[i, :]   (accumulates; rows summed in order, so any thread count agrees)
static pdt_status KN(bias_grad)(pdt_int rows, pdt_int cols, const T *dy, T *dbias) {
    PDT_OMP_FOR(rows * cols > PDT_PAR_MIN && cols >= 4 * VN)
    for (pdt_int j = 0; j < cols; j += VN) {
        pdt_int r = cols - j < VN ? cols - j : VN;
        V acc = vload_tail(dbias + j, r);
        for (pdt_int i = 0; i < rows; ++i) acc = vadd(acc, vload_tail(dy + i * cols + j, r));
        vstore_tail(dbias + j, acc, r);
    }
    return PDT_OK;
}
