/* The stop guard of a data-parallel run's rank 0 (docs/SCALING.md,
 * "Stopping"). Under mpirun, Ctrl-C reaches the ranks as SIGCONT, then
 * SIGTERM, then SIGKILL, one second apart by default: too soon for the ranks
 * to finish an iteration and agree to stop. So rank 0 keeps a copy of a
 * consistent state, the checkpoint of the start of an iteration (refreshed
 * between iterations, at most every 10 seconds), and a thread watching the
 * stop flag writes it as the run's checkpoint within milliseconds of a stop
 * request. The ranks then stop together as usual, and rank 0 writes the
 * checkpoint of that iteration too if mpirun leaves it the time. The main
 * thread's own checkpoint writes go through the same lock, and the guard
 * never replaces a checkpoint with an older copy. */
#ifndef NLCL_TRAIN_GUARD_H
#define NLCL_TRAIN_GUARD_H

#include <signal.h>

#include "nlcl/status.h"
#include "nlcl/train.h"

typedef struct nlcl_stop_guard nlcl_stop_guard;

/* Start watching *flag (polled every 10 ms); the copy is made from t now.
 * ckpt is the checkpoint's path; job->message hears about a write. */
nlcl_status nlcl_stop_guard_start(nlcl_stop_guard **out, const nlcl_trainer *t, const char *ckpt,
                                  volatile sig_atomic_t *flag, const nlcl_train_job *job);
/* Bring the copy up to date with t (between iterations: t is consistent),
 * unless it is less than 10 seconds old. */
void nlcl_stop_guard_refresh(nlcl_stop_guard *g, const nlcl_trainer *t);
/* Hold off the guard's writes (around the main thread's checkpoint writes). */
void nlcl_stop_guard_lock(nlcl_stop_guard *g);
void nlcl_stop_guard_unlock(nlcl_stop_guard *g);
/* Between lock and unlock: the checkpoint file now holds iteration iter, so
 * the guard never writes its copy over it unless the copy is newer. */
void nlcl_stop_guard_saved(nlcl_stop_guard *g, int64_t iter);
/* Stop the thread and free; NULL is fine. */
void nlcl_stop_guard_end(nlcl_stop_guard *g);

#endif
