/* Validation during training: a folder of rainy images paired by file stem
 * with a folder of clean ones, scored by Y-PSNR / SSIM after deraining with
 * the current G_B (include/nlcl/train.h, nlcl_train_job.val_*). */
#ifndef NLCL_TRAIN_VALIDATE_H
#define NLCL_TRAIN_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/model.h"
#include "nlcl/status.h"

#define NLCL_VAL_MIN_SIZE 11 /* SSIM's window */

typedef struct nlcl_val_set {
    int count;
    char **rainy, **clean; /* paths, count each */
    /* Set by nlcl_val_score, per set ([0] rainy, [1] clean): how many images
     * had colours outside sRGB, clipped on loading (info.gamut_clipped), and
     * the first of them (pair index, clipped pixels, all its pixels). */
    int clipped[2], first[2];
    uint64_t first_px[2], first_total[2];
} nlcl_val_set;

/* Pair every image of rainy_dir with the image of clean_dir that has the same
 * name without extension (clean images without a rainy partner are
 * ignored). Each pair is probed: same size, at least 11x11, readable.
 * Errors (naming the folder or image): IO (a folder missing), INVALID_ARG
 * naming the rainy image without a clean partner or with two, a size
 * mismatch, a too small image, or an empty folder; those of nlcl_image_probe. */
nlcl_status nlcl_val_open(nlcl_val_set *v, const char *rainy_dir, const char *clean_dir);
void nlcl_val_free(nlcl_val_set *v);
/* Mean Y-PSNR (dB) and SSIM over the pairs, of m's output clamped to [-1, 1]
 * and rounded to 8 bits as 'nlcl derain' saves it, against the clean image,
 * with 'nlcl eval''s default conventions (BT.601 luma, no crop). m = NULL
 * scores the rainy images themselves. Errors: those of loading and running. */
nlcl_status nlcl_val_score(nlcl_val_set *v, nlcl_model *m, double *psnr, double *ssim);
/* After nlcl_val_score: the warning for the images of set k (0 rainy, 1
 * clean) whose colours were clipped to sRGB, as nlcl_dataset_open gives it
 * for the training images, into buf; returns 0 (buf "") when there are none. */
int nlcl_val_clipped_warning(const nlcl_val_set *v, int k, char *buf, size_t n);

#endif
