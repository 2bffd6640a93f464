/* py/activation.c — bindings of the activations: f(x, [hyper-parameters,] out) and
 * f_backward(x, dy, [hyper-parameters,] out); out may be x (forward) or dy (backward). */
#include "args.h"

#include <math.h>

/* Wrappers of the activations without hyper-parameters: name_forward(x, out=None), name_backward(x, dy, out=None). */
#define PDT_ACT_FORWARD(name)                                                                      \
    static PyObject *py_##name(PyObject *self, PyObject *args) {                                   \
        PyObject *x_o, *out_o = Py_None;                                                           \
        if (!PyArg_ParseTuple(args, "O|O:" #name, &x_o, &out_o)) return NULL;                      \
        pdt_args a;                                                                                \
        pdt_args_init(&a, #name);                                                                  \
        const void *x = pdt_arg_in(&a, "x", x_o, "...");                                           \
        void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);                              \
        if (a.failed) return pdt_args_fail(&a);                                                    \
        pdt_status st;                                                                             \
        PDT_RUN(&a, st, name, pdt_size(&a, 0), x, y);                                              \
        if (pdt_check_status(&a, st)) return pdt_args_fail(&a);                                    \
        return pdt_args_outputs(&a);                                                               \
    }
#define PDT_ACT_BACKWARD(name)                                                                     \
    static PyObject *py_##name(PyObject *self, PyObject *args) {                                   \
        PyObject *x_o, *dy_o, *out_o = Py_None;                                                    \
        if (!PyArg_ParseTuple(args, "OO|O:" #name, &x_o, &dy_o, &out_o)) return NULL;              \
        pdt_args a;                                                                                \
        pdt_args_init(&a, #name);                                                                  \
        const void *x = pdt_arg_in(&a, "x", x_o, "...");                                           \
        const void *dy = pdt_arg_in(&a, "dy", dy_o, "...");                                        \
        void *dx = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);                             \
        if (a.failed) return pdt_args_fail(&a);                                                    \
        pdt_status st;                                                                             \
        PDT_RUN(&a, st, name, pdt_size(&a, 0), x, dy, dx);                                         \
        if (pdt_check_status(&a, st)) return pdt_args_fail(&a);                                    \
        return pdt_args_outputs(&a);                                                               \
    }

PDT_ACT_FORWARD(relu_forward)
PDT_ACT_BACKWARD(relu_backward)
PDT_ACT_FORWARD(exp_forward)
PDT_ACT_FORWARD(sigmoid_forward)
PDT_ACT_BACKWARD(sigmoid_backward)
PDT_ACT_FORWARD(tanh_forward)
PDT_ACT_BACKWARD(tanh_backward)
PDT_ACT_FORWARD(gelu_forward)
PDT_ACT_BACKWARD(gelu_backward)
PDT_ACT_FORWARD(gelu_tanh_forward)
PDT_ACT_BACKWARD(gelu_tanh_backward)
PDT_ACT_FORWARD(silu_forward)
PDT_ACT_BACKWARD(silu_backward)

/* leaky_relu_forward(x, negative_slope, out=None) */
static PyObject *py_leaky_relu_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    double slope;
    if (!PyArg_ParseTuple(args, "Od|O:leaky_relu_forward", &x_o, &slope, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "leaky_relu_forward");
    pdt_require(&a, isfinite(slope), "negative_slope must be finite, got %g", slope);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, leaky_relu_forward, pdt_size(&a, 0), x, slope, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* leaky_relu_backward(x, dy, negative_slope, out=None) */
static PyObject *py_leaky_relu_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *dy_o, *out_o = Py_None;
    double slope;
    if (!PyArg_ParseTuple(args, "OOd|O:leaky_relu_backward", &x_o, &dy_o, &slope, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "leaky_relu_backward");
    pdt_require(&a, isfinite(slope), "negative_slope must be finite, got %g", slope);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "...");
    void *dx = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, leaky_relu_backward, pdt_size(&a, 0), x, dy, slope, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* elu_forward(x, alpha, scale, out=None); SELU is ELU with its two constants */
static PyObject *py_elu_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    double alpha, scale;
    if (!PyArg_ParseTuple(args, "Odd|O:elu_forward", &x_o, &alpha, &scale, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "elu_forward");
    pdt_require(&a, isfinite(alpha) && alpha >= 0, "alpha must be finite and >= 0, got %g", alpha);
    pdt_require(&a, isfinite(scale) && scale > 0, "scale must be finite and > 0, got %g", scale);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, elu_forward, pdt_size(&a, 0), x, alpha, scale, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* elu_backward(x, dy, alpha, scale, out=None) */
static PyObject *py_elu_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *dy_o, *out_o = Py_None;
    double alpha, scale;
    if (!PyArg_ParseTuple(args, "OOdd|O:elu_backward", &x_o, &dy_o, &alpha, &scale, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "elu_backward");
    pdt_require(&a, isfinite(alpha) && alpha >= 0, "alpha must be finite and >= 0, got %g", alpha);
    pdt_require(&a, isfinite(scale) && scale > 0, "scale must be finite and > 0, got %g", scale);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "...");
    void *dx = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, elu_backward, pdt_size(&a, 0), x, dy, alpha, scale, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* softplus_forward(x, beta, threshold, out=None) */
static PyObject *py_softplus_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    double beta, threshold;
    if (!PyArg_ParseTuple(args, "Odd|O:softplus_forward", &x_o, &beta, &threshold, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "softplus_forward");
    pdt_require(&a, isfinite(beta) && beta > 0, "beta must be finite and > 0, got %g", beta);
    pdt_require(&a, isfinite(threshold) && threshold > 0, "threshold must be finite and > 0, got %g", threshold);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    void *y = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, softplus_forward, pdt_size(&a, 0), x, beta, threshold, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* softplus_backward(x, dy, beta, threshold, out=None) */
static PyObject *py_softplus_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *dy_o, *out_o = Py_None;
    double beta, threshold;
    if (!PyArg_ParseTuple(args, "OOdd|O:softplus_backward", &x_o, &dy_o, &beta, &threshold, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "softplus_backward");
    pdt_require(&a, isfinite(beta) && beta > 0, "beta must be finite and > 0, got %g", beta);
    pdt_require(&a, isfinite(threshold) && threshold > 0, "threshold must be finite and > 0, got %g", threshold);
    const void *x = pdt_arg_in(&a, "x", x_o, "...");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "...");
    void *dx = pdt_arg_out(&a, "out", out_o, "...", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, softplus_backward, pdt_size(&a, 0), x, dy, beta, threshold, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* bias_relu_forward(x (N, M), bias (M), out=None) -> y = max(x + bias, 0) */
static PyObject *py_bias_relu_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *b_o, *out_o = Py_None;
    if (!PyArg_ParseTuple(args, "OO|O:bias_relu_forward", &x_o, &b_o, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "bias_relu_forward");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,M");
    const void *b = pdt_arg_in(&a, "bias", b_o, "M");
    void *y = pdt_arg_out(&a, "out", out_o, "N,M", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, bias_relu_forward, pdt_dim(&a, 'N'), pdt_dim(&a, 'M'), x, b, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* bias_relu_backward(y (N, M), dy (N, M), dbias (M), out=None) -> dx; dbias += dx.sum(0) */
static PyObject *py_bias_relu_backward(PyObject *self, PyObject *args) {
    PyObject *y_o, *dy_o, *db_o, *out_o = Py_None;
    if (!PyArg_ParseTuple(args, "OOO|O:bias_relu_backward", &y_o, &dy_o, &db_o, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "bias_relu_backward");
    const void *y = pdt_arg_in(&a, "y", y_o, "N,M");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,M");
    void *db = pdt_arg_inout(&a, "dbias", db_o, "M");
    void *dx = pdt_arg_out(&a, "out", out_o, "N,M", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, bias_relu_backward, pdt_dim(&a, 'N'), pdt_dim(&a, 'M'), y, dy, dx, db);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_activation_methods[] = {
    {"bias_relu_forward", py_bias_relu_forward, METH_VARARGS, "y = max(x + bias, 0), fused."},
    {"bias_relu_backward", py_bias_relu_backward, METH_VARARGS, "dx = dy * (y > 0) and dbias += dx.sum(0), fused."},
    {"relu_forward", py_relu_forward, METH_VARARGS, "y = max(x, 0)."},
    {"relu_backward", py_relu_backward, METH_VARARGS, "dx = dy * (x > 0)."},
    {"exp_forward", py_exp_forward, METH_VARARGS, "y = exp(x) (the vectorized exp the activations use)."},
    {"sigmoid_forward", py_sigmoid_forward, METH_VARARGS, "y = 1 / (1 + exp(-x))."},
    {"sigmoid_backward", py_sigmoid_backward, METH_VARARGS, "dx = dy * sigmoid(x) * sigmoid(-x)."},
    {"tanh_forward", py_tanh_forward, METH_VARARGS, "y = tanh(x)."},
    {"tanh_backward", py_tanh_backward, METH_VARARGS, "dx = dy * (1 - tanh(x)**2)."},
    {"leaky_relu_forward", py_leaky_relu_forward, METH_VARARGS, "y = x if x > 0 else negative_slope * x."},
    {"leaky_relu_backward", py_leaky_relu_backward, METH_VARARGS, "dx = dy if x > 0 else negative_slope * dy."},
    {"elu_forward", py_elu_forward, METH_VARARGS, "y = scale * (x if x > 0 else alpha * (exp(x) - 1))."},
    {"elu_backward", py_elu_backward, METH_VARARGS, "dx = scale * dy * (1 if x > 0 else alpha * exp(x))."},
    {"gelu_forward", py_gelu_forward, METH_VARARGS, "y = x * Phi(x), Phi the standard normal CDF."},
    {"gelu_backward", py_gelu_backward, METH_VARARGS, "dx = dy * (Phi(x) + x * phi(x))."},
    {"gelu_tanh_forward", py_gelu_tanh_forward, METH_VARARGS, "y = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3)))."},
    {"gelu_tanh_backward", py_gelu_tanh_backward, METH_VARARGS, "The derivative of the tanh-approximated GELU times dy."},
    {"silu_forward", py_silu_forward, METH_VARARGS, "y = x * sigmoid(x)."},
    {"silu_backward", py_silu_backward, METH_VARARGS, "dx = dy * sigmoid(x) * (1 + x * sigmoid(-x))."},
    {"softplus_forward", py_softplus_forward, METH_VARARGS, "y = log(1 + exp(beta x)) / beta, or x where beta x > threshold."},
    {"softplus_backward", py_softplus_backward, METH_VARARGS, "dx = dy * sigmoid(beta x), or dy where beta x > threshold."},
    {NULL, NULL, 0, NULL}};
