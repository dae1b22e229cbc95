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
#include "nn/gen_store.h"
#include "nn/params.h"

#define NLCL_GEN_MAX_BLOCKS 64
#define NLCL_GEN_MAX_CHANNELS 512

typedef struct nlcl_gen_cfg {
    int channels; /* C, 1..512 */
    int blocks;   /* K, 0..64 */
    int residual; /* 0: out = G(in) (the reference); 1: out = in + G(in), an
                     nlcl option (metadata "residual": "1"): the reference's
                     sandwich instance norm removes each image's global
                     brightness and contrast, which a residual output keeps */
    int bf16;     /* how it computes, not what it is (never saved): the C->C
                     convolutions multiply in bfloat16 (ops/conv_bf16.h) */
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
 * generators, section 1.3); with residual, the last conv starts at zero so
 * that the generator starts as the identity. */
void nlcl_gen_init_weights(nlcl_gen *g, nlcl_rng *r);
/* Infer (channels, blocks) from a state_dict's tensor names and shapes (and
 * residual from its "residual" metadata), then load it. Errors: FORMAT naming
 * the offending tensor. */
nlcl_status nlcl_gen_from_dict(nlcl_gen *g, const nlcl_tensor_dict *d, const char *what);

/* Weight/bias pointers of conv number k in forward order (0..num_convs-1). */
int nlcl_gen_conv_param(const nlcl_gen *g, int k);

/* ---- inference: three activation buffers of (C, h, w), nothing kept */
typedef struct nlcl_gen_infer {
    int h, w;
    nlcl_conv2d_plan *p_in, *p_mid, *p_out;
    nlcl_conv2d_plan *p_last; /* bf16 only: the last C->C convolution (float32 out) */
    nlcl_layout layout; /* of x, t, u, xb: BLOCKED, or NHWC for bf16 on AMX */
    float *x, *t, *u;   /* (1, C, h, w); with bf16, t and u hold bfloat16 but u's last */
    uint16_t *xb;       /* bf16 only: the C->C convolutions' input, (1, C, h, w) */
    size_t bytes;     /* bytes held by the buffers */
    int (*progress)(void *ctx, int done, int total); /* optional, see model.h */
    void *progress_ctx;
} nlcl_gen_infer;

/* Prepare (or re-prepare, when the size changes) the workspace for an h x w
 * image. Errors: INVALID_ARG (size < 1), NOMEM, INTERNAL. */
nlcl_status nlcl_gen_infer_prepare(nlcl_gen_infer *ws, const nlcl_gen *g, int h, int w);
/* out (1, 3, h, w) = G(in (1, 3, h, w)); in and out NCHW, may not alias. */
nlcl_status nlcl_gen_infer_run(nlcl_gen_infer *ws, const nlcl_gen *g, const float *in, float *out);
void nlcl_gen_infer_free(nlcl_gen_infer *ws);

/* ---- inference in bands of rows (gen_bands.c): nlcl_model_run's path for
 * images whose activations exceed the memory limit. Bit-identical to
 * nlcl_gen_infer_run (the whole-image path) for any band height; the three
 * activations live in memory, or, when they exceed memory_limit, in
 * unlinked temporary files of scratch_dir (then memory holds only a few
 * bands). */
typedef struct nlcl_gen_band_opts {
    size_t memory_limit;     /* bytes of activations kept in memory; 0 = no limit */
    const char *scratch_dir; /* temporary files (NULL: /tmp) */
    int band_rows;           /* rows per band, rounded up to the statistics chunk; 0 = automatic */
} nlcl_gen_band_opts;

typedef struct nlcl_progress_keep {
    int (*fn)(void *ctx, int done, int total);
    void *ctx;
} nlcl_progress_keep;

typedef struct nlcl_gen_bands {
    int h, w, C, B, cb;       /* image, channels, lanes, channel blocks */
    int R, req_rows;          /* rows per band (actual, requested) */
    int streaming;            /* activations in temporary files (of dir) */
    char *dir;
    int chunk_rows, nch;      /* instance-norm statistics chunks (norm_internal.h) */
    nlcl_conv2d_plan *plans[3][4]; /* (in, mid, out) x band kind (middle, top, bottom, whole) */
    nlcl_store X, T, U;       /* residual stream, first and second conv outputs */
    int bf16;                 /* C->C convolutions in bfloat16 (g->cfg.bf16) */
    float *inb, *outb;        /* convolution input (R+2 rows) and output bands */
    uint16_t *inb16;          /* bf16: the input band converted */
    float *st1, *st2;         /* staging for rows read from files */
    double *part;             /* partial sums (cb, nch, 2, B) */
    float *stats;             /* shift, mean/rstd of t, mean/rstd of u: 5 x cb*B */
    size_t bytes;             /* memory held */
    int (*progress)(void *ctx, int done, int total);
    void *progress_ctx;
} nlcl_gen_bands;

/* Prepare for an h x w image (again only when something changed). Errors:
 * INVALID_ARG, NOMEM, INTERNAL, IO and LIMIT (temporary files: folder not
 * writable, not enough free space). */
nlcl_status nlcl_gen_bands_prepare(nlcl_gen_bands *b, const nlcl_gen *g, int h, int w,
                                   const nlcl_gen_band_opts *o);
/* out (1, 3, h, w) = G(in (1, 3, h, w)), NCHW, not aliasing. Errors: IO and
 * LIMIT (streaming), INTERRUPTED, INTERNAL. */
nlcl_status nlcl_gen_bands_run(nlcl_gen_bands *b, const nlcl_gen *g, const float *in, float *out);
void nlcl_gen_bands_free(nlcl_gen_bands *b);
/* Bytes of the three activations of an h x w image in memory. */
size_t nlcl_gen_bands_activation_bytes(int channels, int h, int w);

/* ---- training: a forward pass that keeps what its backward pass needs.
 *
 * A record holds, for one input batch (n, 3, h, w):
 *   x[0] = gen.0 output, x[i] = output of res-block i (1 <= i <= upto), all
 *   blocked (n, C, h, w) — the feature taps of the location contrast;
 *   per block the two conv outputs before instance norm and their statistics
 *   (the ReLU(IN(.)) between them is recomputed in backward);
 *   when `full`, the sandwich and the output (n, 3, h, w) NCHW.
 * An encoder-only record (full = 0) stops after block `upto`. Memory is
 * allocated once by nlcl_gen_record_init and reused by every forward. */
typedef struct nlcl_gen_plans {
    int n, h, w;
    nlcl_conv2d_plan *p_in, *p_mid, *p_out;
    float *tmp; /* one blocked activation of scratch for forward passes */
    int records; /* the full records the caller said it holds (nlcl_gen_plans_init) */
} nlcl_gen_plans;

/* The training plans and scratch for batches of n crops of h x w, for a
 * caller that will hold `records` full records of this size (1 or more).
 * Errors: NOMEM naming the sizes when those records (nlcl_gen_record_bytes)
 * exceed the machine's physical memory: such a run could not train, and
 * would be killed by the system once it touched the memory; others as
 * nlcl_conv2d_plan_create. */
nlcl_status nlcl_gen_plans_init(nlcl_gen_plans *pl, const nlcl_gen_cfg *cfg, int n, int h, int w,
                                int records);
/* Bytes nlcl_gen_record_init allocates for these arguments. */
double nlcl_gen_record_bytes(const nlcl_gen_cfg *cfg, int n, int h, int w, int upto, int full);
void nlcl_gen_plans_free(nlcl_gen_plans *pl);

typedef struct nlcl_gen_record {
    int n, h, w, C, upto, full;
    size_t act;                    /* floats per blocked activation */
    const float *in;               /* (n, 3, h, w), not owned */
    float *x[NLCL_GEN_MAX_BLOCKS + 1];
    float *ua[NLCL_GEN_MAX_BLOCKS], *ub[NLCL_GEN_MAX_BLOCKS];
    float *stats;                  /* mean/rstd pairs, (2K + 1) * 2 * n * C */
    float *us, *v;                 /* sandwich conv outputs (full only) */
    float *out;                    /* (n, 3, h, w) NCHW (full only) */
} nlcl_gen_record;

nlcl_status nlcl_gen_record_init(nlcl_gen_record *r, const nlcl_gen_cfg *cfg, int n, int h, int w,
                                 int upto, int full);
void nlcl_gen_record_free(nlcl_gen_record *r);
/* Run the forward pass into the record; in (n, 3, h, w) must stay alive until
 * backward. */
nlcl_status nlcl_gen_forward(const nlcl_gen *g, nlcl_gen_plans *pl, nlcl_gen_record *r,
                             const float *in);

/* Sparse gradient arriving at a feature tap: for each image b, rows
 * drows[(b*k + i)*C + c] are added at flattened positions ids[b*k + i] of x[xi]. */
typedef struct nlcl_gen_tap_grad {
    int xi, k;
    const int32_t *ids; /* (n, k) */
    const float *drows; /* (n, k, C) */
} nlcl_gen_tap_grad;

/* Scratch shared by backward passes of one shape: three blocked activations. */
typedef struct nlcl_gen_bwd_ws {
    size_t act;
    float *dx, *du, *t;
} nlcl_gen_bwd_ws;
nlcl_status nlcl_gen_bwd_ws_init(nlcl_gen_bwd_ws *ws, const nlcl_gen_cfg *cfg, int n, int h, int w);
void nlcl_gen_bwd_ws_free(nlcl_gen_bwd_ws *ws);

/* Set to 0 the gradients of the biases of the convolutions that instance
 * norm follows (both of each residual block and the first of the
 * conv-IN-ReLU-conv sandwich). Their exact gradient is 0: IN subtracts each
 * channel's mean, so a constant added to a channel changes nothing. Computed,
 * it is rounding noise, which Adam (dividing by its size) would turn into
 * steps of up to the learning rate with a random sign: a random walk that
 * makes runs differ with the order of every sum (docs/TRAINING.md). */
void nlcl_gen_zero_normed_bias_grads(nlcl_gen *g);

/* Backward pass of a record. d_out (n, 3, h, w) is dL/d(output) (full records
 * only; NULL = none); taps are sparse tap gradients (ntaps may be 0).
 * Parameter gradients are ADDED into g->params.grad when it is allocated and
 * param_grads is 1; d_in (n, 3, h, w), if not NULL, receives += dL/d(input). */
nlcl_status nlcl_gen_backward(nlcl_gen *g, nlcl_gen_plans *pl, const nlcl_gen_record *r,
                              nlcl_gen_bwd_ws *ws, const float *d_out,
                              const nlcl_gen_tap_grad *taps, int ntaps, float *d_in,
                              int param_grads);

#endif
