/* Training data: folders of images, checked once when opened and kept in
 * memory as 8-bit RGB, served as random square crops (docs/TRAINING.md,
 * reference 5.2). */
#ifndef NLCL_TRAIN_DATA_H
#define NLCL_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/rng.h"
#include "nlcl/status.h"

typedef struct nlcl_dataset {
    int count;
    char **paths;      /* (count) */
    uint8_t **pixels;  /* (count) interleaved RGB, h*w*3 */
    int *w, *h;
    size_t bytes;
} nlcl_dataset;

/* List the PNG/JPEG files of every folder and decode each one (OpenMP over
 * files). A file that fails is an error naming it, or with skip_bad a warning
 * passed to warn(ctx, message) and the file is left out. Images whose
 * colours lay outside sRGB and were clipped on loading (info.gamut_clipped)
 * are said in one warning per set. No images at all is an error. `what` ("rainy", "clean") names the set in messages. */
nlcl_status nlcl_dataset_open(nlcl_dataset *ds, const char *what, const char *const *dirs, int ndirs,
                              int skip_bad, void (*warn)(void *ctx, const char *msg), void *ctx);
void nlcl_dataset_free(nlcl_dataset *ds);

/* A ch x cw (height x width) crop of image idx into dst (3, ch, cw) NCHW in
 * [-1, 1], x = u8/255*2-1. Images with a side smaller than the crop are first
 * resized to the crop's size (bilinear, half-pixel centres as cv2.INTER_LINEAR,
 * reference 5.2); otherwise the offset is uniform over all positions. */
void nlcl_dataset_crop(const nlcl_dataset *ds, int idx, int ch, int cw, nlcl_rng *rng, float *dst);

#endif
