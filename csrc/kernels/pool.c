/*
 * pool.c — pooling over (N, C, H, W) images, plane by plane (each output is a function of one window
 * of its channel): max, average and global average, forward and backward.
 * Threads: the n·c planes are split by index range, so results are the same bits for any thread count.
 */

#ifndef PDT_POOL_HELPERS
#define PDT_POOL_HELPERS
/* The rows [*i0, *i1) and columns [*j0, *j1) of the input that pooling window (r, s) covers. */
static inline void pdt_pool_window(const pdt_conv2d *p, pdt_int r, pdt_int s, pdt_int *i0, pdt_int *i1, pdt_int *j0,
                                   pdt_int *j1) {
    const pdt_int h0 = r * p->sh - p->ph, w0 = s * p->sw - p->pw;
    *i0 = h0 < 0 ? 0 : h0;
    *i1 = h0 + p->kh < p->h ? h0 + p->kh : p->h;
    *j0 = w0 < 0 ? 0 : w0;
    *j1 = w0 + p->kw < p->w ? w0 + p->kw : p->w;
}
#endif

// The window of output (r, s) of one plane, scalar: y = its first maximum in row order (a NaN wins over a number,
// the last NaN over an earlier one, PyTorch's rule), argmax = its index in the plane
static inline void KN(maxpool_window)(const pdt_conv2d *p, const T *restrict xc, pdt_int r, pdt_int s, T *y,
                                      int64_t *argmax) {
    pdt_int i0, i1, j0, j1;
    pdt_pool_window(p, r, s, &i0, &i1, &j0, &j1);
    pdt_int best = i0 * p->w + j0;
    T m = xc[best];
    for (pdt_int i = i0; i < i1; ++i)
        for (pdt_int j = j0; j < j1; ++j) {  // selects, not branches: maxima of noise are unpredictable
            const T v = xc[i * p->w + j];
            const int take = (v > m) | (v != v);
            m = take ? v : m;
            best = take ? i * p->w + j : best;
        }
    *y = m;
    *argmax = best;
}

// The maximum *m of the taps of rows ia ≤ i < ib (ia < ib) and columns ja ≤ j < jb of `lanes` windows whose
// corner is (h0, w0) in the plane xc (window k's at (h0, w0 + k·sw)), in row order, a lane taking a tap when it is
// greater (the first maximum wins); *at its offset (i − h0)·w + j from the corner; *sum += every tap. Stride-2 taps are the even
// lanes of two loads, other strides gathered. Selects, not branches: maxima of noise are unpredictable.
static inline void KN(maxpool_taps)(const pdt_conv2d *p, const T *restrict xc, pdt_int h0, pdt_int w0, pdt_int ia,
                                    pdt_int ib, pdt_int ja, pdt_int jb, pdt_int lanes, V pos, V *m, V *at, V *sum) {
    V best = vzero(), where = vzero(), total = *sum;
    for (pdt_int i = ia; i < ib; ++i)
        for (pdt_int j = ja; j < jb; ++j) {
            const T *tap = xc + (i * p->w + w0 + j);
            const V v = p->sw == 1 ? vload_part(tap, lanes) : p->sw == 2 ? KN(load_even)(tap, lanes) : vgather(tap, pos);
            const V offset = vset1((T)((i - h0) * p->w + j));
            total = vadd(total, v);
            if (i == ia && j == ja) {
                best = v;
                where = offset;
                continue;
            }
            const VMASK take = vgt(v, best);
            best = vselect(take, v, best);
            where = vselect(take, offset, where);
        }
    *m = best;
    *at = where;
    *sum = total;
}

// Outputs s0 .. s0+lanes−1 of row r over the taps of columns ja ≤ j < jb, inside the row for every lane (all kw
// taps for the windows clear of column padding, VN at a time; a window's own taps for one at the edge). The
// window's first and second half of rows run as two independent chains (maxpool_taps), then the second half's
// maximum wins where it is greater: the first maximum in row order all the same. NaNs are only summed into
// *nan: a plane with a NaN (or an inf − inf) is redone by maxpool_window.
static inline void KN(maxpool_columns)(const pdt_conv2d *p, const T *restrict xc, pdt_int r, pdt_int s0,
                                       pdt_int lanes, pdt_int ja, pdt_int jb, V pos, T *restrict y,
                                       int64_t *restrict argmax, V *nan) {
    pdt_int i0, i1, j0, j1;
    pdt_pool_window(p, r, s0, &i0, &i1, &j0, &j1);
    const pdt_int h0 = r * p->sh - p->ph, w0 = s0 * p->sw - p->pw, mid = i0 + (i1 - i0) / 2;
    V m, at, m2, at2, sum2 = vzero();
    KN(maxpool_taps)(p, xc, h0, w0, i0, mid > i0 ? mid : i1, ja, jb, lanes, pos, &m, &at, nan);
    if (mid > i0) {
        KN(maxpool_taps)(p, xc, h0, w0, mid, i1, ja, jb, lanes, pos, &m2, &at2, &sum2);
        const VMASK take = vgt(m2, m);
        m = vselect(take, m2, m);
        at = vselect(take, at2, at);
        *nan = vadd(*nan, sum2);
    }
    T offsets[VN];
    vstore_part(y, m, lanes);
    vstore(offsets, at);
    for (pdt_int l = 0; l < lanes; ++l) argmax[l] = h0 * p->w + w0 + l * p->sw + (pdt_int)offsets[l];
}

// planes (n·c, h, w) → y, argmax (n·c, oh, ow); the first maximum of the window in row order. Per row, the outputs
// whose windows need no column padding run VN at a time (maxpool_columns), the others one lane at a time.
static pdt_status KN(maxpool2d_forward)(const pdt_conv2d *p, const T *x, T *y, int64_t *argmax) {
    const pdt_int planes = p->n * p->c, in = p->h * p->w, out = p->oh * p->ow;
    pdt_int lo = 0, hi = p->ow;  // the columns whose whole window lies inside the row: every tap's span
    for (pdt_int j = 0; j < p->kw; ++j) {
        pdt_int a, b;
        pdt_conv_span(p->w, p->ow, p->sw, p->pw, j, &a, &b);
        lo = a > lo ? a : lo;
        hi = b < hi ? b : hi;
    }
    // a gather's lane offsets l·sw and the taps' offsets in the window stay below 2^24 (vgather, exact in T),
    // else every window runs alone
    const int vector = (double)VN * p->sw < (1 << 24) && (double)p->kh * p->w < (1 << 24);
    if (hi < lo) hi = lo;
    T offsets[VN];
    for (pdt_int l = 0; l < VN; ++l) offsets[l] = (T)(l * p->sw);
    const V pos = vload(offsets);
    PDT_OMP_FOR(planes > 1 && planes * in > PDT_PAR_MIN)
    for (pdt_int c = 0; c < planes; ++c) {
        const T *xc = x + c * in;
        T *yc = y + c * out;
        int64_t *ac = argmax + c * out;
        V nan = vzero();
        for (pdt_int r = 0; r < p->oh; ++r) {
            T *yr = yc + r * p->ow;
            int64_t *ar = ac + r * p->ow;
            for (pdt_int s = 0; s < p->ow;) {
                if (!vector) {
                    KN(maxpool_window)(p, xc, r, s, yr + s, ar + s);
                    ++s;
                } else if (s < lo || s >= hi) {  // a window cut by column padding: its own taps, one lane
                    const pdt_int w0 = s * p->sw - p->pw;
                    KN(maxpool_columns)(p, xc, r, s, 1, w0 < 0 ? -w0 : 0, w0 + p->kw < p->w ? p->kw : p->w - w0,
                                        vzero(), yr + s, ar + s, &nan);
                    ++s;
                } else {
                    const pdt_int lanes = hi - s < VN ? hi - s : VN;
                    // the lanes past a part vector's last gather lane 0's tap
                    const V lane_pos = lanes == VN ? pos : vselect(vlt(pos, vset1((T)(lanes * p->sw))), pos, vzero());
                    KN(maxpool_columns)(p, xc, r, s, lanes, 0, p->kw, lane_pos, yr + s, ar + s, &nan);
                    s += lanes;
                }
            }
        }
        const T total = vreduce_add(nan);
        if (total != total)  // a NaN among the vector windows: the plane again, window by window
            for (pdt_int q = 0; q < out; ++q) KN(maxpool_window)(p, xc, q / p->ow, q % p->ow, yc + q, ac + q);
    }
    return PDT_OK;
}

// dy, argmax (n·c, oh, ow) → dx (n·c, h, w): zero, then dx[argmax] += dy
static pdt_status KN(maxpool2d_backward)(const pdt_conv2d *p, const T *dy, const int64_t *argmax, T *dx) {
    const pdt_int planes = p->n * p->c, in = p->h * p->w, out = p->oh * p->ow;
    PDT_OMP_FOR(planes > 1 && planes * in > PDT_PAR_MIN)
    for (pdt_int c = 0; c < planes; ++c) {
        T *dxc = dx + c * in;
        memset(dxc, 0, (size_t)in * sizeof(T));
        for (pdt_int q = 0; q < out; ++q) dxc[argmax[c * out + q]] += dy[c * out + q];
    }
    return PDT_OK;
}

// planes (n·c, h, w) → y (n·c, oh, ow) = window sum / (kh·kw)
static pdt_status KN(avgpool2d_forward)(const pdt_conv2d *p, const T *x, T *y) {
    const pdt_int planes = p->n * p->c, in = p->h * p->w, out = p->oh * p->ow;
    const T inv = (T)(1.0 / (double)(p->kh * p->kw));
    PDT_OMP_FOR(planes > 1 && planes * in > PDT_PAR_MIN)
    for (pdt_int c = 0; c < planes; ++c) {
        const T *xc = x + c * in;
        for (pdt_int r = 0; r < p->oh; ++r)
            for (pdt_int s = 0; s < p->ow; ++s) {
                pdt_int i0, i1, j0, j1;
                pdt_pool_window(p, r, s, &i0, &i1, &j0, &j1);
                T sum = 0;
                for (pdt_int i = i0; i < i1; ++i)
                    for (pdt_int j = j0; j < j1; ++j) sum += xc[i * p->w + j];
                y[c * out + r * p->ow + s] = sum * inv;
            }
    }
    return PDT_OK;
}

// dy (n·c, oh, ow) → dx (n·c, h, w): zero, then each window's pixels += dy / (kh·kw)
static pdt_status KN(avgpool2d_backward)(const pdt_conv2d *p, const T *dy, T *dx) {
    const pdt_int planes = p->n * p->c, in = p->h * p->w, out = p->oh * p->ow;
    const T inv = (T)(1.0 / (double)(p->kh * p->kw));
    PDT_OMP_FOR(planes > 1 && planes * in > PDT_PAR_MIN)
    for (pdt_int c = 0; c < planes; ++c) {
        T *dxc = dx + c * in;
        memset(dxc, 0, (size_t)in * sizeof(T));
        for (pdt_int r = 0; r < p->oh; ++r)
            for (pdt_int s = 0; s < p->ow; ++s) {
                pdt_int i0, i1, j0, j1;
                pdt_pool_window(p, r, s, &i0, &i1, &j0, &j1);
                const T g = dy[c * out + r * p->ow + s] * inv;
                for (pdt_int i = i0; i < i1; ++i)
                    for (pdt_int j = j0; j < j1; ++j) dxc[i * p->w + j] += g;
            }
    }
    return PDT_OK;
}

// x (planes, s) → y (planes): y = Σ x / s, VN partial sums per plane combined in a fixed order
static pdt_status KN(global_avgpool_forward)(pdt_int planes, pdt_int s, const T *x, T *y) {
    const T inv = (T)(1.0 / (double)s);
    PDT_OMP_FOR(planes > 1 && planes * s > PDT_PAR_MIN)
    for (pdt_int c = 0; c < planes; ++c) {
        const T *xc = x + c * s;
        V acc = vzero();
        pdt_int q = 0;
        for (; q + VN <= s; q += VN) acc = vadd(acc, vload(xc + q));
        if (q < s) acc = vadd(acc, vload_tail(xc + q, s - q));
        y[c] = vreduce_add(acc) * inv;
    }
    return PDT_OK;
}

// dy (planes) → dx (planes, s) = dy / s
static pdt_status KN(global_avgpool_backward)(pdt_int planes, pdt_int s, const T *dy, T *dx) {
    const T inv = (T)(1.0 / (double)s);
    PDT_OMP_FOR(planes > 1 && planes * s > PDT_PAR_MIN)
    for (pdt_int c = 0; c < planes; ++c) {
        const V g = vset1(dy[c] * inv);
        T *dxc = dx + c * s;
        pdt_int q = 0;
        for (; q + VN <= s; q += VN) vstore(dxc + q, g);
        if (q < s) vstore_tail(dxc + q, g, s - q);
    }
    return PDT_OK;
}
