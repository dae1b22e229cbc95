/* nlcl train: unsupervised NLCL training from folders of rainy and clean
 * images (docs/TRAINING.md). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/afile.h"
#include "nlcl/model.h"
#include "nlcl/train.h"
#include "plot.h"

static const char *summary =
    "usage: nlcl train --rainy DIR --clean DIR --out RUN_DIR [options]\n\n"
    "Train G_B (rain removal) and G_R (rain layer) without paired ground truth (NLCL,\n"
    "CVPR 2022). --rainy and --clean may be repeated; the clean images need not match the\n"
    "rainy ones. RUN_DIR receives checkpoint.safetensors (also every --save-every\n"
    "iterations), losses.tsv, losses.png, samples/, config.txt and, at the end,\n"
    "G_B.safetensors and G_R.safetensors for 'nlcl derain --model'. Ctrl-C writes a\n"
    "checkpoint and stops; --resume continues exactly where the run stopped. With\n"
    "--val-rainy/--val-clean (pairs with ground truth), G_B is scored during training\n"
    "(validation.tsv) and the best one is kept as G_B-best.safetensors.\n"
    "Presets: paper (default), official-code (the released code's settings), cut (the CUT\n"
    "baseline). Options given after choosing a preset override it. Minimum crop: 32.";

static volatile sig_atomic_t g_interrupts = 0;
static volatile sig_atomic_t g_stop = 0;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupts++;
    g_stop = 1;
    if (g_interrupts >= 2) {
        /* second Ctrl-C: leave at once; checkpoints are written atomically, so
         * the last one stays intact */
        static const char msg[] = "\nnlcl train: interrupted again, exiting now\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        nlcl_afile_remove_pending(); /* a checkpoint being written: drop the temporary */
        _exit(130);
    }
    static const char msg[] = "\nnlcl train: stopping after this iteration (Ctrl-C again to quit at once)\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
}

typedef struct ui {
    int tty, quiet;
    int plot_failed; /* losses.png: warned once, then no more tries */
    const nlcl_train_config *cfg; /* the terms it weighs above 0 are shown */
} ui;

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "?");
        return;
    }
    long v = (long)(s + 0.5);
    if (v >= 3600) snprintf(buf, n, "%ldh%02ldm", v / 3600, (v / 60) % 60);
    else snprintf(buf, n, "%ldm%02lds", v / 60, v % 60);
}

static int on_progress(void *ctx, const nlcl_train_progress *p) {
    ui *u = ctx;
    if (u->quiet) return 0;
    char eta[32], el[32];
    fmt_time(eta, sizeof eta, p->eta_s);
    fmt_time(el, sizeof el, p->seconds);
    char line[600];
    size_t k = (size_t)snprintf(line, sizeof line, "iter %lld/%lld", (long long)p->iter,
                                (long long)p->iters);
    for (int i = 0; i < NLCL_LOSS_COUNT && k < sizeof line; i++)
        if (nlcl_loss_weight(u->cfg, (nlcl_loss_term)i) > 0)
            k += (size_t)snprintf(line + k, sizeof line - k, "  %s %.4g", nlcl_loss_name((nlcl_loss_term)i),
                                  nlcl_loss_get(&p->losses, (nlcl_loss_term)i));
    if (k < sizeof line)
        snprintf(line + k, sizeof line - k, "  %.2f it/s  elapsed %s  eta %s", p->it_per_s, el, eta);
    if (u->tty) {
        fprintf(stderr, "\r\033[K%s", line);
        if (p->iter == p->iters) fprintf(stderr, "\n");
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    return 0;
}

static void on_message(void *ctx, const char *msg) {
    ui *u = ctx;
    if (u->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "nlcl train: %s\n", msg);
}

/* after each checkpoint: losses.tsv -> losses.png; a failure is one
 * warning, and training goes on */
static void on_saved(void *ctx, const char *run_dir, int64_t iter) {
    ui *u = ctx;
    (void)iter;
    char why[512];
    if (u->plot_failed || cli_plot_losses(run_dir, why, sizeof why) == 0) return;
    u->plot_failed = 1;
    if (u->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "nlcl train: warning: no loss plot (%s/losses.png): %s; training goes on "
                    "(losses.tsv has every loss)\n", run_dir, why);
}

#define MAX_DIRS 64

int cmd_train(int argc, char **argv) {
    /* first pass: the preset, so that other options override it */
    int preset = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--preset") && i + 1 < argc) v = argv[i + 1];
        else if (!strncmp(argv[i], "--preset=", 9)) v = argv[i] + 9;
        if (v) preset = !strcmp(v, "official-code") ? 1 : !strcmp(v, "cut") ? 2 : !strcmp(v, "paper") ? 0 : preset;
    }
    nlcl_train_config c;
    nlcl_train_config_preset(&c, (nlcl_preset)preset);
    /* then any --ablation (repeatable), before the explicit options */
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--ablation") && i + 1 < argc) v = argv[i + 1];
        else if (!strncmp(argv[i], "--ablation=", 11)) v = argv[i] + 11;
        if (v && nlcl_train_config_ablation(&c, v) != NLCL_OK) {
            fprintf(stderr, "nlcl %s\nTry 'nlcl train --help'.\n", nlcl_error_message());
            return CLI_EXIT_USAGE;
        }
    }
    const char *ablation = NULL;
    const char *rainy[MAX_DIRS] = {0}, *clean[MAX_DIRS] = {0};
    cli_list rainy_l = {rainy, 0, MAX_DIRS}, clean_l = {clean, 0, MAX_DIRS};
    const char *out = NULL, *taps = NULL, *val_rainy = NULL, *val_clean = NULL;
    long long val_every = -1;
    long long iters = c.iters, decay = c.decay_iters, crop = c.crop, batch = c.batch;
    long long seed = (long long)c.seed, threads = 0, channels = c.gen_channels, blocks = c.gen_blocks;
    long long ndf = c.ndf, n_loc = c.n_loc, n_pos = c.n_pos, n_neg = c.n_neg;
    long long save_every = 500, keep_every = 0, sample_every = 500, log_every = 10;
    int residual = c.residual;
    int resume = 0, quiet = 0, no_idt = !c.idt, sparsity = c.sparsity_code, skip_bad = 0;
    int loc_s = (int)c.loc_sampling, pos_s = (int)c.pos_sampling, neg_s = (int)c.neg_sampling;
    int preset_idx = preset;
    double lr = c.lr, beta1 = c.beta1, beta2 = c.beta2, eps = c.eps, tau = c.tau, mom = c.momentum;
    double w_gan = c.w_gan, w_loc = c.w_loc, w_layer = c.w_layer, w_cons = c.w_cons, w_sp = c.w_sp;
    double w_eroded = c.w_eroded, w_synth = c.w_synth;
    long long erosion = c.erosion;
    const cli_opt opts[] = {
        {"rainy", 0, CLI_LIST, &rainy_l, "DIR", "folder of rainy images O (repeatable)", 0, 0, NULL},
        {"clean", 0, CLI_LIST, &clean_l, "DIR", "folder of clean images B, unpaired (repeatable)", 0, 0, NULL},
        {"out", 'o', CLI_STRING, &out, "RUN_DIR", "run folder (checkpoints, logs, samples, models)", 0, 0, NULL},
        {"preset", 0, CLI_CHOICE, &preset_idx, NULL, "settings to start from (default paper)", 0, 0, "paper|official-code|cut"},
        {"ablation", 0, CLI_STRING, &ablation, "NAME", "a paper ablation (repeatable): t2-<pos>-<neg> with random|neighbour|nonlocal, t4-pos<P>-neg<N> with P 4|8|16|32 and N 64|128|256|512, t5-random-sampling, t5-n64|n128|n512, t6-no-adv|no-l1|no-loc|no-layer", 0, 0, NULL},
        {"resume", 0, CLI_FLAG, &resume, NULL, "continue the run in RUN_DIR exactly", 0, 0, NULL},
        {"iters", 'n', CLI_INT, &iters, "N", "total iterations (default 10000)", 0, 1e12, NULL},
        {"decay-iters", 0, CLI_INT, &decay, "N", "linear lr decay over the last N iterations (default iters/21)", -1, 1e12, NULL},
        {"crop", 0, CLI_INT, &crop, "PX", "square crop side (default 256, minimum 32)", 32, 4096, NULL},
        {"batch", 'b', CLI_INT, &batch, "N", "images per iteration (paper 4, official-code/cut 1)", 1, 256, NULL},
        {"seed", 's', CLI_INT, &seed, "S", "random seed, 0..2^64-1 (default 1)", 0, 1.8446744073709552e19, NULL},
        {"threads", 't', CLI_INT, &threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {"channels", 0, CLI_INT, &channels, "C", "generator width (default 32)", 1, 512, NULL},
        {"blocks", 0, CLI_INT, &blocks, "K", "generator residual blocks (default 16)", 0, 64, NULL},
        {"ndf", 0, CLI_INT, &ndf, "N", "discriminator width (default 64)", 1, 512, NULL},
        {"residual", 0, CLI_FLAG, &residual, NULL, "G_B outputs O + G(O) and starts as the identity (nlcl option, not the paper's)", 0, 0, NULL},
        {"lr", 0, CLI_DOUBLE, &lr, "LR", "Adam learning rate (paper 1e-4, code 2e-4)", 1e-12, 10, NULL},
        {"beta1", 0, CLI_DOUBLE, &beta1, "B", "Adam beta1 (0.5)", 0, 0.999999, NULL},
        {"beta2", 0, CLI_DOUBLE, &beta2, "B", "Adam beta2 (0.999)", 0, 0.999999999, NULL},
        {"adam-eps", 0, CLI_DOUBLE, &eps, "E", "Adam epsilon (1e-8)", 1e-30, 1, NULL},
        {"tau", 0, CLI_DOUBLE, &tau, "T", "contrastive temperature (0.07; the paper prints 0.77)", 1e-4, 100, NULL},
        {"momentum", 0, CLI_DOUBLE, &mom, "M", "key-encoder momentum (paper 0.99; 0 = keys from G_B)", 0, 0.999999, NULL},
        {"n-loc", 0, CLI_INT, &n_loc, "N", "location-contrast samples N (256)", 2, 4096, NULL},
        {"n-pos", 0, CLI_INT, &n_pos, "N", "layer-contrast positives N_B (8)", 2, 4096, NULL},
        {"n-neg", 0, CLI_INT, &n_neg, "N", "layer-contrast negatives N_R (paper 256, code 128)", 2, 4096, NULL},
        {"loc-negatives", 0, CLI_CHOICE, &loc_s, NULL, "location-contrast sampling (paper farthest)", 0, 0, "nearest|farthest|random|neighbour"},
        {"pos-sampling", 0, CLI_CHOICE, &pos_s, NULL, "layer-contrast positives (nearest = non-local)", 0, 0, "nearest|farthest|random|neighbour"},
        {"neg-sampling", 0, CLI_CHOICE, &neg_s, NULL, "layer-contrast negatives (nearest = non-local)", 0, 0, "nearest|farthest|random|neighbour"},
        {"loc-taps", 0, CLI_STRING, &taps, "LIST", "G_B taps of the location contrast (0,2,4,8,12)", 0, 0, NULL},
        {"lambda-gan", 0, CLI_DOUBLE, &w_gan, "W", "weight of the GAN loss (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-loc", 0, CLI_DOUBLE, &w_loc, "W", "weight of the location contrast (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-layer", 0, CLI_DOUBLE, &w_layer, "W", "weight of the layer contrast (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-cons", 0, CLI_DOUBLE, &w_cons, "W", "weight of ||B+R-O||^2 (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-sparsity", 0, CLI_DOUBLE, &w_sp, "W", "weight of the L1 sparsity (0.1; 0 = off)", 0, 1e6, NULL},
        {"sparsity", 0, CLI_CHOICE, &sparsity, NULL, "L1 on the rain layer (paper) or on O - B (code)", 0, 0, "paper|code"},
        {"lambda-eroded", 0, CLI_DOUBLE, &w_eroded, "W", "weight of the eroded L1 between B and O: thin changes (streaks) are free, broad ones (colour casts) cost (nlcl option; 0 = off)", 0, 1e6, NULL},
        {"erosion", 0, CLI_INT, &erosion, "PX", "window of the eroded L1 (7)", 1, 63, NULL},
        {"lambda-synth", 0, CLI_DOUBLE, &w_synth, "W", "weight of an L1 on synthetic pairs: the clean crops with nlcl's synthetic rain, derained back (semi-supervised, nlcl option; 0 = off)", 0, 1e6, NULL},
        {"no-idt", 0, CLI_FLAG, &no_idt, NULL, "drop the identity PatchNCE term on clean images", 0, 0, NULL},
        {"save-every", 0, CLI_INT, &save_every, "N", "checkpoint period (500)", 1, 1e12, NULL},
        {"keep-every", 0, CLI_INT, &keep_every, "N", "also keep checkpoint-ITER files every N (0 = no)", 0, 1e12, NULL},
        {"sample-every", 0, CLI_INT, &sample_every, "N", "sample image period (500; 0 = never)", 0, 1e12, NULL},
        {"log-every", 0, CLI_INT, &log_every, "N", "progress line period (10)", 1, 1e12, NULL},
        {"val-rainy", 0, CLI_STRING, &val_rainy, "DIR", "validation: rainy images, paired by file name with --val-clean's (one folder; not covered by --skip-bad)", 0, 0, NULL},
        {"val-clean", 0, CLI_STRING, &val_clean, "DIR", "validation: their clean images; G_B is scored by Y-PSNR/SSIM (validation.tsv) and the best is kept as G_B-best.safetensors", 0, 0, NULL},
        {"val-every", 0, CLI_INT, &val_every, "N", "validation period (default: --save-every)", 1, 1e12, NULL},
        {"skip-bad", 0, CLI_FLAG, &skip_bad, NULL, "leave unreadable images out with a warning", 0, 0, NULL},
        {"quiet", 'q', CLI_FLAG, &quiet, NULL, "errors and warnings only (no progress or data lines)", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return CLI_EXIT_FAIL;
    int npos = 0;
    cli_parse_result pr = cli_parse("train", summary, opts, argc, argv, pos, &npos);
    if (pr != CLI_PARSE_OK) {
        free(pos);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    const int nr = rainy_l.n, nc = clean_l.n;
    (void)ablation; /* applied in the first pass above */
    if (npos > 0) {
        int rc = cli_usage_error("train", "unexpected argument '%s'", pos[0]);
        free(pos);
        return rc;
    }
    free(pos);
    if (nr == 0 || nc == 0 || !out)
        return cli_usage_error("train", "--rainy DIR, --clean DIR and --out RUN_DIR are required");
    if (!val_rainy != !val_clean)
        return cli_usage_error("train", "--val-rainy and --val-clean go together");
    if (val_every > 0 && !val_rainy)
        return cli_usage_error("train", "--val-every needs --val-rainy and --val-clean");
    c.iters = iters;
    c.decay_iters = decay;
    c.crop = (int)crop;
    c.batch = (int)batch;
    c.seed = (uint64_t)seed;
    c.gen_channels = (int)channels;
    c.gen_blocks = (int)blocks;
    c.ndf = (int)ndf;
    c.residual = residual;
    c.lr = lr, c.beta1 = beta1, c.beta2 = beta2, c.eps = eps, c.tau = tau, c.momentum = mom;
    c.w_gan = w_gan, c.w_loc = w_loc, c.w_layer = w_layer, c.w_cons = w_cons, c.w_sp = w_sp;
    c.sparsity_code = sparsity;
    c.w_eroded = w_eroded;
    c.w_synth = w_synth;
    c.erosion = (int)erosion;
    c.idt = !no_idt;
    c.n_loc = (int)n_loc, c.n_pos = (int)n_pos, c.n_neg = (int)n_neg;
    c.loc_sampling = (nlcl_sampling)loc_s;
    c.pos_sampling = (nlcl_sampling)pos_s;
    c.neg_sampling = (nlcl_sampling)neg_s;
    if (taps) {
        c.n_loc_taps = 0;
        const char *p = taps;
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || c.n_loc_taps >= NLCL_MAX_LOC_TAPS)
                return cli_usage_error("train", "--loc-taps expects up to %d comma-separated block "
                                                "numbers, got '%s'", NLCL_MAX_LOC_TAPS, taps);
            if (v < 0 || v > 64)
                return cli_usage_error("train", "--loc-taps: %ld is out of range (0..64) in '%s'", v,
                                       taps);
            c.loc_taps[c.n_loc_taps++] = (int)v;
            p = *end == ',' ? end + 1 : end;
            if (*end && *end != ',') return cli_usage_error("train", "--loc-taps: bad list '%s'", taps);
        }
    } /* else the library's default taps (nlcl_train_config_taps) */
    nlcl_status s = nlcl_train_config_check(&c);
    if (s != NLCL_OK) {
        fprintf(stderr, "nlcl %s\nTry 'nlcl train --help'.\n", nlcl_error_message());
        return CLI_EXIT_USAGE;
    }
    if (threads > 0) nlcl_set_num_threads((int)threads);
    /* the command line, recorded in the exported models */
    size_t len = 1;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *cmdline = malloc(len + 8);
    if (cmdline) {
        strcpy(cmdline, "nlcl");
        for (int i = 0; i < argc; i++) {
            strcat(cmdline, " ");
            strcat(cmdline, argv[i]);
        }
    }
    ui u = {isatty(2), quiet, 0, &c};
    nlcl_train_job job = {0};
    job.cfg = c;
    job.rainy_dirs = rainy;
    job.n_rainy_dirs = nr;
    job.clean_dirs = clean;
    job.n_clean_dirs = nc;
    job.run_dir = out;
    job.resume = resume;
    job.save_every = save_every;
    job.keep_every = keep_every;
    job.sample_every = sample_every;
    job.log_every = log_every;
    job.skip_bad = skip_bad;
    job.quiet = quiet;
    job.command_line = cmdline;
    job.val_rainy_dir = val_rainy;
    job.val_clean_dir = val_clean;
    job.val_every = val_rainy ? (val_every > 0 ? val_every : save_every) : 0;
    job.progress = on_progress;
    job.message = on_message;
    job.saved = on_saved;
    job.ctx = &u;
    job.stop_flag = &g_stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    s = nlcl_train_run(&job);
    free(cmdline);
    if (s == NLCL_ERR_INTERRUPTED) {
        if (u.tty) fprintf(stderr, "\n");
        fprintf(stderr, "nlcl: %s\n", nlcl_error_message());
        return 130;
    }
    if (s != NLCL_OK) {
        if (u.tty) fprintf(stderr, "\n");
        return cli_fail(s);
    }
    if (!quiet)
        fprintf(stderr, "nlcl train: done; models in %s/G_B.safetensors%s%s\n", out,
                c.rain_generator ? " and G_R.safetensors" : "",
                val_rainy ? " (best on validation: G_B-best.safetensors)" : "");
    return CLI_EXIT_OK;
}
