/* What a resumed training job checks in its run folder before any image is
 * read (include/nlcl/train.h, nlcl_train_run), and the job's messages. */
#ifndef NLCL_TRAIN_RESUME_H
#define NLCL_TRAIN_RESUME_H

#include <stdio.h>

#include "nlcl/status.h"
#include "nlcl/train.h"

/* config.txt of the run (path cfgp) must hold the same value for every
 * option that job->cfg describes (nlcl_train_config_describe), and no option
 * that it does not describe, except that iters may be larger (the run is
 * extended; *run_iters is the run's recorded iters, job->cfg.iters when the
 * same); its "rainy DIR" and "clean DIR" lines (nlcl_resume_write_data; none
 * in runs of earlier builds) must name the job's folders, in order (the same
 * name or the same folder). A missing file is left to the checkpoint's own
 * check. Errors: INVALID_ARG listing every difference at once ("'lr 0.0001'
 * there, 'lr 0.0003' here; 'rainy a' there, 'rainy b' here; ..."); NOMEM. */
nlcl_status nlcl_resume_check_config(const char *cfgp, const nlcl_train_job *job, int64_t *run_iters);
/* The job's data folders as config.txt records them: "rainy DIR" lines,
 * then "clean DIR" lines, in the job's order. */
void nlcl_resume_write_data(FILE *fp, const nlcl_train_job *job);
/* A resumed run, before its first iteration (it): config.txt's iters line
 * becomes `iters` (an extension, so that a later --resume with only --out
 * continues to it), and "resumed at iteration IT: COMMAND" is added with
 * the command line (none when NULL); written atomically. Errors: IO. */
nlcl_status nlcl_resume_record(const char *cfgp, int64_t iters, int64_t it, const char *command_line);
/* The "resumed at iteration IT: COMMAND" entries of config.txt without the
 * word "resumed", one per line, in order (malloc'ed); NULL when there are
 * none or config.txt cannot be read. *first gets the command line that
 * started the run (its "command" line, malloc'ed), or NULL. */
char *nlcl_resume_history(const char *cfgp, char **first);
/* Before anything is made: no folder of the job (run, data, validation) nor
 * its init_from file may have a line break (\n, \r) in its name, which
 * config.txt and validation.tsv, one entry per line, cannot record. Errors:
 * INVALID_ARG naming the folder or file (its line breaks shown as \n). */
nlcl_status nlcl_resume_check_names(const nlcl_train_job *job);
/* The folders validation.tsv was made with ("# rainy DIR", "# clean DIR")
 * must be this job's (INVALID_ARG); without validation in this job, a
 * warning that the record stops at its last iteration. */
nlcl_status nlcl_resume_check_validation(const nlcl_train_job *job);

/* For a new run (no --resume) in run_dir: refuse a folder that holds a
 * run's checkpoint.safetensors (--resume continues it) or its models
 * (G_B.safetensors, G_R.safetensors, G_B-best.safetensors, kept
 * checkpoint-ITER.safetensors), which the new run would replace. Errors:
 * INVALID_ARG naming the folder and the file. */
nlcl_status nlcl_resume_check_fresh(const char *run_dir);

/* Pass a formatted message to job->message, if any. */
void nlcl_train_say(const nlcl_train_job *job, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
