/* scratch.c — the per-thread working buffer of scratch.h (POSIX threads: freed by a key destructor). */
#include "scratch.h"

#include <pthread.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)  /* GCC */
#define PDT_SCRATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)  /* clang */
#define PDT_SCRATCH_ASAN 1
#endif
#endif
#ifdef PDT_SCRATCH_ASAN
#include <sanitizer/asan_interface.h>
#define PDT_SCRATCH_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define PDT_SCRATCH_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define PDT_SCRATCH_POISON(p, n) ((void)(p), (void)(n))
#define PDT_SCRATCH_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct {
    void *data;
    size_t bytes;
} pdt_scratch_block;

/* The one process-wide state of the core besides the thread count: the key under which each
 * thread finds its block (thread-local storage with a destructor needs a key). */
static pthread_key_t pdt_scratch_key;
static pthread_once_t pdt_scratch_once = PTHREAD_ONCE_INIT;
static int pdt_scratch_key_ok;

static void pdt_scratch_free(pdt_scratch_block *block) {
    PDT_SCRATCH_UNPOISON(block->data, block->bytes);
    free(block->data);
    block->data = NULL;
    block->bytes = 0;
}

static void pdt_scratch_release(void *p) {
    pdt_scratch_free(p);
    free(p);
}

static void pdt_scratch_init(void) { pdt_scratch_key_ok = pthread_key_create(&pdt_scratch_key, pdt_scratch_release) == 0; }

void *pdt_scratch(size_t bytes) {
    pthread_once(&pdt_scratch_once, pdt_scratch_init);
    if (!pdt_scratch_key_ok) return NULL;
    pdt_scratch_block *block = pthread_getspecific(pdt_scratch_key);
    if (!block) {
        if (!(block = calloc(1, sizeof *block))) return NULL;
        if (pthread_setspecific(pdt_scratch_key, block) != 0) {
            free(block);
            return NULL;
        }
    }
    if (block->bytes < bytes) {
        const size_t grown = (bytes + 4095) / 4096 * 4096;
        void *data = aligned_alloc(64, grown);
        if (!data) return NULL;
        pdt_scratch_free(block);
        block->data = data;
        block->bytes = grown;
    }
    PDT_SCRATCH_UNPOISON(block->data, bytes);
    PDT_SCRATCH_POISON((char *)block->data + bytes, block->bytes - bytes);
    return block->data;
}
