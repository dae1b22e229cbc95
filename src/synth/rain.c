/* Synthetic rain: the heavy-rain model of Li et al. (CVPR 2019), and a
 * generated scene (include/nlcl/synth.h has the model and its parameters). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/image_internal.h"
#include "nlcl/synth.h"

#define PI 3.14159265358979323846

#define ROW(f, lo, hi, lo_open, hi_open, integer, help) \
    {#f, offsetof(nlcl_rain_params, f), lo, hi, lo_open, hi_open, integer, help}
const nlcl_rain_param_info nlcl_rain_param_table[NLCL_RAIN_NPARAMS] = {
    ROW(layers, 1, 4, 0, 0, 1, "streak depth planes, nearest first"),
    ROW(density, 0, 1, 0, 0, 0, "streaks per pixel in the nearest plane"),
    ROW(length, 1, 1000, 0, 0, 0, "streak length (motion blur), pixels"),
    ROW(angle, -90, 90, 0, 0, 0, "mean direction, degrees from vertical"),
    ROW(spread, 0, 45, 0, 0, 0, "per-streak deviation from it, degrees"),
    ROW(width, 0, 50, 1, 0, 0, "streak cross-section sigma, pixels"),
    ROW(intensity, 0, 1, 0, 0, 0, "peak streak brightness"),
    ROW(defocus, 0, 20, 0, 0, 0, "blur sigma of the farthest plane, pixels"),
    ROW(beta, 0, 5, 0, 0, 0, "veil density: transmission exp(-beta depth)"),
    ROW(airlight, 0, 1, 0, 0, 0, "atmospheric light, grey level"),
    ROW(jpeg, 0, 100, 0, 0, 1, "JPEG quality of the rainy image (0: not compressed)"),
};
#undef ROW

const char *const nlcl_rain_preset_names[NLCL_RAIN_NPRESETS] = {"light", "heavy", "downpour"};

void nlcl_rain_params_preset(nlcl_rain_params *p, nlcl_rain_preset preset) {
    /* layers, density, length, angle, spread, width, intensity, defocus, beta, airlight, jpeg */
    static const nlcl_rain_params tab[NLCL_RAIN_NPRESETS] = {
        {{1, 1}, {0.0005, 0.002}, {20, 60}, {-45, 45}, {0, 2}, {0.4, 0.6}, {0.3, 0.75}, {0, 0},
         {0, 0.05}, {0.8, 0.95}, {0, 0}},
        {{2, 3}, {0.002, 0.004}, {20, 50}, {-45, 45}, {2, 6}, {0.5, 0.9}, {0.2, 0.5}, {0.5, 1.5},
         {0.3, 0.8}, {0.7, 0.9}, {0, 0}},
        {{3, 4}, {0.003, 0.006}, {30, 80}, {-45, 45}, {3, 8}, {0.6, 1.1}, {0.2, 0.5}, {1, 3},
         {0.8, 1.6}, {0.7, 0.95}, {0, 0}},
    };
    *p = tab[preset >= 0 && preset < NLCL_RAIN_NPRESETS ? preset : 0];
}

int nlcl_rain_draw_preset(const int weights[NLCL_RAIN_NPRESETS], nlcl_rng *r) {
    uint32_t sum = 0;
    for (int k = 0; k < NLCL_RAIN_NPRESETS; k++) sum += (uint32_t)(weights[k] > 0 ? weights[k] : 0);
    if (sum == 0) return 0;
    uint32_t x = nlcl_rng_below(r, sum);
    int k = 0;
    while (k < NLCL_RAIN_NPRESETS - 1 && x >= (uint32_t)(weights[k] > 0 ? weights[k] : 0))
        x -= (uint32_t)(weights[k] > 0 ? weights[k] : 0), k++;
    return k;
}

void nlcl_rain_params_mixed(nlcl_rain_params *p, nlcl_rain_preset streaks, nlcl_rain_preset veil) {
    nlcl_rain_params v;
    nlcl_rain_params_preset(p, streaks);
    nlcl_rain_params_preset(&v, veil);
    memcpy(p->beta, v.beta, sizeof p->beta);
    memcpy(p->airlight, v.airlight, sizeof p->airlight);
}

static const double *field(const nlcl_rain_params *p, int i) {
    return (const double *)((const char *)p + nlcl_rain_param_table[i].offset);
}

nlcl_status nlcl_rain_params_check(const nlcl_rain_params *p) {
    for (int i = 0; i < NLCL_RAIN_NPARAMS; i++) {
        const nlcl_rain_param_info *b = &nlcl_rain_param_table[i];
        const double *r = field(p, i);
        for (int k = 0; k < 2; k++) {
            double v = r[k];
            if (!isfinite(v))
                return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s range [%g, %g] is not finite",
                                      b->name, r[0], r[1]);
            if ((b->lo_open ? !(v > b->lo) : !(v >= b->lo)) || (b->hi_open ? !(v < b->hi) : !(v <= b->hi)))
                return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s must be in %c%g, %g%c, got %g",
                                      b->name, b->lo_open ? '(' : '[', b->lo, b->hi,
                                      b->hi_open ? ')' : ']', v);
            if (b->integer && v != floor(v))
                return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s must be a whole number, got %g",
                                      b->name, v);
        }
        if (!(r[0] <= r[1]))
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s range has min %g > max %g",
                                  b->name, r[0], r[1]);
    }
    return NLCL_OK;
}

static double draw(nlcl_rng *r, const double *range) {
    return range[0] + (range[1] - range[0]) * nlcl_rng_uniform(r);
}

/* ------------------------------------------------------------- filtering */

/* One pass of a box filter of radius r along rows (dir 0) or columns (dir 1)
 * of the w x h plane x, edges clamped; tmp holds max(w, h) floats. */
static void box_pass(float *x, int w, int h, int r, int dir, float *tmp) {
    int n = dir ? h : w, lines = dir ? w : h;
    size_t step = dir ? (size_t)w : 1, next = dir ? 1 : (size_t)w;
    for (int l = 0; l < lines; l++) {
        float *v = x + (size_t)l * next;
        for (int i = 0; i < n; i++) tmp[i] = v[(size_t)i * step];
        double acc = 0;
        for (int j = -r; j <= r; j++) acc += tmp[NLCL_MIN(NLCL_MAX(j, 0), n - 1)];
        for (int i = 0; i < n; i++) {
            v[(size_t)i * step] = (float)(acc / (2 * r + 1));
            acc += tmp[NLCL_MIN(i + r + 1, n - 1)] - tmp[NLCL_MAX(i - r, 0)];
        }
    }
}

/* A Gaussian blur of sigma s (pixels) of the w x h plane x, edges clamped,
 * separable; tmp holds max(w, h) floats. */
static nlcl_status gauss_blur(float *x, int w, int h, double s, float *tmp) {
    int r = (int)ceil(3 * s);
    if (s <= 0 || r < 1) return NLCL_OK;
    float *k = malloc(sizeof(float) * (size_t)(2 * r + 1));
    if (!k) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    double sum = 0;
    for (int j = -r; j <= r; j++) sum += k[j + r] = (float)exp(-0.5 * j * j / (s * s));
    for (int j = 0; j <= 2 * r; j++) k[j] = (float)(k[j] / sum);
    for (int dir = 0; dir < 2; dir++) {
        int n = dir ? h : w, lines = dir ? w : h;
        size_t step = dir ? (size_t)w : 1, next = dir ? 1 : (size_t)w;
        for (int l = 0; l < lines; l++) {
            float *v = x + (size_t)l * next;
            for (int i = 0; i < n; i++) tmp[i] = v[(size_t)i * step];
            for (int i = 0; i < n; i++) {
                double a = 0;
                for (int j = -r; j <= r; j++) a += k[j + r] * tmp[NLCL_MIN(NLCL_MAX(i + j, 0), n - 1)];
                v[(size_t)i * step] = (float)a;
            }
        }
    }
    free(k);
    return NLCL_OK;
}

/* ---------------------------------------------------------------- streaks */

typedef struct streak_plane {
    double density, length, width, intensity, defocus; /* of this plane */
    double angle, spread;                              /* degrees */
} streak_plane;

/* Add one motion-blurred drop to S (w x h): a segment centred at (cx, cy)
 * along (sin a, cos a), fading over 2 sigma past its ends and brighter at its
 * centre, with a Gaussian cross-section; its peak is b. Sigmas below 0.6 px
 * are drawn at 0.6 with the brightness scaled by sigma / 0.6 (the same
 * integrated intensity, no aliasing of hair-thin streaks). */
static void add_streak(float *S, int w, int h, double cx, double cy, double a, double len,
                       double sig, double b) {
    double se = sig < 0.6 ? 0.6 : sig, amp = b * sig / se, half = len / 2;
    double dx = sin(a), dy = cos(a), ex = fabs(dx) * half + 3 * se + 1, ey = fabs(dy) * half + 3 * se + 1;
    int x0 = NLCL_MAX((int)floor(cx - ex), 0), x1 = NLCL_MIN((int)ceil(cx + ex), w - 1);
    int y0 = NLCL_MAX((int)floor(cy - ey), 0), y1 = NLCL_MIN((int)ceil(cy + ey), h - 1);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double px = x - cx, py = y - cy;
            double along = fabs(px * dx + py * dy), across = -px * dy + py * dx;
            if (along > half + 2 * se || fabs(across) > 3 * se) continue;
            double fade = along <= half ? 1.0 : exp(-0.5 * pow((along - half) / se, 2));
            double taper = 0.6 + 0.4 * (1 - NLCL_MIN(along / (half + 1e-9), 1.0));
            S[(size_t)y * w + x] += (float)(amp * fade * taper * exp(-0.5 * across * across / (se * se)));
        }
}

/* Draw one plane's streaks into P (w x h, zeroed by the caller). Centres
 * fall in the image widened by half a streak (at most the image's size) on
 * every side, so streaks enter across the borders; the count keeps the
 * density per pixel. */
static void draw_plane(float *P, int w, int h, const streak_plane *pl, nlcl_rng *rng) {
    double m = NLCL_MIN(pl->length / 2, (double)NLCL_MAX(w, h));
    double W = w + 2 * m, H = h + 2 * m;
    long count = lround(pl->density * W * H);
    for (long i = 0; i < count; i++) {
        double cx = -m + W * nlcl_rng_uniform(rng), cy = -m + H * nlcl_rng_uniform(rng);
        double a = (pl->angle + pl->spread * (2 * nlcl_rng_uniform(rng) - 1)) * PI / 180.0;
        double b = pl->intensity * (0.5 + 0.5 * nlcl_rng_uniform(rng));
        add_streak(P, w, h, cx, cy, a, pl->length, pl->width, b);
    }
}

/* ------------------------------------------------------------------ veil */

/* The depth proxy d in [0, 1] (synth.h) of clean into d (w x h). */
static void depth_proxy(const nlcl_image *clean, const float grid[16], float *d, float *tmp) {
    const int w = clean->width, h = clean->height;
    const size_t plane = (size_t)w * h;
    for (size_t i = 0; i < plane; i++) {
        const float *c = clean->data;
        double y = 0.299 * c[i] + 0.587 * c[plane + i] + 0.114 * c[2 * plane + i];
        d[i] = (float)((y + 1) / 2);
    }
    int r = NLCL_MAX(NLCL_MAX(w, h) / 16, 1);
    for (int k = 0; k < 3; k++) {
        box_pass(d, w, h, r, 0, tmp);
        box_pass(d, w, h, r, 1, tmp);
    }
    float lo = INFINITY, hi = -INFINITY;
    for (int y = 0; y < h; y++) {
        double v = h > 1 ? 3.0 * y / (h - 1) : 0;
        int gy = NLCL_MIN((int)v, 2);
        double fy = v - gy;
        for (int x = 0; x < w; x++) {
            double u = w > 1 ? 3.0 * x / (w - 1) : 0;
            int gx = NLCL_MIN((int)u, 2);
            double fx = u - gx;
            const float *g = grid + gy * 4 + gx;
            double noise = (1 - fy) * ((1 - fx) * g[0] + fx * g[1]) + fy * ((1 - fx) * g[4] + fx * g[5]);
            double ground = h > 1 ? 1.0 - (double)y / (h - 1) : 0;
            float *p = d + (size_t)y * w + x;
            *p = (float)(0.55 * ground + 0.30 * *p + 0.15 * noise);
            lo = NLCL_MIN(lo, *p);
            hi = NLCL_MAX(hi, *p);
        }
    }
    for (size_t i = 0; i < plane; i++) d[i] = hi > lo ? (d[i] - lo) / (hi - lo) : 0.0f;
}

/* ------------------------------------------------------------------ model */

/* The per-image values (synth.h: the drawing order). */
typedef struct rain_draw {
    int layers;
    streak_plane near;
    double beta, A[3];
    float grid[16];
} rain_draw;

static void draw_values(const nlcl_rain_params *p, nlcl_rng *rng, rain_draw *v) {
    v->layers = (int)p->layers[0] + (int)nlcl_rng_below(rng, (uint32_t)(p->layers[1] - p->layers[0] + 1));
    v->near.density = draw(rng, p->density);
    v->near.length = draw(rng, p->length);
    v->near.angle = draw(rng, p->angle);
    v->near.spread = draw(rng, p->spread);
    v->near.width = draw(rng, p->width);
    v->near.intensity = draw(rng, p->intensity);
    v->near.defocus = draw(rng, p->defocus);
    v->beta = draw(rng, p->beta);
    double a = draw(rng, p->airlight);
    for (int c = 0; c < 3; c++) v->A[c] = a * (1 + 0.03 * (nlcl_rng_uniform(rng) - 0.5));
    for (int i = 0; i < 16; i++) v->grid[i] = (float)nlcl_rng_uniform(rng);
}

/* S = the sum of the planes (synth.h), into S (w x h, zeroed here). */
static nlcl_status streak_layer(const rain_draw *v, int w, int h, nlcl_rng *rng, float *S,
                                float *P, float *tmp) {
    size_t plane = (size_t)w * h;
    memset(S, 0, plane * sizeof(float));
    for (int i = 0; i < v->layers; i++) {
        double z = v->layers > 1 ? (double)i / (v->layers - 1) : 0;
        streak_plane pl = v->near;
        pl.density *= 1 + z;
        pl.length = NLCL_MAX(pl.length * (1 - 0.6 * z), 1.0);
        pl.width *= 1 - 0.5 * z;
        pl.intensity *= 1 - 0.5 * z;
        double blur = pl.defocus * z;
        memset(P, 0, plane * sizeof(float));
        draw_plane(P, w, h, &pl, rng);
        NLCL_TRY(gauss_blur(P, w, h, blur, tmp));
        for (size_t k = 0; k < plane; k++) S[k] += P[k];
    }
    return NLCL_OK;
}

nlcl_status nlcl_synth_rain(const nlcl_image *clean, const nlcl_rain_params *p, nlcl_rng *rng,
                            nlcl_image *rainy) {
    NLCL_TRY(nlcl_rain_params_check(p));
    const int w = clean->width, h = clean->height;
    const size_t plane = (size_t)w * h;
    rain_draw v;
    draw_values(p, rng, &v);
    float *S = malloc(plane * sizeof(float)), *P = malloc(plane * sizeof(float));
    float *d = malloc(plane * sizeof(float)), *tmp = malloc(sizeof(float) * (size_t)NLCL_MAX(w, h));
    nlcl_status s = S && P && d && tmp ? NLCL_OK : nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    if (s == NLCL_OK) s = streak_layer(&v, w, h, rng, S, P, tmp);
    if (s == NLCL_OK) s = nlcl_image_alloc(rainy, h, w);
    if (s == NLCL_OK) {
        depth_proxy(clean, v.grid, d, tmp);
        for (int c = 0; c < 3; c++)
            for (size_t i = 0; i < plane; i++) {
                double T = exp(-v.beta * d[i]), b01 = (clean->data[c * plane + i] + 1.0) / 2.0;
                double o = T * (b01 + S[i]) + (1 - T) * v.A[c]; /* Li et al. Eq. (1) */
                rainy->data[c * plane + i] = (float)(NLCL_MIN(NLCL_MAX(o, 0.0), 1.0) * 2.0 - 1.0);
            }
    }
    free(S), free(P), free(d), free(tmp);
    if (s == NLCL_OK && p->jpeg[1] > 0) { /* drawn after the streaks: older streams unchanged */
        int q = (int)p->jpeg[0] + (int)nlcl_rng_below(rng, (uint32_t)(p->jpeg[1] - p->jpeg[0] + 1));
        if (q > 0) s = nlcl_jpeg_degrade(rainy, q);
        if (s != NLCL_OK) nlcl_image_free(rainy);
    }
    return s;
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
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "scene must be at least 16x16");
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
