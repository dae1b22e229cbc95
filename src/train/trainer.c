/* The NLCL trainer: the networks, their buffers, and one training iteration
 * (include/nlcl/train.h, docs/TRAINING.md). The configuration is in
 * config.c, checkpoints and exported models in checkpoint.c. */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/model.h"
#include "nlcl/ops.h"
#include "nlcl/synth.h"
#include "train/dist.h"
#include "train/losses.h"
#include "train/sampler.h"

const char *const nlcl_net_names[NLCL_NET_COUNT] = {"G_B", "G_R", "D", "H_loc",
                                                     "H_B", "H_R", "G_key", "H_key", "G_ema"};

struct nlcl_trainer {
    nlcl_train_config cfg;
    int n, H, W, D;      /* batch (this rank's share), crop, head width */
    int n_all, b0;       /* the whole batch, and this rank's first image in it */
    const nlcl_train_comm *comm; /* data parallelism (NULL: one process) */
    volatile sig_atomic_t *stop; /* a stop request, agreed on before D's step */
    int stepped_d;       /* D took its step in the iteration in progress */
    int nloc_max_tap;    /* deepest G_B tap */
    int use_gr, use_loc, use_layer, use_key, use_ema;
    int layer_shared;    /* one head set (hb) for both layers of the layer contrast */
    nlcl_gen gb, gr, gkey, gema;
    nlcl_disc d;
    nlcl_heads hloc, hkey, hb, hr;
    nlcl_gen_plans gpl; /* records from here */
    nlcl_gen_bwd_ws gws;
    nlcl_gen_record r_gbO, r_grO, r_gbB, r_q, r_k, r_syn;
    nlcl_disc_record r_d2, r_dB, r_dR;
    nlcl_head_record hq[NLCL_MAX_LOC_TAPS], hk, hbr[NLCL_DISC_NTAPS], hrr[NLCL_DISC_NTAPS];
    const float *O, *B; /* buffers from here */
    float *dcat, *d_predB, *d_predR, *d_idt, *d_dout;
    int32_t *ids_loc, *ids_B, *ids_R, *ids_tapB, *ids_tapR;
    float *zcat, *dzcat, *dzB, *dzR, *dzq, *work, *syn_O, *d_syn;
    const int32_t *inj_locO, *inj_locB, *inj_B, *inj_R;
    int64_t iter;
    double search_s;
    nlcl_rng rng;
    nlcl_tensor_dict run_meta; /* the run's own record, in every checkpoint (trainer.h) */
};

/* --------------------------------------------------------------- creation */

const nlcl_params *nlcl_trainer_params_const(const nlcl_trainer *t, nlcl_net_id id) {
    switch (id) {
    case NLCL_NET_GB: return &t->gb.params;
    case NLCL_NET_GR: return t->use_gr ? &t->gr.params : NULL;
    case NLCL_NET_D: return &t->d.params;
    case NLCL_NET_HLOC: return t->use_loc ? &t->hloc.params : NULL;
    case NLCL_NET_HB: return t->use_layer ? &t->hb.params : NULL;
    case NLCL_NET_HR: return t->use_layer && !t->layer_shared ? &t->hr.params : NULL;
    case NLCL_NET_GKEY: return t->use_key ? &t->gkey.params : NULL;
    case NLCL_NET_HKEY: return t->use_key ? &t->hkey.params : NULL;
    case NLCL_NET_GEMA: return t->use_ema ? &t->gema.params : NULL;
    default: return NULL;
    }
}

void nlcl_trainer_free(nlcl_trainer *t) {
    if (!t) return;
    nlcl_gen_free(&t->gb);
    nlcl_gen_free(&t->gr);
    nlcl_gen_free(&t->gkey);
    nlcl_gen_free(&t->gema);
    nlcl_disc_free(&t->d);
    nlcl_heads_free(&t->hloc);
    nlcl_heads_free(&t->hkey);
    nlcl_heads_free(&t->hb);
    nlcl_heads_free(&t->hr);
    nlcl_gen_plans_free(&t->gpl);
    nlcl_gen_bwd_ws_free(&t->gws);
    nlcl_gen_record *recs[] = {&t->r_gbO, &t->r_grO, &t->r_gbB, &t->r_q, &t->r_k, &t->r_syn};
    for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) nlcl_gen_record_free(recs[i]);
    nlcl_disc_record *drecs[] = {&t->r_d2, &t->r_dB, &t->r_dR};
    for (size_t i = 0; i < sizeof drecs / sizeof *drecs; i++) nlcl_disc_record_free(drecs[i]);
    for (int i = 0; i < NLCL_MAX_LOC_TAPS; i++) nlcl_head_record_free(&t->hq[i]);
    nlcl_head_record_free(&t->hk);
    for (int i = 0; i < NLCL_DISC_NTAPS; i++)
        nlcl_head_record_free(&t->hbr[i]), nlcl_head_record_free(&t->hrr[i]);
    void *bufs[] = {t->dcat, t->d_predB, t->d_predR, t->d_idt, t->d_dout, t->ids_loc, t->ids_B,
                    t->ids_R, t->ids_tapB, t->ids_tapR, t->zcat, t->dzcat, t->dzB, t->dzR,
                    t->dzq, t->work, t->syn_O, t->d_syn};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) nlcl_free(bufs[i]);
    nlcl_tensor_dict_free(&t->run_meta);
    free(t);
}

static nlcl_status create(nlcl_trainer *t) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n, H = t->H, W = t->W, D = t->D;
    nlcl_gen_cfg gc = {c->gen_channels, c->gen_blocks, c->residual, c->bf16};
    nlcl_gen_cfg gcr = {c->gen_channels, c->gen_blocks, 0, c->bf16}; /* G_R predicts the rain layer itself */
    nlcl_rng init;
    nlcl_rng_seed(&init, c->seed, 0);
    /* networks, initialised in the documented order */
    NLCL_TRY(nlcl_gen_init(&t->gb, gc));
    nlcl_gen_init_weights(&t->gb, &init);
    if (t->use_gr) {
        NLCL_TRY(nlcl_gen_init(&t->gr, gcr));
        nlcl_gen_init_weights(&t->gr, &init);
    }
    NLCL_TRY(nlcl_disc_init(&t->d, c->ndf));
    nlcl_disc_init_weights(&t->d, &init);
    if (t->use_loc) {
        int cin[NLCL_MAX_LOC_TAPS];
        for (int i = 0; i < c->n_loc_taps; i++) cin[i] = c->gen_channels;
        NLCL_TRY(nlcl_heads_init(&t->hloc, c->n_loc_taps, cin, D));
        nlcl_heads_init_weights(&t->hloc, &init);
    }
    if (t->use_layer) {
        int cin[NLCL_DISC_NTAPS] = {3, c->ndf, 2 * c->ndf, 4 * c->ndf};
        NLCL_TRY(nlcl_heads_init(&t->hb, NLCL_DISC_NTAPS, cin, D));
        nlcl_heads_init_weights(&t->hb, &init);
        if (!t->layer_shared) {
            NLCL_TRY(nlcl_heads_init(&t->hr, NLCL_DISC_NTAPS, cin, D));
            nlcl_heads_init_weights(&t->hr, &init);
        }
    }
    if (t->use_ema) { /* the moving average starts as G_B */
        NLCL_TRY(nlcl_gen_init(&t->gema, gc));
        memcpy(t->gema.params.data, t->gb.params.data, t->gb.params.total * sizeof(float));
    }
    if (t->use_key) {
        NLCL_TRY(nlcl_gen_init(&t->gkey, gc));
        memcpy(t->gkey.params.data, t->gb.params.data, t->gb.params.total * sizeof(float));
        int cin[NLCL_MAX_LOC_TAPS];
        for (int i = 0; i < c->n_loc_taps; i++) cin[i] = c->gen_channels;
        NLCL_TRY(nlcl_heads_init(&t->hkey, c->n_loc_taps, cin, D));
        memcpy(t->hkey.params.data, t->hloc.params.data, t->hloc.params.total * sizeof(float));
    }
    for (int id = 0; id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params(t, (nlcl_net_id)id);
        if (p && nlcl_trainer_steps(t, (nlcl_net_id)id)) NLCL_TRY(nlcl_params_alloc_training(p));
    }
    /* records and buffers */
    const int full = 1 + t->use_gr + (t->use_loc && c->idt) + (c->w_synth > 0); /* records below */
    NLCL_TRY(nlcl_gen_plans_init(&t->gpl, &gc, n, H, W, full));
    NLCL_TRY(nlcl_gen_bwd_ws_init(&t->gws, &gc, n, H, W));
    NLCL_TRY(nlcl_gen_record_init(&t->r_gbO, &gc, n, H, W, c->gen_blocks, 1));
    if (t->use_gr) NLCL_TRY(nlcl_gen_record_init(&t->r_grO, &gcr, n, H, W, c->gen_blocks, 1));
    if (t->use_loc && c->idt) NLCL_TRY(nlcl_gen_record_init(&t->r_gbB, &gc, n, H, W, c->gen_blocks, 1));
    if (t->use_loc) {
        NLCL_TRY(nlcl_gen_record_init(&t->r_q, &gc, n, H, W, t->nloc_max_tap, 0));
        if (t->use_key) NLCL_TRY(nlcl_gen_record_init(&t->r_k, &gc, n, H, W, t->nloc_max_tap, 0));
    }
    if (c->w_synth > 0) NLCL_TRY(nlcl_gen_record_init(&t->r_syn, &gc, n, H, W, c->gen_blocks, 1));
    NLCL_TRY(nlcl_disc_record_init(&t->r_d2, c->ndf, 2 * n, H, W, 1));
    if (c->w_gan > 0 || t->use_layer) NLCL_TRY(nlcl_disc_record_init(&t->r_dB, c->ndf, n, H, W, 1));
    if (t->use_layer) NLCL_TRY(nlcl_disc_record_init(&t->r_dR, c->ndf, n, H, W, 0));
    size_t img = (size_t)n * 3 * H * W;
    const char *what = "training buffers";
    if (!(t->dcat = nlcl_alloc_floats(2 * img, what)) || !(t->d_predB = nlcl_alloc_floats(img, what)) ||
        !(t->d_predR = nlcl_alloc_floats(img, what)) || !(t->d_idt = nlcl_alloc_floats(img, what)) ||
        !(t->d_dout = nlcl_alloc_floats((size_t)2 * n * t->r_d2.geo.out_h * t->r_d2.geo.out_w, what)))
        return NLCL_ERR_NOMEM;
    if (c->w_synth > 0 && (!(t->syn_O = nlcl_alloc_floats(img, what)) || !(t->d_syn = nlcl_alloc_floats(img, what))))
        return NLCL_ERR_NOMEM;
    if (t->use_loc) {
        for (int i = 0; i < c->n_loc_taps; i++)
            NLCL_TRY(nlcl_head_record_init(&t->hq[i], &t->hloc, i, n * c->n_loc));
        NLCL_TRY(nlcl_head_record_init(&t->hk, t->use_key ? &t->hkey : &t->hloc, 0, n * c->n_loc));
        if (!(t->ids_loc = nlcl_calloc((size_t)n * c->n_loc, sizeof(int32_t), what)) ||
            !(t->dzq = nlcl_alloc_floats((size_t)n * c->n_loc * D, what)))
            return NLCL_ERR_NOMEM;
    }
    int M = c->n_pos + c->n_neg;
    if (t->use_layer) {
        for (int i = 0; i < NLCL_DISC_NTAPS; i++) {
            NLCL_TRY(nlcl_head_record_init(&t->hbr[i], &t->hb, i, n * c->n_pos));
            NLCL_TRY(nlcl_head_record_init(&t->hrr[i], t->layer_shared ? &t->hb : &t->hr, i, n * c->n_neg));
        }
        if (!(t->ids_B = nlcl_calloc((size_t)n * c->n_pos, sizeof(int32_t), what)) ||
            !(t->ids_R = nlcl_calloc((size_t)n * c->n_neg, sizeof(int32_t), what)) ||
            !(t->ids_tapB = nlcl_calloc((size_t)NLCL_DISC_NTAPS * n * c->n_pos, sizeof(int32_t), what)) ||
            !(t->ids_tapR = nlcl_calloc((size_t)NLCL_DISC_NTAPS * n * c->n_neg, sizeof(int32_t), what)) ||
            !(t->zcat = nlcl_alloc_floats((size_t)M * D, what)) ||
            !(t->dzcat = nlcl_alloc_floats((size_t)M * D, what)) ||
            !(t->dzB = nlcl_alloc_floats((size_t)n * c->n_pos * D, what)) ||
            !(t->dzR = nlcl_alloc_floats((size_t)n * c->n_neg * D, what)))
            return NLCL_ERR_NOMEM;
    }
    size_t wk = (size_t)NLCL_MAX(c->n_loc, M);
    if (!(t->work = nlcl_alloc_floats(wk * wk, what))) return NLCL_ERR_NOMEM;
    return NLCL_OK;
}

nlcl_status nlcl_trainer_create(const nlcl_train_config *cfg, nlcl_trainer **out) {
    return nlcl_trainer_create_shared(cfg, NULL, out);
}

nlcl_status nlcl_trainer_create_shared(const nlcl_train_config *cfg, const nlcl_train_comm *comm,
                                       nlcl_trainer **out) {
    *out = NULL;
    NLCL_TRY(nlcl_train_config_check(cfg));
    NLCL_TRY(nlcl_dist_check_batch(comm, cfg->batch));
    int ranks = nlcl_dist_on(comm) ? comm->size : 1;
    nlcl_trainer *t = calloc(1, sizeof *t);
    if (!t) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    t->cfg = *cfg;
    t->cfg.n_loc_taps = nlcl_train_config_taps(cfg, t->cfg.loc_taps);
    t->comm = ranks > 1 ? comm : NULL;
    t->n_all = cfg->batch;
    t->n = cfg->batch / ranks;
    t->b0 = ranks > 1 ? comm->rank * t->n : 0;
    t->H = cfg->crop;
    t->W = cfg->crop_w ? cfg->crop_w : cfg->crop;
    t->D = cfg->head_dim;
    t->use_gr = cfg->rain_generator;
    t->use_loc = cfg->w_loc > 0;
    t->use_layer = cfg->rain_generator && cfg->w_layer > 0;
    t->layer_shared = cfg->layer_head == NLCL_LAYER_HEAD_SHARED;
    t->use_key = t->use_loc && cfg->momentum > 0;
    t->use_ema = cfg->ema > 0;
    t->nloc_max_tap = 0;
    for (int i = 0; i < t->cfg.n_loc_taps; i++)
        if (t->cfg.loc_taps[i] > t->nloc_max_tap) t->nloc_max_tap = t->cfg.loc_taps[i];
    nlcl_status s = create(t);
    if (s != NLCL_OK) {
        if (s == NLCL_ERR_NOMEM)
            nlcl_error_prefix(s, "not enough memory for crop %d, batch %d: ", cfg->crop,
                              cfg->batch);
        nlcl_trainer_free(t);
        return s;
    }
    *out = t;
    return NLCL_OK;
}

int64_t nlcl_trainer_iteration(const nlcl_trainer *t) { return t->iter; }
void nlcl_trainer_set_iteration(nlcl_trainer *t, int64_t iter) { t->iter = iter; }
const nlcl_train_config *nlcl_trainer_config(const nlcl_trainer *t) { return &t->cfg; }
double nlcl_trainer_search_seconds(const nlcl_trainer *t) { return t->search_s; }
nlcl_tensor_dict *nlcl_trainer_run_meta(nlcl_trainer *t) { return &t->run_meta; }
const nlcl_tensor_dict *nlcl_trainer_run_meta_const(const nlcl_trainer *t) { return &t->run_meta; }
const float *nlcl_trainer_pred_B(const nlcl_trainer *t) { return t->r_gbO.out; }
const float *nlcl_trainer_pred_R(const nlcl_trainer *t) { return t->use_gr ? t->r_grO.out : NULL; }
const float *nlcl_trainer_idt(const nlcl_trainer *t) { return t->r_gbB.out; }

void nlcl_trainer_inject_ids(nlcl_trainer *t, const int32_t *loc_O, const int32_t *loc_B,
                             const int32_t *layer_B, const int32_t *layer_R) {
    t->inj_locO = loc_O;
    t->inj_locB = loc_B;
    t->inj_B = layer_B;
    t->inj_R = layer_R;
}

/* --------------------------------------------------------------- iteration */

/* k samples for each image of map x by the non-local search of the paper's
 * section 3.2 (block matching, Eq. (7); src/train/sampler.h), or the
 * injected ones. */
static nlcl_status sample(nlcl_trainer *t, const float *x, int c, int h, int w, nlcl_layout l,
                          nlcl_sampling mode, int k, const int32_t *inj, int32_t *ids) {
    if (inj) {
        memcpy(ids, inj, sizeof(int32_t) * (size_t)t->n * k);
        return NLCL_OK;
    }
    double t0 = nlcl_now_s();
    /* the whole batch draws from one stream: this rank's share searches */
    NLCL_TRY(nlcl_search_share(x, t->n, t->n_all, t->b0, c, h, w, l, mode, k, &t->rng, ids));
    t->search_s += nlcl_now_s() - t0;
    return NLCL_OK;
}

/* The synthetic pairs (docs/TRAINING.md): each clean crop B gets rain from the stream (seed,
 * 3 * 2^32 + iteration) by nlcl_synth_rain, O_s = T(B + S) + (1 - T)A (paper Eq. (1) with a
 * veil), of the configured preset or one drawn first by synth_mix (the veil's next with
 * synth_veil), JPEG-compressed at a quality from synth_jpeg when set; then G_B runs on them.
 * The stream covers the whole batch B_all: the images before this rank's share are dropped. */
static nlcl_status synth_forward(nlcl_trainer *t, const float *B_all) {
    nlcl_rng r;
    nlcl_rng_seed(&r, t->cfg.seed, ((uint64_t)3 << 32) + (uint64_t)t->iter);
    size_t one = (size_t)3 * t->H * t->W;
    for (int b = 0; b < t->b0 + t->n; b++) {
        int k = t->cfg.synth_rain;
        if (k >= NLCL_RAIN_NPRESETS) k = nlcl_rain_draw_preset(t->cfg.synth_mix, &r);
        int v = t->cfg.synth_veil ? (int)nlcl_rng_below(&r, NLCL_RAIN_NPRESETS) : k;
        nlcl_rain_params rp;
        nlcl_rain_params_mixed(&rp, (nlcl_rain_preset)k, (nlcl_rain_preset)v);
        rp.jpeg[0] = t->cfg.synth_jpeg[0], rp.jpeg[1] = t->cfg.synth_jpeg[1];
        nlcl_image clean = {t->W, t->H, (float *)B_all + b * one}, rainy = {0};
        NLCL_TRY(nlcl_synth_rain(&clean, &rp, &r, &rainy));
        if (b >= t->b0) memcpy(t->syn_O + (b - t->b0) * one, rainy.data, one * sizeof(float));
        nlcl_image_free(&rainy);
    }
    return nlcl_gen_forward(&t->gb, &t->gpl, &t->r_syn, t->syn_O);
}

/* The forward passes on this rank's O and B; B_all is the whole batch's B. */
static nlcl_status forward(nlcl_trainer *t, const float *O, const float *B, const float *B_all) {
    t->O = O;
    t->B = B;
    NLCL_TRY(nlcl_gen_forward(&t->gb, &t->gpl, &t->r_gbO, O));
    if (t->use_gr) NLCL_TRY(nlcl_gen_forward(&t->gr, &t->gpl, &t->r_grO, O));
    if (t->use_loc && t->cfg.idt) NLCL_TRY(nlcl_gen_forward(&t->gb, &t->gpl, &t->r_gbB, B));
    if (t->cfg.w_synth > 0) NLCL_TRY(synth_forward(t, B_all));
    return NLCL_OK;
}

nlcl_status nlcl_trainer_forward(nlcl_trainer *t, const float *O, const float *B) {
    return forward(t, O, B, B);
}

/* The discriminator's side of the adversarial prior P_b(B), paper Eq. (3),
 * in least squares (LSGAN, as the reference): D(pred_B) -> 0, D(B) -> 1. */
nlcl_status nlcl_trainer_d_grads(nlcl_trainer *t, double *loss_d) {
    size_t img = (size_t)t->n * 3 * t->H * t->W;
    memcpy(t->dcat, t->r_gbO.out, img * sizeof(float));
    memcpy(t->dcat + img, t->B, img * sizeof(float));
    nlcl_zero_floats(t->d.params.grad, t->d.params.total);
    NLCL_TRY(nlcl_disc_forward(&t->d, &t->r_d2, t->dcat));
    size_t half = (size_t)t->n * t->r_d2.geo.out_h * t->r_d2.geo.out_w;
    const float *out = t->r_d2.out;
    double lf, lr;
    NLCL_TRY(nlcl_mse_const_forward(out, 0.0f, half, &lf));
    NLCL_TRY(nlcl_mse_const_forward(out + half, 1.0f, half, &lr));
    *loss_d = 0.5 * (lf + lr);
    memset(t->d_dout, 0, 2 * half * sizeof(float));
    nlcl_mse_const_backward(out, 0.0f, half, 0.5f, t->d_dout);
    nlcl_mse_const_backward(out + half, 1.0f, half, 0.5f, t->d_dout + half);
    NLCL_TRY(nlcl_disc_backward(&t->d, &t->r_d2, t->d_dout, NULL, 0, NULL, 1));
    nlcl_disc_zero_normed_bias_grads(&t->d); /* exactly 0 (not noise) */
    return NLCL_OK;
}

/* Location contrast NCE(src, tgt), paper Eq. (6) (docs/TRAINING.md): keys from the key
 * encoder on src (record `keyrec` already run), queries from G_B on tgt;
 * gradients into G_B, H_loc and d_tgt. Returns the loss in *loss. */
static nlcl_status loc_contrast(nlcl_trainer *t, const nlcl_gen_record *keyrec, const float *tgt,
                                const int32_t *inj, float g, float *d_tgt, double *loss) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n, N = c->n_loc, C = c->gen_channels, D = t->D, T = c->n_loc_taps;
    NLCL_TRY(sample(t, keyrec->x[0], C, t->H, t->W, NLCL_BLOCKED, c->loc_sampling, N, inj,
                    t->ids_loc));
    NLCL_TRY(nlcl_gen_forward(&t->gb, &t->gpl, &t->r_q, tgt));
    const nlcl_heads *hkey = t->use_key ? &t->hkey : &t->hloc;
    nlcl_gen_tap_grad tg[NLCL_MAX_LOC_TAPS];
    double total = 0;
    for (int i = 0; i < T; i++) {
        int xi = c->loc_taps[i];
        t->hk.t = i;
        for (int b = 0; b < n; b++) {
            nlcl_gather_rows(keyrec->x[xi], n, C, t->H, t->W, NLCL_BLOCKED, b, t->ids_loc + (size_t)b * N,
                             N, t->hk.rows + (size_t)b * N * C);
            nlcl_gather_rows(t->r_q.x[xi], n, C, t->H, t->W, NLCL_BLOCKED, b, t->ids_loc + (size_t)b * N,
                             N, t->hq[i].rows + (size_t)b * N * C);
        }
        nlcl_head_forward(hkey, &t->hk, n * N);
        nlcl_head_forward(&t->hloc, &t->hq[i], n * N);
        memset(t->dzq, 0, sizeof(float) * (size_t)n * N * D);
        for (int b = 0; b < n; b++) {
            double l;
            NLCL_TRY(nlcl_patchnce(t->hq[i].z + (size_t)b * N * D, t->hk.z + (size_t)b * N * D, N, D,
                                   (float)c->tau, g / (float)(T * n), t->dzq + (size_t)b * N * D,
                                   t->work, &l));
            total += l;
        }
        nlcl_head_backward(&t->hloc, &t->hq[i], t->dzq, 1);
        tg[i].xi = xi;
        tg[i].k = N;
        tg[i].ids = t->ids_loc;
        tg[i].drows = t->hq[i].drows;
    }
    *loss = total / (T * n);
    return nlcl_gen_backward(&t->gb, &t->gpl, &t->r_q, &t->gws, NULL, tg, T, d_tgt, 1);
}

/* Layer contrast, paper Eq. (5) (docs/TRAINING.md): D taps of pred_B (record r_dB, already
 * run) and pred_R (r_dR, run here). Adds sparse tap gradients to tgB/tgR. */
static nlcl_status layer_contrast(nlcl_trainer *t, float g, nlcl_disc_tap_grad *tgB,
                                  nlcl_disc_tap_grad *tgR, double *loss) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n, NB = c->n_pos, NR = c->n_neg, D = t->D, M = NB + NR;
    const float *predB = t->r_gbO.out, *predR = t->r_grO.out;
    nlcl_heads *hR = t->layer_shared ? &t->hb : &t->hr; /* projects pred_R's samples */
    const int pg = !c->layer_head_frozen;
    NLCL_TRY(nlcl_disc_forward(&t->d, &t->r_dR, predR));
    NLCL_TRY(sample(t, predB, 3, t->H, t->W, NLCL_NCHW, c->pos_sampling, NB, t->inj_B, t->ids_B));
    NLCL_TRY(sample(t, predR, 3, t->H, t->W, NLCL_NCHW, c->neg_sampling, NR, t->inj_R, t->ids_R));
    double total = 0;
    for (int tp = 0; tp < NLCL_DISC_NTAPS; tp++) {
        const float *xb, *xr;
        int ch, th, tw;
        nlcl_layout lay;
        nlcl_disc_tap(&t->r_dB, tp, &xb, &ch, &th, &tw, &lay);
        nlcl_disc_tap(&t->r_dR, tp, &xr, &ch, &th, &tw, &lay);
        int32_t *idb = t->ids_tapB + (size_t)tp * n * NB, *idr = t->ids_tapR + (size_t)tp * n * NR;
        nlcl_map_ids(t->ids_B, n * NB, t->H, t->W, th, tw, idb);
        nlcl_map_ids(t->ids_R, n * NR, t->H, t->W, th, tw, idr);
        for (int b = 0; b < n; b++) {
            nlcl_gather_rows(xb, n, ch, th, tw, lay, b, idb + (size_t)b * NB, NB,
                             t->hbr[tp].rows + (size_t)b * NB * ch);
            nlcl_gather_rows(xr, n, ch, th, tw, lay, b, idr + (size_t)b * NR, NR,
                             t->hrr[tp].rows + (size_t)b * NR * ch);
        }
        nlcl_head_forward(&t->hb, &t->hbr[tp], n * NB);
        nlcl_head_forward(hR, &t->hrr[tp], n * NR);
        for (int b = 0; b < n; b++) {
            memcpy(t->zcat, t->hbr[tp].z + (size_t)b * NB * D, sizeof(float) * (size_t)NB * D);
            memcpy(t->zcat + (size_t)NB * D, t->hrr[tp].z + (size_t)b * NR * D,
                   sizeof(float) * (size_t)NR * D);
            memset(t->dzcat, 0, sizeof(float) * (size_t)M * D);
            double l;
            NLCL_TRY(nlcl_supcon(t->zcat, M, NB, D, (float)c->tau, g / (float)(NLCL_DISC_NTAPS * n),
                                 t->dzcat, t->work, &l));
            total += l;
            memcpy(t->dzB + (size_t)b * NB * D, t->dzcat, sizeof(float) * (size_t)NB * D);
            memcpy(t->dzR + (size_t)b * NR * D, t->dzcat + (size_t)NB * D, sizeof(float) * (size_t)NR * D);
        }
        nlcl_head_backward(&t->hb, &t->hbr[tp], t->dzB, pg);
        nlcl_head_backward(hR, &t->hrr[tp], t->dzR, pg);
        tgB[tp] = (nlcl_disc_tap_grad){tp, NB, idb, t->hbr[tp].drows};
        tgR[tp] = (nlcl_disc_tap_grad){tp, NR, idr, t->hrr[tp].drows};
    }
    *loss = total / (NLCL_DISC_NTAPS * n);
    return NLCL_OK;
}

static void zero_grads(nlcl_params *p) {
    if (p && p->grad) nlcl_zero_floats(p->grad, p->total);
}

/* The discriminator's terms on pred_B: the adversarial loss (the
 * generator's side of P_b(B), paper Eq. (3), least squares as in the
 * reference) and the layer contrast; their gradients into d_predB, d_predR. */
static nlcl_status disc_terms(nlcl_trainer *t, nlcl_losses *L) {
    const nlcl_train_config *c = &t->cfg;
    const float *predB = t->r_gbO.out;
    nlcl_disc_tap_grad tgB[NLCL_DISC_NTAPS], tgR[NLCL_DISC_NTAPS];
    int ntap = 0;
    const float *d_out = NULL;
    if (!(c->w_gan > 0 || t->use_layer)) return NLCL_OK;
    NLCL_TRY(nlcl_disc_forward(&t->d, &t->r_dB, predB));
    if (c->w_gan > 0) {
        size_t cnt = (size_t)t->n * t->r_dB.geo.out_h * t->r_dB.geo.out_w;
        NLCL_TRY(nlcl_mse_const_forward(t->r_dB.out, 1.0f, cnt, &L->gan));
        memset(t->d_dout, 0, cnt * sizeof(float));
        nlcl_mse_const_backward(t->r_dB.out, 1.0f, cnt, (float)c->w_gan, t->d_dout);
        d_out = t->d_dout;
    }
    if (t->use_layer) {
        NLCL_TRY(layer_contrast(t, (float)c->w_layer, tgB, tgR, &L->layer));
        ntap = NLCL_DISC_NTAPS;
        NLCL_TRY(nlcl_disc_backward(&t->d, &t->r_dR, NULL, tgR, ntap, t->d_predR, 0));
    }
    return nlcl_disc_backward(&t->d, &t->r_dB, d_out, tgB, ntap, t->d_predB, 0);
}

/* Location contrast, paper Eq. (6): NCE(O, pred_B), and with idt the
 * identity term NCE(B, G_B(B)), the two averaged; gradients into d_predB
 * and d_idt. */
static nlcl_status loc_terms(nlcl_trainer *t, nlcl_losses *L) {
    const nlcl_train_config *c = &t->cfg;
    const size_t img = (size_t)t->n * 3 * t->H * t->W;
    float f = c->idt ? 0.5f : 1.0f;
    double l1 = 0, l2 = 0;
    const nlcl_gen_record *kO = &t->r_gbO;
    if (t->use_key) {
        NLCL_TRY(nlcl_gen_forward(&t->gkey, &t->gpl, &t->r_k, t->O));
        kO = &t->r_k;
    }
    NLCL_TRY(loc_contrast(t, kO, t->r_gbO.out, t->inj_locO, (float)c->w_loc * f, t->d_predB, &l1));
    if (c->idt) {
        memset(t->d_idt, 0, img * sizeof(float));
        const nlcl_gen_record *kB = &t->r_gbB;
        if (t->use_key) {
            NLCL_TRY(nlcl_gen_forward(&t->gkey, &t->gpl, &t->r_k, t->B));
            kB = &t->r_k;
        }
        NLCL_TRY(loc_contrast(t, kB, t->r_gbB.out, t->inj_locB, (float)c->w_loc * f, t->d_idt, &l2));
    }
    L->loc = f * (l1 + l2);
    return NLCL_OK;
}

/* The pixel terms: consistency ||B + R - O||^2 (mean) of the decomposition
 * O = B + R, paper Eq. (1) and Eq. (2); the sparsity P_r(R) = |R|_1 (mean) of
 * Eq. (2) (or |O - B| as the released code); nlcl's eroded L1, L1 of the
 * channel means and synthetic-pair L1. Gradients into d_predB, d_predR, d_syn. */
static nlcl_status pixel_terms(nlcl_trainer *t, nlcl_losses *L) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n;
    const size_t img = (size_t)n * 3 * t->H * t->W;
    const float *predB = t->r_gbO.out, *predR = t->use_gr ? t->r_grO.out : NULL;
    if (t->use_gr && c->w_cons > 0) {
        /* r = pred_B + pred_R - O in the dcat buffer (free now) */
        float *r = t->dcat;
        nlcl_add(predB, predR, r, img);
        nlcl_sub(r, t->O, r, img);
        NLCL_TRY(nlcl_mse_const_forward(r, 0.0f, img, &L->cons));
        float gsc = (float)(2.0 * c->w_cons / (double)img);
        nlcl_axpy(gsc, r, t->d_predB, img);
        nlcl_axpy(gsc, r, t->d_predR, img);
    }
    if (c->w_sp > 0) { /* |O - B| (code) or |R| (paper) */
        const float *a = c->sparsity_code ? predB : predR, *b = c->sparsity_code ? t->O : NULL;
        NLCL_TRY(nlcl_l1_forward(a, b, img, &L->sp));
        nlcl_l1_backward(a, b, img, (float)c->w_sp, c->sparsity_code ? t->d_predB : t->d_predR, NULL);
    }
    if (c->w_eroded > 0) {
        NLCL_TRY(nlcl_eroded_l1_forward(predB, t->O, n * 3, t->H, t->W, c->erosion, &L->eroded));
        nlcl_eroded_l1_backward(predB, t->O, n * 3, t->H, t->W, c->erosion, (float)c->w_eroded,
                                t->d_predB);
    }
    if (c->w_colour > 0) {
        const size_t hw = (size_t)t->H * t->W;
        NLCL_TRY(nlcl_mean_l1_forward(predB, t->O, n * 3, hw, &L->colour));
        nlcl_mean_l1_backward(predB, t->O, n * 3, hw, (float)c->w_colour, t->d_predB);
    }
    if (c->w_synth > 0) {
        NLCL_TRY(nlcl_l1_forward(t->r_syn.out, t->B, img, &L->synth));
        memset(t->d_syn, 0, img * sizeof(float));
        nlcl_l1_backward(t->r_syn.out, t->B, img, (float)c->w_synth, t->d_syn, NULL);
    }
    return NLCL_OK;
}

nlcl_status nlcl_trainer_g_grads(nlcl_trainer *t, nlcl_losses *L) {
    const nlcl_train_config *c = &t->cfg;
    const size_t img = (size_t)t->n * 3 * t->H * t->W;
    memset(L, 0, sizeof *L);
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (id != NLCL_NET_D && nlcl_net_trainable((nlcl_net_id)id))
            zero_grads(nlcl_trainer_params(t, (nlcl_net_id)id));
    memset(t->d_predB, 0, img * sizeof(float));
    if (t->use_gr) memset(t->d_predR, 0, img * sizeof(float));
    NLCL_TRY(disc_terms(t, L));
    if (t->use_loc) NLCL_TRY(loc_terms(t, L));
    NLCL_TRY(pixel_terms(t, L));
    /* the overall objective, paper Eq. (4): L_decom (Eq. (2)) plus the
     * weighted contrasts, plus nlcl's own terms */
    L->G = 0;
    for (int k = NLCL_LOSS_GAN; k < NLCL_LOSS_COUNT; k++)
        L->G += nlcl_loss_weight(c, (nlcl_loss_term)k) * nlcl_loss_get(L, (nlcl_loss_term)k);
    /* back through the generators */
    NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_gbO, &t->gws, t->d_predB, NULL, 0, NULL, 1));
    if (t->use_gr)
        NLCL_TRY(nlcl_gen_backward(&t->gr, &t->gpl, &t->r_grO, &t->gws, t->d_predR, NULL, 0, NULL, 1));
    if (t->use_loc && c->idt)
        NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_gbB, &t->gws, t->d_idt, NULL, 0, NULL, 1));
    if (c->w_synth > 0)
        NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_syn, &t->gws, t->d_syn, NULL, 0, NULL, 1));
    /* exactly 0 (not noise) */
    nlcl_gen_zero_normed_bias_grads(&t->gb);
    if (t->use_gr) nlcl_gen_zero_normed_bias_grads(&t->gr);
    return NLCL_OK;
}

static int all_finite(const float *x, size_t n) {
    int ok = 1;
#pragma omp parallel for reduction(&& : ok) schedule(static)
    for (size_t i = 0; i < n; i++) ok = ok && isfinite(x[i]);
    return ok;
}

static nlcl_status check_finite(const nlcl_trainer *t, const char *term, double v) {
    if (!isfinite(v))
        return nlcl_error_set(NLCL_ERR_NONFINITE,
                              "loss term '%s' is %s at iteration %lld; stopping (the last "
                              "good checkpoint is kept)",
                              term, isnan(v) ? "NaN" : "infinite", (long long)t->iter + 1);
    return NLCL_OK;
}

static nlcl_status check_grads(nlcl_trainer *t, nlcl_net_id id) {
    nlcl_params *p = nlcl_trainer_params(t, id);
    if (!p || !p->grad) return NLCL_OK;
    if (!all_finite(p->grad, p->total))
        return nlcl_error_set(NLCL_ERR_NONFINITE,
                              "the gradient of %s is not finite at iteration %lld; stopping "
                              "(the last good checkpoint is kept)",
                              nlcl_net_names[id], (long long)t->iter + 1);
    return NLCL_OK;
}

/* Adam step of network id: G_B counts every iteration, the others only those
 * after the warm-up (their moments start at the first step they take). Absent
 * and frozen networks (no gradient) are skipped. */
static void adam(nlcl_trainer *t, nlcl_net_id id, double lr) {
    nlcl_params *p = nlcl_trainer_params(t, id);
    if (!p || !p->grad) return;
    nlcl_adam_cfg ac = {lr, t->cfg.beta1, t->cfg.beta2, t->cfg.eps};
    int64_t step = id == NLCL_NET_GB ? t->iter + 1 : t->iter + 1 - t->cfg.warmup;
    nlcl_adam_step(p->data, p->grad, p->adam_m, p->adam_v, p->total, &ac, step);
}

static void ema(nlcl_params *key, const nlcl_params *src, double m) {
    float mf = (float)m, one = (float)(1.0 - m);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < key->total; i++) key->data[i] = mf * key->data[i] + one * src->data[i];
}

double nlcl_trainer_lr(const nlcl_trainer *t, int64_t it) {
    const nlcl_train_config *c = &t->cfg;
    int64_t decay = c->decay_iters >= 0 ? c->decay_iters : c->iters / 21;
    if (decay > c->iters) decay = c->iters;
    return nlcl_lr_linear_decay(c->lr, it, c->iters - decay, decay);
}

/* After a step: the momentum key encoder and the EMA of G_B follow G_B. */
static void averages(nlcl_trainer *t) {
    if (t->use_key) {
        ema(&t->gkey.params, &t->gb.params, t->cfg.momentum);
        ema(&t->hkey.params, &t->hloc.params, t->cfg.momentum);
    }
    if (t->use_ema) {
        double k = (double)t->iter, m = NLCL_MIN(t->cfg.ema, (1 + k) / (10 + k));
        ema(&t->gema.params, &t->gb.params, m);
    }
}

/* G_B's loss and gradient on this rank's synthetic pairs (B this rank's
 * clean crops, B_all the whole batch's). */
static nlcl_status warmup_grads(nlcl_trainer *t, const float *B, const float *B_all, nlcl_losses *L) {
    const size_t img = (size_t)t->n * 3 * t->H * t->W;
    NLCL_TRY(synth_forward(t, B_all));
    nlcl_zero_floats(t->gb.params.grad, t->gb.params.total);
    NLCL_TRY(nlcl_l1_forward(t->r_syn.out, B, img, &L->synth));
    memset(t->d_syn, 0, img * sizeof(float));
    nlcl_l1_backward(t->r_syn.out, B, img, (float)t->cfg.w_synth, t->d_syn, NULL);
    NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_syn, &t->gws, t->d_syn, NULL, 0, NULL, 1));
    nlcl_gen_zero_normed_bias_grads(&t->gb); /* exactly 0 (not noise), as in the G step */
    return NLCL_OK;
}

/* A warm-up iteration: G_B alone on the synthetic pairs (docs/TRAINING.md),
 * on B_all, the whole batch's clean crops (this rank takes its share). */
static nlcl_status warmup_step(nlcl_trainer *t, const float *B_all, double lr, nlcl_losses *L) {
    const float *B = B_all + (size_t)t->b0 * 3 * t->H * t->W;
    t->B = B;
    t->stepped_d = 0;
    memset(L, 0, sizeof *L);
    nlcl_status s = warmup_grads(t, B, B_all, L);
    if (t->comm)
        NLCL_TRY(nlcl_dist_share(t->comm, t, s, t->stop, "in the warm-up step", &L->synth, NLCL_DIST_GB));
    NLCL_TRY(s);
    L->G = t->cfg.w_synth * L->synth;
    NLCL_TRY(check_finite(t, nlcl_loss_name(NLCL_LOSS_SYNTH), L->synth));
    NLCL_TRY(check_grads(t, NLCL_NET_GB));
    adam(t, NLCL_NET_GB, lr);
    averages(t);
    t->iter++;
    return NLCL_OK;
}

nlcl_status nlcl_trainer_step(nlcl_trainer *t, const float *O, const float *B, nlcl_losses *out) {
    nlcl_losses L;
    if (t->iter < t->cfg.warmup) {
        NLCL_TRY(warmup_step(t, B, nlcl_trainer_lr(t, t->iter + 1), &L));
        if (out) *out = L;
        return NLCL_OK;
    }
    nlcl_rng_seed(&t->rng, t->cfg.seed, 1000 + (uint64_t)t->iter);
    double lr = nlcl_trainer_lr(t, t->iter + 1);
    const size_t share = (size_t)t->b0 * 3 * t->H * t->W; /* this rank's images */
    double ld = 0;
    t->stepped_d = 0;
    nlcl_status s = forward(t, O + share, B + share, B);
    if (s == NLCL_OK) s = nlcl_trainer_d_grads(t, &ld);
    if (t->comm) /* agree, then average over the ranks */
        NLCL_TRY(nlcl_dist_share(t->comm, t, s, t->stop, "in the forward passes or D's gradient", &ld, NLCL_DIST_D));
    NLCL_TRY(s);
    NLCL_TRY(check_finite(t, nlcl_loss_name(NLCL_LOSS_D), ld));
    NLCL_TRY(check_grads(t, NLCL_NET_D));
    adam(t, NLCL_NET_D, lr);
    t->stepped_d = 1;
    s = nlcl_trainer_g_grads(t, &L);
    if (t->comm) NLCL_TRY(nlcl_dist_share(t->comm, t, s, NULL, "in the G step", NULL, NLCL_DIST_G));
    if (t->comm) NLCL_TRY(nlcl_dist_mean_losses(t->comm, &L));
    NLCL_TRY(s);
    L.D = ld;
    for (int k = NLCL_LOSS_GAN; k < NLCL_LOSS_COUNT; k++)
        NLCL_TRY(check_finite(t, nlcl_loss_name((nlcl_loss_term)k), nlcl_loss_get(&L, (nlcl_loss_term)k)));
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (id != NLCL_NET_D && nlcl_net_trainable((nlcl_net_id)id)) NLCL_TRY(check_grads(t, (nlcl_net_id)id));
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (id != NLCL_NET_D && nlcl_net_trainable((nlcl_net_id)id)) adam(t, (nlcl_net_id)id, lr);
    averages(t);
    t->iter++;
    t->stepped_d = 0;
    if (out) *out = L;
    return NLCL_OK;
}

int nlcl_trainer_intact(const nlcl_trainer *t) { return !t->stepped_d; }
void nlcl_trainer_set_stop(nlcl_trainer *t, volatile sig_atomic_t *stop) { t->stop = stop; }

nlcl_status nlcl_trainer_replan(nlcl_trainer *t) {
    const int full = t->gpl.records;
    nlcl_gen_plans_free(&t->gpl);
    return nlcl_gen_plans_init(&t->gpl, &t->gb.cfg, t->n, t->H, t->W, full);
}
