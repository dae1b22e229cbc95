/* Checks of a resumed training job (src/train/resume.h). */
#include "train/resume.h"

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

nlcl_status nlcl_resume_check_config(const char *cfgp, const char *run_dir,
                                     const nlcl_train_config *c, int64_t *run_iters) {
    *run_iters = c->iters;
    FILE *f = fopen(cfgp, "r");
    if (!f) return NLCL_OK;
    char *desc = nlcl_train_config_describe(c);
    /* per desc byte: its line was found (options added later, e.g. w_eroded,
       are listed only when used) */
    char *seen = desc ? calloc(strlen(desc) + 1, 1) : NULL;
    if (!seen) {
        fclose(f);
        free(desc);
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    }
    diffs df = {.len = 0};
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || !strchr(line, ' ') || !strncmp(line, "command ", 8) ||
            !strncmp(line, "ranks ", 6) || !strncmp(line, "init_", 5))
            /* not options: the command line, the ranks, where the run started from */
            continue;
        compare_line(line, desc, seen, &df, run_iters);
    }
    /* every option this command describes must be in config.txt */
    for (const char *d = desc; *d;) {
        const char *e = strchr(d, '\n');
        size_t dl = e ? (size_t)(e - d) : strlen(d);
        if (!seen[d - desc])
            add_diff(&df,
                     strncmp(d, "layer_head", 10)
                         ? "%s%s'%.*s' here, not used there"
                         : "%s%s'%.*s' here, not used there (a run without it has separate, stepped "
                           "layer-contrast heads, the paper preset's default in earlier builds: add "
                           "--layer-head separate --layer-head-update step)",
                     "", (int)dl, d);
        d += dl + (e ? 1 : 0);
    }
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
                          run_dir, df.text, more);
}

nlcl_status nlcl_resume_extend_config(const char *cfgp, int64_t iters) {
    FILE *f = fopen(cfgp, "r");
    if (!f) return NLCL_OK; /* an old run without config.txt: the checkpoint records it */
    nlcl_afile out;
    nlcl_status s = nlcl_afile_open(&out, cfgp);
    char line[4096];
    while (s == NLCL_OK && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "iters ", 6)) fprintf(out.fp, "iters %lld\n", (long long)iters);
        else fputs(line, out.fp);
    }
    fclose(f);
    return s == NLCL_OK ? nlcl_afile_commit(&out) : s;
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
