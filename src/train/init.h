/* Starting a training run from another run's weights (nlcl train
 * --init-from; include/nlcl/train.h nlcl_trainer_init_from, docs/TRAINING.md
 * "Starting from another run"). The source is read once, checked against
 * the new run's configuration before any image is read (nlcl_init_open),
 * and put into the new trainer once it exists (nlcl_init_apply). The source
 * file is only ever read. */
#ifndef NLCL_TRAIN_INIT_H
#define NLCL_TRAIN_INIT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "nlcl/status.h"
#include "nlcl/train.h"
#include "nlcl/weights.h"

typedef struct nlcl_init_source {
    char *path;          /* as given, for messages */
    nlcl_tensor_dict d;  /* a checkpoint's tensors; a model file's generator as "G_B.<name>" */
    int checkpoint;      /* 1: an nlcl training checkpoint (format nlcl-checkpoint-1) */
    const char *config;  /* the checkpoint's configuration ("name value" lines, in d), or NULL */
    int64_t iteration;   /* the checkpoint's iteration (a model file: its "iterations" entry, or -1) */
    int keep;            /* 1: the iteration and Adam moments are taken (--init-continue) */
} nlcl_init_source;

/* Read path (an nlcl training checkpoint, or a model file holding a G_B:
 * nlcl's safetensors or a PyTorch .pth state_dict) and check it against c:
 * the networks' architecture (channels, blocks, residual, ndf, head_dim)
 * must be the same, and with keep (--init-continue) the file must be a
 * checkpoint with the same warmup, below c->iters, holding every network c
 * trains with Adam. Errors: IO, FORMAT, UNSUPPORTED of the file (naming it);
 * INVALID_ARG listing every difference at once ("'channels 16' there,
 * 'channels 32' here (--channels 16); ..."). *s is empty on failure. */
nlcl_status nlcl_init_open(nlcl_init_source *s, const char *path, const nlcl_train_config *c, int keep);
/* Put the source into t, a trainer made for the configuration s was
 * checked against and not yet stepped: each network the configuration uses
 * from the source's network of the same name (G_ema and the key encoder,
 * when the source has none, start as G_B and H_loc do), the others keep
 * their fresh initialisation; with s->keep also the Adam moments and the
 * iteration. The source's convolution algorithms are used (as on resume).
 * report (size bytes, may be NULL): what was taken, what starts fresh,
 * what is not used. Errors: INVALID_ARG (t already stepped), FORMAT (a
 * tensor missing or of another shape, naming it), INTERNAL. */
nlcl_status nlcl_init_apply(const nlcl_init_source *s, nlcl_trainer *t, char *report, size_t size);
void nlcl_init_close(nlcl_init_source *s);

/* In a training job (nlcl_train_run): job->init_from goes with a new run
 * only (not with resume), init_continue only with it, and the file must not
 * lie in the run folder, which the new run writes (its G_B-best.safetensors
 * of a run killed early is removed). Errors: INVALID_ARG. */
nlcl_status nlcl_init_check_job(const nlcl_train_job *job);
/* nlcl_init_apply, then say the report through job->message (not with
 * job->quiet), and free the source's tensors (its path and iteration stay
 * for nlcl_init_record). */
nlcl_status nlcl_init_start(nlcl_init_source *s, nlcl_trainer *t, const nlcl_train_job *job);
/* The lines config.txt records: "init_from PATH", "init_iteration N" (when
 * known), "init_continue 1" (with keep); nothing without a source. */
void nlcl_init_record(const nlcl_init_source *s, FILE *f);

#endif
