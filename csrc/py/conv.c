/* py/conv.c — bindings of kernels/conv.c. Geometry comes as tuples: stride (sh, sw), dilation (dh, dw),
 * kernel (kh, kw); a convolution's padding (top, bottom, left, right), a pool's (ph, pw) on both sides. */
#include "args.h"

/* The window fields of p, checked; the output size (oh, ow) from the padded input. */
static void window(pdt_args *a, pdt_conv2d *p, long long pb, long long pr) {
    if (!pdt_require(a, p->sh >= 1 && p->sw >= 1, "stride must be >= 1, got (%lld, %lld)", (long long)p->sh,
                     (long long)p->sw) ||
        !pdt_require(a, p->dh >= 1 && p->dw >= 1, "dilation must be >= 1, got (%lld, %lld)", (long long)p->dh,
                     (long long)p->dw) ||
        !pdt_require(a, p->ph >= 0 && p->pw >= 0 && pb >= 0 && pr >= 0,
                     "padding must be >= 0, got top %lld, bottom %lld, left %lld, right %lld", (long long)p->ph, pb,
                     (long long)p->pw, pr) ||
        !pdt_require(a, p->kh >= 1 && p->kw >= 1, "kernel size must be >= 1, got (%lld, %lld)", (long long)p->kh,
                     (long long)p->kw))
        return;
    const pdt_int eh = p->dh * (p->kh - 1) + 1, ew = p->dw * (p->kw - 1) + 1;
    const pdt_int hp = p->h + p->ph + pb, wp = p->w + p->pw + pr;
    if (!pdt_require(a, eh <= hp && ew <= wp,
                     "the kernel (%lld×%lld with dilation) is larger than the padded input (%lld×%lld)",
                     (long long)eh, (long long)ew, (long long)hp, (long long)wp))
        return;
    p->oh = (hp - eh) / p->sh + 1;
    p->ow = (wp - ew) / p->sw + 1;
}

/* A convolution's geometry from x (N, C, H, W) and weight (O, C/groups, kh, kw), already declared. */
static void conv_geometry(pdt_args *a, pdt_conv2d *p, long long groups, const long long s[2], const long long pad[4],
                          const long long d[2]) {
    if (a->failed) return;
    *p = (pdt_conv2d){.n = pdt_dim(a, 'N'), .c = pdt_dim(a, 'C'), .h = pdt_dim(a, 'H'), .w = pdt_dim(a, 'W'),
                      .o = pdt_dim(a, 'O'), .kh = pdt_dim(a, 'K'), .kw = pdt_dim(a, 'L'), .sh = s[0], .sw = s[1],
                      .ph = pad[0], .pw = pad[2], .dh = d[0], .dw = d[1], .groups = groups};
    if (!pdt_require(a, groups >= 1, "groups must be >= 1, got %lld", groups) ||
        !pdt_require(a, p->c % groups == 0 && p->o % groups == 0,
                     "groups (%lld) must divide the input channels (%lld) and the output channels (%lld)", groups,
                     (long long)p->c, (long long)p->o) ||
        !pdt_require(a, pdt_dim(a, 'D') * groups == p->c,
                     "weight has %lld input channels per group; x has %lld channels in %lld groups (expected %lld)",
                     (long long)pdt_dim(a, 'D'), (long long)p->c, groups, (long long)(p->c / groups)))
        return;
    window(a, p, pad[1], pad[3]);
    pdt_bind_dim(a, 'P', p->oh, "the output height");
    pdt_bind_dim(a, 'Q', p->ow, "the output width");
}

static void *conv_work(pdt_args *a, PyObject *obj, const pdt_conv2d *p) {
    void *work = pdt_arg_inout(a, "work", obj, "*");
    if (work)
        pdt_require(a, pdt_size(a, a->narrays - 1) >= pdt_conv2d_work(p),
                    "work must hold at least %lld elements (conv2d_work_size), got %lld",
                    (long long)pdt_conv2d_work(p), (long long)pdt_size(a, a->narrays - 1));
    return work;
}

#define CONV_GEOMETRY_FORMAT "(LL)(LLLL)(LL)L"

/* conv2d_forward(x (N, C, H, W), weight (O, C/g, kh, kw), bias|None, stride, padding, dilation, groups, work,
 * out=None) -> y (N, O, oh, ow) */
static PyObject *py_conv2d_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *w_o, *b_o, *work_o, *out_o = Py_None;
    long long s[2], pad[4], d[2], groups;
    if (!PyArg_ParseTuple(args, "OOO" CONV_GEOMETRY_FORMAT "O|O:conv2d_forward", &x_o, &w_o, &b_o, &s[0], &s[1],
                          &pad[0], &pad[1], &pad[2], &pad[3], &d[0], &d[1], &groups, &work_o, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "conv2d_forward");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    const void *weight = pdt_arg_in(&a, "weight", w_o, "O,D,K,L");
    const void *bias = pdt_arg_in_opt(&a, "bias", b_o, "O");
    pdt_conv2d p;
    conv_geometry(&a, &p, groups, s, pad, d);
    void *work = conv_work(&a, work_o, &p);
    void *y = pdt_arg_out(&a, "out", out_o, "N,O,P,Q", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_args_long_call(&a, 1);
    pdt_status st;
    PDT_RUN(&a, st, conv2d_forward, &p, x, weight, bias, y, work);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* conv2d_backward(x, weight, dy (N, O, oh, ow), stride, padding, dilation, groups, dweight, dbias|None, work,
 * input_grad, out=None) -> dx (N, C, H, W), or None when not input_grad; dweight, dbias accumulate */
static PyObject *py_conv2d_backward(PyObject *self, PyObject *args) {
    PyObject *x_o, *w_o, *dy_o, *dw_o, *db_o, *work_o, *out_o = Py_None;
    long long s[2], pad[4], d[2], groups;
    int input_grad;
    if (!PyArg_ParseTuple(args, "OOO" CONV_GEOMETRY_FORMAT "OOOp|O:conv2d_backward", &x_o, &w_o, &dy_o, &s[0], &s[1],
                          &pad[0], &pad[1], &pad[2], &pad[3], &d[0], &d[1], &groups, &dw_o, &db_o, &work_o,
                          &input_grad, &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "conv2d_backward");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    const void *weight = pdt_arg_in(&a, "weight", w_o, "O,D,K,L");
    pdt_conv2d p;
    conv_geometry(&a, &p, groups, s, pad, d);
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,O,P,Q");
    void *dweight = pdt_arg_inout(&a, "dweight", dw_o, "O,D,K,L");
    void *dbias = pdt_arg_inout_opt(&a, "dbias", db_o, "O");
    void *work = conv_work(&a, work_o, &p);
    void *dx = input_grad ? pdt_arg_out(&a, "out", out_o, "N,C,H,W", 0) : NULL;
    if (a.failed) return pdt_args_fail(&a);
    pdt_args_long_call(&a, 1);
    pdt_status st;
    PDT_RUN(&a, st, conv2d_backward, &p, x, weight, dy, dx, dweight, dbias, work);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* conv2d_work_size(n, c, o, kh, kw, oh, ow, groups) -> elements of the work buffer */
static PyObject *py_conv2d_work_size(PyObject *self, PyObject *args) {
    long long n, c, o, kh, kw, oh, ow, groups;
    if (!PyArg_ParseTuple(args, "LLLLLLLL:conv2d_work_size", &n, &c, &o, &kh, &kw, &oh, &ow, &groups)) return NULL;
    if (n < 0 || c < 1 || o < 1 || kh < 1 || kw < 1 || oh < 1 || ow < 1 || groups < 1 || c % groups) {
        PyErr_SetString(PyExc_ValueError, "conv2d_work_size: sizes must be positive and groups must divide c");
        return NULL;
    }
    pdt_conv2d p = {.n = n, .c = c, .o = o, .kh = kh, .kw = kw, .oh = oh, .ow = ow, .groups = groups};
    return PyLong_FromLongLong((long long)pdt_conv2d_work(&p));
}

/* A pool's geometry over x (N, C, H, W) declared: window, padding at most half the window (as PyTorch). */
static void pool_geometry(pdt_args *a, pdt_conv2d *p, const long long k[2], const long long s[2],
                          const long long pad[2]) {
    if (a->failed) return;
    *p = (pdt_conv2d){.n = pdt_dim(a, 'N'), .c = pdt_dim(a, 'C'), .h = pdt_dim(a, 'H'), .w = pdt_dim(a, 'W'),
                      .o = pdt_dim(a, 'C'), .kh = k[0], .kw = k[1], .sh = s[0], .sw = s[1], .ph = pad[0],
                      .pw = pad[1], .dh = 1, .dw = 1, .groups = 1};
    if (!pdt_require(a, 2 * pad[0] <= k[0] && 2 * pad[1] <= k[1],
                     "padding (%lld, %lld) must be at most half the kernel size (%lld, %lld)", pad[0], pad[1], k[0],
                     k[1]))
        return;
    window(a, p, pad[0], pad[1]);
    pdt_bind_dim(a, 'P', p->oh, "the output height");
    pdt_bind_dim(a, 'Q', p->ow, "the output width");
}

#define POOL_FORMAT "(LL)(LL)(LL)"

/* maxpool2d_forward(x (N, C, H, W), kernel, stride, padding, out=None, argmax=None) -> (y, argmax int64) */
static PyObject *py_maxpool2d_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None, *idx_o = Py_None;
    long long k[2], s[2], pad[2];
    if (!PyArg_ParseTuple(args, "O" POOL_FORMAT "|OO:maxpool2d_forward", &x_o, &k[0], &k[1], &s[0], &s[1], &pad[0],
                          &pad[1], &out_o, &idx_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "maxpool2d_forward");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    pdt_conv2d p;
    pool_geometry(&a, &p, k, s, pad);
    void *y = pdt_arg_out(&a, "out", out_o, "N,C,P,Q", 0);
    int64_t *argmax = pdt_arg_out_typed(&a, "argmax", idx_o, "N,C,P,Q", NPY_INT64);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, maxpool2d_forward, &p, x, y, argmax);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* maxpool2d_backward(dy (N, C, oh, ow), argmax, input_size (H, W), out=None) -> dx (N, C, H, W) */
static PyObject *py_maxpool2d_backward(PyObject *self, PyObject *args) {
    PyObject *dy_o, *idx_o, *out_o = Py_None;
    long long h, w;
    if (!PyArg_ParseTuple(args, "OO(LL)|O:maxpool2d_backward", &dy_o, &idx_o, &h, &w, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "maxpool2d_backward");
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,C,P,Q");
    const int64_t *argmax = pdt_arg_in_typed(&a, "argmax", idx_o, "N,C,P,Q", NPY_INT64);
    pdt_require(&a, h >= 1 && w >= 1, "input_size must be positive, got (%lld, %lld)", h, w);
    if (a.failed) return pdt_args_fail(&a);
    const pdt_int count = pdt_size(&a, 1);
    pdt_int bad = 0;  // a plain scan (no call per index), then the message for the first bad one
    while (bad < count && argmax[bad] >= 0 && argmax[bad] < h * w) ++bad;
    if (!pdt_require(&a, bad == count, "argmax holds %lld at position %lld; indices must be in [0, H·W = %lld)",
                     bad < count ? (long long)argmax[bad] : 0LL, (long long)bad, h * w))
        return pdt_args_fail(&a);
    pdt_bind_dim(&a, 'H', h, "input_size");
    pdt_bind_dim(&a, 'W', w, "input_size");
    void *dx = pdt_arg_out(&a, "out", out_o, "N,C,H,W", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_conv2d p = {.n = pdt_dim(&a, 'N'), .c = pdt_dim(&a, 'C'), .h = h, .w = w, .o = pdt_dim(&a, 'C'),
                    .oh = pdt_dim(&a, 'P'), .ow = pdt_dim(&a, 'Q')};
    pdt_status st;
    PDT_RUN(&a, st, maxpool2d_backward, &p, dy, argmax, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* avgpool2d_forward(x (N, C, H, W), kernel, stride, padding, out=None) -> y */
static PyObject *py_avgpool2d_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    long long k[2], s[2], pad[2];
    if (!PyArg_ParseTuple(args, "O" POOL_FORMAT "|O:avgpool2d_forward", &x_o, &k[0], &k[1], &s[0], &s[1], &pad[0],
                          &pad[1], &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "avgpool2d_forward");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    pdt_conv2d p;
    pool_geometry(&a, &p, k, s, pad);
    void *y = pdt_arg_out(&a, "out", out_o, "N,C,P,Q", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, avgpool2d_forward, &p, x, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* avgpool2d_backward(dy (N, C, oh, ow), input_size (H, W), kernel, stride, padding, out=None) -> dx */
static PyObject *py_avgpool2d_backward(PyObject *self, PyObject *args) {
    PyObject *dy_o, *out_o = Py_None;
    long long h, w, k[2], s[2], pad[2];
    if (!PyArg_ParseTuple(args, "O(LL)" POOL_FORMAT "|O:avgpool2d_backward", &dy_o, &h, &w, &k[0], &k[1], &s[0],
                          &s[1], &pad[0], &pad[1], &out_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "avgpool2d_backward");
    pdt_require(&a, h >= 1 && w >= 1, "input_size must be positive, got (%lld, %lld)", h, w);
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,C,*,*");
    if (a.failed) return pdt_args_fail(&a);
    pdt_bind_dim(&a, 'H', h, "input_size");
    pdt_bind_dim(&a, 'W', w, "input_size");
    pdt_conv2d p;
    pool_geometry(&a, &p, k, s, pad);
    void *dx = pdt_arg_out(&a, "out", out_o, "N,C,H,W", 0);
    if (a.failed) return pdt_args_fail(&a);
    const npy_intp *dims = PyArray_DIMS(a.arrays[0]);
    if (!pdt_require(&a, dims[2] == p.oh && dims[3] == p.ow,
                     "dy must have the forward output's size (%lld, %lld) for input_size (%lld, %lld); "
                     "got (%lld, %lld)",
                     (long long)p.oh, (long long)p.ow, h, w, (long long)dims[2], (long long)dims[3]))
        return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, avgpool2d_backward, &p, dy, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* global_avgpool_forward(x (N, C, H, W), out=None) -> y (N, C, 1, 1) */
static PyObject *py_global_avgpool_forward(PyObject *self, PyObject *args) {
    PyObject *x_o, *out_o = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:global_avgpool_forward", &x_o, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "global_avgpool_forward");
    const void *x = pdt_arg_in(&a, "x", x_o, "N,C,H,W");
    pdt_require(&a, pdt_dim(&a, 'H') * pdt_dim(&a, 'W') >= 1, "x must have H, W >= 1, got (%lld, %lld)",
                (long long)pdt_dim(&a, 'H'), (long long)pdt_dim(&a, 'W'));
    void *y = pdt_arg_out(&a, "out", out_o, "N,C,1,1", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, global_avgpool_forward, pdt_dim(&a, 'N') * pdt_dim(&a, 'C'), pdt_dim(&a, 'H') * pdt_dim(&a, 'W'),
            x, y);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* global_avgpool_backward(dy (N, C, 1, 1), input_size (H, W), out=None) -> dx (N, C, H, W) */
static PyObject *py_global_avgpool_backward(PyObject *self, PyObject *args) {
    PyObject *dy_o, *out_o = Py_None;
    long long h, w;
    if (!PyArg_ParseTuple(args, "O(LL)|O:global_avgpool_backward", &dy_o, &h, &w, &out_o)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "global_avgpool_backward");
    pdt_require(&a, h >= 1 && w >= 1, "input_size must be positive, got (%lld, %lld)", h, w);
    const void *dy = pdt_arg_in(&a, "dy", dy_o, "N,C,1,1");
    if (a.failed) return pdt_args_fail(&a);
    pdt_bind_dim(&a, 'H', h, "input_size");
    pdt_bind_dim(&a, 'W', w, "input_size");
    void *dx = pdt_arg_out(&a, "out", out_o, "N,C,H,W", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_status st;
    PDT_RUN(&a, st, global_avgpool_backward, pdt_dim(&a, 'N') * pdt_dim(&a, 'C'), h * w, dy, dx);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_conv_methods[] = {
    {"conv2d_forward", py_conv2d_forward, METH_VARARGS, "y = conv2d(x, weight) + bias (im2col + GEMM)."},
    {"conv2d_backward", py_conv2d_backward, METH_VARARGS, "dweight += ..., dbias += ...; returns dx or None."},
    {"conv2d_work_size", py_conv2d_work_size, METH_VARARGS, "Elements of conv2d's work buffer."},
    {"maxpool2d_forward", py_maxpool2d_forward, METH_VARARGS, "(y, argmax) of 2-D max pooling."},
    {"maxpool2d_backward", py_maxpool2d_backward, METH_VARARGS, "dx of 2-D max pooling from argmax."},
    {"avgpool2d_forward", py_avgpool2d_forward, METH_VARARGS, "2-D average pooling (padding counted)."},
    {"avgpool2d_backward", py_avgpool2d_backward, METH_VARARGS, "dx of 2-D average pooling."},
    {"global_avgpool_forward", py_global_avgpool_forward, METH_VARARGS, "Mean over H, W: (N, C, 1, 1)."},
    {"global_avgpool_backward", py_global_avgpool_backward, METH_VARARGS, "dx = dy / (H·W) broadcast."},
    {NULL, NULL, 0, NULL}};
