/* py/gemm.c — binding of the matrix product. */
#include "args.h"

/* gemm(a, b, out=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None) -> out
 * (positional: the Linear layer calls it several times a step; functional.gemm takes keywords) */
static PyObject *py_gemm(PyObject *self, PyObject *args) {
    PyObject *a_o, *b_o, *out_o = Py_None, *bias_o = Py_None;
    int ta = 0, tb = 0;
    double alpha = 1.0, beta = 0.0;
    if (!PyArg_ParseTuple(args, "OO|OppddO:gemm", &a_o, &b_o, &out_o, &ta, &tb, &alpha, &beta, &bias_o))
        return NULL;
    pdt_args a;
    pdt_args_init(&a, "gemm");
    const void *pa = pdt_arg_in(&a, "a", a_o, ta ? "K,M" : "M,K");
    const void *pb = pdt_arg_in(&a, "b", b_o, tb ? "N,K" : "K,N");
    const void *pbias = pdt_arg_in_opt(&a, "bias", bias_o, "N");
    pdt_require(&a, beta == 0.0 || out_o != Py_None, "beta=%g reads 'out', so 'out' must be given", beta);
    void *pc = pdt_arg_out(&a, "out", out_o, "M,N", 0);
    if (a.failed) return pdt_args_fail(&a);
    pdt_int m = pdt_dim(&a, 'M'), n = pdt_dim(&a, 'N'), k = pdt_dim(&a, 'K');
    pdt_status st;
    pdt_args_long_call(&a, (double)m * (double)n * (double)k > 65536.0);  /* over 2^16 multiply-adds: ~1 us */
    PDT_RUN(&a, st, gemm, ta, tb, m, n, k, alpha, pa, ta ? m : k, pb, tb ? k : n, beta, pc, n, pbias);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return pdt_args_outputs(&a);
}

/* fma_peak(sink, reps) -> flops: independent FMA chains, one part per element of sink, in parallel */
static PyObject *py_fma_peak(PyObject *self, PyObject *args) {
    PyObject *sink_o;
    long long reps;
    if (!PyArg_ParseTuple(args, "OL:fma_peak", &sink_o, &reps)) return NULL;
    pdt_args a;
    pdt_args_init(&a, "fma_peak");
    void *sink = pdt_arg_inout(&a, "sink", sink_o, "P");
    pdt_require(&a, reps >= 0, "reps must be >= 0, got %lld", reps);
    if (a.failed) return pdt_args_fail(&a);
    double flops = 0;
    pdt_status st;
    pdt_args_long_call(&a, 1);
    PDT_RUN(&a, st, fma_peak, (pdt_int)reps, pdt_dim(&a, 'P'), sink, &flops);
    if (pdt_check_status(&a, st)) return pdt_args_fail(&a);
    return PyFloat_FromDouble(flops);
}

PyMethodDef pdt_gemm_methods[] = {
    {"gemm", py_gemm, METH_VARARGS,
     "out = alpha * op(a) @ op(b) + beta * out (+ bias on every row)."},
    {"fma_peak", py_fma_peak, METH_VARARGS,
     "fma_peak(sink, reps) -> flops done by independent FMA chains, one thread per element of sink."},
    {NULL, NULL, 0, NULL}};
