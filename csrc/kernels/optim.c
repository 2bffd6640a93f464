/*
 * optim.c — optimizer steps over a flat parameter buffer.
 */

// param, grad (n)
// θ ← θ − α·g
static pdt_status KN(sgd_step)(pdt_int n, T *param, const T *grad, double lr) {
    const V neg_lr = vset1((T)-lr);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        if (i + VN <= n) {
            vstore(param + i, vfma(neg_lr, vload(grad + i), vload(param + i)));
        } else {
            pdt_int r = n - i;
            vstore_tail(param + i, vfma(neg_lr, vload_tail(grad + i, r), vload_tail(param + i, r)), r);
        }
    }
    return PDT_OK;
}
