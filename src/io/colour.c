/* Colour management of decoded images with Little CMS 2
 * (src/io/image_internal.h): embedded ICC profiles, PNG gAMA/cHRM and CMYK.
 *
 * nlcl works in sRGB (its models were trained on sRGB photos, its outputs
 * carry no profile and are displayed as sRGB). An image that says its
 * samples mean something else is converted to sRGB on load rather than
 * used as if it were sRGB:
 *  - an ICC profile (PNG iCCP, JPEG APP2, TIFF tag 34675) of the image's
 *    colour space (RGB, or grey for grey images) is converted with the
 *    relative colorimetric intent and black-point compensation (Photoshop's
 *    default), in float, without precalculated tables (cmsFLAGS_NOOPTIMIZE:
 *    an 8-bit CMYK transform would otherwise be resampled on a grid, an
 *    error of over a level in the shadows); colours outside sRGB are clipped
 *    to [0, 1] and counted (nlcl_image_info.gamut_clipped: a wide-gamut photo
 *    loses saturation there, which the nlcl command says in a warning). A profile that maps every tested colour (9^3 RGB grid and
 *    all 256 grey levels) to itself within one 8-bit level is an sRGB
 *    profile and changes nothing, so sRGB photos keep their exact samples
 *    (the common "sRGB IEC61966-2.1" profile of cameras differs from the
 *    standard by up to 0.53 levels, in saturated greens);
 *  - a JPEG without ICC profile whose EXIF says Adobe RGB (ColorSpace
 *    "uncalibrated" with InteroperabilityIndex "R03", as cameras write it)
 *    is converted from Adobe RGB (1998) the same way;
 *  - PNG gAMA (with cHRM, or sRGB primaries without) describes a profile
 *    with a power-law curve; gamma within 5% of 1/2.2 with sRGB primaries is
 *    taken as sRGB (as browsers and libpng do), anything else is converted;
 *  - CMYK JPEGs: with a CMYK ICC profile through it, else R = (1-C)(1-K),
 *    G = (1-M)(1-K), B = (1-Y)(1-K) with Adobe's inverted samples where an
 *    Adobe marker says so (what PIL and most viewers do).
 * Profiles Little CMS cannot read, or that describe another colour space
 * than the image's (a CMYK profile on an RGB PNG), are refused: using the
 * samples as sRGB would change the picture silently. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lcms2.h>

#include "core/internal.h"
#include "image_internal.h"

#define INTENT INTENT_RELATIVE_COLORIMETRIC
#define FLAGS (cmsFLAGS_BLACKPOINTCOMPENSATION | cmsFLAGS_NOCACHE | cmsFLAGS_NOOPTIMIZE)

typedef struct lcms_log {
    char msg[200];
} lcms_log;

static void log_error(cmsContext ctx, cmsUInt32Number code, const char *text) {
    (void)code;
    lcms_log *l = cmsGetContextUserData(ctx);
    if (l && !l->msg[0]) snprintf(l->msg, sizeof l->msg, "%s", text ? text : "error");
}

static cmsContext new_context(lcms_log *log) {
    memset(log, 0, sizeof *log);
    cmsContext ctx = cmsCreateContext(NULL, log);
    if (ctx) cmsSetLogErrorHandlerTHR(ctx, log_error);
    return ctx;
}

static const char *why(const lcms_log *l) { return l->msg[0] ? l->msg : "Little CMS refused it"; }

/* ---- profiles ------------------------------------------------------------- */

static const double srgb_chrm[8] = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};

/* 1 if src's PNG gamma and chromaticities amount to sRGB. */
static int png_is_srgb(const nlcl_img_src *src) {
    if (src->gamma > 0 && fabs(src->gamma * 2.2 - 1.0) > 0.05) return 0;
    if (src->has_chrm)
        for (int i = 0; i < 8; i++)
            if (fabs(src->chrm[i] - srgb_chrm[i]) > 0.01) return 0;
    return 1;
}

/* The profile described by a PNG's gAMA and cHRM (sRGB's curve without
 * gAMA, sRGB's primaries and white without cHRM). */
static cmsHPROFILE png_profile(cmsContext ctx, const nlcl_img_src *src) {
    const double *c = src->has_chrm ? src->chrm : srgb_chrm;
    for (int i = 0; i < 8; i++)
        if (!(c[i] > 0.0 && c[i] < 1.0)) return NULL;
    cmsToneCurve *curve;
    if (src->gamma > 0) {
        curve = cmsBuildGamma(ctx, 1.0 / src->gamma);
    } else {
        const double p[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
        curve = cmsBuildParametricToneCurve(ctx, 4, p);
    }
    if (!curve) return NULL;
    cmsCIExyY wp = {c[0], c[1], 1.0};
    cmsHPROFILE p;
    if (src->grey) {
        p = cmsCreateGrayProfileTHR(ctx, &wp, curve);
    } else {
        cmsCIExyYTRIPLE prim = {{c[2], c[3], 1.0}, {c[4], c[5], 1.0}, {c[6], c[7], 1.0}};
        cmsToneCurve *curves[3] = {curve, curve, curve};
        p = cmsCreateRGBProfileTHR(ctx, &wp, &prim, curves);
    }
    cmsFreeToneCurve(curve);
    return p;
}

/* Adobe RGB (1998), for JPEGs whose EXIF says so without an ICC profile
 * (nlcl_exif_orientation's adobe_rgb): white D65 (0.3127, 0.3290), primaries R (0.64,
 * 0.33), G (0.21, 0.71), B (0.15, 0.06), gamma 563/256 (Adobe RGB (1998)
 * Color Image Encoding, version 2005-05, 4.3.1-4.3.4). */
static cmsHPROFILE adobe_rgb_profile(cmsContext ctx) {
    cmsToneCurve *curve = cmsBuildGamma(ctx, 563.0 / 256.0);
    if (!curve) return NULL;
    cmsCIExyY wp = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE p = cmsCreateRGBProfileTHR(ctx, &wp, &prim, curves);
    cmsFreeToneCurve(curve);
    return p;
}

/* ---- conversion of a decoded image ------------------------------------------ */

/* 1 if t maps the test colours to themselves within one 8-bit level. */
static int is_identity(cmsHTRANSFORM t, int grey) {
    enum { G = 9, N = G * G * G + 256 };
    float *in = malloc(sizeof(float) * 3 * N), *out = malloc(sizeof(float) * 3 * N);
    int n = 0, same = 0;
    if (in && out) {
        if (!grey)
            for (int r = 0; r < G; r++)
                for (int g = 0; g < G; g++)
                    for (int b = 0; b < G; b++, n++) {
                        in[3 * n] = (float)r / (G - 1);
                        in[3 * n + 1] = (float)g / (G - 1);
                        in[3 * n + 2] = (float)b / (G - 1);
                    }
        for (int v = 0; v < 256; v++, n++) {
            if (grey) {
                in[n] = (float)v / 255.0f;
            } else {
                in[3 * n] = in[3 * n + 1] = in[3 * n + 2] = (float)v / 255.0f;
            }
        }
        cmsDoTransform(t, in, out, (cmsUInt32Number)n);
        same = 1;
        for (int i = 0; i < n && same; i++)
            for (int k = 0; k < 3; k++) {
                float want = grey ? in[i] : in[3 * i + k];
                if (!(fabsf(out[3 * i + k] - want) <= 1.0f / 255.0f)) same = 0;
            }
    }
    free(in);
    free(out);
    return same;
}

static inline float to_x(float v) {
    float x = v * 2.0f - 1.0f;
    x = x >= -1.0f ? x : -1.0f; /* NaN -> -1 */
    return x <= 1.0f ? x : 1.0f;
}

/* 1 if an sRGB value (0..1) lies outside [0, 1] by more than half an 8-bit
 * level, i.e. clipping it changes the colour visibly in an 8-bit file. */
static inline int outside(float v) {
    const float tol = 0.5f / 255.0f;
    return !(v >= -tol && v <= 1.0f + tol);
}

/* Rows in parallel (the transform has no cache, so it is reentrant): at
 * about 0.17 us per pixel, colour conversion of a 12-megapixel photo would
 * otherwise take 2 s on one core. *clipped: the pixels with a colour outside
 * sRGB (a channel clipped by more than half an 8-bit level). */
static nlcl_status apply(cmsHTRANSFORM t, int grey, const char *name,
                         nlcl_image *img, uint64_t *clipped) {
    const size_t W = (size_t)img->width, P = W * (size_t)img->height;
    int failed = 0;
    uint64_t nclip = 0;
#pragma omp parallel reduction(| : failed) reduction(+ : nclip)
    {
        float *in = malloc(sizeof(float) * 3 * W), *out = malloc(sizeof(float) * 3 * W);
        failed = !in || !out;
#pragma omp for schedule(static)
        for (int y = 0; y < img->height; y++) {
            if (!in || !out) continue;
            float *r = img->data + (size_t)y * W, *g = r + P, *b = g + P;
            for (size_t x = 0; x < W; x++) {
                if (grey) {
                    in[x] = (r[x] + 1.0f) * 0.5f;
                } else {
                    in[3 * x] = (r[x] + 1.0f) * 0.5f;
                    in[3 * x + 1] = (g[x] + 1.0f) * 0.5f;
                    in[3 * x + 2] = (b[x] + 1.0f) * 0.5f;
                }
            }
            cmsDoTransform(t, in, out, (cmsUInt32Number)W);
            for (size_t x = 0; x < W; x++) {
                nclip += outside(out[3 * x]) | outside(out[3 * x + 1]) | outside(out[3 * x + 2]);
                r[x] = to_x(out[3 * x]);
                g[x] = to_x(out[3 * x + 1]);
                b[x] = to_x(out[3 * x + 2]);
            }
        }
        free(in);
        free(out);
    }
    if (failed)
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory for colour conversion",
                              name);
    *clipped = nclip;
    return NLCL_OK;
}

static const char *space_name(cmsColorSpaceSignature s) {
    switch (s) {
    case cmsSigRgbData: return "RGB";
    case cmsSigGrayData: return "grey";
    case cmsSigCmykData: return "CMYK";
    case cmsSigLabData: return "Lab";
    case cmsSigXYZData: return "XYZ";
    case cmsSigYCbCrData: return "YCbCr";
    default: return "another colour space";
    }
}

nlcl_status nlcl_colour_to_srgb(const nlcl_img_src *src, nlcl_image *img,
                                int *converted, uint64_t *clipped) {
    *converted = 0;
    *clipped = 0;
    if (src->converted) {
        *converted = 1;
        return NLCL_OK;
    }
    const char *name = src->name;
    if (!src->icc && !src->adobe_rgb && (src->gamma <= 0 && !src->has_chrm)) return NLCL_OK;
    if (!src->icc && !src->adobe_rgb && png_is_srgb(src)) return NLCL_OK;
    lcms_log log;
    cmsContext ctx = new_context(&log);
    if (!ctx) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    nlcl_status s = NLCL_OK;
    cmsHPROFILE in = NULL, srgb = NULL;
    cmsHTRANSFORM t = NULL;
    int grey = src->grey;
    if (src->icc) {
        in = cmsOpenProfileFromMemTHR(ctx, src->icc, (cmsUInt32Number)src->icc_len);
        if (!in) {
            s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: unreadable ICC profile (%s)", name,
                               why(&log));
            goto done;
        }
        cmsColorSpaceSignature cs = cmsGetColorSpace(in);
        if (cs == cmsSigRgbData && grey) {
            grey = 0; /* a grey image under an RGB profile: its samples are R = G = B */
        } else if (!(cs == cmsSigRgbData || (cs == cmsSigGrayData && grey))) {
            s = nlcl_error_set(cs == cmsSigGrayData || cs == cmsSigCmykData ? NLCL_ERR_FORMAT
                                                                            : NLCL_ERR_UNSUPPORTED,
                               "%s: the embedded ICC profile is for %s, the image is %s",
                               name, space_name(cs), grey ? "grey" : "RGB");
            goto done;
        }
    } else if (src->adobe_rgb) {
        in = adobe_rgb_profile(ctx);
        grey = 0; /* a grey JPEG's samples are R = G = B */
        if (!in) {
            s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot make the Adobe RGB profile (%s)", name, why(&log));
            goto done;
        }
    } else {
        in = png_profile(ctx, src);
        if (!in) {
            s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: invalid PNG gamma or chromaticities (%s)",
                               name, why(&log));
            goto done;
        }
    }
    srgb = cmsCreate_sRGBProfileTHR(ctx);
    t = srgb ? cmsCreateTransformTHR(ctx, in, grey ? TYPE_GRAY_FLT : TYPE_RGB_FLT, srgb,
                                     TYPE_RGB_FLT, INTENT, FLAGS)
             : NULL;
    if (!t) {
        s = nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                           "%s: cannot convert the embedded colour profile to sRGB (%s)",
                           name, why(&log));
        goto done;
    }
    if (is_identity(t, grey)) goto done;
    s = apply(t, grey, name, img, clipped);
    if (s == NLCL_OK) *converted = 1;
done:
    if (t) cmsDeleteTransform(t);
    if (in) cmsCloseProfile(in);
    if (srgb) cmsCloseProfile(srgb);
    cmsDeleteContext(ctx);
    return s;
}

/* ---- CMYK ------------------------------------------------------------------- */

struct nlcl_cmyk_conv {
    int inverted;
    cmsContext ctx;
    cmsHTRANSFORM t; /* NULL: the naive formula */
    uint16_t *buf;   /* one row of 16-bit RGB (profile path) */
    /* Little CMS clips inside an integer transform: the same conversion in
     * float (unbounded) finds the colours outside sRGB, to count them */
    cmsHTRANSFORM tf;
    float *fin, *fout; /* one row of float CMYK (ink, 0..100) and RGB */
    uint64_t clipped;
};

/* The transforms and row buffers of a CMYK profile (c->ctx made). */
static nlcl_status cmyk_transforms(nlcl_cmyk_conv *c, cmsHPROFILE in, cmsHPROFILE srgb, int width,
                                   const char *name, lcms_log *log) {
    c->t = cmsCreateTransformTHR(c->ctx, in, c->inverted ? TYPE_CMYK_8_REV : TYPE_CMYK_8, srgb, TYPE_RGB_16,
                                 INTENT, FLAGS);
    c->tf = c->t ? cmsCreateTransformTHR(c->ctx, in, TYPE_CMYK_FLT, srgb, TYPE_RGB_FLT, INTENT, FLAGS) : NULL;
    if (!c->t || !c->tf)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: cannot convert the CMYK profile to sRGB (%s)", name,
                              why(log));
    c->buf = malloc(sizeof(uint16_t) * 3 * (size_t)width);
    c->fin = malloc(sizeof(float) * 4 * (size_t)width);
    c->fout = malloc(sizeof(float) * 3 * (size_t)width);
    if (!c->buf || !c->fin || !c->fout) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    return NLCL_OK;
}

nlcl_status nlcl_cmyk_conv_open(const char *name, const uint8_t *icc,
                                size_t icc_len, int inverted, int width, nlcl_cmyk_conv **out) {
    *out = NULL;
    nlcl_cmyk_conv *c = calloc(1, sizeof *c);
    if (!c) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    c->inverted = inverted;
    if (icc) {
        lcms_log log;
        c->ctx = new_context(&log);
        cmsHPROFILE in = c->ctx ? cmsOpenProfileFromMemTHR(c->ctx, icc, (cmsUInt32Number)icc_len)
                                : NULL;
        cmsHPROFILE srgb = in ? cmsCreate_sRGBProfileTHR(c->ctx) : NULL;
        nlcl_status s = NLCL_OK;
        if (!c->ctx) {
            s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
        } else if (!in) {
            s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: unreadable ICC profile (%s)",
                               name, why(&log));
        } else if (cmsGetColorSpace(in) != cmsSigCmykData) {
            s = nlcl_error_set(NLCL_ERR_FORMAT,
                               "%s: the embedded ICC profile is for %s, the image is CMYK",
                               name, space_name(cmsGetColorSpace(in)));
        } else if (!srgb) {
            s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
        } else {
            s = cmyk_transforms(c, in, srgb, width, name, &log);
        }
        if (in) cmsCloseProfile(in);
        if (srgb) cmsCloseProfile(srgb);
        if (s != NLCL_OK) {
            nlcl_cmyk_conv_close(c);
            return s;
        }
    }
    *out = c;
    return NLCL_OK;
}

void nlcl_cmyk_conv_row(nlcl_cmyk_conv *c, const uint8_t *cmyk, nlcl_image *img, int y) {
    const size_t W = (size_t)img->width, P = W * (size_t)img->height;
    float *r = img->data + (size_t)y * W, *g = r + P, *b = g + P;
    if (c->t) { /* width <= the width given to nlcl_cmyk_conv_open */
        /* Little CMS converts 8-bit samples to integer formats only */
        cmsDoTransform(c->t, cmyk, c->buf, (cmsUInt32Number)W);
        for (size_t i = 0; i < 4 * W; i++) /* ink in percent */
            c->fin[i] = (float)((c->inverted ? 255 - cmyk[i] : cmyk[i]) * (100.0 / 255.0));
        cmsDoTransform(c->tf, c->fin, c->fout, (cmsUInt32Number)W);
        for (size_t x = 0; x < W; x++)
            c->clipped += outside(c->fout[3 * x]) | outside(c->fout[3 * x + 1]) | outside(c->fout[3 * x + 2]);
        for (size_t x = 0; x < W; x++) {
            r[x] = (float)(c->buf[3 * x] / 65535.0 * 2.0 - 1.0);
            g[x] = (float)(c->buf[3 * x + 1] / 65535.0 * 2.0 - 1.0);
            b[x] = (float)(c->buf[3 * x + 2] / 65535.0 * 2.0 - 1.0);
        }
        return;
    }
    for (size_t x = 0; x < W; x++) {
        const uint8_t *p = cmyk + 4 * x;
        double k = c->inverted ? p[3] : 255 - p[3];
        double v[3];
        for (int i = 0; i < 3; i++) v[i] = (c->inverted ? p[i] : 255 - p[i]) * k / 65025.0;
        r[x] = (float)(v[0] * 2.0 - 1.0);
        g[x] = (float)(v[1] * 2.0 - 1.0);
        b[x] = (float)(v[2] * 2.0 - 1.0);
    }
}

uint64_t nlcl_cmyk_conv_clipped(const nlcl_cmyk_conv *c) { return c ? c->clipped : 0; }

void nlcl_cmyk_conv_close(nlcl_cmyk_conv *c) {
    if (!c) return;
    if (c->t) cmsDeleteTransform(c->t);
    if (c->tf) cmsDeleteTransform(c->tf);
    free(c->fin);
    free(c->fout);
    if (c->ctx) cmsDeleteContext(c->ctx);
    free(c->buf);
    free(c);
}
