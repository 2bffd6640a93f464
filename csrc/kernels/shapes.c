/*
 * shapes.c — the make_shapes data set: anti-aliased outlines of simple shapes at random
 * position, size, rotation, stroke and intensity, plus Gaussian pixel noise.
 * Each shape is a distance d(p) from pixel centre p to its stroke's centre line (a signed
 * distance function, Quílez's 2-D formulas, taken in absolute value for outlines); the ink
 * is a one-pixel ramp, a·clamp(w/2 − d + 1/2, 0, 1), the pixel's covered share of a stroke
 * of width w. Image i reads Philox blocks offset + i·(2 + size²): two for its parameters and
 * label, one per pixel for the noise, so it is the same for any thread count.
 */

#ifndef PDT_SHAPES_HELPERS
#define PDT_SHAPES_HELPERS
enum { PDT_SHAPE_CIRCLE, PDT_SHAPE_SQUARE, PDT_SHAPE_TRIANGLE, PDT_SHAPE_CROSS, PDT_SHAPE_LINE, PDT_SHAPE_RING };

static inline double pdt_clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Distance from (x, y) to the segment from (−r, 0) to (r, 0). */
static inline double pdt_shape_bar(double x, double y, double r) {
    const double t = pdt_clamp(x, -r, r);
    return hypot(x - t, y);
}

/* Distance from (x, y), in the shape's own frame, to the outline of shape `kind` of size r. */
static inline double pdt_shape_distance(int kind, double x, double y, double r) {
    switch (kind) {
    case PDT_SHAPE_CIRCLE: return fabs(hypot(x, y) - r);
    case PDT_SHAPE_SQUARE: {
        const double qx = fabs(x) - r, qy = fabs(y) - r;
        return fabs(hypot(fmax(qx, 0.0), fmax(qy, 0.0)) + fmin(fmax(qx, qy), 0.0));
    }
    case PDT_SHAPE_TRIANGLE: {  // equilateral with side 2r (Quílez's sdEquilateralTriangle)
        const double k = 1.7320508075688772;
        double px = fabs(x) - r, py = y + r / k;
        if (px + k * py > 0.0) {
            const double nx = (px - k * py) / 2.0, ny = (-k * px - py) / 2.0;
            px = nx;
            py = ny;
        }
        px -= pdt_clamp(px, -2.0 * r, 0.0);
        return hypot(px, py);
    }
    case PDT_SHAPE_CROSS: return fmin(pdt_shape_bar(x, y, r), pdt_shape_bar(y, x, r));
    case PDT_SHAPE_LINE: return pdt_shape_bar(x, y, r);
    default: return fmin(fabs(hypot(x, y) - r), fabs(hypot(x, y) - 0.5 * r));  // ring: two circles
    }
}
#endif

// images (n, size, size), labels (n) in [0, classes); kinds (classes): the shape of each class
static pdt_status KN(draw_shapes)(pdt_rng rng, pdt_int n, pdt_int size, pdt_int classes, const int64_t *kinds,
                                  double noise, T *images, int64_t *labels) {
    const uint64_t per = 2 + (uint64_t)size * (uint64_t)size;
    PDT_OMP_FOR(n * size * size > PDT_PAR_MIN / 8)
    for (pdt_int i = 0; i < n; ++i) {
        const uint64_t base = rng.offset + (uint64_t)i * per;
        uint32_t u[8];
        pdt_philox_block(rng.seed, base, u);
        pdt_philox_block(rng.seed, base + 1, u + 4);
        const pdt_int label = (pdt_int)(((uint64_t)u[0] * (uint64_t)classes) >> 32);
        const double cx = size * (0.3 + 0.4 * pdt_u53(u[1], u[2])), cy = size * (0.3 + 0.4 * pdt_u53(u[2], u[3]));
        const double r = size * (0.16 + 0.14 * pdt_u53(u[3], u[4]));
        const double angle = 6.283185307179586 * pdt_u53(u[4], u[5]);
        const double stroke = 1.0 + 1.5 * pdt_u53(u[5], u[6]) * size / 28.0;
        const double ink = 0.6 + 0.4 * pdt_u53(u[6], u[7]);
        const double c = cos(angle), s = sin(angle);
        labels[i] = label;
        T *img = images + i * size * size;
        for (pdt_int py = 0; py < size; ++py)
            for (pdt_int px = 0; px < size; ++px) {
                const double dx = px + 0.5 - cx, dy = py + 0.5 - cy;
                const double d = pdt_shape_distance((int)kinds[label], c * dx + s * dy, -s * dx + c * dy, r);
                const double v = ink * pdt_clamp(0.5 * stroke - d + 0.5, 0.0, 1.0);
                img[py * size + px] = (T)(v + noise * pdt_normal_at(rng.seed, base + 2, (uint64_t)(py * size + px)));
            }
    }
    return PDT_OK;
}
