/* Validation during training (src/train/validate.h). */
#include "train/validate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/metrics.h"

void nlcl_val_free(nlcl_val_set *v) {
    for (int i = 0; i < v->count; i++) {
        free(v->rainy[i]);
        free(v->clean[i]);
    }
    free(v->rainy);
    free(v->clean);
    memset(v, 0, sizeof *v);
}

/* length of the name of path without folder and extension */
static const char *stem(const char *path, size_t *len) {
    const char *b = nlcl_basename(path), *dot = strrchr(b, '.');
    *len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    return b;
}

nlcl_status nlcl_val_open(nlcl_val_set *v, const char *rainy_dir, const char *clean_dir) {
    memset(v, 0, sizeof *v);
    char **r = NULL, **c = NULL;
    int nr = 0, nc = 0;
    nlcl_status s = nlcl_list_images(rainy_dir, &r, &nr);
    if (s == NLCL_OK) s = nlcl_list_images(clean_dir, &c, &nc);
    if (s == NLCL_OK && nr == 0)
        s = nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s holds no images", rainy_dir);
    if (s == NLCL_OK && (!(v->rainy = calloc((size_t)nr, sizeof(char *))) ||
                         !(v->clean = calloc((size_t)nr, sizeof(char *)))))
        s = nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    for (int i = 0; s == NLCL_OK && i < nr; i++) {
        size_t ls, lc;
        const char *sr = stem(r[i], &ls);
        int found = -1;
        for (int j = 0; j < nc && s == NLCL_OK; j++) {
            const char *sc = stem(c[j], &lc);
            if (lc != ls || strncmp(sr, sc, ls)) continue;
            if (found >= 0)
                s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                   "%s has two clean partners, %s and %s; keep one",
                                   r[i], c[found], c[j]);
            found = j;
        }
        if (s != NLCL_OK) break;
        if (found < 0) {
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                               "%s has no clean image of the same name (%.*s.*) in %s",
                               r[i], (int)ls, sr, clean_dir);
            break;
        }
        nlcl_image_info a, b;
        s = nlcl_image_probe(r[i], &a);
        if (s == NLCL_OK) s = nlcl_image_probe(c[found], &b);
        if (s == NLCL_OK && (a.width < NLCL_VAL_MIN_SIZE || a.height < NLCL_VAL_MIN_SIZE))
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                               "%s is %dx%d, smaller than SSIM's %dx%d window", r[i],
                               a.width, a.height, NLCL_VAL_MIN_SIZE, NLCL_VAL_MIN_SIZE);
        else if (s == NLCL_OK && (a.width != b.width || a.height != b.height))
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s is %dx%d but %s is %dx%d", r[i],
                               a.width, a.height, c[found], b.width, b.height);
        if (s != NLCL_OK) break;
        v->rainy[i] = strdup(r[i]);
        v->clean[i] = strdup(c[found]);
        v->count = i + 1;
        if (!v->rainy[i] || !v->clean[i]) s = nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    }
    if (r) nlcl_list_free(r);
    if (c) nlcl_list_free(c);
    if (s != NLCL_OK) nlcl_val_free(v);
    return s;
}

static nlcl_status to_metric(const nlcl_image *im, const nlcl_image_info *info,
                             nlcl_metric_image *out) {
    return nlcl_metric_image_from_image(im, info->bit_depth <= 8, out);
}

/* Count image i of set k when its colours were clipped to sRGB on loading. */
static void count_clipped(nlcl_val_set *v, int k, int i, const nlcl_image *im, const nlcl_image_info *info) {
    if (!info->gamut_clipped) return;
    if (!v->clipped[k]++) {
        v->first[k] = i;
        v->first_px[k] = info->gamut_clipped;
        v->first_total[k] = (uint64_t)im->width * (uint64_t)im->height;
    }
}

int nlcl_val_clipped_warning(const nlcl_val_set *v, int k, char *buf, size_t n) {
    buf[0] = '\0';
    if (k < 0 || k > 1 || !v->clipped[k]) return 0;
    snprintf(buf, n,
             "warning: %d of %d %s validation images have colours outside sRGB (e.g. %s: %llu of %llu "
             "pixels; the file's colour profile is wider); nlcl works in sRGB and scores them clipped to "
             "the nearest sRGB colour",
             v->clipped[k], v->count, k ? "clean" : "rainy", (k ? v->clean : v->rainy)[v->first[k]],
             (unsigned long long)v->first_px[k], (unsigned long long)v->first_total[k]);
    return 1;
}

nlcl_status nlcl_val_score(nlcl_val_set *v, nlcl_model *m, double *psnr, double *ssim) {
    nlcl_psnr_opts po;
    nlcl_ssim_opts so;
    nlcl_psnr_opts_init(&po);
    nlcl_ssim_opts_init(&so);
    double sp = 0, ss = 0;
    nlcl_status s = NLCL_OK;
    v->clipped[0] = v->clipped[1] = 0;
    for (int i = 0; s == NLCL_OK && i < v->count; i++) {
        nlcl_image in = {0}, out = {0}, gt = {0};
        nlcl_image_info ii, gi;
        nlcl_metric_image mp = {0}, mg = {0};
        s = nlcl_image_load(v->rainy[i], &in, &ii);
        if (s == NLCL_OK) s = nlcl_image_load(v->clean[i], &gt, &gi);
        if (s == NLCL_OK) count_clipped(v, 0, i, &in, &ii), count_clipped(v, 1, i, &gt, &gi);
        if (s == NLCL_OK && m) {
            s = nlcl_model_run_image(m, &in, &out);
            if (s == NLCL_OK) { /* the 8-bit pixels 'nlcl derain' saves (the writers' quantizer) */
                uint8_t *rgb = malloc((size_t)3 * out.width * out.height);
                if (!rgb) s = nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
                else {
                    nlcl_image_to_rgb8(&out, NLCL_QUANT_ROUND, rgb);
                    s = nlcl_metric_image_from_u8(rgb, out.height, out.width, 3, &mp);
                    free(rgb);
                }
            }
        } else if (s == NLCL_OK) {
            s = to_metric(&in, &ii, &mp);
        }
        if (s == NLCL_OK) s = to_metric(&gt, &gi, &mg);
        double p = 0, q = 0;
        if (s == NLCL_OK) s = nlcl_psnr(&mp, &mg, &po, &p);
        if (s == NLCL_OK) s = nlcl_ssim(&mp, &mg, &so, &q);
        if (s == NLCL_OK) sp += p, ss += q;
        nlcl_metric_image_free(&mp);
        nlcl_metric_image_free(&mg);
        nlcl_image_free(&in);
        nlcl_image_free(&out);
        nlcl_image_free(&gt);
    }
    if (s != NLCL_OK) return s;
    *psnr = sp / v->count;
    *ssim = ss / v->count;
    return NLCL_OK;
}
