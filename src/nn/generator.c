/* The NLCL generator: parameters and the inference pass (src/nn/generator.h). */
#include "nn/generator.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "nlcl/ops.h"
#include "ops/conv_bf16.h"
#include "ops/norm_internal.h"

#define IN_EPS 1e-5f

static int declare_conv(nlcl_params *ps, const char *name, int cout, int cin) {
    char n[NLCL_PARAM_NAME];
    int64_t ws[4] = {cout, cin, 3, 3}, bs[1] = {cout};
    snprintf(n, sizeof n, "%s.weight", name);
    int w = nlcl_params_declare(ps, n, 4, ws);
    snprintf(n, sizeof n, "%s.bias", name);
    nlcl_params_declare(ps, n, 1, bs);
    return w;
}

nlcl_status nlcl_gen_init(nlcl_gen *g, nlcl_gen_cfg cfg) {
    memset(g, 0, sizeof *g);
    if (cfg.channels < 1 || cfg.channels > NLCL_GEN_MAX_CHANNELS || cfg.blocks < 0 ||
        cfg.blocks > NLCL_GEN_MAX_BLOCKS)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "channels must be in [1, %d] and blocks in [0, %d], got "
                              "%d and %d",
                              NLCL_GEN_MAX_CHANNELS, NLCL_GEN_MAX_BLOCKS, cfg.channels, cfg.blocks);
    g->cfg = cfg;
    const int C = cfg.channels, K = cfg.blocks;
    char name[NLCL_PARAM_NAME];
    g->conv_in = declare_conv(&g->params, "gen.0", C, 3);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < 2; j++) {
            snprintf(name, sizeof name, "gen.%d.model.%d.conv", i + 1, j);
            g->block[i][j] = declare_conv(&g->params, name, C, C);
        }
    snprintf(name, sizeof name, "gen.%d.conv.0", K + 1);
    g->sandwich[0] = declare_conv(&g->params, name, C, C);
    snprintf(name, sizeof name, "gen.%d.conv.3", K + 1);
    g->sandwich[1] = declare_conv(&g->params, name, C, C);
    snprintf(name, sizeof name, "gen.%d", K + 2);
    g->conv_out = declare_conv(&g->params, name, 3, C);
    nlcl_status s = nlcl_params_alloc(&g->params);
    if (s != NLCL_OK) nlcl_gen_free(g);
    return s;
}

void nlcl_gen_free(nlcl_gen *g) {
    nlcl_params_free(&g->params);
    memset(g, 0, sizeof *g);
}

void nlcl_gen_zero_normed_bias_grads(nlcl_gen *g) {
    if (!g->params.grad) return;
    for (int k = 1; k <= 2 * g->cfg.blocks + 1; k++) { /* the block convs, sandwich[0] */
        const nlcl_param *b = &g->params.p[nlcl_gen_conv_param(g, k) + 1];
        memset(g->params.grad + b->offset, 0, b->numel * sizeof(float));
    }
}

int nlcl_gen_conv_param(const nlcl_gen *g, int k) {
    const int K = g->cfg.blocks;
    if (k == 0) return g->conv_in;
    if (k <= 2 * K) return g->block[(k - 1) / 2][(k - 1) % 2];
    if (k == 2 * K + 1) return g->sandwich[0];
    if (k == 2 * K + 2) return g->sandwich[1];
    return g->conv_out;
}

void nlcl_gen_init_weights(nlcl_gen *g, nlcl_rng *r) {
    int n = nlcl_gen_num_convs(&g->cfg);
    for (int k = 0; k < n; k++) {
        int i = nlcl_gen_conv_param(g, k);
        const nlcl_param *w = &g->params.p[i], *b = &g->params.p[i + 1];
        size_t fan_in = (size_t)(w->shape[1] * w->shape[2] * w->shape[3]);
        nlcl_init_torch_default(nlcl_params_at(&g->params, i), nlcl_params_at(&g->params, i + 1),
                                w->numel, b->numel, fan_in, r);
    }
    if (g->cfg.residual) {
        const nlcl_param *w = &g->params.p[g->conv_out], *b = &g->params.p[g->conv_out + 1];
        memset(nlcl_params_at(&g->params, g->conv_out), 0, w->numel * sizeof(float));
        memset(nlcl_params_at(&g->params, g->conv_out + 1), 0, b->numel * sizeof(float));
    }
}

nlcl_status nlcl_gen_from_dict(nlcl_gen *g, const nlcl_tensor_dict *d, const char *what) {
    const nlcl_named_tensor *t0 = nlcl_tensor_dict_find(d, "gen.0.weight");
    if (!t0 || t0->ndim != 4)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: not an NLCL generator (no 4-d tensor 'gen.0.weight')", what);
    int64_t C = t0->shape[0];
    if (C < 1 || C > NLCL_GEN_MAX_CHANNELS)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: 'gen.0.weight' has %lld output channels", what,
                              (long long)C);
    /* The block count: the number of gen.i.model.0.conv.weight tensors. */
    int K = 0;
    char name[NLCL_PARAM_NAME];
    for (;;) {
        snprintf(name, sizeof name, "gen.%d.model.0.conv.weight", K + 1);
        if (!nlcl_tensor_dict_find(d, name) || K >= NLCL_GEN_MAX_BLOCKS) break;
        K++;
    }
    const char *res = nlcl_tensor_dict_get_meta(d, "residual");
    if (res && strcmp(res, "0") != 0 && strcmp(res, "1") != 0)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: metadata residual='%s' (expected 0 or 1)", what, res);
    nlcl_gen_cfg cfg = {(int)C, K, res && !strcmp(res, "1"), 0};
    NLCL_TRY(nlcl_gen_init(g, cfg));
    nlcl_status s = nlcl_params_from_dict(&g->params, d, what);
    if (s != NLCL_OK) nlcl_gen_free(g);
    return s;
}

/* ------------------------------------------------------------- inference */

void nlcl_gen_infer_free(nlcl_gen_infer *ws) {
    nlcl_conv2d_plan_free(ws->p_in);
    nlcl_conv2d_plan_free(ws->p_mid);
    nlcl_conv2d_plan_free(ws->p_out);
    nlcl_conv2d_plan_free(ws->p_last);
    nlcl_free(ws->x);
    nlcl_free(ws->t);
    nlcl_free(ws->u);
    nlcl_free(ws->xb);
    memset(ws, 0, sizeof *ws);
}

nlcl_status nlcl_gen_infer_prepare(nlcl_gen_infer *ws, const nlcl_gen *g, int h, int w) {
    if (h < 1 || w < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid image size %dx%d", w, h);
    if (ws->p_mid && ws->h == h && ws->w == w) return NLCL_OK;
    nlcl_gen_infer_free(ws);
    const int C = g->cfg.channels, bf16 = g->cfg.bf16;
    /* bf16 on AMX: channels-last throughout, the only layout of oneDNN's AMX
     * kernels, for the channel counts whose instance-norm sums are added in
     * the blocked layout's order (one accumulator per channel: 16 or 32) */
    const nlcl_layout lay = bf16 && nlcl_bf16_prefers_nhwc() && (C == 16 || C == 32)
                                ? NLCL_NHWC
                                : NLCL_BLOCKED;
    nlcl_conv2d_shape s_in = {1, 3, h, w, C, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_BLOCKED};
    nlcl_conv2d_shape s_mid = {1, C, h, w, C, 3, 3, 1, 1, 1, lay, lay};
    nlcl_conv2d_shape s_out = {1, C, h, w, 3, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_NCHW};
    nlcl_status s = nlcl_conv2d_plan_create(&ws->p_in, &s_in, 0);
    /* bf16: the C->C convolutions take their input as bfloat16 (ws->xb) and
     * write bfloat16, but the last, which feeds the float32 output convolution */
    const int io = bf16 ? NLCL_BF16_SRC | NLCL_BF16_DST : 0;
    if (s == NLCL_OK) s = nlcl_conv2d_plan_create_ex(&ws->p_mid, &s_mid, 1, 1, 0, bf16, io);
    if (s == NLCL_OK && bf16)
        s = nlcl_conv2d_plan_create_ex(&ws->p_last, &s_mid, 1, 1, 0, 1, NLCL_BF16_SRC);
    if (s == NLCL_OK) s = nlcl_conv2d_plan_create(&ws->p_out, &s_out, 0);
    size_t n = nlcl_layout_numel(NLCL_BLOCKED, 1, C, h, w); /* >= NHWC's */
    if (s == NLCL_OK) {
        ws->x = nlcl_alloc_floats(n, "generator activations");
        ws->t = ws->x ? nlcl_alloc_floats(n, "generator activations") : NULL;
        ws->u = ws->t ? nlcl_alloc_floats(n, "generator activations") : NULL;
        if (ws->u && bf16) ws->xb = nlcl_alloc(n * sizeof(uint16_t), "generator activations");
        if (!ws->u || (bf16 && !ws->xb)) s = NLCL_ERR_NOMEM;
    }
    if (s != NLCL_OK) {
        nlcl_gen_infer_free(ws);
        return s;
    }
    ws->h = h;
    ws->w = w;
    ws->layout = lay;
    ws->bytes = 3 * n * sizeof(float) + (bf16 ? n * sizeof(uint16_t) : 0);
    return NLCL_OK;
}

static nlcl_status report(nlcl_gen_infer *ws, int done, int total) {
    if (ws->progress && ws->progress(ws->progress_ctx, done, total))
        return nlcl_error_set(NLCL_ERR_INTERRUPTED, "stopped by the caller");
    return NLCL_OK;
}

#define W_(i) nlcl_params_at(&g->params, (i))
#define B_(i) nlcl_params_at(&g->params, (i) + 1)

/* The generator in bfloat16: each C->C convolution reads its input as
 * bfloat16 from ws->xb, which the instance norm before it writes (relu(IN(t))
 * only there; the residual stream x in float32 and in ws->xb), and writes its
 * output as bfloat16 (t16, u16: the float32 result rounded, as the band
 * pipeline rounds it), which the next instance norm reads; the last writes
 * float32 for the output convolution. The same bytes as converting each
 * tensor in a pass of its own, without those passes over memory. In NHWC
 * (AMX) the first and last convolutions keep the blocked layout of the band
 * pipeline (src/nn/gen_bands.c), whose output this reproduces bit for bit;
 * exact copies convert between the two layouts. */
static nlcl_status run_bf16(nlcl_gen_infer *ws, const nlcl_gen *g, const float *in, float *out) {
    const int C = g->cfg.channels, K = g->cfg.blocks, h = ws->h, w = ws->w;
    const int nhwc = ws->layout == NLCL_NHWC;
    const nlcl_layout lay = ws->layout;
    /* the plans' bf16 src and dst, passed as float pointers */
    const float *xb = (const float *)(const void *)ws->xb;
    uint16_t *t16 = (uint16_t *)(void *)ws->t, *u16 = (uint16_t *)(void *)ws->u;
    NLCL_TRY(nlcl_conv2d_forward(ws->p_in, in, W_(g->conv_in), B_(g->conv_in), nhwc ? ws->t : ws->x));
    if (nhwc) NLCL_TRY(nlcl_layout_convert(ws->t, NLCL_BLOCKED, ws->x, NLCL_NHWC, 1, C, h, w));
    nlcl_f32_to_bf16_n(ws->x, ws->xb, nlcl_layout_numel(lay, 1, C, h, w));
    for (int i = 0; i <= K; i++) { /* block i, or the sandwich when i == K */
        int a = i < K ? g->block[i][0] : g->sandwich[0];
        NLCL_TRY(nlcl_conv2d_forward(ws->p_mid, xb, W_(a), B_(a), (float *)(void *)t16));
        nlcl_instance_norm_forward_bf16(t16, NULL, NULL, ws->xb, 1, C, h, w, lay, IN_EPS, 1);
        if (i == K) break;
        int b = g->block[i][1];
        NLCL_TRY(nlcl_conv2d_forward(ws->p_mid, xb, W_(b), B_(b), (float *)(void *)u16));
        nlcl_instance_norm_forward_bf16(u16, ws->x, ws->x, ws->xb, 1, C, h, w, lay, IN_EPS,
                                        0);
        NLCL_TRY(report(ws, i + 1, K + 2));
    }
    NLCL_TRY(nlcl_conv2d_forward(ws->p_last, xb, W_(g->sandwich[1]), B_(g->sandwich[1]), ws->u));
    if (nhwc) NLCL_TRY(nlcl_layout_convert(ws->u, NLCL_NHWC, ws->t, NLCL_BLOCKED, 1, C, h, w));
    return nlcl_conv2d_forward(ws->p_out, nhwc ? ws->t : ws->u, W_(g->conv_out), B_(g->conv_out),
                               out);
}

nlcl_status nlcl_gen_infer_run(nlcl_gen_infer *ws, const nlcl_gen *g, const float *in, float *out) {
    const int C = g->cfg.channels, K = g->cfg.blocks, h = ws->h, w = ws->w;
    const int total = K + 2;
    if (ws->xb) {
        NLCL_TRY(run_bf16(ws, g, in, out));
        if (g->cfg.residual) nlcl_add(out, in, out, (size_t)3 * h * w);
        return report(ws, total, total);
    }
    NLCL_TRY(nlcl_conv2d_forward(ws->p_in, in, W_(g->conv_in), B_(g->conv_in), ws->x));
    for (int i = 0; i < K; i++) {
        int a = g->block[i][0], b = g->block[i][1];
        NLCL_TRY(nlcl_conv2d_forward(ws->p_mid, ws->x, W_(a), B_(a), ws->t));
        nlcl_instance_norm_forward(ws->t, NULL, ws->t, NULL, NULL, 1, C, h, w, NLCL_BLOCKED,
                                   IN_EPS, 1);
        NLCL_TRY(nlcl_conv2d_forward(ws->p_mid, ws->t, W_(b), B_(b), ws->u));
        /* x = x + IN(u) */
        nlcl_instance_norm_forward(ws->u, ws->x, ws->x, NULL, NULL, 1, C, h, w, NLCL_BLOCKED,
                                   IN_EPS, 0);
        NLCL_TRY(report(ws, i + 1, total));
    }
    NLCL_TRY(nlcl_conv2d_forward(ws->p_mid, ws->x, W_(g->sandwich[0]), B_(g->sandwich[0]), ws->t));
    nlcl_instance_norm_forward(ws->t, NULL, ws->t, NULL, NULL, 1, C, h, w, NLCL_BLOCKED, IN_EPS, 1);
    NLCL_TRY(nlcl_conv2d_forward(ws->p_mid, ws->t, W_(g->sandwich[1]), B_(g->sandwich[1]), ws->u));
    NLCL_TRY(nlcl_conv2d_forward(ws->p_out, ws->u, W_(g->conv_out), B_(g->conv_out), out));
    if (g->cfg.residual) nlcl_add(out, in, out, (size_t)3 * h * w);
    return report(ws, total, total);
}
#undef W_
#undef B_

/* --------------------------------------------------------------- training */

double nlcl_gen_record_bytes(const nlcl_gen_cfg *cfg, int n, int h, int w, int upto, int full) {
    double act = (double)nlcl_layout_numel(NLCL_BLOCKED, n, cfg->channels, h, w);
    double acts = (upto + 1) + 2.0 * upto + (full ? 2 : 0); /* x, ua and ub, us and v */
    double small = (2.0 * cfg->blocks + 1) * 2 * n * cfg->channels + (full ? 3.0 * n * h * w : 0);
    return 4.0 * (acts * act + small);
}

/* Physical memory in bytes (0 if unknown). */
static double machine_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (double)pages * (double)page : 0;
}

nlcl_status nlcl_gen_plans_init(nlcl_gen_plans *pl, const nlcl_gen_cfg *cfg, int n, int h, int w,
                                int records) {
    memset(pl, 0, sizeof *pl);
    const int C = cfg->channels;
    double need = records * nlcl_gen_record_bytes(cfg, n, h, w, cfg->blocks, 1);
    double have = machine_memory();
    if (have > 0 && need > have)
        return nlcl_error_set(NLCL_ERR_NOMEM,
                              "training on %d crop%s of %dx%d needs more memory than this machine "
                              "has: %.1f GiB for the generators' activations alone (%.1f GiB of "
                              "memory); use a smaller --crop or --batch",
                              n, n == 1 ? "" : "s", w, h, need / 1073741824.0, have / 1073741824.0);
    nlcl_conv2d_shape s_in = {n, 3, h, w, C, 3, 3, 1, 1, 1, NLCL_NCHW, NLCL_BLOCKED};
    nlcl_conv2d_shape s_mid = {n, C, h, w, C, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_BLOCKED};
    nlcl_conv2d_shape s_out = {n, C, h, w, 3, 3, 3, 1, 1, 1, NLCL_BLOCKED, NLCL_NCHW};
    nlcl_status s = nlcl_conv2d_plan_create(&pl->p_in, &s_in, 1);
    if (s == NLCL_OK) s = nlcl_conv2d_plan_create_ex(&pl->p_mid, &s_mid, 1, 1, 1, cfg->bf16, 0);
    if (s == NLCL_OK) s = nlcl_conv2d_plan_create(&pl->p_out, &s_out, 1);
    if (s == NLCL_OK) {
        pl->tmp = nlcl_alloc_floats(nlcl_layout_numel(NLCL_BLOCKED, n, C, h, w), "generator scratch");
        if (!pl->tmp) s = NLCL_ERR_NOMEM;
    }
    if (s != NLCL_OK) {
        nlcl_gen_plans_free(pl);
        return s;
    }
    pl->n = n;
    pl->h = h;
    pl->w = w;
    pl->records = records;
    return NLCL_OK;
}

void nlcl_gen_plans_free(nlcl_gen_plans *pl) {
    nlcl_conv2d_plan_free(pl->p_in);
    nlcl_conv2d_plan_free(pl->p_mid);
    nlcl_conv2d_plan_free(pl->p_out);
    nlcl_free(pl->tmp);
    memset(pl, 0, sizeof *pl);
}

void nlcl_gen_record_free(nlcl_gen_record *r) {
    for (int i = 0; i <= NLCL_GEN_MAX_BLOCKS; i++) nlcl_free(r->x[i]);
    for (int i = 0; i < NLCL_GEN_MAX_BLOCKS; i++) {
        nlcl_free(r->ua[i]);
        nlcl_free(r->ub[i]);
    }
    nlcl_free(r->stats);
    nlcl_free(r->us);
    nlcl_free(r->v);
    nlcl_free(r->out);
    memset(r, 0, sizeof *r);
}

nlcl_status nlcl_gen_record_init(nlcl_gen_record *r, const nlcl_gen_cfg *cfg, int n, int h, int w,
                                 int upto, int full) {
    memset(r, 0, sizeof *r);
    NLCL_CHECK(upto >= 0 && upto <= cfg->blocks && (!full || upto == cfg->blocks));
    r->n = n;
    r->h = h;
    r->w = w;
    r->C = cfg->channels;
    r->upto = upto;
    r->full = full;
    r->act = nlcl_layout_numel(NLCL_BLOCKED, n, cfg->channels, h, w);
    const char *what = "generator activations";
    int ok = 1;
    for (int i = 0; ok && i <= upto; i++) ok = (r->x[i] = nlcl_alloc_floats(r->act, what)) != NULL;
    for (int i = 0; ok && i < upto; i++) {
        ok = (r->ua[i] = nlcl_alloc_floats(r->act, what)) != NULL;
        ok = ok && (r->ub[i] = nlcl_alloc_floats(r->act, what)) != NULL;
    }
    size_t nc = (size_t)n * cfg->channels;
    if (ok) ok = (r->stats = nlcl_alloc_floats((2 * (size_t)cfg->blocks + 1) * 2 * nc, what)) != NULL;
    if (ok && full) {
        ok = (r->us = nlcl_alloc_floats(r->act, what)) != NULL;
        ok = ok && (r->v = nlcl_alloc_floats(r->act, what)) != NULL;
        ok = ok && (r->out = nlcl_alloc_floats((size_t)n * 3 * h * w, what)) != NULL;
    }
    if (!ok) {
        nlcl_gen_record_free(r);
        return NLCL_ERR_NOMEM;
    }
    return NLCL_OK;
}

/* mean of IN number j (block i conv a = 2i, conv b = 2i+1, sandwich = 2K) */
static float *stat_mean(const nlcl_gen_record *r, int j) {
    return r->stats + (size_t)j * 2 * r->n * r->C;
}
static float *stat_rstd(const nlcl_gen_record *r, int j) {
    return stat_mean(r, j) + (size_t)r->n * r->C;
}

nlcl_status nlcl_gen_forward(const nlcl_gen *g, nlcl_gen_plans *pl, nlcl_gen_record *r,
                             const float *in) {
    const nlcl_params *ps = &g->params;
    const int C = r->C, n = r->n, h = r->h, w = r->w, K = g->cfg.blocks;
    NLCL_CHECK(pl->n == n && pl->h == h && pl->w == w && pl->tmp);
    r->in = in;
    float *t = pl->tmp; /* ReLU(IN(.)) inputs of second convs: recomputed in backward */
#define W_(i) nlcl_params_at(ps, (i))
#define B_(i) nlcl_params_at(ps, (i) + 1)
    NLCL_TRY(nlcl_conv2d_forward(pl->p_in, in, W_(g->conv_in), B_(g->conv_in), r->x[0]));
    for (int i = 0; i < r->upto; i++) {
        int a = g->block[i][0], b = g->block[i][1];
        NLCL_TRY(nlcl_conv2d_forward(pl->p_mid, r->x[i], W_(a), B_(a), r->ua[i]));
        nlcl_instance_norm_forward(r->ua[i], NULL, t, stat_mean(r, 2 * i), stat_rstd(r, 2 * i), n,
                                   C, h, w, NLCL_BLOCKED, IN_EPS, 1);
        NLCL_TRY(nlcl_conv2d_forward(pl->p_mid, t, W_(b), B_(b), r->ub[i]));
        nlcl_instance_norm_forward(r->ub[i], r->x[i], r->x[i + 1], stat_mean(r, 2 * i + 1),
                                   stat_rstd(r, 2 * i + 1), n, C, h, w, NLCL_BLOCKED, IN_EPS, 0);
    }
    if (r->full) {
        NLCL_TRY(nlcl_conv2d_forward(pl->p_mid, r->x[K], W_(g->sandwich[0]), B_(g->sandwich[0]),
                                     r->us));
        nlcl_instance_norm_forward(r->us, NULL, t, stat_mean(r, 2 * K), stat_rstd(r, 2 * K), n, C,
                                   h, w, NLCL_BLOCKED, IN_EPS, 1);
        NLCL_TRY(nlcl_conv2d_forward(pl->p_mid, t, W_(g->sandwich[1]), B_(g->sandwich[1]), r->v));
        NLCL_TRY(nlcl_conv2d_forward(pl->p_out, r->v, W_(g->conv_out), B_(g->conv_out), r->out));
        if (g->cfg.residual) nlcl_add(r->out, in, r->out, (size_t)n * 3 * h * w);
    }
#undef W_
#undef B_
    return NLCL_OK;
}

nlcl_status nlcl_gen_bwd_ws_init(nlcl_gen_bwd_ws *ws, const nlcl_gen_cfg *cfg, int n, int h, int w) {
    memset(ws, 0, sizeof *ws);
    ws->act = nlcl_layout_numel(NLCL_BLOCKED, n, cfg->channels, h, w);
    ws->dx = nlcl_alloc_floats(ws->act, "generator gradients");
    ws->du = ws->dx ? nlcl_alloc_floats(ws->act, "generator gradients") : NULL;
    ws->t = ws->du ? nlcl_alloc_floats(ws->act, "generator gradients") : NULL;
    if (!ws->t) {
        nlcl_gen_bwd_ws_free(ws);
        return NLCL_ERR_NOMEM;
    }
    return NLCL_OK;
}

void nlcl_gen_bwd_ws_free(nlcl_gen_bwd_ws *ws) {
    nlcl_free(ws->dx);
    nlcl_free(ws->du);
    nlcl_free(ws->t);
    memset(ws, 0, sizeof *ws);
}

static void add_tap_grads(const nlcl_gen_record *r, const nlcl_gen_tap_grad *taps, int ntaps,
                          int xi, float *dx) {
    for (int k = 0; k < ntaps; k++) {
        const nlcl_gen_tap_grad *tg = &taps[k];
        if (tg->xi != xi) continue;
        for (int b = 0; b < r->n; b++)
            nlcl_scatter_rows_add(tg->drows + (size_t)b * tg->k * r->C, r->n, r->C, r->h, r->w,
                                  NLCL_BLOCKED, b, tg->ids + (size_t)b * tg->k, tg->k, dx);
    }
}

nlcl_status nlcl_gen_backward(nlcl_gen *g, nlcl_gen_plans *pl, const nlcl_gen_record *r,
                              nlcl_gen_bwd_ws *ws, const float *d_out,
                              const nlcl_gen_tap_grad *taps, int ntaps, float *d_in,
                              int param_grads) {
    nlcl_params *ps = &g->params;
    const int C = r->C, n = r->n, h = r->h, w = r->w, K = g->cfg.blocks;
    NLCL_CHECK(ws->act == r->act && pl->n == n && pl->h == h && pl->w == w);
    const int pg = param_grads && ps->grad;
#define W_(i) nlcl_params_at(ps, (i))
#define DW_(i) (pg ? nlcl_params_grad_at(ps, (i)) : NULL)
#define DB_(i) (pg ? nlcl_params_grad_at(ps, (i) + 1) : NULL)
    if (r->full && d_out) {
        /* out = conv_out(v) */
        NLCL_TRY(nlcl_conv2d_backward_weights(pl->p_out, r->v, d_out, DW_(g->conv_out),
                                              DB_(g->conv_out)));
        NLCL_TRY(nlcl_conv2d_backward_data(pl->p_out, d_out, W_(g->conv_out), ws->du, 0.0f));
        /* v = conv_s1(t), t = ReLU(IN(us)) */
        nlcl_instance_norm_forward(r->us, NULL, ws->t, NULL, NULL, n, C, h, w, NLCL_BLOCKED,
                                   IN_EPS, 1);
        NLCL_TRY(nlcl_conv2d_backward_weights(pl->p_mid, ws->t, ws->du, DW_(g->sandwich[1]),
                                              DB_(g->sandwich[1])));
        NLCL_TRY(nlcl_conv2d_backward_data(pl->p_mid, ws->du, W_(g->sandwich[1]), ws->t, 0.0f));
        nlcl_instance_norm_backward_set(ws->t, r->us, stat_mean(r, 2 * K), stat_rstd(r, 2 * K),
                                        ws->du, n, C, h, w, NLCL_BLOCKED, 1);
        /* us = conv_s0(x[K]) */
        NLCL_TRY(nlcl_conv2d_backward_weights(pl->p_mid, r->x[K], ws->du, DW_(g->sandwich[0]),
                                              DB_(g->sandwich[0])));
        NLCL_TRY(nlcl_conv2d_backward_data(pl->p_mid, ws->du, W_(g->sandwich[0]), ws->dx, 0.0f));
    } else {
        nlcl_zero_floats(ws->dx, r->act);
    }
    add_tap_grads(r, taps, ntaps, r->upto, ws->dx);
    for (int i = r->upto - 1; i >= 0; i--) {
        int a = g->block[i][0], b = g->block[i][1];
        /* x[i+1] = x[i] + IN(ub) */
        nlcl_instance_norm_backward_set(ws->dx, r->ub[i], stat_mean(r, 2 * i + 1),
                                        stat_rstd(r, 2 * i + 1), ws->du, n, C, h, w, NLCL_BLOCKED, 0);
        /* ub = conv_b(t), t = ReLU(IN(ua)) recomputed */
        nlcl_instance_norm_forward(r->ua[i], NULL, ws->t, NULL, NULL, n, C, h, w, NLCL_BLOCKED,
                                   IN_EPS, 1);
        NLCL_TRY(nlcl_conv2d_backward_weights(pl->p_mid, ws->t, ws->du, DW_(b), DB_(b)));
        NLCL_TRY(nlcl_conv2d_backward_data(pl->p_mid, ws->du, W_(b), ws->t, 0.0f));
        nlcl_instance_norm_backward_set(ws->t, r->ua[i], stat_mean(r, 2 * i), stat_rstd(r, 2 * i),
                                        ws->du, n, C, h, w, NLCL_BLOCKED, 1);
        /* ua = conv_a(x[i]); the skip path already carries dx */
        NLCL_TRY(nlcl_conv2d_backward_weights(pl->p_mid, r->x[i], ws->du, DW_(a), DB_(a)));
        NLCL_TRY(nlcl_conv2d_backward_data(pl->p_mid, ws->du, W_(a), ws->dx, 1.0f));
        add_tap_grads(r, taps, ntaps, i, ws->dx);
    }
    /* x[0] = conv_in(in) */
    NLCL_TRY(nlcl_conv2d_backward_weights(pl->p_in, r->in, ws->dx, DW_(g->conv_in), DB_(g->conv_in)));
    if (d_in) NLCL_TRY(nlcl_conv2d_backward_data(pl->p_in, ws->dx, W_(g->conv_in), d_in, 1.0f));
    /* out = in + G(in): the skip carries d_out to the input */
    if (d_in && r->full && d_out && g->cfg.residual) nlcl_axpy(1.0f, d_out, d_in, (size_t)n * 3 * h * w);
#undef W_
#undef DW_
#undef DB_
    return NLCL_OK;
}
