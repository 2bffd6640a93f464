/*
 * conv_winograd.c — 3×3 stride-1 "same" convolution by Winograd's minimal filtering F(2×2, 3×3)
 * (Lavin & Gray 2016), for the layers pdt_conv2d_winograd selects.
 *
 * Each 2×2 output tile is y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its 4×4 input tile d (rows and columns
 * 2a − 1 … 2a + 2 of the image, 0 outside); the sum over input channels is, at each of the 16 positions ξ of
 * the 4×4 transforms, one product U_ξ (O, C) · V_ξ (C, tiles) on the GEMM: 16·O·C multiply-adds per tile
 * against the direct 36·O·C. dx is the same correlation of dy with the flipped kernel and the channels
 * swapped (padding 1 keeps dx the size of dy); dW is its adjoint in the kernel,
 * dW = Gᵀ[Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)]G, the sum over tiles again one product per ξ, U_ξ's gradient
 * (O, tiles)·(C, tiles)ᵀ.
 * Layout: a transform's 16 positions are 16 matrices one after another (wino_gap apart); a tile's column p
 * counts images, then tile rows, then tile columns. Threads: the images are cut into pdt_winograd_blocks(p)
 * blocks (from N and the plane size only), each transforming pdt_winograd_images(p) images at a time into its
 * own buffers and keeping its own Σ for dW, summed in block order before the last transform: the same bits
 * for any thread count.
 */

// g (3, 3) with element (i, j) at g[i·si + j·sj] → u (4, 4) = G g Gᵀ, its 16 positions `ld` apart (one value of
// each U_ξ matrix). G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
static void KN(wino_filter)(const T *g, pdt_int si, pdt_int sj, T *u, pdt_int ld) {
    T t[3][4];
    for (pdt_int i = 0; i < 3; ++i) {
        const T g0 = g[i * si], g1 = g[i * si + sj], g2 = g[i * si + 2 * sj];
        t[i][0] = g0;
        t[i][1] = (T)0.5 * (g0 + g1 + g2);
        t[i][2] = (T)0.5 * (g0 - g1 + g2);
        t[i][3] = g2;
    }
    for (pdt_int j = 0; j < 4; ++j) {
        u[(0 * 4 + j) * ld] = t[0][j];
        u[(1 * 4 + j) * ld] = (T)0.5 * (t[0][j] + t[1][j] + t[2][j]);
        u[(2 * 4 + j) * ld] = (T)0.5 * (t[0][j] - t[1][j] + t[2][j]);
        u[(3 * 4 + j) * ld] = t[2][j];
    }
}

// s (4, 4), positions `ld` apart → dw (3, 3) += Gᵀ s G, summed in a fixed order
static void KN(wino_filter_grad)(const T *s, pdt_int ld, T *dw) {
    T t[4][3];
    for (pdt_int i = 0; i < 4; ++i) {
        const T s0 = s[(i * 4) * ld], s1 = s[(i * 4 + 1) * ld], s2 = s[(i * 4 + 2) * ld], s3 = s[(i * 4 + 3) * ld];
        t[i][0] = s0 + (T)0.5 * (s1 + s2);
        t[i][1] = (T)0.5 * (s1 - s2);
        t[i][2] = (T)0.5 * (s1 + s2) + s3;
    }
    for (pdt_int j = 0; j < 3; ++j) {
        dw[j] += t[0][j] + (T)0.5 * (t[1][j] + t[2][j]);
        dw[3 + j] += (T)0.5 * (t[1][j] - t[2][j]);
        dw[6 + j] += (T)0.5 * (t[1][j] + t[2][j]) + t[3][j];
    }
}

// One image's planes (channels, h, w) → V: v[ξ·ld + c·tiles + t] = (Bᵀ d B)_ξ of tile t (th·tw of them) of
// channel c. Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. Each plane is copied zero-padded into xp
// (2·th + 2, 2·tw + 2) (xp[r, s] = plane[r − 1, s − 1]); the row pass d B runs once per padded row on stride-2
// loads, VN tiles a vector, into e (rows, 4, tw); the column pass then combines four rows of e per tile row.
static void KN(wino_input)(const T *x, pdt_int channels, pdt_int h, pdt_int w, pdt_int th, pdt_int tw, T *xp,
                           T *v, pdt_int tiles, pdt_int ld) {
    const pdt_int rows = 2 * th + 2, cols = 2 * tw + 2;
    T *e = xp + rows * cols;
    for (pdt_int c = 0; c < channels; ++c) {
        KN(conv_pad_plane)(x + c * h * w, h, w, 1, 1, xp, rows, cols, 0);
        for (pdt_int r = 0; r < rows; ++r)
            for (pdt_int b = 0; b < tw; b += VN) {
                const pdt_int lanes = tw - b < VN ? tw - b : VN;
                const T *src = xp + r * cols + 2 * b;
                const V r0 = KN(load_even)(src, lanes), r1 = KN(load_even)(src + 1, lanes);
                const V r2 = KN(load_even)(src + 2, lanes), r3 = KN(load_even)(src + 3, lanes);
                T *er = e + r * 4 * tw + b;
                vstore_part(er, vsub(r0, r2), lanes);
                vstore_part(er + tw, vadd(r1, r2), lanes);
                vstore_part(er + 2 * tw, vsub(r2, r1), lanes);
                vstore_part(er + 3 * tw, vsub(r1, r3), lanes);
            }
        for (pdt_int a = 0; a < th; ++a)
            for (pdt_int j = 0; j < 4; ++j)
                for (pdt_int b = 0; b < tw; b += VN) {
                    const pdt_int lanes = tw - b < VN ? tw - b : VN;
                    const T *e0 = e + (2 * a * 4 + j) * tw + b;  // rows 2a … 2a + 3 of e at column pass j
                    const V e0v = vload_part(e0, lanes), e1 = vload_part(e0 + 4 * tw, lanes);
                    const V e2 = vload_part(e0 + 8 * tw, lanes), e3 = vload_part(e0 + 12 * tw, lanes);
                    T *o = v + c * tiles + a * tw + b;
                    vstore_part(o + (0 * 4 + j) * ld, vsub(e0v, e2), lanes);
                    vstore_part(o + (1 * 4 + j) * ld, vadd(e1, e2), lanes);
                    vstore_part(o + (2 * 4 + j) * ld, vsub(e2, e1), lanes);
                    vstore_part(o + (3 * 4 + j) * ld, vsub(e1, e3), lanes);
                }
    }
}

// M → one image's planes (channels, oh, ow): each tile's Aᵀ m A (+ bias[c] when bias), clipped to the plane.
// Aᵀ = [1 1 1 0; 0 1 −1 −1]. VN tiles of a tile row at a time, their four outputs interleaved into the rows.
static void KN(wino_output)(const T *m, pdt_int tiles, pdt_int ld, pdt_int channels, pdt_int oh, pdt_int ow,
                            pdt_int th, pdt_int tw, const T *bias, T *y) {
    T out[4][VN];
    for (pdt_int c = 0; c < channels; ++c) {
        const V bv = vset1(bias ? bias[c] : (T)0);
        T *yc = y + c * oh * ow;
        for (pdt_int a = 0; a < th; ++a)
            for (pdt_int b = 0; b < tw; b += VN) {
                const pdt_int lanes = tw - b < VN ? tw - b : VN;
                const T *q = m + c * tiles + a * tw + b;
                V e[4][2];
                for (pdt_int i = 0; i < 4; ++i) {
                    const V m0 = vload_part(q + (i * 4) * ld, lanes), m1 = vload_part(q + (i * 4 + 1) * ld, lanes);
                    const V m2 = vload_part(q + (i * 4 + 2) * ld, lanes), m3 = vload_part(q + (i * 4 + 3) * ld, lanes);
                    e[i][0] = vadd(vadd(m0, m1), m2);
                    e[i][1] = vsub(vsub(m1, m2), m3);
                }
                for (pdt_int k = 0; k < 2; ++k) {
                    vstore(out[k], vadd(vadd(vadd(e[0][k], e[1][k]), e[2][k]), bv));
                    vstore(out[2 + k], vadd(vsub(vsub(e[1][k], e[2][k]), e[3][k]), bv));
                }
                const pdt_int r = 2 * a;
                for (pdt_int row = 0; row < 2 && r + row < oh; ++row) {
                    T *yr = yc + (r + row) * ow + 2 * b;
                    const pdt_int pairs = (ow - 2 * b) / 2 < lanes ? (ow - 2 * b) / 2 : lanes;  // whole 2-wide tiles
                    for (pdt_int t = 0; t < pairs; ++t) {
                        yr[2 * t] = out[2 * row][t];
                        yr[2 * t + 1] = out[2 * row + 1][t];
                    }
                    if (pairs < lanes) yr[2 * pairs] = out[2 * row][pairs];  // an odd plane's last column
                }
            }
    }
}

// One image's dy planes (channels, oh, ow) → G: g[ξ·ld + o·tiles + t] = (A dy Aᵀ)_ξ of the 2×2 tile t (0 past
// the plane). A = [1 0; 1 1; 1 −1; 0 −1]. VN tiles of a tile row at a time, by stride-2 loads of dy's rows.
static void KN(wino_grad_tiles)(const T *dy, pdt_int channels, pdt_int oh, pdt_int ow, pdt_int th, pdt_int tw,
                                T *g, pdt_int tiles, pdt_int ld) {
    for (pdt_int c = 0; c < channels; ++c)
        for (pdt_int a = 0; a < th; ++a)
            for (pdt_int b = 0; b < tw; b += VN) {
                const pdt_int lanes = tw - b < VN ? tw - b : VN;
                const pdt_int odd = ow / 2 - b < lanes ? ow / 2 - b : lanes;  // tiles with a second column
                V d[2][2];
                for (pdt_int i = 0; i < 2; ++i) {
                    const T *row = dy + (c * oh + 2 * a + i) * ow + 2 * b;
                    const int inside = 2 * a + i < oh;
                    d[i][0] = inside ? KN(load_even)(row, lanes) : vzero();
                    d[i][1] = inside && odd > 0 ? KN(load_even)(row + 1, odd) : vzero();
                }
                V q[2][4];
                for (pdt_int i = 0; i < 2; ++i) {
                    q[i][0] = d[i][0];
                    q[i][1] = vadd(d[i][0], d[i][1]);
                    q[i][2] = vsub(d[i][0], d[i][1]);
                    q[i][3] = vsub(vzero(), d[i][1]);
                }
                T *o = g + c * tiles + a * tw + b;
                for (pdt_int j = 0; j < 4; ++j) {
                    vstore_part(o + (0 * 4 + j) * ld, q[0][j], lanes);
                    vstore_part(o + (1 * 4 + j) * ld, vadd(q[0][j], q[1][j]), lanes);
                    vstore_part(o + (2 * 4 + j) * ld, vsub(q[0][j], q[1][j]), lanes);
                    vstore_part(o + (3 * 4 + j) * ld, vsub(vzero(), q[1][j]), lanes);
                }
            }
}

// Elements from one position's matrix (rows, tiles) to the next: PDT_WINOGRAD_SKEW more than the matrix, so that
// the 16 positions a transform writes per tile do not lie a multiple of 4 KiB apart, in the same L1 sets
static inline pdt_int KN(wino_gap)(pdt_int rows, pdt_int tiles) { return rows * tiles + PDT_WINOGRAD_SKEW; }

// The shape of a Winograd call: tiles per image, images per transform, the block buffers' offsets.
typedef struct {
    pdt_int th, tw, per_image, images, tiles;  // tiles = images·per_image, the GEMMs' columns at most
    pdt_int s, pad, per_block;  // offsets of dW's Σ and of the padded plane in a block's buffer, and its size
} KN(wino_shape);

static KN(wino_shape) KN(wino_shape_of)(const pdt_conv2d *p) {
    KN(wino_shape) ws = {.th = (p->oh + 1) / 2, .tw = (p->ow + 1) / 2, .images = pdt_winograd_images(p)};
    ws.per_image = ws.th * ws.tw;
    ws.tiles = ws.images * ws.per_image;
    ws.s = 16 * (KN(wino_gap)(p->c, ws.tiles) + KN(wino_gap)(p->o, ws.tiles));
    ws.pad = ws.s + 16 * KN(wino_gap)(p->o, p->c);
    ws.per_block = pdt_winograd_block(p);
    return ws;
}

// x (channels_in planes per image) → y (channels_out planes per image) for images [n0, n1) of one block, by the
// transformed filter u (16 matrices (cout, cin)): chunks of ws->images images, 16 GEMMs each. Forward (x, W) and
// dx (dy, the flipped W with channels swapped) alike.
static pdt_status KN(wino_correlate)(const pdt_conv2d *p, const KN(wino_shape) *ws, const T *x, pdt_int cin,
                                     const T *u, const T *bias, pdt_int cout, T *y, pdt_int n0, pdt_int n1,
                                     T *buf) {
    const pdt_int plane = p->oh * p->ow;
    T *v = buf, *m = buf + 16 * KN(wino_gap)(cin, ws->tiles), *xp = buf + ws->pad;  // V, then M
    pdt_status st = PDT_OK;
    for (pdt_int n = n0; n < n1; n += ws->images) {
        const pdt_int count = n1 - n < ws->images ? n1 - n : ws->images, tiles = count * ws->per_image;
        for (pdt_int i = 0; i < count; ++i)
            KN(wino_input)(x + (n + i) * cin * plane, cin, p->oh, p->ow, ws->th, ws->tw, xp, v + i * ws->per_image,
                           tiles, KN(wino_gap)(cin, tiles));
        for (pdt_int xi = 0; xi < 16; ++xi)
            st |= KN(gemm)(0, 0, cout, tiles, cin, 1.0, u + xi * KN(wino_gap)(cout, cin), cin,
                           v + xi * KN(wino_gap)(cin, tiles), tiles, 0.0, m + xi * KN(wino_gap)(cout, tiles), tiles,
                           NULL);
        for (pdt_int i = 0; i < count; ++i)
            KN(wino_output)(m + i * ws->per_image, tiles, KN(wino_gap)(cout, tiles), cout, p->oh, p->ow, ws->th,
                            ws->tw, bias, y + (n + i) * cout * plane);
    }
    return st;
}

// x (N, C, H, W), weight (O, C, 3, 3), bias (O) or NULL → y (N, O, H, W), stride 1, padding 1
static pdt_status KN(conv_winograd_forward)(const pdt_conv2d *p, const T *x, const T *weight, const T *bias, T *y,
                                            T *work) {
    const KN(wino_shape) ws = KN(wino_shape_of)(p);
    T *u = work, *blocks_buf = work + 16 * KN(wino_gap)(p->o, p->c);
    for (pdt_int o = 0; o < p->o; ++o)
        for (pdt_int c = 0; c < p->c; ++c)
            KN(wino_filter)(weight + (o * p->c + c) * 9, 3, 1, u + o * p->c + c, KN(wino_gap)(p->o, p->c));
    const pdt_int blocks = pdt_winograd_blocks(p);
    int status[PDT_CONV_BLOCKS] = {0};
    PDT_OMP_FOR(blocks > 1 && KN(conv_parallel)(p))
    for (pdt_int b = 0; b < blocks; ++b)
        status[b] = KN(wino_correlate)(p, &ws, x, p->c, u, bias, p->o, y, b * p->n / blocks,
                                       (b + 1) * p->n / blocks, blocks_buf + b * ws.per_block) != PDT_OK;
    for (pdt_int b = 0; b < blocks; ++b)
        if (status[b]) return PDT_ENOMEM;
    return PDT_OK;
}

// dy (N, O, H, W) → dweight (O, C, 3, 3) += Σ dy ⋆ x, dx (N, C, H, W) = dy correlated with the flipped kernel
// (NULL: skipped)
static pdt_status KN(conv_winograd_backward)(const pdt_conv2d *p, const T *x, const T *weight, const T *dy, T *dx,
                                             T *dweight, T *work) {
    const KN(wino_shape) ws = KN(wino_shape_of)(p);
    const pdt_int plane = p->oh * p->ow;
    T *u = work, *blocks_buf = work + 16 * KN(wino_gap)(p->o, p->c);
    if (dx)  // the flipped kernel, channels swapped: u_ξ (C, O) from w[o, c, 2 − i, 2 − j]
        for (pdt_int c = 0; c < p->c; ++c)
            for (pdt_int o = 0; o < p->o; ++o)
                KN(wino_filter)(weight + (o * p->c + c) * 9 + 8, -3, -1, u + c * p->o + o, KN(wino_gap)(p->c, p->o));
    const pdt_int blocks = pdt_winograd_blocks(p);
    int status[PDT_CONV_BLOCKS] = {0};
    PDT_OMP_FOR(blocks > 1 && KN(conv_parallel)(p))
    for (pdt_int b = 0; b < blocks; ++b) {
        T *buf = blocks_buf + b * ws.per_block, *v = buf, *g = buf + 16 * KN(wino_gap)(p->c, ws.tiles), *s = buf + ws.s;
        T *xp = buf + ws.pad;
        const pdt_int n0 = b * p->n / blocks, n1 = (b + 1) * p->n / blocks;
        for (pdt_int n = n0; n < n1; n += ws.images) {  // Σ_ξ += G_ξ · V_ξᵀ, chunk by chunk in order
            const pdt_int count = n1 - n < ws.images ? n1 - n : ws.images, tiles = count * ws.per_image;
            for (pdt_int i = 0; i < count; ++i) {
                KN(wino_input)(x + (n + i) * p->c * plane, p->c, p->oh, p->ow, ws.th, ws.tw, xp,
                               v + i * ws.per_image, tiles, KN(wino_gap)(p->c, tiles));
                KN(wino_grad_tiles)(dy + (n + i) * p->o * plane, p->o, p->oh, p->ow, ws.th, ws.tw,
                                    g + i * ws.per_image, tiles, KN(wino_gap)(p->o, tiles));
            }
            for (pdt_int xi = 0; xi < 16; ++xi)
                status[b] |= KN(gemm)(0, 1, p->o, p->c, tiles, 1.0, g + xi * KN(wino_gap)(p->o, tiles), tiles,
                                      v + xi * KN(wino_gap)(p->c, tiles), tiles, n == n0 ? 0.0 : 1.0,
                                      s + xi * KN(wino_gap)(p->o, p->c), p->c, NULL) != PDT_OK;
        }
        if (dx)
            status[b] |= KN(wino_correlate)(p, &ws, dy, p->o, u, NULL, p->c, dx, n0, n1, buf) != PDT_OK;
    }
    for (pdt_int b = 0; b < blocks; ++b)
        if (status[b]) return PDT_ENOMEM;
    // the blocks' Σ in block order, then Gᵀ Σ G per (o, c)
    T *s0 = blocks_buf + ws.s;
    for (pdt_int b = 1; b < blocks; ++b)
        KN(conv_add_row)(16 * KN(wino_gap)(p->o, p->c), blocks_buf + b * ws.per_block + ws.s, s0);
    for (pdt_int oc = 0; oc < p->o * p->c; ++oc)
        KN(wino_filter_grad)(s0 + oc, KN(wino_gap)(p->o, p->c), dweight + oc * 9);
    return PDT_OK;
}
