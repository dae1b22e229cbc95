/* Generator inference in bands of rows (src/nn/generator.h).
 *
 * The network is run as a sequence of passes between instance norms: each
 * pass reads one or two stored activations, transforms them into the next
 * convolution's input (a copy; ReLU(IN(t)); or the residual update
 * x + IN(u), written back into x), convolves, and stores the result while
 * adding its instance-norm partial sums. Every pass walks the image in bands
 * of R rows, top to bottom; a band's input holds its R rows plus the row
 * above and below (zero padding at the image's edges only), so its output
 * rows are exactly the rows of the whole image's convolution
 * (nlcl_conv2d_plan_create_rows, R a multiple of 4 for Winograd's tiles).
 *
 * Instance-norm statistics are exact and bit-identical to the whole-image
 * path (generator.c, nlcl_instance_norm_forward): R is a multiple of the
 * statistics chunk (norm_internal.h), so every chunk lies in one band and
 * its partial sums are computed by the same kernel from the same floats;
 * the chunks are added in the same order once the pass is complete. The
 * transforms use the same arithmetic (nlcl_in_apply). Hence the output is
 * bit-identical to nlcl_gen_infer_run's for any band height
 * (tests/test_derain.c checks this), in memory or streamed.
 *
 * Per band the data is touched while it is in cache: the statistics are
 * taken from the convolution's output band as it is stored, and the norm,
 * ReLU and residual passes are folded into building the next convolution's
 * input, so each activation crosses memory about half as often as in the
 * layer-by-layer path. On the development machine (2 cores, shared with
 * many other processes) this did not pay: with three to four parallel
 * regions per band instead of per layer, the band pipeline took 1.25x
 * (1 thread) to 1.5x (2 threads) the time of nlcl_gen_infer_run at 1024x512
 * (docs/BENCHMARKS.md), so nlcl_model_run uses it only for images whose
 * activations exceed the memory limit (or when band rows are set).
 *
 * Storage: three activations (x, t, u), in memory, or streamed through
 * temporary files (gen_store.c) when they exceed the memory limit: then only
 * the bands live in memory (about 4 band buffers of R+2 rows), whatever the
 * image's size. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/ops.h"
#include "nn/generator.h"
#include "ops/conv_bf16.h"
#include "ops/norm_internal.h"

#define IN_EPS 1e-5f
#define BAND_BYTES_MEM ((size_t)8 << 20)   /* band buffer target, activations in memory */
#define BAND_BYTES_FILE ((size_t)64 << 20) /* band buffer target, streamed */

enum { CONV_IN = 0, CONV_MID = 1, CONV_OUT = 2 };
typedef enum src_kind { SRC_IMAGE, SRC_COPY, SRC_NORM_RELU, SRC_UPDATE } src_kind;

/* One pass over the image: input transform, convolution, output. */
typedef struct pass {
    int conv;             /* CONV_IN, CONV_MID, CONV_OUT */
    src_kind src;
    nlcl_store *a, *b;    /* COPY, NORM_RELU: a; UPDATE: a = x (updated), b = u */
    const float *m, *r;   /* statistics of the NORM_RELU / UPDATE input */
    const float *image;   /* SRC_IMAGE: (3, h, w) NCHW */
    nlcl_store *dst;      /* CONV_IN, CONV_MID output */
    float *out;           /* CONV_OUT output (3, h, w) NCHW */
    float *sm, *sr;       /* statistics of the output (NULL: none) */
    const float *w, *bias;
} pass;

/* band kind: 1 = touches the top (zero padding above), 2 = the bottom */
static int band_kind(const nlcl_gen_bands *b, int y0, int y1) { return (y0 == 0) + 2 * (y1 == b->h); }

void nlcl_gen_bands_free(nlcl_gen_bands *b) {
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 4; k++) nlcl_conv2d_plan_free(b->plans[c][k]);
    nlcl_store_free(&b->X);
    nlcl_store_free(&b->T);
    nlcl_store_free(&b->U);
    nlcl_free(b->inb);
    nlcl_free(b->outb);
    nlcl_free(b->inb16);
    nlcl_free(b->st1);
    nlcl_free(b->st2);
    nlcl_free(b->part);
    nlcl_free(b->stats);
    free(b->dir);
    nlcl_progress_keep keep = {b->progress, b->progress_ctx};
    memset(b, 0, sizeof *b);
    b->progress = keep.fn;
    b->progress_ctx = keep.ctx;
}

static size_t round_up(size_t a, size_t m) { return (a + m - 1) / m * m; }

/* Plans for every band kind that occurs, for the three convolution shapes. */
static nlcl_status make_plans(nlcl_gen_bands *b) {
    const int C = b->C, h = b->h, w = b->w;
    for (int y0 = 0; y0 < h; y0 += b->R) {
        int y1 = NLCL_MIN(h, y0 + b->R), kind = band_kind(b, y0, y1);
        if (b->plans[CONV_MID][kind]) continue;
        int i0 = y0 > 0 ? y0 - 1 : 0, i1 = y1 < h ? y1 + 1 : h;
        int pt = y0 == 0, pb = y1 == h;
        nlcl_conv2d_shape s_in = {1, 3, i1 - i0, w, C, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_BLOCKED};
        nlcl_conv2d_shape s_mid = {1, C, i1 - i0, w, C, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
        nlcl_conv2d_shape s_out = {1, C, i1 - i0, w, 3, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_NCHW};
        NLCL_TRY(nlcl_conv2d_plan_create_rows(&b->plans[CONV_IN][kind], &s_in, pt, pb, 0));
        NLCL_TRY(nlcl_conv2d_plan_create_ex(&b->plans[CONV_MID][kind], &s_mid, pt, pb, 0, b->bf16,
                                            b->bf16 ? NLCL_BF16_SRC : 0));
        NLCL_TRY(nlcl_conv2d_plan_create_rows(&b->plans[CONV_OUT][kind], &s_out, pt, pb, 0));
    }
    return NLCL_OK;
}

size_t nlcl_gen_bands_activation_bytes(int channels, int h, int w) {
    return 3 * nlcl_layout_numel(NLCL_BLOCKED, 1, channels, h, w) * sizeof(float);
}

nlcl_status nlcl_gen_bands_prepare(nlcl_gen_bands *b, const nlcl_gen *g, int h, int w,
                                   const nlcl_gen_band_opts *o) {
    if (h < 1 || w < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid image size %dx%d", w, h);
    const int C = g->cfg.channels, B = nlcl_layout_block(), cb = (C + B - 1) / B;
    size_t act3 = nlcl_gen_bands_activation_bytes(C, h, w);
    int streaming = o->memory_limit > 0 && act3 > o->memory_limit;
    const char *dir = o->scratch_dir && *o->scratch_dir ? o->scratch_dir : "/tmp";
    if (b->inb && b->h == h && b->w == w && b->C == C && b->streaming == streaming &&
        b->req_rows == o->band_rows && b->bf16 == g->cfg.bf16 && (!streaming || !strcmp(b->dir, dir)))
        return NLCL_OK;
    nlcl_gen_bands_free(b);
    if (streaming && !(b->dir = strdup(dir)))
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    b->h = h, b->w = w, b->C = C, b->B = B, b->cb = cb, b->streaming = streaming;
    b->bf16 = g->cfg.bf16;
    b->req_rows = o->band_rows;
    b->chunk_rows = nlcl_in_chunk_rows(h, w, NLCL_BLOCKED);
    b->nch = (h + b->chunk_rows - 1) / b->chunk_rows;
    size_t row_bytes = (size_t)cb * w * B * sizeof(float);
    size_t want = o->band_rows > 0 ? (size_t)o->band_rows
                                    : (streaming ? BAND_BYTES_FILE : BAND_BYTES_MEM) / row_bytes;
    size_t R = round_up(want > 0 ? want : 1, (size_t)b->chunk_rows);
    if (R > round_up((size_t)h, (size_t)b->chunk_rows)) R = round_up((size_t)h, (size_t)b->chunk_rows);
    b->R = (int)R;
    nlcl_status s = NLCL_OK;
    const int Ri = (int)R;
    if (streaming) {
        s = nlcl_store_check_space(dir, act3);
        if (s == NLCL_OK) s = nlcl_store_init_file(&b->X, cb, h, w, B, Ri, dir);
        if (s == NLCL_OK) s = nlcl_store_init_file(&b->T, cb, h, w, B, Ri, dir);
        if (s == NLCL_OK) s = nlcl_store_init_file(&b->U, cb, h, w, B, Ri, dir);
    } else {
        s = nlcl_store_init_mem(&b->X, cb, h, w, B, Ri);
        if (s == NLCL_OK) s = nlcl_store_init_mem(&b->T, cb, h, w, B, Ri);
        if (s == NLCL_OK) s = nlcl_store_init_mem(&b->U, cb, h, w, B, Ri);
    }
    /* the output band: a convolution's when streaming, else the last one's (3 channels) */
    size_t band_in = (size_t)cb * (R + 2) * w * B;
    size_t band_out = streaming ? (size_t)cb * R * w * B : (size_t)3 * R * w;
    if (s == NLCL_OK) {
        const char *what = "generator band buffers";
        int ok = (b->inb = nlcl_alloc_floats(band_in, what)) != NULL;
        ok = ok && (b->outb = nlcl_alloc_floats(band_out, what)) != NULL;
        if (b->bf16) ok = ok && (b->inb16 = nlcl_alloc(band_in * sizeof(uint16_t), what)) != NULL;
        if (streaming) {
            ok = ok && (b->st1 = nlcl_alloc_floats(band_in, what)) != NULL;
            ok = ok && (b->st2 = nlcl_alloc_floats(band_in, what)) != NULL;
        }
        ok = ok && (b->part = nlcl_calloc((size_t)cb * b->nch * 2 * B, sizeof(double), what)) != NULL;
        ok = ok && (b->stats = nlcl_alloc_floats((size_t)cb * B * 5, what)) != NULL;
        if (!ok) s = NLCL_ERR_NOMEM;
    }
    if (s == NLCL_OK) s = make_plans(b);
    if (s != NLCL_OK) {
        nlcl_gen_bands_free(b);
        return s;
    }
    b->bytes = (streaming ? 0 : act3) + (band_in * (streaming ? 3 : 1) + band_out) * sizeof(float);
    return NLCL_OK;
}

/* ------------------------------------------------------------ one band */

/* The convolution's input for output rows [y0, y1): input rows [i0, i1). */
static nlcl_status band_input(nlcl_gen_bands *b, const pass *p, int y0, int y1, int i0, int i1) {
    const int w = b->w, B = b->B, cb = b->cb, rows = i1 - i0;
    const size_t rf = (size_t)w * B, plane = (size_t)rows * rf;
    if (p->src == SRC_IMAGE) {
        for (int c = 0; c < 3; c++)
            memcpy(b->inb + (size_t)c * rows * w, p->image + ((size_t)c * b->h + i0) * w,
                   sizeof(float) * (size_t)rows * w);
        return NLCL_OK;
    }
    const nlcl_store *sa = p->a, *su = p->src == SRC_UPDATE ? p->b : NULL;
    for (int k = 0; k < cb; k++) { /* files: the rows into staging first */
        if (!sa->mem) NLCL_TRY(nlcl_store_get_rows(sa, k, i0, i1, b->st1 + k * plane));
        if (su && !su->mem) NLCL_TRY(nlcl_store_get_rows(su, k, i0, i1, b->st2 + k * plane));
    }
    const int upd0 = p->src == SRC_UPDATE ? y0 - i0 : 0; /* rows above y0: updated already */
    const int items = cb * rows, to16 = b->bf16 && p->conv == CONV_MID;
#pragma omp parallel for schedule(static) if (items * rf >= 32768)
    for (int it = 0; it < items; it++) {
        int k = it / rows, r = it % rows;
        const float *a = sa->mem ? nlcl_store_row(sa, k, i0 + r) : b->st1 + k * plane + (size_t)r * rf;
        float *d = b->inb + k * plane + (size_t)r * rf;
        const float *m = p->m ? p->m + k * B : NULL, *rs = p->r ? p->r + k * B : NULL;
        if (p->src == SRC_COPY || (p->src == SRC_UPDATE && r < upd0)) {
            memcpy(d, a, sizeof(float) * rf);
        } else if (p->src == SRC_NORM_RELU) {
            nlcl_in_apply(a, NULL, d, rf, B, m, rs, 1);
        } else {
            const float *u = su->mem ? nlcl_store_row(su, k, i0 + r) : b->st2 + k * plane + (size_t)r * rf;
            if (sa->mem && i0 + r < y1) { /* x = x + IN(u) in place, then the copy, while in L1/L2 */
                nlcl_in_apply(u, a, (float *)a, rf, B, m, rs, 0);
                memcpy(d, a, sizeof(float) * rf);
            } else {
                nlcl_in_apply(u, a, d, rf, B, m, rs, 0);
            }
        }
        if (to16) /* the bf16 convolution's input, converted while in L1 */
            nlcl_f32_to_bf16_run(d, b->inb16 + k * plane + (size_t)r * rf, rf);
    }
    if (p->src == SRC_UPDATE && !sa->mem) /* x = x + IN(u) for the band's own rows */
        for (int k = 0; k < cb; k++)
            NLCL_TRY(nlcl_store_put_rows(p->a, k, y0, y1, b->inb + k * plane + (size_t)upd0 * rf));
    return NLCL_OK;
}

/* The convolution's output band `o` (rows [y0, y1) of band kb): into the
 * output image or the store, and its statistics added. */
static nlcl_status band_output(nlcl_gen_bands *b, const pass *p, int kb, int y0, int y1,
                               const float *o) {
    const int w = b->w, B = b->B, cb = b->cb, rows = y1 - y0, h = b->h;
    const size_t rf = (size_t)w * B, plane = (size_t)rows * rf;
    if (p->conv == CONV_OUT) {
        for (int c = 0; c < 3; c++)
            memcpy(p->out + ((size_t)c * h + y0) * w, o + (size_t)c * rows * w,
                   sizeof(float) * (size_t)rows * w);
        return NLCL_OK;
    }
    if (p->sm) {
        if (y0 == 0) /* the shift of the sums: each plane's first pixel */
            for (int k = 0; k < cb; k++) memcpy(b->stats + k * B, o + k * plane, sizeof(float) * B);
        const int CR = b->chunk_rows, ck0 = y0 / CR, nck = (rows + CR - 1) / CR, items = cb * nck;
#pragma omp parallel for schedule(static) if (items > 1 && plane >= 16384)
        for (int it = 0; it < items; it++) {
            int k = it / nck, c = ck0 + it % nck;
            int r0 = c * CR, r1 = NLCL_MIN(h, r0 + CR);
            double *s = b->part + ((size_t)k * b->nch + c) * 2 * B;
            nlcl_in_chunk_stats(o + k * plane + (size_t)(r0 - y0) * rf, (size_t)(r1 - r0) * rf, B,
                                b->stats + k * B, s, s + B);
        }
    }
    return nlcl_store_put_band(p->dst, kb, o);
}

static nlcl_status run_pass(nlcl_gen_bands *b, const pass *p) {
    const int h = b->h;
    for (int kb = 0, y0 = 0; y0 < h; kb++, y0 += b->R) {
        int y1 = NLCL_MIN(h, y0 + b->R), i0 = y0 > 0 ? y0 - 1 : 0, i1 = y1 < h ? y1 + 1 : h;
        NLCL_TRY(band_input(b, p, y0, y1, i0, i1));
        const void *src = b->bf16 && p->conv == CONV_MID ? (const void *)b->inb16 : b->inb;
        /* memory stores take the output band directly */
        float *o = p->conv != CONV_OUT && p->dst->mem ? nlcl_store_band(p->dst, kb) : b->outb;
        NLCL_TRY(nlcl_conv2d_forward(b->plans[p->conv][band_kind(b, y0, y1)], (const float *)src,
                                     p->w, p->bias, o));
        if (b->bf16 && p->conv == CONV_MID && p->sm) /* as generator.c's bf16 convolutions store */
            nlcl_bf16_round_n(o, (size_t)b->cb * (y1 - y0) * b->w * b->B);
        NLCL_TRY(band_output(b, p, kb, y0, y1, o));
    }
    if (p->sm) /* all chunks are in: mean and rstd, in chunk order */
        for (int k = 0; k < b->cb; k++)
            nlcl_in_finish(b->part + (size_t)k * b->nch * 2 * b->B, (size_t)b->nch, b->B,
                           (size_t)h * b->w, b->stats + k * b->B, IN_EPS,
                           NLCL_MIN(b->B, b->C - k * b->B), p->sm + k * b->B, p->sr + k * b->B);
    return NLCL_OK;
}

static nlcl_status report(nlcl_gen_bands *b, int done, int total) {
    if (b->progress && b->progress(b->progress_ctx, done, total))
        return nlcl_error_set(NLCL_ERR_INTERRUPTED, "stopped by the caller");
    return NLCL_OK;
}

nlcl_status nlcl_gen_bands_run(nlcl_gen_bands *b, const nlcl_gen *g, const float *in, float *out) {
    const nlcl_params *ps = &g->params;
    const int K = g->cfg.blocks, total = K + 2, n = b->cb * b->B;
    /* statistics slots: t's (after the first conv of a block) and u's */
    float *tm = b->stats + n, *tr = tm + n, *um = tr + n, *ur = um + n;
#define W_(i) nlcl_params_at(ps, (i))
#define B_(i) nlcl_params_at(ps, (i) + 1)
    pass p = {CONV_IN, SRC_IMAGE, NULL, NULL, NULL, NULL, in, &b->X, NULL, NULL, NULL,
              W_(g->conv_in), B_(g->conv_in)};
    NLCL_TRY(run_pass(b, &p));
    for (int i = 0; i <= K; i++) { /* block i, or the sandwich when i == K */
        int a = i < K ? g->block[i][0] : g->sandwich[0], c = i < K ? g->block[i][1] : g->sandwich[1];
        pass pa = {CONV_MID, i == 0 ? SRC_COPY : SRC_UPDATE, &b->X, &b->U, um, ur, NULL, &b->T,
                   NULL, tm, tr, W_(a), B_(a)};
        NLCL_TRY(run_pass(b, &pa));
        pass pb = {CONV_MID, SRC_NORM_RELU, &b->T, NULL, tm, tr, NULL, &b->U, NULL,
                   i < K ? um : NULL, i < K ? ur : NULL, W_(c), B_(c)};
        NLCL_TRY(run_pass(b, &pb));
        if (i < K) NLCL_TRY(report(b, i + 1, total));
    }
    pass po = {CONV_OUT, SRC_COPY, &b->U, NULL, NULL, NULL, NULL, NULL, out, NULL, NULL,
               W_(g->conv_out), B_(g->conv_out)};
    NLCL_TRY(run_pass(b, &po));
    if (g->cfg.residual) nlcl_add(out, in, out, (size_t)3 * b->h * b->w);
#undef W_
#undef B_
    return report(b, total, total);
}
