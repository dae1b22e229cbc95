/* bfloat16 arithmetic (--precision bf16, src/ops/conv_bf16.h) against float32.
 *
 * 1. conv2d, all three passes, against a double-precision loop over the
 *    operands rounded to bfloat16 as the passes take them (forward: src and
 *    weights; backward-data: diff_dst and weights; backward-weights: src and
 *    diff_dst): equal up to float32 accumulation. Against the loop over the
 *    unrounded float32 operands, each output is within bf16's rounding bound
 *    (2^-8 + 2^-16 of the sum of its products' magnitudes) and the outputs
 *    differ measurably (bf16 is really used, not float32 behind the flag).
 * 2. The default model on a generated scene: bf16 within a measured PSNR of
 *    fp32 and not equal to it; back to fp32 gives the fp32 bytes again; the
 *    band pipeline (in memory and streamed) gives the whole image's bf16
 *    bytes.
 * 3. The float32 -> bfloat16 rounding (nlcl_f32_to_bf16, scalar and in
 *    loops) on ties, subnormals, NaN and overflow.
 * 4. Without AVX512_BF16 (this test re-runs itself with oneDNN limited to
 *    AVX512_CORE, DNNL_MAX_CPU_ISA): bf16 plans and models are refused with
 *    NLCL_ERR_UNSUPPORTED naming the instructions, and fp32 still works.
 * 5. Instance norm's kernels (any CPU; AVX-512 loops where it has them,
 *    src/ops/norm_avx512.c): a chunk's sums equal a scalar loop's in the
 *    documented order, bit for bit, for 1 to 32 lanes; over bf16 input they
 *    equal those of the widened floats, and so does the output pass (with
 *    and without ReLU, LeakyReLU and a residual).
 * 6. A plan writing bf16 (NLCL_BF16_DST) stores exactly the float32 output
 *    rounded by nlcl_f32_to_bf16; bad bf16_io flags are refused. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "nlcl/conv.h"
#include "nlcl/model.h"
#include "nlcl/synth.h"
#include "ops/conv_bf16.h"
#include "ops/norm_internal.h"

#define TOL 1e-5 /* float32 accumulation of up to a few hundred products */

/* The three passes in double over x, w, dy (NCHW): y, dx, dw, db and the
 * sums of their products' magnitudes (ay, adx, adw). */
typedef struct ref {
    double *y, *dx, *dw, *db, *ay, *adx, *adw;
} ref;

static void ref_alloc(ref *r, size_t nx, size_t ny, size_t nw, int cout) {
    r->y = calloc(ny, 8), r->ay = calloc(ny, 8), r->dx = calloc(nx, 8), r->adx = calloc(nx, 8);
    r->dw = calloc(nw, 8), r->adw = calloc(nw, 8), r->db = calloc((size_t)cout, 8);
}

static void ref_free(ref *r) {
    free(r->y), free(r->ay), free(r->dx), free(r->adx), free(r->dw), free(r->adw), free(r->db);
}

static void ref_passes(const nlcl_conv2d_shape *s, int ho, int wo, const float *x, const float *w,
                       const float *b, const float *dy, ref *r) {
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->cout; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    size_t yi = (((size_t)n * s->cout + o) * ho + oy) * wo + ox;
                    double acc = b[o], aacc = fabs(b[o]), g = dy[yi];
                    r->db[o] += g;
                    for (int i = 0; i < s->cin; i++)
                        for (int ky = 0; ky < s->kh; ky++)
                            for (int kx = 0; kx < s->kw; kx++) {
                                int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
                                if (iy < 0 || ix < 0 || iy >= s->h || ix >= s->w) continue;
                                size_t wi = (((size_t)o * s->cin + i) * s->kh + ky) * s->kw + kx;
                                size_t xi = (((size_t)n * s->cin + i) * s->h + iy) * s->w + ix;
                                acc += (double)w[wi] * x[xi];
                                aacc += fabs((double)w[wi] * x[xi]);
                                r->dx[xi] += g * w[wi];
                                r->adx[xi] += fabs(g * w[wi]);
                                r->dw[wi] += g * x[xi];
                                r->adw[wi] += fabs(g * x[xi]);
                            }
                    r->y[yi] = acc;
                    r->ay[yi] = aacc;
                }
}

/* Largest |a - b| relative to the largest |b| (as test_conv.c). */
static double max_rel(const float *a, const double *b, size_t n) {
    double m = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / scale);
    return m;
}

/* Outputs over bf16's bound from the exact float32 result: |a - b| >
 * (2^-8 + 2^-16) * mag + accumulation slack. */
static size_t over_bound(const float *a, const double *b, const double *mag, size_t n) {
    double scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > (0x1p-8 + 0x1p-16) * mag[i] + TOL * scale) k++;
    return k;
}

static float *rounded(const float *x, size_t n) {
    float *y = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)nlcl_f32_to_bf16(x[i]) << 16;
        memcpy(&y[i], &u, 4);
    }
    return y;
}


/* One pass's output a against the rounded-operand oracle br and the exact one (be, mag). */
static void judge(const char *pass, const float *a, const double *br, const double *be,
                  const double *mag, size_t n, int cin) {
    double er = max_rel(a, br, n), ee = max_rel(a, be, n);
    size_t over = over_bound(a, be, mag, n);
    fprintf(stderr,
            "bf16 %s (cin %d): rel err %.2g from the bf16-operand reference, %.2g from float32\n",
            pass, cin, er, ee);
    CHECK_MSG(er < TOL, "bf16 %s (cin %d): rel err %g from the bf16-operand reference", pass, cin,
              er);
    CHECK_MSG(ee > 10 * TOL, "bf16 %s (cin %d): only %g from float32: bf16 not in use?", pass, cin,
              ee);
    CHECK_MSG(over == 0, "bf16 %s (cin %d): %zu outputs beyond bf16's rounding bound", pass, cin,
              over);
}

static void conv_case(nlcl_rng *r, nlcl_conv2d_shape s) {
    nlcl_conv2d_plan *plan = NULL;
    CHECK_OK(nlcl_conv2d_plan_create_ex(&plan, &s, s.pad, s.pad, 1, 1, 0));
    if (!plan) return;
    int ho, wo;
    nlcl_conv2d_plan_out(plan, &ho, &wo);
    size_t nx = (size_t)s.n * s.cin * s.h * s.w, ny = (size_t)s.n * s.cout * ho * wo;
    size_t nw = (size_t)s.cout * s.cin * s.kh * s.kw;
    size_t nxb = nlcl_layout_numel(s.src_layout, s.n, s.cin, s.h, s.w);
    size_t nyb = nlcl_layout_numel(s.dst_layout, s.n, s.cout, ho, wo);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)s.cout * 4),
          *dy = malloc(ny * 4);
    float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4),
          *db = calloc((size_t)s.cout, 4);
    float *xl = malloc(nxb * 4), *yl = malloc(nyb * 4), *dyl = malloc(nyb * 4),
          *dxl = malloc(nxb * 4);
    test_fill_uniform(r, x, nx, -1, 1);
    test_fill_uniform(r, w, nw, -0.5f, 0.5f);
    test_fill_uniform(r, b, (size_t)s.cout, -0.5f, 0.5f);
    test_fill_uniform(r, dy, ny, -1, 1);
    nlcl_layout_convert(x, NLCL_NCHW, xl, s.src_layout, s.n, s.cin, s.h, s.w);
    nlcl_layout_convert(dy, NLCL_NCHW, dyl, s.dst_layout, s.n, s.cout, ho, wo);
    CHECK_OK(nlcl_conv2d_forward(plan, xl, w, b, yl));
    nlcl_layout_convert(yl, s.dst_layout, y, NLCL_NCHW, s.n, s.cout, ho, wo);
    CHECK_OK(nlcl_conv2d_backward_data(plan, dyl, w, dxl, 0.0f));
    nlcl_layout_convert(dxl, s.src_layout, dx, NLCL_NCHW, s.n, s.cin, s.h, s.w);
    CHECK_OK(nlcl_conv2d_backward_weights(plan, xl, dyl, dw, db));
    float *xr = rounded(x, nx), *wr = rounded(w, nw), *dyr = rounded(dy, ny);
    ref e, q; /* exact operands; bf16-rounded operands */
    ref_alloc(&e, nx, ny, nw, s.cout);
    ref_alloc(&q, nx, ny, nw, s.cout);
    ref_passes(&s, ho, wo, x, w, b, dy, &e);
    ref_passes(&s, ho, wo, xr, wr, b, dyr, &q);
    judge("forward", y, q.y, e.y, e.ay, ny, s.cin);
    judge("backward-data", dx, q.dx, e.dx, e.adx, nx, s.cin);
    judge("backward-weights", dw, q.dw, e.dw, e.adw, nw, s.cin);
    double eb = max_rel(db, q.db, (size_t)s.cout);
    CHECK_MSG(eb < TOL, "bf16 backward-bias rel err %g from sum of the bf16 diff_dst", eb);
    ref_free(&e);
    ref_free(&q);
    nlcl_conv2d_plan_free(plan);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    free(xl), free(yl), free(dyl), free(dxl), free(xr), free(wr), free(dyr);
}

/* bf16 against fp32 must stay below the noise of the 8-bit output's
 * rounding (uniform, step 2/255 over a range of 2: 58.9 dB); measured on
 * 2026-12-06: 71.9 and 73.4 dB (C 16, K 8), 72.3 dB (C 32, K 8). */
#define MODEL_PSNR 58.9

/* The default model: fp32, bf16, fp32 again; bf16 in bands, in memory and streamed. */
static void model_case(nlcl_rng *r) {
    nlcl_model *m = NULL;
    CHECK_OK(nlcl_model_load_default(&m));
    nlcl_image in = {0}, a = {0}, b = {0}, c = {0};
    CHECK_OK(nlcl_synth_scene(70, 90, r, &in));
    if (!m || !in.data) return;
    size_t n = (size_t)3 * in.height * in.width;
    CHECK_OK(nlcl_model_run_image(m, &in, &a));
    CHECK_OK(nlcl_model_set_precision(m, NLCL_PRECISION_BF16));
    CHECK_OK(nlcl_model_run_image(m, &in, &b));
    if (a.data && b.data) {
        double p = test_psnr(a.data, b.data, n), d = test_max_abs_diff(a.data, b.data, n);
        fprintf(stderr, "default model, 90x70 scene: bf16 vs fp32 PSNR %.2f dB, max |diff| %.4g\n",
                p, d);
        CHECK_MSG(p > MODEL_PSNR && p < 200, "bf16 vs fp32: PSNR %.2f dB (want > %.0f, not equal)",
                  p, MODEL_PSNR);
    }
    char dir[700];
    snprintf(dir, sizeof dir, "%s/scratch", test_tmpdir());
    mkdir(dir, 0700);
    CHECK_OK(nlcl_model_set_scratch_dir(m, dir));
    nlcl_model_set_band_rows(m, 8);
    for (int streamed = 0; streamed < 2; streamed++) {
        nlcl_model_set_memory_limit(m, streamed ? 1000 : SIZE_MAX);
        CHECK_OK(nlcl_model_run_image(m, &in, &c));
        CHECK(nlcl_model_streamed(m) == streamed);
        CHECK_MSG(b.data && c.data && memcmp(b.data, c.data, n * 4) == 0,
                  "bf16 in bands of 8 rows (%s) differs from the whole image",
                  streamed ? "streamed" : "in memory");
        nlcl_image_free(&c);
    }
    nlcl_model_set_band_rows(m, 0);
    nlcl_model_set_memory_limit(m, SIZE_MAX);
    CHECK_OK(nlcl_model_set_precision(m, NLCL_PRECISION_FP32));
    CHECK_OK(nlcl_model_run_image(m, &in, &c));
    CHECK_MSG(a.data && c.data && memcmp(a.data, c.data, n * 4) == 0, "fp32 after bf16 differs");
    CHECK_ERR(nlcl_model_set_precision(m, (nlcl_precision)7), NLCL_ERR_INVALID_ARG, "precision");
    nlcl_image_free(&a), nlcl_image_free(&b), nlcl_image_free(&c), nlcl_image_free(&in);
    nlcl_model_free(m);
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* nlcl_f32_to_bf16 (and its vectorised loop) on the cases oneDNN's
 * conversion defines: round to nearest even, subnormals to signed zero,
 * NaN quieted, overflow to infinity. */
static void conversion(nlcl_rng *r) {
    const struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000u, 0x3f80}, /* 1 */
        {0x3f808000u, 0x3f80}, /* 1 + 2^-8: a tie, to even (down) */
        {0x3f818000u, 0x3f82}, /* 1 + 3 * 2^-8: a tie, to even (up) */
        {0x3f808001u, 0x3f81}, /* just above the tie: up */
        {0xbf80ffffu, 0xbf81}, /* negative: away from zero past the tie */
        {0x00000001u, 0x0000}, /* subnormals: zero of their sign */
        {0x807fffffu, 0x8000},
        {0x00800000u, 0x0080}, /* smallest normal */
        {0x7f800000u, 0x7f80}, /* inf */
        {0xff800000u, 0xff80},
        {0x7f7fffffu, 0x7f80}, /* FLT_MAX rounds to inf */
        {0x7fc00001u, 0x7fc0}, /* quiet NaN */
        {0x7f800001u, 0x7fc0}, /* signalling NaN: quieted */
        {0xff810000u, 0xffc1},
    };
    enum { N = sizeof cases / sizeof *cases, M = 1 << 16 };
    for (int i = 0; i < N; i++)
        CHECK_MSG(nlcl_f32_to_bf16(from_bits(cases[i].in)) == cases[i].out,
                  "bf16(0x%08x) = 0x%04x, want 0x%04x", cases[i].in,
                  nlcl_f32_to_bf16(from_bits(cases[i].in)), cases[i].out);
    float *x = malloc(M * sizeof *x); /* random bit patterns, specials among them */
    uint16_t *y = malloc(M * sizeof *y);
    for (int i = 0; i < M; i++)
        x[i] = i < N ? from_bits(cases[i].in) : from_bits(nlcl_rng_u32(r));
    nlcl_f32_to_bf16_n(x, y, M);
    int bad = 0;
    for (int i = 0; i < M; i++) bad += y[i] != nlcl_f32_to_bf16(x[i]);
    CHECK_MSG(bad == 0, "nlcl_f32_to_bf16_n differs from nlcl_f32_to_bf16 at %d of %d", bad, M);
    free(x);
    free(y);
}

/* oneDNN limited to AVX512_CORE: refusals, and fp32 still runs. */
static void unsupported(void) {
    CHECK(nlcl_bf16_available() == 0 && nlcl_bf16_supported() == 0);
    nlcl_conv2d_plan *p = NULL;
    nlcl_conv2d_shape s = {1, 16, 8, 8, 16, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
    CHECK_ERR(nlcl_conv2d_plan_create_ex(&p, &s, 1, 1, 0, 1, 0), NLCL_ERR_UNSUPPORTED,
              "AVX512_BF16");
    CHECK(p == NULL);
    nlcl_model *m = NULL;
    CHECK_OK(nlcl_model_load_default(&m));
    if (!m) return;
    CHECK_ERR(nlcl_model_set_precision(m, NLCL_PRECISION_BF16), NLCL_ERR_UNSUPPORTED,
              "AVX512_BF16");
    float in[3 * 20 * 24] = {0}, out[3 * 20 * 24];
    CHECK_OK(nlcl_model_run(m, in, out, 20, 24));
    nlcl_model_free(m);
}

/* The bf16 output pass of xh against the float one of its widened floats
 * xw: the same floats into y, their bf16 into y16; also with y NULL and with
 * y aliasing res (the residual update in place). */
static void apply_case(const uint16_t *xh, const float *xw, const float *res, size_t n, int L,
                       const float *m, const float *rs, int act, float *y1, float *y2,
                       uint16_t *h1, uint16_t *h2) {
    const char *how[3] = {"into y", "y NULL", "y == res"};
    nlcl_in_apply(xw, res, y1, n, L, m, rs, act);
    for (int k = 0; k < 3; k++) {
        if (k == 2 && !res) continue;
        if (k == 2) memcpy(y2, res, 4 * n);
        nlcl_in_apply_bf16(xh, k == 2 ? y2 : res, k == 1 ? NULL : y2, k == 1 ? h2 : h1, n, L, m,
                           rs, act);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += (k != 1 && memcmp(&y1[i], &y2[i], 4)) ||
                   (k == 1 ? h2 : h1)[i] != nlcl_f32_to_bf16(y1[i]);
        CHECK_MSG(bad == 0, "bf16 output pass (%d lanes, act %d, res %d, %s): %zu differ", L, act,
                  res != NULL, how[k], bad);
    }
}

/* 5. Instance norm's chunk sums and output pass (see the top). */
static void norm_kernels(nlcl_rng *r) {
    enum { PIX = 1037, MAXL = 64 };
    const int lanes[] = {1, 2, 3, 4, 8, 16, 24, 32, 48, 64};
    const size_t cap = (size_t)PIX * MAXL;
    float *x = malloc(4 * cap), *xw = malloc(4 * cap), *res = malloc(4 * cap), *y1 = malloc(4 * cap),
          *y2 = malloc(4 * cap);
    uint16_t *xh = malloc(2 * cap), *h1 = malloc(2 * cap), *h2 = malloc(2 * cap);
    for (size_t li = 0; li < sizeof lanes / sizeof lanes[0]; li++) {
        const int L = lanes[li], V = L == 32 ? 32 : 16 % L == 0 ? 16 : L;
        const size_t n = (size_t)PIX * L;
        for (size_t i = 0; i < n; i++) {
            x[i] = 3.0f + 2.0f * (float)nlcl_rng_normal(r);
            res[i] = (float)nlcl_rng_normal(r);
            xh[i] = nlcl_f32_to_bf16(x[i]);
            xw[i] = nlcl_bf16_to_f32(xh[i]);
        }
        double a[MAXL] = {0}, q[MAXL] = {0}, e1[MAXL], e2[MAXL], s1[MAXL], s2[MAXL], t1[MAXL],
               t2[MAXL];
        for (size_t e = 0; e < n; e++) { /* virtual lane e % V, in order */
            double d = (double)x[e] - (double)x[e % (size_t)V % (size_t)L];
            a[e % (size_t)V] += d;
            q[e % (size_t)V] += d * d;
        }
        for (int l = 0; l < L; l++) { /* folded into the real lanes in lane order */
            e1[l] = e2[l] = 0;
            for (int k = l; k < V; k += L) e1[l] += a[k], e2[l] += q[k];
        }
        nlcl_in_chunk_stats(x, n, L, x, s1, s2);
        CHECK_MSG(!memcmp(s1, e1, 8 * (size_t)L) && !memcmp(s2, e2, 8 * (size_t)L),
                  "instance norm chunk sums (%d lanes) differ from the scalar loop's", L);
        nlcl_in_chunk_stats(xw, n, L, xw, s1, s2);
        nlcl_in_chunk_stats_bf16(xh, n, L, xw, t1, t2);
        CHECK_MSG(!memcmp(s1, t1, 8 * (size_t)L) && !memcmp(s2, t2, 8 * (size_t)L),
                  "bf16 chunk sums (%d lanes) differ from those of its floats", L);
        float m[MAXL], rs[MAXL];
        for (int l = 0; l < L; l++) m[l] = 3.0f + 0.01f * (float)l, rs[l] = 0.5f + 0.01f * (float)l;
        for (int act = 0; act <= NLCL_IN_LEAKY; act++)
            for (int with_res = 0; with_res < 2; with_res++)
                apply_case(xh, xw, with_res ? res : NULL, n, L, m, rs, act, y1, y2, h1, h2);
    }
    free(x), free(xw), free(res), free(y1), free(y2), free(xh), free(h1), free(h2);
}

/* 6. A bf16 plan's bf16 output is its float32 output rounded. */
static void dst_bf16_case(nlcl_rng *r) {
    nlcl_conv2d_shape s = {1, 32, 12, 20, 32, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
    nlcl_conv2d_plan *pf = NULL, *ph = NULL, *bad = NULL;
    CHECK_OK(nlcl_conv2d_plan_create_ex(&pf, &s, 1, 1, 0, 1, NLCL_BF16_SRC));
    CHECK_OK(nlcl_conv2d_plan_create_ex(&ph, &s, 1, 1, 0, 1, NLCL_BF16_SRC | NLCL_BF16_DST));
    CHECK_ERR(nlcl_conv2d_plan_create_ex(&bad, &s, 1, 1, 0, 0, NLCL_BF16_DST),
              NLCL_ERR_INVALID_ARG, "bf16");
    CHECK_ERR(nlcl_conv2d_plan_create_ex(&bad, &s, 1, 1, 1, 1, NLCL_BF16_DST),
              NLCL_ERR_INVALID_ARG, "training");
    CHECK_ERR(nlcl_conv2d_plan_create_ex(&bad, &s, 1, 1, 1, 1, NLCL_BF16_SRC),
              NLCL_ERR_INVALID_ARG, "training");
    size_t n = nlcl_layout_numel(NLCL_BLOCKED, 1, 32, 12, 20), nw = 32 * 32 * 9;
    uint16_t *xh = malloc(2 * n), *yh = malloc(2 * n);
    float *w = malloc(4 * nw), *b = malloc(4 * 32), *yf = malloc(4 * n);
    for (size_t i = 0; i < n; i++) xh[i] = nlcl_f32_to_bf16((float)nlcl_rng_normal(r));
    for (size_t i = 0; i < nw; i++) w[i] = 0.1f * (float)nlcl_rng_normal(r);
    for (int i = 0; i < 32; i++) b[i] = 0.1f * (float)nlcl_rng_normal(r);
    if (pf && ph) {
        CHECK_OK(nlcl_conv2d_forward(pf, (const float *)(void *)xh, w, b, yf));
        CHECK_OK(nlcl_conv2d_forward(ph, (const float *)(void *)xh, w, b, (float *)(void *)yh));
        size_t diff = 0;
        for (size_t i = 0; i < n; i++) diff += yh[i] != nlcl_f32_to_bf16(yf[i]);
        CHECK_MSG(diff == 0, "bf16 dst: %zu of %zu values are not the float32 output rounded", diff,
                  n);
    }
    nlcl_conv2d_plan_free(pf);
    nlcl_conv2d_plan_free(ph);
    free(xh), free(yh), free(w), free(b), free(yf);
}

int main(int argc, char **argv) {
    omp_set_num_threads(2);
    if (argc > 1 && !strcmp(argv[1], "--unsupported")) {
        unsupported();
        return test_finish("test_bf16 (without AVX512_BF16)");
    }
    nlcl_rng r;
    nlcl_rng_seed(&r, 16, 1);
    conversion(&r); /* any CPU */
    norm_kernels(&r);
    /* the refusals, in a child with oneDNN limited to AVX512_CORE */
    CHECK_MSG(test_system("DNNL_MAX_CPU_ISA=AVX512_CORE '%s' --unsupported", argv[0]) == 0,
              "without AVX512_BF16: see the child's messages above");
    if (!nlcl_bf16_supported()) {
        if (test_failures) return test_finish("test_bf16");
        return test_skip("this CPU has no AVX512_BF16: the bf16 arithmetic is not tested");
    }
    /* n cin h w cout kh kw stride pad bias layouts: the generator's C->C layers */
    nlcl_conv2d_shape cases[] = {
        {1, 16, 13, 11, 16, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED},
        {2, 32, 9, 12, 32, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) conv_case(&r, cases[i]);
    dst_bf16_case(&r);
    model_case(&r);
    return test_finish("test_bf16");
}
