/*
 * stream.c — memory-bound elementwise primitives: scaling (gradient clipping,
 * dropout at inference, the EMA's bias correction) and the STREAM triad
 * (McCalpin), the bandwidth yardstick of the benchmarks (3·sizeof(T) bytes/element).
 */

// x, y (n); y may be x
// y = s·x
static pdt_status KN(scale)(pdt_int n, const T *x, double s, T *y) {
    const V vs = vset1((T)s);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        if (i + VN <= n) vstore(y + i, vmul(vs, vload(x + i)));
        else vstore_tail(y + i, vmul(vs, vload_tail(x + i, n - i)), n - i);
    }
    return PDT_OK;
}

// a, b, c (n); a = b + s·c
static pdt_status KN(stream_triad)(pdt_int n, T *a, const T *b, const T *c, double s) {
    const V vs = vset1((T)s);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        if (i + VN <= n) vstore(a + i, vfma(vs, vload(c + i), vload(b + i)));
        else vstore_tail(a + i, vfma(vs, vload_tail(c + i, n - i), vload_tail(b + i, n - i)), n - i);
    }
    return PDT_OK;
}
