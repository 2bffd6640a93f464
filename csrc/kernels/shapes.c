/*
 * shapes.c — the make_shapes data set: the anti-aliased outline of one simple shape at a random place
 * anywhere in the image, size, rotation, stroke and intensity, among a few ink spots (filled discs) at
 * random places, plus Gaussian pixel noise.
 * Each shape is a distance d(p) from pixel centre p to its stroke's centre line (a signed distance function,
 * Quílez's 2-D formulas, taken in absolute value for outlines); the ink is a one-pixel ramp,
 * a·clamp(w/2 − d + 1/2, 0, 1), the pixel's covered share of a stroke of width w; a spot of radius ρ at
 * distance d inks a·clamp(ρ − d + 1/2, 0, 1); where they overlap the larger ink wins. Image i reads Philox
 * blocks offset + i·(2 + spots + size²): two for its shape and label, one per spot, one per pixel for the
 * noise, so it is the same for any thread count.
 */

#ifndef PDT_SHAPES_HELPERS
#define PDT_SHAPES_HELPERS
enum { PDT_SHAPE_CIRCLE, PDT_SHAPE_SQUARE, PDT_SHAPE_TRIANGLE, PDT_SHAPE_CROSS, PDT_SHAPE_LINE, PDT_SHAPE_RING };

static inline double pdt_clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* A double in [0, 1) from one random word. */
static inline double pdt_shape_u(uint32_t w) { return (double)w * 0x1.0p-32; }

/* Largest distance from the centre to the outline of shape `kind` of size r: where it may sit in the image. */
static inline double pdt_shape_reach(int kind, double r) {
    switch (kind) {
    case PDT_SHAPE_SQUARE: return 1.4142135623730951 * r;    // the corners
    case PDT_SHAPE_TRIANGLE: return 1.1547005383792515 * r;  // the vertices, 2r/√3
    default: return r;
    }
}

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

// images (n, size, size), labels (n) in [0, classes); kinds (classes): the shape of each class;
// spots ≤ PDT_SHAPES_MAX_SPOTS
static pdt_status KN(draw_shapes)(pdt_rng rng, pdt_int n, pdt_int size, pdt_int classes, const int64_t *kinds,
                                  pdt_int spots, double noise, T *images, int64_t *labels) {
    const uint64_t per = 2 + (uint64_t)spots + (uint64_t)size * (uint64_t)size;
    const double scale = size / 28.0;  // strokes and spots are set in pixels of a 28×28 image
    PDT_OMP_FOR(n * size * size > PDT_PAR_MIN / 8)
    for (pdt_int i = 0; i < n; ++i) {
        const uint64_t base = rng.offset + (uint64_t)i * per;
        uint32_t u[8];
        pdt_philox_block(rng.seed, base, u);
        pdt_philox_block(rng.seed, base + 1, u + 4);
        const pdt_int label = (pdt_int)(((uint64_t)u[0] * (uint64_t)classes) >> 32);
        const int kind = (int)kinds[label];
        const double r = size * (0.12 + 0.18 * pdt_shape_u(u[1]));
        const double stroke = 1.0 + 1.5 * pdt_shape_u(u[2]) * scale;
        const double reach = pdt_shape_reach(kind, r) + 0.5 * stroke, room = fmax(size - 2.0 * reach, 0.0);
        const double cx = reach + room * pdt_shape_u(u[3]), cy = reach + room * pdt_shape_u(u[4]);
        const double angle = 6.283185307179586 * pdt_shape_u(u[5]);
        const double ink = 0.6 + 0.4 * pdt_shape_u(u[6]);
        const double c = cos(angle), s = sin(angle);
        double spot[PDT_SHAPES_MAX_SPOTS][3];  // centre x, y and radius (1–2.5 px at 28×28), anywhere in the image
        for (pdt_int k = 0; k < spots; ++k) {
            uint32_t w[4];
            pdt_philox_block(rng.seed, base + 2 + (uint64_t)k, w);
            spot[k][0] = size * pdt_shape_u(w[0]);
            spot[k][1] = size * pdt_shape_u(w[1]);
            spot[k][2] = (1.0 + 1.5 * pdt_shape_u(w[2])) * scale;
        }
        labels[i] = label;
        T *img = images + i * size * size;
        for (pdt_int py = 0; py < size; ++py)
            for (pdt_int px = 0; px < size; ++px) {
                const double dx = px + 0.5 - cx, dy = py + 0.5 - cy;
                const double d = pdt_shape_distance(kind, c * dx + s * dy, -s * dx + c * dy, r);
                double v = pdt_clamp(0.5 * stroke - d + 0.5, 0.0, 1.0);
                for (pdt_int k = 0; k < spots; ++k) {
                    const double e = hypot(px + 0.5 - spot[k][0], py + 0.5 - spot[k][1]);
                    v = fmax(v, pdt_clamp(spot[k][2] - e + 0.5, 0.0, 1.0));
                }
                const double z = pdt_normal_at(rng.seed, base + 2 + (uint64_t)spots, (uint64_t)(py * size + px));
                img[py * size + px] = (T)(ink * v + noise * z);
            }
    }
    return PDT_OK;
}
