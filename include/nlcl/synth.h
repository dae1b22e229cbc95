/* nlcl/synth.h - synthetic rain for paired training and evaluation data, and a
 * generated test scene for the demo.
 *
 * Rain follows the heavy-rain model of Li, Cheong and Tan ("Heavy Rain Image
 * Restoration: Integrating Physics Model and Conditional Adversarial
 * Learning", CVPR 2019, Eq. 1), with values in [0, 1]:
 *     O = T * (B + S) + (1 - T) * A,   clipped to [0, 1]
 *  - S, the streak layer: `layers` depth planes of streaks, the nearest first.
 *    Plane i of L sits at relative depth z = i / (L - 1) (z = 0 for L = 1) and
 *    draws density * (1 + z) streaks per pixel, each a motion-blurred drop: a
 *    segment of length * (1 - 0.6z) pixels (fading at both ends), Gaussian
 *    cross-section of sigma width * (1 - 0.5z), direction angle +- spread
 *    (uniform per streak), peak brightness intensity * (1 - 0.5z) * U(0.5, 1).
 *    Distant planes are defocused: plane i is blurred by a Gaussian of sigma
 *    defocus * z. Streaks are grey (equal in R, G and B), as Rain100L/H's are.
 *  - T = exp(-beta * d), the transmission of the veil (rain accumulation,
 *    haze), from a smooth depth proxy d in [0, 1]. The clean photos have no
 *    depth, so nlcl chooses (an assumption, not Li et al.'s data):
 *        d = normalise(0.55 * (1 - y / (h - 1)) + 0.30 * blur(Y) + 0.15 * noise)
 *    i.e. mostly a ground-plane prior (the top of a photo is farther), brighter
 *    regions (sky) farther, and a smooth random field (a 4x4 grid of uniform
 *    values, bilinear), where blur(Y) is the luma (BT.601) blurred by a box of
 *    radius max(w, h) / 16 applied three times (about a Gaussian), and
 *    normalise maps the image's min..max to 0..1 (a flat d is all 0).
 *  - A, the atmospheric light: grey-white, airlight * (1 + 0.03 * (u_c - 0.5))
 *    per channel c (u_c uniform in [0, 1)).
 * Every value is drawn from nlcl's PCG32 generator in a fixed order (layers,
 * density, length, angle, spread, width, intensity, defocus, beta, airlight,
 * A's tint, the noise grid, then the streaks plane by plane, last the JPEG
 * quality): the same seed gives the same rain.
 *  - Optionally, O is then JPEG-compressed (encoded and decoded again at a
 *    drawn quality), as real rainy photos are JPEG files.
 */
#ifndef NLCL_SYNTH_H
#define NLCL_SYNTH_H

#include <stddef.h>

#include "nlcl/export.h"
#include "nlcl/image.h"
#include "nlcl/rng.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

/* Parameter ranges: each image draws its values uniformly from [min, max]
 * (layers: a whole number, uniform over min..max). The allowed values of both
 * ends are in nlcl_rain_param_table, checked by nlcl_synth_rain. */
typedef struct nlcl_rain_params {
    double layers[2];    /* streak depth planes, whole numbers 1..4 */
    double density[2];   /* streaks per pixel in the nearest plane, 0..1 */
    double length[2];    /* streak length (motion blur), pixels, nearest plane, 1..1000 */
    double angle[2];     /* mean direction, degrees from vertical, -90..90 */
    double spread[2];    /* per-streak deviation from it, degrees, 0..45 */
    double width[2];     /* Gaussian sigma of the cross-section, pixels, (0, 50] */
    double intensity[2]; /* peak added brightness, fraction of full scale, 0..1 */
    double defocus[2];   /* Gaussian blur sigma of the farthest plane, pixels, 0..20 */
    double beta[2];      /* veil: T = exp(-beta d); 0 = none, 2 = dense; 0..5 */
    double airlight[2];  /* atmospheric light A, grey level, 0..1 */
    double jpeg[2];      /* JPEG quality of the rainy image, whole numbers 0..100; 0: not
                            compressed (every preset); drawn last, and only when max > 0 */
} nlcl_rain_params;

/* One row per field of nlcl_rain_params, in order: its name (the option
 * name of `nlcl synth`), where it lies in the struct, and its allowed
 * interval (lo_open/hi_open: an open end). One table drives the library's
 * checks and the command's options and help. */
typedef struct nlcl_rain_param_info {
    const char *name;
    size_t offset;          /* offsetof(nlcl_rain_params, <name>) */
    double lo, hi;
    int lo_open, hi_open;
    int integer;            /* whole numbers only */
    const char *help;       /* what it is, with its unit */
} nlcl_rain_param_info;
#define NLCL_RAIN_NPARAMS 11
extern const nlcl_rain_param_info nlcl_rain_param_table[NLCL_RAIN_NPARAMS];

typedef enum nlcl_rain_preset {
    NLCL_RAIN_LIGHT = 0,    /* Rain100L-like: one plane of thin streaks, almost no veil */
    NLCL_RAIN_HEAVY = 1,    /* two or three planes, longer and brighter streaks, a light veil */
    NLCL_RAIN_DOWNPOUR = 2, /* three or four dense planes, defocused far streaks, a thick veil */
    NLCL_RAIN_NPRESETS = 3
} nlcl_rain_preset;
extern const char *const nlcl_rain_preset_names[NLCL_RAIN_NPRESETS]; /* "light", ... */

/* The ranges of a preset (SYNTH.md, installed beside TRAINING.md, shows a picture of each). */
void nlcl_rain_params_preset(nlcl_rain_params *p, nlcl_rain_preset preset);
/* A preset drawn with probability weights[k] / sum (weights of light, heavy
 * and downpour, whole numbers >= 0, not all 0): one nlcl_rng_below(sum) draw,
 * so that weights 1, 1, 1 draw as nlcl_rng_below(3). */
int nlcl_rain_draw_preset(const int weights[NLCL_RAIN_NPRESETS], nlcl_rng *r);
/* The ranges of preset `streaks`, with the veil (beta, airlight) of preset
 * `veil`: heavy streaks without veil, light ones in a dense veil. */
void nlcl_rain_params_mixed(nlcl_rain_params *p, nlcl_rain_preset streaks, nlcl_rain_preset veil);

/* Check every range against nlcl_rain_param_table. Errors: INVALID_ARG naming
 * the parameter (outside its interval, NaN or infinite, not whole where it
 * must be, or min > max; e.g. "length must be in [1, 1000], got
 * 1e+30"). */
nlcl_status nlcl_rain_params_check(const nlcl_rain_params *p);

/* rainy = the model above applied to clean; both (1, 3, h, w) NCHW in [-1, 1];
 * *rainy is allocated (nlcl_image_free). Errors: those of
 * nlcl_rain_params_check, NOMEM. */
nlcl_status nlcl_synth_rain(const nlcl_image *clean, const nlcl_rain_params *p, nlcl_rng *rng,
                            nlcl_image *rainy);

/* A generated outdoor scene (sky, hills, a house, trees, a road) of height x
 * width pixels (each >= 16), for the demo and for tests that must not depend
 * on external data. */
nlcl_status nlcl_synth_scene(int height, int width, nlcl_rng *rng, nlcl_image *out);

NLCL_API_END

#endif
