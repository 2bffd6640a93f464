/*
 * threads.c — the thread count every parallel kernel uses. Kept here (not in
 * OpenMP's per-thread ICV) because Python may call kernels from any thread.
 */
#include "pdt.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static int pdt_num_threads = 0; /* 0: not set yet, use the OpenMP default */

int pdt_get_num_threads(void) {
#ifdef _OPENMP
    if (pdt_num_threads <= 0) pdt_num_threads = omp_get_max_threads();
    return pdt_num_threads;
#else
    return 1;
#endif
}

void pdt_set_num_threads(int n) {
#ifdef _OPENMP
    pdt_num_threads = n < 1 ? 1 : n;
#else
    (void)n;
#endif
}

int pdt_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}
