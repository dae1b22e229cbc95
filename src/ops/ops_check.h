/* Argument checks shared by the public ops (include/nlcl/ops.h, conv.h):
 * each returns NLCL_OK or NLCL_ERR_INVALID_ARG with the message
 * "FUNCTION: problem" (src/core/internal.h, NLCL_ARG_CHECK). Not installed. */
#ifndef NLCL_OPS_CHECK_H
#define NLCL_OPS_CHECK_H

#include "../core/internal.h"
#include "nlcl/conv.h"

/* An (n, c, h, w) activation tensor in `layout`: every size >= 1 and a known
 * layout. */
static inline nlcl_status nlcl_check_shape(const char *fn, int n, int c, int h, int w,
                                           nlcl_layout layout) {
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%s: tensor (n, c, h, w) = (%d, %d, %d, %d) has a size below 1", fn,
                              n, c, h, w);
    if (!nlcl_layout_lanes(layout, 1)) /* the one list of known layouts */
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: unknown layout %d", fn, (int)layout);
    return NLCL_OK;
}

/* nlcl_check_shape for the ops of nlcl/ops.h: NHWC of at most NLCL_NHWC_MAX_C
 * channels, the lanes their stack buffers hold. */
#define NLCL_NHWC_MAX_C 64
static inline nlcl_status nlcl_check_nchw(const char *fn, int n, int c, int h, int w,
                                          nlcl_layout layout) {
    NLCL_TRY(nlcl_check_shape(fn, n, c, h, w, layout));
    if (layout == NLCL_NHWC && c > NLCL_NHWC_MAX_C)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NHWC tensor of %d channels (at most %d)",
                              fn, c, NLCL_NHWC_MAX_C);
    return NLCL_OK;
}

/* Every pointer of a call that has work to do is non-NULL. */
#define NLCL_ARG_NONNULL(cond) NLCL_ARG_CHECK(cond, "NULL argument")

#endif
