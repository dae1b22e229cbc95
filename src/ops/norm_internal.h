/* Kernels of instance norm (norm.c) shared with the generator's band
 * pipeline (src/nn/gen_bands.c), which computes the statistics of an image
 * from bands of rows in exactly the whole-image order. Not installed.
 *
 * A plane of h x w pixels of L lanes (L = 1 for NCHW, the block B for the
 * blocked layout) is summed in chunks of nlcl_in_chunk_rows(h, w, layout)
 * whole rows (the last chunk may be shorter); each chunk's partial sums come
 * from nlcl_in_chunk_stats, and nlcl_in_finish adds them in chunk order. */
#ifndef NLCL_OPS_NORM_INTERNAL_H
#define NLCL_OPS_NORM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/conv.h"

/* Activation codes of the `relu` arguments below (the public functions take
 * 0 or 1): instance norm followed by nothing (0), ReLU, or LeakyReLU with
 * the PatchGAN discriminator's slope 0.2 (as nlcl_leaky_relu_forward and
 * _backward compute it), fused into the norm's passes over memory. */
#define NLCL_IN_RELU 1
#define NLCL_IN_LEAKY 2
#define NLCL_IN_LEAKY_SLOPE 0.2f

/* Rows per statistics chunk of an h x w plane: at least MIN_CHUNK_FLOATS
 * floats and at most MAX_CHUNKS chunks, rounded up to a multiple of 4 rows;
 * h itself when that is more than h. */
int nlcl_in_chunk_rows(int h, int w, nlcl_layout layout);

/* Partial sums of one chunk (nfl floats, whole pixels of L lanes): per lane
 * s1 = sum(x - shift), s2 = sum((x - shift)^2) in double, shift = the plane's
 * first pixel (L floats). */
void nlcl_in_chunk_stats(const float *x, size_t nfl, int L, const float *shift, double *s1,
                         double *s2);

/* The same partial sums of bfloat16 input (norm_avx512.c): bit for bit those
 * of nlcl_in_chunk_stats on the values widened to float. */
void nlcl_in_chunk_stats_bf16(const uint16_t *x, size_t nfl, int L, const float *shift,
                              double *s1, double *s2);

/* AVX-512 loops (norm_avx512.c), for norm.c's dispatch. nlcl_in_avx512: 1 if
 * the CPU runs them (x86-64-v4). nlcl_in_stats_avx512: the sums of d = x -
 * sh and d^2 over nv steps of 8 * nacc elements (nacc 2 or 4; x floats, or
 * bfloat16 when bf) into a[8 * nacc], q[8 * nacc], virtual lane j of each
 * step into a[j]. nlcl_in_bwd_sums_avx512: bwd_chunk's sums of g and
 * g * xhat over nv steps of 16 floats into a[16], q[16]. */
int nlcl_in_avx512(void);
void nlcl_in_stats_avx512(const void *x, int bf, size_t nv, int nacc, const double *sh, double *a,
                          double *q);
void nlcl_in_bwd_sums_avx512(const float *x, const float *dy, size_t nv, const float *mv,
                             const float *rv, int relu, double *a, double *q);

/* Folds accumulators a[16], q[16] of 16 virtual lanes (lane j holds real
 * lane j % L; L divides 16) into s1[L], s2[L], in lane order. */
void nlcl_in_fold_lanes(const double *a, const double *q, int L, double *s1, double *s2);

/* Mean and 1/sqrt(var + eps) per lane from the partials of a plane's nch
 * chunks (chunk k at part[2*L*k]: s1[L] then s2[L]), pix pixels per plane;
 * lanes >= valid (padding channels) get 0 and 0. */
void nlcl_in_finish(const double *part, size_t nch, int L, size_t pix, const float *shift,
                    float eps, int valid, float *m, float *r);

/* y = (res ? res : 0) + f((x - m) * r) per lane over nfl floats starting at a
 * pixel boundary (f: the activation code relu); y may alias x or res. */
void nlcl_in_apply(const float *x, const float *res, float *y, size_t nfl, int L, const float *m,
                   const float *r, int relu);

/* nlcl_in_apply of bfloat16 input x (widened to float) into y (optional)
 * and, rounded to bfloat16, into y16 (norm_avx512.c); y may alias res. */
void nlcl_in_apply_bf16(const uint16_t *x, const float *res, float *y, uint16_t *y16, size_t nfl,
                        int L, const float *m, const float *r, int relu);

/* nlcl_instance_norm_forward (nlcl/ops.h; no mean and rstd out) of x16, a
 * bfloat16 tensor as a bf16 convolution writes it (NLCL_BF16_DST), with the
 * statistics and outputs of its values widened to float32 (norm_avx512.c);
 * the output rounded to bfloat16 into y16 (same layout, uint16_t per
 * element) as the input of a bf16 convolution (conv_bf16.h:
 * nlcl_f32_to_bf16, which rounds as oneDNN's reorder does), and in float32
 * into y unless y is NULL. y may alias res; y16 must not alias x16. */
void nlcl_instance_norm_forward_bf16(const uint16_t *x16, const float *res, float *y,
                                     uint16_t *y16, int n, int c, int h, int w,
                                     nlcl_layout layout, float eps, int relu);

/* nlcl_instance_norm_forward (nlcl/ops.h) with an activation code: with
 * NLCL_IN_LEAKY, bit for bit the norm followed by nlcl_leaky_relu_forward
 * (slope 0.2), in one pass less over memory. */
void nlcl_instance_norm_forward_act(const float *x, const float *res, float *y, float *mean,
                                    float *rstd, int n, int c, int h, int w, nlcl_layout layout,
                                    float eps, int relu);

/* nlcl_instance_norm_backward (nlcl/ops.h) that writes dx instead of adding
 * to it: the same floats as zeroing dx first, in one pass less over memory;
 * relu is an activation code (with NLCL_IN_LEAKY, the gradient of the norm
 * followed by LeakyReLU). dx must not alias dy or x. */
void nlcl_instance_norm_backward_set(const float *dy, const float *x, const float *mean,
                                     const float *rstd, float *dx, int n, int c, int h, int w,
                                     nlcl_layout layout, int relu);

#endif
