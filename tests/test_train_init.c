/* Starting a trainer from another run's weights (nlcl_trainer_init_from,
 * nlcl train --init-from): every network the new options use is the
 * source's, bit for bit, and so is G_B's first output; Adam moments and the
 * iteration are fresh, or with keep_iteration the source's, so that the run
 * goes on exactly as the source run would have; a plain G_B model file gives
 * G_B (and the averages that start as it) and leaves the rest fresh; another
 * architecture is refused with every difference named; the source file is
 * never changed. Crops of 32 pixels, a few iterations, five trainers (the
 * refusals that need no trainer check the source alone, nlcl_init_open):
 * it runs under valgrind too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/train.h"
#include "nlcl/weights.h"
#include "train/init.h"
#include "train/trainer.h"

#define CROP 32

static float g_O[2 * 3 * CROP * CROP], g_B[2 * 3 * CROP * CROP];

/* the source run's options: paper preset (one frozen head set), the
 * momentum key encoder, an EMA of G_B, a constant learning rate */
static nlcl_train_config source_config(void) {
    nlcl_train_config c = test_tiny_train_config(NLCL_PRESET_PAPER, CROP);
    c.n_loc = 16;
    c.loc_taps[0] = 0, c.loc_taps[1] = 1;
    c.n_loc_taps = 2;
    c.iters = 10;
    c.decay_iters = 0;
    c.ema = 0.9;
    c.seed = 5;
    return c;
}

/* 1 if network id holds the same floats in a and b (block: 0 data, 1 adam_m) */
static int same_net(nlcl_trainer *a, nlcl_trainer *b, nlcl_net_id id, int block) {
    nlcl_params *p = nlcl_trainer_params(a, id), *q = nlcl_trainer_params(b, id);
    if (!p || !q || p->total != q->total) return 0;
    const float *x = block ? p->adam_m : p->data, *y = block ? q->adam_m : q->data;
    return x && y && memcmp(x, y, p->total * sizeof(float)) == 0;
}

static int all_zero(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f) return 0;
    return 1;
}

static unsigned char *g_src_bytes;
static size_t g_src_n;

/* the source file still holds what it held after it was written */
static void check_source_unchanged(const char *path) {
    size_t n = 0;
    unsigned char *b = test_read_file(path, &n);
    CHECK_MSG(b && n == g_src_n && memcmp(b, g_src_bytes, n) == 0, "%s changed", path);
    free(b);
}

/* Weights, G_B's output, fresh moments and iteration; other options */
static void test_weights(nlcl_trainer *src, const char *ckpt) {
    nlcl_train_config c = source_config();
    c.w_loc = 0;      /* the warm-up-then-NLCL case: other loss weights */
    c.seed = 99;      /* so that a network not taken would differ */
    c.iters = 3;
    nlcl_trainer *t = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t));
    if (!t) return;
    CHECK(!same_net(src, t, NLCL_NET_GB, 0)); /* before: the checks below can fail */
    char report[3000] = "";
    CHECK_OK(nlcl_trainer_init_from(t, ckpt, 0, report, sizeof report));
    printf("report: %s\n", report);
    const nlcl_net_id taken[] = {NLCL_NET_GB, NLCL_NET_GR, NLCL_NET_D, NLCL_NET_HB, NLCL_NET_GEMA};
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
        CHECK_MSG(same_net(src, t, taken[i], 0), "%s not taken", nlcl_net_names[taken[i]]);
    CHECK(nlcl_trainer_params(t, NLCL_NET_HLOC) == NULL);
    CHECK(nlcl_trainer_iteration(t) == 0);
    nlcl_params *g = nlcl_trainer_params(t, NLCL_NET_GB);
    CHECK(all_zero(g->adam_m, g->total) && all_zero(g->adam_v, g->total));
    CHECK(test_contains(report, "taken G_B, G_R, D, H_B, G_ema"));
    CHECK(test_contains(report, "not used by these options: H_loc, G_key, H_key"));
    CHECK(test_contains(report, "w_loc 1 -> 0"));
    /* the first iteration's G_B output is the source's */
    CHECK_OK(nlcl_trainer_forward(src, g_O, g_B));
    size_t n = sizeof g_O / sizeof *g_O;
    float *want = malloc(n * sizeof(float));
    if (want) memcpy(want, nlcl_trainer_pred_B(src), n * sizeof(float));
    CHECK_OK(nlcl_trainer_forward(t, g_O, g_B));
    CHECK(want && memcmp(want, nlcl_trainer_pred_B(t), n * sizeof(float)) == 0);
    free(want);
    /* a trainer that already stepped is refused */
    nlcl_trainer_set_iteration(t, 1);
    CHECK_ERR(nlcl_trainer_init_from(t, ckpt, 0, NULL, 0), NLCL_ERR_INVALID_ARG, "already trained");
    nlcl_trainer_free(t);
}

/* keep_iteration: the run goes on as the source would have, bit for bit */
static void test_continue(nlcl_trainer *src, const char *ckpt, const char *model) {
    nlcl_train_config c = source_config(); /* the same options, a longer run */
    c.iters = 20;
    nlcl_trainer *t = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t));
    if (!t) return;
    /* refused before the trainer is touched: a model file has no iteration */
    CHECK_ERR(nlcl_trainer_init_from(t, model, 1, NULL, 0), NLCL_ERR_INVALID_ARG, "is a model file");
    CHECK_OK(nlcl_trainer_init_from(t, ckpt, 1, NULL, 0));
    CHECK(nlcl_trainer_iteration(t) == nlcl_trainer_iteration(src));
    CHECK(same_net(src, t, NLCL_NET_GB, 1) && same_net(src, t, NLCL_NET_D, 1));
    CHECK_OK(nlcl_trainer_step(src, g_O, g_B, NULL));
    CHECK_OK(nlcl_trainer_step(t, g_O, g_B, NULL));
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (nlcl_trainer_params(src, (nlcl_net_id)id))
            CHECK_MSG(same_net(src, t, (nlcl_net_id)id, 0), "%s differs after the step", nlcl_net_names[id]);
    nlcl_trainer_free(t);
    /* refused: another warm-up, a network trained here that would start fresh */
    c.warmup = 2, c.w_synth = 1, c.layer_head_frozen = 0;
    nlcl_init_source s;
    CHECK_ERR(nlcl_init_open(&s, ckpt, &c, 1), NLCL_ERR_INVALID_ARG, "'warmup 0' there, 'warmup 2' here (--warmup 0");
    CHECK(test_contains(nlcl_error_message(), "H_B would start fresh"));
    CHECK(s.path == NULL && s.d.count == 0); /* nothing left to free */
}

/* A plain G_B model file: G_B (the source's exported EMA) and the averages
 * that start as it; everything else as a fresh trainer has it */
static void test_model_file(nlcl_trainer *src, const char *model, const char *gr_model) {
    nlcl_train_config c = source_config();
    c.seed = 99;
    nlcl_trainer *t = NULL, *fresh = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t));
    CHECK_OK(nlcl_trainer_create(&c, &fresh));
    if (!t || !fresh) return;
    char report[3000] = "";
    CHECK_OK(nlcl_trainer_init_from(t, model, 0, report, sizeof report));
    printf("report: %s\n", report);
    nlcl_params *ema = nlcl_trainer_params(src, NLCL_NET_GEMA);
    const nlcl_net_id as_gb[] = {NLCL_NET_GB, NLCL_NET_GKEY, NLCL_NET_GEMA};
    for (size_t i = 0; i < sizeof as_gb / sizeof *as_gb; i++) {
        nlcl_params *p = nlcl_trainer_params(t, as_gb[i]);
        CHECK_MSG(p && p->total == ema->total && !memcmp(p->data, ema->data, p->total * sizeof(float)),
                  "%s is not the model file's G_B", nlcl_net_names[as_gb[i]]);
    }
    const nlcl_net_id own[] = {NLCL_NET_GR, NLCL_NET_D, NLCL_NET_HLOC, NLCL_NET_HB};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        CHECK_MSG(same_net(fresh, t, own[i], 0), "%s is not fresh", nlcl_net_names[own[i]]);
    CHECK(test_contains(report, "a G_B model file"));
    CHECK(test_contains(report, "copied from G_B or H_loc here: G_key, H_key, G_ema; fresh (from --seed): G_R, D, H_loc, H_B"));
    nlcl_init_source s;
    CHECK_ERR(nlcl_init_open(&s, gr_model, &c, 0), NLCL_ERR_INVALID_ARG, "holds a G_R");
    nlcl_trainer_free(t);
    nlcl_trainer_free(fresh);
}

/* Another architecture: refused, every difference named */
static void test_mismatch(const char *ckpt, const char *model) {
    nlcl_train_config c = source_config();
    c.gen_channels = 16, c.gen_blocks = 3, c.ndf = 16, c.residual = 1;
    nlcl_init_source s;
    CHECK_ERR(nlcl_init_open(&s, ckpt, &c, 0), NLCL_ERR_INVALID_ARG,
              "'channels 8' there, 'channels 16' here (--channels 8); 'blocks 2' there, 'blocks 3' "
              "here (--blocks 2); 'residual 0' there, 'residual 1' here (without --residual); 'ndf 8' "
              "there, 'ndf 16' here (--ndf 8)");
    CHECK(test_contains(nlcl_error_message(), ckpt));
    /* a model file has no D: ndf is not compared */
    CHECK_ERR(nlcl_init_open(&s, model, &c, 0), NLCL_ERR_INVALID_ARG,
              "'channels 8' there, 'channels 16' here (--channels 8); 'blocks 2' there, 'blocks 3' "
              "here (--blocks 2); 'residual 0' there, 'residual 1' here (without --residual); give");
    CHECK_ERR(nlcl_init_open(&s, test_path("none.safetensors"), &c, 0), NLCL_ERR_IO, "--init-from: ");
}

int main(void) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 8, 8);
    test_fill_uniform(&r, g_O, sizeof g_O / sizeof *g_O, -1, 1);
    test_fill_uniform(&r, g_B, sizeof g_B / sizeof *g_B, -1, 1);
    nlcl_train_config c = source_config();
    nlcl_trainer *src = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &src));
    if (!src) return test_finish("test_train_init");
    for (int i = 0; i < 2; i++) CHECK_OK(nlcl_trainer_step(src, g_O, g_B, NULL));
    const char *ckpt = test_path("source.safetensors");
    const char *model = test_path("G_B.safetensors"), *gr = test_path("G_R.safetensors");
    CHECK_OK(nlcl_trainer_save(src, ckpt));
    CHECK_OK(nlcl_trainer_export(src, "G_B", model, NULL, NULL, 0));
    CHECK_OK(nlcl_trainer_export(src, "G_R", gr, NULL, NULL, 0));
    g_src_bytes = test_read_file(ckpt, &g_src_n);
    test_weights(src, ckpt);
    test_model_file(src, model, gr);
    test_mismatch(ckpt, model);
    test_continue(src, ckpt, model); /* steps src: last */
    check_source_unchanged(ckpt);
    free(g_src_bytes);
    nlcl_trainer_free(src);
    return test_finish("test_train_init");
}
