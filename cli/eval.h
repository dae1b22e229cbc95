/* nlcl eval's shared state: the options, the folders and their pairs, the
 * results (cli/cmd_eval.c), and the reports drawn from them
 * (cli/eval_report.c). */
#ifndef NLCL_CLI_EVAL_H
#define NLCL_CLI_EVAL_H

#include <cjson/cJSON.h>

#include "nlcl/metrics.h"

typedef struct eval_opts {
    const char *pred_dir, *gt_dir, *input_dir, *niqe_dir, *csv_path, *json_path;
    int channel, niqe_channel, round_luma, ssim_ds, ssim_variant, per_image, strict;
    int crop, threads;
    int paired; /* --pred and --gt given */
} eval_opts;

typedef struct entry {
    char *stem;
    char *path;
} entry;

/* a folder's images, sorted by stem */
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

/* a ground-truth image and its partners */
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

typedef struct mean_acc {
    double sum_psnr, sum_ssim;
    int n;
} mean_acc;

typedef struct eval_state {
    nlcl_psnr_opts po;
    nlcl_ssim_opts so;
    nlcl_niqe_opts no;
    char conv_psnr[256], conv_ssim[256], conv_niqe[256]; /* the conventions, printed with the numbers */
    folder fp, fg, fi, fn;                               /* --pred, --gt, --input, --niqe */
    row *rows;                                           /* (nrow) in natural order of stems */
    int nrow;
    niqe_row *nrows; /* (nn) */
    int nn;
    mean_acc mp, mi; /* means of pred and input */
    double niqe_sum;
    int niqe_n;
    cJSON *unpaired, *errors; /* for the JSON report */
} eval_state;

/* The reports: the tables on stdout; the CSV and JSON files (written
 * atomically; 0, or -1 after printing the problem). */
void eval_print(const eval_opts *o, const eval_state *st);
int eval_write_csv(const eval_opts *o, const eval_state *st);
int eval_write_json(const eval_opts *o, eval_state *st);

#endif
