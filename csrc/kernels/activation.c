/*
 * activation.c — elementwise activations, forward and backward.
 * Forward y = f(x); backward dx = dy ⊙ f'(x), from the saved input x.
 */

// x, y (n); y may be x (in place)
// y = max(x, 0)
static pdt_status KN(relu_forward)(pdt_int n, const T *x, T *y) {
    const V zero = vzero();
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        if (i + VN <= n) vstore(y + i, vmax(vload(x + i), zero));
        else vstore_tail(y + i, vmax(vload_tail(x + i, n - i), zero), n - i);
    }
    return PDT_OK;
}

// x, dy, dx (n); dx may be dy
// dx = dy ⊙ [x > 0]
static pdt_status KN(relu_backward)(pdt_int n, const T *x, const T *dy, T *dx) {
    const V zero = vzero();
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        if (i + VN <= n) {
            vstore(dx + i, vselect(vgt(vload(x + i), zero), vload(dy + i), zero));
        } else {
            pdt_int r = n - i;
            vstore_tail(dx + i, vselect(vgt(vload_tail(x + i, r), zero), vload_tail(dy + i, r), zero), r);
        }
    }
    return PDT_OK;
}
