/* What a resumed training job checks in its run folder before any image is
 * read (include/nlcl/train.h, nlcl_train_run), and the job's messages. */
#ifndef NLCL_TRAIN_RESUME_H
#define NLCL_TRAIN_RESUME_H

#include "nlcl/status.h"
#include "nlcl/train.h"

/* config.txt of the run (path cfgp) must hold the same value for every
 * option that c describes (nlcl_train_config_describe), and no option that c
 * does not describe, except that iters may be larger (the run is extended;
 * *run_iters is the run's recorded iters, c->iters when the same). A missing
 * file is left to the checkpoint's own check. Errors: INVALID_ARG listing
 * every difference at once ("'lr 0.0001' there, 'lr 0.0003' here; ...");
 * NOMEM. */
nlcl_status nlcl_resume_check_config(const char *cfgp, const char *run_dir,
                                     const nlcl_train_config *c, int64_t *run_iters);
/* An extended run: config.txt's iters line becomes `iters` (written
 * atomically), so that a later --resume with only --out continues to it.
 * Errors: IO. */
nlcl_status nlcl_resume_extend_config(const char *cfgp, int64_t iters);
/* The folders validation.tsv was made with ("# rainy DIR", "# clean DIR")
 * must be this job's (INVALID_ARG); without validation in this job, a
 * warning that the record stops at its last iteration. */
nlcl_status nlcl_resume_check_validation(const nlcl_train_job *job);

/* Pass a formatted message to job->message, if any. */
void nlcl_train_say(const nlcl_train_job *job, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
