/*
 * linear.c — what the Linear layer needs beyond GEMM (y = x·Wᵀ + b goes to
 * gemm with its bias epilogue): the bias gradient, db = Σ_rows dy.
 */

/* Columns per task: a block of dbias stays in L1 while every row streams past it. */
#define PDT_BIAS_BLOCK 512

// dy (rows, cols), dbias (cols)
// dbias += Σ_i dy[i, :]   (accumulates; rows summed in order, so any thread count agrees)
static pdt_status KN(bias_grad)(pdt_int rows, pdt_int cols, const T *dy, T *dbias) {
    const pdt_int blocks = (cols + PDT_BIAS_BLOCK - 1) / PDT_BIAS_BLOCK;
    PDT_OMP_FOR(rows * cols > PDT_PAR_MIN && blocks > 1)
    for (pdt_int blk = 0; blk < blocks; ++blk) {
        const pdt_int j0 = blk * PDT_BIAS_BLOCK;
        const pdt_int width = cols - j0 < PDT_BIAS_BLOCK ? cols - j0 : PDT_BIAS_BLOCK;
        T *acc = dbias + j0;
        for (pdt_int i = 0; i < rows; ++i) {
            const T *row = dy + i * cols + j0;
            pdt_int j = 0;
            for (; j + VN <= width; j += VN) vstore(acc + j, vadd(vload(acc + j), vload(row + j)));
            if (j < width) vstore_tail(acc + j, vadd(vload_tail(acc + j, width - j), vload_tail(row + j, width - j)), width - j);
        }
    }
    return PDT_OK;
}
