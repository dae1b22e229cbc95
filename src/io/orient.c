/* EXIF/TIFF orientation applied to a decoded image (src/io/image_internal.h).
 *
 * Orientation o says how the stored rows must be turned to stand upright
 * (EXIF 2.3 / TIFF 6.0 tag 274; the transforms of PIL's exif_transpose). For
 * an output pixel (x, y) of the upright image, with W x H the stored size:
 *   2  (W-1-x, y)        mirror left-right
 *   3  (W-1-x, H-1-y)    rotate 180
 *   4  (x, H-1-y)        mirror top-bottom
 *   5  (y, x)            transpose
 *   6  (y, H-1-x)        rotate 90 clockwise
 *   7  (W-1-y, H-1-x)    transverse
 *   8  (W-1-y, x)        rotate 90 counter-clockwise
 * is the stored pixel it comes from; 5..8 make the image H wide, W high. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "image_internal.h"

/* Stored coordinates of upright pixel (x, y). */
static inline void source_xy(int o, size_t W, size_t H, size_t x, size_t y, size_t *sx,
                             size_t *sy) {
    switch (o) {
    case 2: *sx = W - 1 - x, *sy = y; break;
    case 3: *sx = W - 1 - x, *sy = H - 1 - y; break;
    case 4: *sx = x, *sy = H - 1 - y; break;
    case 5: *sx = y, *sy = x; break;
    case 6: *sx = y, *sy = H - 1 - x; break;
    case 7: *sx = W - 1 - y, *sy = H - 1 - x; break;
    default: *sx = W - 1 - y, *sy = x; break; /* 8 */
    }
}

/* dst (the upright plane, ow x oh) from src (the stored one, W x H). */
static void orient_plane(const float *src, float *dst, size_t W, size_t H, int orientation) {
    const int swap = orientation >= 5;
    const size_t ow = swap ? H : W, oh = swap ? W : H;
    for (size_t y = 0; y < oh; y++)
        for (size_t x = 0; x < ow; x++) {
            size_t sx, sy;
            source_xy(orientation, W, H, x, y, &sx, &sy);
            dst[y * ow + x] = src[sy * W + sx];
        }
}

nlcl_status nlcl_image_orient(const char *name, nlcl_image *img,
                              int orientation) {
    if (orientation < 2 || orientation > 8) return NLCL_OK;
    const int swap = orientation >= 5;
    const size_t W = (size_t)img->width, H = (size_t)img->height;
    const size_t ow = swap ? H : W, oh = swap ? W : H, P = W * H;
    nlcl_image out = {0};
    NLCL_TRY(nlcl_image_alloc_for(name, &out, (int)ow, (int)oh));
    for (int c = 0; c < 3; c++)
        orient_plane(img->data + (size_t)c * P, out.data + (size_t)c * P, W, H, orientation);
    nlcl_image_free(img);
    *img = out;
    return NLCL_OK;
}

nlcl_status nlcl_plane_orient(const char *name, float **plane, int width, int height,
                              int orientation) {
    if (orientation < 2 || orientation > 8) return NLCL_OK;
    const size_t W = (size_t)width, H = (size_t)height;
    float *out = malloc(W * H * sizeof *out); /* W * H: a decoded image's, no overflow */
    if (!out) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory for the alpha", name);
    orient_plane(*plane, out, W, H, orientation);
    free(*plane);
    *plane = out;
    return NLCL_OK;
}
