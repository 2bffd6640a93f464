/*
 * threads.c — the thread count and the pool every parallel kernel runs on.
 *
 * GCC lowers `PDT_OMP_FOR` (threads.h) to GOMP_parallel(fn, data, chunks, 0), where fn runs the
 * block of iterations numbered omp_get_thread_num() out of omp_get_num_threads(). This file
 * defines those three functions for this library alone (hidden symbols: nobody else's OpenMP
 * is touched, and libgomp's team is never used), so a region is a set of `chunks` blocks that
 * the calling thread and the pool's workers claim, one at a time, from an atomic counter:
 *   - the caller never waits for a thread to start: a worker that the OS has descheduled
 *     (the normal state of a busy laptop) holds no block, and the caller runs every block
 *     nobody has claimed; it waits only for blocks already running elsewhere, which are
 *     short because a region has several blocks per thread;
 *   - OpenMP's end-of-region barrier, which waits for every thread of the team to arrive
 *     (a scheduler time slice, milliseconds, when one is descheduled), does not exist;
 *   - workers spin briefly for the next region, then sleep on a condition variable, so an
 *     idle pool takes no CPU from the caller or anyone else.
 * Which thread runs a block never changes what the block computes, so results are the same
 * bits for any thread count and any load. Other compilers (Clang lowers OpenMP to libomp's
 * __kmpc_fork_call) use their OpenMP runtime; without OpenMP every loop runs serially.
 */
#define _GNU_SOURCE
#include "threads.h"
#include <stdatomic.h>
#include <stdlib.h>

#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define PDT_POOL 1
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#elif defined(_OPENMP)
#include <omp.h>
#endif

#ifdef _OPENMP
static _Atomic int pdt_num_threads = 0; /* 0: not set yet, use the default (set and read from any thread) */

/* OMP_NUM_THREADS (its first number) when set, else the CPUs this process may run on. */
static int pdt_default_threads(void) {
    const char *env = getenv("OMP_NUM_THREADS");
    long n = env ? strtol(env, NULL, 10) : 0;
    if (n >= 1) return n > PDT_MAX_THREADS ? PDT_MAX_THREADS : (int)n;
#if defined(PDT_POOL)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return 1;
#else
    return omp_get_max_threads();
#endif
}
#endif

int pdt_get_num_threads(void) {
#ifdef _OPENMP
    if (pdt_num_threads <= 0) pdt_num_threads = pdt_default_threads();
    return pdt_num_threads;
#else
    return 1;
#endif
}

void pdt_set_num_threads(int n) {
#ifdef _OPENMP
    pdt_num_threads = n < 1 ? 1 : n > PDT_MAX_THREADS ? PDT_MAX_THREADS : n;
#else
    (void)n;
#endif
}

int pdt_region_chunks(void) {
    const int threads = pdt_get_num_threads();
    return threads > 1 ? threads * PDT_CHUNKS_PER_THREAD : 1;
}

int pdt_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

const char *pdt_threading_backend(void) {
#if defined(PDT_POOL)
    return "pool";
#elif defined(_OPENMP)
    return "openmp";
#else
    return "serial";
#endif
}

#if defined(PDT_POOL)

/* The claim word: region number (24 bits) | blocks (20 bits) | next unclaimed block (20 bits).
 * One word, so a claim checks in one compare-and-swap that the region is still the one whose
 * blocks it counts: a worker that wakes late can never claim a block of a newer region. */
#define PDT_CLAIM_BITS 20
#define PDT_CLAIM_MASK ((UINT64_C(1) << PDT_CLAIM_BITS) - 1)
#define PDT_MAX_CHUNKS ((int)PDT_CLAIM_MASK)

typedef void (*pdt_region_fn)(void *);

static struct {
    _Atomic uint64_t claim;
    _Atomic int done;                 /* blocks finished in the current region */
    _Atomic(pdt_region_fn) fn;        /* the region's body and its data; stable while a block is unclaimed */
    void *_Atomic data;
    _Atomic int team;                 /* workers 1..team-1 take part in the current region */
    _Atomic int sleepers;             /* workers waiting on `wake` */
    _Atomic unsigned epoch;           /* workers of an older generation end at their next wake-up */
    atomic_flag busy;                 /* a caller is running a region */
    int workers;                      /* workers started (only the caller holding `busy` changes it) */
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool = {.busy = ATOMIC_FLAG_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* The block this thread runs and the region's block count, as omp_get_thread_num/num_threads report them. */
static _Thread_local int pdt_block = 0, pdt_blocks = 1, pdt_in_region = 0;

static inline void pdt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t pdt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pdt_region_of(uint64_t word) { return word >> (2 * PDT_CLAIM_BITS); }

/* Claims the next block of region `region`: its number, or -1 when none is left (or the region is over). */
static int pdt_claim(uint64_t region) {
    uint64_t word = atomic_load_explicit(&pool.claim, memory_order_acquire);
    for (;;) {
        if (pdt_region_of(word) != region) return -1;
        const uint64_t next = word & PDT_CLAIM_MASK, blocks = (word >> PDT_CLAIM_BITS) & PDT_CLAIM_MASK;
        if (next >= blocks) return -1;
        if (atomic_compare_exchange_weak_explicit(&pool.claim, &word, word + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return (int)next;
    }
}

/* Runs blocks of `region` until none is left to claim. */
static void pdt_run_blocks(uint64_t region, int blocks) {
    int block;
    while ((block = pdt_claim(region)) >= 0) {
        /* a claimed block keeps its region open, so fn and data are this region's */
        const pdt_region_fn fn = atomic_load_explicit(&pool.fn, memory_order_relaxed);
        void *data = atomic_load_explicit(&pool.data, memory_order_relaxed);
        pdt_block = block;
        pdt_blocks = blocks;
        fn(data);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

/* Waits until the claim word names a region other than `seen`: spins PDT_SPIN_NS, then sleeps.
 * The spin yields the core at every turn: on a busy machine a worker woken for the last region
 * often shares a core with its caller, and a plain spin would keep the caller off it. */
static uint64_t pdt_wait_region(uint64_t seen) {
    uint64_t word;
    const uint64_t start = pdt_now_ns();
    for (;;) {
        word = atomic_load_explicit(&pool.claim, memory_order_acquire);
        if (pdt_region_of(word) != seen) return word;
        sched_yield();
        if (pdt_now_ns() - start > PDT_SPIN_NS) break;
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1); /* seq_cst with the caller's publish-then-check (pdt_region) */
    while (pdt_region_of(word = atomic_load(&pool.claim)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return word;
}

/* Worker `id` of generation `epoch` (both in arg): runs the blocks of each region it is a team member of;
 * ends when the pool has been shrunk since it started (set_num_threads lowered). */
static void *pdt_worker(void *arg) {
    const int id = (int)((uintptr_t)arg & 0xffff);
    const unsigned epoch = (unsigned)((uintptr_t)arg >> 16);
    uint64_t seen = pdt_region_of(atomic_load(&pool.claim));
    pdt_in_region = 1; /* a kernel called from a block runs its own loops in place */
    for (;;) {
        const uint64_t word = pdt_wait_region(seen);
        seen = pdt_region_of(word);
        if (atomic_load(&pool.epoch) != epoch) return NULL;
        if (id < atomic_load_explicit(&pool.team, memory_order_relaxed))
            pdt_run_blocks(seen, (int)((word >> PDT_CLAIM_BITS) & PDT_CLAIM_MASK));
    }
}

/* A forked child has none of the parent's workers: it starts with an empty pool. */
static void pdt_pool_after_fork(void) {
    pool.workers = 0;
    atomic_store(&pool.sleepers, 0);
    atomic_flag_clear(&pool.busy);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
}

/* Starts workers until there are `want` (or as many as the system gives); returns how many there are. */
static int pdt_start_workers(int want) {
    static int fork_handler;
    if (!fork_handler) fork_handler = pthread_atfork(NULL, NULL, pdt_pool_after_fork) == 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals go to the caller's threads, never to a worker */
    while (pool.workers < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const uintptr_t arg = (uintptr_t)atomic_load(&pool.epoch) << 16 | (uintptr_t)(pool.workers + 1);
        const int failed = pthread_create(&t, &attr, pdt_worker, (void *)arg);
        pthread_attr_destroy(&attr);
        if (failed) break;
        pool.workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool.workers;
}

/* Runs fn once per block, all on this thread (block numbers as the static schedule expects). */
static void pdt_run_in_place(void (*fn)(void *), void *data) {
    const int block = pdt_block, blocks = pdt_blocks, in_region = pdt_in_region;
    pdt_block = 0;
    pdt_blocks = 1;
    pdt_in_region = 1;
    fn(data);
    pdt_block = block;
    pdt_blocks = blocks;
    pdt_in_region = in_region;
}

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags)
    __attribute__((visibility("hidden")));
int omp_get_thread_num(void) __attribute__((visibility("hidden")));
int omp_get_num_threads(void) __attribute__((visibility("hidden")));

int omp_get_thread_num(void) { return pdt_block; }
int omp_get_num_threads(void) { return pdt_blocks; }

/* A region of `num_threads` blocks: in place when it is one block, when called from inside a region
 * or while another thread of the process runs one (the pool serves one region at a time). */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags) {
    (void)flags;
    const int threads = pdt_get_num_threads();
    if (num_threads <= 1 || threads <= 1 || pdt_in_region || atomic_flag_test_and_set(&pool.busy)) {
        pdt_run_in_place(fn, data);
        return;
    }
    const int want = threads - 1;
    if (pool.workers > want) {  /* fewer threads than before: start a new, smaller generation */
        atomic_fetch_add(&pool.epoch, 1);
        pool.workers = 0;
    }
    const int team = 1 + (pool.workers >= want ? want : pdt_start_workers(want));
    const int blocks = (int)num_threads < PDT_MAX_CHUNKS ? (int)num_threads : PDT_MAX_CHUNKS;
    atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool.data, data, memory_order_relaxed);
    atomic_store_explicit(&pool.team, team, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    const uint64_t region = (pdt_region_of(atomic_load(&pool.claim)) + 1) & ((UINT64_C(1) << 24) - 1);
    atomic_store(&pool.claim, region << (2 * PDT_CLAIM_BITS) | (uint64_t)blocks << PDT_CLAIM_BITS);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    pdt_in_region = 1;
    pdt_run_blocks(region, blocks);
    /* only blocks that a worker is running are left: wait for them, yielding the core to that worker
     * when it seems descheduled (it may share this core) */
    for (unsigned spins = 1; atomic_load_explicit(&pool.done, memory_order_acquire) < blocks; ++spins) {
        if (spins % 256 == 0) sched_yield();
        else pdt_cpu_relax();
    }
    pdt_block = 0;
    pdt_blocks = 1;
    pdt_in_region = 0;
    atomic_flag_clear(&pool.busy);
}
#endif
