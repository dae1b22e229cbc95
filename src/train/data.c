/* Training data (src/train/data.h). */
#include "train/data.h"

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/files.h"
#include "nlcl/image.h"

void nlcl_dataset_free(nlcl_dataset *ds) {
    for (int i = 0; i < ds->count; i++) {
        free(ds->paths[i]);
        free(ds->pixels[i]);
    }
    free(ds->paths);
    free(ds->pixels);
    free(ds->w);
    free(ds->h);
    memset(ds, 0, sizeof *ds);
}

/* The image files of every folder, in order, into *all (*n of them); files
 * in formats nlcl cannot read are said in one warning per folder. */
static nlcl_status list_dirs(const char *what, const char *const *dirs, int ndirs,
                             void (*warn)(void *ctx, const char *msg), void *ctx, char ***all, int *n) {
    for (int d = 0; d < ndirs; d++) {
        char **list, **un = NULL;
        int k, nun = 0;
        nlcl_status s = nlcl_list_images_ex(dirs[d], 0, &list, &k, &un, &nun);
        if (s == NLCL_OK && nun > 0 && warn) { /* never left out unsaid */
            char m[1200];
            snprintf(m, sizeof m, "warning: %s: %d file%s skipped, in formats nlcl cannot read (e.g. %s, %s)",
                     dirs[d], nun, nun == 1 ? "" : "s", nlcl_basename(un[0]), nlcl_skipped_image_reason(un[0]));
            warn(ctx, m);
        }
        nlcl_list_free(un);
        if (s != NLCL_OK) return nlcl_error_prefix(s, "%s images: ", what);
        char **na = realloc(*all, sizeof *na * (size_t)(*n + k + 1));
        if (!na) {
            nlcl_list_free(list);
            return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
        }
        *all = na;
        for (int i = 0; i < k; i++) (*all)[(*n)++] = list[i], list[i] = NULL;
        free(list);
    }
    return NLCL_OK;
}

/* One file as 8-bit RGB (*px, malloc'd) and the pixels whose colours were
 * clipped to sRGB on loading (*clip); a failure's message into msg. */
static nlcl_status decode_one(const char *path, uint8_t **px, int *w, int *h, uint64_t *clip, char *msg,
                              size_t msg_len) {
    nlcl_image img = {0};
    nlcl_image_info info;
    nlcl_status s = nlcl_image_load(path, &img, &info);
    if (s == NLCL_OK) {
        *px = malloc((size_t)img.width * img.height * 3);
        if (*px) {
            nlcl_image_to_rgb8(&img, NLCL_QUANT_ROUND, *px);
            *w = img.width;
            *h = img.height;
            *clip = info.gamut_clipped;
        } else {
            s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
        }
        nlcl_image_free(&img);
    }
    if (s != NLCL_OK) snprintf(msg, msg_len, "%s", nlcl_error_message());
    return s;
}

/* Images whose colours lay outside sRGB (a wide-gamut or CMYK profile) and
 * were clipped to it: one warning per set, as derain and eval give one per file. */
static void warn_clipped(const char *what, char **all, const nlcl_status *st, const uint64_t *clip,
                         const int *w, const int *h, int n, void (*warn)(void *ctx, const char *msg),
                         void *ctx) {
    int k = 0, first = -1;
    for (int i = 0; i < n; i++)
        if (st[i] == NLCL_OK && clip[i]) k++, first = first < 0 ? i : first;
    if (!k || !warn) return;
    char m[1400];
    snprintf(m, sizeof m,
             "warning: %d of %d %s images have colours outside sRGB (e.g. %s: %llu of %llu pixels; the "
             "file's colour profile is wider); nlcl works in sRGB and trains on them clipped to the "
             "nearest sRGB colour",
             k, n, what, all[first], (unsigned long long)clip[first],
             (unsigned long long)w[first] * (unsigned long long)h[first]);
    warn(ctx, m);
}

nlcl_status nlcl_dataset_open(nlcl_dataset *ds, const char *what, const char *const *dirs, int ndirs,
                              int skip_bad, void (*warn)(void *ctx, const char *msg), void *ctx) {
    memset(ds, 0, sizeof *ds);
    char **all = NULL;
    int n = 0;
    nlcl_status ls = list_dirs(what, dirs, ndirs, warn, ctx, &all, &n);
    if (ls != NLCL_OK) {
        for (int i = 0; i < n; i++) free(all[i]);
        free(all);
        return ls;
    }
    if (n == 0) {
        free(all);
        char names[900] = "";
        for (int i = 0, k = 0; i < ndirs && k < (int)sizeof names; i++)
            k += snprintf(names + k, sizeof names - (size_t)k, "%s%s", i ? ", " : "", dirs[i]);
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "no %s images (PNG, JPEG, TIFF, BMP) in %s", what,
                              names);
    }
    uint8_t **px = calloc((size_t)n, sizeof *px);
    int *w = calloc((size_t)n, sizeof *w), *h = calloc((size_t)n, sizeof *h);
    nlcl_status *st = calloc((size_t)n, sizeof *st);
    char (*msg)[1024] = calloc((size_t)n, sizeof *msg);
    uint64_t *clip = calloc((size_t)n, sizeof *clip);
    if (!px || !w || !h || !st || !msg || !clip) {
        free(px), free(w), free(h), free(st), free(msg), free(clip);
        for (int i = 0; i < n; i++) free(all[i]);
        free(all);
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) st[i] = decode_one(all[i], &px[i], &w[i], &h[i], &clip[i], msg[i], sizeof msg[i]);
    warn_clipped(what, all, st, clip, w, h, n, warn, ctx);
    free(clip);
    nlcl_status res = NLCL_OK;
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (st[i] == NLCL_OK) {
            all[kept] = all[i], px[kept] = px[i], w[kept] = w[i], h[kept] = h[i];
            ds->bytes += (size_t)w[i] * h[i] * 3;
            kept++;
            continue;
        }
        if (skip_bad) {
            char m[1100];
            snprintf(m, sizeof m, "skipping %s image: %s", what, msg[i]);
            if (warn) warn(ctx, m);
            free(all[i]);
        } else if (res == NLCL_OK) {
            res = nlcl_error_set(st[i], "%s (the %s images are checked before training; "
                                        "--skip-bad leaves such files out)",
                                 msg[i], what);
            free(all[i]);
        } else {
            free(all[i]);
        }
    }
    free(st);
    free(msg);
    ds->count = kept;
    ds->paths = all;
    ds->pixels = px;
    ds->w = w;
    ds->h = h;
    if (res == NLCL_OK && kept == 0)
        res = nlcl_error_set(NLCL_ERR_INVALID_ARG, "none of the %s images could be read", what);
    if (res != NLCL_OK) nlcl_dataset_free(ds);
    return res;
}

/* u8 -> [-1, 1], the image loader's convention */
static float lut[256];
static int lut_ready;
static void init_lut(void) {
    if (lut_ready) return;
    for (int v = 0; v < 256; v++) lut[v] = (float)((double)v / 255.0 * 2.0 - 1.0);
    lut_ready = 1;
}

/* Source taps of output pixel i along an axis resized by `scale` (source
 * length n): half-pixel centres, clamped at the borders (cv2.INTER_LINEAR). */
static void linear_taps(int i, double scale, int n, int *i0, int *i1, double *frac) {
    double f = (i + 0.5) * scale - 0.5;
    if (f < 0) f = 0;
    *i0 = (int)f;
    if (*i0 > n - 1) *i0 = n - 1;
    *i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
    *frac = f - *i0;
}

void nlcl_dataset_crop(const nlcl_dataset *ds, int idx, int ch, int cw, nlcl_rng *rng, float *dst) {
    init_lut();
    const uint8_t *p = ds->pixels[idx];
    int w = ds->w[idx], h = ds->h[idx];
    size_t plane = (size_t)ch * cw;
    if (w < cw || h < ch) {
        /* bilinear resize of the whole image to ch x cw (cv2.INTER_LINEAR) */
        double sx = (double)w / cw, sy = (double)h / ch;
        for (int y = 0; y < ch; y++) {
            int y0, y1;
            double ay;
            linear_taps(y, sy, h, &y0, &y1, &ay);
            for (int x = 0; x < cw; x++) {
                int x0, x1;
                double ax;
                linear_taps(x, sx, w, &x0, &x1, &ax);
                for (int c = 0; c < 3; c++) {
                    double v00 = lut[p[((size_t)y0 * w + x0) * 3 + c]], v01 = lut[p[((size_t)y0 * w + x1) * 3 + c]];
                    double v10 = lut[p[((size_t)y1 * w + x0) * 3 + c]], v11 = lut[p[((size_t)y1 * w + x1) * 3 + c]];
                    double v = (1 - ay) * ((1 - ax) * v00 + ax * v01) + ay * ((1 - ax) * v10 + ax * v11);
                    dst[c * plane + (size_t)y * cw + x] = (float)v;
                }
            }
        }
        return;
    }
    int x0 = (int)nlcl_rng_below(rng, (uint32_t)(w - cw + 1));
    int y0 = (int)nlcl_rng_below(rng, (uint32_t)(h - ch + 1));
    for (int y = 0; y < ch; y++) {
        const uint8_t *row = p + ((size_t)(y0 + y) * w + x0) * 3;
        for (int x = 0; x < cw; x++)
            for (int c = 0; c < 3; c++) dst[c * plane + (size_t)y * cw + x] = lut[row[x * 3 + c]];
    }
}
