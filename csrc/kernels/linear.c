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
            for (pdt_int j = 0; j < width; j += VN) {
                const pdt_int r = width - j < VN ? width - j : VN;
                vstore_part(acc + j, vadd(vload_part(acc + j, r), vload_part(row + j, r)), r);
            }
        }
    }
    return PDT_OK;
}
