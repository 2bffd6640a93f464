/*
 * args.h — the one validation path of the binding. A wrapper declares each
 * array argument with a shape pattern; the first failure raises a Python
 * exception naming the function, the argument, what was expected and what
 * came, and every later call on the same pdt_args is a no-op. Then the wrapper
 * runs the kernel with the GIL released (PDT_RUN).
 *
 * Shape patterns: comma-separated dims, each a letter (a size bound on first
 * use and checked after: "N,K"), a number ("3"), "*" (any size) or "..." (any
 * shape, the same for every "..." argument of the call). "" is a 0-d array.
 */
#ifndef PDT_PY_ARGS_H
#define PDT_PY_ARGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL pdt_ARRAY_API
#ifndef PDT_PY_MODULE_C
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "../pdt.h"

#define PDT_MAX_ARGS 12

enum {
    PDT_ALIAS_OK = 1  /* an output may be exactly one of the inputs (in place) */
};

typedef struct {
    const char *fn;
    int failed;
    int dtype;                 /* NPY_FLOAT32 or NPY_FLOAT64 once a float array fixed it; -1 before */
    const char *dtype_from;
    pdt_int dims[26];          /* 'A'..'Z'; -1 unbound */
    const char *dim_from[26];
    int ell_ndim;              /* shape bound by the first "..." argument; -1 unbound */
    npy_intp ell_shape[NPY_MAXDIMS];
    const char *ell_from;
    PyArrayObject *arrays[PDT_MAX_ARGS]; /* every array seen, for the aliasing check */
    const char *names[PDT_MAX_ARGS];
    int writes[PDT_MAX_ARGS];              /* 0 input, 1 in place, 2 output */
    int narrays;
    PyObject *owned[PDT_MAX_ARGS];       /* outputs allocated here (new references) */
    int nowned;
    size_t nbytes;                       /* bytes of every array seen: decides whether PDT_RUN releases the GIL */
} pdt_args;

void pdt_args_init(pdt_args *a, const char *fn);
/* A float32/float64 input; all float arrays of a call share one dtype. */
const void *pdt_arg_in(pdt_args *a, const char *name, PyObject *obj, const char *shape);
/* An array the kernel updates in place (parameters, gradients, optimizer state). */
void *pdt_arg_inout(pdt_args *a, const char *name, PyObject *obj, const char *shape);
/* Optional arrays: NULL for None (nothing declared), else pdt_arg_in / pdt_arg_inout. */
static inline const void *pdt_arg_in_opt(pdt_args *a, const char *name, PyObject *obj, const char *shape) {
    return obj == Py_None ? NULL : pdt_arg_in(a, name, obj, shape);
}
static inline void *pdt_arg_inout_opt(pdt_args *a, const char *name, PyObject *obj, const char *shape) {
    return obj == Py_None ? NULL : pdt_arg_inout(a, name, obj, shape);
}
/* An output: a new uninitialized array when obj is NULL or None, else obj checked and written.
 * Either way the kernel must write every element (no kernel may rely on zeros or leave a part). */
void *pdt_arg_out(pdt_args *a, const char *name, PyObject *obj, const char *shape, int flags);
/* An input of a given non-float dtype (uint8 masks, int64 indices). */
const void *pdt_arg_in_typed(pdt_args *a, const char *name, PyObject *obj, const char *shape, int typenum);
/* Integer class labels: int64, values in [0, k). */
const int64_t *pdt_arg_labels(pdt_args *a, const char *name, PyObject *obj, const char *shape, pdt_int k);
/* An output of a given dtype other than the call's float dtype (e.g. uint8 masks, int64). */
void *pdt_arg_out_typed(pdt_args *a, const char *name, PyObject *obj, const char *shape, int typenum);
/* Fails the call with ValueError unless cond; the message is prefixed with the function name. */
int pdt_require(pdt_args *a, int cond, const char *fmt, ...);
/* Binds a letter to a size the wrapper computed (an output's spatial size), named `from` in messages. */
void pdt_arg_bind(pdt_args *a, char letter, pdt_int size, const char *from);
/* The size bound to a letter of the patterns. */
pdt_int pdt_dim(const pdt_args *a, char letter);
/* Number of elements of the i-th array declared (in order of declaration). */
pdt_int pdt_size(const pdt_args *a, int i);
/* Raise for a non-OK kernel status; returns 0 on success, -1 with an exception set. */
int pdt_check_status(pdt_args *a, pdt_status status);
/* Release what the call allocated (on failure); returns NULL for `return pdt_args_fail(&a);`. */
PyObject *pdt_args_fail(pdt_args *a);
/* The outputs in order of declaration (new references): one array, a tuple of
 * several, or None when the call has none. Ends the call. */
PyObject *pdt_args_outputs(pdt_args *a);

/* The kernel table in use (set at import, changed by _C._set_simd). */
const pdt_kernels *pdt_active_kernels(void);

/* Calls whose arrays hold at most this many bytes keep the GIL: such a kernel takes a
 * microsecond or two, against ~0.1 us (two mutex round trips) to release and re-acquire
 * the GIL, and another Python thread could do little in that time anyway. */
#define PDT_GIL_BYTES 65536

/* A call whose time does not follow the size of its arrays (gemm's m·n·k, fma_peak's
 * repetitions) says here whether it is long; a long call releases the GIL whatever its bytes. */
static inline void pdt_args_long_call(pdt_args *a, int is_long) {
    if (is_long) a->nbytes = SIZE_MAX;
}

/* Run kernel name_f32 or name_f64 by the call's dtype, without the GIL unless the call is tiny. */
#define PDT_RUN(a, status, name, ...)                                                      \
    do {                                                                                   \
        const pdt_kernels *pdt_k_ = pdt_active_kernels();                                  \
        int pdt_f64_ = (a)->dtype == NPY_FLOAT64;                                          \
        if ((a)->nbytes <= PDT_GIL_BYTES) {                                                \
            (status) = pdt_f64_ ? pdt_k_->name##_f64(__VA_ARGS__) : pdt_k_->name##_f32(__VA_ARGS__); \
        } else {                                                                           \
            Py_BEGIN_ALLOW_THREADS                                                         \
            (status) = pdt_f64_ ? pdt_k_->name##_f64(__VA_ARGS__) : pdt_k_->name##_f32(__VA_ARGS__); \
            Py_END_ALLOW_THREADS                                                           \
        }                                                                                  \
    } while (0)

#endif
