/*
 * args.c — the one validation path of the binding (see args.h).
 */
#include "args.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pdt_args_init(pdt_args *a, const char *fn) {
    /* only what is read before being written: the rest is filled as arguments come */
    a->fn = fn;
    a->failed = 0;
    a->dtype = -1;
    a->dtype_from = NULL;
    for (int i = 0; i < 26; ++i) a->dims[i] = -1;
    a->ell_ndim = -1;
    a->ell_from = NULL;
    a->narrays = 0;
    a->nowned = 0;
    a->nbytes = 0;
}

static void vfail(pdt_args *a, PyObject *type, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    PyErr_Format(type, "%s: %s", a->fn, msg);
    a->failed = 1;
}

static void fail(pdt_args *a, PyObject *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(a, type, fmt, ap);
    va_end(ap);
}

int pdt_require(pdt_args *a, int cond, const char *fmt, ...) {
    if (a->failed) return 0;
    if (cond) return 1;
    va_list ap;
    va_start(ap, fmt);
    vfail(a, PyExc_ValueError, fmt, ap);
    va_end(ap);
    return 0;
}

static void shape_str(int ndim, const npy_intp *shape, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < ndim && used < len; ++d)
        used += (size_t)snprintf(buf + used, len - used, d + 1 < ndim || ndim == 1 ? "%lld," : "%lld",
                                 (long long)shape[d]);
    if (used < len) snprintf(buf + used, len - used, ")");
}

/* Dimensions in a shape pattern ("" is 0-d). */
static int pattern_ndim(const char *pattern) {
    if (!*pattern) return 0;
    int n = 1;
    for (const char *p = pattern; *p; ++p) n += *p == ',';
    return n;
}

/* The token at t (up to the next comma): '*' any size, a capital letter bound by name, else a number. */
static int token_any(const char *t) { return t[0] == '*' && (t[1] == ',' || t[1] == '\0'); }
static int token_letter(const char *t) { return t[0] >= 'A' && t[0] <= 'Z' && (t[1] == ',' || t[1] == '\0'); }
static const char *next_token(const char *t) {
    while (*t && *t != ',') ++t;
    return *t ? t + 1 : t;
}

/* Checks arr's shape against the pattern, binding letters and "..." on first use.
 * The shape is formatted for a message only when the check fails. */
static int check_shape(pdt_args *a, const char *name, PyArrayObject *arr, const char *pattern) {
    int ndim = PyArray_NDIM(arr);
    const npy_intp *shape = PyArray_DIMS(arr);
    char got[160];
    if (strcmp(pattern, "...") == 0) {
        if (a->ell_ndim < 0) {
            a->ell_ndim = ndim;
            memcpy(a->ell_shape, shape, (size_t)ndim * sizeof *shape);
            a->ell_from = name;
            return 0;
        }
        if (ndim != a->ell_ndim || memcmp(shape, a->ell_shape, (size_t)ndim * sizeof *shape) != 0) {
            char want[160];
            shape_str(a->ell_ndim, a->ell_shape, want, sizeof want);
            shape_str(ndim, shape, got, sizeof got);
            fail(a, PyExc_ValueError, "argument '%s' must have the shape of '%s' %s; got shape %s", name,
                 a->ell_from, want, got);
            return -1;
        }
        return 0;
    }
    int ntok = pattern_ndim(pattern);
    if (ntok != ndim) {
        shape_str(ndim, shape, got, sizeof got);
        fail(a, PyExc_ValueError, "argument '%s' must be %d-dimensional (%s); got shape %s", name, ntok,
             pattern, got);
        return -1;
    }
    const char *t = pattern;
    for (int d = 0; d < ndim; ++d, t = next_token(t)) {
        if (token_any(t)) continue;
        if (token_letter(t)) {
            int l = t[0] - 'A';
            if (a->dims[l] < 0) {
                a->dims[l] = shape[d];
                a->dim_from[l] = name;
            } else if (a->dims[l] != shape[d]) {
                shape_str(ndim, shape, got, sizeof got);
                fail(a, PyExc_ValueError,
                     "argument '%s' has shape %s, but its dimension %d (%s) must be %lld to match '%s'", name, got,
                     d, pattern, (long long)a->dims[l], a->dim_from[l]);
                return -1;
            }
        } else if (atoll(t) != (long long)shape[d]) {
            shape_str(ndim, shape, got, sizeof got);
            fail(a, PyExc_ValueError, "argument '%s' must have shape (%s); got %s", name, pattern, got);
            return -1;
        }
    }
    return 0;
}

static const char *dtype_name(int typenum) {
    switch (typenum) {
    case NPY_FLOAT32: return "float32";
    case NPY_FLOAT64: return "float64";
    case NPY_INT64: return "int64";
    case NPY_UINT8: return "uint8";
    default: return "another dtype";
    }
}

/* The array's dtype as NumPy names it (float16, int32, ...). */
static const char *arr_dtype(PyArrayObject *arr) {
    const char *name = PyArray_DESCR(arr)->typeobj->tp_name;
    return strncmp(name, "numpy.", 6) == 0 ? name + 6 : name;
}

/* Whether obj's class is, or derives from, the class named cls (a Python class's tp_name is its bare name). */
static int derives_from(PyObject *obj, const char *cls) {
    for (PyTypeObject *t = Py_TYPE(obj); t; t = t->tp_base)
        if (strcmp(t->tp_name, cls) == 0) return 1;
    return 0;
}

/* ndarray, well-behaved memory: C-contiguous, aligned, native byte order. Not a masked array (the kernels
 * would read the masked values as data) nor an np.matrix (its rows stay 2-d). */
static PyArrayObject *as_array(pdt_args *a, const char *name, PyObject *obj) {
    if (!PyArray_Check(obj)) {
        fail(a, PyExc_TypeError, "argument '%s' must be a numpy.ndarray; got %s", name, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (!PyArray_CheckExact(obj) && derives_from(obj, "MaskedArray")) {
        fail(a, PyExc_TypeError, "argument '%s' is a numpy.ma.MaskedArray: its mask would be ignored; pass plain "
             "values (x.filled(0), or x.compressed() for the unmasked ones)", name);
        return NULL;
    }
    if (!PyArray_CheckExact(obj) && derives_from(obj, "matrix")) {
        fail(a, PyExc_TypeError, "argument '%s' is a numpy.matrix; convert it with np.asarray(x)", name);
        return NULL;
    }
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (!PyArray_IS_C_CONTIGUOUS(arr)) {
        fail(a, PyExc_ValueError,
             "argument '%s' must be C-contiguous; got a strided view (np.ascontiguousarray makes a copy)", name);
        return NULL;
    }
    if (!PyArray_ISALIGNED(arr) || PyArray_ISBYTESWAPPED(arr)) {
        fail(a, PyExc_ValueError, "argument '%s' must be aligned and in native byte order", name);
        return NULL;
    }
    return arr;
}

static int check_float(pdt_args *a, const char *name, PyArrayObject *arr) {
    int t = PyArray_TYPE(arr);
    if (t != NPY_FLOAT32 && t != NPY_FLOAT64) {
        fail(a, PyExc_TypeError, "argument '%s' must be float32 or float64; got %s", name, arr_dtype(arr));
        return -1;
    }
    if (a->dtype < 0) {
        a->dtype = t;
        a->dtype_from = name;
    } else if (t != a->dtype) {
        fail(a, PyExc_TypeError, "argument '%s' must be %s like '%s'; got %s", name, dtype_name(a->dtype),
             a->dtype_from, dtype_name(t));
        return -1;
    }
    return 0;
}

static int overlaps(PyArrayObject *x, PyArrayObject *y) {
    const char *x0 = PyArray_BYTES(x), *y0 = PyArray_BYTES(y);
    npy_intp xn = PyArray_NBYTES(x), yn = PyArray_NBYTES(y);
    if (xn == 0 || yn == 0) return 0;
    return x0 < y0 + yn && y0 < x0 + xn;
}

/* An array written by the kernel must not overlap any other argument, save the exact in-place case. */
static int check_alias(pdt_args *a, const char *name, PyArrayObject *arr, int writes, int flags) {
    for (int i = 0; i < a->narrays; ++i) {
        if (!(writes || a->writes[i]) || !overlaps(arr, a->arrays[i])) continue;
        int exact = PyArray_BYTES(arr) == PyArray_BYTES(a->arrays[i]) &&
                    PyArray_NBYTES(arr) == PyArray_NBYTES(a->arrays[i]);
        if ((flags & PDT_ALIAS_OK) && exact && writes == 2 && a->writes[i] == 0) continue;
        fail(a, PyExc_ValueError, "argument '%s' shares memory with '%s'%s", name, a->names[i],
             (flags & PDT_ALIAS_OK) ? "; only the exact same array is allowed for in-place use"
                                    : "; pass separate arrays");
        return -1;
    }
    return 0;
}

static int record(pdt_args *a, const char *name, PyArrayObject *arr, int writes) {
    if (a->narrays == PDT_MAX_ARGS) {
        fail(a, PyExc_RuntimeError, "too many array arguments (internal limit %d)", PDT_MAX_ARGS);
        return -1;
    }
    a->arrays[a->narrays] = arr;
    a->names[a->narrays] = name;
    a->writes[a->narrays] = writes;
    a->narrays++;
    a->nbytes += (size_t)PyArray_NBYTES(arr);
    return 0;
}

const void *pdt_arg_in(pdt_args *a, const char *name, PyObject *obj, const char *shape) {
    if (a->failed) return NULL;
    PyArrayObject *arr = as_array(a, name, obj);
    if (!arr || check_float(a, name, arr) || check_shape(a, name, arr, shape) || check_alias(a, name, arr, 0, 0) ||
        record(a, name, arr, 0))
        return NULL;
    return PyArray_DATA(arr);
}

void *pdt_arg_inout(pdt_args *a, const char *name, PyObject *obj, const char *shape) {
    if (a->failed) return NULL;
    PyArrayObject *arr = as_array(a, name, obj);
    if (!arr || check_float(a, name, arr) || check_shape(a, name, arr, shape)) return NULL;
    if (!PyArray_ISWRITEABLE(arr)) {
        fail(a, PyExc_ValueError, "argument '%s' is updated in place and must be writeable", name);
        return NULL;
    }
    if (check_alias(a, name, arr, 1, 0) || record(a, name, arr, 1)) return NULL;
    return PyArray_DATA(arr);
}

/* Shape of a new output from its pattern; -1 (with an exception) when a size is unknown. */
static int out_shape(pdt_args *a, const char *name, const char *pattern, npy_intp *shape) {
    if (strcmp(pattern, "...") == 0) {
        memcpy(shape, a->ell_shape, (size_t)a->ell_ndim * sizeof *shape);
        return a->ell_ndim;
    }
    int ntok = pattern_ndim(pattern);
    const char *t = pattern;
    for (int d = 0; d < ntok; ++d, t = next_token(t)) {
        if (token_letter(t) && a->dims[t[0] - 'A'] >= 0) shape[d] = a->dims[t[0] - 'A'];
        else if (t[0] >= '0' && t[0] <= '9') shape[d] = atoll(t);
        else {
            fail(a, PyExc_RuntimeError, "cannot size new output '%s' from pattern %s", name, pattern);
            return -1;
        }
    }
    return ntok;
}

static void *out_common(pdt_args *a, const char *name, PyObject *obj, const char *shape, int flags, int typenum) {
    if (a->failed) return NULL;
    if (obj == NULL || obj == Py_None) {
        npy_intp dims[NPY_MAXDIMS];
        int ndim = out_shape(a, name, shape, dims);
        if (ndim < 0) return NULL;
        /* uninitialized: every kernel writes each element of its outputs (tests/test_outputs.py
         * poisons them to check), so zero-filling would be a wasted single-threaded pass over memory */
        PyObject *arr = PyArray_EMPTY(ndim, dims, typenum < 0 ? a->dtype : typenum, 0);
        if (!arr) {
            a->failed = 1;
            return NULL;
        }
        a->owned[a->nowned++] = arr;
        if (record(a, name, (PyArrayObject *)arr, 2)) return NULL;
        return PyArray_DATA((PyArrayObject *)arr);
    }
    PyArrayObject *arr = as_array(a, name, obj);
    if (!arr) return NULL;
    if (typenum < 0) {
        if (check_float(a, name, arr)) return NULL;
    } else if (PyArray_TYPE(arr) != typenum) {
        fail(a, PyExc_TypeError, "argument '%s' must be %s; got %s", name, dtype_name(typenum), arr_dtype(arr));
        return NULL;
    }
    if (check_shape(a, name, arr, shape)) return NULL;
    if (!PyArray_ISWRITEABLE(arr)) {
        fail(a, PyExc_ValueError, "output '%s' must be writeable", name);
        return NULL;
    }
    if (check_alias(a, name, arr, 2, flags) || record(a, name, arr, 2)) return NULL;
    return PyArray_DATA(arr);
}

void *pdt_arg_out(pdt_args *a, const char *name, PyObject *obj, const char *shape, int flags) {
    if (!a->failed && a->dtype < 0) {
        fail(a, PyExc_RuntimeError, "output '%s' declared before any float input", name);
        return NULL;
    }
    return out_common(a, name, obj, shape, flags, -1);
}

void *pdt_arg_out_typed(pdt_args *a, const char *name, PyObject *obj, const char *shape, int typenum) {
    return out_common(a, name, obj, shape, 0, typenum);
}

const void *pdt_arg_in_typed(pdt_args *a, const char *name, PyObject *obj, const char *shape, int typenum) {
    if (a->failed) return NULL;
    PyArrayObject *arr = as_array(a, name, obj);
    if (!arr) return NULL;
    if (PyArray_TYPE(arr) != typenum) {
        fail(a, PyExc_TypeError, "argument '%s' must be %s; got %s", name, dtype_name(typenum), arr_dtype(arr));
        return NULL;
    }
    if (check_shape(a, name, arr, shape) || check_alias(a, name, arr, 0, 0) || record(a, name, arr, 0)) return NULL;
    return PyArray_DATA(arr);
}

const int64_t *pdt_arg_labels(pdt_args *a, const char *name, PyObject *obj, const char *shape, pdt_int k) {
    const int64_t *v = pdt_arg_in_typed(a, name, obj, shape, NPY_INT64);
    if (!v) return NULL;
    npy_intp n = PyArray_SIZE(a->arrays[a->narrays - 1]);
    for (npy_intp i = 0; i < n; ++i)
        if (v[i] < 0 || v[i] >= k) {
            fail(a, PyExc_ValueError, "argument '%s' holds class %lld at position %lld; classes must be in [0, %lld)",
                 name, (long long)v[i], (long long)i, (long long)k);
            return NULL;
        }
    return v;
}

void pdt_bind_dim(pdt_args *a, char letter, pdt_int size, const char *from) {
    a->dims[letter - 'A'] = size;
    a->dim_from[letter - 'A'] = from;
}

pdt_int pdt_dim(const pdt_args *a, char letter) { return a->dims[letter - 'A']; }

pdt_int pdt_size(const pdt_args *a, int i) { return (pdt_int)PyArray_SIZE(a->arrays[i]); }

int pdt_check_status(pdt_args *a, pdt_status status) {
    switch (status) {
    case PDT_OK: return 0;
    case PDT_ENOMEM: PyErr_Format(PyExc_MemoryError, "%s: out of memory for its working buffers", a->fn); break;
    case PDT_ENONFINITE: PyErr_Format(PyExc_FloatingPointError, "%s: a NaN or Inf was found where finite numbers are required", a->fn); break;
    default: PyErr_Format(PyExc_ValueError, "%s: invalid argument (status %d)", a->fn, (int)status); break;
    }
    a->failed = 1;
    return -1;
}

static void release_owned(pdt_args *a) {
    for (int i = 0; i < a->nowned; ++i) Py_CLEAR(a->owned[i]);
    a->nowned = 0;
}

PyObject *pdt_args_fail(pdt_args *a) {
    release_owned(a);
    return NULL;
}

PyObject *pdt_args_outputs(pdt_args *a) {
    if (a->failed) return pdt_args_fail(a);
    int nout = 0;
    for (int i = 0; i < a->narrays; ++i) nout += a->writes[i] == 2;
    PyObject *result = nout > 1 ? PyTuple_New(nout) : NULL;
    if (nout > 1 && !result) return pdt_args_fail(a);
    int slot = 0;
    for (int i = 0; i < a->narrays; ++i) {
        if (a->writes[i] != 2) continue;
        PyObject *arr = (PyObject *)a->arrays[i];
        Py_INCREF(arr);
        if (nout == 1) result = arr;
        else PyTuple_SET_ITEM(result, slot++, arr);
    }
    release_owned(a); /* the result holds its own references */
    if (nout == 0) Py_RETURN_NONE;
    return result;
}
