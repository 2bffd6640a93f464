/*
 * scratch.h — a working buffer kept per calling thread between kernel calls.
 *
 * The GEMM packs its operands into a buffer of up to a few MiB on every call. Freshly
 * allocated, that buffer is fresh pages each time (glibc returns large blocks to the
 * system on free), and their page faults cost more than the packing itself: a 256³
 * product ran at 55% of the FMA peak instead of 83%. pdt_scratch hands out one buffer
 * per thread, grown when too small and freed when the thread ends; pdt_scratch_done
 * frees it instead when it is over PDT_SCRATCH_KEEP bytes, so a burst of large calls
 * on many threads does not pin their memory. Built with AddressSanitizer, the bytes
 * past each request are poisoned, so an overrun is reported as for a fresh block.
 * One user at a time per thread: a kernel holding it must not call another kernel
 * that asks for it.
 */
#ifndef PDT_SCRATCH_H
#define PDT_SCRATCH_H
#include <stddef.h>

#define PDT_SCRATCH_KEEP ((size_t)16 << 20)

/* At least `bytes` bytes, 64-byte aligned, contents undefined; NULL when out of memory. */
void *pdt_scratch(size_t bytes);

/* The caller is done with the buffer of its last pdt_scratch call. */
void pdt_scratch_done(void);

#endif
