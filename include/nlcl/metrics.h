/* nlcl/metrics.h - full-reference PSNR and SSIM, no-reference NIQE.
 *
 * Every number an image-quality paper reports depends on conventions (RGB or
 * luma, which luma, rounded or not, border crop, data range, SSIM window,
 * MATLAB's automatic downsampling, NIQE's pristine model and input channel).
 * Here each convention is an explicit field of an options struct, and
 * nlcl_*_convention() spells the chosen one out, so that every printed value
 * can carry it.
 *
 * Images. Metrics read an nlcl_metric_image: planar doubles, shape
 * (channels, height, width) with channels 1 (grey or luma) or 3 (R, G, B),
 * on the 8-bit scale 0..255 (an 8-bit source gives exact integers).
 * nlcl_metric_image_from_image() converts the loader's float [-1, 1] images
 * (nlcl/image.h): v = (x + 1) * 127.5, rounded to the integer it came from
 * when the source had at most 8 bits per sample. Alpha never reaches the
 * metrics: the loader drops it (an opaque RGBA image scores like its RGB).
 * Arithmetic is double throughout; 8-bit arithmetic (where 0 - 255 wraps)
 * never happens.
 *
 * Channels (nlcl_metric_channel), from an RGB image:
 *   RGB  : R, G, B as they are. PSNR uses one MSE over all three channels
 *          (MATLAB psnr() on an HxWx3 array); SSIM is computed per channel
 *          and the three means are averaged.
 *   Y    : ITU-R BT.601 limited-range ("studio swing") luma as MATLAB's
 *          rgb2ycbcr computes it for 8-bit input:
 *              Y = 65.481/255 R + 128.553/255 G + 24.966/255 B + 16
 *          (R, G, B in 0..255; Y in 16..235; pure red (255,0,0) -> 81.481).
 *          Coefficients: MATLAB rgb2ycbcr (origT row 1 and origOffset),
 *          which are BT.601's 0.299/0.587/0.114 scaled by 219/255.
 *   GRAY : MATLAB rgb2gray with its exact weights
 *              0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B
 *          (the first row of inv of the NTSC YIQ matrix; full range, 0..255).
 * `round_luma` selects between the two practices found in the literature:
 *   0: luma kept in double, not rounded. This is what deraining evaluation
 *      code does (im2double, rgb2ycbcr on doubles, e.g. the Rain100L
 *      statistic scripts; BasicSR with test_y_channel): the Rain100L
 *      input-vs-clean baseline 26.90 dB / 0.838 is computed this way.
 *   1: luma rounded half away from zero to an integer and clamped to 0..255,
 *      which is what MATLAB returns for uint8 input (rgb2ycbcr, rgb2gray on
 *      uint8 images). The NIQE reference values are computed this way.
 * With channels == 1 the single plane is used as it is, whatever `channel`
 * says (and RGB-only requests are still valid).
 *
 * Border crop: `crop` pixels are removed on each of the four sides after the
 * channel conversion (the "crop_border" / "shave" of SR and deraining code).
 *
 * Memory (besides the caller's metric images, 8 bytes per sample):
 * PSNR and SSIM allocate the converted planes of both images (8 bytes per
 * pixel per plane: 16 B/pixel on Y or gray, 48 on RGB) plus, for SSIM,
 * 5 bands of 64 + n - 1 rows per thread; NIQE about 26 bytes per pixel at its peak.
 * Time is linear in the pixel count.
 *
 * Errors: NLCL_ERR_INVALID_ARG naming the image and the problem
 * messages for size mismatches, images smaller than a window or block after
 * the crop, bad options; NLCL_ERR_NOMEM. Functions never print, never return
 * NaN (a metric that would be NaN is an error instead) and are reentrant;
 * they use OpenMP inside when not already in a parallel region.
 */
#ifndef NLCL_METRICS_H
#define NLCL_METRICS_H

#include <stddef.h>

#include "nlcl/export.h"
#include "nlcl/image.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

typedef struct nlcl_metric_image {
    int width, height; /* > 0 */
    int channels;      /* 1 or 3 */
    double *data;      /* (channels, height, width), 0..255 scale */
} nlcl_metric_image;

/* Convert a loaded image (1, 3, h, w) float [-1, 1] to a metric image with
 * 3 channels: v = (x + 1) * 127.5; with round_to_8bit = 1 (use it when the
 * file had <= 8 bits per sample, nlcl_image_info.bit_depth) v is rounded to
 * the nearest integer, recovering the file's exact 8-bit values; 16-bit
 * sources keep their finer levels (round_to_8bit = 0). out->data is
 * allocated (free with nlcl_metric_image_free). Errors: INVALID_ARG, NOMEM. */
nlcl_status nlcl_metric_image_from_image(const nlcl_image *img, int round_to_8bit,
                                         nlcl_metric_image *out);
/* Wrap caller-owned interleaved 8-bit pixels (h, w, c) with c = 1, 3 or 4
 * (alpha ignored) into an allocated 1- or 3-channel metric image. */
nlcl_status nlcl_metric_image_from_u8(const unsigned char *pix, int height, int width,
                                      int channels, nlcl_metric_image *out);
void nlcl_metric_image_free(nlcl_metric_image *img);

typedef enum nlcl_metric_channel {
    NLCL_METRIC_RGB = 0,  /* per channel (see above) */
    NLCL_METRIC_Y = 1,    /* BT.601 limited-range luma, MATLAB rgb2ycbcr */
    NLCL_METRIC_GRAY = 2  /* MATLAB rgb2gray */
} nlcl_metric_channel;

/* The luma plane of an RGB pixel triple (0..255 scale), as described above,
 * unrounded. Exposed for tests and tools. */
double nlcl_metric_luma(nlcl_metric_channel channel, double r, double g, double b);

/* ---- PSNR ----------------------------------------------------------------
 * PSNR = 10 log10(L^2 / MSE), MSE = mean over all (channel, y, x) of
 * (pred - ref)^2 in double, L = data_range (255 for the 0..255 scale).
 * Identical images (MSE = 0) give +INFINITY (the only non-finite result).
 * Examples: a constant difference of 1 gives 10 log10(255^2) = 48.1308 dB;
 * 0 vs 255 everywhere gives exactly 0 dB. */
typedef struct nlcl_psnr_opts {
    nlcl_metric_channel channel; /* default NLCL_METRIC_Y */
    int round_luma;              /* default 0 (luma in double) */
    int crop;                    /* pixels removed on each side, default 0 */
    double data_range;           /* L, default 255 */
} nlcl_psnr_opts;

void nlcl_psnr_opts_init(nlcl_psnr_opts *o);
/* Errors: INVALID_ARG (sizes or channel counts differ, crop leaves no pixel,
 * data_range <= 0), NOMEM. */
nlcl_status nlcl_psnr(const nlcl_metric_image *pred, const nlcl_metric_image *ref,
                      const nlcl_psnr_opts *o, double *psnr_db);
/* e.g. "PSNR(Y BT.601 limited, double, crop 0, range 255)". Truncates to n. */
void nlcl_psnr_convention(const nlcl_psnr_opts *o, char *buf, size_t n);

/* ---- SSIM ----------------------------------------------------------------
 * Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error
 * visibility to structural similarity", IEEE TIP 13(4), 2004, eq. (13), as
 * their ssim.m computes it: local statistics under a normalised window w,
 *   mu_x = sum w x, sigma_x^2 = sum w x^2 - mu_x^2, sigma_xy = sum w xy - mu_x mu_y
 *   SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
 *   C1 = (K1 L)^2, C2 = (K2 L)^2,
 * evaluated only where the window fits inside the image ('valid', no
 * padding: the map is (h - n + 1) x (w - n + 1)), and averaged over the map.
 * Default (nlcl_ssim_opts_init): 11x11 Gaussian, sigma 1.5, K1 0.01, K2 0.03,
 * L 255, population (biased) statistics, on Y, no downsampling.
 * `matlab_downsample` = 1 reproduces the automatic downsampling of Wang's
 * ssim.m (2009 version): f = max(1, round(min(h, w) / 256)); if f > 1 each
 * plane is filtered with an f x f box (imfilter, 'symmetric' padding, 'same')
 * and every f-th pixel is kept (img(1:f:end, 1:f:end)) before SSIM.
 * `sample_covariance` = 1 multiplies the three (co)variances by N/(N-1),
 * N = n*n, as scikit-image does by default. nlcl_ssim_opts_skimage() gives
 * scikit-image 0.19's structural_similarity() defaults for 8-bit input:
 * 7x7 uniform window, sample covariance, K1 0.01, K2 0.03, data_range 255
 * (its default for uint8 is the dtype range), on RGB.
 * Errors: INVALID_ARG (sizes differ; image smaller than the n x n window
 * after crop and downsampling, e.g. 6x6 or 10x3 against 11x11; even or < 2
 * window size; sigma <= 0), NOMEM. */
typedef enum nlcl_ssim_window {
    NLCL_SSIM_GAUSSIAN = 0, /* exp(-(i^2 + j^2) / (2 sigma^2)), normalised (fspecial) */
    NLCL_SSIM_UNIFORM = 1   /* all weights 1 / n^2 */
} nlcl_ssim_window;

typedef struct nlcl_ssim_opts {
    nlcl_metric_channel channel; /* default Y */
    int round_luma;              /* default 0 */
    int crop;                    /* default 0 */
    double data_range;           /* L, default 255 */
    nlcl_ssim_window window;     /* default GAUSSIAN */
    int win_size;                /* odd, default 11 */
    double sigma;                /* Gaussian sigma, default 1.5 */
    double k1, k2;               /* default 0.01, 0.03 */
    int sample_covariance;       /* default 0 (population statistics) */
    int matlab_downsample;       /* default 0 */
} nlcl_ssim_opts;

void nlcl_ssim_opts_init(nlcl_ssim_opts *o);
void nlcl_ssim_opts_skimage(nlcl_ssim_opts *o);
nlcl_status nlcl_ssim(const nlcl_metric_image *pred, const nlcl_metric_image *ref,
                      const nlcl_ssim_opts *o, double *ssim);
/* e.g. "SSIM(Y BT.601 limited, double, gaussian 11x11 sigma 1.5, K1 0.01,
 * K2 0.03, range 255, population cov, no downsampling, crop 0)". */
void nlcl_ssim_convention(const nlcl_ssim_opts *o, char *buf, size_t n);

/* ---- NIQE ----------------------------------------------------------------
 * Mittal, Soundararajan, Bovik, "Making a 'completely blind' image quality
 * analyzer", IEEE SPL 20(3), 2013, as the LIVE MATLAB release computes it
 * (computequality.m with its modelparameters.mat):
 *  1. grey plane (GRAY: rgb2gray, or Y: rgb2ycbcr), rounded as MATLAB does
 *     for uint8 input when round_luma = 1 (default); border crop;
 *  2. crop to whole B x B blocks (B = 96), anchored at the top-left;
 *  3. for scale s = 1, 2: MSCN coefficients (im - mu) / (sigma + 1) with mu,
 *     sigma from the 7x7 Gaussian window fspecial('gaussian', 7, 7/6) and
 *     'replicate' borders (eq. 1-3 of the paper); per (B/s) x (B/s) block the
 *     18 features of computefeature.m: [alpha, (betal + betar)/2] of an AGGD
 *     fit of the coefficients, then for the circular shifts (0,1), (1,0),
 *     (1,1), (1,-1) of the block [alpha, eta, betal, betar] of an AGGD fit of
 *     the products, eta = (betar - betal) Gamma(2/alpha)/Gamma(1/alpha);
 *     AGGD fits by moment matching on the grid alpha = 0.2:0.001:10
 *     (estimateaggdparam.m); the image for s = 2 is MATLAB's
 *     imresize(im, 0.5) (bicubic a = -0.5 with antialiasing: 8 taps,
 *     symmetric borders);
 *  4. features of all blocks (36 per block) -> mean mu_d (nanmean) and
 *     covariance C_d (nancov: rows with a NaN dropped, N-1 normalisation);
 *     no sharpness threshold (the release scores every block);
 *  5. NIQE = sqrt((mu_p - mu_d) pinv((C_p + C_d)/2) (mu_p - mu_d)^T), with
 *     the pristine mu_p, C_p of the release compiled into the library
 *     and a MATLAB-style pseudo-inverse (eigenvalues below
 *     36 * eps(largest) dropped).
 * Lower is better. The MSCN numerator is computed from differences to the
 * centre pixel grouped by window radius, so that locally flat (or
 * point-symmetric) neighbourhoods give coefficients that are exactly 0, as
 * they are analytically; MATLAB's own rounding turns some of them into
 * +-1e-14 values, which moves NIQE on images with flat areas by up to a few
 * 0.1% (nlcl's tests measure the agreement).
 * Minimum size: one B x B block after the crop (96 x 96 by default); the
 * half scale then has one (B/2) x (B/2) block. Smaller: INVALID_ARG.
 * Errors: INVALID_ARG (too small, channel RGB, block_size not even or < 16,
 * every block flat so that NIQE is undefined), NOMEM. */
typedef struct nlcl_niqe_opts {
    nlcl_metric_channel channel; /* GRAY (default, as computequality.m) or Y */
    int round_luma;              /* default 1 (MATLAB on uint8 images) */
    int crop;                    /* default 0 */
    int block_size;              /* default 96 */
} nlcl_niqe_opts;

void nlcl_niqe_opts_init(nlcl_niqe_opts *o);
nlcl_status nlcl_niqe(const nlcl_metric_image *img, const nlcl_niqe_opts *o, double *niqe);
/* e.g. "NIQE(gray MATLAB rgb2gray, rounded, LIVE pristine model, 96x96 blocks, crop 0)". */
void nlcl_niqe_convention(const nlcl_niqe_opts *o, char *buf, size_t n);

/* The compiled-in pristine model of the LIVE release (36 and 36x36,
 * row-major), for tests and tools. */
extern const double nlcl_niqe_pristine_mu[36];
extern const double nlcl_niqe_pristine_cov[36 * 36];

NLCL_API_END
#endif
