/* conv2d (oneDNN) against a direct double-precision loop, for forward,
 * backward-data and backward-weights, in both layouts, on odd shapes;
 * plus accumulation semantics (beta, +=). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/conv.h"

static void ref_forward(const nlcl_conv2d_shape *s, int ho, int wo, const float *x, const float *w,
                        const float *b, double *y) {
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->cout; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double acc = s->bias ? b[o] : 0.0;
                    for (int i = 0; i < s->cin; i++)
                        for (int ky = 0; ky < s->kh; ky++)
                            for (int kx = 0; kx < s->kw; kx++) {
                                int iy = oy * s->stride + ky - s->pad, ix = ox * s->stride + kx - s->pad;
                                if (iy < 0 || ix < 0 || iy >= s->h || ix >= s->w) continue;
                                acc += (double)w[((o * s->cin + i) * s->kh + ky) * s->kw + kx] *
                                       x[((n * s->cin + i) * s->h + iy) * s->w + ix];
                            }
                    y[((n * s->cout + o) * ho + oy) * wo + ox] = acc;
                }
}

/* dx = sum over outputs of dy * w ; dw = sum dy * x ; db = sum dy */
static void ref_backward(const nlcl_conv2d_shape *s, int ho, int wo, const float *x, const float *w,
                         const float *dy, double *dx, double *dw, double *db) {
    memset(dx, 0, sizeof(double) * s->n * s->cin * s->h * s->w);
    memset(dw, 0, sizeof(double) * s->cout * s->cin * s->kh * s->kw);
    memset(db, 0, sizeof(double) * s->cout);
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->cout; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double g = dy[((n * s->cout + o) * ho + oy) * wo + ox];
                    db[o] += g;
                    for (int i = 0; i < s->cin; i++)
                        for (int ky = 0; ky < s->kh; ky++)
                            for (int kx = 0; kx < s->kw; kx++) {
                                int iy = oy * s->stride + ky - s->pad, ix = ox * s->stride + kx - s->pad;
                                if (iy < 0 || ix < 0 || iy >= s->h || ix >= s->w) continue;
                                size_t wi = ((o * s->cin + i) * s->kh + ky) * s->kw + kx;
                                size_t xi = ((n * s->cin + i) * s->h + iy) * s->w + ix;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                }
}

static double max_rel(const float *a, const double *b, size_t n) {
    double m = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / scale);
    return m;
}

static void one_case(nlcl_rng *r, nlcl_conv2d_shape s) {
    nlcl_conv2d_plan *plan = NULL;
    CHECK_OK(nlcl_conv2d_plan_create(&plan, &s, 1));
    if (!plan) return;
    int ho, wo;
    nlcl_conv2d_plan_out(plan, &ho, &wo);
    CHECK(ho == nlcl_conv2d_out_size(s.h, s.kh, s.stride, s.pad));
    size_t nx = (size_t)s.n * s.cin * s.h * s.w, ny = (size_t)s.n * s.cout * ho * wo;
    size_t nw = (size_t)s.cout * s.cin * s.kh * s.kw;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(s.cout * 4), *dy = malloc(ny * 4);
    float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4), *db = calloc(s.cout, 4);
    double *ry = malloc(ny * 8), *rdx = malloc(nx * 8), *rdw = malloc(nw * 8), *rdb = malloc(s.cout * 8);
    test_fill_uniform(r, x, nx, -1, 1);
    test_fill_uniform(r, w, nw, -0.5f, 0.5f);
    test_fill_uniform(r, b, s.cout, -0.5f, 0.5f);
    test_fill_uniform(r, dy, ny, -1, 1);
    /* the plan may want blocked layouts: convert around it */
    size_t nxb = nlcl_layout_numel(s.src_layout, s.n, s.cin, s.h, s.w);
    size_t nyb = nlcl_layout_numel(s.dst_layout, s.n, s.cout, ho, wo);
    float *xl = malloc(nxb * 4), *yl = malloc(nyb * 4), *dyl = malloc(nyb * 4), *dxl = malloc(nxb * 4);
    nlcl_layout_convert(x, NLCL_NCHW, xl, s.src_layout, s.n, s.cin, s.h, s.w);
    nlcl_layout_convert(dy, NLCL_NCHW, dyl, s.dst_layout, s.n, s.cout, ho, wo);
    CHECK_OK(nlcl_conv2d_forward(plan, xl, w, s.bias ? b : NULL, yl));
    nlcl_layout_convert(yl, s.dst_layout, y, NLCL_NCHW, s.n, s.cout, ho, wo);
    ref_forward(&s, ho, wo, x, w, b, ry);
    ref_backward(&s, ho, wo, x, w, dy, rdx, rdw, rdb);
    double e = max_rel(y, ry, ny);
    CHECK_MSG(e < 1e-5, "forward rel err %g (cin %d cout %d k %d s %d p %d layouts %d/%d)", e, s.cin,
              s.cout, s.kh, s.stride, s.pad, s.src_layout, s.dst_layout);
    /* backward data, overwrite then accumulate */
    for (size_t i = 0; i < nxb; i++) dxl[i] = 123.0f;
    CHECK_OK(nlcl_conv2d_backward_data(plan, dyl, w, dxl, 0.0f));
    nlcl_layout_convert(dxl, s.src_layout, dx, NLCL_NCHW, s.n, s.cin, s.h, s.w);
    e = max_rel(dx, rdx, nx);
    CHECK_MSG(e < 1e-5, "backward-data rel err %g", e);
    CHECK_OK(nlcl_conv2d_backward_data(plan, dyl, w, dxl, 1.0f));
    nlcl_layout_convert(dxl, s.src_layout, dx, NLCL_NCHW, s.n, s.cin, s.h, s.w);
    for (size_t i = 0; i < nx; i++) rdx[i] *= 2;
    e = max_rel(dx, rdx, nx);
    CHECK_MSG(e < 1e-5, "backward-data accumulate rel err %g", e);
    /* backward weights accumulates: call twice */
    CHECK_OK(nlcl_conv2d_backward_weights(plan, xl, dyl, dw, s.bias ? db : NULL));
    CHECK_OK(nlcl_conv2d_backward_weights(plan, xl, dyl, dw, s.bias ? db : NULL));
    for (size_t i = 0; i < nw; i++) rdw[i] *= 2;
    for (int i = 0; i < s.cout; i++) rdb[i] *= 2;
    e = max_rel(dw, rdw, nw);
    CHECK_MSG(e < 1e-5, "backward-weights rel err %g", e);
    if (s.bias) {
        e = max_rel(db, rdb, s.cout);
        CHECK_MSG(e < 1e-5, "backward-bias rel err %g", e);
    }
    nlcl_conv2d_plan_destroy(plan);
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
    free(ry); free(rdx); free(rdw); free(rdb); free(xl); free(yl); free(dyl); free(dxl);
}

int main(void) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 1, 1);
    /* n cin h w cout kh kw stride pad bias layouts */
    nlcl_conv2d_shape cases[] = {
        {1, 3, 9, 7, 5, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_NCHW},
        {2, 4, 11, 6, 3, 4, 4, 1, 1, 1, NLCL_NCHW, NLCL_NCHW},   /* PatchGAN 4x4 pad 1 */
        {1, 5, 10, 9, 7, 3, 2, 2, 1, 0, NLCL_NCHW, NLCL_NCHW},   /* stride 2, no bias, kh != kw */
        {1, 3, 13, 11, 16, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_BLOCKED}, /* generator head */
        {1, 16, 13, 11, 16, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED},
        {2, 12, 7, 9, 3, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_NCHW},   /* tail, c not multiple of 8 */
        {1, 2, 1, 1, 3, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_NCHW},     /* 1x1 input */
        {1, 3, 5, 5, 2, 1, 1, 1, 0, 1, NLCL_NCHW, NLCL_NCHW},     /* 1x1 kernel */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) one_case(&r, cases[i]);
    /* invalid shapes are errors, not crashes */
    nlcl_conv2d_plan *p = NULL;
    nlcl_conv2d_shape bad = {1, 3, 2, 2, 4, 5, 5, 1, 0, 1, NLCL_NCHW, NLCL_NCHW};
    CHECK_ERR(nlcl_conv2d_plan_create(&p, &bad, 0), NLCL_ERR_INVALID_ARG, "does not fit");
    bad.h = 0;
    CHECK_ERR(nlcl_conv2d_plan_create(&p, &bad, 0), NLCL_ERR_INVALID_ARG, "invalid shape");
    CHECK(p == NULL);
    return test_finish("test_conv");
}
