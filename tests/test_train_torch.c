/* Training against the independent PyTorch reference
 * (tests/fixtures/make_train_fixtures.py, docs/TRAINING.md):
 *  - the non-local search: windows, distances, nearest/farthest/neighbour
 *    selections and their order, including exact ties, in both layouts;
 *  - one G step and one D step at a small size (C=8, K=2, ndf 8, 64x48 crop,
 *    batch 2, heads 40 wide) with injected sample locations: the generator
 *    outputs, every loss term, and the gradient of every parameter of G_B,
 *    G_R, D and all projection heads;
 *  - the same G step with one layer-contrast head set for both layers
 *    (--layer-head shared; the fixture's shared.* entries). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/weights.h"
#include "train/sampler.h"
#include "train/trainer.h"

static const nlcl_named_tensor *get(const nlcl_tensor_dict *d, const char *name) {
    const nlcl_named_tensor *t = nlcl_tensor_dict_find(d, name);
    CHECK_MSG(t != NULL, "fixture tensor '%s' missing", name);
    return t;
}

static int meta_int(const nlcl_tensor_dict *d, const char *k) {
    const char *v = nlcl_tensor_dict_get_meta(d, k);
    CHECK_MSG(v != NULL, "fixture metadata '%s' missing", k);
    return v ? atoi(v) : 0;
}

static void test_search(void) {
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_safetensors_load("tests/fixtures/train/search.safetensors", &d));
    const char *cases[3] = {"a", "b", "tie"};
    const char *modes[3] = {"nearest", "farthest", "neighbour"};
    const nlcl_sampling mm[3] = {NLCL_SAMPLING_NEAREST, NLCL_SAMPLING_FARTHEST, NLCL_SAMPLING_NEIGHBOUR};
    int compared = 0;
    for (int ci = 0; ci < 3; ci++) {
        char name[160];
        snprintf(name, sizeof name, "search.%s.map", cases[ci]);
        const nlcl_named_tensor *map = get(&d, name);
        if (!map) continue;
        int C = (int)map->shape[0], H = (int)map->shape[1], W = (int)map->shape[2];
        size_t nb = nlcl_layout_numel(NLCL_BLOCKED, 1, C, H, W);
        float *blk = malloc(nb * sizeof(float));
        nlcl_layout_convert(map->data, NLCL_NCHW, blk, NLCL_BLOCKED, 1, C, H, W);
        for (int a = 0; a < 8; a++) {
            snprintf(name, sizeof name, "search.%s.a%d.anchor", cases[ci], a);
            const nlcl_named_tensor *anc = nlcl_tensor_dict_find(&d, name);
            if (!anc) break;
            int ay = (int)anc->data[0], ax = (int)anc->data[1];
            snprintf(name, sizeof name, "search.%s.a%d.window", cases[ci], a);
            const nlcl_named_tensor *win = get(&d, name);
            int y0, y1, x0, x1;
            nlcl_search_window(ay, H, &y0, &y1);
            nlcl_search_window(ax, W, &x0, &x1);
            if (win)
                CHECK_MSG(y0 == (int)win->data[0] && y1 == (int)win->data[1] && x0 == (int)win->data[2] &&
                              x1 == (int)win->data[3],
                          "window of anchor (%d,%d) on %dx%d", ay, ax, W, H);
            for (int m = 0; m < 3; m++) {
                const int ks[2] = {8, 256};
                for (int kk = 0; kk < 2; kk++) {
                    int k = ks[kk];
                    snprintf(name, sizeof name, "search.%s.a%d.%s.k%d.ids", cases[ci], a, modes[m], k);
                    const nlcl_named_tensor *ids = nlcl_tensor_dict_find(&d, name);
                    if (!ids) continue;
                    snprintf(name, sizeof name, "search.%s.a%d.%s.k%d.dist", cases[ci], a, modes[m], k);
                    const nlcl_named_tensor *dist = get(&d, name);
                    int32_t got[256], got2[256];
                    float gd[256];
                    for (int lay = 0; lay < 2; lay++) {
                        const float *x = lay ? blk : map->data;
                        CHECK_OK(nlcl_search(x, 1, C, H, W, lay ? NLCL_BLOCKED : NLCL_NCHW, 0, mm[m], k,
                                             NULL, ay, ax, lay ? got2 : got, gd, NULL, NULL));
                    }
                    int same = 1, same_layout = 1;
                    double dmax = 0;
                    for (int i = 0; i < k; i++) {
                        same &= got[i] == (int32_t)ids->data[i];
                        same_layout &= got[i] == got2[i];
                        if (m != 2 && dist)
                            dmax = fmax(dmax, fabs(gd[i] - dist->data[i]) / fmax(1.0, fabs(dist->data[i])));
                    }
                    CHECK_MSG(same, "%s search, case %s anchor (%d,%d), k %d: ids differ", modes[m],
                              cases[ci], ay, ax, k);
                    CHECK_MSG(same_layout, "%s search differs between layouts", modes[m]);
                    CHECK_MSG(dmax < 1e-5, "%s distances differ by %g", modes[m], dmax);
                    compared++;
                }
            }
        }
        free(blk);
    }
    printf("search: %d selections compared\n", compared);
    CHECK(compared >= 40);
    nlcl_tensor_dict_free(&d);
}

/* max |a-b| / max(|b|) over a tensor */
static double rel_err(const float *a, const float *b, size_t n) {
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return s > 0 ? m / s : m;
}

static void test_step(int shared) {
    nlcl_tensor_dict d;
    const char *pre = shared ? "shared." : ""; /* fixture entries that depend on the head form */
    printf("-- layer-contrast heads: %s\n", shared ? "shared" : "separate");
    CHECK_OK(nlcl_safetensors_load("tests/fixtures/train/step.safetensors", &d));
    if (d.count == 0) return;
    nlcl_train_config c;
    nlcl_train_config_preset(&c, NLCL_PRESET_PAPER);
    c.batch = meta_int(&d, "n");
    c.crop = meta_int(&d, "H");
    c.crop_w = meta_int(&d, "W");
    c.gen_channels = meta_int(&d, "C");
    c.gen_blocks = meta_int(&d, "K");
    c.ndf = meta_int(&d, "ndf");
    c.head_dim = meta_int(&d, "head_dim");
    c.n_loc = meta_int(&d, "N");
    c.n_pos = meta_int(&d, "N_B");
    c.n_neg = meta_int(&d, "N_R");
    c.tau = atof(nlcl_tensor_dict_get_meta(&d, "tau"));
    c.w_sp = atof(nlcl_tensor_dict_get_meta(&d, "w_sp"));
    c.loc_taps[0] = 0, c.loc_taps[1] = 1, c.loc_taps[2] = 2;
    c.n_loc_taps = 3;
    c.momentum = 0; /* keys from G_B/H_loc without gradient: equal to the copies at step 1 */
    c.layer_head = shared ? NLCL_LAYER_HEAD_SHARED : NLCL_LAYER_HEAD_SEPARATE;
    c.layer_head_frozen = 0; /* the fixture has the heads' gradients */
    nlcl_trainer *t = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &t));
    if (!t) {
        nlcl_tensor_dict_free(&d);
        return;
    }
    const nlcl_net_id nets[6] = {NLCL_NET_GB, NLCL_NET_GR, NLCL_NET_D, NLCL_NET_HLOC, NLCL_NET_HB, NLCL_NET_HR};
    for (int i = 0; i < 6; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s.", nlcl_net_names[nets[i]]);
        nlcl_params *p = nlcl_trainer_params(t, nets[i]);
        CHECK_MSG((p == NULL) == (shared && nets[i] == NLCL_NET_HR), "%s present: %d", prefix, p != NULL);
        if (p) CHECK_OK(nlcl_params_block_from_dict(p, p->data, prefix, &d, "fixture"));
    }
    const int n = c.batch;
    const char *idn[4] = {"ids.loc_O", "ids.loc_B", "ids.layer_B", "ids.layer_R"};
    int32_t *ids[4];
    for (int k = 0; k < 4; k++) {
        const nlcl_named_tensor *x = get(&d, idn[k]);
        ids[k] = calloc(x ? x->numel : 1, sizeof(int32_t));
        for (size_t i = 0; x && i < x->numel; i++) ids[k][i] = (int32_t)x->data[i];
    }
    /* our own search on the fixture's maps must pick the same locations */
    nlcl_trainer_inject_ids(t, ids[0], ids[1], ids[2], ids[3]);
    const nlcl_named_tensor *O = get(&d, "input.O"), *B = get(&d, "input.B");
    CHECK_OK(nlcl_trainer_forward(t, O->data, B->data));
    size_t img = O->numel;
    double e;
    e = rel_err(nlcl_trainer_pred_B(t), get(&d, "out.pred_B")->data, img);
    CHECK_MSG(e < 1e-5, "pred_B rel err %g", e);
    e = rel_err(nlcl_trainer_pred_R(t), get(&d, "out.pred_R")->data, img);
    CHECK_MSG(e < 1e-5, "pred_R rel err %g", e);
    e = rel_err(nlcl_trainer_idt(t), get(&d, "out.idt")->data, img);
    CHECK_MSG(e < 1e-5, "idt rel err %g", e);
    /* the layer-contrast searches on pred_B / pred_R with the fixture's anchors */
    const char *ln[2] = {"layer_B", "layer_R"};
    const float *maps[2] = {nlcl_trainer_pred_B(t), nlcl_trainer_pred_R(t)};
    for (int s = 0; s < 2; s++) {
        char name[64];
        snprintf(name, sizeof name, "anchor.%s", ln[s]);
        const nlcl_named_tensor *anc = get(&d, name);
        int k = s ? c.n_neg : c.n_pos;
        for (int b = 0; anc && b < n; b++) {
            int32_t got[64];
            CHECK_OK(nlcl_search(maps[s], n, 3, c.crop, c.crop_w, NLCL_NCHW, b, NLCL_SAMPLING_NEAREST, k,
                                 NULL, (int)anc->data[2 * b], (int)anc->data[2 * b + 1], got, NULL,
                                 NULL, NULL));
            CHECK_MSG(memcmp(got, ids[2 + s] + (size_t)b * k, sizeof(int32_t) * k) == 0,
                      "%s search on image %d differs from PyTorch's", ln[s], b);
        }
    }
    /* D step gradients */
    double ld = 0;
    CHECK_OK(nlcl_trainer_d_grads(t, &ld));
    CHECK_NEAR(ld, get(&d, "loss.D")->data[0], 1e-5 * fmax(1, fabs(ld)));
    nlcl_params *pd = nlcl_trainer_params(t, NLCL_NET_D);
    double worst = 0;
    for (int i = 0; i < pd->count; i++) {
        char name[128];
        snprintf(name, sizeof name, "gradD.D.%s", pd->p[i].name);
        const nlcl_named_tensor *g = get(&d, name);
        if (!g) continue;
        double m = 0, s = 0;
        for (size_t k = 0; k < pd->total; k++) s = fmax(s, fabs(pd->grad[k]));
        for (size_t k = 0; k < g->numel; k++)
            m = fmax(m, fabs((double)pd->grad[pd->p[i].offset + k] - g->data[k]));
        worst = fmax(worst, m / fmax(s, 1e-30));
    }
    printf("D step: loss %.9g, worst gradient error %.3g (relative to D's largest gradient)\n", ld, worst);
    CHECK_MSG(worst < 1e-4, "D gradients differ: %g", worst);
    /* G step losses and gradients */
    nlcl_losses L;
    CHECK_OK(nlcl_trainer_g_grads(t, &L));
    struct {
        const char *name;
        double v;
    } terms[] = {{"loss.gan", L.gan}, {"loss.loc", L.loc}, {"loss.layer", L.layer},
                 {"loss.cons", L.cons}, {"loss.sp", L.sp}, {"loss.G", L.G}};
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++) {
        char tn[64];
        int own = !strcmp(terms[i].name, "loss.layer") || !strcmp(terms[i].name, "loss.G");
        snprintf(tn, sizeof tn, "%s%s", own ? pre : "", terms[i].name);
        terms[i].name = tn;
        const nlcl_named_tensor *r = get(&d, terms[i].name);
        if (!r) continue;
        printf("%-10s nlcl %.9g  torch %.9g\n", terms[i].name, terms[i].v, r->data[0]);
        CHECK_MSG(fabs(terms[i].v - r->data[0]) <= 1e-5 * fmax(1.0, fabs(r->data[0])), "%s differs",
                  terms[i].name);
    }
    const nlcl_net_id gnets[5] = {NLCL_NET_GB, NLCL_NET_GR, NLCL_NET_HLOC, NLCL_NET_HB, NLCL_NET_HR};
    for (int ni = 0; ni < 5 - shared; ni++) {
        nlcl_params *p = nlcl_trainer_params(t, gnets[ni]);
        double s = 0, w = 0;
        const char *wname = "";
        for (size_t k = 0; k < p->total; k++) s = fmax(s, fabs(p->grad[k]));
        for (int i = 0; i < p->count; i++) {
            char name[128];
            snprintf(name, sizeof name, "%sgradG.%s.%s", pre, nlcl_net_names[gnets[ni]], p->p[i].name);
            const nlcl_named_tensor *g = get(&d, name);
            if (!g) continue;
            double m = 0;
            for (size_t k = 0; k < g->numel; k++)
                m = fmax(m, fabs((double)p->grad[p->p[i].offset + k] - g->data[k]));
            if (m / fmax(s, 1e-30) > w) w = m / fmax(s, 1e-30), wname = p->p[i].name;
        }
        printf("G step: %-5s worst gradient error %.3g (%s), largest gradient %.3g\n",
               nlcl_net_names[gnets[ni]], w, wname, s);
        CHECK_MSG(w < 1e-4, "%s gradients differ from PyTorch's: %g at %s", nlcl_net_names[gnets[ni]],
                  w, wname);
    }
    for (int k = 0; k < 4; k++) free(ids[k]);
    nlcl_trainer_free(t);
    nlcl_tensor_dict_free(&d);
}

int main(void) {
    test_search();
    test_step(0);
    test_step(1);
    return test_finish("test_train_torch");
}
