/* Internal view of the trainer: for the checkpoints (src/train/checkpoint.c)
 * and for the tests that check each loss term and every gradient against the
 * PyTorch reference (tests/test_train_torch.c). */
#ifndef NLCL_TRAIN_TRAINER_H
#define NLCL_TRAIN_TRAINER_H

#include "nlcl/model.h"
#include "nlcl/train.h"
#include "nlcl/weights.h"
#include "nn/discriminator.h"
#include "nn/generator.h"
#include "nn/heads.h"

/* Network names used as tensor-name prefixes in checkpoints and fixtures. */
typedef enum nlcl_net_id {
    NLCL_NET_GB = 0, NLCL_NET_GR, NLCL_NET_D, NLCL_NET_HLOC, NLCL_NET_HB, NLCL_NET_HR,
    NLCL_NET_GKEY, NLCL_NET_HKEY, NLCL_NET_GEMA, NLCL_NET_COUNT
} nlcl_net_id;
extern const char *const nlcl_net_names[NLCL_NET_COUNT]; /* "G_B", "G_R", "D", "H_loc", ..., "G_ema" */

/* The parameter table of a network (NULL if this configuration has none);
 * read-only through a const trainer. */
const nlcl_params *nlcl_trainer_params_const(const nlcl_trainer *t, nlcl_net_id id);
static inline nlcl_params *nlcl_trainer_params(nlcl_trainer *t, nlcl_net_id id) {
    return (nlcl_params *)nlcl_trainer_params_const(t, id); /* t is not const here */
}
/* The trainer of one rank of a data-parallel run (comm with size > 1,
 * include/nlcl/train.h): its buffers hold its share of cfg->batch (which the
 * ranks must divide: INVALID_ARG), nlcl_trainer_step still takes the whole
 * batch and computes the share, drawing what a single process draws for
 * those images, and averages the losses and gradients over the ranks before
 * each Adam step (src/train/dist.h). comm NULL: nlcl_trainer_create. */
nlcl_status nlcl_trainer_create_shared(const nlcl_train_config *cfg, const nlcl_train_comm *comm,
                                       nlcl_trainer **out);
/* With several ranks, a stop request (*stop non-zero) that any rank has
 * when they agree after the D step's gradients ends that iteration before
 * any weight changes: NLCL_ERR_INTERRUPTED. */
void nlcl_trainer_set_stop(nlcl_trainer *t, volatile sig_atomic_t *stop);
/* 1 when the weights are those of the last completed iteration: after a
 * step that succeeded, or that failed before D's Adam step. */
int nlcl_trainer_intact(const nlcl_trainer *t);

/* What nlcl_trainer_save writes, into d; with refresh, d already holds
 * this trainer's checkpoint dict and only its values (tensors, iteration,
 * RNG state, convolution algorithms) are brought up to date, without
 * allocating tensors. */
nlcl_status nlcl_trainer_checkpoint_dict(const nlcl_trainer *t, nlcl_tensor_dict *d, int refresh);

/* The run's own record (metadata only: training_command, training_data,
 * training_images), set by the driver (run.c) and written into every
 * checkpoint, so that a model taken from one (nlcl_model_load_role, nlcl
 * convert CHECKPOINT) keeps it. Empty for a bare trainer. */
nlcl_tensor_dict *nlcl_trainer_run_meta(nlcl_trainer *t);
const nlcl_tensor_dict *nlcl_trainer_run_meta_const(const nlcl_trainer *t);

/* Whether a network is trained by Adam (has gradients and moments); the key
 * encoder (G_key, H_key) follows G_B and H_loc by EMA instead. */
static inline int nlcl_net_trainable(nlcl_net_id id) {
    return id != NLCL_NET_GKEY && id != NLCL_NET_HKEY && id != NLCL_NET_GEMA;
}
/* The configuration the trainer was made with, its taps resolved
 * (nlcl_train_config_taps). */
const nlcl_train_config *nlcl_trainer_config(const nlcl_trainer *t);
/* Whether network id is trained by Adam in this trainer's configuration
 * (frozen layer-contrast heads, --layer-head-update frozen, are not: no
 * gradients, no moments). */
static inline int nlcl_trainer_steps(const nlcl_trainer *t, nlcl_net_id id) {
    if ((id == NLCL_NET_HB || id == NLCL_NET_HR) && nlcl_trainer_config(t)->layer_head_frozen) return 0;
    return nlcl_net_trainable(id);
}
/* Set the iteration count (loading a checkpoint). */
void nlcl_trainer_set_iteration(nlcl_trainer *t, int64_t iter);
/* Make the generator plans again (after the convolution algorithms changed,
 * e.g. to those a checkpoint recorded). */
nlcl_status nlcl_trainer_replan(nlcl_trainer *t);
/* Learning rate of iteration `it` (1-based): constant, then linear decay to 0
 * over the last decay_iters iterations. */
double nlcl_trainer_lr(const nlcl_trainer *t, int64_t it);

/* Injected sample locations (tests): flattened ids as in docs/TRAINING.md,
 * loc_O and loc_B (batch, N), layer_B (batch, N_B), layer_R (batch, N_R).
 * NULL arrays are drawn as usual. The pointers must stay valid. */
void nlcl_trainer_inject_ids(nlcl_trainer *t, const int32_t *loc_O, const int32_t *loc_B,
                             const int32_t *layer_B, const int32_t *layer_R);

/* The pieces of one iteration, for tests:
 * forward: pred_B = G_B(O), pred_R = G_R(O), idt = G_B(B) (kept);
 * d_grads: zero D's gradients, add dL_D/dD (no step), return L_D;
 * g_grads: zero the G-side gradients, add dL_G/d(G_B, G_R, heads) with D as it
 *          is now (no step), fill the losses. */
nlcl_status nlcl_trainer_forward(nlcl_trainer *t, const float *O, const float *B);
nlcl_status nlcl_trainer_d_grads(nlcl_trainer *t, double *loss_d);
nlcl_status nlcl_trainer_g_grads(nlcl_trainer *t, nlcl_losses *out);
/* Outputs of the last forward: (batch, 3, crop, crop). */
const float *nlcl_trainer_pred_B(const nlcl_trainer *t);
const float *nlcl_trainer_pred_R(const nlcl_trainer *t);
const float *nlcl_trainer_idt(const nlcl_trainer *t);

/* G_B ("G_B") or G_R ("G_R") with its current weights as a model for
 * nlcl_model_run (validation), with the given metadata pairs. */
nlcl_status nlcl_trainer_model(const nlcl_trainer *t, const char *which, const char *const *keys,
                               const char *const *values, int nmeta, nlcl_model **out);

#endif
