/* Projection heads of the contrastive losses (CUT's PatchSampleF MLP,
 * reference 4.1 / 5.4): for each feature tap t with C_t channels,
 *     z = normalize(Linear2(ReLU(Linear1(rows))))  Linear1: C_t -> D, Linear2: D -> D
 * with normalize(v) = v / (||v||_2 + 1e-7), D = 256. Names as the reference's
 * state_dict: "mlp_<t>.0.weight" (D, C_t), "mlp_<t>.0.bias", "mlp_<t>.2.weight"
 * (D, D), "mlp_<t>.2.bias". Initialised xavier normal gain 0.02, bias 0. */
#ifndef NLCL_NN_HEADS_H
#define NLCL_NN_HEADS_H

#include "nlcl/rng.h"
#include "nlcl/status.h"
#include "nn/params.h"

#define NLCL_HEADS_MAX 8
#define NLCL_HEAD_DIM 256

typedef struct nlcl_heads {
    int ntaps, dim;
    int cin[NLCL_HEADS_MAX];
    int w1[NLCL_HEADS_MAX], w2[NLCL_HEADS_MAX]; /* weight indices (bias = +1) */
    nlcl_params params;
} nlcl_heads;

nlcl_status nlcl_heads_init(nlcl_heads *h, int ntaps, const int *cin, int dim);
void nlcl_heads_free(nlcl_heads *h);
void nlcl_heads_init_weights(nlcl_heads *h, nlcl_rng *r);

/* One application of head t to m rows. */
typedef struct nlcl_head_record {
    int t, m, cap_m, cin, dim;
    float *rows; /* (m, cin) input, filled by the caller */
    float *h;    /* (m, dim) ReLU(Linear1) */
    float *z2;   /* (m, dim) Linear2 output */
    float *norm; /* (m) */
    float *z;    /* (m, dim) normalised output */
    float *drows;/* (m, cin) gradient w.r.t. rows (after backward) */
    float *tmp;  /* (m, dim) scratch */
} nlcl_head_record;

nlcl_status nlcl_head_record_init(nlcl_head_record *r, const nlcl_heads *hs, int t, int max_m);
void nlcl_head_record_free(nlcl_head_record *r);
/* z = head_t(rows) for the first m rows (m <= max_m). */
void nlcl_head_forward(const nlcl_heads *hs, nlcl_head_record *r, int m);
/* Given dz (m, dim), set r->drows = dL/drows (overwritten) and, when
 * param_grads and hs->params.grad exist, add the weight gradients. */
void nlcl_head_backward(nlcl_heads *hs, nlcl_head_record *r, const float *dz, int param_grads);

#endif
