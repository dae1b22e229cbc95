/* The public model API (include/nlcl/model.h) over the generator. */
#include "nlcl/model.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/generator.h"
#include "nn/model_internal.h"

struct nlcl_model {
    char *name; /* the file it came from, for messages */
    nlcl_gen gen;
    nlcl_tensor_dict meta; /* metadata only (no tensors) */
    nlcl_gen_infer ws;
    nlcl_progress_fn progress;
    void *progress_ctx;
};

const nlcl_gen *nlcl_model_generator(const nlcl_model *m) { return &m->gen; }

void nlcl_model_set_progress(nlcl_model *m, nlcl_progress_fn fn, void *ctx) {
    m->progress = fn;
    m->progress_ctx = ctx;
}

/* The embedded default model (src/nn/default_model.S.in, assembled at build
 * time when a model is shipped); hidden symbols of the library. */
extern const unsigned char nlcl_default_model_data[] __attribute__((visibility("hidden")));
extern const size_t nlcl_default_model_size __attribute__((visibility("hidden")));

void nlcl_set_num_threads(int n) {
    if (n > 0) omp_set_num_threads(n);
}

static const char *const reserved_meta[] = {"architecture", "channels", "blocks", "residual"};

nlcl_status nlcl_model_from_dict(const nlcl_tensor_dict *d, const char *name, nlcl_model **out) {
    *out = NULL;
    nlcl_model *m = calloc(1, sizeof *m);
    if (!m) return nlcl_error_set(NLCL_ERR_NOMEM, "model_load: %s: out of memory", name);
    nlcl_tensor_dict_init(&m->meta);
    char what[1100];
    snprintf(what, sizeof what, "model_load: %s", name);
    const char *arch = nlcl_tensor_dict_get_meta(d, "architecture");
    if (arch && strcmp(arch, "nlcl-generator") != 0) {
        free(m);
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: architecture '%s' is not a generator", what,
                              arch);
    }
    const char *bad = NULL;
    if (!nlcl_tensor_dict_all_finite(d, &bad)) {
        free(m);
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%s' holds NaN or infinite values", what,
                              bad ? bad : "?");
    }
    m->name = strdup(name);
    nlcl_status s = m->name ? nlcl_gen_from_dict(&m->gen, d, what)
                            : nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", what);
    for (int i = 0; s == NLCL_OK && i < d->meta_count; i++)
        s = nlcl_tensor_dict_set_meta(&m->meta, d->meta_keys[i], d->meta_values[i]);
    if (s != NLCL_OK) {
        nlcl_model_free(m);
        return s;
    }
    *out = m;
    return NLCL_OK;
}

nlcl_status nlcl_model_load_role(const char *path, const char *role, nlcl_model **out) {
    *out = NULL;
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    NLCL_TRY(nlcl_weights_load(path, &d));
    nlcl_status s = NLCL_OK;
    const char *fmt = nlcl_tensor_dict_get_meta(&d, "format");
    if (fmt && !strcmp(fmt, "nlcl-checkpoint-1")) {
        /* a training checkpoint: take "<role>.<name>" tensors */
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s.", role && *role ? role : "G_B");
        size_t pl = strlen(prefix);
        nlcl_tensor_dict g;
        nlcl_tensor_dict_init(&g);
        for (int i = 0; s == NLCL_OK && i < d.count; i++) {
            const nlcl_named_tensor *t = &d.tensors[i];
            if (strncmp(t->name, prefix, pl) != 0 || strstr(t->name + pl, "adam_")) continue;
            s = nlcl_tensor_dict_add(&g, t->name + pl, t->ndim, t->shape, t->data, NULL);
        }
        if (s == NLCL_OK && g.count == 0)
            s = nlcl_error_set(NLCL_ERR_FORMAT, "model_load: %s: the checkpoint has no %s", path,
                               prefix);
        if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&g, "role", role && *role ? role : "G_B");
        if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&g, "source", path);
        if (s == NLCL_OK) {
            const char *it = nlcl_tensor_dict_get_meta(&d, "iteration");
            if (it) s = nlcl_tensor_dict_set_meta(&g, "iterations", it);
        }
        /* the run's configuration travels with the model (nlcl info, nlcl
         * convert CHECKPOINT OUT); G_B of a run with --residual adds its input
         * (config line "residual 1") */
        const char *cfg = nlcl_tensor_dict_get_meta(&d, "config");
        if (s == NLCL_OK && cfg) s = nlcl_tensor_dict_set_meta(&g, "training_config", cfg);
        if (s == NLCL_OK) {
            int res = cfg && strstr(cfg, "\nresidual 1\n") && !strcmp(prefix, "G_B.");
            s = nlcl_tensor_dict_set_meta(&g, "residual", res ? "1" : "0");
        }
        if (s == NLCL_OK) s = nlcl_model_from_dict(&g, path, out);
        nlcl_tensor_dict_free(&g);
    } else {
        s = nlcl_model_from_dict(&d, path, out);
    }
    nlcl_tensor_dict_free(&d);
    return s;
}

nlcl_status nlcl_model_load(const char *path, nlcl_model **out) {
    return nlcl_model_load_role(path, "G_B", out);
}

nlcl_status nlcl_model_load_default(nlcl_model **out) {
    *out = NULL;
    if (nlcl_default_model_size == 0)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "model_load: no default model is bundled in this build yet; "
                              "pass --model FILE (e.g. the authors' latest_net_Back.pth)");
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    NLCL_TRY(nlcl_safetensors_load_memory(nlcl_default_model_data, nlcl_default_model_size,
                                          "<default model>", &d));
    nlcl_status s = nlcl_model_from_dict(&d, "<default model>", out);
    nlcl_tensor_dict_free(&d);
    return s;
}

void nlcl_model_free(nlcl_model *m) {
    if (!m) return;
    nlcl_gen_infer_free(&m->ws);
    nlcl_gen_free(&m->gen);
    nlcl_tensor_dict_free(&m->meta);
    free(m->name);
    free(m);
}

nlcl_status nlcl_model_set_meta(nlcl_model *m, const char *key, const char *value) {
    return nlcl_tensor_dict_set_meta(&m->meta, key, value);
}
const char *nlcl_model_meta(const nlcl_model *m, const char *key) {
    return nlcl_tensor_dict_get_meta(&m->meta, key);
}
int nlcl_model_meta_count(const nlcl_model *m) { return m->meta.meta_count; }
const char *nlcl_model_meta_key(const nlcl_model *m, int i) {
    return i >= 0 && i < m->meta.meta_count ? m->meta.meta_keys[i] : NULL;
}
int nlcl_model_channels(const nlcl_model *m) { return m->gen.cfg.channels; }
int nlcl_model_blocks(const nlcl_model *m) { return m->gen.cfg.blocks; }
int nlcl_model_residual(const nlcl_model *m) { return m->gen.cfg.residual; }
size_t nlcl_model_num_params(const nlcl_model *m) {
    size_t n = 0;
    for (int i = 0; i < m->gen.params.count; i++) n += m->gen.params.p[i].numel;
    return n;
}

nlcl_status nlcl_model_save(const nlcl_model *m, const char *path) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    char buf[32];
    nlcl_status s = nlcl_tensor_dict_set_meta(&d, "architecture", "nlcl-generator");
    snprintf(buf, sizeof buf, "%d", m->gen.cfg.channels);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "channels", buf);
    snprintf(buf, sizeof buf, "%d", m->gen.cfg.blocks);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "blocks", buf);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&d, "residual", m->gen.cfg.residual ? "1" : "0");
    for (int i = 0; s == NLCL_OK && i < m->meta.meta_count; i++) {
        int reserved = 0;
        for (size_t k = 0; k < sizeof reserved_meta / sizeof *reserved_meta; k++)
            reserved |= !strcmp(m->meta.meta_keys[i], reserved_meta[k]);
        if (!reserved) s = nlcl_tensor_dict_set_meta(&d, m->meta.meta_keys[i], m->meta.meta_values[i]);
    }
    if (s == NLCL_OK) s = nlcl_params_to_dict(&m->gen.params, "", &d);
    if (s == NLCL_OK) s = nlcl_safetensors_save(path, &d);
    nlcl_tensor_dict_free(&d);
    return s;
}

size_t nlcl_model_workspace_bytes(const nlcl_model *m, int h, int w) {
    return 3 * nlcl_layout_numel(NLCL_BLOCKED, 1, m->gen.cfg.channels, h, w) * sizeof(float);
}

nlcl_status nlcl_model_run(nlcl_model *m, const float *in, float *out, int h, int w) {
    NLCL_TRY(nlcl_gen_infer_prepare(&m->ws, &m->gen, h, w));
    m->ws.progress = m->progress;
    m->ws.progress_ctx = m->progress_ctx;
    NLCL_TRY(nlcl_gen_infer_run(&m->ws, &m->gen, in, out));
    /* finite weights can still overflow on an image: never hand back NaN or
     * Inf, which the writers would turn into a black or white picture */
    const size_t n = (size_t)3 * (size_t)h * (size_t)w;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(out[i]);
    if (bad)
        return nlcl_error_set(NLCL_ERR_NONFINITE,
                              "%s: the model's output holds %zu non-finite values (NaN or "
                              "infinite) of %zu on this %dx%d image: its weights overflow",
                              m->name ? m->name : "model", bad, n, w, h);
    return NLCL_OK;
}

nlcl_status nlcl_model_run_image(nlcl_model *m, const nlcl_image *in, nlcl_image *out) {
    NLCL_TRY(nlcl_image_alloc(out, in->height, in->width));
    nlcl_status s = nlcl_model_run(m, in->data, out->data, in->height, in->width);
    if (s != NLCL_OK) nlcl_image_free(out);
    return s;
}

nlcl_status nlcl_model_run_rgb8(nlcl_model *m, const uint8_t *in, uint8_t *out, int h, int w,
                                nlcl_quantize q) {
    nlcl_image a = {0}, b = {0};
    NLCL_TRY(nlcl_image_from_rgb8(&a, in, h, w));
    nlcl_status s = nlcl_model_run_image(m, &a, &b);
    nlcl_image_free(&a);
    if (s != NLCL_OK) return s;
    nlcl_image_to_rgb8(&b, q, out);
    nlcl_image_free(&b);
    return NLCL_OK;
}
