// Topiary's worker pool: the threads that run a parallel region of its own loops. Between
// regions they spin briefly before sleeping, so the ~100-200 short regions of a training
// step do not each pay a sleeping thread's wake-up (tens of microseconds, measured).
#ifndef TOPIARY_POOL_H
#define TOPIARY_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One task of a region: `task` < tasks, run by worker `worker` < workers (the caller is
/// worker 0); a worker runs its tasks one after another.
typedef void (*tk_pool_body)(void *context, size_t worker, size_t task);

/// Runs body(context, w, t) once for every task t < tasks, on up to `workers` threads (the
/// caller and workers - 1 pool threads), each claiming the next unclaimed task when it is
/// free; returns when every task has run. Pool threads run `isa_level`'s kernels
/// (tk_isa_set_thread_override). Returns 0 without running anything when the pool is running
/// another region (another caller, or a call from inside a task): run the region otherwise then.
int tk_pool_run(size_t workers, size_t tasks, tk_pool_body body, void *context, int isa_level);

#ifdef __cplusplus
}
#endif

#endif
