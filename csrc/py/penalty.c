/* py/penalty.c — bindings of kernels/penalty.c: the penalty value as a Python float, the gradient added in place. */
#include "args.h"
#include <math.h>

/* name(w, grad, lam) -> float; grad (w's shape) += ∂Ω/∂w */
static PyObject *penalty(PyObject *args, const char *name, int l1) {
    PyObject *w_o, *g_o;
    double lam;
    char format[32];
    snprintf(format, sizeof format, "OOd:%s", name);
    if (!PyArg_ParseTuple(args, format, &w_o, &g_o, &lam)) return NULL;
    pdt_args a;
    pdt_args_init(&a, name);
    pdt_require(&a, lam >= 0.0 && isfinite(lam), "lam must be a finite number >= 0, got %g", lam);
    const void *w = pdt_arg_in(&a, "w", w_o, "...");
    void *g = pdt_arg_inout(&a, "grad", g_o, "...");
    if (a.failed) return pdt_args_fail(&a);
    double value = 0.0;
    pdt_status st;
    if (l1) PDT_RUN(&a, st, l1_penalty, pdt_size(&a, 0), w, g, lam, &value);
    else PDT_RUN(&a, st, l2_penalty, pdt_size(&a, 0), w, g, lam, &value);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return PyFloat_FromDouble(value);
}

static PyObject *py_l2_penalty(PyObject *self, PyObject *args) { return penalty(args, "l2_penalty", 0); }
static PyObject *py_l1_penalty(PyObject *self, PyObject *args) { return penalty(args, "l1_penalty", 1); }

PyMethodDef pdt_penalty_methods[] = {
    {"l2_penalty", py_l2_penalty, METH_VARARGS, "lam/2 * sum(w**2); grad += lam * w, in one pass."},
    {"l1_penalty", py_l1_penalty, METH_VARARGS, "lam * sum(|w|); grad += lam * sign(w), in one pass."},
    {NULL, NULL, 0, NULL}};
