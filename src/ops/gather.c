/* The patch gather/scatter of the reference's PatchSampleF (include/nlcl/ops.h):
 * feature vectors at sampled positions of one image, in any activation
 * layout, and their gradient back. Each output element is written by one
 * thread in a fixed order, so results do not depend on the thread count. */
#include <stdint.h>

#include "../core/internal.h"
#include "nlcl/ops.h"
#include "ops_check.h"

/* The arguments of a gather or scatter: the tensor, the image, k ids in
 * [0, h*w). */
static nlcl_status check_rows(const char *fn, int n, int c, int h, int w, nlcl_layout layout,
                              int img, const int32_t *ids, int k) {
    NLCL_TRY(nlcl_check_nchw(fn, n, c, h, w, layout));
    if (img < 0 || img >= n)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: image %d not in [0, %d)", fn, img, n);
    if (k < 0) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: k %d is negative", fn, k);
    if (k > 0 && !ids) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument", fn);
    const int64_t hw = (int64_t)h * w;
    for (int i = 0; i < k; i++)
        if (ids[i] < 0 || ids[i] >= hw)
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: id %d (row %d) not in [0, %lld)", fn,
                                  (int)ids[i], i, (long long)hw);
    return NLCL_OK;
}

static size_t elem_index(int n, int c, int h, int w, int L, int img, int ch, int32_t id) {
    (void)n;
    size_t G = (size_t)((c + L - 1) / L);
    size_t hw = (size_t)h * w;
    return (((size_t)img * G + (size_t)(ch / L)) * hw + (size_t)id) * L + (size_t)(ch % L);
}

nlcl_status nlcl_gather_rows(const float *x, int n, int c, int h, int w, nlcl_layout layout,
                             int img, const int32_t *ids, int k, float *rows) {
    NLCL_TRY(check_rows(__func__, n, c, h, w, layout, img, ids, k));
    NLCL_ARG_NONNULL(k == 0 || (x && rows));
    const int L = nlcl_layout_lanes(layout, c);
#pragma omp parallel for schedule(static) if ((long)k * c >= 32768)
    for (int i = 0; i < k; i++) {
        float *ri = rows + (size_t)i * c;
        for (int ch = 0; ch < c; ch++) ri[ch] = x[elem_index(n, c, h, w, L, img, ch, ids[i])];
    }
    return NLCL_OK;
}

nlcl_status nlcl_scatter_rows_add(const float *drows, int n, int c, int h, int w,
                                  nlcl_layout layout, int img, const int32_t *ids, int k,
                                  float *dx) {
    NLCL_TRY(check_rows(__func__, n, c, h, w, layout, img, ids, k));
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(k == 0 || drows);
    const int L = nlcl_layout_lanes(layout, c);
    /* threads own channels; each walks the rows in order, so duplicate ids
     * accumulate in a fixed order without races */
#pragma omp parallel for schedule(static) if ((long)k * c >= 32768)
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < k; i++)
            dx[elem_index(n, c, h, w, L, img, ch, ids[i])] += drows[(size_t)i * c + ch];
    return NLCL_OK;
}
