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

/*
 * GCC lowers every `omp parallel` to GOMP_parallel(fn, data, num_threads, flags),
 * and an `if` clause that is false to num_threads = 1, for which libgomp still
 * builds a one-thread team: a malloc, thread-state set-up and a free, about
 * 0.2 us a call, ten times a small loop (bench/NOTES.md). Every kernel below its PDT_OMP_FOR threshold paid that on
 * every call, and a small training step makes ~20 such calls. So the extension
 * binds GOMP_parallel to this hidden definition (hidden: only calls from this
 * library reach it, nobody else's OpenMP is touched): a one-thread region that
 * is not nested in another runs fn in place. That is what libgomp would compute:
 * outside any region omp_get_num_threads() is 1 and omp_get_thread_num() 0, so
 * the static schedule of the loop hands the whole range to this thread, and
 * orphaned constructs (barriers) do nothing. Anything else goes to libgomp's
 * GOMP_parallel (ABI version GOMP_4.0, since GCC 4.9). Clang lowers OpenMP to
 * libomp's __kmpc_fork_call, which serializes an `if(false)` region cheaply.
 */
#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
void pdt_libgomp_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
__asm__(".symver pdt_libgomp_parallel, GOMP_parallel@GOMP_4.0");
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags)
    __attribute__((visibility("hidden")));

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags) {
    if (num_threads == 1 && omp_get_level() == 0) {
        fn(data);
        return;
    }
    pdt_libgomp_parallel(fn, data, num_threads, flags);
}
#endif

int pdt_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}
