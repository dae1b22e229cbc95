/* Finite-difference gradient checks for every op with a backward pass
 * (include/nlcl/ops.h, and conv2d through conv.h), in both activation
 * layouts, plus the contract details: backward ACCUMULATES into gradients,
 * NULL gradients are skipped, padding lanes of blocked tensors stay zero,
 * reductions give the same bits for 1 and 2 OpenMP threads.
 *
 * Probe loss L = sum(out * R) for a fixed random R (accumulated in double);
 * the numerical gradient is the central difference of the float op itself,
 * dL/dp_i ~ (L(p_i + h) - L(p_i - h)) / (fl(p_i + h) - fl(p_i - h)), compared
 * with the analytic gradient from backward(dy = R) on a zeroed gradient. The
 * error is |num - ana| / max|ana| over the tensor.
 *
 * On an AVX-512 CPU (block 16) the test re-runs itself with
 * DNNL_MAX_CPU_ISA=AVX2, where the blocked layout uses block 8, so both block
 * sizes are covered.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/conv.h"
#include "nlcl/ops.h"
#include "ops/norm_internal.h"

static nlcl_rng rng;

/* nlcl_eroded_l1_forward's value, as test_mse_v (harness.h). */
static double eroded_v(const float *a, const float *b, int planes, int h, int w, int s) {
    double v = 0;
    nlcl_status st = nlcl_eroded_l1_forward(a, b, planes, h, w, s, &v);
    return test_loss_of(st, v);
}

/* nlcl_mean_l1_forward's value. */
static double mean_l1_v(const float *a, const float *b, int planes, size_t hw) {
    double v = 0;
    nlcl_status st = nlcl_mean_l1_forward(a, b, planes, hw, &v);
    return test_loss_of(st, v);
}

/* ------------------------------------------------------------ helpers */

static float *falloc(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) abort();
    return p;
}

static float *rand_buf(size_t n, float lo, float hi) {
    float *p = falloc(n);
    test_fill_uniform(&rng, p, n, lo, hi);
    return p;
}

/* An NCHW tensor converted to `layout` (padding lanes zero). */
static float *to_layout(const float *src, nlcl_layout l, int n, int c, int h, int w) {
    float *d = falloc(nlcl_layout_numel(l, n, c, h, w));
    nlcl_layout_convert(src, NLCL_NCHW, d, l, n, c, h, w);
    return d;
}

static float *rand_layout(nlcl_layout l, int n, int c, int h, int w, float lo, float hi) {
    size_t cnt = (size_t)n * c * h * w;
    float *t = rand_buf(cnt, lo, hi);
    float *d = to_layout(t, l, n, c, h, w);
    free(t);
    return d;
}

/* 1 for real elements, 0 for padding lanes of a blocked tensor. */
static unsigned char *valid_mask(nlcl_layout l, int n, int c, int h, int w) {
    size_t cnt = (size_t)n * c * h * w, tot = nlcl_layout_numel(l, n, c, h, w);
    float *ones = falloc(cnt), *d = falloc(tot);
    for (size_t i = 0; i < cnt; i++) ones[i] = 1.0f;
    nlcl_layout_convert(ones, NLCL_NCHW, d, l, n, c, h, w);
    unsigned char *m = malloc(tot);
    for (size_t i = 0; i < tot; i++) m[i] = d[i] != 0.0f;
    free(ones);
    free(d);
    return m;
}

static int pad_lanes_zero(const float *t, const unsigned char *valid, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!valid[i] && t[i] != 0.0f) return 0;
    return 1;
}

static double probe(const float *out, const float *R, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * (double)R[i];
    return s;
}

static const char *lname(nlcl_layout l) {
    return l == NLCL_BLOCKED ? "blocked" : l == NLCL_NHWC ? "nhwc" : "nchw";
}

typedef double (*probe_fn)(void *ctx);

static double worst_err = 0; /* largest error of all checks, for the summary */

/* Central differences of f with respect to p[0..n) (skipping valid[i] == 0),
 * compared with ana. Returns the max error relative to max|ana|. */
static double fd_check(const char *what, probe_fn f, void *ctx, float *p, size_t n,
                       const float *ana, const unsigned char *valid, float h, double tol) {
    double scale = 1e-6, err = 0;
    size_t worst = 0, used = 0;
    for (size_t i = 0; i < n; i++)
        if (!valid || valid[i]) scale = fmax(scale, fabs(ana[i]));
    for (size_t i = 0; i < n; i++) {
        if (valid && !valid[i]) continue;
        float s = p[i], up = s + h, dn = s - h;
        p[i] = up;
        double lp = f(ctx);
        p[i] = dn;
        double lm = f(ctx);
        p[i] = s;
        double num = (lp - lm) / ((double)up - (double)dn);
        double e = fabs(num - ana[i]) / scale;
        if (!(e <= err)) {
            err = e;
            worst = i;
        }
        used++;
    }
    f(ctx); /* leave the outputs as at the unperturbed point */
    CHECK_MSG(used > 0 && err <= tol, "%s: gradient error %.3g > %.1g at %zu (%zu checked)", what,
              err, tol, worst, used);
    printf("  %-44s fd err %.2e (tol %.0e, %zu values)\n", what, err, tol, used);
    if (err > worst_err) worst_err = err;
    return err;
}

/* max |a - k*b| / max|k*b| */
static double rel_diff(const float *a, const float *b, float k, size_t n) {
    double s = 1e-30, m = 0;
    for (size_t i = 0; i < n; i++) s = fmax(s, fabs((double)k * b[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)k * b[i]);
        if (!(d <= m)) m = d;
    }
    return m / s;
}

/* ------------------------------------------------------ instance norm */

typedef struct in_ctx {
    int n, c, h, w, relu;
    nlcl_layout l;
    float *x, *res, *y, *R;
    size_t tot;
} in_ctx;

static double in_probe(void *vc) {
    in_ctx *c = vc;
    nlcl_instance_norm_forward(c->x, c->res, c->y, NULL, NULL, c->n, c->c, c->h, c->w, c->l, 1e-5f,
                               c->relu);
    return probe(c->y, c->R, c->tot);
}

static void check_instance_norm(int n, int C, int h, int w, nlcl_layout l, int relu, int res) {
    char name[128];
    in_ctx c = {n, C, h, w, relu, l, NULL, NULL, NULL, NULL, nlcl_layout_numel(l, n, C, h, w)};
    c.x = rand_layout(l, n, C, h, w, -1, 1);
    c.res = res ? rand_layout(l, n, C, h, w, -1, 1) : NULL;
    c.R = rand_layout(l, n, C, h, w, -1, 1);
    c.y = falloc(c.tot);
    unsigned char *valid = valid_mask(l, n, C, h, w);
    float *mean = falloc((size_t)n * C), *rstd = falloc((size_t)n * C);
    float *dx = falloc(c.tot), *dx2 = falloc(c.tot);

    nlcl_instance_norm_forward(c.x, c.res, c.y, mean, rstd, n, C, h, w, l, 1e-5f, relu);
    CHECK(pad_lanes_zero(c.y, valid, c.tot));
    nlcl_instance_norm_backward(c.R, c.x, mean, rstd, dx, n, C, h, w, l, relu);
    CHECK(pad_lanes_zero(dx, valid, c.tot));

    /* ReLU kinks: skip elements whose xhat is within the step of 0 */
    unsigned char *use = malloc(c.tot);
    memcpy(use, valid, c.tot);
    const float step = 3e-3f; /* FD noise ~ 1e-6 / step for a 1200-pixel plane */
    if (relu) {
        float *xn = falloc((size_t)n * C * h * w);
        nlcl_layout_convert(c.x, l, xn, NLCL_NCHW, n, C, h, w);
        float *xl = falloc(c.tot), *mk = falloc((size_t)n * C * h * w);
        for (int i = 0; i < n * C; i++)
            for (int k = 0; k < h * w; k++) {
                double xh = ((double)xn[(size_t)i * h * w + k] - mean[i]) * rstd[i];
                mk[(size_t)i * h * w + k] = fabs(xh) < 4.0 * step * rstd[i] ? 0.0f : 1.0f;
            }
        nlcl_layout_convert(mk, NLCL_NCHW, xl, l, n, C, h, w);
        for (size_t i = 0; i < c.tot; i++) use[i] = use[i] && xl[i] != 0.0f;
        free(xn);
        free(xl);
        free(mk);
    }
    snprintf(name, sizeof name, "instance_norm%s%s %dx%dx%dx%d %s", relu ? "+relu" : "",
             res ? "+res" : "", n, C, h, w, lname(l));
    fd_check(name, in_probe, &c, c.x, c.tot, dx, use, step, 2e-3);

    /* accumulate: a second call doubles the gradient; from a non-zero start it adds */
    memcpy(dx2, dx, c.tot * sizeof(float));
    nlcl_instance_norm_backward(c.R, c.x, mean, rstd, dx2, n, C, h, w, l, relu);
    CHECK_MSG(rel_diff(dx2, dx, 2.0f, c.tot) == 0.0, "%s: second backward does not double dx",
              name);
    /* NULL dx: nothing to do, no crash */
    nlcl_instance_norm_backward(c.R, c.x, mean, rstd, NULL, n, C, h, w, l, relu);

    /* in place: y aliasing x (no res) or res gives the same bits */
    float *alias = falloc(c.tot);
    if (res) {
        memcpy(alias, c.res, c.tot * sizeof(float));
        nlcl_instance_norm_forward(c.x, alias, alias, NULL, NULL, n, C, h, w, l, 1e-5f, relu);
    } else {
        memcpy(alias, c.x, c.tot * sizeof(float));
        nlcl_instance_norm_forward(alias, NULL, alias, NULL, NULL, n, C, h, w, l, 1e-5f, relu);
    }
    nlcl_instance_norm_forward(c.x, c.res, c.y, NULL, NULL, n, C, h, w, l, 1e-5f, relu);
    CHECK_MSG(memcmp(alias, c.y, c.tot * sizeof(float)) == 0, "%s: in-place result differs", name);

    free(alias);
    free(use);
    free(valid);
    free(mean);
    free(rstd);
    free(dx);
    free(dx2);
    free(c.x);
    free(c.res);
    free(c.R);
    free(c.y);
}

/* Forward against a double-precision reference, including a large offset
 * (mean 1000, spread 1) where E[x^2] - E[x]^2 in float would cancel. */
static void check_instance_norm_values(nlcl_layout l) {
    const int n = 2, C = 5, h = 73, w = 61, HW = h * w; /* large enough to run in parallel */
    size_t cnt = (size_t)n * C * HW;
    float *x = rand_buf(cnt, -1, 1);
    for (size_t i = 0; i < (size_t)HW; i++) x[i] += 1000.0f; /* plane (0,0) */
    for (size_t i = 0; i < (size_t)HW; i++) x[3 * HW + i] *= 1e-3f; /* tiny spread */
    float *xl = to_layout(x, l, n, C, h, w), *yl = falloc(nlcl_layout_numel(l, n, C, h, w));
    float *y = falloc(cnt), *mean = falloc(n * C), *rstd = falloc(n * C);
    nlcl_instance_norm_forward(xl, NULL, yl, mean, rstd, n, C, h, w, l, 1e-5f, 0);
    nlcl_layout_convert(yl, l, y, NLCL_NCHW, n, C, h, w);
    double emax = 0, estat = 0;
    for (int p = 0; p < n * C; p++) {
        const float *xp = x + (size_t)p * HW;
        double m = 0, v = 0;
        for (int i = 0; i < HW; i++) m += xp[i];
        m /= HW;
        for (int i = 0; i < HW; i++) v += (xp[i] - m) * (xp[i] - m);
        v /= HW;
        double r = 1.0 / sqrt(v + 1e-5);
        estat = fmax(estat, fabs(mean[p] - m) / fmax(1.0, fabs(m)));
        estat = fmax(estat, fabs(rstd[p] - r) / r);
        for (int i = 0; i < HW; i++) emax = fmax(emax, fabs(y[(size_t)p * HW + i] - (xp[i] - m) * r));
    }
    /* the offset plane: x - mean in float loses |1000| * 2^-24 ~ 6e-5 */
    CHECK_MSG(emax < 2e-4, "instance norm forward error %g vs double (%s)", emax, lname(l));
    CHECK_MSG(estat < 1e-6, "instance norm mean/rstd error %g vs double (%s)", estat, lname(l));
    printf("  instance_norm values %-23s max err %.2e (stats %.2e)\n", lname(l), emax, estat);
    free(x);
    free(xl);
    free(yl);
    free(y);
    free(mean);
    free(rstd);
}

/* Degenerate planes (docs/bad-inputs.md "tiny images", "NaN / Inf"): a 1x1
 * map and a flat (constant) plane have variance 0; the output must be
 * exactly res (xhat = 0), the gradient rstd * (dy - mean(dy)), never NaN. */
static void check_instance_norm_degenerate(nlcl_layout l) {
    for (int k = 0; k < 2; k++) {
        const int n = 2, C = 3, h = k ? 4 : 1, w = k ? 5 : 1;
        size_t cnt = (size_t)n * C * h * w, tot = nlcl_layout_numel(l, n, C, h, w);
        float *x = rand_buf(cnt, -1, 1);
        if (k)
            for (int p = 0; p < n * C; p++)
                for (int i = 0; i < h * w; i++) x[(size_t)p * h * w + i] = 0.37f * (float)(p + 1);
        float *xl = to_layout(x, l, n, C, h, w), *res = rand_layout(l, n, C, h, w, -1, 1);
        float *y = falloc(tot), *dy = rand_layout(l, n, C, h, w, -1, 1), *dx = falloc(tot);
        float mean[6], rstd[6];
        nlcl_instance_norm_forward(xl, res, y, mean, rstd, n, C, h, w, l, 1e-5f, 1);
        int ok = 1;
        for (size_t i = 0; i < tot; i++) ok &= y[i] == res[i];
        nlcl_instance_norm_backward(dy, xl, mean, rstd, dx, n, C, h, w, l, 0);
        /* xhat = 0, so dx = rstd * (dy - mean(dy)): 0 for 1x1, finite (rstd =
         * 1/sqrt(eps)) for a flat plane */
        float *dyn = falloc(cnt), *dxn = falloc(cnt);
        nlcl_layout_convert(dy, l, dyn, NLCL_NCHW, n, C, h, w);
        nlcl_layout_convert(dx, l, dxn, NLCL_NCHW, n, C, h, w);
        for (int p = 0; p < n * C; p++) {
            double mg = 0;
            for (int i = 0; i < h * w; i++) mg += dyn[(size_t)p * h * w + i];
            mg /= h * w;
            ok &= isfinite(mean[p]) && fabs(rstd[p] - 1 / sqrt(1e-5)) < 1e-3;
            for (int i = 0; i < h * w; i++) {
                double want = rstd[p] * (dyn[(size_t)p * h * w + i] - mg);
                ok &= fabs(dxn[(size_t)p * h * w + i] - want) <= 1e-5 * rstd[p];
            }
        }
        CHECK_MSG(ok, "instance norm on a %s plane (%s): wrong output or gradient",
                  k ? "flat" : "1x1", lname(l));
        free(dyn);
        free(dxn);
        free(x);
        free(xl);
        free(res);
        free(y);
        free(dy);
        free(dx);
    }
}

/* ------------------------------------------------------- activations */

typedef struct act_ctx {
    int kind; /* 0 relu, 1 leaky, 2 tanh */
    float *x, *y, *R;
    size_t n;
} act_ctx;

static void act_fwd(const act_ctx *c) {
    if (c->kind == 0) nlcl_relu_forward(c->x, c->y, c->n);
    if (c->kind == 1) nlcl_leaky_relu_forward(c->x, c->y, c->n, 0.2f);
    if (c->kind == 2) nlcl_tanh_forward(c->x, c->y, c->n);
}

static double act_probe(void *vc) {
    act_ctx *c = vc;
    act_fwd(c);
    return probe(c->y, c->R, c->n);
}

static void check_activation(int kind) {
    static const char *names[] = {"relu", "leaky_relu(0.2)", "tanh"};
    act_ctx c = {kind, NULL, NULL, NULL, 2 * 3 * 7 * 5};
    c.x = rand_buf(c.n, -2, 2);
    for (size_t i = 0; i < c.n; i++) /* keep away from the kink */
        if (fabsf(c.x[i]) < 0.05f) c.x[i] = c.x[i] < 0 ? -0.05f : 0.05f;
    c.R = rand_buf(c.n, -1, 1);
    c.y = falloc(c.n);
    float *dx = falloc(c.n), *dx2 = falloc(c.n);
    act_fwd(&c);
    if (kind == 0) nlcl_relu_backward(c.R, c.y, dx, c.n);
    if (kind == 1) nlcl_leaky_relu_backward(c.R, c.y, dx, c.n, 0.2f);
    if (kind == 2) nlcl_tanh_backward(c.R, c.y, dx, c.n);
    fd_check(names[kind], act_probe, &c, c.x, c.n, dx, NULL, 1e-3f, 1e-3);
    memcpy(dx2, dx, c.n * sizeof(float));
    if (kind == 0) nlcl_relu_backward(c.R, c.y, dx2, c.n);
    if (kind == 1) nlcl_leaky_relu_backward(c.R, c.y, dx2, c.n, 0.2f);
    if (kind == 2) nlcl_tanh_backward(c.R, c.y, dx2, c.n);
    CHECK_MSG(rel_diff(dx2, dx, 2.0f, c.n) == 0.0, "%s: backward does not accumulate", names[kind]);
    if (kind == 0) nlcl_relu_backward(c.R, c.y, NULL, c.n);
    if (kind == 1) nlcl_leaky_relu_backward(c.R, c.y, NULL, c.n, 0.2f);
    if (kind == 2) nlcl_tanh_backward(c.R, c.y, NULL, c.n);
    /* in place and NaN propagation */
    memcpy(dx2, c.x, c.n * sizeof(float));
    dx2[3] = NAN;
    if (kind == 0) nlcl_relu_forward(dx2, dx2, c.n);
    if (kind == 1) nlcl_leaky_relu_forward(dx2, dx2, c.n, 0.2f);
    if (kind == 2) nlcl_tanh_forward(dx2, dx2, c.n);
    CHECK(isnan(dx2[3]));
    int same = 1;
    for (size_t i = 0; i < c.n; i++)
        if (i != 3 && dx2[i] != c.y[i]) same = 0;
    CHECK_MSG(same, "%s: in-place forward differs", names[kind]);
    free(c.x);
    free(c.y);
    free(c.R);
    free(dx);
    free(dx2);
}

/* ------------------------------------------------------------ spatial */

typedef struct sp_ctx {
    int kind; /* 0 reflect pad, 1 blur downsample */
    int n, c, h, w, p, ho, wo;
    nlcl_layout l;
    float *x, *y, *R;
    size_t ny;
} sp_ctx;

static void sp_fwd(sp_ctx *c) {
    if (c->kind == 0)
        nlcl_reflect_pad_forward(c->x, c->y, c->n, c->c, c->h, c->w, c->p, c->l);
    else
        nlcl_blur_downsample_forward(c->x, c->y, c->n, c->c, c->h, c->w, c->l);
}

static double sp_probe(void *vc) {
    sp_ctx *c = vc;
    sp_fwd(c);
    return probe(c->y, c->R, c->ny);
}

static void sp_bwd(sp_ctx *c, const float *dy, float *dx) {
    if (c->kind == 0)
        nlcl_reflect_pad_backward(dy, dx, c->n, c->c, c->h, c->w, c->p, c->l);
    else
        nlcl_blur_downsample_backward(dy, dx, c->n, c->c, c->h, c->w, c->l);
}

static void check_spatial(int kind, int n, int C, int h, int w, int p, nlcl_layout l) {
    sp_ctx c = {kind, n, C, h, w, p, 0, 0, l, NULL, NULL, NULL, 0};
    c.ho = kind == 0 ? h + 2 * p : (h - 1) / 2 + 1;
    c.wo = kind == 0 ? w + 2 * p : (w - 1) / 2 + 1;
    size_t nx = nlcl_layout_numel(l, n, C, h, w);
    c.ny = nlcl_layout_numel(l, n, C, c.ho, c.wo);
    c.x = rand_layout(l, n, C, h, w, -1, 1);
    c.R = rand_layout(l, n, C, c.ho, c.wo, -1, 1);
    c.y = falloc(c.ny);
    unsigned char *vx = valid_mask(l, n, C, h, w), *vy = valid_mask(l, n, C, c.ho, c.wo);
    float *dx = falloc(nx), *dx2 = falloc(nx);
    sp_fwd(&c);
    CHECK(pad_lanes_zero(c.y, vy, c.ny));
    sp_bwd(&c, c.R, dx);
    CHECK(pad_lanes_zero(dx, vx, nx));
    char name[128];
    if (kind == 0)
        snprintf(name, sizeof name, "reflect_pad(%d) %dx%dx%dx%d %s", p, n, C, h, w, lname(l));
    else
        snprintf(name, sizeof name, "blur_downsample %dx%dx%dx%d %s", n, C, h, w, lname(l));
    fd_check(name, sp_probe, &c, c.x, nx, dx, vx, 1e-2f, 1e-4);
    memcpy(dx2, dx, nx * sizeof(float));
    sp_bwd(&c, c.R, dx2);
    CHECK_MSG(rel_diff(dx2, dx, 2.0f, nx) < 1e-6, "%s: backward does not accumulate", name);
    sp_bwd(&c, c.R, NULL);
    free(c.x);
    free(c.y);
    free(c.R);
    free(vx);
    free(vy);
    free(dx);
    free(dx2);
}

/* Reflection semantics by hand: x[-1] = x[1], x[w] = x[w-2]. */
static void check_reflect_values(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}; /* 1x1x2x3 */
    float y[4 * 5];
    nlcl_reflect_pad_forward(x, y, 1, 1, 2, 3, 1, NLCL_NCHW);
    const float want[20] = {5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2};
    CHECK(memcmp(y, want, sizeof want) == 0);
    /* Downsample of a 1x1x3x3 input by hand: output 2x2, y[0][0] = sum of
     * w * x over reflect-padded 3x3 around (0,0): rows (1,0,1), cols (1,0,1) */
    float a[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, b[4];
    nlcl_blur_downsample_forward(a, b, 1, 1, 3, 3, NLCL_NCHW);
    /* [.25 .5 .25] on rows 1,0,1 then cols 1,0,1: row mix = 0.5*x[1] + 0.5*x[0] */
    double r00 = 0.5 * (0.5 * a[4] + 0.5 * a[3]) + 0.5 * (0.5 * a[1] + 0.5 * a[0]);
    double r11 = 0.25 * (0.25 * a[4] + 0.5 * a[5] + 0.25 * a[4]) +
                 0.5 * (0.25 * a[7] + 0.5 * a[8] + 0.25 * a[7]) +
                 0.25 * (0.25 * a[4] + 0.5 * a[5] + 0.25 * a[4]);
    CHECK_NEAR(b[0], r00, 1e-6);
    CHECK_NEAR(b[3], r11, 1e-6);
}

/* --------------------------------------------------------------- linear */

typedef struct lin_ctx {
    int m, nin, nout;
    float *x, *W, *b, *y, *R;
} lin_ctx;

static double lin_probe(void *vc) {
    lin_ctx *c = vc;
    nlcl_linear_forward(c->x, c->W, c->b, c->y, c->m, c->nin, c->nout);
    return probe(c->y, c->R, (size_t)c->m * c->nout);
}

static void check_linear(int m, int nin, int nout) {
    lin_ctx c = {m, nin, nout, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)m * nin, nw = (size_t)nout * nin, ny = (size_t)m * nout;
    c.x = rand_buf(nx, -1, 1);
    c.W = rand_buf(nw, -0.5f, 0.5f);
    c.b = rand_buf(nout, -0.5f, 0.5f);
    c.R = rand_buf(ny, -1, 1);
    c.y = falloc(ny);
    float *dx = falloc(nx), *dW = falloc(nw), *db = falloc(nout);
    nlcl_linear_forward(c.x, c.W, c.b, c.y, m, nin, nout);
    nlcl_linear_backward(c.R, c.x, c.W, dx, dW, db, m, nin, nout);
    char name[96];
    snprintf(name, sizeof name, "linear %dx%d->%d: dx", m, nin, nout);
    fd_check(name, lin_probe, &c, c.x, nx, dx, NULL, 1e-2f, 1e-4);
    snprintf(name, sizeof name, "linear %dx%d->%d: dW", m, nin, nout);
    fd_check(name, lin_probe, &c, c.W, nw, dW, NULL, 1e-2f, 1e-4);
    snprintf(name, sizeof name, "linear %dx%d->%d: db", m, nin, nout);
    fd_check(name, lin_probe, &c, c.b, nout, db, NULL, 1e-2f, 1e-4);
    /* accumulate, and each of dx, dW, db alone (others NULL) */
    float *ax = falloc(nx), *aW = falloc(nw), *ab = falloc(nout);
    nlcl_linear_backward(c.R, c.x, c.W, ax, NULL, NULL, m, nin, nout);
    nlcl_linear_backward(c.R, c.x, c.W, NULL, aW, NULL, m, nin, nout);
    nlcl_linear_backward(c.R, c.x, c.W, NULL, NULL, ab, m, nin, nout);
    CHECK(memcmp(ax, dx, nx * 4) == 0 && memcmp(aW, dW, nw * 4) == 0 && memcmp(ab, db, nout * 4) == 0);
    nlcl_linear_backward(c.R, c.x, c.W, ax, aW, ab, m, nin, nout);
    CHECK(rel_diff(ax, dx, 2.0f, nx) == 0.0 && rel_diff(aW, dW, 2.0f, nw) == 0.0 &&
          rel_diff(ab, db, 2.0f, nout) == 0.0);
    nlcl_linear_backward(c.R, c.x, c.W, NULL, NULL, NULL, m, nin, nout);
    /* no bias: y = x W^T exactly what the biased version gives minus b (checked in double) */
    nlcl_linear_forward(c.x, c.W, NULL, c.y, m, nin, nout);
    double e = 0;
    for (int i = 0; i < m; i++)
        for (int o = 0; o < nout; o++) {
            double s = 0;
            for (int k = 0; k < nin; k++) s += (double)c.x[(size_t)i * nin + k] * c.W[(size_t)o * nin + k];
            e = fmax(e, fabs(c.y[(size_t)i * nout + o] - s));
        }
    CHECK_MSG(e < 1e-5, "linear without bias: error %g", e);
    free(c.x);
    free(c.W);
    free(c.b);
    free(c.R);
    free(c.y);
    free(dx);
    free(dW);
    free(db);
    free(ax);
    free(aW);
    free(ab);
}

/* The linear kernels' documented order of operations (src/ops/linear.c), in
 * plain loops: forward, 16 partial sums (lane k % 16) folded from 0 in lane
 * order, then + b; backward, each sum over its reduced index in order from 0,
 * then added to the destination. The register-tiled kernels (used on AVX-512
 * CPUs) and the row kernels must both give these bits exactly, so the
 * results do not depend on the CPU or the number of threads. */
static void linear_in_order(const float *x, const float *W, const float *b, const float *dy,
                            float *y, float *dx, float *dW, int m, int nin, int nout) {
    for (int i = 0; i < m; i++)
        for (int o = 0; o < nout; o++) {
            float lane[16] = {0}, s = 0.0f;
            for (int k = 0; k < nin; k++) lane[k % 16] += x[(size_t)i * nin + k] * W[(size_t)o * nin + k];
            for (int j = 0; j < 16; j++) s += lane[j];
            y[(size_t)i * nout + o] = b ? s + b[o] : s;
        }
    for (int i = 0; i < m; i++)
        for (int k = 0; k < nin; k++) {
            float t = 0.0f;
            for (int o = 0; o < nout; o++) t += dy[(size_t)i * nout + o] * W[(size_t)o * nin + k];
            dx[(size_t)i * nin + k] += t;
        }
    for (int o = 0; o < nout; o++)
        for (int k = 0; k < nin; k++) {
            float t = 0.0f;
            for (int i = 0; i < m; i++) t += dy[(size_t)i * nout + o] * x[(size_t)i * nin + k];
            dW[(size_t)o * nin + k] += t;
        }
}

static void check_linear_exact(int m, int nin, int nout, int with_bias) {
    size_t nx = (size_t)m * nin, nw = (size_t)nout * nin, ny = (size_t)m * nout;
    float *x = rand_buf(nx, -1, 1), *W = rand_buf(nw, -0.5f, 0.5f), *b = rand_buf(nout, -0.5f, 0.5f);
    float *dy = rand_buf(ny, -1, 1), *dx0 = rand_buf(nx, -1, 1), *dW0 = rand_buf(nw, -1, 1);
    float *y = falloc(ny), *ry = falloc(ny), *dx = falloc(nx), *rdx = falloc(nx);
    float *dW = falloc(nw), *rdW = falloc(nw);
    memcpy(dx, dx0, nx * 4);
    memcpy(rdx, dx0, nx * 4);
    memcpy(dW, dW0, nw * 4);
    memcpy(rdW, dW0, nw * 4);
    const float *bb = with_bias ? b : NULL;
    nlcl_linear_forward(x, W, bb, y, m, nin, nout);
    nlcl_linear_backward(dy, x, W, dx, dW, NULL, m, nin, nout);
    linear_in_order(x, W, bb, dy, ry, rdx, rdW, m, nin, nout);
    CHECK_MSG(memcmp(y, ry, ny * 4) == 0, "linear %dx%d->%d forward: not the documented order's bits", m, nin, nout);
    CHECK_MSG(memcmp(dx, rdx, nx * 4) == 0, "linear %dx%d->%d dx: not the documented order's bits", m, nin, nout);
    CHECK_MSG(memcmp(dW, rdW, nw * 4) == 0, "linear %dx%d->%d dW: not the documented order's bits", m, nin, nout);
    free(x); free(W); free(b); free(dy); free(dx0); free(dW0);
    free(y); free(ry); free(dx); free(rdx); free(dW); free(rdW);
}

/* ------------------------------------------------------------ l2 norm */

typedef struct l2_ctx {
    int m, d;
    float *x, *y, *R, *norm;
} l2_ctx;

static double l2_probe(void *vc) {
    l2_ctx *c = vc;
    nlcl_l2norm_rows_forward(c->x, c->y, c->norm, c->m, c->d);
    return probe(c->y, c->R, (size_t)c->m * c->d);
}

static void check_l2norm(int m, int d) {
    l2_ctx c = {m, d, NULL, NULL, NULL, NULL};
    size_t n = (size_t)m * d;
    c.x = rand_buf(n, -1, 1);
    c.R = rand_buf(n, -1, 1);
    c.y = falloc(n);
    c.norm = falloc(m);
    float *dx = falloc(n), *dx2 = falloc(n);
    nlcl_l2norm_rows_forward(c.x, c.y, c.norm, m, d);
    nlcl_l2norm_rows_backward(c.R, c.x, c.y, c.norm, dx, m, d);
    char name[64];
    snprintf(name, sizeof name, "l2norm_rows %dx%d", m, d);
    fd_check(name, l2_probe, &c, c.x, n, dx, NULL, 1e-3f, 2e-3);
    memcpy(dx2, dx, n * 4);
    nlcl_l2norm_rows_backward(c.R, c.x, c.y, c.norm, dx2, m, d);
    CHECK(rel_diff(dx2, dx, 2.0f, n) == 0.0);
    nlcl_l2norm_rows_backward(c.R, c.x, c.y, c.norm, NULL, m, d);
    /* unit rows, and a zero row stays zero with a finite gradient dy / 1e-7 */
    double e = 0;
    for (int i = 0; i < m; i++) {
        double s = 0;
        for (int k = 0; k < d; k++) s += (double)c.y[(size_t)i * d + k] * c.y[(size_t)i * d + k];
        e = fmax(e, fabs(sqrt(s) - 1.0));
    }
    CHECK_MSG(e < 1e-6, "rows not unit: %g", e);
    memset(c.x, 0, (size_t)d * 4);
    memset(dx, 0, n * 4);
    nlcl_l2norm_rows_forward(c.x, c.y, c.norm, m, d);
    nlcl_l2norm_rows_backward(c.R, c.x, c.y, c.norm, dx, m, d);
    CHECK(c.norm[0] == 0.0f && c.y[0] == 0.0f && isfinite(dx[0]));
    CHECK_NEAR(dx[1], c.R[1] / 1e-7f, fabs(c.R[1] / 1e-7f) * 1e-6);
    free(c.x);
    free(c.y);
    free(c.R);
    free(c.norm);
    free(dx);
    free(dx2);
}

/* ----------------------------------------------------- gather/scatter */

typedef struct gat_ctx {
    int n, c, h, w, img, k;
    nlcl_layout l;
    float *x, *rows, *R;
    const int32_t *ids;
} gat_ctx;

static double gat_probe(void *vc) {
    gat_ctx *c = vc;
    nlcl_gather_rows(c->x, c->n, c->c, c->h, c->w, c->l, c->img, c->ids, c->k, c->rows);
    return probe(c->rows, c->R, (size_t)c->k * c->c);
}

static void check_gather(nlcl_layout l) {
    static const int32_t ids[9] = {3, 0, 34, 17, 3, 3, 30, 1, 22}; /* duplicates */
    gat_ctx c = {2, 20, 7, 5, 1, 9, l, NULL, NULL, NULL, ids};
    size_t nx = nlcl_layout_numel(l, c.n, c.c, c.h, c.w), nr = (size_t)c.k * c.c;
    c.x = rand_layout(l, c.n, c.c, c.h, c.w, -1, 1);
    c.R = rand_buf(nr, -1, 1);
    c.rows = falloc(nr);
    unsigned char *valid = valid_mask(l, c.n, c.c, c.h, c.w);
    float *dx = falloc(nx), *dx2 = falloc(nx);
    nlcl_gather_rows(c.x, c.n, c.c, c.h, c.w, l, c.img, ids, c.k, c.rows);
    /* by hand: rows[i][ch] = x[img][ch][id] */
    float *xn = falloc((size_t)c.n * c.c * c.h * c.w);
    nlcl_layout_convert(c.x, l, xn, NLCL_NCHW, c.n, c.c, c.h, c.w);
    int ok = 1;
    for (int i = 0; i < c.k; i++)
        for (int ch = 0; ch < c.c; ch++)
            if (c.rows[i * c.c + ch] != xn[((size_t)c.img * c.c + ch) * c.h * c.w + ids[i]]) ok = 0;
    CHECK_MSG(ok, "gather_rows values (%s)", lname(l));
    nlcl_scatter_rows_add(c.R, c.n, c.c, c.h, c.w, l, c.img, ids, c.k, dx);
    CHECK(pad_lanes_zero(dx, valid, nx));
    char name[64];
    snprintf(name, sizeof name, "gather_rows/scatter_rows_add %s", lname(l));
    fd_check(name, gat_probe, &c, c.x, nx, dx, valid, 1e-2f, 1e-4);
    memcpy(dx2, dx, nx * 4);
    nlcl_scatter_rows_add(c.R, c.n, c.c, c.h, c.w, l, c.img, ids, c.k, dx2);
    CHECK(rel_diff(dx2, dx, 2.0f, nx) < 1e-6);
    nlcl_scatter_rows_add(c.R, c.n, c.c, c.h, c.w, l, c.img, ids, c.k, NULL);
    free(c.x);
    free(c.R);
    free(c.rows);
    free(valid);
    free(dx);
    free(dx2);
    free(xn);
}

/* --------------------------------------------------------------- conv2d */

typedef struct conv_ctx {
    nlcl_conv2d_plan *plan;
    float *x, *w, *b, *y, *R;
    size_t ny;
} conv_ctx;

static double conv_probe(void *vc) {
    conv_ctx *c = vc;
    CHECK_OK(nlcl_conv2d_forward(c->plan, c->x, c->w, c->b, c->y));
    return probe(c->y, c->R, c->ny);
}

static void check_conv(nlcl_conv2d_shape s) {
    conv_ctx c;
    memset(&c, 0, sizeof c);
    CHECK_OK(nlcl_conv2d_plan_create(&c.plan, &s, 1));
    if (!c.plan) return;
    int ho, wo;
    nlcl_conv2d_plan_out(c.plan, &ho, &wo);
    size_t nx = nlcl_layout_numel(s.src_layout, s.n, s.cin, s.h, s.w);
    size_t nw = (size_t)s.cout * s.cin * s.kh * s.kw;
    c.ny = nlcl_layout_numel(s.dst_layout, s.n, s.cout, ho, wo);
    c.x = rand_layout(s.src_layout, s.n, s.cin, s.h, s.w, -1, 1);
    c.w = rand_buf(nw, -0.5f, 0.5f);
    c.b = rand_buf(s.cout, -0.5f, 0.5f);
    c.R = rand_layout(s.dst_layout, s.n, s.cout, ho, wo, -1, 1);
    c.y = falloc(c.ny);
    unsigned char *valid = valid_mask(s.src_layout, s.n, s.cin, s.h, s.w);
    float *dx = falloc(nx), *dw = falloc(nw), *db = falloc(s.cout);
    CHECK_OK(nlcl_conv2d_backward_data(c.plan, c.R, c.w, dx, 1.0f));
    CHECK_OK(nlcl_conv2d_backward_weights(c.plan, c.x, c.R, dw, db));
    char name[96];
    snprintf(name, sizeof name, "conv2d %dx%d pad %d %s->%s: dx", s.kh, s.kw, s.pad,
             lname(s.src_layout), lname(s.dst_layout));
    fd_check(name, conv_probe, &c, c.x, nx, dx, valid, 1e-2f, 1e-4);
    snprintf(name, sizeof name, "conv2d %dx%d pad %d %s->%s: dw", s.kh, s.kw, s.pad,
             lname(s.src_layout), lname(s.dst_layout));
    fd_check(name, conv_probe, &c, c.w, nw, dw, NULL, 1e-2f, 1e-4);
    snprintf(name, sizeof name, "conv2d %dx%d pad %d %s->%s: db", s.kh, s.kw, s.pad,
             lname(s.src_layout), lname(s.dst_layout));
    fd_check(name, conv_probe, &c, c.b, s.cout, db, NULL, 1e-2f, 1e-4);
    nlcl_conv2d_plan_free(c.plan);
    free(c.x);
    free(c.w);
    free(c.b);
    free(c.y);
    free(c.R);
    free(valid);
    free(dx);
    free(dw);
    free(db);
}

/* --------------------------------------------------------------- losses */

typedef struct loss_ctx {
    int kind; /* 0 mse, 1 l1, 2 l1 vs 0, 3 mse_const, 4 cross-entropy */
    float *a, *b, t, g;
    const int32_t *target;
    int m, d;
    size_t n;
} loss_ctx;

static double loss_probe(void *vc) {
    loss_ctx *c = vc;
    double l = 0;
    switch (c->kind) {
    case 0: l = test_mse_v(c->a, c->b, c->n); break;
    case 1: l = test_l1_v(c->a, c->b, c->n); break;
    case 2: l = test_l1_v(c->a, NULL, c->n); break;
    case 3: l = test_msec_v(c->a, c->t, c->n); break;
    case 4: l = test_ce_v(c->a, c->target, c->m, c->d); break;
    }
    return (double)c->g * l;
}

static void loss_bwd(loss_ctx *c, float *da, float *db) {
    switch (c->kind) {
    case 0: nlcl_mse_backward(c->a, c->b, c->n, c->g, da, db); break;
    case 1: nlcl_l1_backward(c->a, c->b, c->n, c->g, da, db); break;
    case 2: nlcl_l1_backward(c->a, NULL, c->n, c->g, da, db); break;
    case 3: nlcl_mse_const_backward(c->a, c->t, c->n, c->g, da); break;
    case 4: nlcl_cross_entropy_backward(c->a, c->target, c->m, c->d, c->g, da); break;
    }
}

static void check_loss(int kind) {
    static const char *names[] = {"mse", "l1", "l1 (b = NULL)", "mse_const", "cross_entropy"};
    static const int32_t tgt[7] = {0, 3, 10, 0, 5, 5, 1};
    loss_ctx c = {kind, NULL, NULL, 0.8f, kind == 1 ? -1.3f : 0.7f, tgt, 7, 11, 0};
    c.n = kind == 4 ? (size_t)c.m * c.d : 3 * 5 * 7;
    c.a = rand_buf(c.n, kind == 4 ? -4.0f : -1.0f, kind == 4 ? 4.0f : 1.0f);
    c.b = rand_buf(c.n, -1, 1);
    if (kind == 1 || kind == 2) /* |a - b| away from the kink */
        for (size_t i = 0; i < c.n; i++) {
            float d = c.a[i] - (kind == 1 ? c.b[i] : 0.0f);
            if (fabsf(d) < 0.05f) c.a[i] += d < 0 ? -0.1f : 0.1f;
        }
    float *da = falloc(c.n), *db = falloc(c.n), *t = falloc(c.n);
    loss_bwd(&c, da, kind < 2 ? db : NULL);
    char name[64];
    snprintf(name, sizeof name, "%s (g = %g): d/da", names[kind], c.g);
    fd_check(name, loss_probe, &c, c.a, c.n, da, NULL, 1e-3f, 1e-4);
    if (kind < 2) {
        snprintf(name, sizeof name, "%s (g = %g): d/db", names[kind], c.g);
        fd_check(name, loss_probe, &c, c.b, c.n, db, NULL, 1e-3f, 1e-4);
        /* NULL for either side: the other is unchanged */
        memset(t, 0, c.n * 4);
        loss_bwd(&c, t, NULL);
        CHECK(memcmp(t, da, c.n * 4) == 0);
        memset(t, 0, c.n * 4);
        loss_bwd(&c, NULL, t);
        CHECK(memcmp(t, db, c.n * 4) == 0);
    }
    memcpy(t, da, c.n * 4);
    loss_bwd(&c, t, NULL);
    CHECK_MSG(rel_diff(t, da, 2.0f, c.n) == 0.0, "%s: backward does not accumulate", names[kind]);
    loss_bwd(&c, NULL, NULL);
    free(c.a);
    free(c.b);
    free(da);
    free(db);
    free(t);
}

/* Eroded L1 (nlcl's colour-keeping term): finite differences, with |a - b|
 * values spaced 0.01 apart so the window minima keep their argmin under the
 * probe step; closed forms; the same value for 1 and 2 threads. */
typedef struct eroded_ctx {
    const float *b;
    float *a;
    int planes, h, w, s;
    float g;
} eroded_ctx;

static double eroded_probe(void *vc) {
    eroded_ctx *c = vc;
    return (double)c->g * eroded_v(c->a, c->b, c->planes, c->h, c->w, c->s);
}

static void check_eroded_l1(int planes, int h, int w, int s) {
    size_t n = (size_t)planes * h * w;
    float *a = falloc(n), *b = rand_buf(n, -1, 1), *da = falloc(n);
    for (size_t i = 0; i < n; i++) {
        size_t j = (i * 7919u) % n; /* a permutation of 0..n-1 (n is not a multiple of 7919) */
        float v = 0.01f * (float)(j + 1);
        a[i] = b[i] + ((i * 31u) % 3 == 0 ? -v : v);
    }
    eroded_ctx c = {b, a, planes, h, w, s, -0.9f};
    nlcl_eroded_l1_backward(a, b, planes, h, w, s, c.g, da);
    char name[80];
    snprintf(name, sizeof name, "eroded L1 %dx%dx%d window %d: d/da", planes, h, w, s);
    fd_check(name, eroded_probe, &c, a, n, da, NULL, 1e-3f, 1e-4);
    free(a);
    free(b);
    free(da);
}

/* L1 of the plane means (nlcl's brightness-keeping term): finite
 * differences with plane means apart; closed forms. */
typedef struct mean_l1_ctx {
    const float *b;
    float *a;
    int planes;
    size_t hw;
} mean_l1_ctx;

static double mean_l1_probe(void *vc) {
    mean_l1_ctx *c = vc;
    return -0.7 * mean_l1_v(c->a, c->b, c->planes, c->hw);
}

static void check_mean_l1(void) {
    enum { P = 4, HW = 30 };
    float *a = rand_buf(P * HW, -1, 1), *b = rand_buf(P * HW, -1, 1), *da = falloc(P * HW);
    for (int p = 0; p < P; p++) /* means 0.2 apart, in both directions */
        for (int i = 0; i < HW; i++) a[p * HW + i] += (p % 2 ? 0.2f : -0.2f);
    mean_l1_ctx c = {b, a, P, HW};
    CHECK_OK(nlcl_mean_l1_backward(a, b, P, HW, -0.7f, da));
    fd_check("L1 of plane means 4x30: d/da", mean_l1_probe, &c, a, P * HW, da, NULL, 1e-3f, 1e-4);
    /* a change that keeps the mean (a streak up, the rest down) is free; a
       shift of the plane costs its size, and its gradient sums to sign */
    float x[HW], z[HW] = {0}, dx[HW] = {0};
    for (int i = 0; i < HW; i++) x[i] = i == 3 ? 0.29f : -0.01f;
    CHECK_NEAR(mean_l1_v(x, z, 1, HW), 0.0, 1e-9);
    for (int i = 0; i < HW; i++) x[i] -= 0.25f;
    CHECK_NEAR(mean_l1_v(x, z, 1, HW), 0.25, 1e-7);
    CHECK_OK(nlcl_mean_l1_backward(x, z, 1, HW, 1.0f, dx));
    double sum = 0;
    for (int i = 0; i < HW; i++) sum += dx[i];
    CHECK_NEAR(sum, -1.0, 1e-6);
    free(a);
    free(b);
    free(da);
}

static void check_eroded_l1_values(void) {
    enum { H = 9, W = 11 };
    float a[H * W], b[H * W] = {0}, da[H * W];
    /* a change one pixel wide (a streak) is free for any window >= 2 */
    for (int i = 0; i < H * W; i++) a[i] = (i % W == 4) ? 1.0f : 0.0f;
    CHECK_NEAR(eroded_v(a, b, 1, H, W, 3), 0.0, 0.0);
    CHECK_NEAR(eroded_v(a, b, 1, H, W, 2), 0.0, 0.0);
    CHECK_NEAR(eroded_v(a, b, 1, H, W, 1), 9.0 / 99.0, 1e-12); /* window 1 = L1 */
    /* a shift of the whole plane costs its L1 */
    for (int i = 0; i < H * W; i++) a[i] = -0.25f;
    CHECK_NEAR(eroded_v(a, b, 1, H, W, 7), 0.25, 1e-12);
    memset(da, 0, sizeof da);
    nlcl_eroded_l1_backward(a, b, 1, H, W, 7, 1.0f, da);
    double sum = 0;
    for (int i = 0; i < H * W; i++) sum += da[i];
    CHECK_NEAR(sum, -1.0, 1e-6); /* d/d(shift) of |shift| */
    /* 1 and 2 threads agree exactly */
    enum { P = 6, HH = 40, WW = 33 };
    float *x = rand_buf((size_t)P * HH * WW, -1, 1), *y = rand_buf((size_t)P * HH * WW, -1, 1);
    float *d1 = falloc((size_t)P * HH * WW), *d2 = falloc((size_t)P * HH * WW);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    double v1 = eroded_v(x, y, P, HH, WW, 5);
    nlcl_eroded_l1_backward(x, y, P, HH, WW, 5, 1.0f, d1);
    omp_set_num_threads(2);
    double v2 = eroded_v(x, y, P, HH, WW, 5);
    nlcl_eroded_l1_backward(x, y, P, HH, WW, 5, 1.0f, d2);
    omp_set_num_threads(nt);
    CHECK(v1 == v2);
    CHECK(memcmp(d1, d2, sizeof(float) * P * HH * WW) == 0);
    free(x);
    free(y);
    free(d1);
    free(d2);
}

static void check_loss_values(void) {
    /* closed forms */
    float a[4] = {1, 2, 3, 4}, b[4] = {0, 2, 5, 3.5f};
    CHECK_NEAR(test_mse_v(a, b, 4), (1 + 0 + 4 + 0.25) / 4, 1e-12);
    CHECK_NEAR(test_l1_v(a, b, 4), (1 + 0 + 2 + 0.5) / 4, 1e-12);
    CHECK_NEAR(test_l1_v(a, NULL, 4), 10.0 / 4, 1e-12);
    CHECK_NEAR(test_msec_v(a, 1.0f, 4), (0 + 1 + 4 + 9) / 4.0, 1e-12);
    float da[4] = {0}, db[4] = {0};
    nlcl_l1_backward(a, b, 4, 2.0f, da, db); /* sign(0) = 0 */
    CHECK(da[0] == 0.5f && da[1] == 0.0f && da[2] == -0.5f && da[3] == 0.5f);
    CHECK(db[0] == -0.5f && db[1] == 0.0f);
    /* log-sum-exp: stable for large logits, exact for equal ones */
    float l[6] = {1000, 1000, 1000, -5, 0, 2};
    double out[2];
    nlcl_logsumexp_rows(l, 2, 3, out);
    CHECK_NEAR(out[0], 1000 + log(3.0), 1e-9);
    CHECK_NEAR(out[1], log(exp(-5.0) + 1 + exp(2.0)), 1e-12);
    int32_t tg[2] = {1, 2};
    CHECK_NEAR(test_ce_v(l, tg, 2, 3),
               0.5 * ((1000 + log(3.0) - 1000) + (log(exp(-5.0) + 1 + exp(2.0)) - 2)), 1e-9);
    /* a long vector: many chunks, value against a direct double sum */
    size_t n = 300001;
    float *x = rand_buf(n, -1, 1), *y = rand_buf(n, -1, 1);
    double s = 0, s1 = 0;
    for (size_t i = 0; i < n; i++) {
        s += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s1 += fabs((double)x[i] - y[i]);
    }
    CHECK_NEAR(test_mse_v(x, y, n), s / n, 1e-12);
    CHECK_NEAR(test_l1_v(x, y, n), s1 / n, 1e-12);
    free(x);
    free(y);
}

/* ------------------------------------------------------- elementwise */

static void check_elementwise(void) {
    size_t n = 70001; /* above the parallel threshold, odd */
    float *a = rand_buf(n, -1, 1), *b = rand_buf(n, -1, 1), *y = falloc(n), *z = falloc(n);
    int ok = 1;
    nlcl_add(a, b, y, n);
    for (size_t i = 0; i < n; i++) ok &= y[i] == a[i] + b[i];
    nlcl_sub(a, b, y, n);
    for (size_t i = 0; i < n; i++) ok &= y[i] == a[i] - b[i];
    nlcl_scale(a, 0.37f, y, n);
    for (size_t i = 0; i < n; i++) ok &= y[i] == 0.37f * a[i];
    memcpy(y, b, n * 4);
    nlcl_axpy(-1.5f, a, y, n);
    for (size_t i = 0; i < n; i++) ok &= y[i] == b[i] + -1.5f * a[i];
    memcpy(z, a, n * 4); /* aliasing y = a */
    nlcl_add(z, b, z, n);
    for (size_t i = 0; i < n; i++) ok &= z[i] == a[i] + b[i];
    CHECK_MSG(ok, "elementwise ops differ from their definition");
    free(a);
    free(b);
    free(y);
    free(z);
}

/* ------------------------------------------------- thread determinism */

/* Runs the reductions with 1 and with 2 threads; all outputs must be the
 * same bits. Shapes give several chunks per plane. */
static void check_threads(void);

/* NHWC instance norm (forward, relu and residual) gives the blocked layout's
 * bits when C is a multiple of the block (the bf16 generator's NHWC path
 * relies on it: src/nn/generator.c), on shapes of several chunks. */
static void check_nhwc_same(void) {
    const int B = nlcl_layout_block(), h = 150, w = 130;
    for (int C = B; C <= 2 * B; C += B) {
        size_t tot = (size_t)C * h * w;
        float *x = rand_layout(NLCL_NCHW, 1, C, h, w, -1, 3), *r = rand_layout(NLCL_NCHW, 1, C, h, w, -1, 1);
        float *xb = to_layout(x, NLCL_BLOCKED, 1, C, h, w), *rb = to_layout(r, NLCL_BLOCKED, 1, C, h, w);
        float *xh = to_layout(x, NLCL_NHWC, 1, C, h, w), *rh = to_layout(r, NLCL_NHWC, 1, C, h, w);
        float *yb = falloc(tot), *yh = falloc(tot), *yhb = falloc(tot);
        float mb[64], sb[64], mh[64], sh[64];
        CHECK_OK(nlcl_instance_norm_forward(xb, rb, yb, mb, sb, 1, C, h, w, NLCL_BLOCKED, 1e-5f, 1));
        CHECK_OK(nlcl_instance_norm_forward(xh, rh, yh, mh, sh, 1, C, h, w, NLCL_NHWC, 1e-5f, 1));
        nlcl_layout_convert(yh, NLCL_NHWC, yhb, NLCL_BLOCKED, 1, C, h, w);
        CHECK_MSG(!memcmp(yb, yhb, tot * 4) && !memcmp(mb, mh, C * 4) && !memcmp(sb, sh, C * 4),
                  "instance norm NHWC differs from blocked (C %d)", C);
        free(x), free(r), free(xb), free(rb), free(xh), free(rh), free(yb), free(yh), free(yhb);
    }
}

/* Instance norm fused with LeakyReLU (the discriminator's, norm_internal.h)
 * gives the bits of the two ops one after the other, forward and backward,
 * in the blocked layout (padding lanes: C not a multiple of the block) and
 * NCHW, on shapes with vector bodies and tails. */
static void check_in_leaky_fused(void) {
    const int n = 2, C = 40, h = 37, w = 29;
    for (int li = 0; li < 2; li++) {
        nlcl_layout l = li ? NLCL_BLOCKED : NLCL_NCHW;
        size_t tot = nlcl_layout_numel(l, n, C, h, w);
        float *x = rand_layout(l, n, C, h, w, -1, 3), *dy = rand_layout(l, n, C, h, w, -1, 1);
        float *y1 = falloc(tot), *y2 = falloc(tot), *g = falloc(tot), *dx1 = falloc(tot), *dx2 = falloc(tot);
        /* the first plane constant: its xhat is exactly 0, the activation's edge */
        for (size_t i = 0; i < (size_t)h * w * nlcl_layout_lanes(l, C); i++) x[i] = 0.5f;
        float m1[80], r1[80], m2[80], r2[80];
        CHECK_OK(nlcl_instance_norm_forward(x, NULL, y1, m1, r1, n, C, h, w, l, 1e-5f, 0));
        CHECK_OK(nlcl_leaky_relu_forward(y1, y1, tot, 0.2f));
        nlcl_instance_norm_forward_act(x, NULL, y2, m2, r2, n, C, h, w, l, 1e-5f, NLCL_IN_LEAKY);
        CHECK_MSG(!memcmp(y1, y2, tot * 4) && !memcmp(m1, m2, sizeof(float) * n * C) &&
                      !memcmp(r1, r2, sizeof(float) * n * C),
                  "instance norm + LeakyReLU fused: forward differs (layout %d)", (int)l);
        CHECK_OK(nlcl_leaky_relu_backward(dy, y1, g, tot, 0.2f));
        CHECK_OK(nlcl_instance_norm_backward(g, x, m1, r1, dx1, n, C, h, w, l, 0));
        nlcl_instance_norm_backward_set(dy, x, m1, r1, dx2, n, C, h, w, l, NLCL_IN_LEAKY);
        CHECK_MSG(!memcmp(dx1, dx2, tot * 4), "instance norm + LeakyReLU fused: backward differs (layout %d)",
                  (int)l);
        free(x), free(dy), free(y1), free(y2), free(g), free(dx1), free(dx2);
    }
}

static void check_threads(void) {
    const int n = 1, C = 20, h = 150, w = 130;
    int ok_all = 1;
    int32_t *tgt = malloc(sizeof(int32_t) * (size_t)C * h * w);
    for (int i = 0; i < C * h * w; i++) tgt[i] = (int32_t)nlcl_rng_below(&rng, 100);
    for (int li = 0; li < 2; li++) {
        nlcl_layout l = li ? NLCL_BLOCKED : NLCL_NCHW;
        size_t tot = nlcl_layout_numel(l, n, C, h, w);
        float *x = rand_layout(l, n, C, h, w, -1, 3), *r = rand_layout(l, n, C, h, w, -1, 1);
        float *dy = rand_layout(l, n, C, h, w, -1, 1);
        float *out[2][4];
        float *mr[2][2];
        double lossv[2][3];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            for (int k = 0; k < 4; k++) out[t][k] = falloc(tot);
            mr[t][0] = falloc(n * C);
            mr[t][1] = falloc(n * C);
            nlcl_instance_norm_forward(x, r, out[t][0], mr[t][0], mr[t][1], n, C, h, w, l, 1e-5f, 1);
            nlcl_instance_norm_backward(dy, x, mr[t][0], mr[t][1], out[t][1], n, C, h, w, l, 1);
            nlcl_instance_norm_backward(dy, x, mr[t][0], mr[t][1], out[t][2], n, C, h, w, l, 0);
            /* the first ho*wo pixels of dy serve as the downsample's dy */
            nlcl_blur_downsample_backward(dy, out[t][3], n, C, h, w, l);
            lossv[t][0] = test_mse_v(x, dy, tot);
            lossv[t][1] = test_l1_v(x, NULL, tot);
            lossv[t][2] = test_ce_v(x, tgt, (int)(tot / 100), 100);
        }
        int same = memcmp(mr[0][0], mr[1][0], n * C * 4) == 0 && memcmp(mr[0][1], mr[1][1], n * C * 4) == 0;
        for (int k = 0; k < 4; k++) same &= memcmp(out[0][k], out[1][k], tot * 4) == 0;
        same &= memcmp(lossv[0], lossv[1], sizeof lossv[0]) == 0;
        CHECK_MSG(same, "results differ between 1 and 2 threads (%s)", lname(l));
        ok_all &= same;
        for (int t = 0; t < 2; t++) {
            for (int k = 0; k < 4; k++) free(out[t][k]);
            free(mr[t][0]);
            free(mr[t][1]);
        }
        free(x);
        free(r);
        free(dy);
    }
    free(tgt);
    /* Loss sums of float data in double are often exact whatever the order;
     * values over a wide exponent range make the order visible, so a chunking
     * that followed the thread count would show here. */
    {
        size_t nw = 400001;
        float *a = falloc(nw), *b = falloc(nw);
        for (size_t i = 0; i < nw; i++) {
            a[i] = ldexpf((float)nlcl_rng_uniform(&rng) - 0.5f, (int)nlcl_rng_below(&rng, 61) - 30);
            b[i] = ldexpf((float)nlcl_rng_uniform(&rng) - 0.5f, (int)nlcl_rng_below(&rng, 61) - 30);
        }
        double v[2][3];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            v[t][0] = test_mse_v(a, b, nw);
            v[t][1] = test_l1_v(a, b, nw);
            v[t][2] = test_msec_v(a, 0.5f, nw);
        }
        int same = memcmp(v[0], v[1], sizeof v[0]) == 0;
        CHECK_MSG(same, "loss values differ between 1 and 2 threads");
        ok_all &= same;
        free(a);
        free(b);
    }
    /* linear and l2norm */
    const int m = 300, nin = 70, nout = 50;
    float *x = rand_buf((size_t)m * nin, -1, 1), *W = rand_buf((size_t)nout * nin, -1, 1);
    float *dy = rand_buf((size_t)m * nout, -1, 1);
    float *o[2][5];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        o[t][0] = falloc((size_t)m * nout);
        o[t][1] = falloc((size_t)m * nin);
        o[t][2] = falloc((size_t)nout * nin);
        o[t][3] = falloc(nout);
        o[t][4] = falloc((size_t)m * nin);
        nlcl_linear_forward(x, W, NULL, o[t][0], m, nin, nout);
        nlcl_linear_backward(dy, x, W, o[t][1], o[t][2], o[t][3], m, nin, nout);
        float nrm[300];
        nlcl_l2norm_rows_forward(x, o[t][4], nrm, m, nin);
    }
    int same = memcmp(o[0][0], o[1][0], (size_t)m * nout * 4) == 0 &&
               memcmp(o[0][1], o[1][1], (size_t)m * nin * 4) == 0 &&
               memcmp(o[0][2], o[1][2], (size_t)nout * nin * 4) == 0 &&
               memcmp(o[0][3], o[1][3], nout * 4) == 0 &&
               memcmp(o[0][4], o[1][4], (size_t)m * nin * 4) == 0;
    CHECK_MSG(same, "linear/l2norm differ between 1 and 2 threads");
    ok_all &= same;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 5; k++) free(o[t][k]);
    free(x);
    free(W);
    free(dy);
    omp_set_num_threads(2);
    printf("  %-44s %s\n", "1 vs 2 threads bit-identical", ok_all ? "yes" : "NO");
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv) {
    (void)argc;
    nlcl_rng_seed(&rng, 2024, 7);
    const int B = nlcl_layout_block();
    printf("test_ops_grad: blocked layout block B = %d\n", B);
    const nlcl_layout all[3] = {NLCL_NCHW, NLCL_BLOCKED, NLCL_NHWC};
    /* The finite-difference loops make thousands of tiny calls: run them on
     * one thread (on a loaded 2-core machine every parallel region can wait
     * a scheduler slice). The parallel paths are checked below against the
     * double reference and against the 1-thread results. */
    const int nthreads = omp_get_max_threads();
    omp_set_num_threads(1);
    for (int li = 0; li < 3; li++) {
        nlcl_layout l = all[li];
        for (int v = 0; v < 3; v++) {
            check_instance_norm(2, 5, 7, 5, l, v == 1, v == 2);
            check_instance_norm(1, 20, 7, 5, l, v == 1, v == 2);
        }
        check_instance_norm(1, 3, 40, 30, l, 1, 1); /* several chunks per plane (blocked) */
        check_instance_norm(1, 32, 6, 5, l, 1, 1);  /* NHWC: the 32-lane vector path */
        check_instance_norm_degenerate(l);
        check_spatial(0, 2, 5, 7, 5, 1, l);
        check_spatial(0, 1, 20, 7, 5, 3, l);
        check_spatial(1, 2, 5, 7, 6, 0, l);
        check_spatial(1, 1, 20, 6, 7, 0, l);
        check_spatial(1, 1, 3, 2, 3, 0, l); /* smallest: h = 2 */
        check_gather(l);
    }
    check_reflect_values();
    for (int k = 0; k < 3; k++) check_activation(k);
    check_linear(7, 19, 6);
    check_linear(5, 37, 9);
    /* whole tiles, tails of rows, outputs and columns, and the PatchNCE size */
    check_linear_exact(8, 32, 8, 1);
    check_linear_exact(13, 70, 33, 0);
    check_linear_exact(6, 35, 7, 1);
    check_linear_exact(3, 64, 5, 1);
    check_linear_exact(8, 5, 8, 1); /* nin < 16: the tile's tail only */
    check_linear_exact(256, 256, 256, 0);
    check_l2norm(5, 19);
    check_l2norm(3, 40);
    for (int k = 0; k < 5; k++) check_loss(k);
    check_loss_values();
    check_eroded_l1(2, 7, 9, 3);
    check_eroded_l1(3, 8, 6, 4); /* even window: one more row/column after the centre */
    check_eroded_l1(1, 5, 5, 7); /* window larger than the plane */
    check_eroded_l1_values();
    check_mean_l1();
    check_elementwise();
    /* n cin h w cout kh kw stride pad bias layouts */
    check_conv((nlcl_conv2d_shape){2, 3, 7, 5, 4, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_NCHW});
    check_conv((nlcl_conv2d_shape){1, 5, 7, 6, 3, 4, 4, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED});
    check_conv((nlcl_conv2d_shape){1, 3, 6, 7, 20, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_BLOCKED});
    check_conv((nlcl_conv2d_shape){1, 16, 6, 5, 16, 3, 3, 1, 1, 1, NLCL_NHWC, NLCL_NHWC});
    check_conv((nlcl_conv2d_shape){1, 5, 6, 5, 3, 3, 3, 1, 1, 1, NLCL_NHWC, NLCL_BLOCKED});
    omp_set_num_threads(nthreads < 2 ? 2 : nthreads);
    check_instance_norm_values(NLCL_NCHW);
    check_instance_norm_values(NLCL_BLOCKED);
    check_instance_norm_values(NLCL_NHWC);
    check_threads();
    check_nhwc_same();
    check_in_leaky_fused();
    printf("  largest finite-difference error: %.2e\n", worst_err);

    /* Cover the other block size: with AVX-512 (B = 16) re-run under
     * DNNL_MAX_CPU_ISA=AVX2, where oneDNN and nlcl use B = 8. */
    if (getenv("NLCL_OPS_GRAD_CHILD")) {
        CHECK_MSG(B == 8, "child run expected block 8, got %d", B);
    } else if (B == 16) {
        printf("test_ops_grad: re-running with DNNL_MAX_CPU_ISA=AVX2 (block 8)\n");
        fflush(stdout);
        int rc = test_system("NLCL_OPS_GRAD_CHILD=1 DNNL_MAX_CPU_ISA=AVX2 '%s'", argv[0]);
        CHECK_MSG(rc == 0, "block-8 run failed (exit %d)", rc);
    } else {
        printf("test_ops_grad: block %d only (no AVX-512 on this CPU)\n", B);
    }
    return test_finish(getenv("NLCL_OPS_GRAD_CHILD") ? "test_ops_grad (block 8)" : "test_ops_grad");
}
