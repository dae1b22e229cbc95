/* Synthetic rain and a generated scene (include/nlcl/synth.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/synth.h"

#define PI 3.14159265358979323846

void nlcl_rain_params_light(nlcl_rain_params *p) {
    *p = (nlcl_rain_params){{0.002, 0.005}, {12, 28}, {-20, 20}, {0.4, 0.8}, {0.35, 0.6}, {0, 0}};
}

void nlcl_rain_params_heavy(nlcl_rain_params *p) {
    *p = (nlcl_rain_params){{0.008, 0.016}, {20, 40}, {-30, 30}, {0.6, 1.2}, {0.5, 0.8}, {0.1, 0.35}};
}

static double draw(nlcl_rng *r, const double *range) {
    return range[0] + (range[1] - range[0]) * nlcl_rng_uniform(r);
}

nlcl_status nlcl_synth_rain(const nlcl_image *clean, const nlcl_rain_params *p, nlcl_rng *rng,
                            nlcl_image *rainy) {
    /* bounds (synth.h): they also keep the streak kernel's size (and its
     * int arithmetic) small */
    static const struct {
        const char *name;
        double lo, hi;
        int lo_open, hi_open;
    } lim[6] = {{"density", 0, 1, 0, 0},  {"length", 1, 1000, 0, 0}, {"angle", -90, 90, 0, 0},
                {"width", 0, 50, 1, 0},   {"intensity", 0, 1, 0, 0}, {"haze", 0, 1, 0, 1}};
    const double *ranges[6] = {p->density, p->length, p->angle, p->width, p->intensity, p->haze};
    for (int i = 0; i < 6; i++) {
        double a = ranges[i][0], b = ranges[i][1];
        if (!isfinite(a) || !isfinite(b))
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "synth: %s range [%g, %g] is not finite",
                                  lim[i].name, a, b);
        if (!(a <= b))
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "synth: %s range has min %g > max %g",
                                  lim[i].name, a, b);
        if (lim[i].lo_open ? !(a > lim[i].lo) : !(a >= lim[i].lo))
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "synth: %s must be in %c%g, %g%c, got %g",
                                  lim[i].name, lim[i].lo_open ? '(' : '[', lim[i].lo, lim[i].hi,
                                  lim[i].hi_open ? ')' : ']', a);
        if (lim[i].hi_open ? !(b < lim[i].hi) : !(b <= lim[i].hi))
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "synth: %s must be in %c%g, %g%c, got %g",
                                  lim[i].name, lim[i].lo_open ? '(' : '[', lim[i].lo, lim[i].hi,
                                  lim[i].hi_open ? ')' : ']', b);
    }
    const int w = clean->width, h = clean->height;
    double density = draw(rng, p->density), len = draw(rng, p->length);
    double ang = draw(rng, p->angle) * PI / 180.0, sig = draw(rng, p->width);
    double inten = draw(rng, p->intensity), haze = draw(rng, p->haze);
    double airlight = 0.75 + 0.15 * nlcl_rng_uniform(rng);
    /* streak kernel: a segment of length len along (sin a, cos a) from
     * vertical, Gaussian cross-section sigma, fading at both ends */
    int rad = (int)ceil(len / 2 + 3 * sig) + 1, ks = 2 * rad + 1;
    float *K = calloc((size_t)ks * ks, sizeof(float));
    float *S = calloc((size_t)w * h, sizeof(float));
    if (!K || !S) {
        free(K), free(S);
        return nlcl_error_set(NLCL_ERR_NOMEM, "synth: out of memory");
    }
    double dx = sin(ang), dy = cos(ang), kmax = 0;
    for (int y = -rad; y <= rad; y++)
        for (int x = -rad; x <= rad; x++) {
            double along = x * dx + y * dy, across = -x * dy + y * dx;
            double half = len / 2;
            if (fabs(along) > half + 2 * sig) continue;
            double fade = fabs(along) <= half ? 1.0 : exp(-0.5 * pow((fabs(along) - half) / sig, 2));
            double taper = 0.6 + 0.4 * (1 - fabs(along) / (half + 1e-9)); /* brighter centre */
            double v = fade * taper * exp(-0.5 * across * across / (sig * sig));
            K[(size_t)(y + rad) * ks + (x + rad)] = (float)v;
            if (v > kmax) kmax = v;
        }
    long drops = lround(density * (double)w * h);
    for (long d = 0; d < drops; d++) {
        int cx = (int)nlcl_rng_below(rng, (uint32_t)w), cy = (int)nlcl_rng_below(rng, (uint32_t)h);
        double b = inten * (0.5 + 0.5 * nlcl_rng_uniform(rng)) / (kmax > 0 ? kmax : 1);
        for (int y = -rad; y <= rad; y++) {
            int yy = cy + y;
            if (yy < 0 || yy >= h) continue;
            for (int x = -rad; x <= rad; x++) {
                int xx = cx + x;
                if (xx < 0 || xx >= w) continue;
                float k = K[(size_t)(y + rad) * ks + (x + rad)];
                if (k > 0) S[(size_t)yy * w + xx] += (float)(b * k);
            }
        }
    }
    free(K);
    nlcl_status s = nlcl_image_alloc(rainy, h, w);
    if (s != NLCL_OK) {
        free(S);
        return s;
    }
    size_t plane = (size_t)w * h;
    double t = 1.0 - haze;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++) {
            double b01 = (clean->data[c * plane + i] + 1.0) / 2.0;
            double o = b01 * t + airlight * (1 - t) + S[i];
            if (o > 1) o = 1;
            if (o < 0) o = 0;
            rainy->data[c * plane + i] = (float)(o * 2.0 - 1.0);
        }
    free(S);
    return NLCL_OK;
}

/* ---------------------------------------------------------------- scene */

static void put(nlcl_image *im, int x, int y, double r, double g, double b) {
    if (x < 0 || y < 0 || x >= im->width || y >= im->height) return;
    size_t plane = (size_t)im->width * im->height, i = (size_t)y * im->width + x;
    im->data[i] = (float)(r * 2 - 1);
    im->data[plane + i] = (float)(g * 2 - 1);
    im->data[2 * plane + i] = (float)(b * 2 - 1);
}

static void rect(nlcl_image *im, double x0, double y0, double x1, double y1, double r, double g,
                 double b) {
    for (int y = (int)y0; y < (int)y1; y++)
        for (int x = (int)x0; x < (int)x1; x++) put(im, x, y, r, g, b);
}

static void disc(nlcl_image *im, double cx, double cy, double rad, double r, double g, double b) {
    for (int y = (int)(cy - rad); y <= (int)(cy + rad); y++)
        for (int x = (int)(cx - rad); x <= (int)(cx + rad); x++)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= rad * rad) put(im, x, y, r, g, b);
}

nlcl_status nlcl_synth_scene(int height, int width, nlcl_rng *rng, nlcl_image *out) {
    if (width < 16 || height < 16)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "synth: scene must be at least 16x16");
    NLCL_TRY(nlcl_image_alloc(out, height, width));
    const double W = width, H = height;
    double horizon = H * (0.45 + 0.1 * nlcl_rng_uniform(rng));
    /* sky gradient */
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            double t = y / horizon;
            put(out, x, y, 0.45 + 0.35 * t, 0.62 + 0.25 * t, 0.85 + 0.1 * t);
        }
    disc(out, W * (0.15 + 0.2 * nlcl_rng_uniform(rng)), H * 0.15, H * 0.06, 1.0, 0.95, 0.75);
    /* two hill ranges with texture */
    double ph1 = 6.28 * nlcl_rng_uniform(rng), ph2 = 6.28 * nlcl_rng_uniform(rng);
    for (int x = 0; x < width; x++) {
        double far = horizon - H * 0.12 * (0.6 + 0.4 * sin(x / W * 5 + ph1));
        double near = horizon - H * 0.05 * (0.5 + 0.5 * sin(x / W * 9 + ph2));
        for (int y = (int)far; y < height; y++) {
            double n = 0.04 * nlcl_rng_uniform(rng);
            if (y < near) put(out, x, y, 0.35 + n, 0.45 + n, 0.55 + n);
            else put(out, x, y, 0.25 + n + 0.1 * (y - near) / H, 0.5 + n, 0.2 + n);
        }
    }
    /* road: a trapezoid towards the horizon with dashes */
    for (int y = (int)horizon; y < height; y++) {
        double t = (y - horizon) / (H - horizon);
        double half = W * (0.03 + 0.25 * t), cx = W * 0.62;
        for (int x = (int)(cx - half); x < (int)(cx + half); x++) put(out, x, y, 0.38, 0.38, 0.4);
        if (((int)(t * 12)) % 2 == 0 && t > 0.05)
            rect(out, cx - 1 - 2 * t, y, cx + 1 + 2 * t, y + 1, 0.95, 0.9, 0.6);
    }
    /* a house */
    double hx = W * 0.12, hw = W * 0.22, hy = horizon - H * 0.02, hh = H * 0.2;
    rect(out, hx, hy - hh, hx + hw, hy + H * 0.08, 0.8, 0.72, 0.6);
    for (int y = 0; y < (int)(hh * 0.6); y++) { /* roof */
        double frac = 1.0 - (double)y / (hh * 0.6); /* narrow at the ridge */
        rect(out, hx - 4 + frac * hw / 2, hy - hh - hh * 0.6 + y, hx + hw + 4 - frac * hw / 2,
             hy - hh - hh * 0.6 + y + 1, 0.6, 0.2, 0.15);
    }
    for (int i = 0; i < 3; i++)
        rect(out, hx + hw * (0.12 + 0.3 * i), hy - hh * 0.7, hx + hw * (0.3 + 0.3 * i), hy - hh * 0.35,
             0.2, 0.35, 0.55);
    rect(out, hx + hw * 0.42, hy - hh * 0.2, hx + hw * 0.58, hy + H * 0.08, 0.35, 0.2, 0.1);
    /* trees */
    for (int i = 0; i < 4; i++) {
        double tx = W * (0.42 + 0.13 * i + 0.03 * nlcl_rng_uniform(rng)), ty = horizon + H * 0.02 * i;
        rect(out, tx - 2, ty - H * 0.08, tx + 2, ty + H * 0.04, 0.35, 0.22, 0.1);
        disc(out, tx, ty - H * 0.12, H * (0.05 + 0.02 * nlcl_rng_uniform(rng)), 0.12, 0.38 + 0.1 * i / 4.0,
             0.12);
    }
    return NLCL_OK;
}
