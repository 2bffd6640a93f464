/*
 * scratch.h — a working buffer kept per calling thread between kernel calls.
 *
 * The GEMM packs its operands into a buffer of up to a few MiB on every call. Freshly
 * allocated, that buffer is fresh pages each time (glibc returns large blocks to the
 * system on free), and their page faults cost more than the packing itself
 * (bench/NOTES.md, "A scratch buffer kept per thread"). pdt_scratch hands out one buffer
 * per thread, grown when too small and freed when the thread ends. The cost: a thread
 * that called the GEMM keeps its largest buffer, about 2 MiB (float32) or 3 MiB
 * (float64) per OpenMP thread of that call; the aligned copies of x·Wᵀ's
 * dot-product path take up to 1 MiB of rows of x plus DN rows of W, so more only
 * when k runs to tens of thousands, and its transposed batch products up to 4 MiB
 * more; freeing blocks over a limit after each call does not help, as glibc keeps
 * them or maps fresh pages again. Built with AddressSanitizer, the bytes past each request are poisoned,
 * so an overrun is reported as for a fresh block.
 * One user at a time per thread: a kernel holding it must not call another kernel
 * that asks for it.
 */
#ifndef PDT_SCRATCH_H
#define PDT_SCRATCH_H
#include <stddef.h>

/* At least `bytes` bytes, 64-byte aligned, contents undefined; NULL when out of memory. */
void *pdt_scratch(size_t bytes);

#endif
