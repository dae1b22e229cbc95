/* The loss log of a training run (src/train/losslog.h). */
#include "train/losslog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/afile.h"
#include "core/internal.h"

static void keep_last(nlcl_loss_log *lg, const double *v) {
    memcpy(lg->last, v, sizeof(double) * (size_t)lg->ncols);
    lg->has_last = 1;
}

static void write_header(FILE *f, const nlcl_loss_log *lg) {
    fprintf(f, "iter\tseconds");
    for (int k = 0; k < lg->ncols; k++) fprintf(f, "\t%s", nlcl_loss_name(lg->cols[k]));
    fprintf(f, "\n");
}

static nlcl_status open_append(nlcl_loss_log *lg) {
    lg->fp = fopen(lg->path, "a");
    if (!lg->fp) return nlcl_error_set(NLCL_ERR_IO, "%s: %s", lg->path, strerror(errno));
    return NLCL_OK;
}

static nlcl_status start(nlcl_loss_log *lg, const char *path) {
    memset(lg, 0, sizeof *lg);
    lg->path = malloc(strlen(path) + 1);
    if (!lg->path) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    strcpy(lg->path, path);
    lg->ncols = NLCL_LOSS_COUNT;
    for (int k = 0; k < NLCL_LOSS_COUNT; k++) lg->cols[k] = (nlcl_loss_term)k;
    return NLCL_OK;
}

nlcl_status nlcl_loss_log_create(nlcl_loss_log *lg, const char *path) {
    NLCL_TRY(start(lg, path));
    FILE *f = fopen(path, "w");
    if (!f) return nlcl_error_set(NLCL_ERR_IO, "%s: %s", path, strerror(errno));
    write_header(f, lg);
    if (fclose(f) != 0) return nlcl_error_set(NLCL_ERR_IO, "%s: write failed", path);
    return open_append(lg);
}

/* The term columns named by a header line "iter seconds NAME...". */
static nlcl_status read_header(nlcl_loss_log *lg, char *line) {
    lg->ncols = 0;
    int field = 0;
    for (char *w = strtok(line, " \t\r\n"); w; w = strtok(NULL, " \t\r\n"), field++) {
        if (field < 2) continue; /* iter, seconds */
        int k = 0;
        while (k < NLCL_LOSS_COUNT && strcmp(w, nlcl_loss_name((nlcl_loss_term)k)) != 0) k++;
        if (k == NLCL_LOSS_COUNT || lg->ncols == NLCL_LOSS_COUNT)
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: unknown loss column '%s'", lg->path, w);
        lg->cols[lg->ncols++] = (nlcl_loss_term)k;
    }
    return NLCL_OK;
}

/* One row "iter seconds v..." with a value for every column: 1, else 0. */
static int read_row(const nlcl_loss_log *lg, const char *line, long long *it, double *v) {
    char *end;
    *it = strtoll(line, &end, 10);
    if (end == line) return 0;
    const char *p = end;
    strtod(p, &end); /* seconds */
    if (end == p) return 0;
    for (int k = 0; k < lg->ncols; k++) {
        p = end;
        v[k] = strtod(p, &end);
        if (end == p) return 0;
    }
    return 1;
}

nlcl_status nlcl_loss_log_resume(nlcl_loss_log *lg, const char *path, int64_t upto) {
    FILE *f = fopen(path, "r");
    if (!f) return nlcl_loss_log_create(lg, path);
    nlcl_status s = start(lg, path);
    nlcl_afile out;
    if (s == NLCL_OK) s = nlcl_afile_open(&out, path);
    if (s != NLCL_OK) {
        fclose(f);
        return s;
    }
    char line[1024];
    while (s == NLCL_OK && fgets(line, sizeof line, f)) {
        long long it;
        double v[NLCL_LOSS_COUNT];
        if (line[0] == 'i') { /* the header */
            fputs(line, out.fp);
            s = read_header(lg, line);
        } else if (read_row(lg, line, &it, v)) {
            if (it > upto) break;
            fputs(line, out.fp);
            keep_last(lg, v);
        }
    }
    fclose(f);
    if (s != NLCL_OK) {
        nlcl_afile_abort(&out);
        return s;
    }
    NLCL_TRY(nlcl_afile_commit(&out));
    return open_append(lg);
}

void nlcl_loss_log_add(nlcl_loss_log *lg, int64_t it, double seconds, const nlcl_losses *L) {
    double v[NLCL_LOSS_COUNT];
    for (int k = 0; k < lg->ncols; k++) v[k] = nlcl_loss_get(L, lg->cols[k]);
    fprintf(lg->fp, "%lld\t%.3f", (long long)it, seconds);
    for (int k = 0; k < lg->ncols; k++) fprintf(lg->fp, "\t%.8g", v[k]);
    fprintf(lg->fp, "\n");
    keep_last(lg, v);
}

int nlcl_loss_log_last(const nlcl_loss_log *lg, nlcl_losses *out) {
    memset(out, 0, sizeof *out);
    if (!lg->has_last) return 0;
    for (int k = 0; k < lg->ncols; k++) nlcl_loss_set(out, lg->cols[k], lg->last[k]);
    return 1;
}

void nlcl_loss_log_free(nlcl_loss_log *lg) {
    if (lg->fp) fclose(lg->fp);
    free(lg->path);
    memset(lg, 0, sizeof *lg);
}
