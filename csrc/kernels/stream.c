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
        const pdt_int r = n - i < VN ? n - i : VN;
        vstore_part(y + i, vmul(vs, vload_part(x + i, r)), r);
    }
    return PDT_OK;
}

// a, b, c (n); a = b + s·c
static pdt_status KN(stream_triad)(pdt_int n, T *a, const T *b, const T *c, double s) {
    const V vs = vset1((T)s);
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int i = 0; i < n; i += VN) {
        const pdt_int r = n - i < VN ? n - i : VN;
        vstore_part(a + i, vfma(vs, vload_part(c + i, r), vload_part(b + i, r)), r);
    }
    return PDT_OK;
}
