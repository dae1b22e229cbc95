/* The loss log of a training run: RUN_DIR/losses.tsv, one row per iteration
 * ("iter", "seconds", then one column per loss term named as
 * nlcl_loss_name); the nlcl command draws losses.png from it.
 * A new log has a column for every term; a resumed log keeps the columns of
 * its header, so a run started by an older nlcl (without the eroded, synth or
 * colour columns) goes on with its own columns. */
#ifndef NLCL_TRAIN_LOSSLOG_H
#define NLCL_TRAIN_LOSSLOG_H

#include <stdint.h>
#include <stdio.h>

#include "nlcl/status.h"
#include "nlcl/train.h"

typedef struct nlcl_loss_log {
    char *path;
    FILE *fp;                             /* appending while training */
    int ncols;                            /* term columns of the file */
    nlcl_loss_term cols[NLCL_LOSS_COUNT]; /* the term of each column */
    int has_last;                         /* a row was read or written */
    double last[NLCL_LOSS_COUNT];         /* its values, per column */
} nlcl_loss_log;

/* Start a new log at path (a header of every term), open for appending.
 * Errors: IO, NOMEM. */
nlcl_status nlcl_loss_log_create(nlcl_loss_log *lg, const char *path);
/* Resume the log at path: keep its header and the rows of iterations up to
 * `upto` (rewritten atomically), open for appending. A missing file starts a new log. Errors: FORMAT for a header
 * naming an unknown term, IO, NOMEM. */
nlcl_status nlcl_loss_log_resume(nlcl_loss_log *lg, const char *path, int64_t upto);
/* Append the row of iteration it (seconds: wall time of this run). */
void nlcl_loss_log_add(nlcl_loss_log *lg, int64_t it, double seconds, const nlcl_losses *L);
/* The losses of the last row (terms without a column are 0); 0 if there is
 * no row. */
int nlcl_loss_log_last(const nlcl_loss_log *lg, nlcl_losses *out);
/* Close the file (lg may be zeroed). */
void nlcl_loss_log_free(nlcl_loss_log *lg);

#endif
