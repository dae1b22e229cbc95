/* Checkpoints and exported models of the trainer (include/nlcl/train.h):
 * every network and head, the key encoder, Adam moments, the iteration, the
 * configuration and the RNG state, in one safetensors file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/conv.h"
#include "nlcl/model.h"
#include "train/trainer.h"

/* Add (or, with refresh, overwrite in place: d already holds this
 * trainer's checkpoint, tensor `*at` onwards in order) one block of p. */
static nlcl_status put_block(const nlcl_params *p, const float *block, const char *prefix,
                             nlcl_tensor_dict *d, int refresh, int *at) {
    if (!refresh) return nlcl_params_block_to_dict(p, block, prefix, d);
    for (int i = 0; i < p->count; i++, (*at)++) {
        nlcl_named_tensor *x = &d->tensors[*at];
        NLCL_CHECK(*at < d->count && x->numel == p->p[i].numel);
        memcpy(x->data, block + p->p[i].offset, x->numel * sizeof(float));
    }
    return NLCL_OK;
}

nlcl_status nlcl_trainer_checkpoint_dict(const nlcl_trainer *t, nlcl_tensor_dict *d, int refresh) {
    char key[128], val[64];
    nlcl_status s = NLCL_OK;
    const nlcl_train_config *c = nlcl_trainer_config(t);
    const int64_t iter = nlcl_trainer_iteration(t);
    if (!refresh) {
        char *desc = nlcl_train_config_describe(c);
        if (!desc) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
        s = nlcl_tensor_dict_set_meta(d, "format", "nlcl-checkpoint-1");
        if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(d, "config", desc);
        free(desc);
        const nlcl_tensor_dict *run = nlcl_trainer_run_meta_const(t);
        for (int i = 0; s == NLCL_OK && i < run->meta_count; i++)
            s = nlcl_tensor_dict_set_meta(d, run->meta_keys[i], run->meta_values[i]);
    }
    snprintf(val, sizeof val, "%lld", (long long)iter);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(d, "iteration", val);
    /* The RNG of iteration i is PCG32 seeded with (seed, stream 1000 + i):
     * record the state the next iteration starts from. */
    nlcl_rng next;
    nlcl_rng_seed(&next, c->seed, 1000 + (uint64_t)iter);
    snprintf(val, sizeof val, "%llu %llu", (unsigned long long)next.state, (unsigned long long)next.inc);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(d, "rng_state", val);
    /* the convolution algorithms this process measured (conv.h): a resumed
     * run computes with the same ones */
    char algos[4096];
    if (s == NLCL_OK && nlcl_conv2d_choices_export(algos, sizeof algos) < sizeof algos)
        s = nlcl_tensor_dict_set_meta(d, "conv_algorithms", algos);
    int at = 0;
    for (int id = 0; s == NLCL_OK && id < NLCL_NET_COUNT; id++) {
        const nlcl_params *p = nlcl_trainer_params_const(t, (nlcl_net_id)id);
        if (!p) continue;
        snprintf(key, sizeof key, "%s.", nlcl_net_names[id]);
        s = put_block(p, p->data, key, d, refresh, &at);
        if (s == NLCL_OK && nlcl_trainer_steps(t, (nlcl_net_id)id)) {
            snprintf(key, sizeof key, "%s.adam_m.", nlcl_net_names[id]);
            s = put_block(p, p->adam_m, key, d, refresh, &at);
            snprintf(key, sizeof key, "%s.adam_v.", nlcl_net_names[id]);
            if (s == NLCL_OK) s = put_block(p, p->adam_v, key, d, refresh, &at);
        }
    }
    return s;
}

nlcl_status nlcl_trainer_save(const nlcl_trainer *t, const char *path) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    nlcl_status s = nlcl_trainer_checkpoint_dict(t, &d, 0);
    if (s == NLCL_OK) s = nlcl_safetensors_save(path, &d);
    nlcl_tensor_dict_free(&d);
    return s;
}

/* desc (freed) without its "iters N" line, as a new string; NULL if out of memory */
static char *without_iters(char *desc) {
    for (char *p = desc; p;) {
        char *e = strchr(p, '\n');
        if (!strncmp(p, "iters ", 6)) {
            const char *rest = e ? e + 1 : p + strlen(p);
            memmove(p, rest, strlen(rest) + 1);
            break;
        }
        p = e ? e + 1 : NULL;
    }
    return desc;
}

nlcl_status nlcl_trainer_load(nlcl_trainer *t, const char *path) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    NLCL_TRY(nlcl_safetensors_load(path, &d));
    nlcl_status s = NLCL_OK;
    char what[1100], key[128];
    snprintf(what, sizeof what, "%s", path);
    const char *fmt = nlcl_tensor_dict_get_meta(&d, "format");
    const char *cfg = nlcl_tensor_dict_get_meta(&d, "config");
    const char *it = nlcl_tensor_dict_get_meta(&d, "iteration");
    /* iters may grow: a run is extended by resuming it with a larger --iters */
    char *desc = without_iters(nlcl_train_config_describe(nlcl_trainer_config(t)));
    char *had = cfg ? without_iters(strdup(cfg)) : NULL;
    if (!fmt || strcmp(fmt, "nlcl-checkpoint-1") != 0 || !cfg || !it) {
        s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: not an nlcl training checkpoint", what);
    } else if (!desc || !had || strcmp(desc, had) != 0) {
        cfg = had ? had : cfg;
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
    free(had);
    for (int id = 0; s == NLCL_OK && id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params(t, (nlcl_net_id)id);
        if (!p) continue;
        snprintf(key, sizeof key, "%s.", nlcl_net_names[id]);
        s = nlcl_params_block_from_dict(p, p->data, key, &d, what);
        if (s == NLCL_OK && nlcl_trainer_steps(t, (nlcl_net_id)id)) {
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
            nlcl_trainer_set_iteration(t, v);
    }
    /* the first run's convolution algorithms; the generator plans are made
     * again with them */
    const char *algos = nlcl_tensor_dict_get_meta(&d, "conv_algorithms");
    if (s == NLCL_OK && algos && *algos) {
        s = nlcl_conv2d_choices_import(algos);
        if (s == NLCL_OK) s = nlcl_trainer_replan(t);
    }
    nlcl_tensor_dict_free(&d);
    return s;
}

nlcl_status nlcl_trainer_model(const nlcl_trainer *t, const char *which, const char *const *keys,
                               const char *const *values, int nmeta, nlcl_model **out) {
    *out = NULL;
    const nlcl_params *g = NULL;
    int residual = 0; /* G_R predicts the rain layer itself */
    if (!strcmp(which, "G_B")) {
        g = nlcl_trainer_params_const(t, NLCL_NET_GEMA); /* the moving average, when on */
        if (!g) g = nlcl_trainer_params_const(t, NLCL_NET_GB);
        residual = nlcl_trainer_config(t)->residual;
    } else if (!strcmp(which, "G_R")) {
        g = nlcl_trainer_params_const(t, NLCL_NET_GR);
    }
    if (!g) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "no generator '%s' to export", which);
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    nlcl_status s = nlcl_params_to_dict(g, "", &d);
    for (int i = 0; s == NLCL_OK && i < nmeta; i++) s = nlcl_tensor_dict_set_meta(&d, keys[i], values[i]);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "role", which);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "residual", residual ? "1" : "0");
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
