/*
 * conv.c — 2-D convolution over (N, C, H, W) images.
 *
 * Convolution by im2col + GEMM (Chellapilla, Puri & Simard 2006): per image and group the
 * window values are copied into col (C/g·kh·kw, oh·ow), then
 *   y_n = W·col_n,   dW += dy_n·col_nᵀ,   dx_n = col⁻¹(Wᵀ·dy_n)
 * (col⁻¹ adds each column entry back to the pixel it came from). Images with small output
 * planes are batched, their columns side by side in one GEMM (pdt_conv2d_batch), y and dy
 * copied between the batch's (O, batch·oh·ow) and (N, O, oh, ow). One image with a 1×1 kernel,
 * stride 1 and no padding needs no copy: col_n is x_n itself. Depthwise layers run plane by plane
 * (conv_depthwise_forward/backward). 3×3 "same" layers of one group at stride 1 go through Winograd's F(2×2, 3×3)
 * instead (conv_winograd.c; the rule: pdt_conv2d_winograd).
 * Threads: the images are cut into pdt_conv2d_blocks(N) blocks, each with its own buffers and
 * partial dW (the GEMMs inside a block run on its thread); the partial dW are then summed in
 * block order, so every result is the same bits for any thread count.
 */

#ifndef PDT_CONV_HELPERS
#define PDT_CONV_HELPERS
/* Output columns s in [*lo, *hi) whose input column s·stride − pad + off lies in [0, size). */
static inline void pdt_conv_span(pdt_int size, pdt_int out, pdt_int stride, pdt_int pad, pdt_int off, pdt_int *lo,
                                 pdt_int *hi) {
    const pdt_int first = pad - off, end = size + pad - off;  // s·stride must reach [first, end)
    pdt_int a = first <= 0 ? 0 : (first + stride - 1) / stride;
    pdt_int b = end <= 0 ? 0 : (end + stride - 1) / stride;
    a = a < out ? a : out;
    b = b < out ? b : out;
    *lo = a;
    *hi = b > a ? b : a;
}

#endif

// d[0..n) += s[0..n)
static inline void KN(conv_add_row)(pdt_int n, const T *restrict s, T *restrict d) {
    pdt_int q = 0;
    for (; q + VN <= n; q += VN) vstore(d + q, vadd(vload(d + q), vload(s + q)));
    if (q < n) vstore_tail(d + q, vadd(vload_tail(d + q, n - q), vload_tail(s + q, n - q)), n - q);
}

// src[0], src[2], …, src[2·(lanes − 1)] in the first lanes (1 ≤ lanes ≤ VN), reading no further: a stride-2 load
static inline V KN(load_even)(const T *src, pdt_int lanes) {
    const pdt_int more = 2 * lanes - 1 - VN;  // values past the first vector
    return veven(vload_part(src, more < 0 ? 2 * lanes - 1 : VN), more > 0 ? vload_part(src + VN, more) : vzero());
}

// x (channels, h, w) → col (channels·kh·kw, oh·ow) with rows ld apart, for sw = 1 or 2 (even lanes of loads):
// col[(c, i, j), (r, s)] = x[c, r·sh − ph + i·dh, s·sw − pw + j·dw], 0 outside
static void KN(conv_im2col)(const pdt_conv2d *p, pdt_int channels, const T *restrict x, T *restrict col, pdt_int ld) {
    const pdt_int ow = p->ow;
    for (pdt_int c = 0; c < channels; ++c)
        for (pdt_int i = 0; i < p->kh; ++i)
            for (pdt_int j = 0; j < p->kw; ++j) {
                T *dst = col + ((c * p->kh + i) * p->kw + j) * ld;
                pdt_int lo, hi;
                pdt_conv_span(p->w, ow, p->sw, p->pw, j * p->dw, &lo, &hi);
                for (pdt_int r = 0; r < p->oh; ++r) {
                    T *row = dst + r * ow;
                    const pdt_int ih = r * p->sh - p->ph + i * p->dh;
                    // plain loops, not memcpy/memset: rows are a few dozen values, shorter than a call's overhead
                    if (ih < 0 || ih >= p->h) {
                        for (pdt_int s = 0; s < ow; ++s) row[s] = 0;
                        continue;
                    }
                    const T *src = x + (c * p->h + ih) * p->w - p->pw + j * p->dw;  // src[s·sw] is column s
                    for (pdt_int s = 0; s < lo; ++s) row[s] = 0;
                    if (p->sw == 1)
                        for (pdt_int s = lo; s < hi; ++s) row[s] = src[s];
                    else
                        for (pdt_int s = lo; s < hi; s += VN) {
                            const pdt_int lanes = hi - s < VN ? hi - s : VN;
                            vstore_part(row + s, KN(load_even)(src + 2 * s, lanes), lanes);
                        }
                    for (pdt_int s = hi; s < ow; ++s) row[s] = 0;
                }
            }
}

// col (channels·kh·kw, oh·ow), rows ld apart → dx (channels, h, w) += every entry at the pixel im2col took it
// from, for sw = 1
static void KN(conv_col2im)(const pdt_conv2d *p, pdt_int channels, const T *restrict col, pdt_int ld, T *restrict dx) {
    const pdt_int ow = p->ow;
    for (pdt_int c = 0; c < channels; ++c)
        for (pdt_int i = 0; i < p->kh; ++i)
            for (pdt_int j = 0; j < p->kw; ++j) {
                const T *src = col + ((c * p->kh + i) * p->kw + j) * ld;
                pdt_int lo, hi;
                pdt_conv_span(p->w, ow, p->sw, p->pw, j * p->dw, &lo, &hi);
                for (pdt_int r = 0; r < p->oh; ++r) {
                    const pdt_int ih = r * p->sh - p->ph + i * p->dh;
                    if (ih < 0 || ih >= p->h) continue;
                    T *dst = dx + (c * p->h + ih) * p->w - p->pw + j * p->dw;
                    const T *row = src + r * ow;
                    KN(conv_add_row)(hi - lo, row + lo, dst + lo);
                }
            }
}

// Strided (sw > 1): rows of a few values each, read every sw-th; a table per tap gives each output position's
// input pixel, so a column row is one flat loop over the plane with no row bounds (col2im; im2col from
// sw = 3, stride 2 taking the even lanes of vector loads row by row).
// tab[(i·kw + j)·oh·ow + r·ow + s] = ih·w + iw of tap (i, j) at output (r, s), −1 in the padding
static void KN(conv_tap_tables)(const pdt_conv2d *p, int32_t *tab) {
    for (pdt_int i = 0; i < p->kh; ++i)
        for (pdt_int j = 0; j < p->kw; ++j)
            for (pdt_int r = 0; r < p->oh; ++r)
                for (pdt_int s = 0; s < p->ow; ++s) {
                    const pdt_int ih = r * p->sh - p->ph + i * p->dh, iw = s * p->sw - p->pw + j * p->dw;
                    *tab++ = ih >= 0 && ih < p->h && iw >= 0 && iw < p->w ? (int32_t)(ih * p->w + iw) : -1;
                }
}

// conv_im2col by the tap tables
static void KN(conv_im2col_tables)(const pdt_conv2d *p, const int32_t *restrict tab, pdt_int channels,
                                   const T *restrict x, T *restrict col, pdt_int ld) {
    const pdt_int taps = p->kh * p->kw, plane = p->oh * p->ow;
    for (pdt_int c = 0; c < channels; ++c) {
        const T *xc = x + c * p->h * p->w;
        for (pdt_int t = 0; t < taps; ++t) {
            const int32_t *tt = tab + t * plane;
            T *dst = col + (c * taps + t) * ld;
            for (pdt_int q = 0; q < plane; ++q) {  // an unconditional load and a select: no branch on the padding
                const T v = xc[tt[q] >= 0 ? tt[q] : 0];
                dst[q] = tt[q] >= 0 ? v : (T)0;
            }
        }
    }
}

// conv_col2im by the tap tables
static void KN(conv_col2im_tables)(const pdt_conv2d *p, const int32_t *restrict tab, pdt_int channels,
                                   const T *restrict col, pdt_int ld, T *restrict dx) {
    const pdt_int taps = p->kh * p->kw, plane = p->oh * p->ow;
    for (pdt_int c = 0; c < channels; ++c) {
        T *dxc = dx + c * p->h * p->w;
        for (pdt_int t = 0; t < taps; ++t) {
            const int32_t *tt = tab + t * plane;
            const T *src = col + (c * taps + t) * ld;
            for (pdt_int q = 0; q < plane; ++q)
                if (tt[q] >= 0) dxc[tt[q]] += src[q];
        }
    }
}

// dst[0..n) = src[0..n) + b (dst may be src)
static inline void KN(conv_bias_row)(pdt_int n, const T *src, T b, T *dst) {
    const V bv = vset1(b);
    pdt_int q = 0;
    for (; q + VN <= n; q += VN) vstore(dst + q, vadd(vload(src + q), bv));
    if (q < n) vstore_tail(dst + q, vadd(vload_tail(src + q, n - q), bv), n - q);
}

// A batch of images side by side: the GEMM's columns for images n .. n+count-1, rows ld = count·plane apart.
typedef struct {
    const pdt_conv2d *p;
    pdt_int cg, og, k, plane, image_in, image_out;
    const int32_t *tab;  // the tap tables of a strided layer (conv_tap_tables), else NULL
    int direct;  // one image with a 1×1 kernel, stride 1, no padding: x itself is the column matrix, rows plane apart
} KN(conv_shape);

// The shape of p; a strided layer's tap tables are filled in at the start of work.
static KN(conv_shape) KN(conv_shape_of)(const pdt_conv2d *p, T *work) {
    const pdt_int cg = p->c / p->groups;
    int32_t *tab = p->sw > 1 ? (int32_t *)work : NULL;
    if (tab) KN(conv_tap_tables)(p, tab);
    return (KN(conv_shape)){
        .p = p, .tab = tab, .cg = cg, .og = p->o / p->groups, .k = cg * p->kh * p->kw, .plane = p->oh * p->ow,
        .image_in = p->c * p->h * p->w, .image_out = p->o * p->oh * p->ow,
        .direct = pdt_conv2d_batch(p) == 1 && p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 &&
                  p->pw == 0 && p->oh == p->h && p->ow == p->w};
}

// The column matrix of group grp of images n .. n+count-1 (x itself in the direct case).
static const T *KN(conv_columns)(const KN(conv_shape) *cs, const T *x, pdt_int n, pdt_int count, pdt_int grp,
                                 T *col) {
    const T *xg = x + n * cs->image_in + grp * cs->cg * cs->p->h * cs->p->w;
    if (cs->direct) return xg;
    for (pdt_int i = 0; i < count; ++i)
        if (cs->p->sw > 2)
            KN(conv_im2col_tables)(cs->p, cs->tab, cs->cg, xg + i * cs->image_in, col + i * cs->plane,
                                   count * cs->plane);
        else
            KN(conv_im2col)(cs->p, cs->cg, xg + i * cs->image_in, col + i * cs->plane, count * cs->plane);
    return col;
}

// Whether the blocks run on threads: from PDT_GEMM_PAR_MIN multiply-adds in all.
static inline int KN(conv_parallel)(const pdt_conv2d *p) {
    return pdt_conv2d_blocks(p) > 1 &&
           (double)p->n * p->o * (p->c / p->groups) * p->kh * p->kw * p->oh * p->ow >= PDT_GEMM_PAR_MIN;
}

// d[0..n) += a·s[0..n)
static inline void KN(conv_axpy_row)(pdt_int n, T a, const T *restrict s, T *restrict d) {
    const V av = vset1(a);
    pdt_int q = 0;
    for (; q + VN <= n; q += VN) vstore(d + q, vfma(av, vload(s + q), vload(d + q)));
    if (q < n) vstore_tail(d + q, vfma(av, vload_tail(s + q, n - q), vload_tail(d + q, n - q)), n - q);
}

// Depthwise (groups = C = O): each plane is its own channel's 2-D correlation, computed in place tap by tap
// (an im2col GEMM would be a product of one row per image). dst_plane (oh, ow) += Σ_taps w[i, j]·x at the tap
// (forward); with `scatter`, the transpose: dst_plane (h, w) += w[i, j]·src (oh, ow) at the tap (dx).
static void KN(conv_depthwise_plane)(const pdt_conv2d *p, const T *restrict wc, const T *restrict src,
                                     T *restrict dst, int scatter) {
    for (pdt_int i = 0; i < p->kh; ++i)
        for (pdt_int j = 0; j < p->kw; ++j) {
            const T wij = wc[i * p->kw + j];
            pdt_int lo, hi;
            pdt_conv_span(p->w, p->ow, p->sw, p->pw, j * p->dw, &lo, &hi);
            for (pdt_int r = 0; r < p->oh; ++r) {
                const pdt_int ih = r * p->sh - p->ph + i * p->dh;
                if (ih < 0 || ih >= p->h) continue;
                const pdt_int in0 = ih * p->w - p->pw + j * p->dw;  // input index of output column 0 at this tap
                T *d = scatter ? dst + in0 : dst + r * p->ow;
                const T *s = scatter ? src + r * p->ow : src + in0;
                if (p->sw == 1) KN(conv_axpy_row)(hi - lo, wij, s + lo, d + lo);
                else if (scatter) for (pdt_int q = lo; q < hi; ++q) d[q * p->sw] += wij * s[q];
                else for (pdt_int q = lo; q < hi; ++q) d[q] += wij * s[q * p->sw];
            }
        }
}

// Stride 1 (conv_depthwise_flat): a plane copied once into a zero-padded buffer makes every tap a plain
// shifted row, so each output vector sums all its taps in a register, with no bounds and no tails but the
// last store of a row. The buffer has VN + dw·(kw − 1) values of slack past its last row: a full vector
// load at a row's end reads them (or the next row), and those lanes are never stored.
static inline int KN(conv_depthwise_flat)(const pdt_conv2d *p) { return p->sh == 1 && p->sw == 1; }

// Values of the padded buffer for rows × cols, with its slack.
static inline pdt_int KN(conv_padded_size)(const pdt_conv2d *p, pdt_int rows, pdt_int cols) {
    return rows * cols + VN + p->dw * (p->kw - 1);
}

// src (rows_in, cols_in) → dst (rows, cols) with dst[a, b] = src[a − top, b − left], 0 outside src
// (top, left may be negative: a crop); then `slack` zeros. Vector copies, not memcpy: rows are a few dozen
// values, shorter than a call's overhead.
static void KN(conv_pad_plane)(const T *restrict src, pdt_int rows_in, pdt_int cols_in, pdt_int top, pdt_int left,
                               T *restrict dst, pdt_int rows, pdt_int cols, pdt_int slack) {
    const pdt_int b0 = left > 0 ? left : 0, b1 = cols_in + left < cols ? cols_in + left : cols;
    for (pdt_int a = 0; a < rows; ++a) {
        T *d = dst + a * cols;
        const pdt_int r = a - top;
        if (r < 0 || r >= rows_in || b1 <= b0) {
            for (pdt_int b = 0; b < cols; b += VN) vstore_part(d + b, vzero(), cols - b < VN ? cols - b : VN);
            continue;
        }
        const T *s = src + r * cols_in - left;  // s[b] goes to d[b]
        for (pdt_int b = 0; b < b0; ++b) d[b] = 0;
        for (pdt_int b = b0; b < b1; b += VN) vstore_part(d + b, vload_part(s + b, b1 - b < VN ? b1 - b : VN),
                                                          b1 - b < VN ? b1 - b : VN);
        for (pdt_int b = b1; b < cols; ++b) d[b] = 0;
    }
    for (pdt_int b = 0; b < slack; b += VN) vstore_part(dst + rows * cols + b, vzero(), slack - b < VN ? slack - b : VN);
}

// xp (·, cols), zero-padded → y (oh, ow) = b + Σ_{i,j} w(i, j)·xp[r + i·dh, q + j·dw], with
// w(i, j) = wc[step·(i·kw + j)] (step −1 from the last tap: the flipped kernel of dx). Two rows at a time:
// two independent chains of multiply-adds (a lone last row is computed twice).
static void KN(conv_correlate_plane)(const pdt_conv2d *p, const T *restrict xp, pdt_int cols, const T *wc,
                                     pdt_int step, T b, pdt_int oh, pdt_int ow, T *restrict y) {
    for (pdt_int r = 0; r < oh; r += 2) {
        const pdt_int r1 = r + 1 < oh ? r + 1 : r;
        for (pdt_int q = 0; q < ow; q += VN) {
            V acc0 = vset1(b), acc1 = acc0;
            for (pdt_int i = 0; i < p->kh; ++i) {
                const T *row0 = xp + (r + i * p->dh) * cols + q, *row1 = xp + (r1 + i * p->dh) * cols + q;
                for (pdt_int j = 0; j < p->kw; ++j) {
                    const V wv = vset1(wc[step * (i * p->kw + j)]);
                    acc0 = vfma(wv, vload(row0 + j * p->dw), acc0);
                    acc1 = vfma(wv, vload(row1 + j * p->dw), acc1);
                }
            }
            const pdt_int lanes = ow - q < VN ? ow - q : VN;
            vstore_part(y + r * ow + q, acc0, lanes);
            vstore_part(y + r1 * ow + q, acc1, lanes);
        }
    }
}

// a + Σ_q g[q]·x[q] over one row of n values
static inline V KN(conv_row_dot)(pdt_int n, const T *restrict g, const T *restrict x, V a) {
    pdt_int q = 0;
    for (; q + VN <= n; q += VN) a = vfma(vload(g + q), vload(x + q), a);
    return q < n ? vfma(vload_tail(g + q, n - q), vload_tail(x + q, n - q), a) : a;
}

// acc[i·kw + j] += Σ_{r,q} g[r, q]·xp[r + i·dh, q + j·dw] over g (oh, ow), xp (·, cols) zero-padded; rows
// r mod 4 in four chains of multiply-adds, combined in a fixed order
static void KN(conv_depthwise_taps)(const pdt_conv2d *p, const T *restrict g, const T *restrict xp, pdt_int cols,
                                    V *restrict acc) {
    const pdt_int ow = p->ow;
    for (pdt_int i = 0; i < p->kh; ++i)
        for (pdt_int j = 0; j < p->kw; ++j) {
            const T *x0 = xp + i * p->dh * cols + j * p->dw;
            V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
            pdt_int r = 0;
            for (; r + 4 <= p->oh; r += 4) {
                a0 = KN(conv_row_dot)(ow, g + r * ow, x0 + r * cols, a0);
                a1 = KN(conv_row_dot)(ow, g + (r + 1) * ow, x0 + (r + 1) * cols, a1);
                a2 = KN(conv_row_dot)(ow, g + (r + 2) * ow, x0 + (r + 2) * cols, a2);
                a3 = KN(conv_row_dot)(ow, g + (r + 3) * ow, x0 + (r + 3) * cols, a3);
            }
            for (; r < p->oh; ++r) a0 = KN(conv_row_dot)(ow, g + r * ow, x0 + r * cols, a0);
            acc[i * p->kw + j] = vadd(acc[i * p->kw + j], vadd(vadd(a0, a1), vadd(a2, a3)));
        }
}

// x (N, C, H, W), weight (C, 1, kh, kw), bias (C) or NULL → y (N, C, oh, ow), one plane per (n, c)
static pdt_status KN(conv_depthwise_forward)(const pdt_conv2d *p, const T *x, const T *weight, const T *bias, T *y) {
    const pdt_int planes = p->n * p->c, in = p->h * p->w, out = p->oh * p->ow, taps = p->kh * p->kw;
    const pdt_int rows = p->oh + p->dh * (p->kh - 1), cols = p->ow + p->dw * (p->kw - 1);
    const pdt_int blocks = planes < PDT_CONV_BLOCKS ? planes : PDT_CONV_BLOCKS;
    int status[PDT_CONV_BLOCKS] = {0};
    PDT_OMP_FOR(blocks > 1 && planes * out * taps > PDT_PAR_MIN)
    for (pdt_int blk = 0; blk < blocks; ++blk) {
        T *xp = KN(conv_depthwise_flat)(p) ? pdt_scratch((size_t)KN(conv_padded_size)(p, rows, cols) * sizeof(T))
                                           : NULL;
        if (KN(conv_depthwise_flat)(p) && !xp) {
            status[blk] = 1;
            continue;
        }
        for (pdt_int nc = blk * planes / blocks; nc < (blk + 1) * planes / blocks; ++nc) {
            const pdt_int c = nc % p->c;
            T *yc = y + nc * out;
            const T b = bias ? bias[c] : (T)0;
            if (xp) {
                KN(conv_pad_plane)(x + nc * in, p->h, p->w, p->ph, p->pw, xp, rows, cols,
                                   KN(conv_padded_size)(p, rows, cols) - rows * cols);
                KN(conv_correlate_plane)(p, xp, cols, weight + c * taps, 1, b, p->oh, p->ow, yc);
                continue;
            }
            for (pdt_int q = 0; q < out; ++q) yc[q] = b;
            KN(conv_depthwise_plane)(p, weight + c * taps, x + nc * in, yc, 0);
        }
    }
    for (pdt_int blk = 0; blk < blocks; ++blk)
        if (status[blk]) return PDT_ENOMEM;
    return PDT_OK;
}

// Stride 1: for each image in order, each channel of a block: dy padded by the kernel's reach less the padding
// and correlated with the flipped kernel gives dx; x padded gives every tap's Σ dy·x. A block's channels are
// adjacent planes of each image (a contiguous read). Each channel's taps sum in VN lanes over images in order,
// reduced at the end, so dW does not depend on how the channels are split.
static pdt_status KN(conv_depthwise_flat_backward)(const pdt_conv2d *p, const T *x, const T *weight, const T *dy,
                                                   T *dx, T *dweight) {
    const pdt_int in = p->h * p->w, out = p->oh * p->ow, taps = p->kh * p->kw;
    const pdt_int xrows = p->oh + p->dh * (p->kh - 1), xcols = p->ow + p->dw * (p->kw - 1);
    const pdt_int grows = p->h + p->dh * (p->kh - 1), gcols = p->w + p->dw * (p->kw - 1);
    const pdt_int xsize = KN(conv_padded_size)(p, xrows, xcols), gsize = KN(conv_padded_size)(p, grows, gcols);
    const pdt_int blocks = p->c < PDT_CONV_BLOCKS ? p->c : PDT_CONV_BLOCKS;
    int status[PDT_CONV_BLOCKS] = {0};
    PDT_OMP_FOR(blocks > 1 && p->n * p->c * out * taps > PDT_PAR_MIN)
    for (pdt_int blk = 0; blk < blocks; ++blk) {
        const pdt_int c0 = blk * p->c / blocks, c1 = (blk + 1) * p->c / blocks;
        // the block's taps' vector sums, then the padded x, then the padded dy
        V *acc = pdt_scratch((size_t)((c1 - c0) * taps) * sizeof(V) + (size_t)(xsize + gsize) * sizeof(T));
        if (!acc) {
            status[blk] = 1;
            continue;
        }
        T *xp = (T *)(acc + (c1 - c0) * taps), *gp = xp + xsize;
        for (pdt_int t = 0; t < (c1 - c0) * taps; ++t) acc[t] = vzero();
        for (pdt_int n = 0; n < p->n; ++n)
            for (pdt_int c = c0; c < c1; ++c) {
                const pdt_int nc = n * p->c + c;
                if (dx) {
                    KN(conv_pad_plane)(dy + nc * out, p->oh, p->ow, p->dh * (p->kh - 1) - p->ph,
                                       p->dw * (p->kw - 1) - p->pw, gp, grows, gcols, gsize - grows * gcols);
                    KN(conv_correlate_plane)(p, gp, gcols, weight + (c + 1) * taps - 1, -1, 0, p->h, p->w,
                                             dx + nc * in);
                }
                KN(conv_pad_plane)(x + nc * in, p->h, p->w, p->ph, p->pw, xp, xrows, xcols, xsize - xrows * xcols);
                KN(conv_depthwise_taps)(p, dy + nc * out, xp, xcols, acc + (c - c0) * taps);
            }
        for (pdt_int t = 0; t < (c1 - c0) * taps; ++t) dweight[c0 * taps + t] += vreduce_add(acc[t]);
    }
    for (pdt_int blk = 0; blk < blocks; ++blk)
        if (status[blk]) return PDT_ENOMEM;
    return PDT_OK;
}

// dy (N, C, oh, ow) → dx (N, C, H, W) (NULL: skipped); dweight (C, 1, kh, kw) += Σ_n Σ dy·x at each tap,
// summed per channel over images in order
static pdt_status KN(conv_depthwise_backward)(const pdt_conv2d *p, const T *x, const T *weight, const T *dy, T *dx,
                                              T *dweight) {
    if (KN(conv_depthwise_flat)(p)) return KN(conv_depthwise_flat_backward)(p, x, weight, dy, dx, dweight);
    const pdt_int planes = p->n * p->c, in = p->h * p->w, out = p->oh * p->ow, taps = p->kh * p->kw;
    if (dx) {
        PDT_OMP_FOR(planes > 1 && planes * out * taps > PDT_PAR_MIN)
        for (pdt_int nc = 0; nc < planes; ++nc) {
            memset(dx + nc * in, 0, (size_t)in * sizeof(T));
            KN(conv_depthwise_plane)(p, weight + (nc % p->c) * taps, dy + nc * out, dx + nc * in, 1);
        }
    }
    PDT_OMP_FOR(p->c > 1 && planes * out * taps > PDT_PAR_MIN)
    for (pdt_int c = 0; c < p->c; ++c)
        for (pdt_int i = 0; i < p->kh; ++i)
            for (pdt_int j = 0; j < p->kw; ++j) {
                pdt_int lo, hi;
                pdt_conv_span(p->w, p->ow, p->sw, p->pw, j * p->dw, &lo, &hi);
                T acc = 0;
                for (pdt_int n = 0; n < p->n; ++n)
                    for (pdt_int r = 0; r < p->oh; ++r) {
                        const pdt_int ih = r * p->sh - p->ph + i * p->dh;
                        if (ih < 0 || ih >= p->h) continue;
                        const T *g = dy + (n * p->c + c) * out + r * p->ow;
                        const T *xs = x + (n * p->c + c) * in + ih * p->w - p->pw + j * p->dw;
                        for (pdt_int q = lo; q < hi; ++q) acc += g[q] * xs[q * p->sw];
                    }
                dweight[c * taps + i * p->kw + j] += acc;
            }
    return PDT_OK;
}

// The Winograd path (conv_winograd.c, included after this file)
static pdt_status KN(conv_winograd_forward)(const pdt_conv2d *p, const T *x, const T *weight, const T *bias, T *y,
                                            T *work);
static pdt_status KN(conv_winograd_backward)(const pdt_conv2d *p, const T *x, const T *weight, const T *dy, T *dx,
                                             T *dweight, T *work);

// x (N, C, H, W), weight (O, C/g, kh, kw), bias (O) or NULL → y (N, O, oh, ow); y_n = W·col(x_n) + b per group
static pdt_status KN(conv2d_forward)(const pdt_conv2d *p, const T *x, const T *weight, const T *bias, T *y, T *work) {
    if (p->n == 0) return PDT_OK;  // no image: y is empty, and there is no block to share the work buffer
    if (pdt_conv2d_depthwise(p)) return KN(conv_depthwise_forward)(p, x, weight, bias, y);
    if (pdt_conv2d_winograd(p)) return KN(conv_winograd_forward)(p, x, weight, bias, y, work);
    const KN(conv_shape) cs = KN(conv_shape_of)(p, work);
    work += pdt_conv2d_tables(p);  // the blocks' buffers follow the tables
    const pdt_int blocks = pdt_conv2d_blocks(p), batch = pdt_conv2d_batch(p), cols = batch * cs.plane;
    const pdt_int per = (pdt_conv2d_work(p) - pdt_conv2d_tables(p)) / blocks;
    int status[PDT_CONV_BLOCKS] = {0};  // per block: the GEMM's only failure is PDT_ENOMEM
    PDT_OMP_FOR(KN(conv_parallel)(p))
    for (pdt_int b = 0; b < blocks; ++b) {
        T *col = work + b * per, *out = col + cs.k * cols;  // out: the batch's (og, count·plane) when batched
        const pdt_int n1 = (b + 1) * p->n / blocks;
        for (pdt_int n = b * p->n / blocks; n < n1; n += batch) {
            const pdt_int count = n1 - n < batch ? n1 - n : batch, ld = count * cs.plane;
            for (pdt_int grp = 0; grp < p->groups; ++grp) {
                const T *src = KN(conv_columns)(&cs, x, n, count, grp, col);
                T *yg = y + n * cs.image_out + grp * cs.og * cs.plane;
                status[b] |= KN(gemm)(0, 0, cs.og, ld, cs.k, 1.0, weight + grp * cs.og * cs.k, cs.k, src, ld, 0.0,
                                      batch > 1 ? out : yg, ld, NULL);
                if (batch == 1 && !bias) continue;
                for (pdt_int i = 0; i < count; ++i)  // each image's rows into place, plus the bias
                    for (pdt_int o = 0; o < cs.og; ++o)
                        KN(conv_bias_row)(cs.plane, batch > 1 ? out + o * ld + i * cs.plane : yg + o * cs.plane,
                                          bias ? bias[grp * cs.og + o] : (T)0, yg + i * cs.image_out + o * cs.plane);
            }
        }
    }
    for (pdt_int b = 0; b < blocks; ++b)
        if (status[b]) return PDT_ENOMEM;
    return PDT_OK;
}

// dy (N, O, oh, ow) → dweight (O, C/g, kh, kw) += Σ_n dy_n·col(x_n)ᵀ, dx (N, C, H, W) = col⁻¹(Wᵀ·dy_n) by GEMMs
static pdt_status KN(conv_gemm_backward)(const pdt_conv2d *p, const T *x, const T *weight, const T *dy, T *dx,
                                         T *dweight, T *work) {
    if (p->n == 0) return PDT_OK;  // no image: dx is empty, dW gains nothing, no block shares the work buffer
    const KN(conv_shape) cs = KN(conv_shape_of)(p, work);
    work += pdt_conv2d_tables(p);  // the blocks' buffers follow the tables
    const pdt_int blocks = pdt_conv2d_blocks(p), batch = pdt_conv2d_batch(p), cols = batch * cs.plane;
    const pdt_int per = (pdt_conv2d_work(p) - pdt_conv2d_tables(p)) / blocks, k = cs.k;
    int status[PDT_CONV_BLOCKS] = {0};  // per block: the GEMM's only failure is PDT_ENOMEM
    PDT_OMP_FOR(KN(conv_parallel)(p))
    for (pdt_int b = 0; b < blocks; ++b) {
        T *col = work + b * per, *dyb = col + k * cols;  // dyb: the batch's dy as (og, count·plane) when batched
        T *dw = work + (b + 1) * per - p->o * k;          // this block's Σ dy·colᵀ, (O, k)
        const pdt_int n0 = b * p->n / blocks, n1 = (b + 1) * p->n / blocks;
        for (pdt_int n = n0; n < n1; n += batch) {
            const pdt_int count = n1 - n < batch ? n1 - n : batch, ld = count * cs.plane;
            if (dx && !cs.direct) memset(dx + n * cs.image_in, 0, (size_t)(count * cs.image_in) * sizeof(T));
            for (pdt_int grp = 0; grp < p->groups; ++grp) {
                const T *src = KN(conv_columns)(&cs, x, n, count, grp, col);
                const T *dyg = dy + n * cs.image_out + grp * cs.og * cs.plane, *wg = weight + grp * cs.og * k;
                if (batch > 1)
                    for (pdt_int i = 0; i < count; ++i)
                        for (pdt_int o = 0; o < cs.og; ++o)
                            memcpy(dyb + o * ld + i * cs.plane, dyg + i * cs.image_out + o * cs.plane,
                                   (size_t)cs.plane * sizeof(T));
                const T *g = batch > 1 ? dyb : dyg;
                status[b] |= KN(gemm)(0, 1, cs.og, k, ld, 1.0, g, ld, src, ld, n == n0 ? 0.0 : 1.0,
                                      dw + grp * cs.og * k, k, NULL);
                if (!dx) continue;
                T *dxg = dx + n * cs.image_in + grp * cs.cg * p->h * p->w;
                status[b] |= KN(gemm)(1, 0, k, ld, cs.og, 1.0, wg, k, g, ld, 0.0, cs.direct ? dxg : col, ld, NULL);
                for (pdt_int i = 0; i < count && !cs.direct; ++i)
                    if (cs.tab) KN(conv_col2im_tables)(p, cs.tab, cs.cg, col + i * cs.plane, ld, dxg + i * cs.image_in);
                    else KN(conv_col2im)(p, cs.cg, col + i * cs.plane, ld, dxg + i * cs.image_in);
            }
        }
    }
    for (pdt_int b = 0; b < blocks; ++b)
        if (status[b]) return PDT_ENOMEM;
    // the partial dW in block order
    for (pdt_int b = 0; b < blocks; ++b) KN(conv_add_row)(p->o * k, work + (b + 1) * per - p->o * k, dweight);
    return PDT_OK;
}

// dy (N, O, oh, ow) → dweight (O, C/g, kh, kw) += Σ_n dy_n·col(x_n)ᵀ, dbias (O) += Σ dy (NULL: none),
// dx (N, C, H, W) = col⁻¹(Wᵀ·dy_n) (NULL: not computed)
static pdt_status KN(conv2d_backward)(const pdt_conv2d *p, const T *x, const T *weight, const T *dy, T *dx,
                                      T *dweight, T *dbias, T *work) {
    const pdt_int plane = p->oh * p->ow;
    const pdt_status st = pdt_conv2d_depthwise(p)  ? KN(conv_depthwise_backward)(p, x, weight, dy, dx, dweight)
                          : p->n == 0               ? PDT_OK
                          : pdt_conv2d_winograd(p) ? KN(conv_winograd_backward)(p, x, weight, dy, dx, dweight, work)
                                                   : KN(conv_gemm_backward)(p, x, weight, dy, dx, dweight, work);
    if (st != PDT_OK) return st;
    // db per channel over images in order
    if (dbias)
        for (pdt_int o = 0; o < p->o; ++o) {
            V acc = vzero();
            T tail = 0;
            for (pdt_int n = 0; n < p->n; ++n) {
                const T *row = dy + (n * p->o + o) * plane;
                pdt_int q = 0;
                for (; q + VN <= plane; q += VN) acc = vadd(acc, vload(row + q));
                for (; q < plane; ++q) tail += row[q];
            }
            dbias[o] += vreduce_add(acc) + tail;
        }
    return PDT_OK;
}
