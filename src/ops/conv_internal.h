/* Shared between the convolution sources (conv2d.c: plans and execution;
 * conv_select.c: the choice of algorithm per layer shape; layout.c: layouts).
 * Not installed. */
#ifndef NLCL_OPS_CONV_INTERNAL_H
#define NLCL_OPS_CONV_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

#include "nlcl/conv.h"

/* The process-wide oneDNN CPU engine and stream (created on first use). */
nlcl_status nlcl_dnnl_get(dnnl_engine_t *engine, dnnl_stream_t *stream);

#define DNNL_TRY(call, what)                                                                       \
    do {                                                                                           \
        dnnl_status_t st_ = (call);                                                                \
        if (st_ != dnnl_success)                                                                   \
            return nlcl_error_set(NLCL_ERR_INTERNAL, "oneDNN %s failed (status %d)", what,  \
                                  (int)st_);                                                       \
    } while (0)

/* Copies a tensor (nb, c, h, w) of hw = h*w pixels, esz bytes per element,
 * c a multiple of nlcl_layout_block(), from the blocked layout to NHWC
 * (to_nhwc) or back: each pixel's c values are c/B runs of B (layout.c). */
void nlcl_layout_split_copy(size_t esz, size_t nb, size_t c, size_t hw, const void *from, void *to,
                            int to_nhwc);

typedef enum conv_pass { CONV_FWD = 0, CONV_BWD_DATA = 1, CONV_BWD_WEIGHTS = 2 } conv_pass;

/* The implementations a pass can run with:
 *   CAND_DIRECT  oneDNN's direct convolution (the fallback for every shape);
 *   CAND_WINO    oneDNN's Winograd F(4x4,3x3) kernel ("wino_4x3" on
 *                avx512_core), for inference too: inference plans ask for it
 *                with the forward-training propagation kind, because oneDNN's
 *                inference-only F(2x2,3x3) kernel refuses the unequal top and
 *                bottom padding of bands (plan_create_rows), and is slower. */
typedef enum conv_cand { CAND_DIRECT = 0, CAND_WINO = 1, CAND_COUNT = 2 } conv_cand;

/* Input rows and columns of a plan, and its vertical zero padding (the
 * shape's pad on whole images; 0 where a band of rows has its neighbours'
 * rows as input instead). */
typedef struct conv_geom {
    int h, w, pad_top, pad_bottom;
    int bf16;     /* multiply in bfloat16 (conv_bf16.h) */
    int dst_bf16; /* forward writes dst in bfloat16 (NLCL_BF16_DST) */
} conv_geom;

/* Primitive descriptor of one pass of shape s at geometry g (n, channels and
 * everything else from s). free_layout: let oneDNN choose the activation
 * formats (see conv2d.c). Backward passes get a forward hint of the same
 * algorithm, created here. Returns NLCL_ERR_UNSUPPORTED, without setting an
 * error message, when oneDNN has no implementation (or only its reference
 * one) for that candidate. */
nlcl_status nlcl_conv_pd_create(dnnl_primitive_desc_t *pd, const nlcl_conv2d_shape *s,
                                const conv_geom *g, int training, conv_pass pass, conv_cand cand,
                                int free_layout);

/* The candidate a pass of this shape uses: the process-wide policy
 * (nlcl_conv2d_set_algorithm), then the cached choice for the shape's key,
 * else a measurement (conv_select.c). Never fails: DIRECT is the answer when
 * anything goes wrong. */
conv_cand nlcl_conv_choose(const nlcl_conv2d_shape *s, int training, conv_pass pass,
                           int free_layout);

/* "direct" or "wino" */
const char *nlcl_conv_cand_name(int cand);

#endif
