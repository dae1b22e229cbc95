/* nlcl eval: PSNR/SSIM of predictions against ground truth (optionally of
 * the rainy inputs too, as a baseline), NIQE of a folder without reference.
 *
 * Pairing: by file name without its extension ("stem"), so pred/12.png pairs
 * with gt/12.jpg; only image files (.png/.jpg/.jpeg/.tif/.tiff/.bmp, any
 * case; hidden files skipped, no recursion) are considered. Two files with the same stem in one
 * folder make pairing ambiguous: an error. Files without a partner are listed
 * on stderr and left out (with --strict they are an error). Every number is
 * printed with its convention (nlcl_*_convention). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "core/afile.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/metrics.h"
#include "nlcl/model.h"

static const char *summary =
    "usage: nlcl eval --pred DIR --gt DIR [--input DIR] [options]\n"
    "       nlcl eval --niqe DIR [options]\n\n"
    "Full-reference PSNR and SSIM of the images in --pred against those in --gt, paired by\n"
    "file name without extension (pred/1.png pairs with gt/1.jpg); --input adds the rainy\n"
    "inputs against the same ground truth as a baseline row. --niqe scores the images of a\n"
    "folder without reference (NIQE, lower is better); it can be combined with --pred/--gt.\n"
    "Defaults follow deraining papers: PSNR and SSIM on Y (ITU-R BT.601 limited range as\n"
    "MATLAB rgb2ycbcr, in double), SSIM with Wang et al.'s 11x11 Gaussian window (sigma 1.5),\n"
    "NIQE on MATLAB rgb2gray rounded to 8 bits with the LIVE pristine model. The convention\n"
    "is printed with every number. Exit status: 0 ok, 1 a file could not be evaluated (or no\n"
    "pairs), 2 usage error.";

typedef struct entry {
    char *stem;
    char *path;
} entry;

typedef struct folder {
    const char *dir;
    entry *e;
    int n;
} folder;

typedef struct result {
    double psnr, ssim;
    int ok;
    char err[600];
} result;

typedef struct row {
    const char *stem;
    const char *gt, *pred, *input; /* paths or NULL */
    int gt_ok;
    char gt_err[600];
    result rp, ri;
} row;

typedef struct niqe_row {
    const char *stem, *path;
    double niqe;
    int ok;
    char err[600];
} niqe_row;

/* ---- folders and pairing ----------------------------------------------------------- */

static int cmp_stem(const void *a, const void *b) {
    return strcmp(((const entry *)a)->stem, ((const entry *)b)->stem);
}

/* Natural order for display: runs of digits compare as numbers (2 < 10). */
static int natural_cmp(const char *a, const char *b) {
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1])) a++;
            while (*b == '0' && isdigit((unsigned char)b[1])) b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) la++;
            while (isdigit((unsigned char)b[lb])) lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la;
            b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int cmp_row(const void *a, const void *b) {
    const row *x = a, *y = b;
    int c = natural_cmp(x->stem, y->stem);
    return c ? c : strcmp(x->stem, y->stem);
}

static void folder_free(folder *f) {
    for (int i = 0; i < f->n; i++) {
        free(f->e[i].stem);
        free(f->e[i].path);
    }
    free(f->e);
    f->e = NULL;
    f->n = 0;
}

/* List a folder's images, sorted by stem; an error (message printed) if it
 * is missing or two files share a stem. Returns 0 on success. */
static int folder_read(const char *dir, const char *role, folder *f) {
    f->dir = dir;
    f->e = NULL;
    f->n = 0;
    if (!nlcl_is_dir(dir)) {
        fprintf(stderr, "nlcl eval: --%s %s: %s\n", role, dir,
                access(dir, F_OK) == 0 ? "is not a folder" : "no such folder");
        return -1;
    }
    char **list = NULL;
    int n = 0;
    nlcl_status s = nlcl_list_images(dir, &list, &n);
    if (s != NLCL_OK) {
        cli_fail(s);
        return -1;
    }
    f->e = calloc((size_t)n + 1, sizeof *f->e);
    if (!f->e) {
        nlcl_free_list(list);
        fprintf(stderr, "nlcl eval: out of memory\n");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *base = nlcl_basename(list[i]);
        const char *dot = strrchr(base, '.');
        size_t len = dot ? (size_t)(dot - base) : strlen(base);
        f->e[i].stem = strndup(base, len);
        f->e[i].path = strdup(list[i]);
        f->n++;
        if (!f->e[i].stem || !f->e[i].path) {
            nlcl_free_list(list);
            fprintf(stderr, "nlcl eval: out of memory\n");
            return -1;
        }
    }
    nlcl_free_list(list);
    qsort(f->e, (size_t)f->n, sizeof *f->e, cmp_stem);
    /* NIQE pairs nothing: two files with one stem are simply two images */
    for (int i = 1; strcmp(role, "niqe") != 0 && i < f->n; i++)
        if (!strcmp(f->e[i - 1].stem, f->e[i].stem)) {
            fprintf(stderr,
                    "nlcl eval: %s and %s have the same name without extension ('%s'); "
                    "pairing by name is ambiguous: remove or rename one\n",
                    f->e[i - 1].path, f->e[i].path, f->e[i].stem);
            return -1;
        }
    return 0;
}

static const entry *folder_find(const folder *f, const char *stem) {
    entry key = {(char *)stem, NULL};
    return f->n ? bsearch(&key, f->e, (size_t)f->n, sizeof *f->e, cmp_stem) : NULL;
}

/* Print the files of `a` that have no partner in `b`; returns their count. */
static int report_unpaired(const folder *a, const char *arole, const folder *b,
                           const char *brole, cJSON *json_list) {
    int n = 0;
    for (int i = 0; i < a->n; i++) {
        if (folder_find(b, a->e[i].stem)) continue;
        if (n < 20)
            fprintf(stderr, "nlcl eval: warning: %s has no partner in --%s %s\n", a->e[i].path,
                    brole, b->dir);
        if (json_list) cJSON_AddItemToArray(json_list, cJSON_CreateString(a->e[i].path));
        n++;
    }
    if (n > 20) fprintf(stderr, "nlcl eval: warning: ... %d more in --%s without a partner\n", n - 20, arole);
    return n;
}

/* ---- evaluation ---------------------------------------------------------------------- */

static nlcl_status load(const char *path, nlcl_metric_image *m, char *err, size_t errn) {
    nlcl_image img;
    nlcl_image_info info;
    nlcl_status s = nlcl_image_load(path, &img, &info);
    if (s == NLCL_OK) {
        s = nlcl_metric_image_from_image(&img, info.bit_depth <= 8, m);
        nlcl_image_free(&img);
    }
    if (s != NLCL_OK) snprintf(err, errn, "%s", nlcl_error_message());
    return s;
}

static void compare(const char *path, const nlcl_metric_image *gt, const char *gt_path,
                    const nlcl_psnr_opts *po, const nlcl_ssim_opts *so, result *r) {
    nlcl_metric_image m = {0, 0, 0, NULL};
    r->ok = 0;
    if (load(path, &m, r->err, sizeof r->err) != NLCL_OK) return;
    if (m.width != gt->width || m.height != gt->height) {
        snprintf(r->err, sizeof r->err, "%s is %dx%d but %s is %dx%d: sizes differ", path,
                 m.width, m.height, gt_path, gt->width, gt->height);
        nlcl_metric_image_free(&m);
        return;
    }
    nlcl_status s = nlcl_psnr(&m, gt, po, &r->psnr);
    if (s == NLCL_OK) s = nlcl_ssim(&m, gt, so, &r->ssim);
    if (s != NLCL_OK)
        snprintf(r->err, sizeof r->err, "%s vs %s: %s", path, gt_path, nlcl_error_message());
    else
        r->ok = 1;
    nlcl_metric_image_free(&m);
}

/* ---- output -------------------------------------------------------------------------- */

static void fmt_num(char *buf, size_t n, double v, int decimals) {
    if (isinf(v))
        snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, "%.*f", decimals, v);
}

typedef struct mean_acc {
    double sum_psnr, sum_ssim;
    int n;
} mean_acc;

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

/* CSV and JSON files are UTF-8: bytes of file names that are not (a
 * Latin-1 name unpacked from an old archive) are written as \xNN
 * (include/nlcl/files.h; in JSON the string reads back as \xNN). */
static int write_text_atomic(const char *path, const char *text, size_t len, int json) {
    char *fixed = json ? nlcl_utf8_escape_json_text(text) : nlcl_utf8_escape(text);
    if (!fixed) {
        fprintf(stderr, "nlcl eval: out of memory\n");
        return -1;
    }
    text = fixed;
    len = strlen(fixed);
    nlcl_afile af;
    nlcl_status s = nlcl_afile_open(&af, path, "eval");
    if (s == NLCL_OK) {
        s = nlcl_afile_write(&af, text, len);
        if (s == NLCL_OK && json) s = nlcl_afile_write(&af, "\n", 1);
        if (s != NLCL_OK) {
            nlcl_afile_abort(&af);
        } else {
            s = nlcl_afile_commit(&af);
        }
    }
    free(fixed);
    if (s != NLCL_OK) {
        cli_fail(s);
        return -1;
    }
    return 0;
}

/* ---- the command ----------------------------------------------------------------------- */

int cmd_eval(int argc, char **argv) {
    const char *pred_dir = NULL, *gt_dir = NULL, *input_dir = NULL, *niqe_dir = NULL;
    const char *csv_path = NULL, *json_path = NULL;
    int channel = 0, niqe_channel = 0, round_luma = 0, ssim_ds = 0, ssim_variant = 0;
    int per_image = 0, strict = 0;
    long long crop = 0, threads = 0;
    const cli_opt opts[] = {
        {"pred", 'p', CLI_STRING, &pred_dir, "DIR", "predictions (derained images)", 0, 0, NULL},
        {"gt", 'g', CLI_STRING, &gt_dir, "DIR", "ground truth (clean images)", 0, 0, NULL},
        {"input", 'i', CLI_STRING, &input_dir, "DIR", "rainy inputs: adds an 'input' baseline row", 0, 0, NULL},
        {"niqe", 0, CLI_STRING, &niqe_dir, "DIR", "NIQE (no reference) of the images in DIR", 0, 0, NULL},
        {"channel", 'c', CLI_CHOICE, &channel, NULL, "PSNR/SSIM on Y (BT.601 limited, default), RGB, or gray (MATLAB rgb2gray)", 0, 0, "y|rgb|gray"},
        {"round-luma", 0, CLI_FLAG, &round_luma, NULL, "round Y/gray to integers as MATLAB does for uint8 (default: double)", 0, 0, NULL},
        {"crop", 0, CLI_INT, &crop, "N", "remove N pixels on each side before every metric (default 0)", 0, 100000, NULL},
        {"ssim-variant", 0, CLI_CHOICE, &ssim_variant, NULL, "wang: 11x11 Gaussian sigma 1.5, population cov (default); skimage: 7x7 uniform, sample cov", 0, 0, "wang|skimage"},
        {"ssim-downsample", 0, CLI_FLAG, &ssim_ds, NULL, "MATLAB ssim.m automatic downsampling by round(min(h,w)/256)", 0, 0, NULL},
        {"niqe-channel", 0, CLI_CHOICE, &niqe_channel, NULL, "NIQE input: gray (MATLAB rgb2gray, default, as the LIVE code) or y", 0, 0, "gray|y"},
        {"per-image", 0, CLI_FLAG, &per_image, NULL, "print one row per image (default: means only)", 0, 0, NULL},
        {"csv", 0, CLI_STRING, &csv_path, "FILE", "write every value (per image and means) as CSV", 0, 0, NULL},
        {"json", 0, CLI_STRING, &json_path, "FILE", "write the results as JSON", 0, 0, NULL},
        {"strict", 0, CLI_FLAG, &strict, NULL, "files without a partner are an error", 0, 0, NULL},
        {"threads", 't', CLI_INT, &threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return CLI_EXIT_FAIL;
    int npos = 0;
    cli_parse_result pr = cli_parse("eval", summary, opts, argc, argv, pos, &npos);
    if (pr != CLI_PARSE_OK) {
        free(pos);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (npos > 0) {
        int rc = cli_usage_error("eval", "unexpected argument '%s' (folders are given with --pred, --gt, --input, --niqe)", pos[0]);
        free(pos);
        return rc;
    }
    free(pos);
    int paired = pred_dir || gt_dir;
    if (paired && !(pred_dir && gt_dir))
        return cli_usage_error("eval", "--%s needs --%s", pred_dir ? "pred" : "gt",
                               pred_dir ? "gt" : "pred");
    if (input_dir && !paired) return cli_usage_error("eval", "--input needs --pred and --gt");
    if (!paired && !niqe_dir)
        return cli_usage_error("eval", "nothing to evaluate: give --pred and --gt, or --niqe");
    if (threads > 0) nlcl_set_num_threads((int)threads);

    nlcl_psnr_opts po;
    nlcl_ssim_opts so;
    nlcl_niqe_opts no;
    nlcl_psnr_opts_init(&po);
    if (ssim_variant == 1)
        nlcl_ssim_opts_skimage(&so);
    else
        nlcl_ssim_opts_init(&so);
    nlcl_niqe_opts_init(&no);
    static const nlcl_metric_channel chans[3] = {NLCL_METRIC_Y, NLCL_METRIC_RGB, NLCL_METRIC_GRAY};
    po.channel = so.channel = chans[channel];
    po.round_luma = so.round_luma = round_luma;
    po.crop = so.crop = no.crop = (int)crop;
    so.matlab_downsample = ssim_ds;
    no.channel = niqe_channel == 1 ? NLCL_METRIC_Y : NLCL_METRIC_GRAY;
    char conv_psnr[256], conv_ssim[256], conv_niqe[256];
    nlcl_psnr_convention(&po, conv_psnr, sizeof conv_psnr);
    nlcl_ssim_convention(&so, conv_ssim, sizeof conv_ssim);
    nlcl_niqe_convention(&no, conv_niqe, sizeof conv_niqe);

    int rc = CLI_EXIT_OK;
    folder fp = {0}, fg = {0}, fi = {0}, fn = {0};
    row *rows = NULL;
    niqe_row *nrows = NULL;
    int nrow = 0, nn = 0;
    cJSON *root = cJSON_CreateObject();
    cJSON *unp = cJSON_CreateObject();
    cJSON *errs = cJSON_CreateArray();
    if (!root || !unp || !errs) {
        fprintf(stderr, "nlcl eval: out of memory\n");
        cJSON_Delete(root);
        cJSON_Delete(unp);
        cJSON_Delete(errs);
        return CLI_EXIT_FAIL;
    }

    /* 1. folders and pairs */
    if (paired) {
        if (folder_read(pred_dir, "pred", &fp) || folder_read(gt_dir, "gt", &fg) ||
            (input_dir && folder_read(input_dir, "input", &fi)))
            rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK && niqe_dir && folder_read(niqe_dir, "niqe", &fn)) rc = CLI_EXIT_FAIL;
    /* the reports must not replace an input image, nor each other */
    if (rc == CLI_EXIT_OK && csv_path && json_path && nlcl_same_path(csv_path, json_path)) {
        fprintf(stderr, "nlcl eval: --csv %s and --json %s are the same file; give two names\n",
                csv_path, json_path);
        rc = CLI_EXIT_FAIL;
    }
    const folder *all[4] = {&fp, &fg, &fi, &fn};
    for (int r = 0; rc == CLI_EXIT_OK && r < 2; r++) {
        const char *rep = r ? json_path : csv_path;
        for (int k = 0; rep && rc == CLI_EXIT_OK && k < 4; k++)
            for (int i = 0; i < all[k]->n; i++)
                if (nlcl_same_file(rep, all[k]->e[i].path)) {
                    fprintf(stderr, "nlcl eval: --%s %s would overwrite the input image %s; "
                                    "choose another file\n",
                            r ? "json" : "csv", rep, all[k]->e[i].path);
                    rc = CLI_EXIT_FAIL;
                    break;
                }
    }
    int unpaired = 0;
    if (rc == CLI_EXIT_OK && paired) {
        cJSON *l;
        cJSON_AddItemToObject(unp, "pred", l = cJSON_CreateArray());
        unpaired += report_unpaired(&fp, "pred", &fg, "gt", l);
        cJSON_AddItemToObject(unp, "gt", l = cJSON_CreateArray());
        unpaired += report_unpaired(&fg, "gt", &fp, "pred", l);
        if (input_dir) {
            cJSON_AddItemToObject(unp, "input", l = cJSON_CreateArray());
            unpaired += report_unpaired(&fi, "input", &fg, "gt", l);
            cJSON *l2 = cJSON_CreateArray();
            cJSON_AddItemToObject(unp, "gt_without_input", l2);
            unpaired += report_unpaired(&fg, "gt", &fi, "input", l2);
        }
        rows = calloc((size_t)fg.n + 1, sizeof *rows);
        if (!rows) rc = CLI_EXIT_FAIL;
        for (int i = 0; rows && i < fg.n; i++) {
            const entry *p = folder_find(&fp, fg.e[i].stem);
            const entry *in = input_dir ? folder_find(&fi, fg.e[i].stem) : NULL;
            if (!p && !in) continue;
            row *r = &rows[nrow++];
            r->stem = fg.e[i].stem;
            r->gt = fg.e[i].path;
            r->pred = p ? p->path : NULL;
            r->input = in ? in->path : NULL;
        }
        int npairs = 0;
        for (int i = 0; i < nrow; i++) npairs += rows[i].pred != NULL;
        if (rc == CLI_EXIT_OK && npairs == 0) {
            fprintf(stderr, "nlcl eval: no pairs: no file in --pred %s has the name (without "
                            "extension) of a file in --gt %s\n", pred_dir, gt_dir);
            rc = CLI_EXIT_FAIL;
        }
        if (rc == CLI_EXIT_OK && strict && unpaired) {
            fprintf(stderr, "nlcl eval: %d file(s) without a partner (--strict)\n", unpaired);
            rc = CLI_EXIT_FAIL;
        }
    }
    if (rc == CLI_EXIT_OK && niqe_dir) {
        if (fn.n == 0) {
            fprintf(stderr, "nlcl eval: --niqe %s: no PNG/JPEG/TIFF/BMP files\n", niqe_dir);
            rc = CLI_EXIT_FAIL;
        }
        nrows = calloc((size_t)fn.n + 1, sizeof *nrows);
        if (!nrows) rc = CLI_EXIT_FAIL;
        for (int i = 0; nrows && i < fn.n; i++) {
            nrows[nn].stem = fn.e[i].stem;
            nrows[nn++].path = fn.e[i].path;
        }
    }

    /* 2. evaluate, images in parallel (the metrics run serially inside) */
    if (rc == CLI_EXIT_OK) {
        if (nrow > 1) qsort(rows, (size_t)nrow, sizeof *rows, cmp_row);
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < nrow; i++) {
            row *r = &rows[i];
            nlcl_metric_image gt = {0, 0, 0, NULL};
            if (load(r->gt, &gt, r->gt_err, sizeof r->gt_err) != NLCL_OK) continue;
            r->gt_ok = 1;
            if (r->pred) compare(r->pred, &gt, r->gt, &po, &so, &r->rp);
            if (r->input) compare(r->input, &gt, r->gt, &po, &so, &r->ri);
            nlcl_metric_image_free(&gt);
        }
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < nn; i++) {
            niqe_row *r = &nrows[i];
            nlcl_metric_image m = {0, 0, 0, NULL};
            if (load(r->path, &m, r->err, sizeof r->err) != NLCL_OK) continue;
            if (nlcl_niqe(&m, &no, &r->niqe) == NLCL_OK)
                r->ok = 1;
            else
                snprintf(r->err, sizeof r->err, "%s: %s", r->path, nlcl_error_message());
            nlcl_metric_image_free(&m);
        }
    }

    /* 3. report */
    if (rc == CLI_EXIT_OK) {
        int failures = 0;
        for (int i = 0; i < nrow; i++) {
            row *r = &rows[i];
            const char *msgs[3] = {!r->gt_ok ? r->gt_err : NULL,
                                   r->gt_ok && r->pred && !r->rp.ok ? r->rp.err : NULL,
                                   r->gt_ok && r->input && !r->ri.ok ? r->ri.err : NULL};
            for (int k = 0; k < 3; k++)
                if (msgs[k]) {
                    fprintf(stderr, "nlcl eval: %s\n", msgs[k]);
                    cJSON_AddItemToArray(errs, cJSON_CreateString(msgs[k]));
                    failures++;
                }
        }
        for (int i = 0; i < nn; i++)
            if (!nrows[i].ok) {
                fprintf(stderr, "nlcl eval: %s\n", nrows[i].err);
                cJSON_AddItemToArray(errs, cJSON_CreateString(nrows[i].err));
                failures++;
            }
        mean_acc mp = {0, 0, 0}, mi = {0, 0, 0};
        double niqe_sum = 0;
        int niqe_n = 0;
        for (int i = 0; i < nrow; i++) {
            if (rows[i].rp.ok) mp.sum_psnr += rows[i].rp.psnr, mp.sum_ssim += rows[i].rp.ssim, mp.n++;
            if (rows[i].ri.ok) mi.sum_psnr += rows[i].ri.psnr, mi.sum_ssim += rows[i].ri.ssim, mi.n++;
        }
        for (int i = 0; i < nn; i++)
            if (nrows[i].ok) niqe_sum += nrows[i].niqe, niqe_n++;

        /* terminal */
        int namew = 5;
        for (int i = 0; i < nrow; i++)
            if ((int)strlen(rows[i].stem) > namew) namew = (int)strlen(rows[i].stem);
        for (int i = 0; i < nn; i++)
            if ((int)strlen(nrows[i].stem) > namew) namew = (int)strlen(nrows[i].stem);
        if (namew > 40) namew = 40;
        char a[32], b[32], c[32], d[32];
        if (paired) {
            printf("PSNR = %s, dB\nSSIM = %s\n", conv_psnr, conv_ssim);
            printf("pred: %s   gt: %s%s%s\n", pred_dir, gt_dir, input_dir ? "   input: " : "",
                   input_dir ? input_dir : "");
            if (per_image) {
                printf("\n%-*s %10s %10s", namew, "image", "PSNR pred", "SSIM pred");
                if (input_dir) printf(" %11s %11s", "PSNR input", "SSIM input");
                printf("\n");
                for (int i = 0; i < nrow; i++) {
                    row *r = &rows[i];
                    snprintf(a, sizeof a, "-");
                    snprintf(b, sizeof b, "-");
                    snprintf(c, sizeof c, "-");
                    snprintf(d, sizeof d, "-");
                    if (r->rp.ok) fmt_num(a, sizeof a, r->rp.psnr, 4), fmt_num(b, sizeof b, r->rp.ssim, 5);
                    if (r->ri.ok) fmt_num(c, sizeof c, r->ri.psnr, 4), fmt_num(d, sizeof d, r->ri.ssim, 5);
                    printf("%-*.*s %10s %10s", namew, namew, r->stem, a, b);
                    if (input_dir) printf(" %11s %11s", c, d);
                    printf("\n");
                }
            }
            printf("\n%-6s %6s %12s %10s\n", "set", "images", "PSNR [dB]", "SSIM");
            if (mp.n) {
                fmt_num(a, sizeof a, mp.sum_psnr / mp.n, 4);
                fmt_num(b, sizeof b, mp.sum_ssim / mp.n, 5);
                printf("%-6s %6d %12s %10s\n", "pred", mp.n, a, b);
            }
            if (input_dir && mi.n) {
                fmt_num(a, sizeof a, mi.sum_psnr / mi.n, 4);
                fmt_num(b, sizeof b, mi.sum_ssim / mi.n, 5);
                printf("%-6s %6d %12s %10s\n", "input", mi.n, a, b);
            }
            if (input_dir && mi.n != mp.n)
                printf("note: pred and input means are over different numbers of images\n");
        }
        if (niqe_dir) {
            printf("%sNIQE = %s, lower is better\nfolder: %s\n", paired ? "\n" : "", conv_niqe,
                   niqe_dir);
            if (per_image) {
                printf("\n%-*s %10s\n", namew, "image", "NIQE");
                for (int i = 0; i < nn; i++) {
                    snprintf(a, sizeof a, "-");
                    if (nrows[i].ok) fmt_num(a, sizeof a, nrows[i].niqe, 4);
                    printf("%-*.*s %10s\n", namew, namew, nrows[i].stem, a);
                }
            }
            if (niqe_n) {
                fmt_num(a, sizeof a, niqe_sum / niqe_n, 4);
                printf("\n%-6s %6s %10s\n%-6s %6d %10s\n", "set", "images", "NIQE", "niqe",
                       niqe_n, a);
            }
        }

        /* CSV: one row per value, each with its convention */
        if (csv_path) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            if (!f) {
                rc = CLI_EXIT_FAIL;
            } else {
                fprintf(f, "kind,set,image,file,reference,metric,value,convention\n");
                for (int i = 0; i < nrow; i++) {
                    row *r = &rows[i];
                    if (r->rp.ok) {
                        csv_row(f, "image", "pred", r->stem, r->pred, r->gt, "psnr", r->rp.psnr, conv_psnr);
                        csv_row(f, "image", "pred", r->stem, r->pred, r->gt, "ssim", r->rp.ssim, conv_ssim);
                    }
                    if (r->ri.ok) {
                        csv_row(f, "image", "input", r->stem, r->input, r->gt, "psnr", r->ri.psnr, conv_psnr);
                        csv_row(f, "image", "input", r->stem, r->input, r->gt, "ssim", r->ri.ssim, conv_ssim);
                    }
                }
                for (int i = 0; i < nn; i++)
                    if (nrows[i].ok)
                        csv_row(f, "image", "niqe", nrows[i].stem, nrows[i].path, "", "niqe",
                                nrows[i].niqe, conv_niqe);
                char cnt[32];
                if (mp.n) {
                    snprintf(cnt, sizeof cnt, "%d images", mp.n);
                    csv_row(f, "mean", "pred", "", cnt, gt_dir, "psnr", mp.sum_psnr / mp.n, conv_psnr);
                    csv_row(f, "mean", "pred", "", cnt, gt_dir, "ssim", mp.sum_ssim / mp.n, conv_ssim);
                }
                if (mi.n) {
                    snprintf(cnt, sizeof cnt, "%d images", mi.n);
                    csv_row(f, "mean", "input", "", cnt, gt_dir, "psnr", mi.sum_psnr / mi.n, conv_psnr);
                    csv_row(f, "mean", "input", "", cnt, gt_dir, "ssim", mi.sum_ssim / mi.n, conv_ssim);
                }
                if (niqe_n) {
                    snprintf(cnt, sizeof cnt, "%d images", niqe_n);
                    csv_row(f, "mean", "niqe", "", cnt, "", "niqe", niqe_sum / niqe_n, conv_niqe);
                }
                fclose(f);
                if (write_text_atomic(csv_path, buf, len, 0)) rc = CLI_EXIT_FAIL;
                free(buf);
            }
        }

        /* JSON */
        if (json_path) {
            cJSON_AddStringToObject(root, "tool", "nlcl eval");
            cJSON *conv = cJSON_AddObjectToObject(root, "conventions");
            if (paired) {
                cJSON_AddStringToObject(conv, "psnr", conv_psnr);
                cJSON_AddStringToObject(conv, "ssim", conv_ssim);
            }
            if (niqe_dir) cJSON_AddStringToObject(conv, "niqe", conv_niqe);
            cJSON_AddStringToObject(root, "note",
                                    "psnr null means identical images (+infinity); means are "
                                    "arithmetic means of the per-image values");
            cJSON *sets = cJSON_AddObjectToObject(root, "sets");
            for (int which = 0; paired && which < 2; which++) {
                if (which == 1 && !input_dir) break;
                mean_acc *m = which ? &mi : &mp;
                cJSON *set = cJSON_AddObjectToObject(sets, which ? "input" : "pred");
                cJSON_AddStringToObject(set, "folder", which ? input_dir : pred_dir);
                cJSON_AddStringToObject(set, "reference_folder", gt_dir);
                cJSON_AddNumberToObject(set, "count", m->n);
                cJSON_AddItemToObject(set, "psnr_mean", m->n ? json_num(m->sum_psnr / m->n) : cJSON_CreateNull());
                cJSON_AddItemToObject(set, "ssim_mean", m->n ? json_num(m->sum_ssim / m->n) : cJSON_CreateNull());
                cJSON *imgs = cJSON_AddArrayToObject(set, "images");
                for (int i = 0; i < nrow; i++) {
                    result *r = which ? &rows[i].ri : &rows[i].rp;
                    if (!r->ok) continue;
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddStringToObject(o, "image", rows[i].stem);
                    cJSON_AddStringToObject(o, "file", which ? rows[i].input : rows[i].pred);
                    cJSON_AddStringToObject(o, "reference", rows[i].gt);
                    cJSON_AddItemToObject(o, "psnr", json_num(r->psnr));
                    cJSON_AddItemToObject(o, "ssim", json_num(r->ssim));
                    cJSON_AddItemToArray(imgs, o);
                }
            }
            if (niqe_dir) {
                cJSON *set = cJSON_AddObjectToObject(sets, "niqe");
                cJSON_AddStringToObject(set, "folder", niqe_dir);
                cJSON_AddNumberToObject(set, "count", niqe_n);
                cJSON_AddItemToObject(set, "niqe_mean", niqe_n ? json_num(niqe_sum / niqe_n) : cJSON_CreateNull());
                cJSON *imgs = cJSON_AddArrayToObject(set, "images");
                for (int i = 0; i < nn; i++) {
                    if (!nrows[i].ok) continue;
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddStringToObject(o, "image", nrows[i].stem);
                    cJSON_AddStringToObject(o, "file", nrows[i].path);
                    cJSON_AddItemToObject(o, "niqe", json_num(nrows[i].niqe));
                    cJSON_AddItemToArray(imgs, o);
                }
            }
            cJSON_AddItemToObject(root, "unpaired", unp);
            unp = NULL;
            cJSON_AddItemToObject(root, "errors", errs);
            errs = NULL;
            char *text = cJSON_Print(root);
            if (!text) {
                fprintf(stderr, "nlcl eval: out of memory\n");
                rc = CLI_EXIT_FAIL;
            } else {
                if (write_text_atomic(json_path, text, strlen(text), 1)) rc = CLI_EXIT_FAIL;
                cJSON_free(text);
            }
        }
        if (failures) {
            fprintf(stderr, "nlcl eval: %d file(s) could not be evaluated (see above); the means "
                            "leave them out\n", failures);
            rc = CLI_EXIT_FAIL;
        }
    }

    cJSON_Delete(root);
    cJSON_Delete(unp);
    cJSON_Delete(errs);
    free(rows);
    free(nrows);
    folder_free(&fp);
    folder_free(&fg);
    folder_free(&fi);
    folder_free(&fn);
    return rc;
}
