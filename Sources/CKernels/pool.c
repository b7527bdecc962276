// The worker pool of topiary_pool.h. One region at a time: its caller holds run_lock. A
// region is announced in `state` (generation, closed flag, how many pool threads may join,
// how many did); pool threads join by compare-and-swap while it is open, the caller closes it
// when no task is left unclaimed and waits for those that joined. A thread that comes late
// finds it closed and goes back to waiting, so the caller never waits for a sleeper to wake.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include "topiary_pool.h"
#include "topiary_kernels.h"

enum { MAX_THREADS = 255 };
// How long a pool thread spins for the next region before it sleeps: regions of a training
// step follow each other within tens of microseconds, while a sleeping thread takes about as
// long to wake; spinning longer would take a core from other work between steps.
static const int64_t SPIN_NS = 50000;

// state: generation << 32 | CLOSED | limit << 8 | joined (threads that joined, < 256).
#define CLOSED ((uint64_t)1 << 31)
static inline uint64_t generation(uint64_t s) { return s >> 32; }
static inline unsigned joined(uint64_t s) { return (unsigned)(s & 0xff); }
static inline unsigned limit(uint64_t s) { return (unsigned)((s >> 8) & 0xff); }
static inline int is_open(uint64_t s) { return !(s & CLOSED); }

static _Atomic uint64_t state = CLOSED;
static struct { tk_pool_body body; void *context; size_t tasks; int level; } job;
static _Atomic size_t next_task, finished;
static _Atomic int sleepers;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned threads; // pool threads started (under run_lock)
static _Thread_local int inside; // set on pool threads and on a caller while it runs tasks

static inline void pause_cpu(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void run_tasks(size_t worker) {
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed);
        if (t >= job.tasks) return;
        job.body(job.context, worker, t);
    }
}

// The state once a region after generation `seen` is open: spins SPIN_NS, then sleeps.
static uint64_t wait_for_region(uint64_t seen) {
    int64_t deadline = now_ns() + SPIN_NS;
    for (unsigned i = 1;; i++) {
        uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
        if (generation(s) != seen && is_open(s)) return s;
        pause_cpu();
        if (i % 64 == 0 && now_ns() > deadline) break;
    }
    pthread_mutex_lock(&sleep_lock);
    atomic_fetch_add(&sleepers, 1);
    uint64_t s;
    while (!((s = atomic_load(&state)), generation(s) != seen && is_open(s))) pthread_cond_wait(&wake, &sleep_lock);
    atomic_fetch_sub(&sleepers, 1);
    pthread_mutex_unlock(&sleep_lock);
    return s;
}

static void *pool_thread(void *arg) {
    inside = 1;
    uint64_t seen = (uint64_t)(uintptr_t)arg;
    for (;;) {
        uint64_t s = wait_for_region(seen);
        seen = generation(s);
        // Join while the region is open and short of its limit; the worker number is the order of joining.
        while (is_open(s) && generation(s) == seen && joined(s) < limit(s)) {
            if (!atomic_compare_exchange_weak(&state, &s, s + 1)) continue;
            tk_isa_set_thread_override(job.level);
            run_tasks(joined(s) + 1);
            atomic_fetch_add_explicit(&finished, 1, memory_order_release);
            break;
        }
    }
    return 0;
}

int tk_pool_run(size_t workers, size_t tasks, tk_pool_body body, void *context, int isa_level) {
    if (workers <= 1 || tasks <= 1) {
        for (size_t t = 0; t < tasks; t++) body(context, 0, t);
        return 1;
    }
    if (inside || pthread_mutex_trylock(&run_lock) != 0) return 0;
    unsigned helpers = (unsigned)((workers < tasks ? workers : tasks) - 1);
    if (helpers > MAX_THREADS) helpers = MAX_THREADS;
    uint64_t g = generation(atomic_load(&state)) + 1;
    while (threads < helpers) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&t, &attr, pool_thread, (void *)(uintptr_t)(g - 1));
        pthread_attr_destroy(&attr);
        if (failed) break;
        threads++;
    }
    if (helpers > threads) helpers = threads;
    job.body = body;
    job.context = context;
    job.tasks = tasks;
    job.level = isa_level;
    atomic_store_explicit(&next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    // Sequentially consistent with the sleepers' count: either a thread about to sleep sees
    // the open region, or this caller sees it counted and wakes it.
    atomic_store(&state, g << 32 | (uint64_t)helpers << 8);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside = 1;
    run_tasks(0);
    inside = 0;
    uint64_t s = atomic_fetch_or(&state, CLOSED);
    while (atomic_load_explicit(&finished, memory_order_acquire) < joined(s)) pause_cpu();
    pthread_mutex_unlock(&run_lock);
    return 1;
}
