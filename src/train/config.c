/* The training configuration: presets, the paper's ablations, checks, the
 * one-line-per-option description, and the list of loss terms
 * (include/nlcl/train.h, docs/TRAINING.md). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/ops.h"
#include "nlcl/synth.h"
#include "nlcl/train.h"
#include "nn/generator.h"
#include "ops/conv_bf16.h"
#include "nn/heads.h"
#include "train/sampler.h"

const char *const nlcl_sampling_names[4] = {"nearest", "farthest", "random", "neighbour"};

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
    c->w_colour = 0;
    c->w_synth = 0;
    c->synth_rain = NLCL_RAIN_NPRESETS;
    c->synth_veil = 0;
    for (int k = 0; k < NLCL_RAIN_NPRESETS; k++) c->synth_mix[k] = 1;
    c->warmup = 0;
    c->ema = 0;
    c->idt = 1;
    c->tau = 0.07;
    c->momentum = 0.99;
    c->n_loc = 256;
    c->n_pos = 8;
    c->n_neg = 256;
    c->head_dim = NLCL_HEAD_DIM;
    /* the layer contrast's heads: one set for both layers, kept at their
       initial weights (docs/TRAINING.md, "The layer contrast's projection
       head": trained heads make the term constant within a few iterations) */
    c->layer_head = NLCL_LAYER_HEAD_SHARED;
    c->layer_head_frozen = 1;
    c->loc_sampling = NLCL_SAMPLING_FARTHEST;
    c->pos_sampling = NLCL_SAMPLING_NEAREST;
    c->neg_sampling = NLCL_SAMPLING_NEAREST;
    c->n_loc_taps = 0; /* the default taps (nlcl_train_config_taps) */
    c->seed = 1;
    if (p == NLCL_PRESET_OFFICIAL) {
        c->batch = 1;
        c->lr = 2e-4;
        c->n_neg = 128;
        c->loc_sampling = NLCL_SAMPLING_NEAREST;
        c->momentum = 0;
        c->sparsity_code = 1;
        c->layer_head = NLCL_LAYER_HEAD_SEPARATE; /* the released code's form, every head stepped */
        c->layer_head_frozen = 0;
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

int nlcl_train_config_taps(const nlcl_train_config *c, int taps[NLCL_MAX_LOC_TAPS]) {
    int k = 0;
    if (c->n_loc_taps > 0) {
        for (; k < c->n_loc_taps && k < NLCL_MAX_LOC_TAPS; k++) taps[k] = c->loc_taps[k];
        return k;
    }
    /* the default taps 0,2,4,8,12 that a generator of gen_blocks has */
    const int def[5] = {0, 2, 4, 8, 12};
    for (int i = 0; i < 5; i++)
        if (def[i] <= c->gen_blocks) taps[k++] = def[i];
    if (k < 2 && c->gen_blocks >= 1) taps[k++] = c->gen_blocks;
    return k;
}

/* ------------------------------------------------------------- loss terms */

/* Each term: its name, its field of nlcl_losses, its weight's field of
 * nlcl_train_config (SIZE_MAX: weight 1). */
static const struct {
    const char *name;
    size_t value, weight;
} terms[NLCL_LOSS_COUNT] = {
    [NLCL_LOSS_G] = {"G", offsetof(nlcl_losses, G), SIZE_MAX},
    [NLCL_LOSS_D] = {"D", offsetof(nlcl_losses, D), SIZE_MAX},
    [NLCL_LOSS_GAN] = {"gan", offsetof(nlcl_losses, gan), offsetof(nlcl_train_config, w_gan)},
    [NLCL_LOSS_LOC] = {"loc", offsetof(nlcl_losses, loc), offsetof(nlcl_train_config, w_loc)},
    [NLCL_LOSS_LAYER] = {"layer", offsetof(nlcl_losses, layer), offsetof(nlcl_train_config, w_layer)},
    [NLCL_LOSS_CONS] = {"cons", offsetof(nlcl_losses, cons), offsetof(nlcl_train_config, w_cons)},
    [NLCL_LOSS_SPARSITY] = {"sparsity", offsetof(nlcl_losses, sp), offsetof(nlcl_train_config, w_sp)},
    [NLCL_LOSS_ERODED] = {"eroded", offsetof(nlcl_losses, eroded), offsetof(nlcl_train_config, w_eroded)},
    [NLCL_LOSS_SYNTH] = {"synth", offsetof(nlcl_losses, synth), offsetof(nlcl_train_config, w_synth)},
    [NLCL_LOSS_COLOUR] = {"colour", offsetof(nlcl_losses, colour), offsetof(nlcl_train_config, w_colour)},
};

const char *nlcl_loss_name(nlcl_loss_term k) {
    return (unsigned)k < NLCL_LOSS_COUNT ? terms[k].name : NULL;
}

double nlcl_loss_get(const nlcl_losses *L, nlcl_loss_term k) {
    if (!L || (unsigned)k >= NLCL_LOSS_COUNT) return NAN;
    return *(const double *)((const char *)L + terms[k].value);
}

nlcl_status nlcl_loss_set(nlcl_losses *L, nlcl_loss_term k, double v) {
    NLCL_ARG_CHECK(L, "NULL argument");
    NLCL_ARG_CHECK((unsigned)k < NLCL_LOSS_COUNT, "unknown loss term %d", (int)k);
    *(double *)((char *)L + terms[k].value) = v;
    return NLCL_OK;
}

double nlcl_loss_weight(const nlcl_train_config *c, nlcl_loss_term k) {
    if (!c || (unsigned)k >= NLCL_LOSS_COUNT) return NAN;
    if (terms[k].weight == SIZE_MAX) return 1;
    return *(const double *)((const char *)c + terms[k].weight);
}

/* -------------------------------------------------------------- ablations */

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
    }
    /* Table 6: one loss term off */
    static const struct {
        const char *name;
        nlcl_loss_term term;
    } t6[] = {{"t6-no-adv", NLCL_LOSS_GAN}, {"t6-no-l1", NLCL_LOSS_SPARSITY},
              {"t6-no-loc", NLCL_LOSS_LOC}, {"t6-no-layer", NLCL_LOSS_LAYER}};
    for (size_t i = 0; i < sizeof t6 / sizeof *t6; i++)
        if (!strcmp(name, t6[i].name)) {
            *(double *)((char *)c + terms[t6[i].term].weight) = 0;
            return NLCL_OK;
        }
    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                          "unknown ablation '%s' (see 'nlcl train --help' for the names)", name);
}

nlcl_status nlcl_train_config_check(const nlcl_train_config *c) {
#define BAD(...) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "" __VA_ARGS__)
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
    if (c->layer_head != NLCL_LAYER_HEAD_SEPARATE && c->layer_head != NLCL_LAYER_HEAD_SHARED)
        BAD("layer_head must be separate or shared");
    if (c->layer_head_frozen != 0 && c->layer_head_frozen != 1) BAD("layer_head_frozen must be 0 or 1");
    if (c->batch < 1 || c->batch > 256) BAD("batch must be in [1, 256]");
    if (c->iters < 0) BAD("iters must be >= 0");
    if (!(c->lr > 0) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(c->eps > 0))
        BAD("Adam needs lr > 0, betas in [0, 1) and eps > 0");
    for (int k = NLCL_LOSS_GAN; k < NLCL_LOSS_COUNT; k++) {
        double w = nlcl_loss_weight(c, (nlcl_loss_term)k);
        if (!(w >= 0) || !isfinite(w)) BAD("loss weights must be finite and >= 0");
    }
    if (c->erosion < 1 || c->erosion > 63) BAD("the erosion window must be in [1, 63] pixels");
    if (c->synth_rain < 0 || c->synth_rain > NLCL_RAIN_NPRESETS) BAD("unknown synthetic rain %d", c->synth_rain);
    int mix_sum = 0;
    for (int k = 0; k < NLCL_RAIN_NPRESETS; k++) {
        if (c->synth_mix[k] < 0 || c->synth_mix[k] > 100) BAD("synth_mix weights must be 0..100");
        mix_sum += c->synth_mix[k];
    }
    if (mix_sum == 0) BAD("synth_mix weights must not all be 0");
    if (c->synth_veil != 0 && c->synth_veil != 1) BAD("synth_veil must be 0 (preset) or 1 (independent)");
    if (c->synth_jpeg[0] < 0 || c->synth_jpeg[0] > c->synth_jpeg[1] || c->synth_jpeg[1] > 100 ||
        (c->synth_jpeg[0] == 0 && c->synth_jpeg[1] > 0))
        BAD("synth_jpeg must be a quality range within 1..100 (or 0:0, off), got %d:%d", c->synth_jpeg[0],
            c->synth_jpeg[1]);
    if (c->warmup < 0 || c->warmup > c->iters) BAD("the warm-up must be in [0, iters]");
    if (c->warmup > 0 && !(c->w_synth > 0)) BAD("a warm-up needs the synthetic pairs (--lambda-synth > 0)");
    if (!(c->ema >= 0 && c->ema < 1)) BAD("the EMA decay must be in [0, 1)");
    if (c->w_eroded > 0 && c->erosion > NLCL_MIN(c->crop, cw))
        BAD("the erosion window (%d) is larger than the crop (%d)", c->erosion, NLCL_MIN(c->crop, cw));
    if (c->batch * 3 > NLCL_MAX_PLANES_SUM) BAD("batch must be at most %d", NLCL_MAX_PLANES_SUM / 3);
    if (!(c->tau > 0)) BAD("tau must be > 0");
    if (!(c->momentum >= 0 && c->momentum < 1)) BAD("momentum must be in [0, 1)");
    if (c->w_loc > 0) {
        int taps[NLCL_MAX_LOC_TAPS], nt = nlcl_train_config_taps(c, taps);
        if (nt < 1 || c->n_loc_taps < 0 || c->n_loc_taps > NLCL_MAX_LOC_TAPS)
            BAD("between 1 and %d location-contrast taps are needed", NLCL_MAX_LOC_TAPS);
        for (int i = 0; i < nt; i++)
            if (taps[i] < 0 || taps[i] > c->gen_blocks)
                BAD("location tap %d is outside 0..%d (the generator's blocks)", taps[i],
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
    if (c->bf16 && !nlcl_bf16_available())
        BAD("bf16 precision needs a CPU with AVX512_BF16 instructions; this one has none, or DNNL_MAX_CPU_ISA hides them");
#undef BAD
    return NLCL_OK;
}

char *nlcl_train_config_describe(const nlcl_train_config *c) {
    const char *const *sn = nlcl_sampling_names;
    int tap[NLCL_MAX_LOC_TAPS], nt = nlcl_train_config_taps(c, tap);
    char taps[64] = "";
    size_t k = 0;
    for (int i = 0; i < nt && k < sizeof taps; i++)
        k += (size_t)snprintf(taps + k, sizeof taps - k, "%s%d", i ? "," : "", tap[i]);
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
    if (c->bf16) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "precision bf16\n");
    }
    if (c->w_eroded > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "w_eroded %.12g\nerosion %d\n", c->w_eroded, c->erosion);
    }
    if (c->w_colour > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "w_colour %.12g\n", c->w_colour);
    }
    if (c->w_synth > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "w_synth %.12g\nsynth_rain %s\n", c->w_synth,
                 c->synth_rain < NLCL_RAIN_NPRESETS ? nlcl_rain_preset_names[c->synth_rain] : "mix");
    }
    if (c->synth_mix[0] != 1 || c->synth_mix[1] != 1 || c->synth_mix[2] != 1) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "synth_mix %d,%d,%d\n", c->synth_mix[0], c->synth_mix[1], c->synth_mix[2]);
    }
    if (c->synth_veil) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "synth_veil independent\n");
    }
    if (c->synth_jpeg[1] > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "synth_jpeg %d:%d\n", c->synth_jpeg[0], c->synth_jpeg[1]);
    }
    if (c->warmup > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "warmup %lld\n", (long long)c->warmup);
    }
    if (c->ema > 0) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "ema %.12g\n", c->ema);
    }
    /* (runs from before the layer_head options had separate heads, stepped) */
    if (c->layer_head != NLCL_LAYER_HEAD_SEPARATE || c->layer_head_frozen) {
        size_t len = strlen(s);
        snprintf(s + len, 2048 - len, "layer_head %s\nlayer_head_frozen %d\n",
                 c->layer_head == NLCL_LAYER_HEAD_SHARED ? "shared" : "separate", c->layer_head_frozen);
    }
    return s;
}

