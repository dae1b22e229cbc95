/* The training job: data, loop, run folder (include/nlcl/train.h).
 *
 * Run folder:
 *   checkpoint.safetensors          latest checkpoint (atomic, never partial)
 *   checkpoint-<iter>.safetensors   periodic copies (--keep-every)
 *   losses.tsv                      every loss term of every iteration
 *   (losses.png                     drawn from losses.tsv by the nlcl command,
 *                                   through job->saved; the library draws nothing)
 *   samples/<iter>.png              input | B | R of the batch's first image
 *   G_B.safetensors, G_R.safetensors  exported models (at the end)
 *   config.txt                      the options of the run
 *   validation.tsv, G_B-best.safetensors  with validation: the mean Y-PSNR and
 *                                   SSIM of each validation, and the best G_B
 * Randomness: iteration t draws its crops from PCG32(seed, stream 2^32 + t),
 * the rainy order of epoch e from PCG32(seed, 2^33 + e), the trainer's samples
 * from PCG32(seed, 1000 + t): a resumed run repeats exactly what the
 * uninterrupted one would have done.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/internal.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/train.h"
#include "train/data.h"
#include "train/trainer.h"
#include "train/validate.h"

#define NTERMS 7
static const char *const term_names[NTERMS] = {"G", "D", "gan", "loc", "layer", "cons", "sparsity"};

static void term_values(const nlcl_losses *L, double *v) {
    v[0] = L->G, v[1] = L->D, v[2] = L->gan, v[3] = L->loc, v[4] = L->layer, v[5] = L->cons,
    v[6] = L->sp;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void say(const nlcl_train_job *job, const char *fmt, ...) {
    if (!job->message) return;
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    job->message(job->ctx, buf);
}

/* informational lines ("data: ...", "resuming ..."): not with job->quiet */
#define SAY_INFO(job, ...)                                                                         \
    do {                                                                                           \
        if (!(job)->quiet) say(job, __VA_ARGS__);                                                  \
    } while (0)

/* On resume, before the images are read: config.txt of the run must hold the
 * same value for every option this configuration describes. A missing file
 * or option is left to the checkpoint's own check. */
static nlcl_status check_config_file(const char *cfgp, const char *run_dir,
                                     const nlcl_train_config *c) {
    FILE *f = fopen(cfgp, "r");
    if (!f) return NLCL_OK;
    char *desc = nlcl_train_config_describe(c);
    if (!desc) {
        fclose(f);
        return nlcl_error_set(NLCL_ERR_NOMEM, "train: out of memory");
    }
    nlcl_status s = NLCL_OK;
    char line[4096];
    /* every option this command describes must be in config.txt (options
       added later, e.g. w_eroded, are listed only when used) */
    char *seen = calloc(strlen(desc) + 1, 1); /* per desc byte: its line was found */
    if (!seen) {
        fclose(f);
        free(desc);
        return nlcl_error_set(NLCL_ERR_NOMEM, "train: out of memory");
    }
    while (s == NLCL_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *sp = strchr(line, ' ');
        if (line[0] == '#' || !sp || !strncmp(line, "command ", 8)) continue;
        size_t kl = (size_t)(sp - line) + 1; /* "name " */
        int found = 0;
        for (const char *d = desc; *d;) {
            const char *e = strchr(d, '\n');
            size_t dl = e ? (size_t)(e - d) : strlen(d);
            if (dl >= kl && !strncmp(d, line, kl)) {
                seen[d - desc] = 1;
                found = 1;
                if (dl != strlen(line) || strncmp(d, line, dl) != 0)
                    s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                       "train: --resume: the run in %s has '%s' (config.txt), this "
                                       "command gives '%.*s'; resume with the same options",
                                       run_dir, line, (int)dl, d);
                break;
            }
            d += dl + (e ? 1 : 0);
        }
        if (s == NLCL_OK && !found)
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                               "train: --resume: the run in %s has '%s' (config.txt), an option "
                               "this command does not use; resume with the same options",
                               run_dir, line);
    }
    for (const char *d = desc; s == NLCL_OK && *d;) {
        const char *e = strchr(d, '\n');
        size_t dl = e ? (size_t)(e - d) : strlen(d);
        if (!seen[d - desc])
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                               "train: --resume: this command gives '%.*s', which the run in %s "
                               "did not use (config.txt); resume with the same options",
                               (int)dl, d, run_dir);
        d += dl + (e ? 1 : 0);
    }
    free(seen);
    fclose(f);
    free(desc);
    return s;
}

/* On resume: the folders validation.tsv was made with ("# rainy DIR",
 * "# clean DIR") must be this command's; without validation options, a
 * warning that the record stops here. Before the images are read. */
static nlcl_status check_validation_file(const nlcl_train_job *job) {
    char *tsv = join(job->run_dir, "validation.tsv");
    if (!tsv) return nlcl_error_set(NLCL_ERR_NOMEM, "train: out of memory");
    FILE *f = fopen(tsv, "r");
    nlcl_status s = NLCL_OK;
    char line[4200], rainy[4200] = "", clean[4200] = "";
    long long last = -1;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "# rainy ", 8)) snprintf(rainy, sizeof rainy, "%s", line + 8);
        else if (!strncmp(line, "# clean ", 8)) snprintf(clean, sizeof clean, "%s", line + 8);
        else sscanf(line, "%lld", &last);
    }
    if (f) fclose(f);
    if (*rainy && *clean && job->val_every > 0) {
        int same = (!strcmp(rainy, job->val_rainy_dir) || nlcl_same_file(rainy, job->val_rainy_dir)) &&
                   (!strcmp(clean, job->val_clean_dir) || nlcl_same_file(clean, job->val_clean_dir));
        if (!same)
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                               "train: --resume: the run in %s validated on %s and %s "
                               "(validation.tsv), this command gives %s and %s; resume with the same "
                               "--val-rainy/--val-clean, or move validation.tsv and "
                               "G_B-best.safetensors away to start a new record",
                               job->run_dir, rainy, clean, job->val_rainy_dir, job->val_clean_dir);
    } else if (*rainy && job->val_every == 0 && last >= 0) {
        say(job, "warning: the run in %s validated on %s and %s; without --val-rainy/--val-clean "
                 "this resume does not, and validation.tsv and G_B-best.safetensors stay at "
                 "iteration %lld",
            job->run_dir, rainy, clean, last);
    }
    free(tsv);
    return s;
}

/* loss history (rebuilt from losses.tsv on resume) */
typedef struct history {
    int64_t n, cap;
    double *x, *y[NTERMS];
} history;

static int hist_add(history *h, double x, const double *v) {
    if (h->n == h->cap) {
        int64_t cap = h->cap ? h->cap * 2 : 1024;
        double *nx = realloc(h->x, sizeof(double) * (size_t)cap);
        if (!nx) return 0;
        h->x = nx;
        for (int k = 0; k < NTERMS; k++) {
            double *ny = realloc(h->y[k], sizeof(double) * (size_t)cap);
            if (!ny) return 0;
            h->y[k] = ny;
        }
        h->cap = cap;
    }
    h->x[h->n] = x;
    for (int k = 0; k < NTERMS; k++) h->y[k][h->n] = v[k];
    h->n++;
    return 1;
}

static void hist_free(history *h) {
    free(h->x);
    for (int k = 0; k < NTERMS; k++) free(h->y[k]);
    memset(h, 0, sizeof *h);
}

/* Rewrite losses.tsv keeping the header and rows with iteration <= upto, and
 * load those rows into the history. A missing file is fine. */
static nlcl_status log_truncate(const char *path, int64_t upto, history *h) {
    FILE *f = fopen(path, "r");
    if (!f) return NLCL_OK;
    nlcl_afile out;
    nlcl_status s = nlcl_afile_open(&out, path, "train");
    if (s != NLCL_OK) {
        fclose(f);
        return s;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == 'i') { /* header */
            fputs(line, out.fp);
            continue;
        }
        long long it;
        double v[NTERMS + 1];
        if (sscanf(line, "%lld %lf %lf %lf %lf %lf %lf %lf %lf", &it, &v[NTERMS], &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6]) != 9)
            continue;
        if (it > upto) break;
        fputs(line, out.fp);
        hist_add(h, (double)it, v);
    }
    fclose(f);
    return nlcl_afile_commit(&out);
}

/* input | B | R of image 0, each clamped to [-1, 1] */
static nlcl_status save_sample(const char *path, const float *O, const float *B, const float *R,
                               int ch, int cw) {
    int panels = R ? 3 : 2;
    nlcl_image img = {0};
    NLCL_TRY(nlcl_image_alloc(&img, panels * cw, ch));
    size_t plane = (size_t)ch * cw, W = (size_t)panels * cw;
    const float *src[3] = {O, B, R};
    for (int p = 0; p < panels; p++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < ch; y++)
                memcpy(img.data + c * W * ch + (size_t)y * W + (size_t)p * cw,
                       src[p] + c * plane + (size_t)y * cw, sizeof(float) * (size_t)cw);
    nlcl_status s = nlcl_image_save_png(path, &img, NLCL_QUANT_ROUND, 0);
    nlcl_image_free(&img);
    return s;
}

/* losses.tsv is flushed and holds every iteration so far: tell the caller */
static void saved(const nlcl_train_job *job, FILE *log, int64_t it) {
    fflush(log);
    if (job->saved) job->saved(job->ctx, job->run_dir, it);
}

static nlcl_status checkpoint(const nlcl_train_job *job, const nlcl_trainer *t, const char *ckpt) {
    NLCL_TRY(nlcl_trainer_save(t, ckpt));
    int64_t it = nlcl_trainer_iteration(t);
    if (job->keep_every > 0 && it % job->keep_every == 0) {
        char name[64];
        snprintf(name, sizeof name, "checkpoint-%08lld.safetensors", (long long)it);
        char *p = join(job->run_dir, name);
        if (!p) return NLCL_ERR_NOMEM;
        nlcl_status s = nlcl_trainer_save(t, p);
        free(p);
        return s;
    }
    return NLCL_OK;
}

/* Export G_B (and G_R) as RUN_DIR/<name><suffix>.safetensors with the run's
 * metadata; only G_B when best is set, adding its "validation" entry. */
static nlcl_status export_models(const nlcl_train_job *job, const nlcl_trainer *t,
                                 const nlcl_dataset *rainy, const nlcl_dataset *clean,
                                 const nlcl_losses *last, const char *best) {
    char iters[32], nimg[96], losses[256], when[64];
    snprintf(iters, sizeof iters, "%lld", (long long)nlcl_trainer_iteration(t));
    snprintf(nimg, sizeof nimg, "%d rainy, %d clean", rainy->count, clean->count);
    snprintf(losses, sizeof losses, "G %.5g D %.5g gan %.5g loc %.5g layer %.5g cons %.5g sparsity %.5g",
             last->G, last->D, last->gan, last->loc, last->layer, last->cons, last->sp);
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    /* data folders, ';'-separated */
    char data[2048] = "";
    size_t k = 0;
    for (int i = 0; i < job->n_rainy_dirs && k < sizeof data; i++)
        k += (size_t)snprintf(data + k, sizeof data - k, "%srainy:%s", k ? ";" : "", job->rainy_dirs[i]);
    for (int i = 0; i < job->n_clean_dirs && k < sizeof data; i++)
        k += (size_t)snprintf(data + k, sizeof data - k, "%sclean:%s", k ? ";" : "", job->clean_dirs[i]);
    char *cfg = nlcl_train_config_describe(&job->cfg);
    const char *keys[] = {"training_command", "training_data", "training_images", "iterations",
                          best ? "losses_at_iteration" : "final_losses", "trained_at",
                          "training_config", "software", "validation"};
    const char *vals[] = {job->command_line ? job->command_line : "", data, nimg, iters, losses,
                          when, cfg ? cfg : "", "nlcl 0.1.0", best ? best : ""};
    nlcl_status s = NLCL_OK;
    const char *which[2] = {"G_B", "G_R"};
    for (int i = 0; s == NLCL_OK && i < (job->cfg.rain_generator && !best ? 2 : 1); i++) {
        char name[48];
        snprintf(name, sizeof name, "%s%s.safetensors", which[i], best ? "-best" : "");
        char *p = join(job->run_dir, name);
        if (!p) s = NLCL_ERR_NOMEM;
        else s = nlcl_trainer_export(t, which[i], p, keys, vals, best ? 9 : 8);
        free(p);
    }
    free(cfg);
    return s;
}

/* validation state of a run */
typedef struct val_state {
    nlcl_val_set set;
    char *tsv;
    double input_psnr, input_ssim;
    double best_psnr;
    int64_t best_iter; /* -1: none yet */
} val_state;

/* Keep the rows of validation.tsv up to iteration upto (a resumed run) and
 * recover the best so far; write the header if the file is new. */
static nlcl_status val_log_init(const nlcl_train_job *job, val_state *v, int64_t upto) {
    v->best_iter = -1;
    FILE *f = fopen(v->tsv, "r");
    nlcl_afile out;
    NLCL_TRY(nlcl_afile_open(&out, v->tsv, "train"));
    fprintf(out.fp, "# rainy %s\n# clean %s\niter\tpsnr_y\tssim\n", job->val_rainy_dir, job->val_clean_dir);
    char line[4200];
    while (f && fgets(line, sizeof line, f)) {
        long long it;
        double p, q;
        if (sscanf(line, "%lld %lf %lf", &it, &p, &q) != 3) continue;
        if (it > upto) break;
        fputs(line, out.fp);
        if (v->best_iter < 0 || p > v->best_psnr) v->best_psnr = p, v->best_iter = it;
    }
    if (f) fclose(f);
    return nlcl_afile_commit(&out);
}

static nlcl_status validate(const nlcl_train_job *job, const nlcl_trainer *t, val_state *v,
                            const nlcl_dataset *rainy, const nlcl_dataset *clean,
                            const nlcl_losses *last) {
    nlcl_model *m = NULL;
    double p = 0, q = 0;
    double t0 = now_s();
    nlcl_status s = nlcl_trainer_model(t, "G_B", NULL, NULL, 0, &m);
    if (s == NLCL_OK) s = nlcl_val_score(&v->set, m, &p, &q);
    nlcl_model_free(m);
    if (s != NLCL_OK) return s;
    int64_t it = nlcl_trainer_iteration(t);
    int better = v->best_iter < 0 || p > v->best_psnr;
    if (better) {
        char what[512];
        snprintf(what, sizeof what,
                 "the best mean Y-PSNR of the validations every %lld iteration(s): %.4f dB (SSIM "
                 "%.4f) on %d pair(s) of %s and %s at iteration %lld; the input scores %.4f dB",
                 (long long)job->val_every, p, q, v->set.count, job->val_rainy_dir,
                 job->val_clean_dir, (long long)it, v->input_psnr);
        NLCL_TRY(export_models(job, t, rainy, clean, last, what));
        v->best_psnr = p, v->best_iter = it;
    }
    FILE *f = fopen(v->tsv, "a");
    if (!f) return nlcl_error_set(NLCL_ERR_IO, "train: %s: %s", v->tsv, strerror(errno));
    fprintf(f, "%lld\t%.6f\t%.6f\n", (long long)it, p, q);
    if (fclose(f) != 0) return nlcl_error_set(NLCL_ERR_IO, "train: %s: write failed", v->tsv);
    SAY_INFO(job, "validation at iteration %lld: Y-PSNR %.2f dB, SSIM %.4f (input %.2f dB, %.4f)%s; "
                  "best: iteration %lld, %.2f dB (%.1f s)",
             (long long)it, p, q, v->input_psnr, v->input_ssim, better ? ", new best" : "",
             (long long)v->best_iter, v->best_psnr, now_s() - t0);
    return NLCL_OK;
}

nlcl_status nlcl_train_run(const nlcl_train_job *job) {
    const nlcl_train_config *c = &job->cfg;
    NLCL_TRY(nlcl_train_config_check(c));
    if (!job->run_dir || !*job->run_dir)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "train: no run folder given");
    /* the run folder must not be a data folder: checkpoints, samples and
     * losses.png would land among the training images */
    for (int k = 0; k < 2; k++) {
        const char *const *dirs = k ? job->clean_dirs : job->rainy_dirs;
        int nd = k ? job->n_clean_dirs : job->n_rainy_dirs;
        for (int i = 0; dirs && i < nd; i++)
            if (dirs[i] && nlcl_same_file(job->run_dir, dirs[i]))
                return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                      "train: the run folder %s is the %s image folder %s; choose "
                                      "another --out",
                                      job->run_dir, k ? "clean" : "rainy", dirs[i]);
    }
    /* a run folder made here is removed again if the job fails before
     * writing anything into it */
    int made_dir = !nlcl_is_dir(job->run_dir);
    NLCL_TRY(nlcl_mkdirs(job->run_dir));
    char *ckpt = join(job->run_dir, "checkpoint.safetensors");
    char *logp = join(job->run_dir, "losses.tsv");
    char *sdir = join(job->run_dir, "samples");
    char *cfgp = join(job->run_dir, "config.txt");
    nlcl_dataset rainy = {0}, clean = {0};
    nlcl_trainer *t = NULL;
    history hist = {0};
    FILE *log = NULL;
    nlcl_status s = NLCL_OK;
    float *O = NULL, *B = NULL;
    int32_t *perm = NULL;
    nlcl_losses last = {0};
    val_state val = {0};
    if (!ckpt || !logp || !sdir || !cfgp) {
        s = nlcl_error_set(NLCL_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    int have_ckpt = access(ckpt, F_OK) == 0;
    if (job->resume && !have_ckpt) {
        s = nlcl_error_set(NLCL_ERR_IO, "train: --resume: %s does not exist", ckpt);
        goto done;
    }
    if (!job->resume && have_ckpt) {
        s = nlcl_error_set(NLCL_ERR_INVALID_ARG,
                           "train: %s already holds a run (checkpoint.safetensors); use --resume to "
                           "continue it, or another --out folder",
                           job->run_dir);
        goto done;
    }
    if (job->resume) {
        s = check_config_file(cfgp, job->run_dir, c);
        if (s == NLCL_OK) s = check_validation_file(job);
        if (s != NLCL_OK) goto done;
    } else {
        /* records of a run that was killed before its first checkpoint */
        const char *stale[2] = {"validation.tsv", "G_B-best.safetensors"};
        for (int i = 0; i < 2; i++) {
            char *p = join(job->run_dir, stale[i]);
            if (p) unlink(p);
            free(p);
        }
    }
    /* data: every image decoded and checked once */
    double t0 = now_s();
    s = nlcl_dataset_open(&rainy, "rainy", job->rainy_dirs, job->n_rainy_dirs, job->skip_bad,
                          job->message, job->ctx);
    if (s == NLCL_OK)
        s = nlcl_dataset_open(&clean, "clean", job->clean_dirs, job->n_clean_dirs, job->skip_bad,
                              job->message, job->ctx);
    if (s != NLCL_OK) goto done;
    SAY_INFO(job, "data: %d rainy and %d clean images checked (%.1f MB in memory, %.1f s)", rainy.count,
        clean.count, (double)(rainy.bytes + clean.bytes) / 1e6, now_s() - t0);
    if (job->val_every > 0) {
        if (!job->val_rainy_dir || !job->val_clean_dir) {
            s = nlcl_error_set(NLCL_ERR_INVALID_ARG, "train: validation needs a rainy and a clean folder");
            goto done;
        }
        double tv = now_s();
        s = nlcl_val_open(&val.set, job->val_rainy_dir, job->val_clean_dir);
        if (s == NLCL_OK) s = nlcl_val_score(&val.set, NULL, &val.input_psnr, &val.input_ssim);
        if (s == NLCL_OK && !(val.tsv = join(job->run_dir, "validation.tsv"))) s = NLCL_ERR_NOMEM;
        if (s != NLCL_OK) goto done;
        SAY_INFO(job, "validation: %d pair(s) (%s, %s), every %lld iteration(s); the input scores "
                      "Y-PSNR %.2f dB, SSIM %.4f (%.1f s)",
                 val.set.count, job->val_rainy_dir, job->val_clean_dir, (long long)job->val_every,
                 val.input_psnr, val.input_ssim, now_s() - tv);
    }
    s = nlcl_trainer_create(c, &t);
    if (s != NLCL_OK) goto done;
    if (job->resume) {
        s = nlcl_trainer_load(t, ckpt);
        if (s != NLCL_OK) goto done;
        SAY_INFO(job, "resuming %s at iteration %lld of %lld", job->run_dir,
            (long long)nlcl_trainer_iteration(t), (long long)c->iters);
        s = log_truncate(logp, nlcl_trainer_iteration(t), &hist);
        if (s != NLCL_OK) goto done;
        if (val.set.count > 0 && (s = val_log_init(job, &val, nlcl_trainer_iteration(t))) != NLCL_OK) goto done;
    } else {
        char *desc = nlcl_train_config_describe(c);
        nlcl_afile cf;
        s = desc ? nlcl_afile_open(&cf, cfgp, "train") : NLCL_ERR_NOMEM;
        if (s == NLCL_OK) {
            fprintf(cf.fp, "# nlcl train configuration\n%s%s%s\n", desc,
                    job->command_line ? "command " : "", job->command_line ? job->command_line : "");
            s = nlcl_afile_commit(&cf);
        }
        free(desc);
        if (s != NLCL_OK) goto done;
        FILE *f = fopen(logp, "w");
        if (!f) {
            s = nlcl_error_set(NLCL_ERR_IO, "train: %s: %s", logp, strerror(errno));
            goto done;
        }
        fprintf(f, "iter\tseconds");
        for (int k = 0; k < NTERMS; k++) fprintf(f, "\t%s", term_names[k]);
        fprintf(f, "\n");
        fclose(f);
        if (val.set.count > 0 && (s = val_log_init(job, &val, -1)) != NLCL_OK) goto done;
    }
    log = fopen(logp, "a");
    if (!log) {
        s = nlcl_error_set(NLCL_ERR_IO, "train: %s: %s", logp, strerror(errno));
        goto done;
    }
    if (job->sample_every > 0 && (s = nlcl_mkdirs(sdir)) != NLCL_OK) goto done;
    const int n = c->batch, ch = c->crop, cw = c->crop_w ? c->crop_w : c->crop;
    size_t one = (size_t)3 * ch * cw;
    O = nlcl_alloc_floats(one * n, "training batch");
    B = nlcl_alloc_floats(one * n, "training batch");
    perm = malloc(sizeof(int32_t) * (size_t)rainy.count);
    if (!O || !B || !perm) {
        s = NLCL_ERR_NOMEM;
        goto done;
    }
    int64_t perm_epoch = -1;
    double start = now_s(), last_report = start;
    int64_t first = nlcl_trainer_iteration(t), last_iter_report = first;
    while (nlcl_trainer_iteration(t) < c->iters) {
        int64_t it = nlcl_trainer_iteration(t);
        if (job->stop_flag && *job->stop_flag) {
            s = checkpoint(job, t, ckpt);
            if (s == NLCL_OK)
                s = nlcl_error_set(NLCL_ERR_INTERRUPTED,
                                   "train: stopped at iteration %lld; checkpoint written, continue "
                                   "with --resume",
                                   (long long)it);
            goto done;
        }
        nlcl_rng r;
        nlcl_rng_seed(&r, c->seed, ((uint64_t)1 << 32) + (uint64_t)it);
        for (int b = 0; b < n; b++) {
            int64_t sidx = it * n + b, epoch = sidx / rainy.count;
            if (epoch != perm_epoch) {
                nlcl_rng pr;
                nlcl_rng_seed(&pr, c->seed, ((uint64_t)2 << 32) + (uint64_t)epoch);
                for (int i = 0; i < rainy.count; i++) perm[i] = i;
                for (int i = rainy.count - 1; i > 0; i--) {
                    int j = (int)nlcl_rng_below(&pr, (uint32_t)(i + 1));
                    int32_t tmp = perm[i];
                    perm[i] = perm[j];
                    perm[j] = tmp;
                }
                perm_epoch = epoch;
            }
            nlcl_dataset_crop(&rainy, perm[sidx % rainy.count], ch, cw, &r, O + b * one);
            nlcl_dataset_crop(&clean, (int)nlcl_rng_below(&r, (uint32_t)clean.count), ch, cw, &r,
                              B + b * one);
        }
        s = nlcl_trainer_step(t, O, B, &last);
        if (s != NLCL_OK) goto done; /* nothing saved: the last good checkpoint stays */
        it++;
        double v[NTERMS];
        term_values(&last, v);
        fprintf(log, "%lld\t%.3f", (long long)it, now_s() - start);
        for (int k = 0; k < NTERMS; k++) fprintf(log, "\t%.8g", v[k]);
        fprintf(log, "\n");
        hist_add(&hist, (double)it, v);
        int final = it == c->iters;
        if (job->sample_every > 0 && (it % job->sample_every == 0 || final)) {
            char name[48];
            snprintf(name, sizeof name, "%08lld.png", (long long)it);
            char *p = join(sdir, name);
            s = p ? save_sample(p, O, nlcl_trainer_pred_B(t), nlcl_trainer_pred_R(t), ch, cw) : NLCL_ERR_NOMEM;
            free(p);
            if (s != NLCL_OK) goto done;
        }
        if (val.set.count > 0 && it % job->val_every == 0) {
            s = validate(job, t, &val, &rainy, &clean, &last);
            if (s != NLCL_OK) goto done;
        }
        if ((job->save_every > 0 && it % job->save_every == 0) || final) {
            fflush(log);
            s = checkpoint(job, t, ckpt);
            if (s != NLCL_OK) goto done;
            if (!final) saved(job, log, it); /* the final call comes after the export */
        }
        if ((job->log_every > 0 && it % job->log_every == 0) || final) {
            fflush(log);
            double nowt = now_s();
            nlcl_train_progress p = {it, c->iters, last, nowt - start, 0, 0};
            double dt = nowt - last_report;
            p.it_per_s = dt > 0 ? (double)(it - last_iter_report) / dt : 0;
            double overall = (double)(it - first) / fmax(nowt - start, 1e-9);
            p.eta_s = overall > 0 ? (double)(c->iters - it) / overall : 0;
            last_report = nowt;
            last_iter_report = it;
            if (job->progress && job->progress(job->ctx, &p)) {
                s = checkpoint(job, t, ckpt);
                if (s == NLCL_OK) saved(job, log, it);
                if (s == NLCL_OK)
                    s = nlcl_error_set(NLCL_ERR_INTERRUPTED, "train: stopped at iteration %lld",
                                       (long long)it);
                goto done;
            }
        }
    }
    if (nlcl_trainer_iteration(t) == first && hist.n > 0) {
        /* a finished run resumed: no iteration ran, so the models are
         * exported with the last losses recorded in losses.tsv */
        int64_t k = hist.n - 1;
        last = (nlcl_losses){hist.y[0][k], hist.y[1][k], hist.y[2][k], hist.y[3][k],
                             hist.y[4][k], hist.y[5][k], hist.y[6][k], 0, 0};
    }
    if (s == NLCL_OK && val.set.count > 0 && nlcl_trainer_iteration(t) > first &&
        nlcl_trainer_iteration(t) % job->val_every != 0)
        s = validate(job, t, &val, &rainy, &clean, &last); /* the final model */
    if (s == NLCL_OK) s = export_models(job, t, &rainy, &clean, &last, NULL);
    if (s == NLCL_OK) saved(job, log, nlcl_trainer_iteration(t));
done:
    if (log) fclose(log);
    nlcl_val_free(&val.set);
    free(val.tsv);
    if (s != NLCL_OK && made_dir) rmdir(job->run_dir); /* fails, harmlessly, unless empty */
    hist_free(&hist);
    nlcl_trainer_free(t);
    nlcl_dataset_free(&rainy);
    nlcl_dataset_free(&clean);
    nlcl_free(O);
    nlcl_free(B);
    free(perm);
    free(ckpt);
    free(logp);
    free(sdir);
    free(cfgp);
    return s;
}
