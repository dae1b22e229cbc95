/* nlcl/ops.h - the tensor operations the NLCL networks and losses are built
 * from, each with its forward and backward pass (convolution is in conv.h).
 *
 * Conventions (llm.c style):
 *  - float32 tensors, PyTorch's NCHW semantics. Activation tensors may be
 *    stored in any layout of conv.h (NLCL_NCHW, NLCL_BLOCKED, NLCL_NHWC); an
 *    op that takes `layout` addresses element (n, c, y, x) at
 *        ((((n*G + c/L)*H + y)*W + x)*L + c%L,   L = nlcl_layout_lanes(layout, C)
 *    (1, nlcl_layout_block() or C), G = ceil(C/L). Padding lanes of blocked
 *    tensors are kept at zero.
 *  - Forward functions overwrite their outputs.
 *  - Backward functions ADD into gradient buffers (`dx += ...`), so a tensor
 *    used twice collects both contributions. A NULL gradient pointer means
 *    "not needed" and that work is skipped (PyTorch's detach /
 *    requires_grad=False).
 *  - Reductions (means, sums, norms) accumulate in double in fixed-size chunks
 *    combined in a fixed order, so results are bit-identical for any number
 *    of OpenMP threads.
 *  - Every op returns an nlcl_status (losses write their value to *loss).
 *    Errors: NLCL_ERR_INVALID_ARG, with the message "FUNCTION: problem"
 *    (nlcl_error_message), for a size below its minimum (tensor sizes n, c,
 *    h, w >= 1; counts and row numbers as stated per op), an unknown layout,
 *    an NLCL_NHWC tensor of more than 64 channels,
 *    an index out of range (image, ids, targets), a parameter outside its
 *    stated range, or a NULL pointer that the call needs (a NULL gradient
 *    output is "not needed", never an error). Nothing is written when an
 *    error is returned. No other error is possible: an op never aborts.
 *    Buffer lengths cannot be checked: each buffer must hold the tensor its
 *    shape arguments describe. No op allocates except where stated.
 * Sources: PyTorch 1.13 operator definitions; the NLCL and CUT reference code
 * (the authors' releases; the modules named below).
 */
#ifndef NLCL_OPS_H
#define NLCL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/export.h"
#include "nlcl/conv.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

/* ------------------------------------------------------------------ norm */

/* Instance norm, torch.nn.InstanceNorm2d(affine=False,
 * track_running_stats=False) as in the CUT and NLCL networks, optionally followed by ReLU
 * and/or added to a residual:
 *     xhat = (x - mean_nc) * rstd_nc,   rstd_nc = 1/sqrt(var_nc + eps),
 *     var_nc biased (divide by H*W);
 *     y = (res ? res : 0) + (relu ? max(xhat, 0) : xhat).
 * x, y, res: (n, c, h, w) in `layout`; y may alias x or res.
 * mean, rstd: (n, c) outputs for the backward pass; may be NULL (inference).
 * eps >= 0; 1e-5 in NLCL. */
nlcl_status nlcl_instance_norm_forward(const float *x, const float *res, float *y, float *mean,
                                       float *rstd, int n, int c, int h, int w, nlcl_layout layout,
                                       float eps, int relu);

/* Backward of nlcl_instance_norm_forward. dy is dL/dy; x is the forward's
 * input (pre-norm), mean/rstd its saved statistics; relu as in forward.
 *     g = relu ? dy * (xhat > 0) : dy
 *     dx += rstd * (g - mean_hw(g) - xhat * mean_hw(g * xhat))
 * (the residual's gradient is dy itself and is the caller's business). */
nlcl_status nlcl_instance_norm_backward(const float *dy, const float *x, const float *mean,
                                        const float *rstd, float *dx, int n, int c, int h, int w,
                                        nlcl_layout layout, int relu);

/* ----------------------------------------------------------- activations */
/* Elementwise over `count` floats (any layout). y may alias x.
 * Backward: dx += dy * f'(.) where f' is taken from the forward's OUTPUT y
 * (valid for ReLU, LeakyReLU with slope > 0, and tanh: 1 - y^2). */
nlcl_status nlcl_relu_forward(const float *x, float *y, size_t count);
nlcl_status nlcl_relu_backward(const float *dy, const float *y, float *dx, size_t count);
/* LeakyReLU: y = x >= 0 ? x : slope*x, slope > 0 (NLCL/CUT use 0.2). */
nlcl_status nlcl_leaky_relu_forward(const float *x, float *y, size_t count, float slope);
nlcl_status nlcl_leaky_relu_backward(const float *dy, const float *y, float *dx, size_t count,
                                     float slope);
nlcl_status nlcl_tanh_forward(const float *x, float *y, size_t count);
nlcl_status nlcl_tanh_backward(const float *dy, const float *y, float *dx, size_t count);

/* ------------------------------------------------------------- spatial */

/* ReflectionPad2d(p): (n, c, h, w) -> (n, c, h+2p, w+2p), mirror without
 * repeating the edge (x[-1] = x[1]); requires p < h and p < w. */
nlcl_status nlcl_reflect_pad_forward(const float *x, float *y, int n, int c, int h, int w, int p,
                                     nlcl_layout layout);
nlcl_status nlcl_reflect_pad_backward(const float *dy, float *dx, int n, int c, int h, int w, int p,
                                      nlcl_layout layout);

/* Anti-aliased stride-2 downsample of CUT's PatchGAN, Downsample(C)
 * (filt_size 3, reflect padding): ReflectionPad 1, then depthwise 3x3 blur
 * [1,2,1]x[1,2,1]/16 with stride 2. Output (n, c, ho, wo) with
 * ho = (h - 1)/2 + 1, wo = (w - 1)/2 + 1. Requires h >= 2 and w >= 2. */
nlcl_status nlcl_blur_downsample_forward(const float *x, float *y, int n, int c, int h, int w,
                                         nlcl_layout layout);
nlcl_status nlcl_blur_downsample_backward(const float *dy, float *dx, int n, int c, int h, int w,
                                          nlcl_layout layout);

/* -------------------------------------------------------------- linear */

/* torch.nn.Linear: y (m, nout) = x (m, nin) * W^T + b, W (nout, nin) as in
 * PyTorch's state_dict, b (nout) or NULL. m >= 0; nin, nout >= 1. */
nlcl_status nlcl_linear_forward(const float *x, const float *W, const float *b, float *y, int m,
                                int nin, int nout);
/* dx += dy W ; dW += dy^T x ; db += sum_rows dy. Any of dx, dW, db may be NULL. */
nlcl_status nlcl_linear_backward(const float *dy, const float *x, const float *W, float *dx,
                                 float *dW, float *db, int m, int nin, int nout);

/* Row L2 normalisation as the reference's Normalize: y = x / (||x||_2 + 1e-7)
 * for each of m rows of d values (CUT's PatchSampleF). norm (m) receives
 * ||x||_2 for backward (may be NULL). m >= 0, d >= 1. */
nlcl_status nlcl_l2norm_rows_forward(const float *x, float *y, float *norm, int m, int d);
/* Exact derivative of the forward above, with r = norm[i], e = 1e-7:
 *     dx += dy / (r + e) - x * <dy, x> / (r * (r + e)^2)
 * (the second term is taken as 0 when r = 0). Computed from x and norm; y is
 * not read (kept for symmetry). dx may be NULL. */
nlcl_status nlcl_l2norm_rows_backward(const float *dy, const float *x, const float *y,
                                      const float *norm, float *dx, int m, int d);

/* ------------------------------------------------------- patch sampling */

/* Gather the feature vectors at `k` spatial positions of image `img` of a
 * (n, c, h, w) tensor in `layout`: rows[i][ch] = x[img][ch][ids[i] / w][ids[i] % w].
 * ids are flattened y*w + x (as PatchSampleF's patch ids), each in
 * [0, h*w); img in [0, n); k >= 0; rows is (k, c). */
nlcl_status nlcl_gather_rows(const float *x, int n, int c, int h, int w, nlcl_layout layout,
                             int img, const int32_t *ids, int k, float *rows);
/* Backward: dx[img][ch][ids[i]] += drows[i][ch] (duplicate ids accumulate). */
nlcl_status nlcl_scatter_rows_add(const float *drows, int n, int c, int h, int w,
                                  nlcl_layout layout, int img, const int32_t *ids, int k,
                                  float *dx);

/* ---------------------------------------------------------- elementwise */
/* y = a + b ; y = a - b ; y = s * a (y may alias an input). */
nlcl_status nlcl_add(const float *a, const float *b, float *y, size_t count);
nlcl_status nlcl_sub(const float *a, const float *b, float *y, size_t count);
nlcl_status nlcl_scale(const float *a, float s, float *y, size_t count);
/* y += s * a */
nlcl_status nlcl_axpy(float s, const float *a, float *y, size_t count);

/* ----------------------------------------------------------------- losses */
/* Each loss forward writes the loss, a double, to *loss. count >= 1 (the
 * mean over no values is an INVALID_ARG error).
 * Mean squared error mean((a - b)^2) over count values.
 * Backward with upstream gradient g (dL/dloss): da += g*2(a-b)/count,
 * db -= the same; da or db may be NULL. */
nlcl_status nlcl_mse_forward(const float *a, const float *b, size_t count, double *loss);
nlcl_status nlcl_mse_backward(const float *a, const float *b, size_t count, float g, float *da,
                              float *db);
/* Mean absolute error mean(|a - b|) (b may be NULL meaning 0). Backward:
 * da += g*sign(a-b)/count (sign(0) = 0, as torch), db -= the same. */
nlcl_status nlcl_l1_forward(const float *a, const float *b, size_t count, double *loss);
nlcl_status nlcl_l1_backward(const float *a, const float *b, size_t count, float g, float *da,
                             float *db);
/* Eroded L1: the mean over pixels of min over the s x s window centred on
 * the pixel (clipped at borders) of |a - b| (a grey-scale erosion of the
 * absolute difference), for `planes` planes of h x w (NCHW: planes = N*C,
 * 1 to NLCL_MAX_PLANES_SUM; h, w, s >= 1). A change thinner than the window (a rain
 * streak) costs nothing; a change covering whole windows (a colour cast, a
 * shift of a region) costs its full L1. nlcl's colour-keeping term for
 * training (TRAINING.md of nlcl's documentation), not in the paper. Backward: each pixel's
 * window minimum passes g * sign(a - b) / (planes*h*w) to its argmin (the
 * first in scan order on ties). The value is the same for any thread count. */
#define NLCL_MAX_PLANES_SUM 4096
nlcl_status nlcl_eroded_l1_forward(const float *a, const float *b, int planes, int h, int w, int s,
                                   double *loss);
nlcl_status nlcl_eroded_l1_backward(const float *a, const float *b, int planes, int h, int w, int s,
                                    float g, float *da);
/* L1 of the plane means: mean over planes p of |mean(a_p) - mean(b_p)|, for
 * `planes` planes (NCHW: planes = N*C, 1 to NLCL_MAX_PLANES_SUM) of hw >= 1
 * values each. Only each plane's average (brightness and colour of a crop)
 * counts; any change that keeps it (a streak removed, contrast) is free.
 * nlcl's brightness-keeping term for training (TRAINING.md of nlcl's
 * documentation), not in the paper. Backward: da += g*sign(mean(a_p) -
 * mean(b_p))/(planes*hw) on every value of plane p (sign(0) = 0). The value
 * is the same for any thread count. */
nlcl_status nlcl_mean_l1_forward(const float *a, const float *b, int planes, size_t hw, double *loss);
nlcl_status nlcl_mean_l1_backward(const float *a, const float *b, int planes, size_t hw, float g,
                                  float *da);
/* Mean squared distance to a constant: mean((a - t)^2) (LSGAN, reference
 * section 4.3). Backward: da += g*2(a - t)/count. */
nlcl_status nlcl_mse_const_forward(const float *a, float t, size_t count, double *loss);
nlcl_status nlcl_mse_const_backward(const float *a, float t, size_t count, float g, float *da);

/* Numerically stable log-sum-exp of each row of logits (m, d), m >= 0,
 * d >= 1: out[i] = max_j + log sum_j exp(l_ij - max_j). */
nlcl_status nlcl_logsumexp_rows(const float *logits, int m, int d, double *out);
/* Cross-entropy of each row against a target class, mean over rows:
 * loss = mean_i (lse_i - l_i,target_i) (torch.nn.CrossEntropyLoss, reduction
 * mean), m, d >= 1, each target in [0, d). Backward:
 * dlogits += g * (softmax - onehot) / m. */
nlcl_status nlcl_cross_entropy_forward(const float *logits, const int32_t *target, int m, int d,
                                       double *loss);
nlcl_status nlcl_cross_entropy_backward(const float *logits, const int32_t *target, int m, int d,
                                        float g, float *dlogits);

/* ----------------------------------------------------------- optimiser */

/* Adam (torch.optim.Adam, amsgrad=False, weight_decay=0) over `count`
 * parameters. step is the 1-based step number after increment (>= 1).
 *     m = b1*m + (1-b1)*g ;  v = b2*v + (1-b2)*g^2
 *     p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps)
 * computed in the same operation order as PyTorch's single-tensor path. */
/* The hyper-parameters are double, as PyTorch's (Python floats): with float
 * fields 1 - 0.999f differs from 1 - 0.999 by 1.3e-5 relative, which would
 * shift every second moment and bias correction by that much. */
typedef struct nlcl_adam_cfg {
    double lr, beta1, beta2, eps;
} nlcl_adam_cfg;
nlcl_status nlcl_adam_step(float *p, const float *g, float *m, float *v, size_t count,
                           const nlcl_adam_cfg *cfg, int64_t step);

/* Linear-decay schedule of the reference (CUT's lr_policy 'linear', counted
 * in iterations or epochs): factor(t) = 1 - max(0, t - n_const) / (n_decay + 1)
 * for the 1-based position t; lr(t) = lr0 * factor(t), never below 0 (past
 * t = n_const + n_decay + 1). With n_decay <= 0 the rate is constant.
 * (Reference section 4.4.) */
double nlcl_lr_linear_decay(double lr0, int64_t t, int64_t n_const, int64_t n_decay);

NLCL_API_END
#endif
