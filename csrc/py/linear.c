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

PyMethodDef pdt_linear_methods[] = {
    {"bias_grad", py_bias_grad, METH_VARARGS, "dbias += dy.sum(axis=0), in place."},
    {NULL, NULL, 0, NULL}};
