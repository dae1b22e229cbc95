/* The training job: data, loop, run folder (include/nlcl/train.h).
 *
 * Run folder:
 *   checkpoint.safetensors          latest checkpoint (atomic, never partial)
 *   checkpoint-<iter>.safetensors   periodic copies (--keep-every)
 *   losses.tsv                      every loss term of every iteration (losslog.h)
 *   (losses.png                     drawn from losses.tsv by the nlcl command,
 *                                   through job->saved; the library draws nothing)
 *   samples/<iter>.png              input | B | R of the batch's first image, labelled
 *   nlcl.lock                       held (flock) while a job uses the folder (runlock.h)
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/internal.h"
#include "nlcl/files.h"
#include "nlcl/version.h"
#include "nlcl/image.h"
#include "nlcl/ops.h"
#include "nlcl/train.h"
#include "train/data.h"
#include "train/dist.h"
#include "train/guard.h"
#include "train/init.h"
#include "train/sample.h"
#include "train/losslog.h"
#include "train/resume.h"
#include "train/runlock.h"
#include "train/trainer.h"
#include "train/validate.h"

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* informational lines ("data: ...", "resuming ..."): not with job->quiet */
#define SAY_INFO(job, ...)                                                                         \
    do {                                                                                           \
        if (!(job)->quiet) nlcl_train_say(job, __VA_ARGS__);                                       \
    } while (0)

/* validation state of a run */
typedef struct val_state {
    nlcl_val_set set;
    char *tsv;
    double input_psnr, input_ssim;
    double best_psnr;
    int64_t best_iter; /* -1: none yet */
} val_state;

/* A run in progress. */
typedef struct run {
    const nlcl_train_job *job;
    const nlcl_train_config *c;
    const nlcl_train_comm *comm; /* several ranks (data parallelism), or NULL */
    int root;            /* rank 0, or the only process: writes the run folder */
    nlcl_stop_guard *guard; /* rank 0 of several: the checkpoint on a stop request */
    nlcl_status pending; /* rank 0's failure after a step, for the ranks to agree on */
    int stop_asked;      /* the progress callback asked to stop (several ranks) */
    char *ckpt, *sdir, *cfgp, *logp; /* paths in the run folder */
    int made_dir;                            /* the run folder was made by this job */
    nlcl_run_lock lock;                      /* one job per run folder */
    nlcl_dataset rainy, clean;
    val_state val;
    nlcl_init_source init;   /* --init-from: read and checked before the images */
    nlcl_trainer *t;
    nlcl_loss_log log;
    int ch, cw;          /* crop height and width */
    float *O, *B;        /* the batch, (batch, 3, ch, cw) each */
    int32_t *perm;       /* (rainy.count) the rainy order of epoch perm_epoch */
    int64_t perm_epoch;
    nlcl_losses last;    /* of the last iteration */
    int64_t first;       /* iteration this job started at */
    int64_t run_iters;   /* resuming: the run's recorded iters (less than c->iters: extended) */
    double start;        /* its wall-clock start */
    double last_report;  /* time and iteration of the last progress call */
    int64_t last_iter_report;
} run;

/* ---------------------------------------------------------------- outputs */

/* losses.tsv is flushed and holds every iteration so far: tell the caller */
static void saved(const run *r, int64_t it) {
    fflush(r->log.fp);
    if (r->job->saved) r->job->saved(r->job->ctx, r->job->run_dir, it);
}

static nlcl_status checkpoint_files(const run *r) {
    const nlcl_train_job *job = r->job;
    NLCL_TRY(nlcl_trainer_save(r->t, r->ckpt));
    int64_t it = nlcl_trainer_iteration(r->t);
    if (job->keep_every > 0 && it % job->keep_every == 0) {
        char name[64];
        snprintf(name, sizeof name, "checkpoint-%08lld.safetensors", (long long)it);
        char *p = join(job->run_dir, name);
        if (!p) return NLCL_ERR_NOMEM;
        nlcl_status s = nlcl_trainer_save(r->t, p);
        free(p);
        return s;
    }
    return NLCL_OK;
}

/* The checkpoint (and its kept copy); not while the stop guard writes. */
static nlcl_status checkpoint(const run *r) {
    nlcl_stop_guard_lock(r->guard);
    nlcl_status s = checkpoint_files(r);
    if (s == NLCL_OK) nlcl_stop_guard_saved(r->guard, nlcl_trainer_iteration(r->t));
    nlcl_stop_guard_unlock(r->guard);
    return s;
}

/* "G 1.2 D 0.3 gan ..." of every loss term */
static void describe_losses(const nlcl_losses *L, char *buf, size_t size) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < NLCL_LOSS_COUNT && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%s %.5g", i ? " " : "",
                              nlcl_loss_name((nlcl_loss_term)i), nlcl_loss_get(L, (nlcl_loss_term)i));
}

/* the run's data folders, ';'-separated with their roles */
static void describe_data(const nlcl_train_job *job, char *data, size_t size) {
    size_t k = 0;
    data[0] = '\0';
    for (int i = 0; i < job->n_rainy_dirs && k < size; i++)
        k += (size_t)snprintf(data + k, size - k, "%srainy:%s", k ? ";" : "", job->rainy_dirs[i]);
    for (int i = 0; i < job->n_clean_dirs && k < size; i++)
        k += (size_t)snprintf(data + k, size - k, "%sclean:%s", k ? ";" : "", job->clean_dirs[i]);
}

/* The run's own record, which every checkpoint and exported model carries
 * (nlcl_trainer_run_meta): the command that started the run, its data
 * folders and image counts, and the commands that resumed it (set once the
 * resume is recorded, so it holds for the whole process). */
static nlcl_status set_run_meta(const run *r) {
    char nimg[96], data[2048];
    snprintf(nimg, sizeof nimg, "%d rainy, %d clean", r->rainy.count, r->clean.count);
    describe_data(r->job, data, sizeof data);
    char *first = NULL, *resumed = nlcl_resume_history(r->cfgp, &first);
    const char *cmd = first ? first : r->job->command_line ? r->job->command_line : "";
    nlcl_tensor_dict *m = nlcl_trainer_run_meta(r->t);
    nlcl_status s = nlcl_tensor_dict_set_meta(m, "training_command", cmd);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(m, "training_data", data);
    if (s == NLCL_OK) s = nlcl_tensor_dict_set_meta(m, "training_images", nimg);
    if (s == NLCL_OK && resumed) s = nlcl_tensor_dict_set_meta(m, "training_resumed", resumed);
    free(first), free(resumed);
    return s;
}

/* Export G_B (and G_R) as RUN_DIR/<name><suffix>.safetensors with the run's
 * metadata; only G_B when best is set, adding its "validation" entry. */
static nlcl_status export_models(const run *r, const char *best) {
    const nlcl_train_job *job = r->job;
    char iters[32], losses[512], when[64];
    snprintf(iters, sizeof iters, "%lld", (long long)nlcl_trainer_iteration(r->t));
    describe_losses(&r->last, losses, sizeof losses);
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    char *cfg = nlcl_train_config_describe(&job->cfg);
    const nlcl_tensor_dict *m = nlcl_trainer_run_meta(r->t);
    const char *resumed = nlcl_tensor_dict_get_meta(m, "training_resumed");
    const char *keys[10] = {"training_command", "training_data", "training_images", "iterations",
                            best ? "losses_at_iteration" : "final_losses", "trained_at",
                            "training_config", "software"};
    const char *vals[10] = {nlcl_tensor_dict_get_meta(m, "training_command"),
                            nlcl_tensor_dict_get_meta(m, "training_data"),
                            nlcl_tensor_dict_get_meta(m, "training_images"), iters, losses, when,
                            cfg ? cfg : "", "nlcl " NLCL_VERSION_STRING};
    int nk = 8;
    if (resumed) keys[nk] = "training_resumed", vals[nk++] = resumed;
    if (best) keys[nk] = "validation", vals[nk++] = best;
    nlcl_status s = NLCL_OK;
    const char *which[2] = {"G_B", "G_R"};
    for (int i = 0; s == NLCL_OK && i < (job->cfg.rain_generator && !best ? 2 : 1); i++) {
        char name[48];
        snprintf(name, sizeof name, "%s%s.safetensors", which[i], best ? "-best" : "");
        char *p = join(job->run_dir, name);
        if (!p) s = NLCL_ERR_NOMEM;
        else s = nlcl_trainer_export(r->t, which[i], p, keys, vals, nk);
        free(p);
    }
    free(cfg);
    return s;
}

/* ------------------------------------------------------------- validation */

/* Keep the rows of validation.tsv up to iteration upto (a resumed run) and
 * recover the best so far; write the header if the file is new. */
static nlcl_status val_log_init(const nlcl_train_job *job, val_state *v, int64_t upto) {
    v->best_iter = -1;
    FILE *f = fopen(v->tsv, "r");
    nlcl_afile out;
    NLCL_TRY(nlcl_afile_open(&out, v->tsv));
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

/* Score G_B, export it when it is the best so far, add a row to validation.tsv. */
static nlcl_status validate(run *r) {
    const nlcl_train_job *job = r->job;
    val_state *v = &r->val;
    nlcl_model *m = NULL;
    double p = 0, q = 0;
    double t0 = nlcl_now_s();
    nlcl_status s = nlcl_trainer_model(r->t, "G_B", NULL, NULL, 0, &m);
    if (s == NLCL_OK) s = nlcl_val_score(&v->set, m, &p, &q);
    nlcl_model_free(m);
    if (s != NLCL_OK) return s;
    int64_t it = nlcl_trainer_iteration(r->t);
    int better = v->best_iter < 0 || p > v->best_psnr;
    if (better) {
        char what[512];
        snprintf(what, sizeof what,
                 "the best mean Y-PSNR of the validations every %lld iteration(s): %.4f dB (SSIM "
                 "%.4f) on %d pair(s) of %s and %s at iteration %lld; the input scores %.4f dB",
                 (long long)job->val_every, p, q, v->set.count, job->val_rainy_dir,
                 job->val_clean_dir, (long long)it, v->input_psnr);
        NLCL_TRY(export_models(r, what));
        v->best_psnr = p, v->best_iter = it;
    }
    FILE *f = fopen(v->tsv, "a");
    if (!f) return nlcl_error_set(NLCL_ERR_IO, "%s: %s", v->tsv, strerror(errno));
    fprintf(f, "%lld\t%.6f\t%.6f\n", (long long)it, p, q);
    if (fclose(f) != 0) return nlcl_error_set(NLCL_ERR_IO, "%s: write failed", v->tsv);
    SAY_INFO(job, "validation at iteration %lld: Y-PSNR %.2f dB, SSIM %.4f (input %.2f dB, %.4f)%s; "
                  "best: iteration %lld, %.2f dB (%.1f s)",
             (long long)it, p, q, v->input_psnr, v->input_ssim, better ? ", new best" : "",
             (long long)v->best_iter, v->best_psnr, nlcl_now_s() - t0);
    return NLCL_OK;
}

/* ------------------------------------------------------------------ setup */

/* The run folder must be given and must not be a data folder: checkpoints,
 * samples and losses.png would land among the training images. */
static nlcl_status check_run_dir(const nlcl_train_job *job) {
    if (!job->run_dir || !*job->run_dir)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "no run folder given");
    for (int k = 0; k < 2; k++) {
        const char *const *dirs = k ? job->clean_dirs : job->rainy_dirs;
        int nd = k ? job->n_clean_dirs : job->n_rainy_dirs;
        for (int i = 0; dirs && i < nd; i++)
            if (dirs[i] && nlcl_same_file(job->run_dir, dirs[i]))
                return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                      "the run folder %s is the %s image folder %s; choose "
                                      "another --out",
                                      job->run_dir, k ? "clean" : "rainy", dirs[i]);
    }
    NLCL_TRY(nlcl_resume_check_names(job));
    return nlcl_init_check_job(job);
}

/* Make the run folder and its paths; check that it holds a run exactly when
 * resuming, and (resuming) that its records match this job, before any
 * image is read. */
static nlcl_status open_folder(run *r) {
    const nlcl_train_job *job = r->job;
    r->made_dir = !nlcl_is_dir(job->run_dir);
    NLCL_TRY(nlcl_mkdirs(job->run_dir));
    /* before anything in the folder is read or written: a second job in the
     * same folder stops here and touches nothing of the first */
    NLCL_TRY(nlcl_run_lock_acquire(&r->lock, job->run_dir));
    if (r->lock.stale_pid > 0)
        nlcl_train_say(job, "%s: the lock of an earlier run (pid %ld) that ended without "
                            "releasing it (killed?) is taken over", job->run_dir, r->lock.stale_pid);
    if (r->lock.stale_pid > 0) {
        int n = nlcl_run_lock_sweep(job->run_dir);
        if (n > 0)
            nlcl_train_say(job, "%s: %d temporary file%s of that run removed", job->run_dir, n,
                           n == 1 ? "" : "s");
    }
    r->ckpt = join(job->run_dir, "checkpoint.safetensors");
    r->logp = join(job->run_dir, "losses.tsv");
    r->sdir = join(job->run_dir, "samples");
    r->cfgp = join(job->run_dir, "config.txt");
    if (!r->ckpt || !r->logp || !r->sdir || !r->cfgp)
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    if (job->resume) {
        if (access(r->ckpt, F_OK) != 0)
            return nlcl_error_set(NLCL_ERR_IO, "--resume: %s does not exist", r->ckpt);
        NLCL_TRY(nlcl_resume_check_config(r->cfgp, job, &r->run_iters));
        return nlcl_resume_check_validation(job);
    }
    NLCL_TRY(nlcl_resume_check_fresh(job->run_dir)); /* a new run: no run's checkpoint nor models */
    if (job->init_from) NLCL_TRY(nlcl_init_open(&r->init, job->init_from, r->c, job->init_continue));
    /* the record of a run that was killed before its first checkpoint (its
     * models, if any, refused above) */
    char *p = join(job->run_dir, "validation.tsv");
    if (p) unlink(p);
    free(p);
    return NLCL_OK;
}

/* Images smaller than the crop are stretched whole to it (nlcl_dataset_crop):
 * one warning per set. */
static void warn_small(const run *r, const nlcl_dataset *ds, const char *what) {
    const int ch = r->c->crop, cw = r->c->crop_w ? r->c->crop_w : r->c->crop;
    int n = 0, first = -1;
    for (int i = 0; i < ds->count; i++)
        if (ds->w[i] < cw || ds->h[i] < ch) n++, first = first < 0 ? i : first;
    if (n)
        nlcl_train_say(r->job, "warning: %d of %d %s images are smaller than the %dx%d crop (e.g. %s, "
                               "%dx%d): each is stretched whole to the crop (bilinear), which changes "
                               "its scale; a smaller --crop avoids it",
                       n, ds->count, what, cw, ch, ds->paths[first], ds->w[first], ds->h[first]);
}

/* The training images (every one decoded and checked once) and the
 * validation pairs with the input's own score. */
static nlcl_status load_data(run *r) {
    const nlcl_train_job *job = r->job;
    double t0 = nlcl_now_s();
    NLCL_TRY(nlcl_dataset_open(&r->rainy, "rainy", job->rainy_dirs, job->n_rainy_dirs, job->skip_bad,
                               job->message, job->ctx));
    NLCL_TRY(nlcl_dataset_open(&r->clean, "clean", job->clean_dirs, job->n_clean_dirs, job->skip_bad,
                               job->message, job->ctx));
    SAY_INFO(job, "data: %d rainy and %d clean images checked (%.1f MB in memory, %.1f s)",
             r->rainy.count, r->clean.count, (double)(r->rainy.bytes + r->clean.bytes) / 1e6,
             nlcl_now_s() - t0);
    if (r->root) { /* rank 0 speaks for all */
        warn_small(r, &r->rainy, "rainy");
        warn_small(r, &r->clean, "clean");
    }
    if (job->val_every <= 0 || !r->root) return NLCL_OK; /* rank 0 validates */
    if (!job->val_rainy_dir || !job->val_clean_dir)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "validation needs a rainy and a clean folder");
    val_state *v = &r->val;
    double tv = nlcl_now_s();
    NLCL_TRY(nlcl_val_open(&v->set, job->val_rainy_dir, job->val_clean_dir));
    NLCL_TRY(nlcl_val_score(&v->set, NULL, &v->input_psnr, &v->input_ssim));
    char w[1200];
    for (int k = 0; k < 2; k++)
        if (nlcl_val_clipped_warning(&v->set, k, w, sizeof w)) nlcl_train_say(job, "%s", w);
    if (!(v->tsv = join(job->run_dir, "validation.tsv"))) return NLCL_ERR_NOMEM;
    SAY_INFO(job, "validation: %d pair(s) (%s, %s), every %lld iteration(s); the input scores "
                  "Y-PSNR %.2f dB, SSIM %.4f (%.1f s)",
             v->set.count, job->val_rainy_dir, job->val_clean_dir, (long long)job->val_every,
             v->input_psnr, v->input_ssim, nlcl_now_s() - tv);
    return NLCL_OK;
}

/* The processes running the job. */
static int ranks(const run *r) { return r->comm ? r->comm->size : 1; }

/* On resume: config.txt's last "ranks N" line (none: 1); when this job runs
 * on another number of ranks, "ranks M from iteration K" is added. */
static nlcl_status record_ranks(run *r, int64_t it) {
    FILE *f = fopen(r->cfgp, "r");
    int last = 1;
    char line[4096];
    while (f && fgets(line, sizeof line, f)) sscanf(line, "ranks %d", &last);
    if (f) fclose(f);
    if (last == ranks(r)) return NLCL_OK;
    f = fopen(r->cfgp, "a");
    int ok = f && fprintf(f, "ranks %d from iteration %lld\n", ranks(r), (long long)it) > 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) return nlcl_error_set(NLCL_ERR_IO, "train: %s: cannot add the rank count", r->cfgp);
    SAY_INFO(r->job, "the run goes on with %d rank(s) (it had %d)", ranks(r), last);
    return NLCL_OK;
}

/* A new run's records: config.txt, losses.tsv, validation.tsv. */
static nlcl_status start_records(run *r) {
    const nlcl_train_job *job = r->job;
    char *desc = nlcl_train_config_describe(r->c);
    nlcl_afile cf;
    nlcl_status s = desc ? nlcl_afile_open(&cf, r->cfgp) : NLCL_ERR_NOMEM;
    if (s == NLCL_OK) {
        fprintf(cf.fp, "# nlcl train configuration\n%sranks %d\n", desc, ranks(r));
        nlcl_init_record(&r->init, cf.fp);
        nlcl_resume_write_data(cf.fp, job);
        fprintf(cf.fp, "%s%s\n",
                job->command_line ? "command " : "", job->command_line ? job->command_line : "");
        s = nlcl_afile_commit(&cf);
    }
    free(desc);
    NLCL_TRY(s);
    NLCL_TRY(nlcl_loss_log_create(&r->log, r->logp));
    return r->val.set.count > 0 ? val_log_init(job, &r->val, -1) : NLCL_OK;
}

/* A run resumed with a larger --iters: recorded, and its learning-rate
 * schedule said (it is the schedule of the new total, see TRAINING.md). */
static nlcl_status extend(run *r, int64_t it) {
    const nlcl_train_config *c = r->c;
    int64_t n = c->iters, was = r->run_iters;
    int64_t decay = c->decay_iters >= 0 ? c->decay_iters : n / 21, old = c->decay_iters >= 0 ? c->decay_iters : was / 21;
    decay = decay > n ? n : decay, old = old > was ? was : old;
    nlcl_train_say(r->job, "extending the run from %lld to %lld iterations: the learning rate follows the "
                           "schedule of %lld iterations (%g to iteration %lld, then linearly to 0 at "
                           "%lld): %g at iteration %lld, where the %lld-iteration schedule had %g",
                   (long long)was, (long long)n, (long long)n, c->lr, (long long)(n - decay), (long long)n,
                   nlcl_trainer_lr(r->t, it), (long long)it, (long long)was,
                   nlcl_lr_linear_decay(c->lr, it < was ? it : was - 1, was - old, old));
    return NLCL_OK;
}

/* The trainer, new or from the checkpoint with the records cut back to it;
 * the batch buffers. */
static nlcl_status start_trainer(run *r) {
    const nlcl_train_job *job = r->job;
    NLCL_TRY(nlcl_trainer_create_shared(r->c, r->comm, &r->t));
    nlcl_trainer_set_stop(r->t, job->stop_flag);
    if (r->root && job->resume) { /* the others get the state from rank 0 */
        NLCL_TRY(nlcl_trainer_load(r->t, r->ckpt));
        int64_t it = nlcl_trainer_iteration(r->t);
        SAY_INFO(job, "resuming %s at iteration %lld of %lld", job->run_dir, (long long)it,
                 (long long)r->c->iters);
        if (r->run_iters < r->c->iters) NLCL_TRY(extend(r, it));
        NLCL_TRY(nlcl_resume_record(r->cfgp, r->c->iters, it, job->command_line));
        NLCL_TRY(nlcl_loss_log_resume(&r->log, r->logp, it));
        if (r->val.set.count > 0) NLCL_TRY(val_log_init(job, &r->val, it));
        NLCL_TRY(record_ranks(r, it));
    } else if (r->root) {
        if (job->init_from) NLCL_TRY(nlcl_init_start(&r->init, r->t, job));
        NLCL_TRY(start_records(r));
    }
    if (r->root) NLCL_TRY(set_run_meta(r));
    if (r->root && job->sample_every > 0) NLCL_TRY(nlcl_mkdirs(r->sdir));
    r->ch = r->c->crop;
    r->cw = r->c->crop_w ? r->c->crop_w : r->c->crop;
    size_t batch = (size_t)r->c->batch * 3 * r->ch * r->cw;
    r->O = nlcl_alloc_floats(batch, "training batch");
    r->B = nlcl_alloc_floats(batch, "training batch");
    r->perm = malloc(sizeof(int32_t) * (size_t)r->rainy.count);
    if (!r->O || !r->B || !r->perm) return NLCL_ERR_NOMEM;
    r->perm_epoch = -1;
    return NLCL_OK;
}

/* With several ranks: rank 0's state to the others, and rank 0's stop
 * guard; then the clocks start. */
static nlcl_status start_ranks(run *r) {
    nlcl_status s = nlcl_dist_share_trainer(r->comm, r->t);
    if (s == NLCL_OK && r->comm && r->root)
        s = nlcl_stop_guard_start(&r->guard, r->t, r->ckpt, r->job->stop_flag, r->job);
    r->start = r->last_report = nlcl_now_s();
    r->first = r->last_iter_report = nlcl_trainer_iteration(r->t);
    return s;
}

/* ------------------------------------------------------------------- loop */

/* The crops of iteration it: the rainy images in a shuffled order per epoch,
 * the clean ones at random. */
static void draw_batch(run *r, int64_t it) {
    const nlcl_train_config *c = r->c;
    const int n = c->batch;
    const size_t one = (size_t)3 * r->ch * r->cw;
    const int count = r->rainy.count;
    nlcl_rng g;
    nlcl_rng_seed(&g, c->seed, ((uint64_t)1 << 32) + (uint64_t)it);
    for (int b = 0; b < n; b++) {
        int64_t sidx = it * n + b, epoch = sidx / count;
        if (epoch != r->perm_epoch) {
            nlcl_rng pr;
            nlcl_rng_seed(&pr, c->seed, ((uint64_t)2 << 32) + (uint64_t)epoch);
            for (int i = 0; i < count; i++) r->perm[i] = i;
            for (int i = count - 1; i > 0; i--) {
                int j = (int)nlcl_rng_below(&pr, (uint32_t)(i + 1));
                int32_t tmp = r->perm[i];
                r->perm[i] = r->perm[j];
                r->perm[j] = tmp;
            }
            r->perm_epoch = epoch;
        }
        nlcl_dataset_crop(&r->rainy, r->perm[sidx % count], r->ch, r->cw, &g, r->O + b * one);
        nlcl_dataset_crop(&r->clean, (int)nlcl_rng_below(&g, (uint32_t)r->clean.count), r->ch, r->cw,
                          &g, r->B + b * one);
    }
}

/* Checkpoint and stop with NLCL_ERR_INTERRUPTED (hint: say how to go on). */
static nlcl_status stop(const run *r, int64_t it, int hint) {
    if (r->root) { /* rank 0 writes the run folder */
        NLCL_TRY(checkpoint(r));
        saved(r, it);
    }
    return nlcl_error_set(NLCL_ERR_INTERRUPTED, "stopped at iteration %lld%s", (long long)it,
                          hint ? "; checkpoint written, continue with --resume" : "");
}

/* The progress callback; non-zero: it asks to stop. */
static int report(run *r, int64_t it) {
    const nlcl_train_job *job = r->job;
    fflush(r->log.fp);
    double nowt = nlcl_now_s();
    nlcl_train_progress p = {it, r->c->iters, r->last, nowt - r->start, 0, 0};
    double dt = nowt - r->last_report;
    p.it_per_s = dt > 0 ? (double)(it - r->last_iter_report) / dt : 0;
    double overall = (double)(it - r->first) / fmax(nowt - r->start, 1e-9);
    p.eta_s = overall > 0 ? (double)(r->c->iters - it) / overall : 0;
    r->last_report = nowt;
    r->last_iter_report = it;
    return job->progress && job->progress(job->ctx, &p);
}

/* Everything after iteration it: the log row, the sample, validation,
 * checkpoint, progress (which may stop the run). */
static nlcl_status after_step(run *r, int64_t it) {
    const nlcl_train_job *job = r->job;
    nlcl_loss_log_add(&r->log, it, nlcl_now_s() - r->start, &r->last);
    int final = it == r->c->iters;
    if (job->sample_every > 0 && (it % job->sample_every == 0 || final)) {
        char name[48];
        snprintf(name, sizeof name, "%08lld.png", (long long)it);
        char *p = join(r->sdir, name);
        /* a warm-up step runs G_B on synthetic pairs only: show G_B (and G_R)
         * on this batch's rainy crops */
        nlcl_status s = it <= r->c->warmup ? nlcl_trainer_forward(r->t, r->O, r->B) : NLCL_OK;
        if (s == NLCL_OK)
            s = p ? nlcl_sample_save(p, r->O, nlcl_trainer_pred_B(r->t), nlcl_trainer_pred_R(r->t), r->ch, r->cw)
                  : NLCL_ERR_NOMEM;
        free(p);
        NLCL_TRY(s);
    }
    if (r->val.set.count > 0 && it % job->val_every == 0) NLCL_TRY(validate(r));
    if ((job->save_every > 0 && it % job->save_every == 0) || final) {
        fflush(r->log.fp);
        NLCL_TRY(checkpoint(r));
        if (!final) saved(r, it); /* the final call comes after the export */
    }
    if (((job->log_every > 0 && it % job->log_every == 0) || final) && report(r, it)) {
        if (!r->comm) return stop(r, it, 0);
        r->stop_asked = 1; /* the ranks stop together, at the next agreement */
    }
    return NLCL_OK;
}

/* A step of several ranks failed with s at iteration it: rank 0 writes the
 * checkpoint when the weights are still those of iteration it (the step
 * failed before D's Adam step; not for a non-finite loss, which keeps the
 * last good one), and says so. A stop agreed in the step is a stop. */
static nlcl_status step_failed(run *r, nlcl_status s, int64_t it) {
    if (s == NLCL_ERR_INTERRUPTED && r->job->stop_flag && nlcl_trainer_intact(r->t)) {
        int asked = *r->job->stop_flag;
        if (!asked) { /* another rank asked: it agreed on a stop, not a failure */
            const char *m = nlcl_error_message();
            asked = m && strstr(m, "before any weight changed") != NULL;
        }
        if (asked) return stop(r, it, 1);
    }
    if (!r->root || !nlcl_trainer_intact(r->t) || s == NLCL_ERR_NONFINITE) return s;
    char why[1024];
    snprintf(why, sizeof why, "%s", nlcl_error_message());
    if (checkpoint(r) != NLCL_OK)
        return nlcl_error_set(s, "%s; the checkpoint could not be written either (%s)", why,
                              nlcl_error_message());
    saved(r, it);
    return nlcl_error_set(s, "%s; checkpoint of iteration %lld written, continue with --resume", why,
                          (long long)it);
}

/* The loop of several ranks: before each iteration they agree on rank 0's
 * state after the last one (a failure writing the run folder, a stop asked
 * by the progress callback) and on the stop requests of all. */
static nlcl_status ranks_loop(run *r) {
    for (;;) {
        int64_t it = nlcl_trainer_iteration(r->t);
        int stop_req = (r->job->stop_flag && *r->job->stop_flag) || r->stop_asked;
        char where[96];
        snprintf(where, sizeof where, "after iteration %lld", (long long)it);
        NLCL_TRY(nlcl_dist_agree(r->comm, r->pending, &stop_req, where));
        int done = it >= r->c->iters;
        if (stop_req && (!done || r->stop_asked)) return stop(r, it, !r->stop_asked);
        if (done) return NLCL_OK;
        nlcl_stop_guard_refresh(r->guard, r->t);
        draw_batch(r, it); /* every rank draws the whole batch: the trainer takes its share */
        nlcl_status s = nlcl_trainer_step(r->t, r->O, r->B, &r->last);
        if (s != NLCL_OK) return step_failed(r, s, it);
        r->pending = r->root ? after_step(r, it + 1) : NLCL_OK;
    }
}

static nlcl_status train_loop(run *r) {
    if (r->comm) return ranks_loop(r);
    while (nlcl_trainer_iteration(r->t) < r->c->iters) {
        int64_t it = nlcl_trainer_iteration(r->t);
        if (r->job->stop_flag && *r->job->stop_flag) return stop(r, it, 1);
        draw_batch(r, it);
        /* a failing step saves nothing: the last good checkpoint stays */
        NLCL_TRY(nlcl_trainer_step(r->t, r->O, r->B, &r->last));
        NLCL_TRY(after_step(r, it + 1));
    }
    return NLCL_OK;
}

/* The final model: validated (unless that just happened), exported, saved. */
static nlcl_status finish(run *r) {
    const nlcl_train_job *job = r->job;
    if (!r->root) return NLCL_OK;
    int64_t it = nlcl_trainer_iteration(r->t);
    /* a finished run resumed: no iteration ran, so the models are exported
     * with the last losses recorded in losses.tsv */
    if (it == r->first) nlcl_loss_log_last(&r->log, &r->last);
    if (r->val.set.count > 0 && it > r->first && it % job->val_every != 0) NLCL_TRY(validate(r));
    NLCL_TRY(export_models(r, NULL));
    saved(r, it);
    return NLCL_OK;
}

static void close_run(run *r, nlcl_status s) {
    nlcl_stop_guard_end(r->guard);
    nlcl_loss_log_free(&r->log);
    nlcl_val_free(&r->val.set);
    free(r->val.tsv);
    nlcl_init_close(&r->init);
    /* a run folder made here is removed again if the job failed before
     * writing anything into it (rmdir fails, harmlessly, unless empty) */
    nlcl_run_lock_release(&r->lock, s != NLCL_OK && r->made_dir);
    if (s != NLCL_OK && r->made_dir) rmdir(r->job->run_dir);
    nlcl_trainer_free(r->t);
    nlcl_dataset_free(&r->rainy);
    nlcl_dataset_free(&r->clean);
    nlcl_free(r->O);
    nlcl_free(r->B);
    free(r->perm);
    free(r->ckpt);
    free(r->logp);
    free(r->sdir);
    free(r->cfgp);
}

nlcl_status nlcl_train_run(const nlcl_train_job *job) {
    NLCL_TRY(nlcl_train_config_check(&job->cfg));
    run r = {0};
    r.lock.fd = -1;
    r.comm = nlcl_dist_on(job->comm) ? job->comm : NULL;
    r.root = !r.comm || r.comm->rank == 0;
    NLCL_TRY(nlcl_dist_check_batch(r.comm, job->cfg.batch)); /* the same answer on every rank */
    nlcl_train_job others; /* ranks other than 0 call none of the job's functions */
    if (!r.root) {
        others = *job;
        others.progress = NULL, others.message = NULL, others.saved = NULL;
        job = &others;
    }
    r.job = job;
    r.c = &job->cfg;
    /* rank 0 checks the run folder, every rank reads the images; after each
     * phase the ranks agree, so that one failing stops all */
    nlcl_status s = r.root ? check_run_dir(job) : NLCL_OK;
    if (s == NLCL_OK && r.root) s = open_folder(&r);
    s = nlcl_dist_agree(r.comm, s, NULL, "checking the run folder");
    if (s == NLCL_OK) s = nlcl_dist_agree(r.comm, load_data(&r), NULL, "reading the images");
    if (s == NLCL_OK)
        s = nlcl_dist_agree(r.comm, nlcl_dist_check_data(r.comm, &r.rainy, &r.clean), NULL,
                            "comparing the images");
    if (s == NLCL_OK) s = nlcl_dist_agree(r.comm, start_trainer(&r), NULL, "preparing the trainer");
    if (s == NLCL_OK) s = nlcl_dist_agree(r.comm, start_ranks(&r), NULL, "starting");
    if (s == NLCL_OK) s = train_loop(&r);
    if (s == NLCL_OK) s = nlcl_dist_agree(r.comm, finish(&r), NULL, "exporting the models");
    close_run(&r, s);
    return s;
}
