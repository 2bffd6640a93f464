/* py/average.c — bindings of kernels/average.c. */
#include "args.h"

/* average_update(avg, x, weight): avg += weight * (x - avg) in place */
static PyObject *py_average_update(PyObject *self, PyObject *args) {
    PyObject *avg_o, *x_o;
    double w;
    if (!PyArg_ParseTuple(args, "OOd:average_update", &avg_o, &x_o, &w)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "average_update");
    void *avg = pdt_arg_inout(&a, "avg", avg_o, "...");
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, average_update, pdt_size(&a, 0), avg, x, w);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* ema_series(series (N), beta, bias_correction, out=None) -> smoothed (N) */
static PyObject *py_ema_series(PyObject *self, PyObject *args) {
    PyObject *s_o, *out_o = Py_None;
    double beta;
    int bc;
    if (!PyArg_ParseTuple(args, "Odp|O:ema_series", &s_o, &beta, &bc, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "ema_series");
    const void *s = pdt_arg_in(&a, "series", s_o, "N");
    void *out = pdt_arg_out(&a, "out", out_o, "N", PDT_ALIAS_OK);
    pdt_require(&a, beta >= 0.0 && beta < 1.0, "beta must be in [0, 1), got %g", beta);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, ema_series, pdt_dim(&a, 'N'), s, beta, bc, out);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_average_methods[] = {
    {"average_update", py_average_update, METH_VARARGS, "avg += weight * (x - avg), in place (EMA and SWA)."},
    {"ema_series", py_ema_series, METH_VARARGS, "Exponentially weighted moving average of a 1-d series."},
    {NULL, NULL, 0, NULL}};
