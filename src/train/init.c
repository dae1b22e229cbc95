/* Starting a training run from another run's weights (src/train/init.h;
 * docs/TRAINING.md, "Starting from another run"). */
#include "train/init.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/conv.h"
#include "nlcl/files.h"
#include "nlcl/model.h"
#include "nn/generator.h"
#include "nn/model_internal.h"
#include "train/resume.h"
#include "train/trainer.h"

/* ------------------------------------------------------------- helpers */

/* The value of option `name` in a description ("name value" lines) into
 * buf; 0 if it has no such line. */
static int cfg_get(const char *desc, const char *name, char *buf, size_t n) {
    size_t kl = strlen(name);
    for (const char *p = desc; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > kl && !strncmp(p, name, kl) && p[kl] == ' ') {
            snprintf(buf, n, "%.*s", (int)(len - kl - 1), p + kl + 1);
            return 1;
        }
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* The value of `name` in desc, or def when desc does not list it (options
 * listed only when used: warmup, layer_head_frozen). */
static const char *cfg_or(const char *desc, const char *name, const char *def, char *buf, size_t n) {
    if (!cfg_get(desc, name, buf, n)) snprintf(buf, n, "%s", def);
    return buf;
}

/* Items of a list in one message, "; "-separated (or another separator);
 * those that do not fit are counted. */
typedef struct textlist {
    char text[1000];
    size_t len;
    int n, shown;
} textlist;

static void list_add(textlist *l, const char *sep, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void list_add(textlist *l, const char *sep, const char *fmt, ...) {
    char item[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    l->n++;
    if (l->len + strlen(item) + 40 >= sizeof l->text) return;
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "%s%s", l->shown ? sep : "", item);
    l->shown++;
}

/* The list's text, with "and N more" when items did not fit */
static const char *list_text(textlist *l) {
    if (l->n > l->shown)
        snprintf(l->text + l->len, sizeof l->text - l->len, "; and %d more", l->n - l->shown);
    return l->n ? l->text : "none";
}

/* 1 if the source holds a tensor named "<prefix>..." */
static int has(const nlcl_init_source *s, const char *prefix) {
    size_t n = strlen(prefix);
    for (int i = 0; i < s->d.count; i++)
        if (!strncmp(s->d.tensors[i].name, prefix, n)) return 1;
    return 0;
}

/* Whether configuration c has network id (as nlcl_trainer_create makes it;
 * nlcl_init_apply checks that they agree) and trains it with Adam. */
static int uses(const nlcl_train_config *c, nlcl_net_id id) {
    int layer = c->rain_generator && c->w_layer > 0;
    switch (id) {
    case NLCL_NET_GB: case NLCL_NET_D: return 1;
    case NLCL_NET_GR: return c->rain_generator != 0;
    case NLCL_NET_HLOC: return c->w_loc > 0;
    case NLCL_NET_HB: return layer;
    case NLCL_NET_HR: return layer && c->layer_head != NLCL_LAYER_HEAD_SHARED;
    case NLCL_NET_GKEY: case NLCL_NET_HKEY: return c->w_loc > 0 && c->momentum > 0;
    case NLCL_NET_GEMA: return c->ema > 0;
    default: return 0;
    }
}
static int stepped(const nlcl_train_config *c, nlcl_net_id id) {
    if ((id == NLCL_NET_HB || id == NLCL_NET_HR) && c->layer_head_frozen) return 0;
    return uses(c, id) && nlcl_net_trainable(id);
}

/* Where a network of the new run starts from. */
typedef enum origin { FROM_SOURCE, AS_GB, AS_HLOC, FRESH } origin;

/* The source's network of the same name when it has one in the same form:
 * the location-contrast heads with the same taps, the layer-contrast heads
 * with the same update (trained heads kept frozen would stay collapsed,
 * docs/TRAINING.md); else G_ema and G_key start as G_B, H_key as H_loc,
 * the others fresh. desc: the new run's description. */
static origin origin_of(const nlcl_init_source *s, const char *desc, nlcl_net_id id) {
    char prefix[32], a[96], b[96];
    snprintf(prefix, sizeof prefix, "%s.", nlcl_net_names[id]);
    int have = has(s, prefix);
    if (have && (id == NLCL_NET_HLOC || id == NLCL_NET_HKEY))
        have = !strcmp(cfg_or(s->config, "loc_taps", "", a, sizeof a), cfg_or(desc, "loc_taps", "", b, sizeof b));
    if (have && (id == NLCL_NET_HB || id == NLCL_NET_HR))
        have = !strcmp(cfg_or(s->config, "layer_head_frozen", "0", a, sizeof a),
                       cfg_or(desc, "layer_head_frozen", "0", b, sizeof b));
    if (have) return FROM_SOURCE;
    if (id == NLCL_NET_GEMA || id == NLCL_NET_GKEY) return AS_GB;
    return id == NLCL_NET_HKEY ? AS_HLOC : FRESH;
}

/* --------------------------------------------------------------- reading */

/* A model file's generator as the source's "G_B.<name>" tensors, and its
 * architecture as a description for the checks. */
static nlcl_status open_model(nlcl_init_source *s, const nlcl_tensor_dict *file, char *arch, size_t n) {
    const char *role = nlcl_tensor_dict_get_meta(file, "role");
    if (role && strcmp(role, "G_B") && strcmp(role, "G_ema"))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%s: holds a %s (its metadata 'role'), not a G_B: --init-from takes "
                              "G_B's weights from a model file",
                              s->path, role);
    nlcl_model *m = NULL;
    NLCL_TRY(nlcl_model_from_dict(file, s->path, &m));
    const nlcl_gen *g = nlcl_model_generator(m);
    snprintf(arch, n, "channels %d\nblocks %d\nresidual %d\n", g->cfg.channels, g->cfg.blocks,
             g->cfg.residual);
    nlcl_status st = nlcl_params_to_dict(&g->params, "G_B.", &s->d);
    const char *it = nlcl_tensor_dict_get_meta(file, "iterations");
    s->iteration = it ? strtoll(it, NULL, 10) : -1;
    nlcl_model_free(m);
    return st;
}

/* A training checkpoint: its tensors, configuration and iteration. */
static nlcl_status open_checkpoint(nlcl_init_source *s, nlcl_tensor_dict *file) {
    s->checkpoint = 1;
    s->d = *file; /* the dict is the source's now */
    nlcl_tensor_dict_init(file);
    s->config = nlcl_tensor_dict_get_meta(&s->d, "config");
    const char *it = nlcl_tensor_dict_get_meta(&s->d, "iteration");
    char *end = NULL;
    s->iteration = it ? strtoll(it, &end, 10) : -1;
    if (!s->config || !it || !end || *end || s->iteration < 0)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: an nlcl training checkpoint without its "
                              "configuration or iteration", s->path);
    const char *bad = NULL;
    if (!nlcl_tensor_dict_all_finite(&s->d, &bad))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%s' holds NaN or infinite values", s->path,
                              bad ? bad : "?");
    return NLCL_OK;
}

/* Every difference of the networks' shapes, in one message. */
static nlcl_status check_architecture(const nlcl_init_source *s, const char *there, const char *desc) {
    static const char *const keys[] = {"channels", "blocks", "residual", "ndf", "head_dim"};
    textlist l = {.len = 0};
    char a[96], b[96], hint[160];
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (!cfg_get(there, keys[i], a, sizeof a) || !cfg_get(desc, keys[i], b, sizeof b) || !strcmp(a, b))
            continue; /* a model file has no ndf or head_dim: its D and heads start fresh */
        if (!strcmp(keys[i], "residual")) snprintf(hint, sizeof hint, " (%s --residual)", strcmp(a, "1") ? "without" : "add");
        else if (strcmp(keys[i], "head_dim")) snprintf(hint, sizeof hint, " (--%s %s)", keys[i], a);
        else hint[0] = '\0';
        list_add(&l, "; ", "'%s %s' there, '%s %s' here%s", keys[i], a, keys[i], b, hint);
    }
    if (l.n == 0) return NLCL_OK;
    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                          "--init-from %s: its networks have another architecture than these options "
                          "give: %s; give the same architecture options, or train from scratch",
                          s->path, list_text(&l));
}

/* --init-continue: the run goes on at the checkpoint's iteration with its
 * Adam moments, which must then exist for every network trained here and
 * count the same steps (the same warm-up). */
static nlcl_status check_continue(const nlcl_init_source *s, const nlcl_train_config *c, const char *desc) {
    if (!s->checkpoint)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "--init-continue: %s is a model file, not a training checkpoint (it has "
                              "no iteration or Adam moments to continue); start from its weights "
                              "without --init-continue",
                              s->path);
    textlist l = {.len = 0};
    char a[64];
    cfg_or(s->config, "warmup", "0", a, sizeof a);
    if (strtoll(a, NULL, 10) != c->warmup)
        list_add(&l, "; ", "'warmup %s' there, 'warmup %lld' here (--warmup %s: Adam counts the steps "
                 "of D, G_R and the heads from the end of the warm-up)", a, (long long)c->warmup, a);
    if (s->iteration >= c->iters)
        list_add(&l, "; ", "the checkpoint is at iteration %lld and --iters %lld leaves nothing to train "
                 "(with --init-continue, --iters counts from the source run's start)",
                 (long long)s->iteration, (long long)c->iters);
    for (int id = 0; id < NLCL_NET_COUNT; id++)
        if (stepped(c, (nlcl_net_id)id) && origin_of(s, desc, (nlcl_net_id)id) != FROM_SOURCE)
            list_add(&l, "; ", "%s would start fresh (the checkpoint has none in this form), without the "
                     "Adam moments that its step at iteration %lld needs", nlcl_net_names[id],
                     (long long)s->iteration + 1);
    if (l.n == 0) return NLCL_OK;
    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                          "--init-continue %s: the run cannot go on from this checkpoint with these "
                          "options: %s; leave out --init-continue to start from its weights at "
                          "iteration 0 with fresh Adam moments",
                          s->path, list_text(&l));
}

static nlcl_status open_source(nlcl_init_source *s, const char *path, const nlcl_train_config *c, int keep) {
    if (!(s->path = strdup(path))) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    s->keep = keep;
    nlcl_tensor_dict file;
    NLCL_TRY(nlcl_weights_load(path, &file));
    const char *fmt = nlcl_tensor_dict_get_meta(&file, "format");
    char arch[96];
    nlcl_status st = fmt && !strcmp(fmt, "nlcl-checkpoint-1") ? open_checkpoint(s, &file)
                                                               : open_model(s, &file, arch, sizeof arch);
    nlcl_tensor_dict_free(&file);
    NLCL_TRY(st);
    char *desc = nlcl_train_config_describe(c);
    if (!desc) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    st = check_architecture(s, s->checkpoint ? s->config : arch, desc);
    if (st == NLCL_OK && keep) st = check_continue(s, c, desc);
    free(desc);
    return st;
}

nlcl_status nlcl_init_open(nlcl_init_source *s, const char *path, const nlcl_train_config *c, int keep) {
    memset(s, 0, sizeof *s);
    nlcl_tensor_dict_init(&s->d);
    if (!path || !*path) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "--init-from: no file given");
    nlcl_status st = open_source(s, path, c, keep);
    if (st == NLCL_OK) return NLCL_OK;
    nlcl_init_close(s);
    const char *m = nlcl_error_message(); /* the file's own errors name the option too */
    return m && strncmp(m, "--init-", 7) ? nlcl_error_prefix(st, "--init-from: ") : st;
}

void nlcl_init_close(nlcl_init_source *s) {
    nlcl_tensor_dict_free(&s->d);
    free(s->path);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- applying */

/* What the report says of each network. */
typedef struct init_lists {
    textlist taken, as_start, fresh, unused;
} init_lists;

/* Network id of t from its origin o; with s->keep, its Adam moments too. */
static nlcl_status put_network(const nlcl_init_source *s, nlcl_trainer *t, nlcl_net_id id, origin o) {
    nlcl_params *p = nlcl_trainer_params(t, id);
    char prefix[40];
    if (o == FROM_SOURCE) {
        snprintf(prefix, sizeof prefix, "%s.", nlcl_net_names[id]);
        NLCL_TRY(nlcl_params_block_from_dict(p, p->data, prefix, &s->d, s->path));
        if (!s->keep || !nlcl_trainer_steps(t, id)) return NLCL_OK;
        snprintf(prefix, sizeof prefix, "%s.adam_m.", nlcl_net_names[id]);
        NLCL_TRY(nlcl_params_block_from_dict(p, p->adam_m, prefix, &s->d, s->path));
        snprintf(prefix, sizeof prefix, "%s.adam_v.", nlcl_net_names[id]);
        return nlcl_params_block_from_dict(p, p->adam_v, prefix, &s->d, s->path);
    }
    if (o == FRESH) return NLCL_OK;
    /* the moving averages start as what they follow (G_B, H_loc: done before, lower ids) */
    const nlcl_params *from = nlcl_trainer_params(t, o == AS_GB ? NLCL_NET_GB : NLCL_NET_HLOC);
    NLCL_CHECK(from && from->total == p->total);
    memcpy(p->data, from->data, p->total * sizeof(float));
    return NLCL_OK;
}

/* Each option of the new run (here) that the source run (there) had
 * otherwise: "w_loc 1 -> 0", "ema (none) -> 0.999", "warmup 3000 -> (none)". */
static void list_changes(const char *there, const char *here, textlist *l) {
    char key[64], mine[256], other[256];
    for (int pass = 0; pass < 2; pass++) { /* the options here, then those only there */
        const char *lines = pass ? there : here, *others = pass ? here : there;
        for (const char *p = lines; p && *p;) {
            const char *e = strchr(p, '\n'), *sp = strchr(p, ' ');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (sp && sp < p + len && (size_t)(sp - p) < sizeof key) {
                snprintf(key, sizeof key, "%.*s", (int)(sp - p), p);
                snprintf(mine, sizeof mine, "%.*s", (int)(len - (size_t)(sp - p) - 1), sp + 1);
                int found = cfg_get(others, key, other, sizeof other);
                if (!found && !pass) list_add(l, ", ", "%s (none) -> %s", key, mine);
                else if (!found) list_add(l, ", ", "%s %s -> (none)", key, mine);
                else if (!pass && strcmp(mine, other)) list_add(l, ", ", "%s %s -> %s", key, other, mine);
            }
            p = e ? e + 1 : NULL;
        }
    }
}

/* "from F (a training checkpoint at iteration N): taken ...; ..." into report */
static void write_report(const nlcl_init_source *s, init_lists *L, const char *desc, char *report,
                         size_t size) {
    if (!report || size == 0) return;
    char iter[64] = "", start[128];
    if (s->iteration >= 0) snprintf(iter, sizeof iter, " at iteration %lld", (long long)s->iteration);
    if (s->keep)
        snprintf(start, sizeof start, "the iteration and the Adam moments taken: the run goes on at "
                 "iteration %lld", (long long)s->iteration);
    else
        snprintf(start, sizeof start, "Adam moments fresh, the run starts at iteration 0");
    textlist changes = {.len = 0};
    if (s->checkpoint) list_changes(s->config, desc, &changes);
    snprintf(report, size,
             "from %s (%s%s): taken %s; %s%s%sfresh (from --seed): %s; not used by these options: %s; "
             "%s; options that differ from the source run's: %s",
             s->path, s->checkpoint ? "a training checkpoint" : "a G_B model file", iter,
             list_text(&L->taken), L->as_start.n ? "copied from G_B or H_loc here: " : "",
             L->as_start.n ? list_text(&L->as_start) : "", L->as_start.n ? "; " : "",
             list_text(&L->fresh), list_text(&L->unused), start,
             s->checkpoint ? list_text(&changes) : "(a model file records none)");
}

nlcl_status nlcl_init_apply(const nlcl_init_source *s, nlcl_trainer *t, char *report, size_t size) {
    if (nlcl_trainer_iteration(t) != 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "--init-from: the trainer has already trained "
                              "(iteration %lld); start from another run's weights with a new one",
                              (long long)nlcl_trainer_iteration(t));
    const nlcl_train_config *c = nlcl_trainer_config(t);
    char *desc = nlcl_train_config_describe(c);
    if (!desc) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    init_lists L;
    memset(&L, 0, sizeof L);
    nlcl_status st = NLCL_OK;
    for (int i = 0; st == NLCL_OK && i < NLCL_NET_COUNT; i++) {
        nlcl_net_id id = (nlcl_net_id)i;
        const char *name = nlcl_net_names[id];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s.", name);
        int here = nlcl_trainer_params(t, id) != NULL;
        if (here != uses(c, id)) {
            st = nlcl_error_set(NLCL_ERR_INTERNAL, "internal error: %s %s in the trainer (init.c uses)",
                                name, here ? "present" : "absent");
        } else if (!here) {
            if (has(s, prefix)) list_add(&L.unused, ", ", "%s", name);
        } else {
            origin o = origin_of(s, desc, id);
            list_add(o == FROM_SOURCE ? &L.taken : o == FRESH ? &L.fresh : &L.as_start, ", ", "%s", name);
            st = put_network(s, t, id, o);
        }
    }
    if (st == NLCL_OK && s->keep) nlcl_trainer_set_iteration(t, s->iteration);
    /* the source run's convolution algorithms, as a resumed run uses them */
    const char *algos = s->checkpoint ? nlcl_tensor_dict_get_meta(&s->d, "conv_algorithms") : NULL;
    if (st == NLCL_OK && algos && *algos) {
        st = nlcl_conv2d_choices_import(algos);
        if (st == NLCL_OK) st = nlcl_trainer_replan(t);
    }
    if (st == NLCL_OK) write_report(s, &L, desc, report, size);
    free(desc);
    return st;
}

/* ---------------------------------------------------------- in a job */

nlcl_status nlcl_init_check_job(const nlcl_train_job *job) {
    if (job->init_continue && !job->init_from)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "--init-continue needs --init-from CHECKPOINT");
    if (!job->init_from) return NLCL_OK;
    if (job->resume)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "--init-from starts a new run and --resume continues one: give one of "
                              "them (a run started with --init-from continues with --resume --out "
                              "RUN_DIR alone)");
    char *dir = strdup(job->init_from);
    if (!dir) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0'; /* "/file": the root */
    else if (slash) *slash = '\0';
    int inside = nlcl_same_file(slash ? dir : ".", job->run_dir);
    free(dir);
    if (inside)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "--init-from %s lies in the run folder %s, which the new run writes; "
                              "give another --out (the source is never changed)",
                              job->init_from, job->run_dir);
    return NLCL_OK;
}

nlcl_status nlcl_init_start(nlcl_init_source *s, nlcl_trainer *t, const nlcl_train_job *job) {
    char report[3000];
    NLCL_TRY(nlcl_init_apply(s, t, report, sizeof report));
    if (!job->quiet) nlcl_train_say(job, "starting %s %s", job->run_dir, report);
    nlcl_tensor_dict_free(&s->d);
    s->config = NULL; /* it was in the dict */
    return NLCL_OK;
}

void nlcl_init_record(const nlcl_init_source *s, FILE *f) {
    if (!s->path) return;
    fprintf(f, "init_from %s\n", s->path);
    if (s->iteration >= 0) fprintf(f, "init_iteration %lld\n", (long long)s->iteration);
    if (s->keep) fprintf(f, "init_continue 1\n");
}

/* ------------------------------------------------------------- the API */

nlcl_status nlcl_trainer_init_from(nlcl_trainer *t, const char *path, int keep_iteration, char *report,
                                   size_t report_size) {
    if (!t) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "--init-from: no trainer");
    nlcl_init_source s;
    NLCL_TRY(nlcl_init_open(&s, path, nlcl_trainer_config(t), keep_iteration));
    nlcl_status st = nlcl_init_apply(&s, t, report, report_size);
    nlcl_init_close(&s);
    return st;
}
