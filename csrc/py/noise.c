/* py/noise.c — bindings of kernels/noise.c. */
#include "args.h"

/* gaussian_noise_forward(x, seed, offset, std, out=None) -> x + std * z */
static PyObject *py_gaussian_noise_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    unsigned long long seed, offset;
    double std;
    if (!PyArg_ParseTuple(args, "OKKd|O:gaussian_noise_forward", &x_o, &seed, &offset, &std, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "gaussian_noise_forward");
    pdt_require(&a, std >= 0.0 && isfinite(std), "std must be a finite number >= 0, got %g", std);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    pdt_rng rng = {seed, offset};
    PDT_RUN(&a, st, gaussian_noise_forward, rng, pdt_size(&a, 0), std, x, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_noise_methods[] = {
    {"gaussian_noise_forward", py_gaussian_noise_forward, METH_VARARGS, "y = x + std * z, z ~ N(0, 1) from (seed, offset)."},
    {NULL, NULL, 0, NULL}};
