/* PatchGAN discriminator (src/nn/discriminator.h). */
#include "nn/discriminator.h"

#include <string.h>

#include "core/internal.h"
#include "nlcl/ops.h"
#include "ops/norm_internal.h"

#define IN_EPS 1e-5f
#define SLOPE NLCL_IN_LEAKY_SLOPE /* LeakyReLU's, 0.2; the fused ones use it too */

static const int conv_idx[5] = {0, 3, 7, 11, 14};

nlcl_status nlcl_disc_init(nlcl_disc *d, int ndf) {
    memset(d, 0, sizeof *d);
    if (ndf < 1 || ndf > 1024)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "ndf must be in [1, 1024], got %d", ndf);
    d->ndf = ndf;
    const int cin[5] = {3, ndf, 2 * ndf, 4 * ndf, 8 * ndf};
    const int cout[5] = {ndf, 2 * ndf, 4 * ndf, 8 * ndf, 1};
    for (int i = 0; i < 5; i++) {
        char name[NLCL_PARAM_NAME];
        int64_t ws[4] = {cout[i], cin[i], 4, 4}, bs[1] = {cout[i]};
        snprintf(name, sizeof name, "model.%d.weight", conv_idx[i]);
        d->conv[i] = nlcl_params_declare(&d->params, name, 4, ws);
        snprintf(name, sizeof name, "model.%d.bias", conv_idx[i]);
        nlcl_params_declare(&d->params, name, 1, bs);
    }
    nlcl_status s = nlcl_params_alloc(&d->params);
    if (s != NLCL_OK) nlcl_disc_free(d);
    return s;
}

void nlcl_disc_zero_normed_bias_grads(nlcl_disc *d) {
    if (!d->params.grad) return;
    for (int i = 1; i <= 3; i++) {
        const nlcl_param *b = &d->params.p[d->conv[i] + 1];
        memset(d->params.grad + b->offset, 0, b->numel * sizeof(float));
    }
}

void nlcl_disc_free(nlcl_disc *d) {
    nlcl_params_free(&d->params);
    memset(d, 0, sizeof *d);
}

void nlcl_disc_init_weights(nlcl_disc *d, nlcl_rng *r) {
    for (int i = 0; i < 5; i++) {
        const nlcl_param *w = &d->params.p[d->conv[i]], *b = &d->params.p[d->conv[i] + 1];
        size_t k = (size_t)(w->shape[2] * w->shape[3]);
        nlcl_init_xavier_normal(nlcl_params_at(&d->params, d->conv[i]),
                                nlcl_params_at(&d->params, d->conv[i] + 1), w->numel, b->numel,
                                (size_t)w->shape[1] * k, (size_t)w->shape[0] * k, 0.02f, r);
    }
}

int nlcl_disc_geometry(int h, int w, nlcl_disc_geom *g) {
    memset(g, 0, sizeof *g);
    int H = h, W = w;
    g->h[0] = H;
    g->w[0] = W;
    for (int s = 1; s < 8; s++) {
        if (s % 2 == 1) { /* conv 4x4 pad 1 */
            H -= 1;
            W -= 1;
        } else {          /* Downsample needs at least 2 for reflection */
            if (H < 2 || W < 2) return 0;
            H = (H - 1) / 2 + 1;
            W = (W - 1) / 2 + 1;
        }
        if (H < 1 || W < 1) return 0;
        g->h[s] = H;
        g->w[s] = W;
    }
    g->out_h = H - 1;
    g->out_w = W - 1;
    return g->out_h >= 1 && g->out_w >= 1;
}

void nlcl_disc_record_free(nlcl_disc_record *r) {
    for (int i = 0; i < 5; i++) nlcl_conv2d_plan_free(r->plan[i]);
    float *bufs[] = {r->h0, r->p0, r->a3, r->h3, r->p3, r->a7, r->h7, r->p7,
                     r->a11, r->h11, r->out, r->stats, r->g_a, r->g_b};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) nlcl_free(bufs[i]);
    memset(r, 0, sizeof *r);
}

static size_t bnum(int n, int c, int h, int w) { return nlcl_layout_numel(NLCL_BLOCKED, n, c, h, w); }

nlcl_status nlcl_disc_record_init(nlcl_disc_record *r, int ndf, int n, int h, int w, int full) {
    memset(r, 0, sizeof *r);
    if (!nlcl_disc_geometry(h, w, &r->geo))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "input %dx%d is too small (minimum %dx%d)", w, h,
                              NLCL_DISC_MIN_SIZE, NLCL_DISC_MIN_SIZE);
    r->n = n;
    r->h = h;
    r->w = w;
    r->full = full;
    r->ndf = ndf;
    const nlcl_disc_geom *g = &r->geo;
    const int cin[5] = {3, ndf, 2 * ndf, 4 * ndf, 8 * ndf};
    const int cout[5] = {ndf, 2 * ndf, 4 * ndf, 8 * ndf, 1};
    const int stage_in[5] = {0, 2, 4, 6, 7}; /* geometry index of each conv's input */
    nlcl_status s = NLCL_OK;
    int nconv = full ? 5 : 3;
    for (int i = 0; s == NLCL_OK && i < nconv; i++) {
        nlcl_conv2d_shape sh = {n, cin[i], g->h[stage_in[i]], g->w[stage_in[i]], cout[i], 4, 4, 1, 1, 1,
                                i == 0 ? NLCL_NCHW : NLCL_BLOCKED, i == 4 ? NLCL_NCHW : NLCL_BLOCKED};
        s = nlcl_conv2d_plan_create(&r->plan[i], &sh, 1);
    }
    if (s != NLCL_OK) {
        nlcl_disc_record_free(r);
        return s;
    }
    const char *what = "discriminator activations";
    size_t n0 = bnum(n, ndf, g->h[1], g->w[1]), n2 = bnum(n, ndf, g->h[2], g->w[2]);
    size_t n3 = bnum(n, 2 * ndf, g->h[3], g->w[3]), n4 = bnum(n, 2 * ndf, g->h[4], g->w[4]);
    size_t n5 = bnum(n, 4 * ndf, g->h[5], g->w[5]), n6 = bnum(n, 4 * ndf, g->h[6], g->w[6]);
    size_t n7 = bnum(n, 8 * ndf, g->h[7], g->w[7]);
    size_t big = NLCL_MAX(NLCL_MAX(n0, n3), NLCL_MAX(n5, n7));
    int ok = (r->h0 = nlcl_alloc_floats(n0, what)) && (r->p0 = nlcl_alloc_floats(n2, what)) &&
             (r->a3 = nlcl_alloc_floats(n3, what)) && (r->h3 = nlcl_alloc_floats(n3, what)) &&
             (r->p3 = nlcl_alloc_floats(n4, what)) && (r->a7 = nlcl_alloc_floats(n5, what)) &&
             (r->stats = nlcl_alloc_floats((size_t)3 * 2 * n * 8 * ndf, what)) &&
             (r->g_a = nlcl_alloc_floats(big, what)) && (r->g_b = nlcl_alloc_floats(big, what));
    if (ok && full)
        ok = (r->h7 = nlcl_alloc_floats(n5, what)) && (r->p7 = nlcl_alloc_floats(n6, what)) &&
             (r->a11 = nlcl_alloc_floats(n7, what)) && (r->h11 = nlcl_alloc_floats(n7, what)) &&
             (r->out = nlcl_alloc_floats((size_t)n * g->out_h * g->out_w, what));
    if (!ok) {
        nlcl_disc_record_free(r);
        return NLCL_ERR_NOMEM;
    }
    return NLCL_OK;
}

static float *st_mean(const nlcl_disc_record *r, int j) {
    return r->stats + (size_t)j * 2 * r->n * 8 * r->ndf;
}
static float *st_rstd(const nlcl_disc_record *r, int j) {
    return st_mean(r, j) + (size_t)r->n * 8 * r->ndf;
}

nlcl_status nlcl_disc_forward(const nlcl_disc *d, nlcl_disc_record *r, const float *in) {
    const nlcl_params *ps = &d->params;
    const nlcl_disc_geom *g = &r->geo;
    const int n = r->n, ndf = r->ndf;
    r->in = in;
#define W_(i) nlcl_params_at(ps, d->conv[i])
#define B_(i) nlcl_params_at(ps, d->conv[i] + 1)
    NLCL_TRY(nlcl_conv2d_forward(r->plan[0], in, W_(0), B_(0), r->h0));
    nlcl_leaky_relu_forward(r->h0, r->h0, bnum(n, ndf, g->h[1], g->w[1]), SLOPE);
    nlcl_blur_downsample_forward(r->h0, r->p0, n, ndf, g->h[1], g->w[1], NLCL_BLOCKED);
    NLCL_TRY(nlcl_conv2d_forward(r->plan[1], r->p0, W_(1), B_(1), r->a3));
    nlcl_instance_norm_forward_act(r->a3, NULL, r->h3, st_mean(r, 0), st_rstd(r, 0), n, 2 * ndf,
                                   g->h[3], g->w[3], NLCL_BLOCKED, IN_EPS, NLCL_IN_LEAKY);
    nlcl_blur_downsample_forward(r->h3, r->p3, n, 2 * ndf, g->h[3], g->w[3], NLCL_BLOCKED);
    NLCL_TRY(nlcl_conv2d_forward(r->plan[2], r->p3, W_(2), B_(2), r->a7));
    if (!r->full) return NLCL_OK;
    nlcl_instance_norm_forward_act(r->a7, NULL, r->h7, st_mean(r, 1), st_rstd(r, 1), n, 4 * ndf,
                                   g->h[5], g->w[5], NLCL_BLOCKED, IN_EPS, NLCL_IN_LEAKY);
    nlcl_blur_downsample_forward(r->h7, r->p7, n, 4 * ndf, g->h[5], g->w[5], NLCL_BLOCKED);
    NLCL_TRY(nlcl_conv2d_forward(r->plan[3], r->p7, W_(3), B_(3), r->a11));
    nlcl_instance_norm_forward_act(r->a11, NULL, r->h11, st_mean(r, 2), st_rstd(r, 2), n, 8 * ndf,
                                   g->h[7], g->w[7], NLCL_BLOCKED, IN_EPS, NLCL_IN_LEAKY);
    NLCL_TRY(nlcl_conv2d_forward(r->plan[4], r->h11, W_(4), B_(4), r->out));
#undef W_
#undef B_
    return NLCL_OK;
}

void nlcl_disc_tap(const nlcl_disc_record *r, int t, const float **x, int *c, int *h, int *w,
                   nlcl_layout *layout) {
    const nlcl_disc_geom *g = &r->geo;
    switch (t) {
    case 0: *x = r->in, *c = 3, *h = g->h[0], *w = g->w[0], *layout = NLCL_NCHW; break;
    case 1: *x = r->h0, *c = r->ndf, *h = g->h[1], *w = g->w[1], *layout = NLCL_BLOCKED; break;
    case 2: *x = r->a3, *c = 2 * r->ndf, *h = g->h[3], *w = g->w[3], *layout = NLCL_BLOCKED; break;
    default: *x = r->a7, *c = 4 * r->ndf, *h = g->h[5], *w = g->w[5], *layout = NLCL_BLOCKED; break;
    }
}

static void tap_grads(const nlcl_disc_record *r, const nlcl_disc_tap_grad *taps, int ntaps, int t,
                      float *dx) {
    const float *x;
    int c, h, w;
    nlcl_layout l;
    nlcl_disc_tap(r, t, &x, &c, &h, &w, &l);
    for (int k = 0; k < ntaps; k++) {
        if (taps[k].tap != t) continue;
        for (int b = 0; b < r->n; b++)
            nlcl_scatter_rows_add(taps[k].drows + (size_t)b * taps[k].k * c, r->n, c, h, w, l, b,
                                  taps[k].ids + (size_t)b * taps[k].k, taps[k].k, dx);
    }
}

/* Back through conv k (input x), the blur downsample before it, and the
 * LReLU and instance norm (statistics st, pre-norm a) of the
 * block below it, c channels at level lv of the geometry. r->g_a holds
 * dL/d(conv k output) on entry and dL/d a on return (r->g_b is scratch; the
 * two pointers swap, so callers reload them). */
static nlcl_status down_block_backward(nlcl_disc *d, nlcl_disc_record *r, int k, const float *x,
                                       int pg, int lv, int c, const float *a, int st) {
    nlcl_params *ps = &d->params;
    const nlcl_disc_geom *g = &r->geo;
    float *ga = r->g_a, *gb = r->g_b;
    const size_t cnt = bnum(r->n, c, g->h[lv], g->w[lv]);
    float *dw = pg ? nlcl_params_grad_at(ps, d->conv[k]) : NULL;
    float *db = pg ? nlcl_params_grad_at(ps, d->conv[k] + 1) : NULL;
    NLCL_TRY(nlcl_conv2d_backward_weights(r->plan[k], x, ga, dw, db));
    NLCL_TRY(nlcl_conv2d_backward_data(r->plan[k], ga, nlcl_params_at(ps, d->conv[k]), gb, 0.0f));
    nlcl_zero_floats(ga, cnt);
    nlcl_blur_downsample_backward(gb, ga, r->n, c, g->h[lv], g->w[lv], NLCL_BLOCKED);
    /* through LeakyReLU and the norm in one pass, into g_b; the two swap */
    nlcl_instance_norm_backward_set(ga, a, st_mean(r, st), st_rstd(r, st), gb, r->n, c, g->h[lv],
                                    g->w[lv], NLCL_BLOCKED, NLCL_IN_LEAKY);
    r->g_a = gb;
    r->g_b = ga;
    return NLCL_OK;
}

nlcl_status nlcl_disc_backward(nlcl_disc *d, nlcl_disc_record *r, const float *d_out,
                               const nlcl_disc_tap_grad *taps, int ntaps, float *d_in,
                               int param_grads) {
    nlcl_params *ps = &d->params;
    const nlcl_disc_geom *g = &r->geo;
    const int n = r->n, ndf = r->ndf;
    const int pg = param_grads && ps->grad;
    float *ga = r->g_a, *gb = r->g_b;
#define W_(i) nlcl_params_at(ps, d->conv[i])
#define DW_(i) (pg ? nlcl_params_grad_at(ps, d->conv[i]) : NULL)
#define DB_(i) (pg ? nlcl_params_grad_at(ps, d->conv[i] + 1) : NULL)
#define ZERO(buf, cnt) nlcl_zero_floats((buf), (cnt))
    size_t n1 = bnum(n, ndf, g->h[1], g->w[1]);
    size_t n5 = bnum(n, 4 * ndf, g->h[5], g->w[5]);
    if (r->full && d_out) {
        NLCL_TRY(nlcl_conv2d_backward_weights(r->plan[4], r->h11, d_out, DW_(4), DB_(4)));
        NLCL_TRY(nlcl_conv2d_backward_data(r->plan[4], d_out, W_(4), gb, 0.0f));
        nlcl_instance_norm_backward_set(gb, r->a11, st_mean(r, 2), st_rstd(r, 2), ga, n, 8 * ndf,
                                        g->h[7], g->w[7], NLCL_BLOCKED, NLCL_IN_LEAKY);
        NLCL_TRY(down_block_backward(d, r, 3, r->p7, pg, 5, 4 * ndf, r->a7, 1));
        ga = r->g_a, gb = r->g_b;
    } else {
        ZERO(ga, n5);
    }
    tap_grads(r, taps, ntaps, 3, ga); /* ga = dL/d a7 */
    NLCL_TRY(down_block_backward(d, r, 2, r->p3, pg, 3, 2 * ndf, r->a3, 0));
    ga = r->g_a, gb = r->g_b;
    tap_grads(r, taps, ntaps, 2, ga); /* ga = dL/d a3 */
    NLCL_TRY(nlcl_conv2d_backward_weights(r->plan[1], r->p0, ga, DW_(1), DB_(1)));
    NLCL_TRY(nlcl_conv2d_backward_data(r->plan[1], ga, W_(1), gb, 0.0f));
    ZERO(ga, n1);
    nlcl_blur_downsample_backward(gb, ga, n, ndf, g->h[1], g->w[1], NLCL_BLOCKED);
    tap_grads(r, taps, ntaps, 1, ga); /* ga = dL/d h0 */
    ZERO(gb, n1);
    nlcl_leaky_relu_backward(ga, r->h0, gb, n1, SLOPE);
    NLCL_TRY(nlcl_conv2d_backward_weights(r->plan[0], r->in, gb, DW_(0), DB_(0)));
    if (d_in) {
        NLCL_TRY(nlcl_conv2d_backward_data(r->plan[0], gb, W_(0), d_in, 1.0f));
        tap_grads(r, taps, ntaps, 0, d_in);
    }
#undef W_
#undef DW_
#undef DB_
#undef ZERO
    return NLCL_OK;
}
