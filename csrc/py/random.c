/* py/random.c — bindings of the counter-based generator: fills, permutations, raw blocks. */
#include "args.h"

/* fill_uniform(out, seed, offset, low, high): out[i] = low + (high - low) * u_i */
static PyObject *py_fill_uniform(PyObject *self, PyObject *args) {
    PyObject *o;
    unsigned long long seed, offset;
    double low, high;
    if (!PyArg_ParseTuple(args, "OKKdd:fill_uniform", &o, &seed, &offset, &low, &high)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "fill_uniform");
    void *out = pdt_arg_inout(&a, "out", o, "...");
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, fill_uniform, rng, pdt_size(&a, 0), low, high, out);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* fill_normal(out, seed, offset, mean, std): out[i] = mean + std * z_i */
static PyObject *py_fill_normal(PyObject *self, PyObject *args) {
    PyObject *o;
    unsigned long long seed, offset;
    double mean, std;
    if (!PyArg_ParseTuple(args, "OKKdd:fill_normal", &o, &seed, &offset, &mean, &std)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "fill_normal");
    void *out = pdt_arg_inout(&a, "out", o, "...");
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, fill_normal, rng, pdt_size(&a, 0), mean, std, out);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* permutation(n, seed, offset) -> int64 array */
static PyObject *py_permutation(PyObject *self, PyObject *args) {
    long long n;
    unsigned long long seed, offset;
    if (!PyArg_ParseTuple(args, "LKK:permutation", &n, &seed, &offset)) return NULL;
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "permutation: n must be >= 0, got %lld", n);
        return NULL;
    }
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *out = PyArray_EMPTY(1, dims, NPY_INT64, 0);
    if (!out) return NULL;
    int64_t *p = (int64_t *)PyArray_DATA((PyArrayObject *)out);
    pdt_rng rng = {seed, offset};
    Py_BEGIN_ALLOW_THREADS
    pdt_permutation(rng, n, p);
    Py_END_ALLOW_THREADS
    return out;
}

/* philox(seed, counter) -> (w0, w1, w2, w3): one raw Philox4x32-10 block */
static PyObject *py_philox(PyObject *self, PyObject *args) {
    unsigned long long seed, counter;
    if (!PyArg_ParseTuple(args, "KK:philox", &seed, &counter)) return NULL;
    uint32_t w[4];
    pdt_philox4x32(seed, counter, w);
    return Py_BuildValue("(kkkk)", (unsigned long)w[0], (unsigned long)w[1], (unsigned long)w[2], (unsigned long)w[3]);
}

/* draw_shapes(images (N, S, S), kinds int64 (K) in [0, 6), seed, offset, spots, noise, labels=None)
 * -> labels int64 (N) */
static PyObject *py_draw_shapes(PyObject *self, PyObject *args) {
    PyObject *img_o, *kinds_o, *labels_o = Py_None;
    unsigned long long seed, offset;
    long long spots;
    double noise;
    if (!PyArg_ParseTuple(args, "OOKKLd|O:draw_shapes", &img_o, &kinds_o, &seed, &offset, &spots, &noise, &labels_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "draw_shapes");
    pdt_require(&a, spots >= 0 && spots <= PDT_SHAPES_MAX_SPOTS, "spots must be in [0, %d], got %lld",
                PDT_SHAPES_MAX_SPOTS, spots);
    pdt_require(&a, noise >= 0.0, "noise must be >= 0, got %g", noise);
    void *images = pdt_arg_inout(&a, "images", img_o, "N,S,S");
    const int64_t *kinds = pdt_arg_labels(&a, "kinds", kinds_o, "K", 6);
    pdt_require(&a, pdt_dim(&a, 'K') >= 1, "kinds must name at least one shape");
    int64_t *labels = pdt_arg_out_typed(&a, "labels", labels_o, "N", NPY_INT64);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, draw_shapes, rng, pdt_dim(&a, 'N'), pdt_dim(&a, 'S'), pdt_dim(&a, 'K'), kinds, (pdt_int)spots,
            noise, images, labels);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_random_methods[] = {
    {"draw_shapes", py_draw_shapes, METH_VARARGS, "Draw the make_shapes images and labels (in place)."},
    {"fill_uniform", py_fill_uniform, METH_VARARGS, "Fill out with U[low, high) draws of stream (seed, offset)."},
    {"fill_normal", py_fill_normal, METH_VARARGS, "Fill out with N(mean, std^2) draws of stream (seed, offset)."},
    {"permutation", py_permutation, METH_VARARGS, "A random permutation of 0..n-1 from stream (seed, offset)."},
    {"philox", py_philox, METH_VARARGS, "One raw Philox4x32-10 block."},
    {NULL, NULL, 0, NULL}};
