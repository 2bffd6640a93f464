/*
 * augment.c — data augmentation of image batches x (n, c, h, w): n images of c
 * planes, each image transformed as a whole (its planes alike) with parameters
 * of its own. Image k draws its uniforms u_k,j from blocks offset + k·B + j of
 * the counter-based generator (rng.h; B draws per image, see kernels.def), so
 * an image's result depends on (seed, offset, k) only, never on how the images
 * were split between threads. Images run in parallel (the rotation in runs of
 * images, one framed copy of a plane per run).
 *
 *   translate:  y(i, j) = x(i − dy, j − dx), 0 or the nearest edge pixel outside
 *               (random shifts; a random crop of the zero-padded image)
 *   hflip:      y(i, j) = x(i, w − 1 − j) with probability p
 *   rotate:     bilinear x at the output pixel turned by −θ about the centre
 *   erase:      a random rectangle set to a value (Zhong et al., AAAI 2020)
 */

// A whole number drawn uniformly from lo..hi by the uniform u ∈ [0, 1).
static inline pdt_int KN(augment_pick)(double u, pdt_int lo, pdt_int hi) {
    pdt_int v = lo + (pdt_int)(u * (double)(hi - lo + 1));
    return v > hi ? hi : v;
}

// one plane: x (h, w), y (oh, ow); y(i, j) = x(i − dy, j − dx), outside x: 0, or x at the clamped position if edge
static inline void KN(augment_translate_plane)(pdt_int h, pdt_int w, pdt_int oh, pdt_int ow, pdt_int dy, pdt_int dx,
                                               int edge, const T *restrict x, T *restrict y) {
    /* output columns [j0, j1) read x's columns j − dx; the others are fill */
    const pdt_int j0 = dx < 0 ? 0 : (dx > ow ? ow : dx);
    const pdt_int j1 = w + dx < j0 ? j0 : (w + dx > ow ? ow : w + dx);
    for (pdt_int i = 0; i < oh; ++i) {
        T *restrict yr = y + i * ow;
        pdt_int si = i - dy;
        if (!edge && (si < 0 || si >= h)) {
            for (pdt_int j = 0; j < ow; ++j) yr[j] = (T)0;
            continue;
        }
        si = si < 0 ? 0 : (si >= h ? h - 1 : si);
        const T *restrict xr = x + si * w;
        const T left = edge ? xr[0] : (T)0, right = edge ? xr[w - 1] : (T)0;
        for (pdt_int j = 0; j < j0; ++j) yr[j] = left;
        if (j1 > j0) memcpy(yr + j0, xr + (j0 - dx), (size_t)(j1 - j0) * sizeof(T));
        for (pdt_int j = j1; j < ow; ++j) yr[j] = right;
    }
}

// x (n, c, h, w), y (n, c, oh, ow); image k: dy = pick(u_k,0, dy_lo..dy_hi), dx = pick(u_k,1, dx_lo..dx_hi)
// y(i, j) = x(i − dy, j − dx); outside x: 0, or (edge) x at the nearest position inside
static pdt_status KN(augment_translate)(pdt_rng rng, pdt_int n, pdt_int c, pdt_int h, pdt_int w, pdt_int oh,
                                        pdt_int ow, pdt_int dy_lo, pdt_int dy_hi, pdt_int dx_lo, pdt_int dx_hi,
                                        int edge, const T *x, T *y) {
    PDT_OMP_FOR(n * c * oh * ow > PDT_PAR_MIN)
    for (pdt_int k = 0; k < n; ++k) {
        const uint64_t first = rng.offset + 2 * (uint64_t)k;
        const pdt_int dy = KN(augment_pick)(pdt_uniform_at(rng.seed, first, 0), dy_lo, dy_hi);
        const pdt_int dx = KN(augment_pick)(pdt_uniform_at(rng.seed, first, 1), dx_lo, dx_hi);
        for (pdt_int p = k * c; p < (k + 1) * c; ++p)
            KN(augment_translate_plane)(h, w, oh, ow, dy, dx, edge, x + p * h * w, y + p * oh * ow);
    }
    return PDT_OK;
}

// x, y (n, c, h, w); image k flipped when u_k < p: y(i, j) = x(i, w − 1 − j), else y = x
static pdt_status KN(augment_hflip)(pdt_rng rng, pdt_int n, pdt_int c, pdt_int h, pdt_int w, double p, const T *x,
                                    T *y) {
    const pdt_int image = c * h * w;
    PDT_OMP_FOR(n * image > PDT_PAR_MIN)
    for (pdt_int k = 0; k < n; ++k) {
        const T *restrict xk = x + k * image;
        T *restrict yk = y + k * image;
        if (pdt_uniform_at(rng.seed, rng.offset, (uint64_t)k) < p) {
            for (pdt_int r = 0; r < c * h; ++r)
                for (pdt_int j = 0; j < w; ++j) yk[r * w + j] = xk[r * w + w - 1 - j];
        } else {
            memcpy(yk, xk, (size_t)image * sizeof(T));
        }
    }
    return PDT_OK;
}

// x, y (n, c, h, w); image k turns by θ = degrees·(2u_k − 1)·π/180 (counter-clockwise as displayed for θ > 0)
// y(i, j) = bilinear x at (sy, sx) = (cy + sinθ(j − cx) + cosθ(i − cy), cx + cosθ(j − cx) − sinθ(i − cy)),
// pixels outside x count as 0; (cy, cx) = ((h − 1)/2, (w − 1)/2)
static pdt_status KN(augment_rotate)(pdt_rng rng, pdt_int n, pdt_int c, pdt_int h, pdt_int w, double degrees,
                                     const T *x, T *y) {
    /* each plane is read from a copy framed by zeros, one row and column before it and two after, so the
     * four neighbours of a position clamped to [−1, w] × [−1, h] are always in the copy and those outside
     * x read 0: no test per pixel, and lanes past the row's end gather inside the copy too. Each of
     * `parts` runs of images has its own copy; a position in it is a whole T (the binding keeps it < 2^24). */
    const pdt_int pw = w + 3, framed = (h + 3) * pw;
    const pdt_int parts = n < pdt_get_num_threads() ? n : pdt_get_num_threads();
    T lanes[VN];
    for (int l = 0; l < VN; ++l) lanes[l] = (T)l;
    T *frames = parts > 0 ? pdt_scratch((size_t)(parts * framed) * sizeof(T)) : NULL;
    if (parts > 0 && !frames) return PDT_ENOMEM;
    PDT_OMP_FOR(parts > 1 && n * c * h * w > PDT_PAR_MIN / 8)
    for (pdt_int part = 0; part < parts; ++part) {
        T *restrict frame = frames + part * framed;
        for (pdt_int i = 0; i < framed; ++i) frame[i] = (T)0;
        for (pdt_int k = part * n / parts; k < (part + 1) * n / parts; ++k) {
            const double theta = degrees * (2.0 * pdt_uniform_at(rng.seed, rng.offset, (uint64_t)k) - 1.0) *
                                 (3.14159265358979323846 / 180.0);
            const T cs = (T)cos(theta), sn = (T)sin(theta);
            const T cx = (T)(0.5 * (double)(w - 1)), cy = (T)(0.5 * (double)(h - 1));
            const V vcs = vset1(cs), vsn = vset1(sn), one = vset1((T)1), lo = vset1((T)-1);
            const V vhx = vset1((T)w), vhy = vset1((T)h), vpw = vset1((T)pw);
            for (pdt_int p = k * c; p < (k + 1) * c; ++p) {
                for (pdt_int i = 0; i < h; ++i) memcpy(frame + (i + 1) * pw + 1, x + (p * h + i) * w, (size_t)w * sizeof(T));
                for (pdt_int i = 0; i < h; ++i) {
                    const T di = (T)i - cy;
                    const V bx = vset1(cx - cs * cx - sn * di), by = vset1(cy - sn * cx + cs * di);
                    T *restrict yr = y + (p * h + i) * w;
                    for (pdt_int j = 0; j < w; j += VN) {
                        const V jv = vadd(vset1((T)j), vload(lanes));
                        /* frame coordinates are x's plus one, ≥ 0 after the clamp: truncation is the floor */
                        const V ux = vadd(vmin(vmax(vfma(vcs, jv, bx), lo), vhx), one);
                        const V uy = vadd(vmin(vmax(vfma(vsn, jv, by), lo), vhy), one);
                        const V x0 = vtrunc(ux), y0 = vtrunc(uy), fx = vsub(ux, x0), fy = vsub(uy, y0);
                        const V at = vfma(y0, vpw, x0);
                        const V a = vgather(frame, at), b = vgather(frame + 1, at);
                        const V d = vgather(frame + pw, at), e = vgather(frame + pw + 1, at);
                        const V top = vfma(fx, vsub(b, a), a), bottom = vfma(fx, vsub(e, d), d);
                        vstore_tail(yr + j, vfma(fy, vsub(bottom, top), top), w - j < VN ? w - j : VN);
                    }
                }
            }
        }
    }
    return PDT_OK;
}

// x, y (n, c, h, w), y may be x; image k erased when u_k,0 < p: up to 10 tries t draw u_k,1+4t .. u_k,4+4t:
// area a = h·w·(scale_lo + (scale_hi − scale_lo)u), ratio r = exp(log_ratio_lo + (log_ratio_hi − log_ratio_lo)u),
// eh = round(√(a·r)), ew = round(√(a/r)); the first try with eh < h and ew < w sets rows top..top+eh−1 and
// columns left..left+ew−1 of every plane to value, top = pick(u, 0..h−eh), left = pick(u, 0..w−ew)
static pdt_status KN(augment_erase)(pdt_rng rng, pdt_int n, pdt_int c, pdt_int h, pdt_int w, const pdt_erase_hp *hp,
                                    const T *x, T *y) {
    const pdt_int image = c * h * w;
    const T value = (T)hp->value;
    PDT_OMP_FOR(n * image > PDT_PAR_MIN)
    for (pdt_int k = 0; k < n; ++k) {
        if (y != x) memcpy(y + k * image, x + k * image, (size_t)image * sizeof(T));
        const uint64_t first = rng.offset + (uint64_t)k * PDT_ERASE_DRAWS;
        if (!(pdt_uniform_at(rng.seed, first, 0) < hp->p)) continue;
        for (int t = 0; t < PDT_ERASE_TRIES; ++t) {
            const uint64_t d = 1 + 4 * (uint64_t)t;
            const double area = (double)(h * w) *
                                (hp->scale_lo + (hp->scale_hi - hp->scale_lo) * pdt_uniform_at(rng.seed, first, d));
            const double ratio = exp(hp->log_ratio_lo + (hp->log_ratio_hi - hp->log_ratio_lo) *
                                                            pdt_uniform_at(rng.seed, first, d + 1));
            const pdt_int eh = (pdt_int)nearbyint(sqrt(area * ratio)), ew = (pdt_int)nearbyint(sqrt(area / ratio));
            if (eh >= h || ew >= w) continue;
            const pdt_int top = KN(augment_pick)(pdt_uniform_at(rng.seed, first, d + 2), 0, h - eh);
            const pdt_int left = KN(augment_pick)(pdt_uniform_at(rng.seed, first, d + 3), 0, w - ew);
            for (pdt_int p = k * c; p < (k + 1) * c; ++p)
                for (pdt_int i = top; i < top + eh; ++i)
                    for (pdt_int j = left; j < left + ew; ++j) y[(p * h + i) * w + j] = value;
            break;
        }
    }
    return PDT_OK;
}
