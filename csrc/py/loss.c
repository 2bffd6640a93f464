/* py/loss.c — bindings of the fused softmax cross-entropy. */
#include "args.h"

/* cross_entropy_forward(logits (N, K), labels (N), on, off, probs=None, losses=None) -> (probs, losses) */
static PyObject *py_ce_forward(PyObject *self, PyObject *args) {
    PyObject *z_o, *y_o, *p_o = Py_None, *l_o = Py_None;
    double on, off;
    if (!PyArg_ParseTuple(args, "OOdd|OO:cross_entropy_forward", &z_o, &y_o, &on, &off, &p_o, &l_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "cross_entropy_forward");
    const void *z = pdt_arg_in(&a, "logits", z_o, "N,K");
    pdt_require(&a, pdt_dim(&a, 'K') >= 1, "logits need at least one class (shape (N, K) with K >= 1)");
    const int64_t *y = pdt_arg_labels(&a, "labels", y_o, "N", pdt_dim(&a, 'K'));
    void *p = pdt_arg_out(&a, "probs", p_o, "N,K", 0);
    void *l = pdt_arg_out(&a, "losses", l_o, "N", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, cross_entropy_forward, pdt_dim(&a, 'N'), pdt_dim(&a, 'K'), z, y, on, off, p, l);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* cross_entropy_soft_forward(logits (N, K), targets (N, K), probs=None, losses=None) -> (probs, losses) */
static PyObject *py_ce_soft_forward(PyObject *self, PyObject *args) {
    PyObject *z_o, *t_o, *p_o = Py_None, *l_o = Py_None;
    if (!PyArg_ParseTuple(args, "OO|OO:cross_entropy_soft_forward", &z_o, &t_o, &p_o, &l_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "cross_entropy_soft_forward");
    const void *z = pdt_arg_in(&a, "logits", z_o, "N,K");
    pdt_require(&a, pdt_dim(&a, 'K') >= 1, "logits need at least one class (shape (N, K) with K >= 1)");
    const void *t = pdt_arg_in(&a, "targets", t_o, "N,K");
    void *p = pdt_arg_out(&a, "probs", p_o, "N,K", 0);
    void *l = pdt_arg_out(&a, "losses", l_o, "N", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, cross_entropy_soft_forward, pdt_dim(&a, 'N'), pdt_dim(&a, 'K'), z, t, p, l);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* cross_entropy_backward(probs (N, K), labels (N), on, off, scale, out=None) -> dlogits */
static PyObject *py_ce_backward(PyObject *self, PyObject *args) {
    PyObject *p_o, *y_o, *out_o = Py_None;
    double on, off, scale;
    if (!PyArg_ParseTuple(args, "OOddd|O:cross_entropy_backward", &p_o, &y_o, &on, &off, &scale, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "cross_entropy_backward");
    const void *p = pdt_arg_in(&a, "probs", p_o, "N,K");
    const int64_t *y = pdt_arg_labels(&a, "labels", y_o, "N", pdt_dim(&a, 'K'));
    void *d = pdt_arg_out(&a, "out", out_o, "N,K", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, cross_entropy_backward, pdt_dim(&a, 'N'), pdt_dim(&a, 'K'), p, y, on, off, scale, d);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* cross_entropy_soft_backward(probs (N, K), targets (N, K), scale, out=None) -> dlogits */
static PyObject *py_ce_soft_backward(PyObject *self, PyObject *args) {
    PyObject *p_o, *t_o, *out_o = Py_None;
    double scale;
    if (!PyArg_ParseTuple(args, "OOd|O:cross_entropy_soft_backward", &p_o, &t_o, &scale, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "cross_entropy_soft_backward");
    const void *p = pdt_arg_in(&a, "probs", p_o, "N,K");
    const void *t = pdt_arg_in(&a, "targets", t_o, "N,K");
    void *d = pdt_arg_out(&a, "out", out_o, "N,K", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, cross_entropy_soft_backward, pdt_dim(&a, 'N'), pdt_dim(&a, 'K'), p, t, scale, d);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* Elementwise losses: name_forward(input (...), target (...), losses=None) -> per-element
 * losses, name_backward(input, target, scale, out=None) -> scale·∂L/∂input. */
#define PDT_PAIR_LOSS(name, in_name)                                                               \
    static PyObject *py_##name##_forward(PyObject *self, PyObject *args) {                         \
        PyObject *z_o, *t_o, *l_o = Py_None;                                                       \
        if (!PyArg_ParseTuple(args, "OO|O:" #name "_forward", &z_o, &t_o, &l_o)) return NULL;      \
        pdt_args a;                                                                                \
        pdt_args_init(&a, #name "_forward");                                                       \
        const void *z = pdt_arg_in(&a, in_name, z_o, "...");                                       \
        const void *t = pdt_arg_in(&a, "target", t_o, "...");                                     \
        void *l = pdt_arg_out(&a, "losses", l_o, "...", 0);                                        \
        if (a.failed) return pdt_args_fail(&a);                                                    \
        pdt_status st;                                                                             \
        PDT_RUN(&a, st, name##_forward, pdt_size(&a, 0), z, t, l);                                 \
        if (pdt_check_status(&a, st)) return pdt_args_fail(&a);                                    \
        return pdt_args_outputs(&a);                                                               \
    }                                                                                              \
    static PyObject *py_##name##_backward(PyObject *self, PyObject *args) {                        \
        PyObject *z_o, *t_o, *out_o = Py_None;                                                     \
        double scale;                                                                              \
        if (!PyArg_ParseTuple(args, "OOd|O:" #name "_backward", &z_o, &t_o, &scale, &out_o)) return NULL; \
        pdt_args a;                                                                                \
        pdt_args_init(&a, #name "_backward");                                                      \
        const void *z = pdt_arg_in(&a, in_name, z_o, "...");                                       \
        const void *t = pdt_arg_in(&a, "target", t_o, "...");                                     \
        void *d = pdt_arg_out(&a, "out", out_o, "...", 0);                                         \
        if (a.failed) return pdt_args_fail(&a);                                                    \
        pdt_status st;                                                                             \
        PDT_RUN(&a, st, name##_backward, pdt_size(&a, 0), z, t, scale, d);                         \
        if (pdt_check_status(&a, st)) return pdt_args_fail(&a);                                    \
        return pdt_args_outputs(&a);                                                               \
    }

PDT_PAIR_LOSS(bce_with_logits, "logits")
PDT_PAIR_LOSS(mse, "input")


PyMethodDef pdt_loss_methods[] = {
    {"cross_entropy_forward", py_ce_forward, METH_VARARGS, "Softmax and per-row cross-entropy for class labels."},
    {"cross_entropy_soft_forward", py_ce_soft_forward, METH_VARARGS, "Softmax and per-row cross-entropy for target distributions."},
    {"cross_entropy_backward", py_ce_backward, METH_VARARGS, "dlogits = scale * (probs - q) for class labels."},
    {"cross_entropy_soft_backward", py_ce_soft_backward, METH_VARARGS, "dlogits = scale * (probs - targets)."},
    {"bce_with_logits_forward", py_bce_with_logits_forward, METH_VARARGS,
     "Per-element binary cross-entropy on logits: max(z, 0) - z*y + log(1 + exp(-|z|))."},
    {"bce_with_logits_backward", py_bce_with_logits_backward, METH_VARARGS, "scale * (sigmoid(z) - y)."},
    {"mse_forward", py_mse_forward, METH_VARARGS, "Per-element squared error (x - t)**2."},
    {"mse_backward", py_mse_backward, METH_VARARGS, "scale * 2 * (x - t)."},
    {NULL, NULL, 0, NULL}};
