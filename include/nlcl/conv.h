/* nlcl/conv.h - 2-D convolution through oneDNN: forward, backward-data,
 * backward-weights.
 *
 * Semantics are PyTorch's nn.Conv2d (cross-correlation, no kernel flip,
 * dilation 1, groups 1, symmetric zero padding):
 *   dst[n][o][y][x] = b[o] + sum_{i,ky,kx} w[o][i][ky][kx] *
 *                     src[n][i][y*stride+ky-pad][x*stride+kx-pad]
 * with out-of-range src taken as 0.  Output size per axis:
 *   out = floor((in + 2*pad - k) / stride) + 1.
 *
 * Weights are always given by the caller as float32 OIHW (cout, cin, kh, kw)
 * and bias as (cout), exactly PyTorch's state_dict layout; they are reordered
 * into oneDNN's preferred format on every call (a few microseconds for the
 * NLCL shapes, so that a plan can be shared by any number of layers and the
 * optimiser may change weights in place between calls).
 *
 * Activations are float32 in one of three layouts:
 *   NLCL_NCHW    plain (n, c, h, w), PyTorch's layout;
 *   NLCL_BLOCKED oneDNN's blocked "nChw<B>c": (n, ceil(c/B), h, w, B), channel c
 *                at block c/B, lane c%B; lanes past c are zero-padded. The
 *                block B = nlcl_layout_block() is 16 on CPUs with AVX-512 and
 *                8 otherwise, i.e. the layout oneDNN's fastest kernels use on
 *                this CPU. Keeping it between layers avoids a reorder per call.
 *   NLCL_NHWC    channels-last (n, h, w, c): the layout of oneDNN's AMX
 *                bfloat16 kernels (`--precision bf16` on CPUs with AMX runs
 *                the generator in it). Convolutions and conversions take any
 *                channel count; the ops of nlcl/ops.h at most 64.
 * Each is (n, G, h, w, L) with L = nlcl_layout_lanes(layout, c) lanes per
 * pixel (1, B, or c) and G = ceil(c/L) planes per image.
 *
 * A plan caches the oneDNN primitives for one shape and is not thread-safe:
 * use one plan from one thread at a time (the primitives themselves use all
 * OpenMP threads). Which thread does not matter: a plan made on one thread
 * may run on another, and be freed on a third, after the others have ended
 * (each plan owns its oneDNN scratchpad).
 *
 * Algorithm: 3x3 stride-1 convolutions with at least 16 input channels may
 * run as Winograd convolutions (oneDNN's F(4x4,3x3) kernel:
 * 1.5-1.8x faster on AVX-512, with a rounding error a few times larger than
 * direct convolution's, about 1e-6 relative). By default (NLCL_CONV_AUTO)
 * a fixed rule picks Winograd for 3x3 stride-1 layers with at least 32
 * input and 32 output channels where oneDNN has the kernel, so that results
 * are the same in every run; NLCL_CONV_MEASURED times both once per layer
 * shape and process instead (a one-thread probe in CPU time; Winograd only
 * where it is >= 15% faster), which may choose differently from run to run
 * where they are close.
 * Every plan of one shape (ignoring batch and image size) in a process uses
 * the same algorithm, and within it results are bit-identical for any number
 * of OpenMP threads (backward-weights excepted: oneDNN reduces it across
 * threads).
 */
#ifndef NLCL_CONV_H
#define NLCL_CONV_H

#include <stddef.h>

#include "nlcl/export.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

typedef enum nlcl_layout { NLCL_NCHW = 0, NLCL_BLOCKED = 1, NLCL_NHWC = 2 } nlcl_layout;

/* Channel block B of NLCL_BLOCKED on this CPU: 16 (AVX-512) or 8. Fixed for
 * the life of the process. */
int nlcl_layout_block(void);

/* Lanes per pixel of a tensor of c channels in `layout`: 1 (NCHW), B
 * (BLOCKED) or c (NHWC); 0 for an unknown layout. */
int nlcl_layout_lanes(nlcl_layout layout, int c);

typedef struct nlcl_conv2d_shape {
    int n, cin, h, w;  /* input (n, cin, h, w) */
    int cout, kh, kw;  /* weights (cout, cin, kh, kw) */
    int stride;        /* >= 1, same on both axes */
    int pad;           /* >= 0 zero padding on all four sides */
    int bias;          /* 1: bias (cout) is added/differentiated */
    nlcl_layout src_layout, dst_layout;
} nlcl_conv2d_shape;

typedef struct nlcl_conv2d_plan nlcl_conv2d_plan;

/* Output extent of a convolution axis: floor((in + 2*pad - k)/stride) + 1,
 * or 0 when the kernel does not fit. */
int nlcl_conv2d_out_size(int in, int k, int stride, int pad);

/* Number of floats a tensor of (n, c, h, w) occupies in `layout`
 * (NLCL_BLOCKED rounds c up to a multiple of the block). */
size_t nlcl_layout_numel(nlcl_layout layout, int n, int c, int h, int w);

/* Create a plan. `training` = 1 prepares forward-training primitives (the
 * backward ones are created on first use); 0 prepares inference only.
 * Errors: NLCL_ERR_INVALID_ARG (NULL plan or s, non-positive sizes, kernel
 * larger than the padded input, unknown layout),
 * NLCL_ERR_INTERNAL (oneDNN refused), NLCL_ERR_NOMEM. */
nlcl_status nlcl_conv2d_plan_create(nlcl_conv2d_plan **plan, const nlcl_conv2d_shape *s,
                                    int training);
/* A plan for a band of rows of a larger image: the input holds s->h rows of
 * the image, with pad_top and pad_bottom rows of zeros above and below (s->pad
 * where the band touches the image's edge, 0 where the input rows include
 * the neighbouring rows the kernel reaches); columns are padded with s->pad
 * as usual. Output rows: (s->h + pad_top + pad_bottom - kh) / stride + 1.
 * With the same algorithm (the choice ignores sizes) the band's
 * outputs are the rows of the whole image's output: bit-identical for
 * direct convolution, and for Winograd when the band starts at a multiple of
 * 4 output rows (checked by nlcl's tests). */
nlcl_status nlcl_conv2d_plan_create_rows(nlcl_conv2d_plan **plan, const nlcl_conv2d_shape *s,
                                         int pad_top, int pad_bottom, int training);
void nlcl_conv2d_plan_free(nlcl_conv2d_plan *plan);
const nlcl_conv2d_shape *nlcl_conv2d_plan_shape(const nlcl_conv2d_plan *plan);
/* Output height and width of the plan (0 and 0 for a NULL plan; ho or wo
 * may be NULL). _shape returns NULL for a NULL plan. */
void nlcl_conv2d_plan_out(const nlcl_conv2d_plan *plan, int *ho, int *wo);

/* dst = conv(src, w) + b.  src (n, cin, h, w) in src_layout, dst
 * (n, cout, ho, wo) in dst_layout, overwritten. b may be NULL only if the plan
 * has no bias.
 * Errors of the three passes: NLCL_ERR_INVALID_ARG (a NULL plan or buffer the
 * pass needs, a NULL b for a plan with bias, beta neither 0 nor 1), nothing
 * written then; NLCL_ERR_INTERNAL (oneDNN failed), NLCL_ERR_NOMEM. */
nlcl_status nlcl_conv2d_forward(nlcl_conv2d_plan *plan, const float *src, const float *w,
                                const float *b, float *dst);

/* dsrc = beta * dsrc + conv_transpose(ddst, w): gradient w.r.t. the input.
 * ddst in dst_layout, dsrc in src_layout; beta is 0 (overwrite) or 1
 * (accumulate). */
nlcl_status nlcl_conv2d_backward_data(nlcl_conv2d_plan *plan, const float *ddst, const float *w,
                                      float *dsrc, float beta);

/* dw += dL/dw (OIHW), db += dL/db: gradients w.r.t. weights and bias.
 * Either may be NULL (not needed); both NULL does nothing. */
nlcl_status nlcl_conv2d_backward_weights(nlcl_conv2d_plan *plan, const float *src,
                                         const float *ddst, float *dw, float *db);

typedef enum nlcl_conv_algorithm {
    NLCL_CONV_AUTO = 0,     /* the fixed rule above (the default) */
    NLCL_CONV_DIRECT = 1,   /* always direct convolution */
    NLCL_CONV_WINOGRAD = 2, /* Winograd wherever oneDNN has it for the shape */
    NLCL_CONV_MEASURED = 3, /* measured per layer shape and process */
} nlcl_conv_algorithm;

/* Process-wide algorithm policy for plans created afterwards (existing plans
 * keep theirs). */
void nlcl_conv2d_set_algorithm(nlcl_conv_algorithm a);
nlcl_conv_algorithm nlcl_conv2d_get_algorithm(void);

/* What a plan's pass (0 forward, 1 backward-data, 2 backward-weights) runs
 * with, "CHOICE:IMPLEMENTATION" (CHOICE direct or wino; the second
 * part is oneDNN's implementation name, e.g. "wino:jit_wino_4x3:avx512_core"),
 * or NULL if that pass has not been prepared yet (backward passes are
 * prepared on first use). */
const char *nlcl_conv2d_plan_impl(const nlcl_conv2d_plan *plan, int pass);

/* The choices measured so far in this process, as text (at most a few
 * kilobytes): writes up to size bytes including the terminating NUL into buf
 * (may be NULL with size 0) and returns the full length, as snprintf.
 * _import adds choices exported by another process (replacing measured ones
 * of the same shape), so that it computes with the same algorithms; call it
 * before creating the plans. Errors: FORMAT for malformed text. */
size_t nlcl_conv2d_choices_export(char *buf, size_t size);
nlcl_status nlcl_conv2d_choices_import(const char *text);

/* Convert a tensor (n, c, h, w) between any two layouts. Padding
 * lanes of a BLOCKED destination are set to 0. src and dst must not alias.
 * Errors: NLCL_ERR_INVALID_ARG (a size below 1, an unknown layout, NULL src
 * or dst, src == dst), nothing written then. */
nlcl_status nlcl_layout_convert(const float *src, nlcl_layout from, float *dst, nlcl_layout to,
                                int n, int c, int h, int w);

NLCL_API_END
#endif
