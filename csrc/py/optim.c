/* py/optim.c — bindings of the optimizer steps (in place on flat buffers). */
#include "args.h"

/* sgd_step(param, grad, lr): param -= lr * grad */
static PyObject *py_sgd_step(PyObject *self, PyObject *args) {
    PyObject *p_o, *g_o;
    double lr;
    if (!PyArg_ParseTuple(args, "OOd:sgd_step", &p_o, &g_o, &lr)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "sgd_step");
    void *p = pdt_arg_inout(&a, "param", p_o, "...");
    const void *g = pdt_arg_in(&a, "grad", g_o, "...");
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, sgd_step, pdt_size(&a, 0), p, g, lr);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_optim_methods[] = {
    {"sgd_step", py_sgd_step, METH_VARARGS, "param -= lr * grad, in place."},
    {NULL, NULL, 0, NULL}};
