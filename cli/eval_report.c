/* The reports of nlcl eval (cli/eval.h): tables on stdout, CSV and JSON
 * files, every number with its convention. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval.h"
#include "nlcl/files.h"

static void fmt_num(char *buf, size_t n, double v, int decimals) {
    if (isinf(v))
        snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, "%.*f", decimals, v);
}

static void csv_field(FILE *f, const char *s, int last) {
    if (s && strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (const char *p = s; *p; p++) {
            if (*p == '"') fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else if (s) {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_row(FILE *f, const char *kind, const char *set, const char *image,
                    const char *file, const char *ref, const char *metric, double v,
                    const char *conv) {
    char num[64];
    if (isinf(v))
        snprintf(num, sizeof num, "%s", v > 0 ? "inf" : "-inf");
    else
        snprintf(num, sizeof num, "%.10g", v);
    csv_field(f, kind, 0);
    csv_field(f, set, 0);
    csv_field(f, image, 0);
    csv_field(f, file, 0);
    csv_field(f, ref, 0);
    csv_field(f, metric, 0);
    csv_field(f, num, 0);
    csv_field(f, conv, 1);
}

static cJSON *json_num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* The report file, written atomically. CSV and JSON files are UTF-8: bytes
 * of file names that are not (a Latin-1 name unpacked from an old archive)
 * are written as \xNN (nlcl/files.h; in JSON the string reads back as
 * \xNN); a JSON document ends with a newline. 0 or -1 (printed). */
static int write_report(const char *path, const char *text, int json) {
    char *fixed = json ? nlcl_utf8_escape_json_text(text) : nlcl_utf8_escape(text);
    size_t len = fixed ? strlen(fixed) : 0;
    char *doc = fixed ? realloc(fixed, len + 2) : NULL;
    if (!doc) {
        free(fixed);
        fprintf(stderr, "nlcl eval: out of memory\n");
        return -1;
    }
    if (json) doc[len++] = '\n';
    nlcl_status s = nlcl_write_file(path, doc, len);
    free(doc);
    if (s != NLCL_OK) {
        cli_fail(s);
        return -1;
    }
    return 0;
}


/* the widest image name of the tables, at most 40 */
static int name_width(const eval_state *st) {
    int namew = 5;
    for (int i = 0; i < st->nrow; i++)
        if ((int)strlen(st->rows[i].stem) > namew) namew = (int)strlen(st->rows[i].stem);
    for (int i = 0; i < st->nn; i++)
        if ((int)strlen(st->nrows[i].stem) > namew) namew = (int)strlen(st->nrows[i].stem);
    return namew > 40 ? 40 : namew;
}

static void print_mean(const char *set, const mean_acc *m) {
    char a[32], b[32];
    fmt_num(a, sizeof a, m->sum_psnr / m->n, 4);
    fmt_num(b, sizeof b, m->sum_ssim / m->n, 5);
    printf("%-6s %6d %12s %10s\n", set, m->n, a, b);
}

static void print_paired(const eval_opts *o, const eval_state *st, int namew) {
    char a[32], b[32], c[32], d[32];
    printf("PSNR = %s, dB\nSSIM = %s\n", st->conv_psnr, st->conv_ssim);
    printf("pred: %s   gt: %s%s%s\n", o->pred_dir, o->gt_dir, o->input_dir ? "   input: " : "",
           o->input_dir ? o->input_dir : "");
    if (o->per_image) {
        printf("\n%-*s %10s %10s", namew, "image", "PSNR pred", "SSIM pred");
        if (o->input_dir) printf(" %11s %11s", "PSNR input", "SSIM input");
        printf("\n");
        for (int i = 0; i < st->nrow; i++) {
            const row *r = &st->rows[i];
            snprintf(a, sizeof a, "-");
            snprintf(b, sizeof b, "-");
            snprintf(c, sizeof c, "-");
            snprintf(d, sizeof d, "-");
            if (r->rp.ok) fmt_num(a, sizeof a, r->rp.psnr, 4), fmt_num(b, sizeof b, r->rp.ssim, 5);
            if (r->ri.ok) fmt_num(c, sizeof c, r->ri.psnr, 4), fmt_num(d, sizeof d, r->ri.ssim, 5);
            printf("%-*.*s %10s %10s", namew, namew, r->stem, a, b);
            if (o->input_dir) printf(" %11s %11s", c, d);
            printf("\n");
        }
    }
    printf("\n%-6s %6s %12s %10s\n", "set", "images", "PSNR [dB]", "SSIM");
    if (st->mp.n) print_mean("pred", &st->mp);
    if (o->input_dir && st->mi.n) print_mean("input", &st->mi);
    if (o->input_dir && st->mi.n != st->mp.n)
        printf("note: pred and input means are over different numbers of images\n");
}

static void print_niqe(const eval_opts *o, const eval_state *st, int namew) {
    char a[32];
    printf("%sNIQE = %s, lower is better\nfolder: %s\n", o->paired ? "\n" : "", st->conv_niqe,
           o->niqe_dir);
    if (o->per_image) {
        printf("\n%-*s %10s\n", namew, "image", "NIQE");
        for (int i = 0; i < st->nn; i++) {
            snprintf(a, sizeof a, "-");
            if (st->nrows[i].ok) fmt_num(a, sizeof a, st->nrows[i].niqe, 4);
            printf("%-*.*s %10s\n", namew, namew, st->nrows[i].stem, a);
        }
    }
    if (st->niqe_n) {
        fmt_num(a, sizeof a, st->niqe_sum / st->niqe_n, 4);
        printf("\n%-6s %6s %10s\n%-6s %6d %10s\n", "set", "images", "NIQE", "niqe", st->niqe_n, a);
    }
}

void eval_print(const eval_opts *o, const eval_state *st) {
    int namew = name_width(st);
    if (o->paired) print_paired(o, st, namew);
    if (o->niqe_dir) print_niqe(o, st, namew);
}

/* the CSV rows of a set's mean (PSNR and SSIM) */
static void csv_means(FILE *f, const char *set, const mean_acc *m, const eval_opts *o,
                      const eval_state *st) {
    char cnt[32];
    snprintf(cnt, sizeof cnt, "%d images", m->n);
    csv_row(f, "mean", set, "", cnt, o->gt_dir, "psnr", m->sum_psnr / m->n, st->conv_psnr);
    csv_row(f, "mean", set, "", cnt, o->gt_dir, "ssim", m->sum_ssim / m->n, st->conv_ssim);
}

/* CSV: one row per value, each with its convention */
int eval_write_csv(const eval_opts *o, const eval_state *st) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return -1;
    fprintf(f, "kind,set,image,file,reference,metric,value,convention\n");
    for (int i = 0; i < st->nrow; i++) {
        const row *r = &st->rows[i];
        for (int k = 0; k < 2; k++) {
            const result *v = k ? &r->ri : &r->rp;
            if (!v->ok) continue;
            const char *set = k ? "input" : "pred", *file = k ? r->input : r->pred;
            csv_row(f, "image", set, r->stem, file, r->gt, "psnr", v->psnr, st->conv_psnr);
            csv_row(f, "image", set, r->stem, file, r->gt, "ssim", v->ssim, st->conv_ssim);
        }
    }
    for (int i = 0; i < st->nn; i++)
        if (st->nrows[i].ok)
            csv_row(f, "image", "niqe", st->nrows[i].stem, st->nrows[i].path, "", "niqe",
                    st->nrows[i].niqe, st->conv_niqe);
    if (st->mp.n) csv_means(f, "pred", &st->mp, o, st);
    if (st->mi.n) csv_means(f, "input", &st->mi, o, st);
    if (st->niqe_n) {
        char cnt[32];
        snprintf(cnt, sizeof cnt, "%d images", st->niqe_n);
        csv_row(f, "mean", "niqe", "", cnt, "", "niqe", st->niqe_sum / st->niqe_n, st->conv_niqe);
    }
    fclose(f);
    int rc = write_report(o->csv_path, buf, 0);
    free(buf);
    return rc;
}

/* sets.pred or sets.input: folder, count, means and every image */
static void json_paired_set(cJSON *sets, int which, const eval_opts *o, const eval_state *st) {
    const mean_acc *m = which ? &st->mi : &st->mp;
    cJSON *set = cJSON_AddObjectToObject(sets, which ? "input" : "pred");
    cJSON_AddStringToObject(set, "folder", which ? o->input_dir : o->pred_dir);
    cJSON_AddStringToObject(set, "reference_folder", o->gt_dir);
    cJSON_AddNumberToObject(set, "count", m->n);
    cJSON_AddItemToObject(set, "psnr_mean", m->n ? json_num(m->sum_psnr / m->n) : cJSON_CreateNull());
    cJSON_AddItemToObject(set, "ssim_mean", m->n ? json_num(m->sum_ssim / m->n) : cJSON_CreateNull());
    cJSON *imgs = cJSON_AddArrayToObject(set, "images");
    for (int i = 0; i < st->nrow; i++) {
        const result *r = which ? &st->rows[i].ri : &st->rows[i].rp;
        if (!r->ok) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "image", st->rows[i].stem);
        cJSON_AddStringToObject(e, "file", which ? st->rows[i].input : st->rows[i].pred);
        cJSON_AddStringToObject(e, "reference", st->rows[i].gt);
        cJSON_AddItemToObject(e, "psnr", json_num(r->psnr));
        cJSON_AddItemToObject(e, "ssim", json_num(r->ssim));
        cJSON_AddItemToArray(imgs, e);
    }
}

static void json_niqe_set(cJSON *sets, const eval_opts *o, const eval_state *st) {
    cJSON *set = cJSON_AddObjectToObject(sets, "niqe");
    cJSON_AddStringToObject(set, "folder", o->niqe_dir);
    cJSON_AddNumberToObject(set, "count", st->niqe_n);
    cJSON_AddItemToObject(set, "niqe_mean", st->niqe_n ? json_num(st->niqe_sum / st->niqe_n) : cJSON_CreateNull());
    cJSON *imgs = cJSON_AddArrayToObject(set, "images");
    for (int i = 0; i < st->nn; i++) {
        if (!st->nrows[i].ok) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "image", st->nrows[i].stem);
        cJSON_AddStringToObject(e, "file", st->nrows[i].path);
        cJSON_AddItemToObject(e, "niqe", json_num(st->nrows[i].niqe));
        cJSON_AddItemToArray(imgs, e);
    }
}

/* JSON: the conventions, every set, the unpaired files and the errors (which
 * move from st into the document) */
int eval_write_json(const eval_opts *o, eval_state *st) {
    cJSON *root = cJSON_CreateObject();
    if (!root) {
        fprintf(stderr, "nlcl eval: out of memory\n");
        return -1;
    }
    cJSON_AddStringToObject(root, "tool", "nlcl eval");
    cJSON *conv = cJSON_AddObjectToObject(root, "conventions");
    if (o->paired) {
        cJSON_AddStringToObject(conv, "psnr", st->conv_psnr);
        cJSON_AddStringToObject(conv, "ssim", st->conv_ssim);
    }
    if (o->niqe_dir) cJSON_AddStringToObject(conv, "niqe", st->conv_niqe);
    cJSON_AddStringToObject(root, "note",
                            "psnr null means identical images (+infinity); means are "
                            "arithmetic means of the per-image values");
    cJSON *sets = cJSON_AddObjectToObject(root, "sets");
    for (int which = 0; o->paired && which < (o->input_dir ? 2 : 1); which++) json_paired_set(sets, which, o, st);
    if (o->niqe_dir) json_niqe_set(sets, o, st);
    cJSON_AddItemToObject(root, "unpaired", st->unpaired);
    st->unpaired = NULL;
    cJSON_AddItemToObject(root, "errors", st->errors);
    st->errors = NULL;
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "nlcl eval: out of memory\n");
        return -1;
    }
    int rc = write_report(o->json_path, text, 1);
    cJSON_free(text);
    return rc;
}
