/* MATLAB-compatible imresize (bicubic, antialiasing) for NIQE's second scale.
 *
 * Follows imresize.m (Image Processing Toolbox): for each dimension,
 * contributions() places output pixel x (1-based) at input coordinate
 *     u = x / scale + 0.5 * (1 - 1/scale),
 * takes P = ceil(kernel_width) + 2 taps starting at floor(u - kernel_width/2),
 * weighs them with h(u - index), normalises the weights to sum 1, mirrors
 * out-of-range indices with the half-sample symmetric sequence
 * [1:n, n:-1:1], and drops taps whose weight is zero for every output. The
 * kernel is the cubic convolution kernel with a = -0.5 (Keys 1981), width 4;
 * with antialiasing and scale < 1 it is stretched: h(x) = scale *
 * cubic(scale * x) over width 4 / scale. For scale 0.5 that leaves 8 taps.
 * Dimensions are resized in imresize's order (rows first for equal scales);
 * sums run over the taps in order, in double. */
#include <math.h>

#include "core/internal.h"
#include "metrics/metrics_internal.h"

static double cubic(double x) {
    double ax = fabs(x), ax2 = ax * ax, ax3 = ax2 * ax;
    if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
    if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
    return 0;
}

int nlcl_imresize_out_len(int in_len, double scale) {
    return (int)ceil(scale * (double)in_len);
}

nlcl_status nlcl_imresize_contributions(int in_len, int out_len, double scale, double **weights,
                                        int **indices, int *taps) {
    *weights = NULL;
    *indices = NULL;
    if (in_len < 1 || out_len < 1 || !(scale > 0) || !isfinite(scale))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid sizes %d -> %d, scale %g",
                              in_len, out_len, scale);
    double kw = 4.0;
    int aa = scale < 1;
    if (aa) kw /= scale;
    int P = (int)ceil(kw) + 2;
    size_t n = (size_t)out_len * (size_t)P;
    double *w = nlcl_alloc(n * sizeof(double), "imresize weights");
    int *ix = nlcl_alloc(n * sizeof(int), "imresize indices");
    int *keep = nlcl_calloc((size_t)P, sizeof(int), "imresize taps");
    if (!w || !ix || !keep) {
        nlcl_free(w);
        nlcl_free(ix);
        nlcl_free(keep);
        return NLCL_ERR_NOMEM;
    }
    long L2 = 2L * in_len;
    for (int x = 1; x <= out_len; x++) {
        double u = (double)x / scale + 0.5 * (1.0 - 1.0 / scale);
        double left = floor(u - kw / 2.0);
        double *wr = w + (size_t)(x - 1) * P;
        int *ir = ix + (size_t)(x - 1) * P;
        double sum = 0;
        for (int k = 0; k < P; k++) {
            double idx = left + k; /* 1-based */
            double d = u - idx;
            double v = aa ? scale * cubic(scale * d) : cubic(d);
            wr[k] = v;
            sum += v;
            long m = ((long)idx - 1) % L2; /* mod(indices-1, 2n) */
            if (m < 0) m += L2;
            ir[k] = (int)(m < in_len ? m : L2 - 1 - m); /* aux = [1:n, n:-1:1], 0-based */
        }
        for (int k = 0; k < P; k++) {
            wr[k] /= sum;
            if (wr[k] != 0) keep[k] = 1;
        }
    }
    int T = 0;
    for (int k = 0; k < P; k++) T += keep[k];
    /* compact the kept taps in place */
    for (int x = 0; x < out_len; x++) {
        int t = 0;
        for (int k = 0; k < P; k++)
            if (keep[k]) {
                w[(size_t)x * T + t] = w[(size_t)x * P + k];
                ix[(size_t)x * T + t] = ix[(size_t)x * P + k];
                t++;
            }
    }
    nlcl_free(keep);
    *weights = w;
    *indices = ix;
    *taps = T;
    return NLCL_OK;
}

nlcl_status nlcl_imresize_bicubic(const double *in, int h, int w, double scale, double *out) {
    int oh = nlcl_imresize_out_len(h, scale), ow = nlcl_imresize_out_len(w, scale);
    double *wr = NULL, *wc = NULL;
    int *ir = NULL, *ic = NULL, tr = 0, tc = 0;
    nlcl_status s = nlcl_imresize_contributions(h, oh, scale, &wr, &ir, &tr);
    if (s == NLCL_OK) s = nlcl_imresize_contributions(w, ow, scale, &wc, &ic, &tc);
    double *tmp = s == NLCL_OK ? nlcl_alloc((size_t)oh * (size_t)w * sizeof(double), "imresize")
                               : NULL;
    if (s == NLCL_OK && !tmp) s = NLCL_ERR_NOMEM;
    if (s == NLCL_OK) {
        /* dimension 1 (rows): tmp (oh, w) */
#pragma omp parallel for schedule(static) if (NLCL_OMP_IF((size_t)oh * (size_t)w))
        for (int y = 0; y < oh; y++) {
            double *dst = tmp + (size_t)y * w;
            const double *wy = wr + (size_t)y * tr;
            const int *iy = ir + (size_t)y * tr;
            for (int x = 0; x < w; x++) dst[x] = 0;
            for (int k = 0; k < tr; k++) {
                const double *src = in + (size_t)iy[k] * w;
                double c = wy[k];
#pragma omp simd
                for (int x = 0; x < w; x++) dst[x] += c * src[x];
            }
        }
        /* dimension 2 (columns): out (oh, ow) */
#pragma omp parallel for schedule(static) if (NLCL_OMP_IF((size_t)oh * (size_t)w))
        for (int y = 0; y < oh; y++) {
            const double *src = tmp + (size_t)y * w;
            double *dst = out + (size_t)y * ow;
            for (int x = 0; x < ow; x++) {
                const double *wx = wc + (size_t)x * tc;
                const int *ix = ic + (size_t)x * tc;
                double acc = 0;
                for (int k = 0; k < tc; k++) acc += wx[k] * src[ix[k]];
                dst[x] = acc;
            }
        }
    }
    nlcl_free(tmp);
    nlcl_free(wr);
    nlcl_free(wc);
    nlcl_free(ir);
    nlcl_free(ic);
    return s;
}
