/* py/linear.c — binding of the Linear layer's bias gradient. */
#include "args.h"

/* bias_grad(dy (N, M), dbias (M)): dbias += dy.sum(0) */
static PyObject *py_bias_grad(PyObject *self, PyObject *args) {
    PyObject *dy_o, *db_o;
    if (!PyArg_ParseTuple(args, "OO:bias_grad", &dy_o, &db_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "bias_grad");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,M");
    void *db = pdt_arg_inout(&a, "dbias", db_o, "M");
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, bias_grad, pdt_dim(&a, 'N'), pdt_dim(&a, 'M'), dy, db);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* scale(x, s, out=None) -> s * x; out may be x (in place) */
static PyObject *py_scale(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    double s;
    if (!PyArg_ParseTuple(args, "Od|O:scale", &x_o, &s, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "scale");
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, scale, pdt_size(&a, 0), x, s, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* stream_triad(a, b, c, s): a = b + s * c (the benchmarks' bandwidth yardstick) */
static PyObject *py_stream_triad(PyObject *self, PyObject *args) {
    PyObject *a_o, *b_o, *c_o;
    double s;
    if (!PyArg_ParseTuple(args, "OOOd:stream_triad", &a_o, &b_o, &c_o, &s)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "stream_triad");
    const void *b = pdt_arg_in(&a, "b", b_o, "...");
    const void *c = pdt_arg_in(&a, "c", c_o, "...");
    void *out = pdt_arg_out(&a, "a", a_o, "...", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, stream_triad, pdt_size(&a, 0), out, b, c, s);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_linear_methods[] = {
    {"scale", py_scale, METH_VARARGS, "out = s * x (out may be x)."},
    {"stream_triad", py_stream_triad, METH_VARARGS, "a = b + s * c (STREAM triad)."},
    {"bias_grad", py_bias_grad, METH_VARARGS, "dbias += dy.sum(axis=0), in place."},
    {NULL, NULL, 0, NULL}};
