/* py/augment.c — bindings of kernels/augment.c; image batches come as (N, C, H, W). */
#include "args.h"

/* Images of at least one pixel (an edge fill reads one); a plane framed by 3 rows and columns (the rotation's
 * copy) under 2^24 pixels, so that its positions are whole float32 numbers. */
static void require_images(pdt_args *a) {
    if (a->failed) return;
    const pdt_int h = pdt_dim(a, 'H'), w = pdt_dim(a, 'W');
    pdt_require(a, h >= 1 && w >= 1, "images must be at least 1 x 1 pixels, got %lld x %lld", (long long)h, (long long)w);
    pdt_require(a, (h + 3) * (w + 3) < ((pdt_int)1 << 24), "images must be smaller than 4093 x 4093 pixels, got %lld x %lld",
                (long long)h, (long long)w);
}

/* augment_translate(x, seed, offset, oh, ow, dy_lo, dy_hi, dx_lo, dx_hi, edge, out=None) -> y (N, C, oh, ow) */
static PyObject *py_augment_translate(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    unsigned long long seed, offset;
    long long oh, ow, dy_lo, dy_hi, dx_lo, dx_hi;
    int edge;
    if (!PyArg_ParseTuple(args, "OKKLLLLLLp|O:augment_translate", &x_o, &seed, &offset, &oh, &ow, &dy_lo, &dy_hi,
                          &dx_lo, &dx_hi, &edge, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "augment_translate");
    pdt_require(&a, oh >= 1 && ow >= 1, "the output size must be at least 1 x 1, got %lld x %lld", oh, ow);
    pdt_require(&a, dy_lo <= dy_hi && dx_lo <= dx_hi, "shift ranges must not be empty, got dy %lld..%lld, dx %lld..%lld",
                dy_lo, dy_hi, dx_lo, dx_hi);
    pdt_bind_dim(&a, 'S', oh, "the output size");
    pdt_bind_dim(&a, 'R', ow, "the output size");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    require_images(&a);
    void *y = pdt_arg_out(&a, "out", out_o, "N,C,S,R", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, augment_translate, rng, pdt_dim(&a, 'N'), pdt_dim(&a, 'C'), pdt_dim(&a, 'H'), pdt_dim(&a, 'W'), oh,
            ow, dy_lo, dy_hi, dx_lo, dx_hi, edge, x, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* name(x, seed, offset, hp, out=None) -> y, for the kernels with one hyper-parameter hp in [lo, hi] */
#define PDT_AUGMENT_ONE(name, hp, lo, hi)                                                                     \
    static PyObject *py_##name(PyObject *self, PyObject *args) {                                             \
        PyObject *x_o, *out_o = Py_None;                                                                     \
        unsigned long long seed, offset;                                                                     \
        double v;                                                                                            \
        if (!PyArg_ParseTuple(args, "OKKd|O:" #name, &x_o, &seed, &offset, &v, &out_o)) return NULL;         \
        pdt_args a;                                                                                          \
        pdt_args_init(&a, #name);                                                                            \
        pdt_require(&a, v >= (lo) && v <= (hi), #hp " must be in [%g, %g], got %g", (double)(lo), (double)(hi), v); \
        const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");                                                 \
        require_images(&a);                                                                                  \
        void *y = pdt_arg_out(&a, "out", out_o, "N,C,H,W", 0);                                               \
        if (a.failed) return pdt_args_fail(&a);                                                              \
        pdt_status st;                                                                                       \
        pdt_rng rng = {seed, offset};                                                                        \
        PDT_RUN(&a, st, name, rng, pdt_dim(&a, 'N'), pdt_dim(&a, 'C'), pdt_dim(&a, 'H'), pdt_dim(&a, 'W'), v, x, y); \
        if (pdt_check_status(&a, st)) return pdt_args_fail(&a);                                              \
        return pdt_args_outputs(&a);                                                                         \
    }

PDT_AUGMENT_ONE(augment_hflip, p, 0.0, 1.0)
PDT_AUGMENT_ONE(augment_rotate, degrees, 0.0, 360.0)

/* augment_erase(x, seed, offset, p, scale_lo, scale_hi, log_ratio_lo, log_ratio_hi, value, out=None) -> y */
static PyObject *py_augment_erase(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    unsigned long long seed, offset;
    pdt_erase_hp hp;
    if (!PyArg_ParseTuple(args, "OKKdddddd|O:augment_erase", &x_o, &seed, &offset, &hp.p, &hp.scale_lo, &hp.scale_hi,
                          &hp.log_ratio_lo, &hp.log_ratio_hi, &hp.value, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "augment_erase");
    pdt_require(&a, hp.p >= 0.0 && hp.p <= 1.0, "p must be in [0, 1], got %g", hp.p);
    pdt_require(&a, 0.0 <= hp.scale_lo && hp.scale_lo <= hp.scale_hi && hp.scale_hi <= 1.0,
                "scale must satisfy 0 <= low <= high <= 1, got (%g, %g)", hp.scale_lo, hp.scale_hi);
    pdt_require(&a, isfinite(hp.log_ratio_lo) && isfinite(hp.log_ratio_hi) && hp.log_ratio_lo <= hp.log_ratio_hi,
                "log ratio must be finite with low <= high, got (%g, %g)", hp.log_ratio_lo, hp.log_ratio_hi);
    pdt_require(&a, !isnan(hp.value), "value must not be NaN");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    require_images(&a);
    void *y = pdt_arg_out(&a, "out", out_o, "N,C,H,W", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, augment_erase, rng, pdt_dim(&a, 'N'), pdt_dim(&a, 'C'), pdt_dim(&a, 'H'), pdt_dim(&a, 'W'), &hp, x,
            y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_augment_methods[] = {
    {"augment_translate", py_augment_translate, METH_VARARGS,
     "Per image a whole-pixel shift (dy, dx) from (seed, offset): y(i, j) = x(i - dy, j - dx), zeros or edge outside."},
    {"augment_hflip", py_augment_hflip, METH_VARARGS, "Per image a horizontal flip with probability p."},
    {"augment_rotate", py_augment_rotate, METH_VARARGS,
     "Per image a bilinear rotation by a uniform angle in [-degrees, degrees] about the centre, zeros outside."},
    {"augment_erase", py_augment_erase, METH_VARARGS, "Per image, with probability p, a random rectangle set to value."},
    {NULL, NULL, 0, NULL}};
