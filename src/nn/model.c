/* The public model API (include/nlcl/model.h) over the generator. */
#include "nlcl/model.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "nlcl/files.h"
#include "nn/generator.h"
#include "nn/model_internal.h"
#include "ops/conv_bf16.h"

struct nlcl_model {
    char *name; /* the file it came from, for messages */
    nlcl_gen gen;
    nlcl_tensor_dict meta; /* metadata only (no tensors) */
    nlcl_gen_infer ws;     /* whole-image path (in memory) */
    nlcl_gen_bands bands;  /* band pipeline (streamed, or band rows asked for) */
    int streamed;          /* the last run streamed */
    size_t memory_limit; /* 0: half the physical memory */
    char *scratch_dir;   /* NULL: $TMPDIR, else /tmp */
    int band_rows;
    nlcl_progress_fn progress;
    void *progress_ctx;
};

const nlcl_gen *nlcl_model_generator(const nlcl_model *m) { return &m->gen; }

void nlcl_model_set_memory_limit(nlcl_model *m, size_t bytes) { m->memory_limit = bytes; }

nlcl_status nlcl_model_set_scratch_dir(nlcl_model *m, const char *dir) {
    char *d = NULL;
    if (dir && !(d = strdup(dir)))
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    free(m->scratch_dir);
    m->scratch_dir = d;
    return NLCL_OK;
}

int nlcl_bf16_supported(void) { return nlcl_bf16_available(); }

nlcl_status nlcl_model_set_precision(nlcl_model *m, nlcl_precision p) {
    if (p != NLCL_PRECISION_FP32 && p != NLCL_PRECISION_BF16)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "unknown precision %d", (int)p);
    if (p == NLCL_PRECISION_BF16 && !nlcl_bf16_available())
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "bf16 precision needs a CPU with AVX512_BF16 instructions; "
                              "this one has none, or DNNL_MAX_CPU_ISA hides them (float32 is kept)");
    int bf16 = p == NLCL_PRECISION_BF16;
    if (m->gen.cfg.bf16 != bf16) { /* plans change */
        nlcl_gen_bands_free(&m->bands);
        nlcl_gen_infer_free(&m->ws);
    }
    m->gen.cfg.bf16 = bf16;
    return NLCL_OK;
}

void nlcl_model_set_band_rows(nlcl_model *m, int rows) { m->band_rows = rows > 0 ? rows : 0; }

int nlcl_model_streamed(const nlcl_model *m) { return m->streamed; }

size_t nlcl_model_memory_limit(const nlcl_model *m) {
    if (m->memory_limit) return m->memory_limit;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 2 : (size_t)8 << 30;
}

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
    if (!m) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    nlcl_tensor_dict_init(&m->meta);
    char what[1100];
    snprintf(what, sizeof what, "%s", name);
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

/* 1 if the dictionary has a tensor whose name starts with prefix */
static int checkpoint_has(const nlcl_tensor_dict *d, const char *prefix) {
    for (int i = 0; i < d->count; i++)
        if (!strncmp(d->tensors[i].name, prefix, strlen(prefix))) return 1;
    return 0;
}

nlcl_status nlcl_model_load_role(const char *path, const char *role, nlcl_model **out) {
    *out = NULL;
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    NLCL_TRY(nlcl_weights_load(path, &d));
    nlcl_status s = NLCL_OK;
    const char *fmt = nlcl_tensor_dict_get_meta(&d, "format");
    if (fmt && !strcmp(fmt, "nlcl-checkpoint-1")) {
        /* a training checkpoint: take "<role>.<name>" tensors; by default
         * the exported generator (G_ema when the run keeps one) */
        if (!role || !*role) role = checkpoint_has(&d, "G_ema.") ? "G_ema" : "G_B";
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s.", role);
        size_t pl = strlen(prefix);
        nlcl_tensor_dict g;
        nlcl_tensor_dict_init(&g);
        for (int i = 0; s == NLCL_OK && i < d.count; i++) {
            const nlcl_named_tensor *t = &d.tensors[i];
            if (strncmp(t->name, prefix, pl) != 0 || strstr(t->name + pl, "adam_")) continue;
            s = nlcl_tensor_dict_add(&g, t->name + pl, t->ndim, t->shape, t->data, NULL);
        }
        if (s == NLCL_OK && g.count == 0)
            s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: the checkpoint has no %s", path,
                               prefix);
        if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&g, "role", role);
        /* the file's name, not where it was: a model converted from it
         * must not carry the training machine's folders */
        if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(&g, "source", nlcl_basename(path));
        if (s == NLCL_OK) {
            const char *it = nlcl_tensor_dict_get_meta(&d, "iteration");
            if (it) s = nlcl_tensor_dict_set_meta(&g, "iterations", it);
        }
        /* the run's own record, its "training_*" entries (src/train/run.c
         * set_run_meta; older checkpoints lack them) */
        for (int i = 0; s == NLCL_OK && i < d.meta_count; i++)
            if (!strncmp(d.meta_keys[i], "training_", 9))
                s = nlcl_tensor_dict_set_meta(&g, d.meta_keys[i], d.meta_values[i]);
        /* the run's configuration travels with the model (nlcl info, nlcl
         * convert CHECKPOINT OUT); G_B and G_ema of a run with --residual add their input
         * (config line "residual 1") */
        const char *cfg = nlcl_tensor_dict_get_meta(&d, "config");
        if (s == NLCL_OK && cfg) s = nlcl_tensor_dict_set_meta(&g, "training_config", cfg);
        if (s == NLCL_OK) {
            int res = cfg && strstr(cfg, "\nresidual 1\n") &&
                      (!strcmp(role, "G_B") || !strcmp(role, "G_ema"));
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
    return nlcl_model_load_role(path, NULL, out);
}

nlcl_status nlcl_model_load_default(nlcl_model **out) {
    *out = NULL;
    if (nlcl_default_model_size == 0)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "no default model is bundled in this build yet; "
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
    nlcl_gen_bands_free(&m->bands);
    nlcl_gen_infer_free(&m->ws);
    free(m->scratch_dir);
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

/* Images whose activations fit the memory limit run layer by layer over the
 * whole image (nlcl_gen_infer_run: few parallel regions, which matters on
 * busy machines); larger ones, or any when band rows are set, run through
 * the band pipeline (gen_bands.c), which gives the same bytes. */
nlcl_status nlcl_model_run(nlcl_model *m, const float *in, float *out, int h, int w) {
    if (h < 1 || w < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid image size %dx%d", w, h);
    size_t limit = nlcl_model_memory_limit(m);
    int stream = nlcl_gen_bands_activation_bytes(m->gen.cfg.channels, h, w) > limit;
    m->streamed = 0;
    if (!stream && m->band_rows == 0) {
        nlcl_gen_bands_free(&m->bands);
        NLCL_TRY(nlcl_gen_infer_prepare(&m->ws, &m->gen, h, w));
        m->ws.progress = m->progress;
        m->ws.progress_ctx = m->progress_ctx;
        NLCL_TRY(nlcl_gen_infer_run(&m->ws, &m->gen, in, out));
    } else {
        nlcl_gen_infer_free(&m->ws);
        const char *tmp = getenv("TMPDIR");
        nlcl_gen_band_opts o = {limit, m->scratch_dir ? m->scratch_dir : (tmp && *tmp ? tmp : "/tmp"),
                                m->band_rows};
        NLCL_TRY(nlcl_gen_bands_prepare(&m->bands, &m->gen, h, w, &o));
        m->streamed = m->bands.streaming;
        m->bands.progress = m->progress;
        m->bands.progress_ctx = m->progress_ctx;
        NLCL_TRY(nlcl_gen_bands_run(&m->bands, &m->gen, in, out));
    }
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
