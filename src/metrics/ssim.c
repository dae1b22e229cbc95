/* SSIM (nlcl/metrics.h): Wang et al. 2004, eq. (13), as ssim.m computes it
 * (normalised window, 'valid' filtering, mean of the map), with the options
 * scikit-image adds (uniform window, sample covariance). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "metrics/metrics_internal.h"

#define SSIM_BAND 64 /* output rows per work item */

void nlcl_ssim_opts_init(nlcl_ssim_opts *o) {
    o->channel = NLCL_METRIC_Y;
    o->round_luma = 0;
    o->crop = 0;
    o->data_range = 255.0;
    o->window = NLCL_SSIM_GAUSSIAN;
    o->win_size = 11;
    o->sigma = 1.5;
    o->k1 = 0.01;
    o->k2 = 0.03;
    o->sample_covariance = 0;
    o->matlab_downsample = 0;
}

void nlcl_ssim_opts_skimage(nlcl_ssim_opts *o) {
    nlcl_ssim_opts_init(o);
    o->channel = NLCL_METRIC_RGB;
    o->window = NLCL_SSIM_UNIFORM;
    o->win_size = 7;
    o->sample_covariance = 1;
}

void nlcl_ssim_convention(const nlcl_ssim_opts *o, char *buf, size_t n) {
    char win[64];
    if (o->window == NLCL_SSIM_GAUSSIAN)
        snprintf(win, sizeof win, "gaussian %dx%d sigma %g", o->win_size, o->win_size, o->sigma);
    else
        snprintf(win, sizeof win, "uniform %dx%d", o->win_size, o->win_size);
    snprintf(buf, n, "SSIM(%s, %s, K1 %g, K2 %g, range %g, %s cov, %s, crop %d)",
             nlcl_metric_channel_label(o->channel, o->round_luma), win, o->k1, o->k2,
             o->data_range, o->sample_covariance ? "sample" : "population",
             o->matlab_downsample ? "MATLAB auto-downsampling" : "no downsampling", o->crop);
}

void nlcl_gaussian_1d(int n, double sigma, double *g) {
    double sum = 0, c = (n - 1) / 2.0;
    for (int i = 0; i < n; i++) {
        double x = i - c;
        g[i] = exp(-(x * x) / (2 * sigma * sigma));
        sum += g[i];
    }
    for (int i = 0; i < n; i++) g[i] /= sum;
}

/* Wang's ssim.m automatic downsampling: imfilter(img, ones(f)/f^2,
 * 'symmetric', 'same') then img(1:f:end, 1:f:end). The kernel's origin is
 * floor((f+1)/2) (1-based), so output p averages p - c0 .. p - c0 + f - 1
 * with c0 = floor((f+1)/2) - 1; indices outside mirror with the edge pixel
 * repeated. out is (ceil(h/f), ceil(w/f)). */
static int mirror(long i, int n) {
    long L2 = 2L * n, m = i % L2;
    if (m < 0) m += L2;
    return (int)(m < n ? m : L2 - 1 - m);
}

static void box_downsample(const double *in, int h, int w, int f, double *out) {
    int oh = (h + f - 1) / f, ow = (w + f - 1) / f, c0 = (f + 1) / 2 - 1;
    double wt = 1.0 / ((double)f * (double)f);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            double acc = 0;
            for (int j = 0; j < f; j++) {
                int sx = mirror((long)x * f + j - c0, w);
                for (int i = 0; i < f; i++) {
                    int sy = mirror((long)y * f + i - c0, h);
                    acc += wt * in[(size_t)sy * w + sx];
                }
            }
            out[(size_t)y * ow + x] = acc;
        }
}

/* Mean SSIM of one plane pair (h, w) with the separable window g (n taps). */
static nlcl_status ssim_plane(const double *a, const double *b, int h, int w, const double *g,
                              int n, double c1, double c2, double cov_norm, double *mean) {
    int hv = h - n + 1, wv = w - n + 1;
    int nbands = (hv + SSIM_BAND - 1) / SSIM_BAND;
    double *rowsum = nlcl_alloc((size_t)hv * sizeof(double), "ssim rows");
    if (!rowsum) return NLCL_ERR_NOMEM;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) if (NLCL_OMP_IF((size_t)h * (size_t)w))
    for (int band = 0; band < nbands; band++) {
        int y0 = band * SSIM_BAND, y1 = NLCL_MIN(hv, y0 + SSIM_BAND);
        int rows = y1 - y0 + n - 1; /* input rows y0 .. y1 + n - 2 */
        size_t plane = (size_t)rows * (size_t)wv;
        double *buf = nlcl_alloc((5 * plane + 5 * (size_t)wv) * sizeof(double), "ssim band");
        if (!buf) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        double *ha = buf, *hb = buf + plane, *haa = buf + 2 * plane, *hbb = buf + 3 * plane,
               *hab = buf + 4 * plane;
        double *m1 = buf + 5 * plane, *m2 = m1 + wv, *e11 = m2 + wv, *e22 = e11 + wv,
               *e12 = e22 + wv;
        /* horizontal pass: taps outer, pixels inner (vectorises) */
        for (int r = 0; r < rows; r++) {
            const double *ra = a + (size_t)(y0 + r) * w, *rb = b + (size_t)(y0 + r) * w;
            double *oa = ha + (size_t)r * wv, *ob = hb + (size_t)r * wv,
                   *oaa = haa + (size_t)r * wv, *obb = hbb + (size_t)r * wv,
                   *oab = hab + (size_t)r * wv;
            for (int x = 0; x < wv; x++) oa[x] = ob[x] = oaa[x] = obb[x] = oab[x] = 0;
            for (int k = 0; k < n; k++) {
                double gk = g[k];
                const double *pa = ra + k, *pb = rb + k;
#pragma omp simd
                for (int x = 0; x < wv; x++) {
                    double va = pa[x], vb = pb[x];
                    oa[x] += gk * va;
                    ob[x] += gk * vb;
                    oaa[x] += gk * (va * va);
                    obb[x] += gk * (vb * vb);
                    oab[x] += gk * (va * vb);
                }
            }
        }
        /* vertical pass and the SSIM map, one output row at a time */
        for (int y = y0; y < y1; y++) {
            for (int x = 0; x < wv; x++) m1[x] = m2[x] = e11[x] = e22[x] = e12[x] = 0;
            for (int k = 0; k < n; k++) {
                size_t o = (size_t)(y - y0 + k) * wv;
                double gk = g[k];
                const double *pa = ha + o, *pb = hb + o, *paa = haa + o, *pbb = hbb + o,
                             *pab = hab + o;
#pragma omp simd
                for (int x = 0; x < wv; x++) {
                    m1[x] += gk * pa[x];
                    m2[x] += gk * pb[x];
                    e11[x] += gk * paa[x];
                    e22[x] += gk * pbb[x];
                    e12[x] += gk * pab[x];
                }
            }
            double acc_row = 0;
            for (int x = 0; x < wv; x++) {
                double mu1 = m1[x], mu2 = m2[x];
                double s11 = cov_norm * (e11[x] - mu1 * mu1);
                double s22 = cov_norm * (e22[x] - mu2 * mu2);
                double s12 = cov_norm * (e12[x] - mu1 * mu2);
                double num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2);
                double den = (mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2);
                acc_row += num / den;
            }
            rowsum[y] = acc_row;
        }
        nlcl_free(buf);
    }
    if (failed) {
        nlcl_free(rowsum);
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    }
    double total = 0;
    for (int y = 0; y < hv; y++) total += rowsum[y];
    nlcl_free(rowsum);
    *mean = total / ((double)hv * (double)wv);
    return NLCL_OK;
}

nlcl_status nlcl_ssim(const nlcl_metric_image *pred, const nlcl_metric_image *ref,
                      const nlcl_ssim_opts *o, double *ssim) {
    NLCL_TRY(nlcl_metric_check_pair(pred, ref));
    int n = o->win_size;
    if (n < 3 || n > 255 || n % 2 == 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "window size %d must be odd and in [3, 255]", n);
    if (o->window != NLCL_SSIM_GAUSSIAN && o->window != NLCL_SSIM_UNIFORM)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "unknown window type %d", (int)o->window);
    if (o->window == NLCL_SSIM_GAUSSIAN && (!(o->sigma > 0) || !isfinite(o->sigma)))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "Gaussian sigma %g must be > 0",
                              o->sigma);
    if (!(o->data_range > 0) || !isfinite(o->data_range) || !(o->k1 > 0) || !(o->k2 > 0) ||
        !isfinite(o->k1) || !isfinite(o->k2))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "data range %g, K1 %g, K2 %g must all be > 0", o->data_range,
                              o->k1, o->k2);
    double *a, *b;
    int nc, h, w;
    NLCL_TRY(nlcl_metric_pair_planes(pred, ref, o->channel, o->round_luma, o->crop, &a, &b, &nc,
                                     &h, &w));
    if (o->matlab_downsample) {
        /* f = max(1, round(min(M, N) / 256)), MATLAB round (half away from 0) */
        int f = (int)NLCL_MAX(1.0, round(NLCL_MIN(h, w) / 256.0));
        if (f > 1) {
            int oh = (h + f - 1) / f, ow = (w + f - 1) / f;
            size_t pl = (size_t)oh * (size_t)ow;
            double *da = nlcl_alloc((size_t)nc * pl * sizeof(double), "ssim downsample");
            double *db = nlcl_alloc((size_t)nc * pl * sizeof(double), "ssim downsample");
            if (!da || !db) {
                nlcl_free(da);
                nlcl_free(db);
                nlcl_free(a);
                nlcl_free(b);
                return NLCL_ERR_NOMEM;
            }
            for (int c = 0; c < nc; c++) {
                box_downsample(a + (size_t)c * h * w, h, w, f, da + (size_t)c * pl);
                box_downsample(b + (size_t)c * h * w, h, w, f, db + (size_t)c * pl);
            }
            nlcl_free(a);
            nlcl_free(b);
            a = da;
            b = db;
            h = oh;
            w = ow;
        }
    }
    if (h < n || w < n) {
        nlcl_free(a);
        nlcl_free(b);
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "image %dx%d (after crop%s) is smaller than the %dx%d window",
                              w, h, o->matlab_downsample ? " and downsampling" : "", n, n);
    }
    double g[256];
    if (o->window == NLCL_SSIM_GAUSSIAN)
        nlcl_gaussian_1d(n, o->sigma, g);
    else
        for (int i = 0; i < n; i++) g[i] = 1.0 / n;
    double c1 = (o->k1 * o->data_range) * (o->k1 * o->data_range);
    double c2 = (o->k2 * o->data_range) * (o->k2 * o->data_range);
    double np = (double)n * (double)n;
    double cov_norm = o->sample_covariance ? np / (np - 1) : 1.0;
    double total = 0;
    nlcl_status s = NLCL_OK;
    for (int c = 0; c < nc && s == NLCL_OK; c++) {
        double m = 0;
        s = ssim_plane(a + (size_t)c * h * w, b + (size_t)c * h * w, h, w, g, n, c1, c2, cov_norm,
                       &m);
        total += m;
    }
    nlcl_free(a);
    nlcl_free(b);
    if (s != NLCL_OK) return s;
    double v = total / nc;
    if (!isfinite(v)) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "non-finite pixel values");
    *ssim = v;
    return NLCL_OK;
}
