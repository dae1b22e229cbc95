/* Checks of a resumed training job (src/train/resume.h). */
#include "train/resume.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/afile.h"
#include "core/internal.h"
#include "nlcl/files.h"

void nlcl_train_say(const nlcl_train_job *job, const char *fmt, ...) {
    if (!job->message) return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    job->message(job->ctx, buf);
}

/* The line of desc ("name value" lines) for the option of `line` ("name
 * value"): its start and length, or NULL. */
static const char *find_option(const char *desc, const char *line, size_t *len) {
    const char *sp = strchr(line, ' ');
    size_t kl = (size_t)(sp - line) + 1; /* "name " */
    for (const char *d = desc; *d;) {
        const char *e = strchr(d, '\n');
        size_t dl = e ? (size_t)(e - d) : strlen(d);
        if (dl >= kl && !strncmp(d, line, kl)) {
            *len = dl;
            return d;
        }
        d += dl + (e ? 1 : 0);
    }
    return NULL;
}

/* The differences found, listed in one message. */
typedef struct diffs {
    char text[760];
    size_t len;
    int n, shown;
} diffs;

static void add_diff(diffs *d, const char *fmt, const char *a, int bl, const char *b) {
    d->n++;
    if (d->len + 160 >= sizeof d->text) return; /* counted, listed as "and N more" */
    d->shown++;
    d->len += (size_t)snprintf(d->text + d->len, sizeof d->text - d->len, fmt, d->shown > 1 ? "; " : "",
                               a, bl, b);
}

/* One option line of config.txt against desc; seen[i] is set for the desc
 * line found. iters may grow (the run is extended), not shrink. */
static void compare_line(const char *line, const char *desc, char *seen, diffs *df,
                         int64_t *run_iters) {
    size_t dl = 0;
    const char *d = find_option(desc, line, &dl);
    if (!d) {
        add_diff(df, "%s'%s' there, not used here%.*s", line, 0, "");
        return;
    }
    seen[d - desc] = 1;
    if (dl == strlen(line) && !strncmp(d, line, dl)) return;
    if (!strncmp(line, "iters ", 6)) {
        long long was = strtoll(line + 6, NULL, 10), now = strtoll(d + 6, NULL, 10);
        *run_iters = was;
        if (now >= was) return; /* an extension */
    }
    add_diff(df, "%s'%s' there, '%.*s' here", line, (int)dl, d);
}

/* The job's rainy (clean = 0) or clean (1) folders, their count in *n. */
static const char *const *job_dirs(const nlcl_train_job *job, int clean, int *n) {
    *n = clean ? job->n_clean_dirs : job->n_rainy_dirs;
    return clean ? job->clean_dirs : job->rainy_dirs;
}

/* "rainy DIR" or "clean DIR", as config.txt writes it, into buf. */
static const char *data_line(char *buf, size_t size, int clean, const char *dir) {
    snprintf(buf, size, "%s %s", clean ? "clean" : "rainy", dir);
    return buf;
}

/* A "rainy DIR" or "clean DIR" line of config.txt against the job's k-th
 * folder of that role (*k counts them); the job's folders the file does not
 * name are listed by data_extra. */
static void compare_data(const char *line, const nlcl_train_job *job, int *k, diffs *df) {
    int clean = line[0] == 'c', i = k[clean], n;
    const char *const *dirs = job_dirs(job, clean, &n);
    k[clean]++;
    if (i >= n) {
        add_diff(df, "%s'%s' there, not used here%.*s", line, 0, "");
        return;
    }
    if (!strcmp(line + 6, dirs[i]) || nlcl_same_file(line + 6, dirs[i])) return;
    char now[4200];
    data_line(now, sizeof now, clean, dirs[i]);
    add_diff(df, "%s'%s' there, '%.*s' here", line, (int)strlen(now), now);
}

static void data_extra(const nlcl_train_job *job, const int *k, diffs *df) {
    for (int clean = 0; clean < 2; clean++) {
        int n;
        const char *const *dirs = job_dirs(job, clean, &n);
        for (int i = k[clean]; i < n; i++) {
            char now[4200];
            add_diff(df, "%s'%s' here, not used there%.*s", data_line(now, sizeof now, clean, dirs[i]),
                     0, "");
        }
    }
}

/* Options added later are listed only when used: every option this command
 * describes (desc) must be in config.txt (seen). */
static void desc_extra(const char *desc, const char *seen, diffs *df) {
    for (const char *d = desc; *d;) {
        const char *e = strchr(d, '\n');
        size_t dl = e ? (size_t)(e - d) : strlen(d);
        if (!seen[d - desc])
            add_diff(df,
                     strncmp(d, "layer_head", 10)
                         ? "%s%s'%.*s' here, not used there"
                         : "%s%s'%.*s' here, not used there (a run without it has separate, stepped "
                           "layer-contrast heads, the paper preset's default in earlier builds: add "
                           "--layer-head separate --layer-head-update step)",
                     "", (int)dl, d);
        d += dl + (e ? 1 : 0);
    }
}

nlcl_status nlcl_resume_check_config(const char *cfgp, const nlcl_train_job *job, int64_t *run_iters) {
    const nlcl_train_config *c = &job->cfg;
    *run_iters = c->iters;
    FILE *f = fopen(cfgp, "r");
    if (!f) return NLCL_OK;
    char *desc = nlcl_train_config_describe(c);
    /* per desc byte: its line was found */
    char *seen = desc ? calloc(strlen(desc) + 1, 1) : NULL;
    if (!seen) {
        fclose(f);
        free(desc);
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    }
    diffs df = {.len = 0};
    char line[4200];
    int k[2] = {0, 0}, data = 0; /* the data folders found (runs of earlier builds have none) */
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || !strchr(line, ' ') || !strncmp(line, "command ", 8) ||
            !strncmp(line, "ranks ", 6) || !strncmp(line, "resumed ", 8) || !strncmp(line, "init_", 5))
            continue; /* not options: the command lines, the ranks, where the run started from */
        if (!strncmp(line, "rainy ", 6) || !strncmp(line, "clean ", 6)) {
            compare_data(line, job, k, &df);
            data = 1;
            continue;
        }
        compare_line(line, desc, seen, &df, run_iters);
    }
    if (data) data_extra(job, k, &df);
    desc_extra(desc, seen, &df);
    free(seen);
    fclose(f);
    free(desc);
    if (df.n == 0) return NLCL_OK;
    char more[48] = "";
    if (df.n > df.shown) snprintf(more, sizeof more, "; and %d more", df.n - df.shown);
    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                          "--resume: the run in %s was started with other options (config.txt): "
                          "%s%s; resume with only --out (the run's options are read from "
                          "config.txt) and, to extend it, a larger --iters",
                          job->run_dir, df.text, more);
}

void nlcl_resume_write_data(FILE *fp, const nlcl_train_job *job) {
    for (int i = 0; i < job->n_rainy_dirs; i++) fprintf(fp, "rainy %s\n", job->rainy_dirs[i]);
    for (int i = 0; i < job->n_clean_dirs; i++) fprintf(fp, "clean %s\n", job->clean_dirs[i]);
}

nlcl_status nlcl_resume_record(const char *cfgp, int64_t iters, int64_t it, const char *command_line) {
    FILE *f = fopen(cfgp, "r");
    if (!f) return NLCL_OK; /* an old run without config.txt: the checkpoint records it */
    nlcl_afile out;
    nlcl_status s = nlcl_afile_open(&out, cfgp);
    char line[16384];
    while (s == NLCL_OK && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "iters ", 6)) fprintf(out.fp, "iters %lld\n", (long long)iters);
        else fputs(line, out.fp);
    }
    fclose(f);
    if (s == NLCL_OK && command_line)
        fprintf(out.fp, "resumed at iteration %lld: %s\n", (long long)it, command_line);
    return s == NLCL_OK ? nlcl_afile_commit(&out) : s;
}

char *nlcl_resume_history(const char *cfgp, char **first) {
    FILE *f = fopen(cfgp, "r");
    char line[16384];
    size_t n = 0, cap = 0;
    char *h = NULL;
    *first = NULL;
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "command ", 8) && !*first) {
            line[strcspn(line, "\r\n")] = '\0';
            *first = strdup(line + 8);
        }
        if (strncmp(line, "resumed ", 8)) continue;
        size_t l = strlen(line + 8);
        if (n + l + 1 > cap) {
            char *g = realloc(h, cap = 2 * (n + l + 1));
            if (!g) break;
            h = g;
        }
        memcpy(h + n, line + 8, l + 1);
        n += l;
    }
    if (f) fclose(f);
    while (n > 0 && h[n - 1] == '\n') h[--n] = '\0';
    return h;
}

/* NULL if name has no line break, else name with each as "\n" (or "\r") in buf */
static const char *line_break(const char *name, char *buf, size_t size) {
    if (!name || !strpbrk(name, "\r\n")) return NULL;
    size_t k = 0;
    for (; *name && k + 3 < size; name++)
        if (*name == '\n' || *name == '\r') buf[k++] = '\\', buf[k++] = *name == '\n' ? 'n' : 'r';
        else buf[k++] = *name;
    buf[k] = '\0';
    return buf;
}

nlcl_status nlcl_resume_check_names(const nlcl_train_job *job) {
    const char *what[5] = {"run folder", "validation rainy folder", "validation clean folder",
                           "--init-from file", NULL};
    const char *name[5] = {job->run_dir, job->val_rainy_dir, job->val_clean_dir, job->init_from, NULL};
    char buf[4200];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < (k ? job->n_clean_dirs : job->n_rainy_dirs); i++) {
            what[4] = k ? "clean folder" : "rainy folder", name[4] = k ? job->clean_dirs[i] : job->rainy_dirs[i];
            for (int j = 0; j < 5; j++)
                if (line_break(name[j], buf, sizeof buf))
                    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                          "the %s name '%s' holds a line break, which the run's "
                                          "records (config.txt, one entry per line) cannot keep; "
                                          "rename it", what[j], buf);
        }
    return NLCL_OK;
}

nlcl_status nlcl_resume_check_validation(const nlcl_train_job *job) {
    size_t n = strlen(job->run_dir) + sizeof "/validation.tsv";
    char *tsv = malloc(n);
    if (tsv) snprintf(tsv, n, "%s/validation.tsv", job->run_dir);
    if (!tsv) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
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
                               "--resume: the run in %s validated on %s and %s "
                               "(validation.tsv), this command gives %s and %s; resume with the same "
                               "--val-rainy/--val-clean, or move validation.tsv and "
                               "G_B-best.safetensors away to start a new record",
                               job->run_dir, rainy, clean, job->val_rainy_dir, job->val_clean_dir);
    } else if (*rainy && job->val_every == 0 && last >= 0) {
        nlcl_train_say(job, "warning: the run in %s validated on %s and %s; without --val-rainy/--val-clean "
                 "this resume does not, and validation.tsv and G_B-best.safetensors stay at "
                 "iteration %lld",
            job->run_dir, rainy, clean, last);
    }
    free(tsv);
    return s;
}

/* A model file of a run: G_B, G_R, G_B-best or a kept checkpoint-ITER. */
static int is_run_model(const char *n) {
    static const char *const names[] = {"G_B.safetensors", "G_R.safetensors", "G_B-best.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(n, names[i])) return 1;
    size_t l = strlen(n);
    return !strncmp(n, "checkpoint-", 11) && l > 23 && !strcmp(n + l - 12, ".safetensors");
}

nlcl_status nlcl_resume_check_fresh(const char *run_dir) {
    DIR *d = opendir(run_dir);
    if (!d) return NLCL_OK; /* made next (nlcl_mkdirs), or its error said there */
    char model[256] = "";
    int ckpt = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, "checkpoint.safetensors")) ckpt = 1;
        else if (!model[0] && is_run_model(e->d_name)) snprintf(model, sizeof model, "%s", e->d_name);
    }
    closedir(d);
    if (ckpt)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%s already holds a run (checkpoint.safetensors); use --resume "
                              "to continue it, or another --out folder",
                              run_dir);
    if (model[0])
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%s already holds the models of a run (%s), which a new run would "
                              "replace; choose another --out folder",
                              run_dir, model);
    return NLCL_OK;
}
