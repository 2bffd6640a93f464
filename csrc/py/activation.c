/* py/activation.c — bindings of the activations: f(x, out) and f_backward(x, dy, out). */
#include "args.h"

static PyObject *py_relu_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:relu_forward", &x_o, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "relu_forward");
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, relu_forward, pdt_size(&a, 0), x, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

static PyObject *py_relu_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *dy_o, *out_o = Py_None;
    if (!PyArg_ParseTuple(args, "OO|O:relu_backward", &x_o, &dy_o, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "relu_backward");
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "...");
    void *dx = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, relu_backward, pdt_size(&a, 0), x, dy, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_activation_methods[] = {
    {"relu_forward", py_relu_forward, METH_VARARGS, "y = max(x, 0)."},
    {"relu_backward", py_relu_backward, METH_VARARGS, "dx = dy * (x > 0)."},
    {NULL, NULL, 0, NULL}};
