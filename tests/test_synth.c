/* Synthetic rain (include/nlcl/synth.h): every parameter bounded and named;
 * the heavy-rain model O = T(B + S) + (1 - T)A checked through its parts:
 * no rain and no veil is the identity; the veil alone on a flat image spans
 * exactly T = exp(-beta) .. 1 and keeps one A per channel; streaks alone only
 * brighten, equally in R, G and B, run along their angle, and are softened
 * by defocus without moving; the presets order light < heavy < downpour;
 * the same seed gives the same rain; a preset's streaks take another's veil;
 * mix draws presets by their weights; JPEG compression comes last, changes
 * the streaks' image only by JPEG's loss, and is off in every preset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/image.h"
#include "nlcl/synth.h"

static nlcl_rain_params none(void) {
    /* one plane, no streaks, no veil */
    nlcl_rain_params p;
    nlcl_rain_params_preset(&p, NLCL_RAIN_LIGHT);
    p.density[0] = p.density[1] = 0;
    p.beta[0] = p.beta[1] = 0;
    p.defocus[0] = p.defocus[1] = 0;
    return p;
}

static nlcl_image flat(int w, int h, float v) {
    nlcl_image im = {0};
    if (nlcl_image_alloc(&im, h, w) == NLCL_OK)
        for (size_t i = 0; i < (size_t)3 * w * h; i++) im.data[i] = v;
    return im;
}

static void bounds(void) {
    nlcl_image clean = flat(16, 12, 0);
    nlcl_rng r;
    nlcl_rng_seed(&r, 1, 1);
    for (int i = 0; i < NLCL_RAIN_NPARAMS; i++) {
        const nlcl_rain_param_info *b = &nlcl_rain_param_table[i];
        const double bad[] = {b->lo - 1, b->hi + 1, NAN, INFINITY, 1e30};
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
            nlcl_rain_params p = none();
            double *f = (double *)((char *)&p + b->offset);
            f[0] = f[1] = bad[k];
            nlcl_image rainy = {0};
            CHECK_ERR(nlcl_synth_rain(&clean, &p, &r, &rainy), NLCL_ERR_INVALID_ARG, b->name);
            CHECK(rainy.data == NULL);
        }
        nlcl_rain_params p = none();
        double *f = (double *)((char *)&p + b->offset);
        f[0] = b->hi, f[1] = b->lo; /* min > max */
        CHECK_ERR(nlcl_rain_params_check(&p), NLCL_ERR_INVALID_ARG, b->name);
        if (b->lo_open) {
            f[0] = f[1] = b->lo;
            CHECK_ERR(nlcl_rain_params_check(&p), NLCL_ERR_INVALID_ARG, b->name);
        }
    }
    nlcl_rain_params p = none();
    p.layers[0] = p.layers[1] = 1.5;
    CHECK_ERR(nlcl_rain_params_check(&p), NLCL_ERR_INVALID_ARG, "whole number");
    p = none();
    p.jpeg[0] = 50, p.jpeg[1] = 50.5;
    CHECK_ERR(nlcl_rain_params_check(&p), NLCL_ERR_INVALID_ARG, "jpeg must be a whole number");
    /* every range at its ends is accepted (a tiny image keeps it fast) */
    nlcl_rain_params e = {{1, 4}, {0, 0.001}, {1000, 1000}, {-90, 90}, {0, 45}, {50, 50}, {0, 1},
                          {0, 20}, {0, 5}, {0, 1}, {0, 100}};
    nlcl_image rainy = {0};
    CHECK_OK(nlcl_synth_rain(&clean, &e, &r, &rainy));
    nlcl_image_free(&rainy);
    for (int k = 0; k < NLCL_RAIN_NPRESETS; k++) {
        nlcl_rain_params_preset(&p, (nlcl_rain_preset)k);
        CHECK_OK(nlcl_rain_params_check(&p));
    }
    nlcl_image_free(&clean);
}

static void identity(void) {
    nlcl_rng r, sr;
    nlcl_rng_seed(&sr, 5, 5);
    nlcl_image clean = {0}, rainy = {0};
    CHECK_OK(nlcl_synth_scene(48, 64, &sr, &clean));
    nlcl_rain_params p = none();
    nlcl_rng_seed(&r, 2, 2);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &rainy));
    double worst = 0;
    for (size_t i = 0; i < (size_t)3 * 64 * 48; i++) worst = fmax(worst, fabs(rainy.data[i] - clean.data[i]));
    CHECK_MSG(worst < 1e-6, "no streaks, no veil: largest change %g", worst);
    nlcl_image_free(&rainy);
    nlcl_image_free(&clean);
}

/* The veil alone on a flat grey image B = 0.2: O_c = T 0.2 + (1 - T) A_c. */
static void veil(void) {
    const int w = 40, h = 30;
    const double b01 = 0.2, beta = 1.5, a = 0.9;
    nlcl_image clean = flat(w, h, (float)(b01 * 2 - 1)), rainy = {0};
    nlcl_rain_params p = none();
    p.beta[0] = p.beta[1] = beta;
    p.airlight[0] = p.airlight[1] = a;
    nlcl_rng r;
    nlcl_rng_seed(&r, 3, 3);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &rainy));
    size_t plane = (size_t)w * h;
    double A[3] = {0}, tmin = 1, tmax = 0, top = 0, bottom = 0;
    /* A_c from the haziest pixel's T: solve with the green channel first */
    for (int c = 0; c < 3; c++) A[c] = -1;
    for (size_t i = 0; i < plane; i++) {
        double o[3], T[3];
        for (int c = 0; c < 3; c++) o[c] = (rainy.data[c * plane + i] + 1) / 2;
        /* A_c is within 1.5% of a: T from each channel with A = a is close,
         * and exact T comes from the channel ratios below */
        for (int c = 0; c < 3; c++) T[c] = (a - o[c]) / (a - b01);
        double t = T[1];
        tmin = fmin(tmin, t), tmax = fmax(tmax, t);
        if (i < (size_t)w * 3) top += t;
        if (i >= plane - (size_t)w * 3) bottom += t;
        /* one T for all channels: (o_c - b) / (o_g - b) = (A_c - b) / (A_g - b), the same
           ratio at every pixel where the veil is not negligible */
        if (1 - t > 0.2) {
            for (int c = 0; c < 3; c++) {
                double ratio = (o[c] - b01) / (o[1] - b01);
                if (A[c] < 0) A[c] = ratio;
                CHECK_MSG(fabs(ratio - A[c]) < 1e-4, "pixel %zu channel %d: ratio %g vs %g", i, c, ratio, A[c]);
            }
        }
    }
    /* d spans [0, 1], so T spans [exp(-beta), 1] (within the 1.5% tint of A) */
    CHECK_MSG(fabs(tmax - 1) < 0.02 && fabs(tmin - exp(-beta)) < 0.03, "T in [%g, %g], want [%g, 1]",
              tmin, tmax, exp(-beta));
    CHECK_MSG(top < bottom, "the top of the image (far) is hazier: mean T top %g, bottom %g", top / (3 * w),
              bottom / (3 * w));
    nlcl_image_free(&rainy);
    nlcl_image_free(&clean);
}

/* Streaks alone, vertical: O >= B, equal in R, G and B (below clipping),
 * and changing across columns far more than along them. */
static double streaks(int layers, double defocus, double *hf, double *mass) {
    const int w = 96, h = 96;
    nlcl_image clean = flat(w, h, -0.6f), rainy = {0};
    nlcl_rain_params p = none();
    p.layers[0] = p.layers[1] = layers;
    p.density[0] = p.density[1] = 0.004;
    p.length[0] = p.length[1] = 30;
    p.angle[0] = p.angle[1] = 0;
    p.spread[0] = p.spread[1] = 0;
    p.width[0] = p.width[1] = 1;
    p.intensity[0] = p.intensity[1] = 0.3;
    p.defocus[0] = p.defocus[1] = defocus;
    nlcl_rng r;
    nlcl_rng_seed(&r, 4, 4);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &rainy));
    size_t plane = (size_t)w * h;
    double dv = 0, dh = 0, total = 0;
    int below = 0, unequal = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double s = rainy.data[i] + 0.6;
            if (s < -1e-6) below++;
            if (rainy.data[i] < 0.99 && (fabs(rainy.data[plane + i] - rainy.data[i]) > 1e-6 ||
                                         fabs(rainy.data[2 * plane + i] - rainy.data[i]) > 1e-6))
                unequal++;
            total += s;
            if (y + 1 < h) dv += pow(rainy.data[i + w] + 0.6 - s, 2);
            if (x + 1 < w) dh += pow(rainy.data[i + 1] + 0.6 - s, 2);
        }
    CHECK_MSG(below == 0, "%d pixels darker than the clean image", below);
    CHECK_MSG(unequal == 0, "%d pixels with coloured streaks", unequal);
    CHECK_MSG(dh > 3 * dv, "vertical streaks change across columns, not along them: %g vs %g", dh, dv);
    *hf = dh + dv;
    *mass = total;
    nlcl_image_free(&rainy);
    nlcl_image_free(&clean);
    return total / plane;
}

static void streak_checks(void) {
    double hf1, m1, hf2, m2, hf3, m3;
    double one = streaks(1, 0, &hf1, &m1);
    double two = streaks(2, 0, &hf2, &m2);
    CHECK_MSG(one > 0.002 && two > one, "more planes, more rain: %g vs %g", two, one);
    /* the same streaks (the defocus draw does not move them), blurred: the
       mass stays (borders aside), the fine detail goes */
    streaks(2, 3, &hf3, &m3);
    CHECK_MSG(fabs(m3 - m2) < 0.1 * m2, "defocus keeps the streaks' mass: %g vs %g", m3, m2);
    CHECK_MSG(hf3 < 0.9 * hf2, "defocus softens the far plane: %g vs %g", hf3, hf2);
}

/* Mean squared change of each preset on a generated scene: ordered. */
static void presets(void) {
    nlcl_rng sr;
    nlcl_rng_seed(&sr, 9, 9);
    nlcl_image clean = {0};
    CHECK_OK(nlcl_synth_scene(106, 160, &sr, &clean));
    double mse[NLCL_RAIN_NPRESETS] = {0};
    for (int k = 0; k < NLCL_RAIN_NPRESETS; k++)
        for (int seed = 0; seed < 4; seed++) {
            nlcl_rain_params p;
            nlcl_rain_params_preset(&p, (nlcl_rain_preset)k);
            nlcl_rng r;
            nlcl_rng_seed(&r, (uint64_t)seed, 11);
            nlcl_image rainy = {0};
            CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &rainy));
            for (size_t i = 0; i < (size_t)3 * 160 * 106; i++)
                mse[k] += pow(rainy.data[i] - clean.data[i], 2);
            nlcl_image_free(&rainy);
        }
    printf("mean squared change: light %g, heavy %g, downpour %g\n", mse[0], mse[1], mse[2]);
    CHECK(mse[0] > 0 && mse[0] < mse[1] && mse[1] < mse[2]);
    CHECK(!strcmp(nlcl_rain_preset_names[NLCL_RAIN_DOWNPOUR], "downpour"));
    nlcl_image_free(&clean);
}

static void determinism(void) {
    nlcl_rng sr;
    nlcl_rng_seed(&sr, 1, 1);
    nlcl_image clean = {0}, a = {0}, b = {0}, c = {0};
    CHECK_OK(nlcl_synth_scene(48, 64, &sr, &clean));
    nlcl_rain_params p;
    nlcl_rain_params_preset(&p, NLCL_RAIN_DOWNPOUR);
    nlcl_rng r1, r2, r3;
    nlcl_rng_seed(&r1, 7, 1);
    nlcl_rng_seed(&r2, 7, 1);
    nlcl_rng_seed(&r3, 8, 1);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r1, &a));
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r2, &b));
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r3, &c));
    size_t n = (size_t)3 * 64 * 48;
    CHECK(a.data && b.data && !memcmp(a.data, b.data, n * sizeof(float)));
    CHECK(a.data && c.data && memcmp(a.data, c.data, n * sizeof(float)) != 0);
    nlcl_image_free(&a), nlcl_image_free(&b), nlcl_image_free(&c), nlcl_image_free(&clean);
}

/* nlcl_rain_params_mixed: the streaks of one preset, the veil of another */
static void mixed(void) {
    nlcl_rain_params m, light, down;
    nlcl_rain_params_preset(&light, NLCL_RAIN_LIGHT);
    nlcl_rain_params_preset(&down, NLCL_RAIN_DOWNPOUR);
    nlcl_rain_params_mixed(&m, NLCL_RAIN_DOWNPOUR, NLCL_RAIN_LIGHT);
    CHECK(!memcmp(m.density, down.density, sizeof m.density) && !memcmp(m.width, down.width, sizeof m.width));
    CHECK(!memcmp(m.beta, light.beta, sizeof m.beta) && !memcmp(m.airlight, light.airlight, sizeof m.airlight));
    nlcl_rain_params_mixed(&m, NLCL_RAIN_LIGHT, NLCL_RAIN_DOWNPOUR);
    CHECK(!memcmp(m.density, light.density, sizeof m.density) && !memcmp(m.beta, down.beta, sizeof m.beta));
    nlcl_rain_params_mixed(&m, NLCL_RAIN_HEAVY, NLCL_RAIN_HEAVY);
    nlcl_rain_params_preset(&down, NLCL_RAIN_HEAVY);
    CHECK(!memcmp(&m, &down, sizeof m));
    CHECK_OK(nlcl_rain_params_check(&m));
}

/* nlcl_rain_draw_preset: weights 1, 1, 1 draw as nlcl_rng_below(3); a zero
 * weight is never drawn; the frequencies follow the weights */
static void draw_preset(void) {
    const int even[3] = {1, 1, 1}, skew[3] = {2, 0, 1}, one[3] = {0, 1, 0};
    nlcl_rng a, b;
    nlcl_rng_seed(&a, 5, 9), nlcl_rng_seed(&b, 5, 9);
    int same = 1, count[3] = {0, 0, 0};
    for (int i = 0; i < 300; i++) same &= nlcl_rain_draw_preset(even, &a) == (int)nlcl_rng_below(&b, 3);
    CHECK(same);
    for (int i = 0; i < 3000; i++) count[nlcl_rain_draw_preset(skew, &a)]++;
    printf("draws of weights 2,0,1 in 3000: %d %d %d\n", count[0], count[1], count[2]);
    CHECK(count[1] == 0 && count[0] > 1850 && count[0] < 2150 && count[2] > 850 && count[2] < 1150);
    CHECK(nlcl_rain_draw_preset(one, &a) == 1);
}

static double psnr(const nlcl_image *a, const nlcl_image *b) {
    return test_psnr(a->data, b->data, (size_t)3 * a->width * a->height);
}

/* The jpeg parameter: drawn after the streaks, so a JPEG of quality 95 is
 * close to the same draw without it (the same streaks) and far from another
 * seed's; quality 10 loses more than 95; a preset draws no quality. */
static void jpeg(void) {
    nlcl_rng sr, r;
    nlcl_rng_seed(&sr, 3, 3);
    nlcl_image clean = {0}, plain = {0}, q95 = {0}, q10 = {0}, other = {0};
    CHECK_OK(nlcl_synth_scene(64, 80, &sr, &clean));
    nlcl_rain_params p;
    nlcl_rain_params_preset(&p, NLCL_RAIN_HEAVY);
    CHECK(p.jpeg[0] == 0 && p.jpeg[1] == 0);
    nlcl_rng_seed(&r, 9, 1);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &plain));
    const uint32_t after_plain = nlcl_rng_u32(&r);
    p.jpeg[0] = p.jpeg[1] = 95;
    nlcl_rng_seed(&r, 9, 1);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &q95));
    p.jpeg[0] = p.jpeg[1] = 10;
    nlcl_rng_seed(&r, 9, 1);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &q10));
    CHECK(nlcl_rng_u32(&r) != after_plain); /* a quality was drawn */
    p.jpeg[0] = p.jpeg[1] = 95;
    nlcl_rng_seed(&r, 10, 1);
    CHECK_OK(nlcl_synth_rain(&clean, &p, &r, &other));
    if (plain.data && q95.data && q10.data && other.data) {
        double a = psnr(&plain, &q95), b = psnr(&plain, &q10), c = psnr(&plain, &other);
        printf("JPEG of a heavy draw, PSNR against it: q95 %.2f dB, q10 %.2f dB; another seed %.2f dB\n", a, b, c);
        CHECK(a > 30 && a < 60 && b < a - 5 && c < a - 10);
    }
    nlcl_image_free(&plain), nlcl_image_free(&q95), nlcl_image_free(&q10), nlcl_image_free(&other);
    nlcl_image_free(&clean);
    /* grey noise (no chroma for 4:2:0 to lose) at quality 100: a JPEG larger
     * than the first output buffer (64 KiB), so the buffer grows */
    nlcl_image noise = flat(320, 256, 0), out = {0};
    const size_t np = (size_t)320 * 256;
    for (size_t i = 0; noise.data && i < np; i++)
        noise.data[i] = noise.data[np + i] = noise.data[2 * np + i] = (float)(nlcl_rng_uniform(&r) * 2 - 1);
    nlcl_rain_params n = none();
    n.jpeg[0] = n.jpeg[1] = 100;
    CHECK_OK(nlcl_synth_rain(&noise, &n, &r, &out));
    if (noise.data && out.data) {
        double q = psnr(&noise, &out);
        printf("noise through JPEG quality 100: %.2f dB\n", q);
        CHECK(q > 30 && q < 60);
    }
    nlcl_image_free(&noise), nlcl_image_free(&out);
}

int main(void) {
    bounds();
    draw_preset();
    mixed();
    identity();
    veil();
    streak_checks();
    presets();
    determinism();
    jpeg();
    return test_finish("test_synth");
}
