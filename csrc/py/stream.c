/* py/stream.c — bindings of the streaming kernels (kernels/stream.c): scale and the STREAM triad. */
#include "args.h"

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

PyMethodDef pdt_stream_methods[] = {
    {"scale", py_scale, METH_VARARGS, "out = s * x (out may be x)."},
    {"stream_triad", py_stream_triad, METH_VARARGS, "a = b + s * c (STREAM triad)."},
    {NULL, NULL, 0, NULL}};
