/* Whole-network directional gradient check (KANN style): for a random
 * direction v over ALL parameters of the G side (G_B, G_R, every projection
 * head) the analytic dL_G/dtheta . v must equal the central difference
 * (L_G(theta + eps v) - L_G(theta - eps v)) / (2 eps); the same for L_D over
 * D's parameters. Sample locations are injected (fixed), so L is a
 * deterministic function of the parameters. Small networks, crop 40x40.
 * Also with one layer-contrast head set for both layers (--layer-head
 * shared), and a step with frozen layer-contrast heads (they must not move,
 * and a checkpoint must round-trip without their Adam state). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "train/trainer.h"

static nlcl_layer_head g_layer_head = NLCL_LAYER_HEAD_SEPARATE;

static nlcl_train_config small_config(void) {
    nlcl_train_config c = test_tiny_train_config(NLCL_PRESET_PAPER, 40);
    c.layer_head = g_layer_head;
    c.layer_head_frozen = 0; /* the heads' gradients are checked too */
    c.head_dim = NLCL_HEAD_DIM;
    c.n_loc = 16;
    c.n_neg = 12;
    c.loc_taps[0] = 0, c.loc_taps[1] = 1, c.loc_taps[2] = 2;
    c.n_loc_taps = 3;
    /* keys from the separate momentum encoder: with keys from G_B itself the
     * finite difference would also see the keys move, which the (detached)
     * analytic gradient rightly ignores */
    c.momentum = 0.99;
    c.seed = 7;
    const char *only = getenv("NLCL_TEST_ONLY_TERM"); /* debugging aid: gan|loc|layer|cons|sp */
    if (only) {
        c.w_gan = !strcmp(only, "gan");
        c.w_loc = !strcmp(only, "loc");
        c.w_layer = !strcmp(only, "layer");
        c.w_cons = !strcmp(only, "cons");
        c.w_sp = !strcmp(only, "sp");
    }
    return c;
}

static void random_ids(nlcl_rng *r, int32_t *ids, int n, int k, int hw) {
    for (int b = 0; b < n; b++)
        for (int i = 0; i < k; i++) {
            /* distinct within an image */
            for (;;) {
                int32_t v = (int32_t)nlcl_rng_below(r, (uint32_t)hw);
                int dup = 0;
                for (int j = 0; j < i; j++) dup |= ids[b * k + j] == v;
                if (!dup) {
                    ids[b * k + i] = v;
                    break;
                }
            }
        }
}

static double loss_g(nlcl_trainer *t, const float *O, const float *B) {
    nlcl_losses L;
    CHECK_OK(nlcl_trainer_forward(t, O, B));
    CHECK_OK(nlcl_trainer_g_grads(t, &L));
    return L.G;
}
static double loss_d(nlcl_trainer *t, const float *O, const float *B) {
    double l = 0;
    CHECK_OK(nlcl_trainer_forward(t, O, B));
    CHECK_OK(nlcl_trainer_d_grads(t, &l));
    return l;
}

/* directional check over the listed networks */
static void directional(nlcl_trainer *t, const nlcl_net_id *ids, int nid, const float *O,
                        const float *B, int is_d, nlcl_rng *r, const char *what) {
    double (*f)(nlcl_trainer *, const float *, const float *) = is_d ? loss_d : loss_g;
    f(t, O, B); /* gradients at theta */
    double gv = 0;
    float *vs[8];
    for (int k = 0; k < nid; k++) {
        nlcl_params *p = nlcl_trainer_params(t, ids[k]);
        vs[k] = NULL;
        if (!p) continue;
        vs[k] = malloc(p->total * sizeof(float));
        for (size_t i = 0; i < p->total; i++) {
            /* direction scaled like each parameter (relative perturbation) */
            float v = (float)nlcl_rng_normal(r) * (0.05f * fabsf(p->data[i]) + 1e-4f);
            vs[k][i] = v;
            gv += (double)v * p->grad[i];
        }
    }
    double best = 1e9;
    const double epss[2] = {0.0025, 0.000625};
    for (int e = 0; e < 2; e++) {
        double eps = epss[e];
        for (int k = 0; k < nid; k++) {
            nlcl_params *p = nlcl_trainer_params(t, ids[k]);
            if (p) for (size_t i = 0; i < p->total; i++) p->data[i] += (float)eps * vs[k][i];
        }
        double lp = f(t, O, B);
        for (int k = 0; k < nid; k++) {
            nlcl_params *p = nlcl_trainer_params(t, ids[k]);
            if (p) for (size_t i = 0; i < p->total; i++) p->data[i] -= 2 * (float)eps * vs[k][i];
        }
        double lm = f(t, O, B);
        for (int k = 0; k < nid; k++) {
            nlcl_params *p = nlcl_trainer_params(t, ids[k]);
            if (p) for (size_t i = 0; i < p->total; i++) p->data[i] += (float)eps * vs[k][i];
        }
        double fd = (lp - lm) / (2 * eps);
        double rel = fabs(fd - gv) / fmax(fabs(gv), 1e-12);
        printf("%s: eps %.3g  g.v = %.9g  finite difference = %.9g  rel err %.2e\n", what, eps, gv,
               fd, rel);
        if (rel < best) best = rel;
    }
    CHECK_MSG(best < 2e-2, "%s: directional derivative mismatch (best rel err %.3g)", what, best);
    CHECK(fabs(gv) > 0);
    for (int k = 0; k < nid; k++) free(vs[k]);
}

/* only: 0 = the NLCL terms; 1 = nlcl's eroded L1 alone; 2 = nlcl's
 * synthetic-pair L1 alone; 3 = nlcl's L1 of the channel means alone (each
 * alone: with every other term it is a small share of L_G, and the L1 kinks
 * make the difference noisier) */
static void run(int residual, int only) {
    nlcl_train_config c = small_config();
    c.residual = residual;
    if (only) {
        c.w_gan = c.w_loc = c.w_layer = c.w_cons = c.w_sp = 0;
        if (only == 1) c.w_eroded = 1, c.erosion = 5;
        else if (only == 2) c.w_synth = 1;
        else c.w_colour = 1;
    }
    const int shift_bias = only != 0; /* see below */
    printf("-- residual G_B: %d, eroded L1 weight %g, synthetic-pair L1 weight %g, channel-mean L1 "
           "weight %g%s, %s layer heads\n", residual, c.w_eroded, c.w_synth, c.w_colour,
           only ? " (the only G term)" : "",
           c.layer_head == NLCL_LAYER_HEAD_SHARED ? "shared" : "separate");
    nlcl_trainer *t = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t));
    if (!t) return;
    if (residual) {
        /* the zero-initialised last conv makes G_B the identity at the start */
        nlcl_params *p = nlcl_trainer_params(t, NLCL_NET_GB);
        int zero = 1;
        int iw = nlcl_params_find(p, "gen.4.weight");
        CHECK(iw >= 0);
        for (size_t k = 0; iw >= 0 && k < p->p[iw].numel; k++) zero &= p->data[p->p[iw].offset + k] == 0;
        CHECK(zero);
        /* give it weights, so the branch is exercised */
        nlcl_rng rr;
        nlcl_rng_seed(&rr, 5, 5);
        if (iw >= 0) test_fill_uniform(&rr, p->data + p->p[iw].offset, p->p[iw].numel, -0.05f, 0.05f);
        int ib = nlcl_params_find(p, "gen.4.bias");
        CHECK(ib >= 0);
        /* the eroded L1 picks the smallest |B - O| of each window, i.e. the
           values nearest the kink of |.|, and the synthetic-pair L1 sees
           G_B(B + S) - B = S + G(.), zero where S is: shift G's output away
           from 0 (and the channel means of B from those of O) */
        if (shift_bias && ib >= 0)
            for (size_t k = 0; k < p->p[ib].numel; k++) p->data[p->p[ib].offset + k] = 0.3f;
    }
    nlcl_rng r;
    nlcl_rng_seed(&r, 42, 3);
    int n = c.batch, H = c.crop;
    size_t img = (size_t)n * 3 * H * H;
    float *O = malloc(img * 4), *B = malloc(img * 4);
    test_fill_uniform(&r, O, img, -1, 1);
    test_fill_uniform(&r, B, img, -1, 1);
    int32_t *lo = malloc(sizeof(int32_t) * n * c.n_loc), *lb = malloc(sizeof(int32_t) * n * c.n_loc);
    int32_t *pb = malloc(sizeof(int32_t) * n * c.n_pos), *pr = malloc(sizeof(int32_t) * n * c.n_neg);
    random_ids(&r, lo, n, c.n_loc, H * H);
    random_ids(&r, lb, n, c.n_loc, H * H);
    random_ids(&r, pb, n, c.n_pos, H * H);
    random_ids(&r, pr, n, c.n_neg, H * H);
    nlcl_trainer_inject_ids(t, lo, lb, pb, pr);
    /* larger D and head weights than the 0.02 init so every term matters */
    nlcl_net_id scaled[3] = {NLCL_NET_D, NLCL_NET_HB, NLCL_NET_HR};
    for (int k = 0; k < 3; k++) {
        nlcl_params *p = nlcl_trainer_params(t, scaled[k]);
        if (!p) continue;
        for (size_t i = 0; i < p->total; i++) p->data[i] *= 5.0f;
    }
    nlcl_net_id gside[5] = {NLCL_NET_GB, NLCL_NET_GR, NLCL_NET_HLOC, NLCL_NET_HB, NLCL_NET_HR};
    directional(t, gside, 5, O, B, 0, &r, "L_G over G_B, G_R, heads");
    nlcl_net_id dside[1] = {NLCL_NET_D};
    directional(t, dside, 1, O, B, 1, &r, "L_D over D");
    nlcl_trainer_free(t);
    free(O); free(B); free(lo); free(lb); free(pb); free(pr);
}

/* frozen layer-contrast heads: one step leaves them as they were, moves G_B,
 * and a checkpoint (without their Adam state) loads back */
static void frozen_step(nlcl_layer_head form) {
    g_layer_head = form;
    nlcl_train_config c = small_config();
    c.layer_head_frozen = 1;
    nlcl_trainer *t = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t));
    if (!t) return;
    nlcl_params *hb = nlcl_trainer_params(t, NLCL_NET_HB), *hr = nlcl_trainer_params(t, NLCL_NET_HR);
    nlcl_params *gb = nlcl_trainer_params(t, NLCL_NET_GB);
    CHECK(hb != NULL && hb->grad == NULL && (hr == NULL) == (form == NLCL_LAYER_HEAD_SHARED));
    float *hb0 = malloc(hb->total * sizeof(float)), *gb0 = malloc(gb->total * sizeof(float));
    memcpy(hb0, hb->data, hb->total * sizeof(float));
    memcpy(gb0, gb->data, gb->total * sizeof(float));
    nlcl_rng r;
    nlcl_rng_seed(&r, 9, 1);
    size_t img = (size_t)c.batch * 3 * c.crop * c.crop;
    float *O = malloc(img * 4), *B = malloc(img * 4);
    test_fill_uniform(&r, O, img, -1, 1);
    test_fill_uniform(&r, B, img, -1, 1);
    nlcl_losses L;
    CHECK_OK(nlcl_trainer_step(t, O, B, &L));
    CHECK_MSG(memcmp(hb0, hb->data, hb->total * sizeof(float)) == 0, "a frozen head moved");
    CHECK_MSG(memcmp(gb0, gb->data, gb->total * sizeof(float)) != 0, "G_B did not move");
    CHECK(L.layer > 0);
    const char *path = "test_train_grad_frozen.safetensors";
    CHECK_OK(nlcl_trainer_save(t, path));
    nlcl_trainer *t2 = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t2));
    if (t2) {
        CHECK_OK(nlcl_trainer_load(t2, path));
        CHECK(nlcl_trainer_iteration(t2) == 1);
        nlcl_params *gb2 = nlcl_trainer_params(t2, NLCL_NET_GB);
        CHECK(memcmp(gb2->data, gb->data, gb->total * sizeof(float)) == 0);
        nlcl_trainer_free(t2);
    }
    /* the configuration is part of the checkpoint: stepped heads refuse it */
    c.layer_head_frozen = 0;
    CHECK_OK(nlcl_trainer_create(&c, &t2));
    if (t2) {
        CHECK(nlcl_trainer_load(t2, path) == NLCL_ERR_INVALID_ARG);
        nlcl_trainer_free(t2);
    }
    remove(path);
    nlcl_trainer_free(t);
    free(hb0); free(gb0); free(O); free(B);
    g_layer_head = NLCL_LAYER_HEAD_SEPARATE;
}

int main(void) {
    run(0, 0);
    run(1, 0);
    run(1, 1);
    run(1, 2);
    run(1, 3);
    g_layer_head = NLCL_LAYER_HEAD_SHARED;
    run(0, 0);
    g_layer_head = NLCL_LAYER_HEAD_SEPARATE;
    frozen_step(NLCL_LAYER_HEAD_SHARED);
    frozen_step(NLCL_LAYER_HEAD_SEPARATE);
    return test_finish("test_train_grad");
}
