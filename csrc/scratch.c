/* scratch.c — the per-thread working buffer of scratch.h (POSIX threads: freed by a key destructor). */
#include "scratch.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    void *data;
    size_t bytes;
} pdt_scratch_block;

static pthread_key_t pdt_scratch_key;
static pthread_once_t pdt_scratch_once = PTHREAD_ONCE_INIT;
static int pdt_scratch_key_ok;

static void pdt_scratch_release(void *p) {
    pdt_scratch_block *block = p;
    free(block->data);
    free(block);
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
        free(block->data);
        block->data = data;
        block->bytes = grown;
    }
    return block->data;
}
