/* The NLCL trainer: networks, one iteration, checkpoints (include/nlcl/train.h,
 * docs/TRAINING.md). */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "nlcl/model.h"
#include "nlcl/ops.h"
#include "nlcl/synth.h"
#include "train/losses.h"
#include "train/sampler.h"

const char *const nlcl_net_names[NLCL_NET_COUNT] = {"G_B", "G_R", "D", "H_loc",
                                                     "H_B", "H_R", "G_key", "H_key"};

struct nlcl_trainer {
    nlcl_train_config cfg;
    int n, H, W, D;      /* batch, crop, head width */
    int nloc_max_tap;    /* deepest G_B tap */
    int use_gr, use_loc, use_layer, use_key;
    nlcl_gen gb, gr, gkey;
    nlcl_disc d;
    nlcl_heads hloc, hkey, hb, hr;
    /* records */
    nlcl_gen_plans gpl;
    nlcl_gen_bwd_ws gws;
    nlcl_gen_record r_gbO, r_grO, r_gbB, r_q, r_k, r_syn;
    nlcl_disc_record r_d2, r_dB, r_dR;
    nlcl_head_record hq[NLCL_MAX_LOC_TAPS], hk, hbr[NLCL_DISC_NTAPS], hrr[NLCL_DISC_NTAPS];
    /* buffers */
    const float *O, *B;
    float *dcat, *d_predB, *d_predR, *d_idt, *d_dout;
    int32_t *ids_loc, *ids_B, *ids_R, *ids_tapB, *ids_tapR;
    float *zcat, *dzcat, *dzB, *dzR, *dzq, *work, *syn_O, *d_syn;
    const int32_t *inj_locO, *inj_locB, *inj_B, *inj_R;
    int64_t iter;
    double search_s;
    nlcl_rng rng;
};

/* ------------------------------------------------------------ configuration */

void nlcl_train_config_preset(nlcl_train_config *c, nlcl_preset p) {
    memset(c, 0, sizeof *c);
    c->gen_channels = 32;
    c->gen_blocks = 16;
    c->ndf = 64;
    c->rain_generator = 1;
    c->crop = 256;
    c->batch = 4;
    c->iters = 10000;
    c->decay_iters = -1;
    c->lr = 1e-4;
    c->beta1 = 0.5;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->w_gan = 1;
    c->w_loc = 1;
    c->w_layer = 1;
    c->w_cons = 1;
    c->w_sp = 0.1;
    c->sparsity_code = 0;
    c->w_eroded = 0;
    c->erosion = 7;
    c->w_synth = 0;
    c->idt = 1;
    c->tau = 0.07;
    c->momentum = 0.99;
    c->n_loc = 256;
    c->n_pos = 8;
    c->n_neg = 256;
    c->head_dim = NLCL_HEAD_DIM;
    c->loc_sampling = NLCL_SAMPLING_FARTHEST;
    c->pos_sampling = NLCL_SAMPLING_NEAREST;
    c->neg_sampling = NLCL_SAMPLING_NEAREST;
    const int taps[5] = {0, 2, 4, 8, 12};
    memcpy(c->loc_taps, taps, sizeof taps);
    c->n_loc_taps = 5;
    c->seed = 1;
    if (p == NLCL_PRESET_OFFICIAL) {
        c->batch = 1;
        c->lr = 2e-4;
        c->n_neg = 128;
        c->loc_sampling = NLCL_SAMPLING_NEAREST;
        c->momentum = 0;
        c->sparsity_code = 1;
    } else if (p == NLCL_PRESET_CUT) {
        c->batch = 1;
        c->lr = 2e-4;
        c->rain_generator = 0;
        c->w_layer = 0;
        c->w_cons = 0;
        c->w_sp = 0;
        c->loc_sampling = NLCL_SAMPLING_RANDOM;
        c->momentum = 0;
    }
}

const char *const nlcl_ablation_names[] = {
    "t2-random-random", "t2-neighbour-random", "t2-neighbour-neighbour", "t2-nonlocal-random",
    "t2-random-nonlocal", "t2-nonlocal-nonlocal", "t4-posP-negN (P in 4,8,16,32; N in 64,128,256,512)",
    "t5-random-sampling", "t5-n64", "t5-n128", "t5-n512", "t6-no-adv", "t6-no-l1", "t6-no-loc",
    "t6-no-layer", NULL};

static int sampling_word(const char *w, size_t n, nlcl_sampling *out) {
    if (n == 6 && !strncmp(w, "random", 6)) *out = NLCL_SAMPLING_RANDOM;
    else if (n == 9 && !strncmp(w, "neighbour", 9)) *out = NLCL_SAMPLING_NEIGHBOUR;
    else if (n == 8 && !strncmp(w, "nonlocal", 8)) *out = NLCL_SAMPLING_NEAREST;
    else return 0;
    return 1;
}

nlcl_status nlcl_train_config_ablation(nlcl_train_config *c, const char *name) {
    if (!strncmp(name, "t2-", 3)) {
        const char *a = name + 3, *dash = strchr(a, '-');
        if (dash && sampling_word(a, (size_t)(dash - a), &c->pos_sampling) &&
            sampling_word(dash + 1, strlen(dash + 1), &c->neg_sampling))
            return NLCL_OK;
    } else if (!strncmp(name, "t4-pos", 6)) {
        int p = 0, n = 0;
        char tail;
        if (sscanf(name, "t4-pos%d-neg%d%c", &p, &n, &tail) == 2 && (p == 4 || p == 8 || p == 16 || p == 32) &&
            (n == 64 || n == 128 || n == 256 || n == 512)) {
            c->n_pos = p;
            c->n_neg = n;
            return NLCL_OK;
        }
    } else if (!strcmp(name, "t5-random-sampling")) {
        c->loc_sampling = NLCL_SAMPLING_RANDOM;
        return NLCL_OK;
    } else if (!strcmp(name, "t5-n64") || !strcmp(name, "t5-n128") || !strcmp(name, "t5-n512")) {
        c->n_loc = atoi(name + 4);
        return NLCL_OK;
    } else if (!strcmp(name, "t6-no-adv")) {
        c->w_gan = 0;
        return NLCL_OK;
    } else if (!strcmp(name, "t6-no-l1")) {
        c->w_sp = 0;
        return NLCL_OK;
    } else if (!strcmp(name, "t6-no-loc")) {
        c->w_loc = 0;
        return NLCL_OK;
    } else if (!strcmp(name, "t6-no-layer")) {
        c->w_layer = 0;
        return NLCL_OK;
    }
    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                          "train: unknown ablation '%s' (see 'nlcl train --help' for the names)", name);
}

nlcl_status nlcl_train_config_check(const nlcl_train_config *c) {
#define BAD(...) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "train: " __VA_ARGS__)
    if (c->gen_channels < 1 || c->gen_channels > NLCL_GEN_MAX_CHANNELS)
        BAD("channels must be in [1, %d]", NLCL_GEN_MAX_CHANNELS);
    if (c->gen_blocks < 0 || c->gen_blocks > NLCL_GEN_MAX_BLOCKS)
        BAD("blocks must be in [0, %d]", NLCL_GEN_MAX_BLOCKS);
    if (c->ndf < 1 || c->ndf > 512) BAD("ndf must be in [1, 512]");
    int cw = c->crop_w ? c->crop_w : c->crop;
    if (c->crop < NLCL_MIN_SEARCH_SIZE || cw < NLCL_MIN_SEARCH_SIZE)
        BAD("crop %dx%d is below the minimum of %d", cw, c->crop, NLCL_MIN_SEARCH_SIZE);
    if (c->crop > 4096 || cw > 4096) BAD("crop %dx%d is above the maximum of 4096", cw, c->crop);
    if (c->head_dim < 1 || c->head_dim > 4096) BAD("head_dim must be in [1, 4096]");
    if (c->batch < 1 || c->batch > 256) BAD("batch must be in [1, 256]");
    if (c->iters < 0) BAD("iters must be >= 0");
    if (!(c->lr > 0) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(c->eps > 0))
        BAD("Adam needs lr > 0, betas in [0, 1) and eps > 0");
    const double w[5] = {c->w_gan, c->w_loc, c->w_layer, c->w_cons, c->w_sp};
    for (int i = 0; i < 5; i++)
        if (!(w[i] >= 0) || !isfinite(w[i])) BAD("loss weights must be finite and >= 0");
    if (!(c->w_eroded >= 0) || !isfinite(c->w_eroded) || !(c->w_synth >= 0) || !isfinite(c->w_synth))
        BAD("loss weights must be finite and >= 0");
    if (c->erosion < 1 || c->erosion > 63) BAD("the erosion window must be in [1, 63] pixels");
    if (c->w_eroded > 0 && c->erosion > NLCL_MIN(c->crop, cw))
        BAD("the erosion window (%d) is larger than the crop (%d)", c->erosion, NLCL_MIN(c->crop, cw));
    if (c->batch * 3 > NLCL_MAX_PLANES_SUM) BAD("batch must be at most %d", NLCL_MAX_PLANES_SUM / 3);
    if (!(c->tau > 0)) BAD("tau must be > 0");
    if (!(c->momentum >= 0 && c->momentum < 1)) BAD("momentum must be in [0, 1)");
    if (c->w_loc > 0) {
        if (c->n_loc_taps < 1 || c->n_loc_taps > NLCL_MAX_LOC_TAPS)
            BAD("between 1 and %d location-contrast taps are needed", NLCL_MAX_LOC_TAPS);
        for (int i = 0; i < c->n_loc_taps; i++)
            if (c->loc_taps[i] < 0 || c->loc_taps[i] > c->gen_blocks)
                BAD("location tap %d is outside 0..%d (the generator's blocks)", c->loc_taps[i],
                    c->gen_blocks);
        if (c->n_loc < 2) BAD("N (location samples) must be >= 2");
        int cand = c->loc_sampling == NLCL_SAMPLING_RANDOM ? c->crop * cw
                                                             : nlcl_search_min_candidates(c->crop, cw);
        if (c->n_loc > cand)
            BAD("N = %d exceeds the %d candidates of the search at crop %d", c->n_loc, cand, c->crop);
    }
    if (c->rain_generator && c->w_layer > 0) {
        if (c->n_pos < 2 || c->n_neg < 2) BAD("N_B and N_R must be >= 2");
        int cb = c->pos_sampling == NLCL_SAMPLING_RANDOM ? c->crop * cw
                                                          : nlcl_search_min_candidates(c->crop, cw);
        int cr = c->neg_sampling == NLCL_SAMPLING_RANDOM ? c->crop * cw
                                                          : nlcl_search_min_candidates(c->crop, cw);
        if (c->n_pos > cb || c->n_neg > cr)
            BAD("N_B = %d / N_R = %d exceed the search candidates at crop %d", c->n_pos, c->n_neg,
                c->crop);
    }
    if (!c->rain_generator && (c->w_layer > 0 || c->w_cons > 0 || (c->w_sp > 0 && !c->sparsity_code)))
        BAD("without G_R the layer contrast, consistency and rain sparsity must be off");
#undef BAD
    return NLCL_OK;
}

char *nlcl_train_config_describe(const nlcl_train_config *c) {
    static const char *const sn[4] = {"nearest", "farthest", "random", "neighbour"};
    char taps[64] = "";
    size_t k = 0;
    for (int i = 0; i < c->n_loc_taps && k < sizeof taps; i++)
        k += (size_t)snprintf(taps + k, sizeof taps - k, "%s%d", i ? "," : "", c->loc_taps[i]);
    char *s = malloc(2048);
    if (!s) return NULL;
    snprintf(s, 2048,
             "channels %d\nblocks %d\nresidual %d\nndf %d\nrain_generator %d\ncrop %d\ncrop_w %d\nbatch %d\n"
             "iters %lld\nhead_dim %d\n"
             "decay_iters %lld\nlr %.12g\nbeta1 %.12g\nbeta2 %.12g\neps %.12g\nw_gan %.12g\n"
             "w_loc %.12g\nw_layer %.12g\nw_cons %.12g\nw_sp %.12g\nsparsity %s\nidt %d\n"
             "tau %.12g\nmomentum %.12g\nn_loc %d\nn_pos %d\nn_neg %d\nloc_sampling %s\n"
             "pos_sampling %s\nneg_sampling %s\nloc_taps %s\nseed %llu\n",
             c->gen_channels, c->gen_blocks, c->residual, c->ndf, c->rain_generator, c->crop, c->crop_w,
             c->batch, (long long)c->iters, c->head_dim, (long long)c->decay_iters, c->lr, c->beta1, c->beta2, c->eps,
             c->w_gan, c->w_loc, c->w_layer, c->w_cons, c->w_sp, c->sparsity_code ? "code" : "paper",
             c->idt, c->tau, c->momentum, c->n_loc, c->n_pos, c->n_neg, sn[c->loc_sampling & 3],
             sn[c->pos_sampling & 3], sn[c->neg_sampling & 3], taps,
             (unsigned long long)c->seed);
    /* options added later are listed only when used, so that older
       checkpoints (which lack them) still resume */
    if (c->w_eroded > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "w_eroded %.12g\nerosion %d\n", c->w_eroded, c->erosion);
    }
    if (c->w_synth > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "w_synth %.12g\n", c->w_synth);
    }
    return s;
}

/* --------------------------------------------------------------- creation */

nlcl_params *nlcl_trainer_params(nlcl_trainer *t, nlcl_net_id id) {
    switch (id) {
    case NLCL_NET_GB: return &t->gb.params;
    case NLCL_NET_GR: return t->use_gr ? &t->gr.params : NULL;
    case NLCL_NET_D: return &t->d.params;
    case NLCL_NET_HLOC: return t->use_loc ? &t->hloc.params : NULL;
    case NLCL_NET_HB: return t->use_layer ? &t->hb.params : NULL;
    case NLCL_NET_HR: return t->use_layer ? &t->hr.params : NULL;
    case NLCL_NET_GKEY: return t->use_key ? &t->gkey.params : NULL;
    case NLCL_NET_HKEY: return t->use_key ? &t->hkey.params : NULL;
    default: return NULL;
    }
}

/* trainable networks (have Adam state) */
static int trainable(nlcl_net_id id) { return id != NLCL_NET_GKEY && id != NLCL_NET_HKEY; }

void nlcl_trainer_free(nlcl_trainer *t) {
    if (!t) return;
    nlcl_gen_free(&t->gb);
    nlcl_gen_free(&t->gr);
    nlcl_gen_free(&t->gkey);
    nlcl_disc_free(&t->d);
    nlcl_heads_free(&t->hloc);
    nlcl_heads_free(&t->hkey);
    nlcl_heads_free(&t->hb);
    nlcl_heads_free(&t->hr);
    nlcl_gen_plans_free(&t->gpl);
    nlcl_gen_bwd_ws_free(&t->gws);
    nlcl_gen_record_free(&t->r_gbO);
    nlcl_gen_record_free(&t->r_grO);
    nlcl_gen_record_free(&t->r_gbB);
    nlcl_gen_record_free(&t->r_q);
    nlcl_gen_record_free(&t->r_k);
    nlcl_gen_record_free(&t->r_syn);
    nlcl_disc_record_free(&t->r_d2);
    nlcl_disc_record_free(&t->r_dB);
    nlcl_disc_record_free(&t->r_dR);
    for (int i = 0; i < NLCL_MAX_LOC_TAPS; i++) nlcl_head_record_free(&t->hq[i]);
    nlcl_head_record_free(&t->hk);
    for (int i = 0; i < NLCL_DISC_NTAPS; i++) {
        nlcl_head_record_free(&t->hbr[i]);
        nlcl_head_record_free(&t->hrr[i]);
    }
    void *bufs[] = {t->dcat, t->d_predB, t->d_predR, t->d_idt, t->d_dout, t->ids_loc, t->ids_B,
                    t->ids_R, t->ids_tapB, t->ids_tapR, t->zcat, t->dzcat, t->dzB, t->dzR,
                    t->dzq, t->work, t->syn_O, t->d_syn};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) nlcl_free(bufs[i]);
    free(t);
}

static nlcl_status create(nlcl_trainer *t) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n, H = t->H, W = t->W, D = t->D;
    nlcl_gen_cfg gc = {c->gen_channels, c->gen_blocks, c->residual};
    nlcl_gen_cfg gcr = {c->gen_channels, c->gen_blocks, 0}; /* G_R predicts the rain layer itself */
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
        NLCL_TRY(nlcl_heads_init(&t->hr, NLCL_DISC_NTAPS, cin, D));
        nlcl_heads_init_weights(&t->hr, &init);
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
        if (p && trainable((nlcl_net_id)id)) NLCL_TRY(nlcl_params_alloc_training(p));
    }
    /* records and buffers */
    NLCL_TRY(nlcl_gen_plans_init(&t->gpl, &gc, n, H, W));
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
            NLCL_TRY(nlcl_head_record_init(&t->hrr[i], &t->hr, i, n * c->n_neg));
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
    *out = NULL;
    NLCL_TRY(nlcl_train_config_check(cfg));
    nlcl_trainer *t = calloc(1, sizeof *t);
    if (!t) return nlcl_error_set(NLCL_ERR_NOMEM, "train: out of memory");
    t->cfg = *cfg;
    t->n = cfg->batch;
    t->H = cfg->crop;
    t->W = cfg->crop_w ? cfg->crop_w : cfg->crop;
    t->D = cfg->head_dim;
    t->use_gr = cfg->rain_generator;
    t->use_loc = cfg->w_loc > 0;
    t->use_layer = cfg->rain_generator && cfg->w_layer > 0;
    t->use_key = t->use_loc && cfg->momentum > 0;
    t->nloc_max_tap = 0;
    for (int i = 0; i < cfg->n_loc_taps; i++)
        if (cfg->loc_taps[i] > t->nloc_max_tap) t->nloc_max_tap = cfg->loc_taps[i];
    nlcl_status s = create(t);
    if (s != NLCL_OK) {
        if (s == NLCL_ERR_NOMEM)
            nlcl_error_prefix(s, "train: not enough memory for crop %d, batch %d: ", cfg->crop,
                              cfg->batch);
        nlcl_trainer_free(t);
        return s;
    }
    *out = t;
    return NLCL_OK;
}

int64_t nlcl_trainer_iteration(const nlcl_trainer *t) { return t->iter; }
double nlcl_trainer_search_seconds(const nlcl_trainer *t) { return t->search_s; }
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

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* k samples for each image of map x, or the injected ones. */
static nlcl_status sample(nlcl_trainer *t, const float *x, int c, int h, int w, nlcl_layout l,
                          nlcl_sampling mode, int k, const int32_t *inj, int32_t *ids) {
    if (inj) {
        memcpy(ids, inj, sizeof(int32_t) * (size_t)t->n * k);
        return NLCL_OK;
    }
    double t0 = now_s();
    for (int b = 0; b < t->n; b++)
        NLCL_TRY(nlcl_search(x, t->n, c, h, w, l, b, (nlcl_sample_mode)mode, k, &t->rng, -1, -1,
                             ids + (size_t)b * k, NULL, NULL, NULL));
    t->search_s += now_s() - t0;
    return NLCL_OK;
}

nlcl_status nlcl_trainer_forward(nlcl_trainer *t, const float *O, const float *B) {
    t->O = O;
    t->B = B;
    NLCL_TRY(nlcl_gen_forward(&t->gb, &t->gpl, &t->r_gbO, O));
    if (t->use_gr) NLCL_TRY(nlcl_gen_forward(&t->gr, &t->gpl, &t->r_grO, O));
    if (t->use_loc && t->cfg.idt) NLCL_TRY(nlcl_gen_forward(&t->gb, &t->gpl, &t->r_gbB, B));
    if (t->cfg.w_synth > 0) {
        /* B + synthetic rain, from its own stream of iteration t */
        nlcl_rng r;
        nlcl_rng_seed(&r, t->cfg.seed, ((uint64_t)3 << 32) + (uint64_t)t->iter);
        const nlcl_rain_params rp = {{0.002, 0.016}, {10, 40}, {-30, 30}, {0.4, 1.2}, {0.3, 0.8}, {0, 0}};
        size_t one = (size_t)3 * t->H * t->W;
        for (int b = 0; b < t->n; b++) {
            nlcl_image clean = {t->W, t->H, (float *)B + b * one}, rainy = {0};
            NLCL_TRY(nlcl_synth_rain(&clean, &rp, &r, &rainy));
            memcpy(t->syn_O + b * one, rainy.data, one * sizeof(float));
            nlcl_image_free(&rainy);
        }
        NLCL_TRY(nlcl_gen_forward(&t->gb, &t->gpl, &t->r_syn, t->syn_O));
    }
    return NLCL_OK;
}

nlcl_status nlcl_trainer_d_grads(nlcl_trainer *t, double *loss_d) {
    size_t img = (size_t)t->n * 3 * t->H * t->W;
    memcpy(t->dcat, t->r_gbO.out, img * sizeof(float));
    memcpy(t->dcat + img, t->B, img * sizeof(float));
    memset(t->d.params.grad, 0, t->d.params.total * sizeof(float));
    NLCL_TRY(nlcl_disc_forward(&t->d, &t->r_d2, t->dcat));
    size_t half = (size_t)t->n * t->r_d2.geo.out_h * t->r_d2.geo.out_w;
    const float *out = t->r_d2.out;
    double lf = nlcl_mse_const_forward(out, 0.0f, half);
    double lr = nlcl_mse_const_forward(out + half, 1.0f, half);
    *loss_d = 0.5 * (lf + lr);
    memset(t->d_dout, 0, 2 * half * sizeof(float));
    nlcl_mse_const_backward(out, 0.0f, half, 0.5f, t->d_dout);
    nlcl_mse_const_backward(out + half, 1.0f, half, 0.5f, t->d_dout + half);
    return nlcl_disc_backward(&t->d, &t->r_d2, t->d_dout, NULL, 0, NULL, 1);
}

/* Location contrast NCE(src, tgt) (docs/TRAINING.md): keys from the key
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
        for (int b = 0; b < n; b++)
            total += nlcl_patchnce(t->hq[i].z + (size_t)b * N * D, t->hk.z + (size_t)b * N * D, N, D,
                                   (float)c->tau, g / (float)(T * n), t->dzq + (size_t)b * N * D,
                                   t->work);
        nlcl_head_backward(&t->hloc, &t->hq[i], t->dzq, 1);
        tg[i].xi = xi;
        tg[i].k = N;
        tg[i].ids = t->ids_loc;
        tg[i].drows = t->hq[i].drows;
    }
    *loss = total / (T * n);
    return nlcl_gen_backward(&t->gb, &t->gpl, &t->r_q, &t->gws, NULL, tg, T, d_tgt, 1);
}

/* Layer contrast (docs/TRAINING.md): D taps of pred_B (record r_dB, already
 * run) and pred_R (r_dR, run here). Adds sparse tap gradients to tgB/tgR. */
static nlcl_status layer_contrast(nlcl_trainer *t, float g, nlcl_disc_tap_grad *tgB,
                                  nlcl_disc_tap_grad *tgR, double *loss) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n, NB = c->n_pos, NR = c->n_neg, D = t->D, M = NB + NR;
    const float *predB = t->r_gbO.out, *predR = t->r_grO.out;
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
        nlcl_head_forward(&t->hr, &t->hrr[tp], n * NR);
        for (int b = 0; b < n; b++) {
            memcpy(t->zcat, t->hbr[tp].z + (size_t)b * NB * D, sizeof(float) * (size_t)NB * D);
            memcpy(t->zcat + (size_t)NB * D, t->hrr[tp].z + (size_t)b * NR * D,
                   sizeof(float) * (size_t)NR * D);
            memset(t->dzcat, 0, sizeof(float) * (size_t)M * D);
            total += nlcl_supcon(t->zcat, M, NB, D, (float)c->tau, g / (float)(NLCL_DISC_NTAPS * n),
                                 t->dzcat, t->work);
            memcpy(t->dzB + (size_t)b * NB * D, t->dzcat, sizeof(float) * (size_t)NB * D);
            memcpy(t->dzR + (size_t)b * NR * D, t->dzcat + (size_t)NB * D, sizeof(float) * (size_t)NR * D);
        }
        nlcl_head_backward(&t->hb, &t->hbr[tp], t->dzB, 1);
        nlcl_head_backward(&t->hr, &t->hrr[tp], t->dzR, 1);
        tgB[tp] = (nlcl_disc_tap_grad){tp, NB, idb, t->hbr[tp].drows};
        tgR[tp] = (nlcl_disc_tap_grad){tp, NR, idr, t->hrr[tp].drows};
    }
    *loss = total / (NLCL_DISC_NTAPS * n);
    return NLCL_OK;
}

static void zero_grads(nlcl_params *p) {
    if (p && p->grad) memset(p->grad, 0, p->total * sizeof(float));
}

nlcl_status nlcl_trainer_g_grads(nlcl_trainer *t, nlcl_losses *L) {
    const nlcl_train_config *c = &t->cfg;
    const int n = t->n;
    const size_t img = (size_t)n * 3 * t->H * t->W;
    const float *predB = t->r_gbO.out, *predR = t->use_gr ? t->r_grO.out : NULL;
    memset(L, 0, sizeof *L);
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (id != NLCL_NET_D && trainable((nlcl_net_id)id)) zero_grads(nlcl_trainer_params(t, (nlcl_net_id)id));
    memset(t->d_predB, 0, img * sizeof(float));
    if (t->use_gr) memset(t->d_predR, 0, img * sizeof(float));
    /* D on pred_B: GAN and the layer contrast's B taps */
    nlcl_disc_tap_grad tgB[NLCL_DISC_NTAPS], tgR[NLCL_DISC_NTAPS];
    int ntap = 0;
    const float *d_out = NULL;
    if (c->w_gan > 0 || t->use_layer) NLCL_TRY(nlcl_disc_forward(&t->d, &t->r_dB, predB));
    if (c->w_gan > 0) {
        size_t cnt = (size_t)n * t->r_dB.geo.out_h * t->r_dB.geo.out_w;
        L->gan = nlcl_mse_const_forward(t->r_dB.out, 1.0f, cnt);
        memset(t->d_dout, 0, cnt * sizeof(float));
        nlcl_mse_const_backward(t->r_dB.out, 1.0f, cnt, (float)c->w_gan, t->d_dout);
        d_out = t->d_dout;
    }
    if (t->use_layer) {
        NLCL_TRY(layer_contrast(t, (float)c->w_layer, tgB, tgR, &L->layer));
        ntap = NLCL_DISC_NTAPS;
        NLCL_TRY(nlcl_disc_backward(&t->d, &t->r_dR, NULL, tgR, ntap, t->d_predR, 0));
    }
    if (c->w_gan > 0 || t->use_layer)
        NLCL_TRY(nlcl_disc_backward(&t->d, &t->r_dB, d_out, tgB, ntap, t->d_predB, 0));
    /* location contrast: NCE(O, pred_B) (+ NCE(B, G_B(B))) */
    if (t->use_loc) {
        float f = c->idt ? 0.5f : 1.0f;
        double l1 = 0, l2 = 0;
        const nlcl_gen_record *kO = &t->r_gbO;
        if (t->use_key) {
            NLCL_TRY(nlcl_gen_forward(&t->gkey, &t->gpl, &t->r_k, t->O));
            kO = &t->r_k;
        }
        NLCL_TRY(loc_contrast(t, kO, predB, t->inj_locO, (float)c->w_loc * f, t->d_predB, &l1));
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
    }
    /* consistency ||B + R - O||^2 (mean) and sparsity */
    if (t->use_gr && c->w_cons > 0) {
        /* r = pred_B + pred_R - O in the dcat buffer (free now) */
        float *r = t->dcat;
        nlcl_add(predB, predR, r, img);
        nlcl_sub(r, t->O, r, img);
        L->cons = nlcl_mse_const_forward(r, 0.0f, img);
        float gsc = (float)(2.0 * c->w_cons / (double)img);
        nlcl_axpy(gsc, r, t->d_predB, img);
        nlcl_axpy(gsc, r, t->d_predR, img);
    }
    if (c->w_sp > 0) {
        if (c->sparsity_code) {
            L->sp = nlcl_l1_forward(predB, t->O, img);
            nlcl_l1_backward(predB, t->O, img, (float)c->w_sp, t->d_predB, NULL);
        } else {
            L->sp = nlcl_l1_forward(predR, NULL, img);
            nlcl_l1_backward(predR, NULL, img, (float)c->w_sp, t->d_predR, NULL);
        }
    }
    if (c->w_eroded > 0) {
        L->eroded = nlcl_eroded_l1_forward(predB, t->O, n * 3, t->H, t->W, c->erosion);
        nlcl_eroded_l1_backward(predB, t->O, n * 3, t->H, t->W, c->erosion, (float)c->w_eroded,
                                t->d_predB);
    }
    if (c->w_synth > 0) {
        L->synth = nlcl_l1_forward(t->r_syn.out, t->B, img);
        memset(t->d_syn, 0, img * sizeof(float));
        nlcl_l1_backward(t->r_syn.out, t->B, img, (float)c->w_synth, t->d_syn, NULL);
    }
    L->G = c->w_gan * L->gan + c->w_loc * L->loc + c->w_layer * L->layer + c->w_cons * L->cons +
           c->w_sp * L->sp + c->w_eroded * L->eroded + c->w_synth * L->synth;
    /* back through the generators */
    NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_gbO, &t->gws, t->d_predB, NULL, 0, NULL, 1));
    if (t->use_gr)
        NLCL_TRY(nlcl_gen_backward(&t->gr, &t->gpl, &t->r_grO, &t->gws, t->d_predR, NULL, 0, NULL, 1));
    if (t->use_loc && c->idt)
        NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_gbB, &t->gws, t->d_idt, NULL, 0, NULL, 1));
    if (c->w_synth > 0)
        NLCL_TRY(nlcl_gen_backward(&t->gb, &t->gpl, &t->r_syn, &t->gws, t->d_syn, NULL, 0, NULL, 1));
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
                              "train: loss term '%s' is %s at iteration %lld; stopping (the last "
                              "good checkpoint is kept)",
                              term, isnan(v) ? "NaN" : "infinite", (long long)t->iter + 1);
    return NLCL_OK;
}

static nlcl_status check_grads(nlcl_trainer *t, nlcl_net_id id) {
    nlcl_params *p = nlcl_trainer_params(t, id);
    if (!p || !p->grad) return NLCL_OK;
    if (!all_finite(p->grad, p->total))
        return nlcl_error_set(NLCL_ERR_NONFINITE,
                              "train: the gradient of %s is not finite at iteration %lld; stopping "
                              "(the last good checkpoint is kept)",
                              nlcl_net_names[id], (long long)t->iter + 1);
    return NLCL_OK;
}

static void adam(nlcl_trainer *t, nlcl_params *p, double lr) {
    if (!p) return;
    nlcl_adam_cfg ac = {lr, t->cfg.beta1, t->cfg.beta2, t->cfg.eps};
    nlcl_adam_step(p->data, p->grad, p->adam_m, p->adam_v, p->total, &ac, t->iter + 1);
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

nlcl_status nlcl_trainer_step(nlcl_trainer *t, const float *O, const float *B, nlcl_losses *out) {
    nlcl_losses L;
    nlcl_rng_seed(&t->rng, t->cfg.seed, 1000 + (uint64_t)t->iter);
    double lr = nlcl_trainer_lr(t, t->iter + 1);
    NLCL_TRY(nlcl_trainer_forward(t, O, B));
    double ld;
    NLCL_TRY(nlcl_trainer_d_grads(t, &ld));
    NLCL_TRY(check_finite(t, "D", ld));
    NLCL_TRY(check_grads(t, NLCL_NET_D));
    adam(t, &t->d.params, lr);
    NLCL_TRY(nlcl_trainer_g_grads(t, &L));
    L.D = ld;
    NLCL_TRY(check_finite(t, "gan", L.gan));
    NLCL_TRY(check_finite(t, "loc", L.loc));
    NLCL_TRY(check_finite(t, "layer", L.layer));
    NLCL_TRY(check_finite(t, "cons", L.cons));
    NLCL_TRY(check_finite(t, "sparsity", L.sp));
    NLCL_TRY(check_finite(t, "eroded", L.eroded));
    NLCL_TRY(check_finite(t, "synth", L.synth));
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (id != NLCL_NET_D && trainable((nlcl_net_id)id)) NLCL_TRY(check_grads(t, (nlcl_net_id)id));
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (id != NLCL_NET_D && trainable((nlcl_net_id)id)) adam(t, nlcl_trainer_params(t, (nlcl_net_id)id), lr);
    if (t->use_key) {
        ema(&t->gkey.params, &t->gb.params, t->cfg.momentum);
        ema(&t->hkey.params, &t->hloc.params, t->cfg.momentum);
    }
    t->iter++;
    if (out) *out = L;
    return NLCL_OK;
}

/* ------------------------------------------------------------- checkpoints */

nlcl_status nlcl_trainer_save(const nlcl_trainer *t, const char *path) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    char key[128], val[64];
    nlcl_status s = NLCL_OK;
    char *desc = nlcl_train_config_describe(&t->cfg);
    if (!desc) return nlcl_error_set(NLCL_ERR_NOMEM, "checkpoint: out of memory");
    s = nlcl_tensor_dict_set_meta(&d, "format", "nlcl-checkpoint-1");
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "config", desc);
    free(desc);
    snprintf(val, sizeof val, "%lld", (long long)t->iter);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "iteration", val);
    /* The RNG of iteration i is PCG32 seeded with (seed, stream 1000 + i):
     * record the state the next iteration starts from. */
    nlcl_rng next;
    nlcl_rng_seed(&next, t->cfg.seed, 1000 + (uint64_t)t->iter);
    snprintf(val, sizeof val, "%llu %llu", (unsigned long long)next.state, (unsigned long long)next.inc);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "rng_state", val);
    /* the convolution algorithms this process measured (conv.h): a resumed
     * run computes with the same ones */
    char algos[4096];
    if (s == NLCL_OK && nlcl_conv2d_choices_export(algos, sizeof algos) < sizeof algos)
        s = nlcl_tensor_dict_set_meta(&d, "conv_algorithms", algos);
    for (int id = 0; s == NLCL_OK && id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params((nlcl_trainer *)t, (nlcl_net_id)id);
        if (!p) continue;
        snprintf(key, sizeof key, "%s.", nlcl_net_names[id]);
        s = nlcl_params_block_to_dict(p, p->data, key, &d);
        if (s == NLCL_OK && trainable((nlcl_net_id)id)) {
            snprintf(key, sizeof key, "%s.adam_m.", nlcl_net_names[id]);
            s = nlcl_params_block_to_dict(p, p->adam_m, key, &d);
            snprintf(key, sizeof key, "%s.adam_v.", nlcl_net_names[id]);
            if (s == NLCL_OK) s = nlcl_params_block_to_dict(p, p->adam_v, key, &d);
        }
    }
    if (s == NLCL_OK) s = nlcl_safetensors_save(path, &d);
    nlcl_tensor_dict_free(&d);
    return s;
}

nlcl_status nlcl_trainer_load(nlcl_trainer *t, const char *path) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    NLCL_TRY(nlcl_safetensors_load(path, &d));
    nlcl_status s = NLCL_OK;
    char what[1100], key[128];
    snprintf(what, sizeof what, "checkpoint: %s", path);
    const char *fmt = nlcl_tensor_dict_get_meta(&d, "format");
    const char *cfg = nlcl_tensor_dict_get_meta(&d, "config");
    const char *it = nlcl_tensor_dict_get_meta(&d, "iteration");
    char *desc = nlcl_train_config_describe(&t->cfg);
    if (!fmt || strcmp(fmt, "nlcl-checkpoint-1") != 0 || !cfg || !it) {
        s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: not an nlcl training checkpoint", what);
    } else if (!desc || strcmp(desc, cfg) != 0) {
        /* name the first differing option */
        const char *a = cfg, *b = desc ? desc : "";
        while (*a && *a == *b) a++, b++;
        while (a > cfg && a[-1] != '\n') a--, b--; /* back to the start of the line */
        const char *e = strchr(a, '\n'), *f = strchr(b, '\n');
        int la = e ? (int)(e - a) : (int)strlen(a), lb = f ? (int)(f - b) : (int)strlen(b);
        s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                           "%s: was made with a different configuration (checkpoint has '%.*s', "
                           "this command gives '%.*s'; an empty one is an option not used there); "
                           "resume with the same options",
                           what, la, a, lb, b);
    }
    free(desc);
    for (int id = 0; s == NLCL_OK && id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params(t, (nlcl_net_id)id);
        if (!p) continue;
        snprintf(key, sizeof key, "%s.", nlcl_net_names[id]);
        s = nlcl_params_block_from_dict(p, p->data, key, &d, what);
        if (s == NLCL_OK && trainable((nlcl_net_id)id)) {
            snprintf(key, sizeof key, "%s.adam_m.", nlcl_net_names[id]);
            s = nlcl_params_block_from_dict(p, p->adam_m, key, &d, what);
            snprintf(key, sizeof key, "%s.adam_v.", nlcl_net_names[id]);
            if (s == NLCL_OK) s = nlcl_params_block_from_dict(p, p->adam_v, key, &d, what);
        }
    }
    if (s == NLCL_OK) {
        char *end = NULL;
        long long v = strtoll(it, &end, 10);
        if (!end || *end || v < 0)
            s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: bad iteration '%s'", what, it);
        else
            t->iter = v;
    }
    /* the first run's convolution algorithms; the generator plans are made
     * again with them */
    const char *algos = nlcl_tensor_dict_get_meta(&d, "conv_algorithms");
    if (s == NLCL_OK && algos && *algos) {
        s = nlcl_conv2d_choices_import(algos);
        if (s == NLCL_OK) {
            nlcl_gen_plans_free(&t->gpl);
            s = nlcl_gen_plans_init(&t->gpl, &t->gb.cfg, t->n, t->H, t->W);
        }
    }
    nlcl_tensor_dict_free(&d);
    return s;
}

nlcl_status nlcl_trainer_model(const nlcl_trainer *t, const char *which, const char *const *keys,
                               const char *const *values, int nmeta, nlcl_model **out) {
    *out = NULL;
    const nlcl_gen *g = NULL;
    if (!strcmp(which, "G_B")) g = &t->gb;
    else if (!strcmp(which, "G_R") && t->use_gr) g = &t->gr;
    if (!g) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "train: no generator '%s' to export", which);
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    nlcl_status s = nlcl_params_to_dict(&g->params, "", &d);
    for (int i = 0; s == NLCL_OK && i < nmeta; i++) s = nlcl_tensor_dict_set_meta(&d, keys[i], values[i]);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "role", which);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "residual", g->cfg.residual ? "1" : "0");
    if (s == NLCL_OK) s = nlcl_model_from_dict(&d, which, out);
    nlcl_tensor_dict_free(&d);
    return s;
}

nlcl_status nlcl_trainer_export(const nlcl_trainer *t, const char *which, const char *path,
                                const char *const *keys, const char *const *values, int nmeta) {
    nlcl_model *m = NULL;
    nlcl_status s = nlcl_trainer_model(t, which, keys, values, nmeta, &m);
    if (s == NLCL_OK) s = nlcl_model_save(m, path);
    nlcl_model_free(m);
    return s;
}
