/* py/gemm.c — binding of the matrix product. */
#include "args.h"

/* gemm(a, b, out=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None) -> out */
static PyObject *py_gemm(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"a", "b", "out", "trans_a", "trans_b", "alpha", "beta", "bias", NULL};
    PyObject *a_o, *b_o, *out_o = Py_None, *bias_o = Py_None;
    int ta = 0, tb = 0;
    double alpha = 1.0, beta = 0.0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OppddO:gemm", kwlist, &a_o, &b_o, &out_o, &ta, &tb, &alpha,
                                     &beta, &bias_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "gemm");
    const void *pa = pdt_arg_in(&a, "a", a_o, ta ? "K,M" : "M,K");
    const void *pb = pdt_arg_in(&a, "b", b_o, tb ? "N,K" : "K,N");
    const void *pbias = bias_o == Py_None ? NULL : pdt_arg_in(&a, "bias", bias_o, "N");
    pdt_require(&a, beta == 0.0 || out_o != Py_None, "beta=%g reads 'out', so 'out' must be given", beta);
    void *pc = pdt_arg_out(&a, "out", out_o, "M,N", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_int m = pdt_dim(&a, 'M'), n = pdt_dim(&a, 'N'), k = pdt_dim(&a, 'K');
    pdt_status st;
    PDT_RUN(&a, st, gemm, ta, tb, m, n, k, alpha, pa, ta ? m : k, pb, tb ? k : n, beta, pc, n, pbias);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

PyMethodDef pdt_gemm_methods[] = {
    {"gemm", (PyCFunction)(void (*)(void))py_gemm, METH_VARARGS | METH_KEYWORDS,
     "out = alpha * op(a) @ op(b) + beta * out (+ bias on every row)."},
    {NULL, NULL, 0, NULL}};
