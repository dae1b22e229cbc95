/* conv2d (oneDNN) against a direct double-precision loop, for forward,
 * backward-data and backward-weights, in both layouts, on odd shapes;
 * plus accumulation semantics (beta, +=), and plans used from other threads. */
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/conv.h"

#define NLCL_TEST_MIN(a, b) ((a) < (b) ? (a) : (b))

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
    nlcl_conv2d_plan_free(plan);
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
    free(ry); free(rdx); free(rdw); free(rdb); free(xl); free(yl); free(dyl); free(dxl);
}

/* Forward and backward-data of one plan at 1 and 2 threads: bit-identical. */
static void thread_invariance(nlcl_rng *r, nlcl_conv2d_shape s, int training, const char *what) {
    size_t n = nlcl_layout_numel(NLCL_BLOCKED, s.n, s.cin, s.h, s.w), nw = (size_t)s.cin * s.cout * 9;
    float *x = malloc(n * 4), *w = malloc(nw * 4), *b = malloc(s.cout * 4);
    float *y[2] = {malloc(n * 4), malloc(n * 4)}, *dx[2] = {malloc(n * 4), malloc(n * 4)};
    test_fill_uniform(r, x, n, -1, 1);
    test_fill_uniform(r, w, nw, -0.2f, 0.2f);
    test_fill_uniform(r, b, s.cout, -0.2f, 0.2f);
    nlcl_conv2d_plan *p = NULL;
    CHECK_OK(nlcl_conv2d_plan_create(&p, &s, training));
    for (int t = 0; p && t < 2; t++) {
        omp_set_num_threads(t + 1);
        CHECK_OK(nlcl_conv2d_forward(p, x, w, b, y[t]));
        if (training) CHECK_OK(nlcl_conv2d_backward_data(p, x, w, dx[t], 0.0f));
    }
    omp_set_num_threads(2);
    if (p) {
        CHECK_MSG(memcmp(y[0], y[1], n * 4) == 0, "%s %dx%d: forward differs between 1 and 2 threads",
                  what, s.h, s.w);
        if (training)
            CHECK_MSG(memcmp(dx[0], dx[1], n * 4) == 0,
                      "%s %dx%d: backward-data differs between 1 and 2 threads", what, s.h, s.w);
    }
    nlcl_conv2d_plan_free(p);
    free(x), free(w), free(b), free(y[0]), free(y[1]), free(dx[0]), free(dx[1]);
}

/* copy rows [r0, r1) of a blocked (1, c, h, w) tensor into a blocked band */
static void copy_rows(const float *src, int c, int h, int w, int r0, int r1, float *dst) {
    int B = nlcl_layout_block(), cb = (c + B - 1) / B, R = r1 - r0;
    for (int k = 0; k < cb; k++)
        memcpy(dst + (size_t)k * R * w * B, src + ((size_t)k * h + r0) * w * B, sizeof(float) * R * w * B);
}

/* Bands of rows (plan_create_rows) give exactly the rows of the whole
 * image's output when they start at multiples of 4 rows, for every
 * algorithm; inputs hold the neighbouring rows, zero padding only at the
 * image's edges. */
static void bands(nlcl_rng *r) {
    const char *algos[2] = {"direct", "wino"};
    const int geo[][3] = {{37, 29, 8}, {64, 40, 16}, {23, 50, 12}, {9, 9, 4}}; /* h, w, rows */
    for (int a = 0; a < 2; a++)
        for (size_t gi = 0; gi < sizeof geo / sizeof *geo; gi++) {
            int c = 32, h = geo[gi][0], w = geo[gi][1], R = geo[gi][2];
            char ch[256];
            snprintf(ch, sizeof ch, "0,0,32,32,3,3,1,1,1,1,1=%s", algos[a]);
            CHECK_OK(nlcl_conv2d_choices_import(ch));
            nlcl_conv2d_shape s = {1, c, h, w, c, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
            size_t n = nlcl_layout_numel(NLCL_BLOCKED, 1, c, h, w), nw = (size_t)c * c * 9;
            float *x = malloc(n * 4), *y = malloc(n * 4), *wt = malloc(nw * 4), *b = malloc(c * 4);
            float *bi = malloc(n * 4), *bo = malloc(n * 4), *yo = malloc(n * 4);
            test_fill_uniform(r, x, n, -1, 1);
            test_fill_uniform(r, wt, nw, -0.2f, 0.2f);
            test_fill_uniform(r, b, c, -0.2f, 0.2f);
            nlcl_conv2d_plan *p = NULL;
            CHECK_OK(nlcl_conv2d_plan_create(&p, &s, 0));
            CHECK_OK(nlcl_conv2d_forward(p, x, wt, b, y));
            int differ = 0;
            for (int y0 = 0; p && y0 < h; y0 += R) {
                int y1 = NLCL_TEST_MIN(y0 + R, h), i0 = y0 > 0 ? y0 - 1 : 0, i1 = y1 < h ? y1 + 1 : h;
                nlcl_conv2d_shape bs = s;
                bs.h = i1 - i0;
                nlcl_conv2d_plan *q = NULL;
                CHECK_OK(nlcl_conv2d_plan_create_rows(&q, &bs, y0 == 0, y1 == h, 0));
                if (!q) break;
                int ho, wo;
                nlcl_conv2d_plan_out(q, &ho, &wo);
                CHECK(ho == y1 - y0 && wo == w);
                CHECK_MSG(!strcmp(nlcl_conv2d_plan_impl(q, 0), nlcl_conv2d_plan_impl(p, 0)), "band %d-%d: %s, whole: %s", y0, y1, nlcl_conv2d_plan_impl(q, 0), nlcl_conv2d_plan_impl(p, 0));
                copy_rows(x, c, h, w, i0, i1, bi);
                CHECK_OK(nlcl_conv2d_forward(q, bi, wt, b, bo));
                copy_rows(y, c, h, w, y0, y1, yo);
                differ += memcmp(bo, yo, sizeof(float) * nlcl_layout_numel(NLCL_BLOCKED, 1, c, y1 - y0, w)) != 0;
                nlcl_conv2d_plan_free(q);
            }
            CHECK_MSG(differ == 0, "%s %dx%d in bands of %d rows: %d band(s) differ from the whole image",
                      nlcl_conv2d_plan_impl(p, 0), h, w, R, differ);
            nlcl_conv2d_plan_free(p);
            free(x), free(y), free(wt), free(b), free(bi), free(bo), free(yo);
        }
    /* invalid band padding */
    nlcl_conv2d_plan *q = NULL;
    nlcl_conv2d_shape s = {1, 16, 8, 8, 16, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
    CHECK_ERR(nlcl_conv2d_plan_create_rows(&q, &s, -1, 0, 0), NLCL_ERR_INVALID_ARG, "invalid shape");
    s.h = 1;
    CHECK_ERR(nlcl_conv2d_plan_create_rows(&q, &s, 0, 0, 0), NLCL_ERR_INVALID_ARG, "does not fit");
}

/* The algorithm policy and the measured choices (conv.h, conv_select.c):
 * Winograd against the double-precision reference, which implementation each
 * policy gets, thread invariance, and the export/import text. */
static void algorithms(nlcl_rng *r) {
    int avx512 = nlcl_layout_block() == 16; /* oneDNN 2.6 has Winograd for AVX-512 only */
    const int sizes[][2] = {{1, 1}, {5, 7}, {13, 11}, {33, 20}};
    const nlcl_conv_algorithm pol[2] = {NLCL_CONV_DIRECT, NLCL_CONV_WINOGRAD};
    for (int k = 0; k < 2; k++) {
        nlcl_conv2d_set_algorithm(pol[k]);
        CHECK(nlcl_conv2d_get_algorithm() == pol[k]);
        for (int c = 16; c <= 32; c += 16)
            for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
                nlcl_conv2d_shape s = {1, c, sizes[i][0], sizes[i][1], c, 3, 3, 1, 1, 1,
                                       NLCL_BLOCKED, NLCL_BLOCKED};
                one_case(r, s);
                for (int training = 0; training < 2; training++) {
                    nlcl_conv2d_plan *p = NULL;
                    CHECK_OK(nlcl_conv2d_plan_create(&p, &s, training));
                    const char *impl = p ? nlcl_conv2d_plan_impl(p, 0) : NULL;
                    int wino = impl && !strncmp(impl, "wino", 4);
                    CHECK_MSG(impl && wino == (k == 1 && avx512), "policy %d, %d channels: forward runs %s",
                              k, c, impl ? impl : "(none)");
                    CHECK(p && nlcl_conv2d_plan_impl(p, 1) == NULL); /* backward: on first use */
                    nlcl_conv2d_plan_free(p);
                }
                thread_invariance(r, s, 1, k ? "winograd" : "direct");
                thread_invariance(r, s, 0, k ? "winograd" : "direct");
            }
    }
    /* a shape without Winograd (5x5 kernel) runs direct under any policy */
    nlcl_conv2d_shape s5 = {1, 16, 9, 9, 16, 5, 5, 1, 2, 1, NLCL_BLOCKED, NLCL_BLOCKED};
    nlcl_conv2d_plan *p = NULL;
    CHECK_OK(nlcl_conv2d_plan_create(&p, &s5, 0));
    CHECK(p && !strncmp(nlcl_conv2d_plan_impl(p, 0), "direct:", 7));
    nlcl_conv2d_plan_free(p);
    /* AUTO: the choice is measured once and recorded; an imported choice is
     * used by later plans */
    nlcl_conv2d_set_algorithm(NLCL_CONV_AUTO);
    nlcl_conv2d_shape s = {1, 32, 40, 24, 32, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
    CHECK_OK(nlcl_conv2d_plan_create(&p, &s, 0));
    nlcl_conv2d_plan_free(p);
    char buf[4096];
    size_t len = nlcl_conv2d_choices_export(buf, sizeof buf);
    CHECK_MSG(len > 0 && len < sizeof buf && strstr(buf, "0,0,32,32,3,3,1,1,1,1,1="), "export: '%s'", buf);
    CHECK(nlcl_conv2d_choices_export(NULL, 0) == len);
    for (int k = 0; k < 2; k++) {
        CHECK_OK(nlcl_conv2d_choices_import(k ? "0,0,32,32,3,3,1,1,1,1,1=direct" : "0,0,32,32,3,3,1,1,1,1,1=wino"));
        CHECK_OK(nlcl_conv2d_plan_create(&p, &s, 0));
        const char *impl = p ? nlcl_conv2d_plan_impl(p, 0) : NULL;
        const char *want = k || !avx512 ? "direct:" : "wino:";
        CHECK_MSG(impl && !strncmp(impl, want, strlen(want)), "imported: %s", impl ? impl : "(none)");
        nlcl_conv2d_plan_free(p);
    }
    CHECK_OK(nlcl_conv2d_choices_import(buf)); /* back to the measured choice */
    CHECK_OK(nlcl_conv2d_choices_import(""));
    CHECK_ERR(nlcl_conv2d_choices_import("0,0,32,32=wino"), NLCL_ERR_FORMAT, "malformed");
    CHECK_ERR(nlcl_conv2d_choices_import("0,0,32,32,3,3,1,1,1,1,1=fast"), NLCL_ERR_FORMAT, "unknown");
    CHECK_ERR(nlcl_conv2d_choices_import("0,0,32,32,3,3,1,1,1,1,1=wino4"), NLCL_ERR_FORMAT, "unknown");
    CHECK_ERR(nlcl_conv2d_choices_import("0,0,32,32,3,3,1,1,1,1,1=wino;x"), NLCL_ERR_FORMAT, "malformed");
    CHECK_ERR(nlcl_conv2d_choices_import("7,0,32,32,3,3,1,1,1,1,1=wino"), NLCL_ERR_FORMAT, "unknown");
}

/* One plan's three passes on the given data (the arguments of a thread). */
typedef struct passes {
    nlcl_conv2d_plan *p;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db;
    nlcl_status st;
} passes;

static void *run_passes(void *arg) {
    passes *a = arg;
    a->st = nlcl_conv2d_forward(a->p, a->x, a->w, a->b, a->y);
    if (a->st == NLCL_OK) a->st = nlcl_conv2d_backward_data(a->p, a->dy, a->w, a->dx, 0.0f);
    if (a->st == NLCL_OK) a->st = nlcl_conv2d_backward_weights(a->p, a->x, a->dy, a->dw, a->db);
    return NULL;
}

/* A plan made on this thread, its backward passes built and run on a thread
 * that then ends, all three passes run here again, the plan freed here:
 * the same results (and, under valgrind, nothing lost: oneDNN's own
 * scratchpad is per thread; the plans own theirs). Shapes: a Winograd
 * layer (AVX-512), and the PatchGAN's last layer on the smallest crop, whose
 * backward-weights oneDNN runs as a GEMM on AVX2 (valgrind's CPU). */
static void other_thread(nlcl_rng *r) {
    const nlcl_conv2d_shape shapes[2] = {{1, 32, 20, 16, 32, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED},
                                         {4, 64, 3, 3, 1, 4, 4, 1, 1, 1, NLCL_BLOCKED, NLCL_NCHW}};
    nlcl_conv2d_set_algorithm(NLCL_CONV_WINOGRAD);
    for (int k = 0; k < 2; k++) {
        const nlcl_conv2d_shape *s = &shapes[k];
        nlcl_conv2d_plan *p = NULL;
        CHECK_OK(nlcl_conv2d_plan_create(&p, s, 1));
        if (!p) continue;
        int ho, wo;
        nlcl_conv2d_plan_out(p, &ho, &wo);
        size_t nx = nlcl_layout_numel(s->src_layout, s->n, s->cin, s->h, s->w);
        size_t ny = nlcl_layout_numel(s->dst_layout, s->n, s->cout, ho, wo);
        size_t nw = (size_t)s->cout * s->cin * s->kh * s->kw;
        float *x = calloc(nx, 4), *w = malloc(nw * 4), *b = malloc(s->cout * 4), *dy = calloc(ny, 4);
        test_fill_uniform(r, x, nx, -1, 1);
        test_fill_uniform(r, w, nw, -0.2f, 0.2f);
        test_fill_uniform(r, b, s->cout, -0.2f, 0.2f);
        test_fill_uniform(r, dy, ny, -1, 1);
        passes a[2];
        for (int t = 0; t < 2; t++)
            a[t] = (passes){p, x, w, b, dy, calloc(ny, 4), calloc(nx, 4), calloc(nw, 4), calloc(s->cout, 4), NLCL_OK};
        pthread_t th;
        CHECK(pthread_create(&th, NULL, run_passes, &a[0]) == 0);
        pthread_join(th, NULL);
        run_passes(&a[1]);
        CHECK_MSG(a[0].st == NLCL_OK && a[1].st == NLCL_OK, "shape %d: %s", k, nlcl_error_message());
        CHECK_MSG(!memcmp(a[0].y, a[1].y, ny * 4) && !memcmp(a[0].dx, a[1].dx, nx * 4) &&
                      !memcmp(a[0].dw, a[1].dw, nw * 4) && !memcmp(a[0].db, a[1].db, s->cout * 4),
                  "shape %d (%s, %s, %s): results differ between the two threads", k,
                  nlcl_conv2d_plan_impl(p, 0), nlcl_conv2d_plan_impl(p, 1), nlcl_conv2d_plan_impl(p, 2));
        nlcl_conv2d_plan_free(p);
        for (int t = 0; t < 2; t++) free(a[t].y), free(a[t].dx), free(a[t].dw), free(a[t].db);
        free(x), free(w), free(b), free(dy);
    }
    nlcl_conv2d_set_algorithm(NLCL_CONV_AUTO);
}

int main(void) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 1, 1);
    algorithms(&r);
    other_thread(&r);
    bands(&r);
    /* n cin h w cout kh kw stride pad bias layouts */
    nlcl_conv2d_shape cases[] = {
        {1, 3, 9, 7, 5, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_NCHW},
        {2, 4, 11, 6, 3, 4, 4, 1, 1, 1, NLCL_NCHW, NLCL_NCHW},   /* PatchGAN 4x4 pad 1 */
        {1, 5, 10, 9, 7, 3, 2, 2, 1, 0, NLCL_NCHW, NLCL_NCHW},   /* stride 2, no bias, kh != kw */
        {1, 3, 13, 11, 16, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_BLOCKED}, /* generator head */
        {1, 16, 13, 11, 16, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED},
        {2, 12, 7, 9, 3, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_NCHW},   /* tail, c not multiple of 8 */
        {1, 2, 1, 1, 3, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_NCHW},     /* 1x1 input */
        {1, 32, 9, 7, 32, 3, 3, 1, 1, 1, NLCL_NHWC, NLCL_NHWC},   /* bf16 on AMX: channels-last */
        {1, 3, 9, 7, 16, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_NHWC},
        {2, 12, 7, 9, 3, 3, 3, 1, 1, 1, NLCL_NHWC, NLCL_NCHW},     /* c not a multiple of 8 */
        {1, 16, 5, 6, 32, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_NHWC},
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
