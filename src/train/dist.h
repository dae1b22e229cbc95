/* Data parallelism over an nlcl_train_comm (include/nlcl/train.h,
 * docs/SCALING.md): agreement between the ranks, means over them, and what
 * rank 0 sends the others at the start (the trainer's state, the
 * convolution algorithms). Every function is for one process (comm NULL or
 * size 1) a no-op that returns its input. A failed collective is
 * NLCL_ERR_IO ("communication between the ranks failed"): the ranks
 * may then disagree, and the caller ends them (the nlcl command: MPI_Abort). */
#ifndef NLCL_TRAIN_DIST_H
#define NLCL_TRAIN_DIST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "nlcl/status.h"
#include "nlcl/train.h"
#include "train/data.h"
#include "train/trainer.h"

/* Whether comm makes several ranks. */
int nlcl_dist_on(const nlcl_train_comm *comm);

/* Agree on every rank's state: its status s and its stop request *stop.
 * Returns s when this rank failed; NLCL_ERR_INTERRUPTED, with the message
 * "rank K failed <where> (its message says why); every rank stops",
 * when another one did (K the first of them); NLCL_OK otherwise, with *stop
 * set when any rank asked to stop (stop may be NULL: none asks). */
nlcl_status nlcl_dist_agree(const nlcl_train_comm *comm, nlcl_status s, int *stop, const char *where);

/* INVALID_ARG unless the ranks divide the global batch (each takes an equal
 * share): "--batch B is not a multiple of the N ranks ...". */
nlcl_status nlcl_dist_check_batch(const nlcl_train_comm *comm, int batch);

/* Which networks' gradients a step averages over the ranks. */
typedef enum nlcl_dist_nets {
    NLCL_DIST_D,  /* D (the D step) */
    NLCL_DIST_G,  /* every trained network but D (the G step) */
    NLCL_DIST_GB  /* G_B alone (a warm-up step) */
} nlcl_dist_nets;
/* Half of a step of t on several ranks: agree on this rank's status s (and,
 * when stop is not NULL, on the stop requests: a stop is then
 * NLCL_ERR_INTERRUPTED "stopped in iteration K, before any weight
 * changed"), then replace *loss (unless NULL) and the gradients of `which`
 * by their means over the ranks: the whole batch's mean loss and its
 * gradient. Returns s when this rank failed (nlcl_dist_agree). */
nlcl_status nlcl_dist_share(const nlcl_train_comm *comm, nlcl_trainer *t, nlcl_status s,
                            volatile sig_atomic_t *stop, const char *where, double *loss,
                            nlcl_dist_nets which);
/* Replace every loss term of L by its mean over the ranks. */
nlcl_status nlcl_dist_mean_losses(const nlcl_train_comm *comm, nlcl_losses *L);

/* Replace n values by their mean over the ranks (sum, then / size). */
nlcl_status nlcl_dist_mean_f(const nlcl_train_comm *comm, float *v, size_t n);
nlcl_status nlcl_dist_mean_d(const nlcl_train_comm *comm, double *v, size_t n);

/* Rank 0's trainer state to the other ranks: every network's weights and
 * Adam moments, the iteration, and the convolution algorithms rank 0 uses
 * (its measured or resumed choices; the others make their plans again with
 * them), so every rank computes with the same numbers. */
nlcl_status nlcl_dist_share_trainer(const nlcl_train_comm *comm, nlcl_trainer *t);

/* The ranks must train on the same images: rank 0's counts and a
 * fingerprint of each set (names, sizes, a sample of pixels) against this
 * rank's. INVALID_ARG on a rank that differs ("rank K sees ..."). The
 * caller agrees on the result. */
nlcl_status nlcl_dist_check_data(const nlcl_train_comm *comm, const nlcl_dataset *rainy,
                                 const nlcl_dataset *clean);

#endif
