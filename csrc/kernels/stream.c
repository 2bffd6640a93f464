/*
 * stream.c — the STREAM triad (McCalpin), the memory-bandwidth yardstick the
 * benchmarks hold bandwidth-bound kernels against: 3 arrays, 3·sizeof(T) bytes/element.
 */

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
