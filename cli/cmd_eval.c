/* nlcl eval: PSNR/SSIM of predictions against ground truth (optionally of
 * the rainy inputs too, as a baseline), NIQE of a folder without reference.
 *
 * Pairing: by file name without its extension ("stem"), so pred/12.png pairs
 * with gt/12.jpg; only image files (.png/.jpg/.jpeg/.tif/.tiff/.bmp, any
 * case; hidden files skipped, no recursion) are considered. Two files with the same stem in one
 * folder make pairing ambiguous: an error. Files without a partner are left
 * out with one summary line on stderr (counts and an example per folder;
 * --json lists them all; with --strict they are an error). Every number is
 * printed with its convention (nlcl_*_convention). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eval.h"
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
    char **list = NULL, **un = NULL;
    int n = 0, nun = 0;
    nlcl_status s = nlcl_list_images_ex(dir, 0, &list, &n, &un, &nun);
    if (s != NLCL_OK) {
        cli_fail(s);
        return -1;
    }
    cli_report_unreadable("eval", dir, un, nun);
    nlcl_list_free(un);
    f->e = calloc((size_t)n + 1, sizeof *f->e);
    if (!f->e) {
        nlcl_list_free(list);
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
            nlcl_list_free(list);
            fprintf(stderr, "nlcl eval: out of memory\n");
            return -1;
        }
    }
    nlcl_list_free(list);
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

/* The files of `a` without a partner in `b`, kept in json_list; appends
 * "N of M in --A without one in --B (e.g. x.png)" to the summary; their count. */
static int report_unpaired(const folder *a, const char *arole, const folder *b,
                           const char *brole, cJSON *json_list, char *sum, size_t nsum) {
    int n = 0;
    const char *first = NULL;
    for (int i = 0; i < a->n; i++) {
        if (folder_find(b, a->e[i].stem)) continue;
        if (!first) first = a->e[i].path;
        if (json_list) cJSON_AddItemToArray(json_list, cJSON_CreateString(a->e[i].path));
        n++;
    }
    size_t len = strlen(sum);
    if (n && len < nsum)
        snprintf(sum + len, nsum - len, "%s%d of %d in --%s without one in --%s (e.g. %s)", len ? "; " : "",
                 n, a->n, arole, brole, nlcl_basename(first));
    return n;
}

/* ---- evaluation ---------------------------------------------------------------------- */

static nlcl_status load(const char *path, nlcl_metric_image *m, char *err, size_t errn) {
    nlcl_image img;
    nlcl_image_info info;
    nlcl_status s = cli_load_image("eval", path, &img, NULL, &info); /* says gamut clipping */
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

/* ---- the command ----------------------------------------------------------------------- */

/* Options; CLI_CONTINUE or the exit status. */
static int parse_args(eval_opts *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    const cli_opt opts[] = {
        {"pred", 'p', CLI_STRING, &o->pred_dir, "DIR", "predictions (derained images)", 0, 0, NULL},
        {"gt", 'g', CLI_STRING, &o->gt_dir, "DIR", "ground truth (clean images)", 0, 0, NULL},
        {"input", 'i', CLI_STRING, &o->input_dir, "DIR", "rainy inputs: adds an 'input' baseline row", 0, 0, NULL},
        {"niqe", 0, CLI_STRING, &o->niqe_dir, "DIR", "NIQE (no reference) of the images in DIR", 0, 0, NULL},
        {"channel", 'c', CLI_CHOICE, &o->channel, NULL, "PSNR/SSIM on Y (BT.601 limited, default), RGB, or gray (MATLAB rgb2gray)", 0, 0, "y|rgb|gray"},
        {"round-luma", 0, CLI_FLAG, &o->round_luma, NULL, "round Y/gray to integers as MATLAB does for uint8 (default: double)", 0, 0, NULL},
        {"crop", 0, CLI_INT, &o->crop, "N", "remove N pixels on each side before every metric (default 0)", 0, 100000, NULL},
        {"ssim-variant", 0, CLI_CHOICE, &o->ssim_variant, NULL, "wang: 11x11 Gaussian sigma 1.5, population cov (default); skimage: 7x7 uniform, sample cov", 0, 0, "wang|skimage"},
        {"ssim-downsample", 0, CLI_FLAG, &o->ssim_ds, NULL, "MATLAB ssim.m automatic downsampling by round(min(h,w)/256)", 0, 0, NULL},
        {"niqe-channel", 0, CLI_CHOICE, &o->niqe_channel, NULL, "NIQE input: gray (MATLAB rgb2gray, default, as the LIVE code) or y", 0, 0, "gray|y"},
        {"per-image", 0, CLI_FLAG, &o->per_image, NULL, "print one row per image (default: means only)", 0, 0, NULL},
        {"csv", 0, CLI_STRING, &o->csv_path, "FILE", "write every value (per image and means) as CSV", 0, 0, NULL},
        {"json", 0, CLI_STRING, &o->json_path, "FILE", "write the results as JSON", 0, 0, NULL},
        {"strict", 0, CLI_FLAG, &o->strict, NULL, "files without a partner are an error", 0, 0, NULL},
        {"threads", 't', CLI_INT, &o->threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    const cli_command cmd = {"eval", summary, opts, 0, 0, NULL,
                             "folders are given with --pred, --gt, --input, --niqe"};
    cli_pos pos;
    int rc = cli_parse(&cmd, argc, argv, &pos);
    if (rc != CLI_CONTINUE) return rc;
    o->paired = o->pred_dir || o->gt_dir;
    if (o->paired && !(o->pred_dir && o->gt_dir))
        return cli_usage_error("eval", "--%s needs --%s", o->pred_dir ? "pred" : "gt",
                               o->pred_dir ? "gt" : "pred");
    if (o->input_dir && !o->paired) return cli_usage_error("eval", "--input needs --pred and --gt");
    if (!o->paired && !o->niqe_dir)
        return cli_usage_error("eval", "nothing to evaluate: give --pred and --gt, or --niqe");
    return CLI_CONTINUE;
}

/* The metrics' options and their printed conventions. */
static void metric_opts(const eval_opts *o, eval_state *st) {
    nlcl_psnr_opts_init(&st->po);
    if (o->ssim_variant == 1) nlcl_ssim_opts_skimage(&st->so);
    else nlcl_ssim_opts_init(&st->so);
    nlcl_niqe_opts_init(&st->no);
    static const nlcl_metric_channel chans[3] = {NLCL_METRIC_Y, NLCL_METRIC_RGB, NLCL_METRIC_GRAY};
    st->po.channel = st->so.channel = chans[o->channel];
    st->po.round_luma = st->so.round_luma = o->round_luma;
    st->po.crop = st->so.crop = st->no.crop = o->crop;
    st->so.matlab_downsample = o->ssim_ds;
    st->no.channel = o->niqe_channel == 1 ? NLCL_METRIC_Y : NLCL_METRIC_GRAY;
    nlcl_psnr_convention(&st->po, st->conv_psnr, sizeof st->conv_psnr);
    nlcl_ssim_convention(&st->so, st->conv_ssim, sizeof st->conv_ssim);
    nlcl_niqe_convention(&st->no, st->conv_niqe, sizeof st->conv_niqe);
}

/* The folders; the reports can be written (checked before any work, so that
 * a bad --json does not fail after the CSV is written) and must not replace
 * an input image, nor each other. */
static int read_folders(const eval_opts *o, eval_state *st) {
    if ((o->csv_path && cli_check_out_path("eval", o->csv_path, 1) != CLI_EXIT_OK) ||
        (o->json_path && cli_check_out_path("eval", o->json_path, 1) != CLI_EXIT_OK))
        return CLI_EXIT_FAIL;
    if (o->paired && (folder_read(o->pred_dir, "pred", &st->fp) || folder_read(o->gt_dir, "gt", &st->fg) ||
                      (o->input_dir && folder_read(o->input_dir, "input", &st->fi))))
        return CLI_EXIT_FAIL;
    if (o->niqe_dir && folder_read(o->niqe_dir, "niqe", &st->fn)) return CLI_EXIT_FAIL;
    if (o->csv_path && o->json_path && nlcl_same_path(o->csv_path, o->json_path)) {
        fprintf(stderr, "nlcl eval: --csv %s and --json %s are the same file; give two names\n",
                o->csv_path, o->json_path);
        return CLI_EXIT_FAIL;
    }
    const folder *all[4] = {&st->fp, &st->fg, &st->fi, &st->fn};
    for (int r = 0; r < 2; r++) {
        const char *rep = r ? o->json_path : o->csv_path;
        for (int k = 0; rep && k < 4; k++)
            for (int i = 0; i < all[k]->n; i++)
                if (nlcl_same_file(rep, all[k]->e[i].path)) {
                    fprintf(stderr, "nlcl eval: --%s %s would overwrite the input image %s; "
                                    "choose another file\n",
                            r ? "json" : "csv", rep, all[k]->e[i].path);
                    return CLI_EXIT_FAIL;
                }
    }
    return CLI_EXIT_OK;
}

/* The files without a partner: one summary line (the JSON report lists
 * them all); their count. */
static int list_unpaired(const eval_opts *o, eval_state *st) {
    const folder *fp = &st->fp, *fg = &st->fg, *fi = &st->fi;
    cJSON *l;
    char sum[2048] = "";
    int unpaired = 0;
    cJSON_AddItemToObject(st->unpaired, "pred", l = cJSON_CreateArray());
    unpaired += report_unpaired(fp, "pred", fg, "gt", l, sum, sizeof sum);
    cJSON_AddItemToObject(st->unpaired, "gt", l = cJSON_CreateArray());
    unpaired += report_unpaired(fg, "gt", fp, "pred", l, sum, sizeof sum);
    if (o->input_dir) {
        cJSON_AddItemToObject(st->unpaired, "input", l = cJSON_CreateArray());
        unpaired += report_unpaired(fi, "input", fg, "gt", l, sum, sizeof sum);
        cJSON_AddItemToObject(st->unpaired, "gt_without_input", l = cJSON_CreateArray());
        unpaired += report_unpaired(fg, "gt", fi, "input", l, sum, sizeof sum);
    }
    if (unpaired)
        fprintf(stderr, "nlcl eval: warning: %d file%s without a partner (same name without extension) "
                        "left out: %s%s\n",
                unpaired, unpaired == 1 ? "" : "s", sum, o->json_path ? "; --json lists them all" : "");
    return unpaired;
}

/* The rows: each ground-truth image with its prediction and input. */
static int pair(const eval_opts *o, eval_state *st) {
    int unpaired = list_unpaired(o, st);
    st->rows = calloc((size_t)st->fg.n + 1, sizeof *st->rows);
    if (!st->rows) return CLI_EXIT_FAIL;
    int npairs = 0;
    for (int i = 0; i < st->fg.n; i++) {
        const entry *p = folder_find(&st->fp, st->fg.e[i].stem);
        const entry *in = o->input_dir ? folder_find(&st->fi, st->fg.e[i].stem) : NULL;
        if (!p && !in) continue;
        row *r = &st->rows[st->nrow++];
        r->stem = st->fg.e[i].stem;
        r->gt = st->fg.e[i].path;
        r->pred = p ? p->path : NULL;
        r->input = in ? in->path : NULL;
        npairs += p != NULL;
    }
    if (npairs == 0) {
        fprintf(stderr, "nlcl eval: no pairs: no file in --pred %s has the name (without "
                        "extension) of a file in --gt %s\n", o->pred_dir, o->gt_dir);
        return CLI_EXIT_FAIL;
    }
    if (o->strict && unpaired) {
        fprintf(stderr, "nlcl eval: %d file(s) without a partner (--strict)\n", unpaired);
        return CLI_EXIT_FAIL;
    }
    if (st->nrow > 1) qsort(st->rows, (size_t)st->nrow, sizeof *st->rows, cmp_row);
    return CLI_EXIT_OK;
}

static int niqe_list(const eval_opts *o, eval_state *st) {
    if (st->fn.n == 0) {
        fprintf(stderr, "nlcl eval: --niqe %s: no PNG/JPEG/TIFF/BMP files\n", o->niqe_dir);
        return CLI_EXIT_FAIL;
    }
    st->nrows = calloc((size_t)st->fn.n + 1, sizeof *st->nrows);
    if (!st->nrows) return CLI_EXIT_FAIL;
    for (int i = 0; i < st->fn.n; i++) {
        st->nrows[st->nn].stem = st->fn.e[i].stem;
        st->nrows[st->nn++].path = st->fn.e[i].path;
    }
    return CLI_EXIT_OK;
}

/* Every metric, images in parallel (the metrics run serially inside). */
static void evaluate(eval_state *st) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < st->nrow; i++) {
        row *r = &st->rows[i];
        nlcl_metric_image gt = {0, 0, 0, NULL};
        if (load(r->gt, &gt, r->gt_err, sizeof r->gt_err) != NLCL_OK) continue;
        r->gt_ok = 1;
        if (r->pred) compare(r->pred, &gt, r->gt, &st->po, &st->so, &r->rp);
        if (r->input) compare(r->input, &gt, r->gt, &st->po, &st->so, &r->ri);
        nlcl_metric_image_free(&gt);
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < st->nn; i++) {
        niqe_row *r = &st->nrows[i];
        nlcl_metric_image m = {0, 0, 0, NULL};
        if (load(r->path, &m, r->err, sizeof r->err) != NLCL_OK) continue;
        if (nlcl_niqe(&m, &st->no, &r->niqe) == NLCL_OK) r->ok = 1;
        else snprintf(r->err, sizeof r->err, "%s: %s", r->path, nlcl_error_message());
        nlcl_metric_image_free(&m);
    }
}

/* The failures (printed, kept for the JSON report; their count) and the means. */
static int summarise(eval_state *st) {
    int failures = 0;
    for (int i = 0; i < st->nrow; i++) {
        const row *r = &st->rows[i];
        const char *msgs[4] = {!r->gt_ok ? r->gt_err : NULL,
                               r->gt_ok && r->pred && !r->rp.ok ? r->rp.err : NULL,
                               r->gt_ok && r->input && !r->ri.ok ? r->ri.err : NULL, NULL};
        for (int k = 0; k < 3; k++)
            if (msgs[k]) {
                fprintf(stderr, "nlcl eval: %s\n", msgs[k]);
                cJSON_AddItemToArray(st->errors, cJSON_CreateString(msgs[k]));
                failures++;
            }
        if (r->rp.ok) st->mp.sum_psnr += r->rp.psnr, st->mp.sum_ssim += r->rp.ssim, st->mp.n++;
        if (r->ri.ok) st->mi.sum_psnr += r->ri.psnr, st->mi.sum_ssim += r->ri.ssim, st->mi.n++;
    }
    for (int i = 0; i < st->nn; i++) {
        if (st->nrows[i].ok) {
            st->niqe_sum += st->nrows[i].niqe, st->niqe_n++;
            continue;
        }
        fprintf(stderr, "nlcl eval: %s\n", st->nrows[i].err);
        cJSON_AddItemToArray(st->errors, cJSON_CreateString(st->nrows[i].err));
        failures++;
    }
    return failures;
}

static void free_state(eval_state *st) {
    cJSON_Delete(st->unpaired);
    cJSON_Delete(st->errors);
    free(st->rows);
    free(st->nrows);
    folder_free(&st->fp);
    folder_free(&st->fg);
    folder_free(&st->fi);
    folder_free(&st->fn);
}

int cmd_eval(int argc, char **argv) {
    eval_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (o.threads > 0) nlcl_set_num_threads(o.threads);
    eval_state st;
    memset(&st, 0, sizeof st);
    metric_opts(&o, &st);
    st.unpaired = cJSON_CreateObject();
    st.errors = cJSON_CreateArray();
    if (!st.unpaired || !st.errors) {
        fprintf(stderr, "nlcl eval: out of memory\n");
        free_state(&st);
        return CLI_EXIT_FAIL;
    }
    rc = read_folders(&o, &st);
    if (rc == CLI_EXIT_OK && o.paired) rc = pair(&o, &st);
    if (rc == CLI_EXIT_OK && o.niqe_dir) rc = niqe_list(&o, &st);
    if (rc == CLI_EXIT_OK) {
        evaluate(&st);
        int failures = summarise(&st);
        eval_print(&o, &st);
        if (o.csv_path && eval_write_csv(&o, &st)) rc = CLI_EXIT_FAIL;
        if (o.json_path && eval_write_json(&o, &st)) rc = CLI_EXIT_FAIL;
        if (failures) {
            fprintf(stderr, "nlcl eval: %d file(s) could not be evaluated (see above); the means "
                            "leave them out\n", failures);
            rc = CLI_EXIT_FAIL;
        }
    }
    free_state(&st);
    return rc;
}
