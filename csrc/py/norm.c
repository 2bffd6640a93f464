/* py/norm.c — bindings of kernels/norm.c. BatchNorm arrays come as (N, C, S)
 * (pydtrain.functional reshapes (N, C, ...) without copying), LayerNorm as (M, D). */
#include "args.h"

/* batchnorm_stats(x (N, C, S), mean=None, var=None) -> (mean, var), biased variance */
static PyObject *py_batchnorm_stats(PyObject *self, PyObject *args) {
    PyObject *x_o, *m_o = Py_None, *v_o = Py_None;
    if (!PyArg_ParseTuple(args, "O|OO:batchnorm_stats", &x_o, &m_o, &v_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "batchnorm_stats");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,S");
    pdt_require(&a, pdt_dim(&a, 'N') * pdt_dim(&a, 'S') >= 1 && pdt_dim(&a, 'C') >= 1,
                "x must hold at least one value per channel, got shape (%lld, %lld, %lld)",
                (long long)pdt_dim(&a, 'N'), (long long)pdt_dim(&a, 'C'), (long long)pdt_dim(&a, 'S'));
    void *mean = pdt_arg_out(&a, "mean", m_o, "C", 0);
    void *var = pdt_arg_out(&a, "var", v_o, "C", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, batchnorm_stats, pdt_dim(&a, 'N'), pdt_dim(&a, 'C'), pdt_dim(&a, 'S'), x, mean, var);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* batchnorm_normalize(x (N, C, S), mean, var, gamma|None, beta|None, eps, out=None) -> y */
static PyObject *py_batchnorm_normalize(PyObject *self, PyObject *args) {
    PyObject *x_o, *m_o, *v_o, *g_o, *b_o, *out_o = Py_None;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOOOd|O:batchnorm_normalize", &x_o, &m_o, &v_o, &g_o, &b_o, &eps, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "batchnorm_normalize");
    pdt_require(&a, eps > 0.0, "eps must be > 0, got %g", eps);
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,S");
    const void *mean = pdt_arg_in(&a, "mean", m_o, "C");
    const void *var = pdt_arg_in(&a, "var", v_o, "C");
    const void *gamma = pdt_arg_in_opt(&a, "gamma", g_o, "C");
    const void *beta = pdt_arg_in_opt(&a, "beta", b_o, "C");
    pdt_require(&a, (gamma == NULL) == (beta == NULL), "gamma and beta must be both given or both None");
    void *y = pdt_arg_out(&a, "out", out_o, "N,C,S", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, batchnorm_normalize, pdt_dim(&a, 'N'), pdt_dim(&a, 'C'), pdt_dim(&a, 'S'), x, mean, var, gamma,
            beta, eps, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* batchnorm_backward(x, dy (N, C, S), mean, var, gamma|None, eps, batch_stats, dgamma|None, dbeta|None, out=None) -> dx */
static PyObject *py_batchnorm_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *dy_o, *m_o, *v_o, *g_o, *dg_o, *db_o, *out_o = Py_None;
    double eps;
    int batch_stats;
    if (!PyArg_ParseTuple(args, "OOOOOdpOO|O:batchnorm_backward", &x_o, &dy_o, &m_o, &v_o, &g_o, &eps, &batch_stats,
                          &dg_o, &db_o, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "batchnorm_backward");
    pdt_require(&a, eps > 0.0, "eps must be > 0, got %g", eps);
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,S");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,C,S");
    const void *mean = pdt_arg_in(&a, "mean", m_o, "C");
    const void *var = pdt_arg_in(&a, "var", v_o, "C");
    const void *gamma = pdt_arg_in_opt(&a, "gamma", g_o, "C");
    void *dgamma = pdt_arg_inout_opt(&a, "dgamma", dg_o, "C");
    void *dbeta = pdt_arg_inout_opt(&a, "dbeta", db_o, "C");
    pdt_require(&a, (dgamma == NULL) == (dbeta == NULL), "dgamma and dbeta must be both given or both None");
    void *dx = pdt_arg_out(&a, "out", out_o, "N,C,S", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, batchnorm_backward, pdt_dim(&a, 'N'), pdt_dim(&a, 'C'), pdt_dim(&a, 'S'), x, dy, mean, var, gamma,
            eps, batch_stats, dx, dgamma, dbeta);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* layernorm_forward(x (M, D), gamma|None, beta|None, eps, out=None, mean=None, rstd=None) -> (y, mean, rstd) */
static PyObject *py_layernorm_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *g_o, *b_o, *out_o = Py_None, *m_o = Py_None, *r_o = Py_None;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOd|OOO:layernorm_forward", &x_o, &g_o, &b_o, &eps, &out_o, &m_o, &r_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "layernorm_forward");
    pdt_require(&a, eps > 0.0, "eps must be > 0, got %g", eps);
    const void *x = pdt_arg_in(&a, "x", x_o, "M,D");
    pdt_require(&a, pdt_dim(&a, 'D') >= 1, "x must have at least one unit per row (shape (M, D) with D >= 1)");
    const void *gamma = pdt_arg_in_opt(&a, "gamma", g_o, "D");
    const void *beta = pdt_arg_in_opt(&a, "beta", b_o, "D");
    pdt_require(&a, (gamma == NULL) == (beta == NULL), "gamma and beta must be both given or both None");
    void *y = pdt_arg_out(&a, "out", out_o, "M,D", PDT_ALIAS_OK);
    void *mean = pdt_arg_out(&a, "mean", m_o, "M", 0);
    void *rstd = pdt_arg_out(&a, "rstd", r_o, "M", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, layernorm_forward, pdt_dim(&a, 'M'), pdt_dim(&a, 'D'), x, gamma, beta, eps, y, mean, rstd);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* layernorm_backward(x, dy (M, D), mean, rstd (M), gamma|None, dgamma|None, dbeta|None, out=None) -> dx */
static PyObject *py_layernorm_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *dy_o, *m_o, *r_o, *g_o, *dg_o, *db_o, *out_o = Py_None;
    if (!PyArg_ParseTuple(args, "OOOOOOO|O:layernorm_backward", &x_o, &dy_o, &m_o, &r_o, &g_o, &dg_o, &db_o, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "layernorm_backward");
    const void *x = pdt_arg_in(&a, "x", x_o, "M,D");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "M,D");
    const void *mean = pdt_arg_in(&a, "mean", m_o, "M");
    const void *rstd = pdt_arg_in(&a, "rstd", r_o, "M");
    const void *gamma = pdt_arg_in_opt(&a, "gamma", g_o, "D");
    void *dgamma = pdt_arg_inout_opt(&a, "dgamma", dg_o, "D");
    void *dbeta = pdt_arg_inout_opt(&a, "dbeta", db_o, "D");
    pdt_require(&a, (dgamma == NULL) == (dbeta == NULL), "dgamma and dbeta must be both given or both None");
    void *dx = pdt_arg_out(&a, "out", out_o, "M,D", PDT_ALIAS_OK);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, layernorm_backward, pdt_dim(&a, 'M'), pdt_dim(&a, 'D'), x, dy, mean, rstd, gamma, dx, dgamma,
            dbeta);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_norm_methods[] = {
    {"batchnorm_stats", py_batchnorm_stats, METH_VARARGS, "Per-channel mean and biased variance of x (N, C, S)."},
    {"batchnorm_normalize", py_batchnorm_normalize, METH_VARARGS, "y = gamma * (x - mean) / sqrt(var + eps) + beta per channel."},
    {"batchnorm_backward", py_batchnorm_backward, METH_VARARGS, "BatchNorm backward: dx; dgamma, dbeta accumulate."},
    {"layernorm_forward", py_layernorm_forward, METH_VARARGS, "LayerNorm over rows of x (M, D): (y, mean, rstd)."},
    {"layernorm_backward", py_layernorm_backward, METH_VARARGS, "LayerNorm backward: dx; dgamma, dbeta accumulate."},
    {NULL, NULL, 0, NULL}};
