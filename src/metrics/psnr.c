/* PSNR (nlcl/metrics.h): 10 log10(L^2 / MSE), differences in double. */
#include <math.h>
#include <stdio.h>

#include "core/internal.h"
#include "metrics/metrics_internal.h"

void nlcl_psnr_opts_init(nlcl_psnr_opts *o) {
    o->channel = NLCL_METRIC_Y;
    o->round_luma = 0;
    o->crop = 0;
    o->data_range = 255.0;
}

void nlcl_psnr_convention(const nlcl_psnr_opts *o, char *buf, size_t n) {
    snprintf(buf, n, "PSNR(%s, crop %d, range %g)", nlcl_metric_channel_label(o->channel, o->round_luma),
             o->crop, o->data_range);
}

nlcl_status nlcl_psnr(const nlcl_metric_image *pred, const nlcl_metric_image *ref,
                      const nlcl_psnr_opts *o, double *psnr_db) {
    NLCL_TRY(nlcl_metric_check_pair(pred, ref));
    if (!(o->data_range > 0) || !isfinite(o->data_range))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "data range %g must be > 0",
                              o->data_range);
    double *a, *b;
    int nc, h, w;
    NLCL_TRY(nlcl_metric_pair_planes(pred, ref, o->channel, o->round_luma, o->crop, &a, &b, &nc,
                                     &h, &w));
    int rows = nc * h;
    double *rowsum = nlcl_alloc((size_t)rows * sizeof(double), "psnr rows");
    if (!rowsum) {
        nlcl_free(a);
        nlcl_free(b);
        return NLCL_ERR_NOMEM;
    }
    /* Per-row sums then a sequential total: the result does not depend on
     * the number of threads. */
#pragma omp parallel for schedule(static) if (NLCL_OMP_IF((size_t)rows * (size_t)w))
    for (int r = 0; r < rows; r++) {
        const double *pa = a + (size_t)r * w, *pb = b + (size_t)r * w;
        double acc = 0;
        for (int x = 0; x < w; x++) {
            double d = pa[x] - pb[x];
            acc += d * d;
        }
        rowsum[r] = acc;
    }
    double sse = 0;
    for (int r = 0; r < rows; r++) sse += rowsum[r];
    nlcl_free(rowsum);
    nlcl_free(a);
    nlcl_free(b);
    if (!isfinite(sse))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "non-finite pixel values");
    double mse = sse / ((double)rows * (double)w);
    *psnr_db = mse == 0 ? INFINITY : 10.0 * log10(o->data_range * o->data_range / mse);
    return NLCL_OK;
}
