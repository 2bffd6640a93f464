/* py/clip.c — bindings of kernels/clip.c: norms return a Python float, the rest work in place. */
#include "args.h"

/* clip_sumsq(x) -> float Σ x² (deterministic for any thread count) */
static PyObject *py_clip_sumsq(PyObject *self, PyObject *args) {
    PyObject *x_o;
    if (!PyArg_ParseTuple(args, "O:clip_sumsq", &x_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "clip_sumsq");
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    if (a.failed) return pdt_args_fail(&a);
    double result = 0.0;
    pdt_status st;
    PDT_RUN(&a, st, clip_sumsq, pdt_size(&a, 0), x, &result);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return PyFloat_FromDouble(result);
}

/* clip_maxabs(x) -> float max |x| (NaN when x holds a NaN, 0 when empty) */
static PyObject *py_clip_maxabs(PyObject *self, PyObject *args) {
    PyObject *x_o;
    if (!PyArg_ParseTuple(args, "O:clip_maxabs", &x_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "clip_maxabs");
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    if (a.failed) return pdt_args_fail(&a);
    double result = 0.0;
    pdt_status st;
    PDT_RUN(&a, st, clip_maxabs, pdt_size(&a, 0), x, &result);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return PyFloat_FromDouble(result);
}

/* ends (S) ascending from 0, the last one the buffer's size N (named `of`); 0 with the exception set */
static int check_ends(pdt_args *a, pdt_int nseg, const pdt_int *ends, const char *of) {
    for (pdt_int s = 0; s < nseg; ++s)
        if (!pdt_require(a, ends[s] >= (s ? ends[s - 1] : 0), "ends must be ascending from 0, got ends[%lld] = %lld",
                         (long long)s, (long long)ends[s]))
            return 0;
    return pdt_require(a, nseg == 0 || ends[nseg - 1] == pdt_dim(a, 'N'), "the last of ends must be %s's size %lld",
                       of, (long long)pdt_dim(a, 'N'));
}

/* segment_sumsq(x (N), ends (S) int64, y=None, keep=False, out=None) -> float64 (S): Σ (x − y)² per segment
   [ends[s−1], ends[s]); keep: y ← x */
static PyObject *py_segment_sumsq(PyObject *self, PyObject *args) {
    PyObject *x_o, *e_o, *y_o = Py_None, *out_o = Py_None;
    int keep = 0;
    if (!PyArg_ParseTuple(args, "OO|OpO:segment_sumsq", &x_o, &e_o, &y_o, &keep, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "segment_sumsq");
    const void *x = pdt_arg_in(&a, "x", x_o, "N");
    const pdt_int *ends = pdt_arg_in_typed(&a, "ends", e_o, "S", NPY_INT64);
    pdt_require(&a, !keep || y_o != Py_None, "keep=True needs y");
    void *y = keep ? pdt_arg_inout_opt(&a, "y", y_o, "N") : (void *)pdt_arg_in_opt(&a, "y", y_o, "N");
    double *out = pdt_arg_out_typed(&a, "out", out_o, "S", NPY_FLOAT64);
    if (a.failed) return pdt_args_fail(&a);
    const pdt_int nseg = pdt_dim(&a, 'S');
    if (!check_ends(&a, nseg, ends, "x")) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, segment_sumsq, nseg, ends, x, y, keep, out);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* segment_norms(w (N), g (N), prev (N), ends (S) int64, keep=False, out=None) -> float64 (3, S): per segment
   Σ g², Σ w², Σ (w − prev)²; keep: prev ← w */
static PyObject *py_segment_norms(PyObject *self, PyObject *args) {
    PyObject *w_o, *g_o, *p_o, *e_o, *out_o = Py_None;
    int keep = 0;
    if (!PyArg_ParseTuple(args, "OOOO|pO:segment_norms", &w_o, &g_o, &p_o, &e_o, &keep, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "segment_norms");
    const void *w = pdt_arg_in(&a, "w", w_o, "N");
    const void *g = pdt_arg_in(&a, "g", g_o, "N");
    void *prev = keep ? pdt_arg_inout(&a, "prev", p_o, "N") : (void *)pdt_arg_in(&a, "prev", p_o, "N");
    const pdt_int *ends = pdt_arg_in_typed(&a, "ends", e_o, "S", NPY_INT64);
    double *out = pdt_arg_out_typed(&a, "out", out_o, "3,S", NPY_FLOAT64);
    if (a.failed) return pdt_args_fail(&a);
    const pdt_int nseg = pdt_dim(&a, 'S');
    if (!check_ends(&a, nseg, ends, "w")) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, segment_norms, nseg, ends, w, g, prev, keep, out);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* clip_value(x, clip): x = min(max(x, -clip), clip) in place */
static PyObject *py_clip_value(PyObject *self, PyObject *args) {
    PyObject *x_o;
    double clip;
    if (!PyArg_ParseTuple(args, "Od:clip_value", &x_o, &clip)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "clip_value");
    void *x = pdt_arg_inout(&a, "x", x_o, "...");
    pdt_require(&a, clip >= 0.0, "clip must be >= 0, got %g", clip);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, clip_value, pdt_size(&a, 0), x, clip);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_clip_methods[] = {
    {"clip_sumsq", py_clip_sumsq, METH_VARARGS, "Sum of squares in double, the same bits for any thread count."},
    {"clip_maxabs", py_clip_maxabs, METH_VARARGS, "Largest absolute value (NaN if any element is NaN)."},
    {"segment_sumsq", py_segment_sumsq, METH_VARARGS, "Sum of squares (of x - y) per segment of a flat buffer."},
    {"segment_norms", py_segment_norms, METH_VARARGS, "Per segment: sum of g^2, of w^2, of (w - prev)^2."},
    {"clip_value", py_clip_value, METH_VARARGS, "x = min(max(x, -clip), clip), in place."},
    {NULL, NULL, 0, NULL}};
