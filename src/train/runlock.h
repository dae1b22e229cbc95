/* One training per run folder: an exclusive flock(2) on RUN/nlcl.lock, held
 * for the run's life. The kernel releases it on every exit, a crash or
 * SIGKILL included, so a lock left by a killed run is never in the way: the
 * file's content (pid, host, start time) only says who held it. Not
 * installed. */
#ifndef NLCL_TRAIN_RUNLOCK_H
#define NLCL_TRAIN_RUNLOCK_H

#include "nlcl/status.h"

typedef struct nlcl_run_lock {
    int fd;      /* -1 when not held */
    char *path;  /* RUN/nlcl.lock */
    long stale_pid; /* > 0: the lock file named a run that ended without releasing it */
} nlcl_run_lock;

#define NLCL_RUN_LOCK_NAME "nlcl.lock"

/* Take the lock of run_dir (an existing folder). Nothing else in the folder
 * is read or written. Errors: IO ("RUN: another nlcl train (pid N on HOST,
 * started T) is using this run folder ..."; the folder cannot be written),
 * NOMEM. */
nlcl_status nlcl_run_lock_acquire(nlcl_run_lock *l, const char *run_dir);
/* Release (the file is emptied: the run ended normally); remove = 1 also
 * deletes it (a failed start that made the folder removes it again). */
void nlcl_run_lock_release(nlcl_run_lock *l, int remove);
/* Remove the temporary files of atomic writes ("NAME.tmp-XXXXXX", and the
 * loss plot's "losses.png.tmp-XXXXXX.png") that a killed run left in run_dir
 * and run_dir/samples. Call only while holding the lock: no other run writes
 * there then. Returns how many were removed. */
int nlcl_run_lock_sweep(const char *run_dir);

#endif
