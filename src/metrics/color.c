/* Metric images, channel conversion (MATLAB rgb2ycbcr / rgb2gray) and the
 * border crop (nlcl/metrics.h). */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "metrics/metrics_internal.h"

/* MATLAB rgb2ycbcr, 8-bit input: T = origT / 255, offset = origOffset;
 * row 1 of origT is [65.481 128.553 24.966], origOffset(1) = 16. */
#define Y_R (65.481 / 255.0)
#define Y_G (128.553 / 255.0)
#define Y_B (24.966 / 255.0)
/* MATLAB rgb2gray coefficients (rgb2gray.m, R2021a). */
#define G_R 0.298936021293775
#define G_G 0.587043074451121
#define G_B 0.114020904255103

/* MATLAB's round (half away from zero), without a libm call: for |v| <
 * 2^52, v - floor(v) is exact. */
static inline double round_half_away(double v) {
    double a = fabs(v), f = floor(a);
    if (a - f >= 0.5) f += 1;
    return v < 0 ? -f : f;
}

double nlcl_metric_luma(nlcl_metric_channel channel, double r, double g, double b) {
    if (channel == NLCL_METRIC_GRAY) return G_R * r + G_G * g + G_B * b;
    return Y_R * r + Y_G * g + Y_B * b + 16.0;
}

const char *nlcl_metric_channel_label(nlcl_metric_channel c, int round_luma) {
    switch (c) {
    case NLCL_METRIC_RGB: return "RGB";
    case NLCL_METRIC_Y: return round_luma ? "Y BT.601 limited, rounded" : "Y BT.601 limited, double";
    case NLCL_METRIC_GRAY: return round_luma ? "gray MATLAB rgb2gray, rounded"
                                             : "gray MATLAB rgb2gray, double";
    }
    return "?";
}

nlcl_status nlcl_metric_check_image(const nlcl_metric_image *img, const char *what) {
    if (!img || !img->data)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: no image data", what);
    if (img->width <= 0 || img->height <= 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: invalid size %dx%d", what,
                              img->width, img->height);
    if (img->channels != 1 && img->channels != 3)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: %d channels (1 or 3 expected)",
                              what, img->channels);
    return NLCL_OK;
}

static nlcl_status alloc_metric(nlcl_metric_image *out, int w, int h, int c) {
    size_t n;
    out->data = NULL;
    if (w <= 0 || h <= 0 || !nlcl_size_mul4((size_t)w, (size_t)h, (size_t)c, sizeof(double), &n))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid size %dx%dx%d", w, h,
                              c);
    out->data = nlcl_alloc(n, "metric image");
    if (!out->data) return NLCL_ERR_NOMEM;
    out->width = w;
    out->height = h;
    out->channels = c;
    return NLCL_OK;
}

nlcl_status nlcl_metric_image_from_image(const nlcl_image *img, int round_to_8bit,
                                         nlcl_metric_image *out) {
    if (!img || !img->data || !out)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "no image");
    NLCL_TRY(alloc_metric(out, img->width, img->height, 3));
    size_t n = (size_t)img->width * (size_t)img->height * 3;
    for (size_t i = 0; i < n; i++) {
        double v = ((double)img->data[i] + 1.0) * 127.5;
        if (round_to_8bit) v = round_half_away(v);
        out->data[i] = v;
    }
    return NLCL_OK;
}

nlcl_status nlcl_metric_image_from_u8(const unsigned char *pix, int height, int width,
                                      int channels, nlcl_metric_image *out) {
    if (!pix || !out || (channels != 1 && channels != 3 && channels != 4))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "bad arguments");
    int oc = channels == 1 ? 1 : 3;
    NLCL_TRY(alloc_metric(out, width, height, oc));
    size_t hw = (size_t)width * (size_t)height;
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < oc; c++) out->data[(size_t)c * hw + i] = pix[i * channels + c];
    return NLCL_OK;
}

void nlcl_metric_image_free(nlcl_metric_image *img) {
    if (!img) return;
    nlcl_free(img->data);
    img->data = NULL;
}

nlcl_status nlcl_metric_planes(const nlcl_metric_image *img, nlcl_metric_channel channel,
                               int round_luma, int crop, double **planes,
                               int *nc, int *h, int *w) {
    *planes = NULL;
    NLCL_TRY(nlcl_metric_check_image(img, "image"));
    if (channel != NLCL_METRIC_RGB && channel != NLCL_METRIC_Y && channel != NLCL_METRIC_GRAY)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "unknown channel %d",
                              (int)channel);
    if (crop < 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "negative border crop %d", crop);
    if ((long)img->width - 2L * crop < 1 || (long)img->height - 2L * crop < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "a border crop of %d pixels leaves nothing of a %dx%d image",
                              crop, img->width, img->height);
    int W = img->width, H = img->height;
    int ow = W - 2 * crop, oh = H - 2 * crop;
    int oc = (channel == NLCL_METRIC_RGB && img->channels == 3) ? 3 : 1;
    double *p = nlcl_alloc((size_t)oc * (size_t)oh * (size_t)ow * sizeof(double), "metric planes");
    if (!p) return NLCL_ERR_NOMEM;
    size_t hw = (size_t)W * (size_t)H;
    const double *src = img->data;
    for (int c = 0; c < oc; c++)
        for (int y = 0; y < oh; y++) {
            double *dst = p + ((size_t)c * oh + y) * ow;
            size_t row = (size_t)(y + crop) * W + crop;
            if (img->channels == 1 || channel == NLCL_METRIC_RGB) {
                memcpy(dst, src + (size_t)c * hw + row, (size_t)ow * sizeof(double));
                continue;
            }
            const double *r = src + row, *g = src + hw + row, *b = src + 2 * hw + row;
            if (channel == NLCL_METRIC_GRAY)
                for (int x = 0; x < ow; x++) dst[x] = G_R * r[x] + G_G * g[x] + G_B * b[x];
            else
                for (int x = 0; x < ow; x++) dst[x] = Y_R * r[x] + Y_G * g[x] + Y_B * b[x] + 16.0;
            if (round_luma)
                for (int x = 0; x < ow; x++)
                    dst[x] = NLCL_MIN(255.0, NLCL_MAX(0.0, round_half_away(dst[x])));
        }
    *planes = p;
    *nc = oc;
    *h = oh;
    *w = ow;
    return NLCL_OK;
}

nlcl_status nlcl_metric_check_pair(const nlcl_metric_image *pred, const nlcl_metric_image *ref) {
    NLCL_TRY(nlcl_metric_check_image(pred, "prediction"));
    NLCL_TRY(nlcl_metric_check_image(ref, "reference"));
    if (pred->width != ref->width || pred->height != ref->height ||
        pred->channels != ref->channels)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "size mismatch: prediction %dx%dx%d, reference %dx%dx%d",
                              pred->width, pred->height, pred->channels, ref->width, ref->height,
                              ref->channels);
    return NLCL_OK;
}

nlcl_status nlcl_metric_pair_planes(const nlcl_metric_image *pred, const nlcl_metric_image *ref,
                                    nlcl_metric_channel channel, int round_luma, int crop,
                                    double **a, double **b, int *nc, int *h, int *w) {
    *b = NULL;
    NLCL_TRY(nlcl_metric_planes(pred, channel, round_luma, crop, a, nc, h, w));
    nlcl_status s = nlcl_metric_planes(ref, channel, round_luma, crop, b, nc, h, w);
    if (s != NLCL_OK) {
        nlcl_free(*a);
        *a = NULL;
    }
    return s;
}
