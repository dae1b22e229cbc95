/* CUT's PatchGAN discriminator, anti-aliased, 3 layers, instance norm
 * (reference section 3), state_dict names "model.{0,3,7,11,14}.{weight,bias}":
 *     model.0   Conv4x4 3->ndf, pad 1, bias         -> LReLU(0.2) -> Downsample
 *     model.3   Conv4x4 ndf->2ndf, pad 1             -> IN -> LReLU -> Downsample
 *     model.7   Conv4x4 2ndf->4ndf, pad 1            -> IN -> LReLU -> Downsample
 *     model.11  Conv4x4 4ndf->8ndf, pad 1            -> IN -> LReLU
 *     model.14  Conv4x4 8ndf->1, pad 1 (no sigmoid: LSGAN)
 * Downsample = reflection pad 1 + [1,2,1]x[1,2,1]/16 blur, stride 2 (ops.h).
 * For a 256x256 input: 255, 128, 127, 64, 63, 32, 31, 30 (output 1x30x30).
 * Minimum input 32x32 (output 2x2).
 * Feature taps for the layer contrast (reference 5.5): [input image,
 * LReLU(conv0(x)), conv3 output before IN, conv7 output before IN]. */
#ifndef NLCL_NN_DISCRIMINATOR_H
#define NLCL_NN_DISCRIMINATOR_H

#include "nlcl/conv.h"
#include "nlcl/rng.h"
#include "nlcl/status.h"
#include "nn/params.h"

#define NLCL_DISC_NTAPS 4
#define NLCL_DISC_MIN_SIZE 32

typedef struct nlcl_disc {
    int ndf;
    nlcl_params params;
    int conv[5]; /* weight index of model.0, 3, 7, 11, 14 (bias = +1) */
} nlcl_disc;

nlcl_status nlcl_disc_init(nlcl_disc *d, int ndf);
void nlcl_disc_free(nlcl_disc *d);
/* xavier normal gain 0.02, bias 0 (reference 1.3). */
void nlcl_disc_init_weights(nlcl_disc *d, nlcl_rng *r);

/* Spatial size of every stage for an h x w input; 0 if the input is too small. */
typedef struct nlcl_disc_geom {
    int h[8], w[8]; /* input, conv0, down0, conv3, down3, conv7, down7, conv11, (conv14 in out_h) */
    int out_h, out_w;
} nlcl_disc_geom;
int nlcl_disc_geometry(int h, int w, nlcl_disc_geom *g);

/* Record of one pass over a batch (n, 3, h, w); `full` = 0 stops after the
 * conv7 tap (encoder only). */
typedef struct nlcl_disc_record {
    int n, h, w, full, ndf;
    nlcl_disc_geom geo;
    nlcl_conv2d_plan *plan[5];
    const float *in;  /* (n, 3, h, w) NCHW, not owned */
    float *h0;        /* LReLU(conv0)      (n, ndf, H1, W1)   blocked  [tap 1] */
    float *p0;        /* Downsample(h0)    (n, ndf, H2, W2) */
    float *a3, *h3, *p3; /* conv3 out [tap 2], LReLU(IN), Downsample */
    float *a7, *h7, *p7; /* conv7 out [tap 3] ... (h7, p7 full only) */
    float *a11, *h11;    /* full only */
    float *out;          /* (n, 1, oh, ow) NCHW, full only */
    float *stats;        /* mean/rstd of the three INs, 3 * 2 * n * 8ndf */
    /* backward scratch */
    float *g_a, *g_b;    /* two buffers of the largest activation */
} nlcl_disc_record;

nlcl_status nlcl_disc_record_init(nlcl_disc_record *r, int ndf, int n, int h, int w, int full);
void nlcl_disc_record_free(nlcl_disc_record *r);
nlcl_status nlcl_disc_forward(const nlcl_disc *d, nlcl_disc_record *r, const float *in);
/* Tap t (0..3): pointer, channels, height, width, layout. */
void nlcl_disc_tap(const nlcl_disc_record *r, int t, const float **x, int *c, int *h, int *w,
                   nlcl_layout *layout);

/* Sparse tap gradient: rows (n, k, C_t) added at flattened ids (n, k) of tap t. */
typedef struct nlcl_disc_tap_grad {
    int tap, k;
    const int32_t *ids;
    const float *drows;
} nlcl_disc_tap_grad;

/* Set to 0 the gradients of the biases of model.3, model.7 and model.11,
 * which instance norm follows: exactly 0, computed as rounding noise (see
 * nlcl_gen_zero_normed_bias_grads). */
void nlcl_disc_zero_normed_bias_grads(nlcl_disc *d);

/* Backward: d_out (n, 1, oh, ow) (full records; NULL = none) and sparse tap
 * gradients. Weight gradients are added to d->params.grad when param_grads;
 * d_in (n, 3, h, w) += dL/d(input) when not NULL. */
nlcl_status nlcl_disc_backward(nlcl_disc *d, nlcl_disc_record *r, const float *d_out,
                               const nlcl_disc_tap_grad *taps, int ntaps, float *d_in,
                               int param_grads);

#endif
