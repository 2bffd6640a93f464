/*
 * threads.h — what kernels need to run their outer loop on several threads.
 * PDT_OMP(clauses) expands to an OpenMP `parallel for` with the thread count
 * set by pdt_set_num_threads, or to nothing when OpenMP is not available.
 * Work is split by index ranges only, so results never depend on the count.
 * Kernels use OpenMP only through PDT_OMP_FOR, with no omp_* calls, barriers, single,
 * critical or cancel inside: threads.c runs a one-thread region in place, without a
 * libgomp team, and that is exact only for such plain static loops.
 */
#ifndef PDT_THREADS_H
#define PDT_THREADS_H
#include "pdt.h"

#define PDT_PRAGMA(x) _Pragma(#x)
#ifdef _OPENMP
#define PDT_OMP_FOR(cond) PDT_PRAGMA(omp parallel for schedule(static) num_threads(pdt_get_num_threads()) if (cond))
#else
#define PDT_OMP_FOR(cond)
#endif

/* Elementwise kernels go parallel above this many elements (below it threads cost more than they save). */
#define PDT_PAR_MIN 65536

#endif
