/* Parameter tables: every network keeps its parameters in one flat float
 * block, with gradients and both Adam moments in blocks of the same layout
 * (llm.c style), so the optimiser is one loop and checkpoints are four
 * memcpy's. Each tensor has its PyTorch state_dict name. */
#ifndef NLCL_NN_PARAMS_H
#define NLCL_NN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/rng.h"
#include "nlcl/status.h"
#include "nlcl/weights.h"

#define NLCL_PARAM_NAME 64

typedef struct nlcl_param {
    char name[NLCL_PARAM_NAME];
    int ndim;
    int64_t shape[4];
    size_t offset, numel;
} nlcl_param;

typedef struct nlcl_params {
    nlcl_param *p;
    int count, cap;
    size_t total;       /* floats */
    float *data;        /* (total) */
    float *grad;        /* (total) or NULL until nlcl_params_alloc_training */
    float *adam_m, *adam_v;
    nlcl_status err;    /* a failed declare (NOMEM or INTERNAL), reported by _alloc */
} nlcl_params;

/* Declare a tensor (before nlcl_params_alloc); returns its index, or -1 when
 * it fails (out of memory; or 1 to 4 dimensions, a name shorter than
 * NLCL_PARAM_NAME, before _alloc, not respected): then this and every later
 * declare do nothing and nlcl_params_alloc returns the error. */
int nlcl_params_declare(nlcl_params *ps, const char *name, int ndim, const int64_t *shape);
/* Allocate data (zeroed). */
nlcl_status nlcl_params_alloc(nlcl_params *ps);
/* Allocate grad and Adam moments (zeroed). */
nlcl_status nlcl_params_alloc_training(nlcl_params *ps);
void nlcl_params_free(nlcl_params *ps);
static inline float *nlcl_params_at(const nlcl_params *ps, int i) { return ps->data + ps->p[i].offset; }
static inline float *nlcl_params_grad_at(const nlcl_params *ps, int i) {
    return ps->grad ? ps->grad + ps->p[i].offset : NULL;
}
/* Index of a tensor by name, or -1. */
int nlcl_params_find(const nlcl_params *ps, const char *name);

/* Copy every declared tensor from a dict, which must hold exactly these names
 * with exactly these shapes (extra or missing names are errors naming the
 * first offender). `what` names the source in messages. */
nlcl_status nlcl_params_from_dict(nlcl_params *ps, const nlcl_tensor_dict *d, const char *what);
/* Append all tensors (with prefix, may be "") to a dict. */
nlcl_status nlcl_params_to_dict(const nlcl_params *ps, const char *prefix, nlcl_tensor_dict *d);
/* Same, for a role block (e.g. adam_m) under prefix. */
nlcl_status nlcl_params_block_to_dict(const nlcl_params *ps, const float *block,
                                      const char *prefix, nlcl_tensor_dict *d);
/* Load a role block from dict entries "<prefix><name>". */
nlcl_status nlcl_params_block_from_dict(const nlcl_params *ps, float *block, const char *prefix,
                                        const nlcl_tensor_dict *d, const char *what);

/* Initialisations (reference section 1.3):
 * PyTorch's default Conv2d/Linear init: weight, bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void nlcl_init_torch_default(float *w, float *b, size_t nw, size_t nb, size_t fan_in, nlcl_rng *r);
/* CUT's xavier normal with gain 0.02: weight ~ N(0, (0.02*sqrt(2/(fan_in+fan_out)))^2), bias 0. */
void nlcl_init_xavier_normal(float *w, float *b, size_t nw, size_t nb, size_t fan_in,
                             size_t fan_out, float gain, nlcl_rng *r);

#endif
