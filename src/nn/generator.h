/* The NLCL generator (G_B and G_R share the architecture), reference
 * section 5.1:
 *     gen.0       Conv3x3 3->C, zero pad 1, bias
 *     gen.1..K    ResBlock(C): x + IN(Conv3x3(ReLU(IN(Conv3x3(x)))))
 *     gen.K+1     IN-ReLU sandwich: Conv3x3 -> IN -> ReLU -> Conv3x3 (no residual)
 *     gen.K+2     Conv3x3 C->3, bias (no tanh)
 * at full resolution, C = 32 and K = 16 in the released model (316,195
 * parameters, 20.65 GMAC per 256x256 forward). IN is instance norm without
 * affine, biased variance, eps 1e-5. Tensor names follow the official
 * state_dict ("gen.0.weight", "gen.1.model.0.conv.weight", ...,
 * "gen.17.conv.0.weight", "gen.17.conv.3.weight", "gen.18.bias").
 *
 * Activations between layers stay in oneDNN's blocked layout (conv.h); the
 * image in and out are NCHW (n, 3, h, w) in [-1, 1] (output unclamped).
 */
#ifndef NLCL_NN_GENERATOR_H
#define NLCL_NN_GENERATOR_H

#include "nlcl/conv.h"
#include "nlcl/rng.h"
#include "nlcl/status.h"
#include "nlcl/weights.h"
#include "nn/params.h"

#define NLCL_GEN_MAX_BLOCKS 64
#define NLCL_GEN_MAX_CHANNELS 512

typedef struct nlcl_gen_cfg {
    int channels; /* C, 1..512 */
    int blocks;   /* K, 0..64 */
} nlcl_gen_cfg;

/* Index of each conv's weight in the parameter table; bias is weight + 1. */
typedef struct nlcl_gen {
    nlcl_gen_cfg cfg;
    nlcl_params params;
    int conv_in;                       /* gen.0 */
    int block[NLCL_GEN_MAX_BLOCKS][2]; /* gen.i.model.{0,1}.conv */
    int sandwich[2];                   /* gen.K+1.conv.{0,3} */
    int conv_out;                      /* gen.K+2 */
} nlcl_gen;

/* Number of convolutions: 1 + 2K + 2 + 1. */
static inline int nlcl_gen_num_convs(const nlcl_gen_cfg *c) { return 2 * c->blocks + 4; }

/* Declare and allocate the parameters (zeroed). Errors: INVALID_ARG for a bad
 * configuration, NOMEM. */
nlcl_status nlcl_gen_init(nlcl_gen *g, nlcl_gen_cfg cfg);
void nlcl_gen_free(nlcl_gen *g);
/* PyTorch's default Conv2d init (the reference does not re-initialise the
 * generators, section 1.3). */
void nlcl_gen_init_weights(nlcl_gen *g, nlcl_rng *r);
/* Infer (channels, blocks) from a state_dict's tensor names and shapes, then
 * load it. Errors: FORMAT naming the offending tensor. */
nlcl_status nlcl_gen_from_dict(nlcl_gen *g, const nlcl_tensor_dict *d, const char *what);

/* Weight/bias pointers of conv number k in forward order (0..num_convs-1). */
int nlcl_gen_conv_param(const nlcl_gen *g, int k);

/* ---- inference: three activation buffers of (C, h, w), nothing kept */
typedef struct nlcl_gen_infer {
    int h, w;
    nlcl_conv2d_plan *p_in, *p_mid, *p_out;
    float *x, *t, *u; /* (1, C, h, w) blocked */
    size_t bytes;     /* bytes held by the three buffers */
    int (*progress)(void *ctx, int done, int total); /* optional, see model.h */
    void *progress_ctx;
} nlcl_gen_infer;

/* Prepare (or re-prepare, when the size changes) the workspace for an h x w
 * image. Errors: INVALID_ARG (size < 1), NOMEM, INTERNAL. */
nlcl_status nlcl_gen_infer_prepare(nlcl_gen_infer *ws, const nlcl_gen *g, int h, int w);
/* out (1, 3, h, w) = G(in (1, 3, h, w)); in and out NCHW, may not alias. */
nlcl_status nlcl_gen_infer_run(nlcl_gen_infer *ws, const nlcl_gen *g, const float *in, float *out);
void nlcl_gen_infer_free(nlcl_gen_infer *ws);

#endif
