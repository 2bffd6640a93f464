/* py/dropout.c — bindings of kernels/dropout.c. */
#include "args.h"

/* dropout_forward(x, seed, offset, keep_prob, scale, out=None, mask=None) -> (y, mask uint8) */
static PyObject *py_dropout_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None, *mask_o = Py_None;
    unsigned long long seed, offset;
    double keep, scale;
    if (!PyArg_ParseTuple(args, "OKKdd|OO:dropout_forward", &x_o, &seed, &offset, &keep, &scale, &out_o, &mask_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "dropout_forward");
    pdt_require(&a, keep > 0.0 && keep <= 1.0, "keep_prob must be in (0, 1], got %g", keep);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    uint8_t *mask = pdt_arg_out_typed(&a, "mask", mask_o, "...", NPY_UINT8);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, dropout_forward, rng, pdt_size(&a, 0), keep, scale, x, y, mask);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* dropout_backward(dy, mask, scale, out=None) -> dx */
static PyObject *py_dropout_backward(PyObject *self, PyObject *args) {
    PyObject *dy_o, *mask_o, *out_o = Py_None;
    double scale;
    if (!PyArg_ParseTuple(args, "OOd|O:dropout_backward", &dy_o, &mask_o, &scale, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "dropout_backward");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "...");
    const uint8_t *mask = pdt_arg_in_typed(&a, "mask", mask_o, "...", NPY_UINT8);
    void *dx = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, dropout_backward, pdt_size(&a, 0), scale, dy, mask, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_dropout_methods[] = {
    {"dropout_forward", py_dropout_forward, METH_VARARGS, "Dropout: uint8 keep mask from (seed, offset) and y = mask * scale * x."},
    {"dropout_backward", py_dropout_backward, METH_VARARGS, "dx = mask * scale * dy."},
    {NULL, NULL, 0, NULL}};
