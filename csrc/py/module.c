/*
 * module.c — the extension module pydtrain._C: the configuration functions
 * (SIMD level, threads) and the method tables of every kernel area.
 */
#define PDT_PY_MODULE_C
#include "args.h"
#include "../threads.h"

extern PyMethodDef pdt_gemm_methods[];
extern PyMethodDef pdt_activation_methods[];
extern PyMethodDef pdt_linear_methods[];
extern PyMethodDef pdt_conv_methods[];
extern PyMethodDef pdt_loss_methods[];
extern PyMethodDef pdt_dropout_methods[];
extern PyMethodDef pdt_noise_methods[];
extern PyMethodDef pdt_augment_methods[];
extern PyMethodDef pdt_norm_methods[];
extern PyMethodDef pdt_optim_methods[];
extern PyMethodDef pdt_clip_methods[];
extern PyMethodDef pdt_penalty_methods[];
extern PyMethodDef pdt_average_methods[];
extern PyMethodDef pdt_random_methods[];
extern PyMethodDef pdt_stream_methods[];

static const pdt_kernels *active = NULL;
static pdt_simd active_level = PDT_SIMD_SCALAR;

const pdt_kernels *pdt_active_kernels(void) { return active; }

static PyObject *py_simd_level(PyObject *self, PyObject *noargs) {
    return PyUnicode_FromString(pdt_simd_name(active_level));
}

/* Levels as a list of names: compiled ones, or only those this CPU runs. */
static PyObject *simd_list(int (*pred)(pdt_simd)) {
    PyObject *list = PyList_New(0);
    for (int l = 0; list && l < PDT_SIMD_COUNT; ++l) {
        if (!pred((pdt_simd)l)) continue;
        PyObject *name = PyUnicode_FromString(pdt_simd_name((pdt_simd)l));
        if (!name || PyList_Append(list, name) < 0) Py_CLEAR(list);
        Py_XDECREF(name);
    }
    return list;
}

static PyObject *py_simd_compiled(PyObject *self, PyObject *noargs) { return simd_list(pdt_simd_compiled); }
static PyObject *py_simd_supported(PyObject *self, PyObject *noargs) { return simd_list(pdt_simd_supported); }

static PyObject *py_simd_best(PyObject *self, PyObject *noargs) {
    return PyUnicode_FromString(pdt_simd_name(pdt_simd_best()));
}

static PyObject *py_set_simd(PyObject *self, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s:_set_simd", &name)) return NULL;
    for (int l = 0; l < PDT_SIMD_COUNT; ++l) {
        if (strcmp(name, pdt_simd_name((pdt_simd)l)) != 0) continue;
        const pdt_kernels *k = pdt_kernels_for((pdt_simd)l);
        if (!k) {
            PyErr_Format(PyExc_ValueError, "SIMD level '%s' is not supported on this machine", name);
            return NULL;
        }
        active = k;
        active_level = (pdt_simd)l;
        Py_RETURN_NONE;
    }
    PyErr_Format(PyExc_ValueError, "unknown SIMD level '%s'; expected scalar, avx2, avx512 or neon", name);
    return NULL;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *noargs) { return PyLong_FromLong(pdt_get_num_threads()); }

static PyObject *py_set_num_threads(PyObject *self, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return NULL;
        PyErr_Clear();
        n = LONG_MAX;
    }
    if (n < 1 || n > PDT_MAX_THREADS) {
        PyErr_Format(PyExc_ValueError, "set_num_threads: the number of threads must be between 1 and %d, got %ld",
                     PDT_MAX_THREADS, n);
        return NULL;
    }
    pdt_set_num_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *py_openmp(PyObject *self, PyObject *noargs) { return PyBool_FromLong(pdt_openmp_enabled()); }

static PyObject *py_threading(PyObject *self, PyObject *noargs) {
    return Py_BuildValue("{s:s,s:i,s:i,s:i,s:L,s:L,s:d}", "backend", pdt_threading_backend(), "threads",
                         pdt_get_num_threads(), "max_threads", PDT_MAX_THREADS, "blocks_per_thread", PDT_CHUNKS_PER_THREAD, "parallel_min_elements",
                         (long long)PDT_PAR_MIN, "parallel_min_gemm_madds", (long long)PDT_GEMM_PAR_MIN,
                         "worker_spin_us", PDT_SPIN_NS / 1000.0);
}

static PyMethodDef config_methods[] = {
    {"simd_level", py_simd_level, METH_NOARGS, "Name of the SIMD level in use."},
    {"simd_compiled", py_simd_compiled, METH_NOARGS, "SIMD levels built into this binary."},
    {"simd_supported", py_simd_supported, METH_NOARGS, "SIMD levels this CPU and OS can run."},
    {"simd_best", py_simd_best, METH_NOARGS, "The best supported SIMD level."},
    {"_set_simd", py_set_simd, METH_VARARGS, "Use the kernels of a SIMD level (tests and PYDTRAIN_SIMD)."},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "Threads the kernels use."},
    {"set_num_threads", py_set_num_threads, METH_O, "Set the threads the kernels use (>= 1)."},
    {"openmp", py_openmp, METH_NOARGS, "Whether the core was built with OpenMP."},
    {"threading", py_threading, METH_NOARGS, "The threading back end and its thresholds."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pydtrain._C",
                                    "The C core of pydtrain: kernels on NumPy arrays.", -1, config_methods};

PyMODINIT_FUNC PyInit__C(void) {
    import_array();
    active_level = pdt_simd_best();
    active = pdt_kernels_for(active_level);
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    PyMethodDef *tables[] = {pdt_gemm_methods,    pdt_activation_methods, pdt_linear_methods,
                             pdt_loss_methods,    pdt_dropout_methods,    pdt_noise_methods,
                             pdt_norm_methods,    pdt_optim_methods,      pdt_clip_methods,
                             pdt_penalty_methods, pdt_average_methods,    pdt_random_methods,
                             pdt_augment_methods, pdt_stream_methods, pdt_conv_methods};
    if (PyModule_AddIntConstant(m, "ERASE_DRAWS", PDT_ERASE_DRAWS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; ++i)
        if (PyModule_AddFunctions(m, tables[i]) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    return m;
}
