/*
 * reduce.h — the one deterministic sum of the kernels: n elements cut into fixed
 * chunks of PDT_REDUCE_CHUNK, each chunk summed in double by `chunk` (on whichever
 * thread runs it), the chunk sums combined in index order. The cuts and the order
 * never depend on the thread count, so neither do the bits of the result.
 */
#ifndef PDT_REDUCE_H
#define PDT_REDUCE_H
#include <stdlib.h>

#define PDT_REDUCE_BLOCK 256    /* a chunk sums blocks of this many in T; a multiple of 4 vectors of every target */
#define PDT_REDUCE_CHUNK 16384  /* the unit of work of a thread; a multiple of the block */
#define PDT_REDUCE_STACK 64     /* chunk partials kept on the stack up to this many */

/* The sum over elements [begin, begin + len) of the kernel's arrays, described by ctx. */
typedef double (*pdt_chunk_sum)(pdt_int begin, pdt_int len, void *ctx);

// *result = Σ_c chunk(c·CHUNK, len_c, ctx) over the chunks of n elements, in index order
static inline pdt_status pdt_chunked_sum(pdt_int n, pdt_chunk_sum chunk, void *ctx, double *result) {
    const pdt_int nchunks = (n + PDT_REDUCE_CHUNK - 1) / PDT_REDUCE_CHUNK;
    double stack[PDT_REDUCE_STACK];
    double *part = nchunks <= PDT_REDUCE_STACK ? stack : malloc((size_t)nchunks * sizeof *part);
    if (!part) return PDT_ENOMEM;
    PDT_OMP_FOR(n > PDT_PAR_MIN)
    for (pdt_int c = 0; c < nchunks; ++c) {
        const pdt_int b = c * PDT_REDUCE_CHUNK, len = n - b < PDT_REDUCE_CHUNK ? n - b : PDT_REDUCE_CHUNK;
        part[c] = chunk(b, len, ctx);
    }
    double total = 0.0;
    for (pdt_int c = 0; c < nchunks; ++c) total += part[c];
    if (part != stack) free(part);
    *result = total;
    return PDT_OK;
}
#endif
