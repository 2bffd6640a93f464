/* py/optim.c — bindings of the optimizer steps (in place on flat buffers; optional state as None). */
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

/* sgd_momentum_step(param, grad, buf|None, lr, momentum, dampening, weight_decay, nesterov, convention, first_step) */
static PyObject *py_sgd_momentum_step(PyObject *self, PyObject *args) {
    PyObject *p_o, *g_o, *b_o;
    pdt_sgd_hp hp;
    if (!PyArg_ParseTuple(args, "OOOddddpip:sgd_momentum_step", &p_o, &g_o, &b_o, &hp.lr, &hp.momentum,
                          &hp.dampening, &hp.weight_decay, &hp.nesterov, &hp.convention, &hp.first_step))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "sgd_momentum_step");
    void *p = pdt_arg_inout(&a, "param", p_o, "...");
    const void *g = pdt_arg_in(&a, "grad", g_o, "...");
    void *b = pdt_arg_inout_opt(&a, "buf", b_o, "...");
    pdt_require(&a, hp.convention == PDT_SGD_CLASSIC || hp.convention == PDT_SGD_PYTORCH,
                "convention must be 0 (classic) or 1 (pytorch), got %d", hp.convention);
    pdt_require(&a, hp.momentum == 0.0 || b, "momentum %g needs a buffer 'buf'", hp.momentum);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, sgd_momentum_step, pdt_size(&a, 0), p, g, b, &hp);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* rmsprop_step(param, grad, square_avg, grad_avg|None, momentum_buf|None, lr, beta, eps, weight_decay, momentum,
 *              centered, eps_inside_sqrt) */
static PyObject *py_rmsprop_step(PyObject *self, PyObject *args) {
    PyObject *p_o, *g_o, *v_o, *ga_o, *b_o;
    pdt_rmsprop_hp hp;
    if (!PyArg_ParseTuple(args, "OOOOOdddddpp:rmsprop_step", &p_o, &g_o, &v_o, &ga_o, &b_o, &hp.lr, &hp.beta,
                          &hp.eps, &hp.weight_decay, &hp.momentum, &hp.centered, &hp.eps_inside_sqrt))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "rmsprop_step");
    void *p = pdt_arg_inout(&a, "param", p_o, "...");
    const void *g = pdt_arg_in(&a, "grad", g_o, "...");
    void *v = pdt_arg_inout(&a, "square_avg", v_o, "...");
    void *ga = pdt_arg_inout_opt(&a, "grad_avg", ga_o, "...");
    void *b = pdt_arg_inout_opt(&a, "momentum_buf", b_o, "...");
    pdt_require(&a, !hp.centered || ga, "centered=True needs a buffer 'grad_avg'");
    pdt_require(&a, hp.momentum == 0.0 || b, "momentum %g needs a buffer 'momentum_buf'", hp.momentum);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, rmsprop_step, pdt_size(&a, 0), p, g, v, ga, b, &hp);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq|None, lr, beta1, beta2, eps, weight_decay, step, decoupled) */
static PyObject *py_adam_step(PyObject *self, PyObject *args) {
    PyObject *p_o, *g_o, *m_o, *v_o, *vm_o;
    pdt_adam_hp hp;
    long long step;
    if (!PyArg_ParseTuple(args, "OOOOOdddddLp:adam_step", &p_o, &g_o, &m_o, &v_o, &vm_o, &hp.lr, &hp.beta1,
                          &hp.beta2, &hp.eps, &hp.weight_decay, &step, &hp.decoupled))
        return NULL;
    hp.step = (int64_t)step;
    pdt_args a;
    pdt_args_init(&a, "adam_step");
    void *p = pdt_arg_inout(&a, "param", p_o, "...");
    const void *g = pdt_arg_in(&a, "grad", g_o, "...");
    void *m = pdt_arg_inout(&a, "exp_avg", m_o, "...");
    void *v = pdt_arg_inout(&a, "exp_avg_sq", v_o, "...");
    void *vm = pdt_arg_inout_opt(&a, "max_exp_avg_sq", vm_o, "...");
    pdt_require(&a, step >= 1, "step must be >= 1 (the update being made), got %lld", step);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, adam_step, pdt_size(&a, 0), p, g, m, v, vm, &hp);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_optim_methods[] = {
    {"sgd_step", py_sgd_step, METH_VARARGS, "param -= lr * grad, in place."},
    {"sgd_momentum_step", py_sgd_momentum_step, METH_VARARGS,
     "SGD with weight decay, momentum, dampening, Nesterov; classic or pytorch convention; in place."},
    {"rmsprop_step", py_rmsprop_step, METH_VARARGS, "RMSprop (eps inside or outside the root, centered, momentum); in place."},
    {"adam_step", py_adam_step, METH_VARARGS, "Adam / AdamW (decoupled) with optional AMSGrad; in place."},
    {NULL, NULL, 0, NULL}};
