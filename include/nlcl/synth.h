/* nlcl/synth.h - synthetic rain for paired evaluation data, and a generated
 * test scene for the demo.
 *
 * Rain follows the Rain100L/Rain100H recipe (Yang et al., CVPR 2017, after
 * Garg and Nayar's streak appearance): a sparse field of random drops is
 * smeared along a line of the streak's length and angle (a motion blur), widened
 * by a small Gaussian, scaled to the chosen intensity and added to the image;
 * optional haze blends toward a grey airlight with a constant transmission,
 *     O = clip(B * t + A * (1 - t) + S, 0, 1)   (values in [0, 1] here)
 * Everything is drawn from nlcl's PCG32 generator: the same seed gives the same
 * rain.
 */
#ifndef NLCL_SYNTH_H
#define NLCL_SYNTH_H

#include "nlcl/export.h"
#include "nlcl/image.h"
#include "nlcl/rng.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

/* Parameter ranges: each image draws its values uniformly from [min, max].
 * Allowed values (both ends of each range), checked by nlcl_synth_rain:
 * density [0, 1], length [1, 1000], angle [-90, 90], width (0, 50],
 * intensity [0, 1], haze [0, 1); all finite, min <= max. */
typedef struct nlcl_rain_params {
    double density[2];   /* drops per pixel (e.g. 0.002-0.006: light; 0.01-0.02: heavy) */
    double length[2];    /* streak length in pixels (10-30) */
    double angle[2];     /* degrees from vertical (-30..30) */
    double width[2];     /* Gaussian sigma of the streak cross-section, pixels (0.4-1.0) */
    double intensity[2]; /* peak added brightness, fraction of full scale (0.3-0.7) */
    double haze[2];      /* 1 - transmission (0 = none; 0.1-0.4 = misty) */
} nlcl_rain_params;

/* Rain100L-like light rain, no haze. */
void nlcl_rain_params_light(nlcl_rain_params *p);
/* Rain100H-like heavy rain with haze. */
void nlcl_rain_params_heavy(nlcl_rain_params *p);

/* rainy = clean + rain (both (1, 3, h, w) in [-1, 1]); *rainy is allocated.
 * Errors: INVALID_ARG naming the parameter (a range outside the allowed
 * values above, NaN or infinite, or min > max; e.g. "synth: length must be
 * in [1, 1000], got 1e+30"), NOMEM. */
nlcl_status nlcl_synth_rain(const nlcl_image *clean, const nlcl_rain_params *p, nlcl_rng *rng,
                            nlcl_image *rainy);

/* A generated outdoor scene (sky, hills, a house, trees, a road) of height x
 * width pixels (each >= 16), for the demo and for tests that must not depend
 * on external data. */
nlcl_status nlcl_synth_scene(int height, int width, nlcl_rng *rng, nlcl_image *out);

NLCL_API_END
#endif
