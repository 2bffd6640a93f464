/*
 * threads.h — what kernels need to run their outer loop on several threads.
 *
 * A kernel writes its outer loop as `PDT_OMP_FOR(cond) for (...)`. With OpenMP the loop is
 * split into pdt_region_chunks() contiguous blocks of iterations (a static schedule, so the
 * blocks depend on the problem size and the chunk count only), and the threads claim blocks
 * until none is left; below `cond` it runs in place. Without OpenMP it is a plain loop.
 * Work is split by index ranges only, so results never depend on which thread runs a block.
 * Kernels use OpenMP only through PDT_OMP_FOR, with no omp_* calls, barriers, single,
 * critical or cancel inside: threads.c runs the blocks on a pool of its own (see there),
 * which is exact only for such plain static loops.
 */
#ifndef PDT_THREADS_H
#define PDT_THREADS_H
#include "pdt.h"

#define PDT_PRAGMA(x) _Pragma(#x)
#ifdef _OPENMP
#define PDT_OMP_FOR(cond) PDT_PRAGMA(omp parallel for schedule(static) num_threads(pdt_region_chunks()) if (cond))
#else
#define PDT_OMP_FOR(cond)
#endif

/* Elementwise kernels go parallel above this many elements (below it threads cost more than they save). */
#define PDT_PAR_MIN 65536
/* A product goes parallel from this many multiply-adds: below, a second thread costs a training loop more than
 * it saves, most of all beside busy processes (bench/NOTES.md, "The thread pool"). */
#define PDT_GEMM_PAR_MIN (1 << 20)
/* The most threads set_num_threads accepts: far past any CPU this runs on, far below what exhausts memory. */
#define PDT_MAX_THREADS 512
/* Blocks per thread in a region: a descheduled worker then holds up at most one short block. */
#define PDT_CHUNKS_PER_THREAD 2
/* A worker that finds no region spins this long before it sleeps: long enough to catch the next
 * kernel call of a training step (a few microseconds of Python between calls), short enough that
 * an idle pool gives its core back at once. */
#define PDT_SPIN_NS 50000

#endif
