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
    {"clip_value", py_clip_value, METH_VARARGS, "x = min(max(x, -clip), clip), in place."},
    {NULL, NULL, 0, NULL}};
