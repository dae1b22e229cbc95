/* nlcl train: unsupervised NLCL training from folders of rainy and clean
 * images (docs/TRAINING.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mpi.h"
#include "nlcl/files.h"
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
    "checkpoint and stops; --resume --out RUN_DIR continues exactly where the run stopped\n"
    "(its other options from RUN_DIR/config.txt; a larger --iters extends it).\n"
    "--init-from FILE starts a new run from another run's weights (a checkpoint, or a G_B\n"
    "model file) with the options given now; --init-continue also takes the checkpoint's\n"
    "iteration and Adam moments, so that its schedule goes on. With\n"
    "--val-rainy/--val-clean (pairs with ground truth), G_B is scored during training\n"
    "(validation.tsv) and the best one is kept as G_B-best.safetensors.\n"
    "Presets: paper (default), official-code (the released code's settings), cut (the CUT\n"
    "baseline). Options given after choosing a preset override it. Minimum crop: 32.\n"
    "Under 'mpirun -np N' the ranks share each batch (--batch a multiple of N) and rank 0\n"
    "writes RUN_DIR; kill -USR1 <mpirun pid> stops them all with a checkpoint.";

static volatile sig_atomic_t g_interrupts = 0;
static volatile sig_atomic_t g_stop = 0;

static void on_sigint(int sig) {
    g_stop = 1;
    if (cli_rank != 0) return; /* several ranks: rank 0 speaks, mpirun ends the others */
    if (sig == SIGUSR1) { /* mpirun passes it on without killing: a stop request */
        static const char msg[] = "\nnlcl train: stop requested (SIGUSR1): the ranks stop together\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        return;
    }
    g_interrupts++;
    if (g_interrupts >= 2) {
        /* second Ctrl-C: leave at once; checkpoints are written atomically, so
         * the last one stays intact */
        static const char msg[] = "\nnlcl train: interrupted again, exiting now\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        nlcl_remove_partial_write(); /* a checkpoint being written: drop the temporary */
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
    /* stopping under mpirun, SIGKILL may follow within a second: no plot,
     * which would leave its temporary file (the next run draws it) */
    if (g_stop && cli_mpi_size() > 1) return;
    if (u->plot_failed || cli_plot_losses(run_dir, why, sizeof why) == 0) return;
    u->plot_failed = 1;
    if (u->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "nlcl train: warning: no loss plot (%s/losses.png): %s; training goes on "
                    "(losses.tsv has every loss)\n", run_dir, why);
}

#define MAX_DIRS 64

/* Everything the command line sets: the job and its configuration
 * (job.cfg), which the option table writes into directly. */
typedef struct train_args {
    nlcl_train_job job;
    const char *rainy[MAX_DIRS], *clean[MAX_DIRS], *ablations[MAX_DIRS];
    cli_list rainy_l, clean_l, ablation_l;
    const char *taps;    /* --loc-taps, parsed after the options */
    const char *mix;     /* --synth-mix, likewise */
    const char *jpeg;    /* --synth-jpeg, likewise */
    /* (ablation_l: applied before the options, by prepare_config) */
    int preset, threads;
} train_args;

/* The value of option --name in argv (the last one from `from` on), or NULL. */
static const char *find_value(int argc, char **argv, const char *name, int *from) {
    size_t n = strlen(name);
    for (int i = *from; i < argc; i++) {
        const char *v = NULL;
        if (!strncmp(argv[i], name, n) && argv[i][n] == '\0' && i + 1 < argc) v = argv[i + 1];
        else if (!strncmp(argv[i], name, n) && argv[i][n] == '=') v = argv[i] + n + 1;
        if (v) {
            *from = i + 1;
            return v;
        }
    }
    return NULL;
}

/* Before the other options, so that they override: the preset, then every
 * --ablation in order. CLI_CONTINUE or a usage error's exit status. */
static int prepare_config(int argc, char **argv, nlcl_train_config *c) {
    int preset = 0, from = 1;
    for (const char *v; (v = find_value(argc, argv, "--preset", &from));)
        preset = !strcmp(v, "official-code") ? 1 : !strcmp(v, "cut") ? 2 : !strcmp(v, "paper") ? 0 : preset;
    nlcl_train_config_preset(c, (nlcl_preset)preset);
    from = 1;
    for (const char *v; (v = find_value(argc, argv, "--ablation", &from));)
        if (nlcl_train_config_ablation(c, v) != NLCL_OK) {
            if (cli_rank == 0) fprintf(stderr, "nlcl train: %s\nTry 'nlcl train --help'.\n", nlcl_error_message());
            return CLI_EXIT_USAGE;
        }
    return CLI_CONTINUE;
}

/* --loc-taps LIST into c->loc_taps; CLI_CONTINUE or a usage error. */
static int parse_taps(const char *taps, nlcl_train_config *c) {
    c->n_loc_taps = 0;
    for (const char *p = taps; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || c->n_loc_taps >= NLCL_MAX_LOC_TAPS)
            return cli_usage_error("train", "--loc-taps expects up to %d comma-separated block "
                                            "numbers, got '%s'", NLCL_MAX_LOC_TAPS, taps);
        if (v < 0 || v > 64)
            return cli_usage_error("train", "--loc-taps: %ld is out of range (0..64) in '%s'", v, taps);
        c->loc_taps[c->n_loc_taps++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return cli_usage_error("train", "--loc-taps: bad list '%s'", taps);
    }
    return CLI_CONTINUE;
}

/* --synth-jpeg Q or QMIN:QMAX (whole qualities 1..100) into c->synth_jpeg;
 * CLI_CONTINUE or a usage error. */
static int parse_jpeg(const char *s, nlcl_train_config *c) {
    char *end;
    long lo = strtol(s, &end, 10), hi = lo;
    if (end != s && *end == ':') {
        const char *q = end + 1;
        hi = strtol(q, &end, 10);
        if (end == q) end = (char *)s; /* "Q:" */
    }
    if (end == s || *end || lo < 1 || hi < lo || hi > 100)
        return cli_usage_error("train", "--synth-jpeg expects a JPEG quality 1..100 or a range "
                                        "QMIN:QMAX within it (e.g. 40:95), got '%s'", s);
    c->synth_jpeg[0] = (int)lo, c->synth_jpeg[1] = (int)hi;
    return CLI_CONTINUE;
}

/* --synth-mix L,H,D into c->synth_mix; CLI_CONTINUE or a usage error. */
static int parse_mix(const char *mix, nlcl_train_config *c) {
    int w[3], n = 0, sum = 0;
    const char *p = mix;
    for (; n < 3; n++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 100 || (n < 2 && *end != ',') || (n == 2 && *end)) break;
        w[n] = (int)v, sum += (int)v, p = end + 1;
    }
    if (n < 3 || sum == 0)
        return cli_usage_error("train", "--synth-mix expects three whole weights 0..100 of light, "
                                        "heavy and downpour, not all 0 (e.g. 2,1,1), got '%s'", mix);
    memcpy(c->synth_mix, w, sizeof w);
    return CLI_CONTINUE;
}

_Static_assert(sizeof(nlcl_sampling) == sizeof(int), "CLI_CHOICE writes an int");
_Static_assert(sizeof(nlcl_layer_head) == sizeof(int), "CLI_CHOICE writes an int");

#define MAX_OPTS 80

/* The option table, writing into a->job and a->job.cfg, into opts
 * (MAX_OPTS entries), and the command it belongs to. */
static cli_command train_command(train_args *a, cli_opt *opts_out) {
    nlcl_train_config *c = &a->job.cfg;
    nlcl_train_job *j = &a->job;
    const cli_opt opts[] = {
        {"rainy", 0, CLI_LIST, &a->rainy_l, "DIR", "folder of rainy images O (repeatable)", 0, 0, NULL},
        {"clean", 0, CLI_LIST, &a->clean_l, "DIR", "folder of clean images B, unpaired (repeatable)", 0, 0, NULL},
        {"out", 'o', CLI_STRING, &j->run_dir, "RUN_DIR", "run folder (checkpoints, logs, samples, models)", 0, 0, NULL},
        {"preset", 0, CLI_CHOICE, &a->preset, NULL, "settings to start from (default paper)", 0, 0, "paper|official-code|cut"},
        {"ablation", 0, CLI_LIST, &a->ablation_l, "NAME", "a paper ablation (repeatable): t2-<pos>-<neg> with random|neighbour|nonlocal, t4-pos<P>-neg<N> with P 4|8|16|32 and N 64|128|256|512, t5-random-sampling, t5-n64|n128|n512, t6-no-adv|no-l1|no-loc|no-layer", 0, 0, NULL},
        {"resume", 0, CLI_FLAG, &j->resume, NULL, "continue the run in RUN_DIR exactly (options not given: the run's, from config.txt; those given must agree with it)", 0, 0, NULL},
        {"init-from", 0, CLI_STRING, &j->init_from, "FILE", "start a new run from another run's weights: every network these options use from a checkpoint (its EMA too; the rest fresh), or G_B from a model file; fresh Adam moments, iteration 0; the file is only read (docs/TRAINING.md)", 0, 0, NULL},
        {"init-continue", 0, CLI_FLAG, &j->init_continue, NULL, "with --init-from CHECKPOINT: also its iteration and Adam moments: the warm-up, learning-rate schedule and EMA go on from there (--iters counts from its run's start)", 0, 0, NULL},
        {"iters", 'n', CLI_INT64, &c->iters, "N", "total iterations (default 10000)", 0, 1e12, NULL},
        {"decay-iters", 0, CLI_INT64, &c->decay_iters, "N", "linear lr decay over the last N iterations (default iters/21)", -1, 1e12, NULL},
        {"crop", 0, CLI_INT, &c->crop, "PX", "square crop side (default 256, minimum 32)", 32, 4096, NULL},
        {"batch", 'b', CLI_INT, &c->batch, "N", "images per iteration (paper 4, official-code/cut 1)", 1, 256, NULL},
        {"seed", 's', CLI_UINT64, &c->seed, "S", "random seed, 0..2^64-1 (default 1)", 0, 0, NULL},
        {"threads", 't', CLI_INT, &a->threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {"channels", 0, CLI_INT, &c->gen_channels, "C", "generator width (default 32)", 1, 512, NULL},
        {"blocks", 0, CLI_INT, &c->gen_blocks, "K", "generator residual blocks (default 16)", 0, 64, NULL},
        {"ndf", 0, CLI_INT, &c->ndf, "N", "discriminator width (default 64)", 1, 512, NULL},
        {"residual", 0, CLI_FLAG, &c->residual, NULL, "G_B outputs O + G(O) and starts as the identity (nlcl option, not the paper's)", 0, 0, NULL},
        {"precision", 0, CLI_CHOICE, &c->bf16, NULL, "arithmetic of the generators' convolutions: fp32 (default) or bf16 (CPUs with AVX512_BF16; weights and Adam state stay fp32)", 0, 0, "fp32|bf16"},
        {"lr", 0, CLI_DOUBLE, &c->lr, "LR", "Adam learning rate (paper 1e-4, code 2e-4)", 1e-12, 10, NULL},
        {"beta1", 0, CLI_DOUBLE, &c->beta1, "B", "Adam beta1 (0.5)", 0, 0.999999, NULL},
        {"beta2", 0, CLI_DOUBLE, &c->beta2, "B", "Adam beta2 (0.999)", 0, 0.999999999, NULL},
        {"adam-eps", 0, CLI_DOUBLE, &c->eps, "E", "Adam epsilon (1e-8)", 1e-30, 1, NULL},
        {"tau", 0, CLI_DOUBLE, &c->tau, "T", "contrastive temperature (0.07; the paper prints 0.77)", 1e-4, 100, NULL},
        {"momentum", 0, CLI_DOUBLE, &c->momentum, "M", "key-encoder momentum (paper 0.99; 0 = keys from G_B)", 0, 0.999999, NULL},
        {"n-loc", 0, CLI_INT, &c->n_loc, "N", "location-contrast samples N (256)", 2, 4096, NULL},
        {"n-pos", 0, CLI_INT, &c->n_pos, "N", "layer-contrast positives N_B (8)", 2, 4096, NULL},
        {"n-neg", 0, CLI_INT, &c->n_neg, "N", "layer-contrast negatives N_R (paper 256, code 128)", 2, 4096, NULL},
        {"loc-negatives", 0, CLI_CHOICE, &c->loc_sampling, NULL, "location-contrast sampling (paper farthest)", 0, 0, "nearest|farthest|random|neighbour"},
        {"pos-sampling", 0, CLI_CHOICE, &c->pos_sampling, NULL, "layer-contrast positives (nearest = non-local)", 0, 0, "nearest|farthest|random|neighbour"},
        {"neg-sampling", 0, CLI_CHOICE, &c->neg_sampling, NULL, "layer-contrast negatives (nearest = non-local)", 0, 0, "nearest|farthest|random|neighbour"},
        {"layer-head", 0, CLI_CHOICE, &c->layer_head, NULL, "layer-contrast projection heads: one per layer (separate, the reference's; official-code) or one for both (shared; paper); docs/TRAINING.md", 0, 0, "separate|shared"},
        {"layer-head-update", 0, CLI_CHOICE, &c->layer_head_frozen, NULL, "layer-contrast heads trained with Adam (step; official-code) or kept at their initial weights (frozen; paper): trained heads make the term constant", 0, 0, "step|frozen"},
        {"loc-taps", 0, CLI_STRING, &a->taps, "LIST", "G_B taps of the location contrast (0,2,4,8,12)", 0, 0, NULL},
        {"lambda-gan", 0, CLI_DOUBLE, &c->w_gan, "W", "weight of the GAN loss (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-loc", 0, CLI_DOUBLE, &c->w_loc, "W", "weight of the location contrast (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-layer", 0, CLI_DOUBLE, &c->w_layer, "W", "weight of the layer contrast (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-cons", 0, CLI_DOUBLE, &c->w_cons, "W", "weight of ||B+R-O||^2 (1; 0 = off)", 0, 1e6, NULL},
        {"lambda-sparsity", 0, CLI_DOUBLE, &c->w_sp, "W", "weight of the L1 sparsity (0.1; 0 = off)", 0, 1e6, NULL},
        {"sparsity", 0, CLI_CHOICE, &c->sparsity_code, NULL, "L1 on the rain layer (paper) or on O - B (code)", 0, 0, "paper|code"},
        {"lambda-eroded", 0, CLI_DOUBLE, &c->w_eroded, "W", "weight of the eroded L1 between B and O: thin changes (streaks) are free, broad ones (colour casts) cost (nlcl option; 0 = off)", 0, 1e6, NULL},
        {"erosion", 0, CLI_INT, &c->erosion, "PX", "window of the eroded L1 (7)", 1, 63, NULL},
        {"lambda-colour", 0, CLI_DOUBLE, &c->w_colour, "W", "weight of an L1 between the channel means of B and O on each rainy crop: holds brightness and colour, leaves streaks free (nlcl option; 0 = off)", 0, 1e6, NULL},
        {"lambda-synth", 0, CLI_DOUBLE, &c->w_synth, "W", "weight of an L1 on synthetic pairs: the clean crops with nlcl's synthetic rain, derained back (semi-supervised, nlcl option; 0 = off)", 0, 1e6, NULL},
        {"synth-rain", 0, CLI_CHOICE, &c->synth_rain, NULL, "rain of the synthetic pairs (nlcl synth's presets; mix: each crop draws one; default mix)", 0, 0, "light|heavy|downpour|mix"},
        {"synth-mix", 0, CLI_STRING, &a->mix, "L,H,D", "weights of light, heavy and downpour in mix (1,1,1)", 0, 0, NULL},
        {"synth-jpeg", 0, CLI_STRING, &a->jpeg, "Q|QMIN:QMAX", "JPEG-compress the synthetic rainy crops at a quality drawn from 1..100 (e.g. 40:95; real photos are JPEG files; default: not compressed)", 0, 0, NULL},
        {"synth-veil", 0, CLI_CHOICE, &c->synth_veil, NULL, "veil of the synthetic pairs: the streaks' preset's (preset, the default) or a preset drawn on its own (independent: dense streaks without veil, light ones with it)", 0, 0, "preset|independent"},
        {"warmup", 0, CLI_INT64, &c->warmup, "N", "first N iterations: G_B on the synthetic pairs alone (needs --lambda-synth; default 0)", 0, 1e12, NULL},
        {"ema", 0, CLI_DOUBLE, &c->ema, "M", "exported and validated G_B = moving average of its weights with decay M (e.g. 0.999; 0 = off, the default)", 0, 0.999999, NULL},
        {"no-idt", 0, CLI_FLAG_OFF, &c->idt, NULL, "drop the identity PatchNCE term on clean images", 0, 0, NULL},
        {"save-every", 0, CLI_INT64, &j->save_every, "N", "checkpoint period (500)", 1, 1e12, NULL},
        {"keep-every", 0, CLI_INT64, &j->keep_every, "N", "also keep checkpoint-ITER files every N (0 = no)", 0, 1e12, NULL},
        {"sample-every", 0, CLI_INT64, &j->sample_every, "N", "sample image period (500; 0 = never)", 0, 1e12, NULL},
        {"log-every", 0, CLI_INT64, &j->log_every, "N", "progress line period (10)", 1, 1e12, NULL},
        {"val-rainy", 0, CLI_STRING, &j->val_rainy_dir, "DIR", "validation: rainy images, paired by file name with --val-clean's (one folder; not covered by --skip-bad)", 0, 0, NULL},
        {"val-clean", 0, CLI_STRING, &j->val_clean_dir, "DIR", "validation: their clean images; G_B is scored by Y-PSNR/SSIM (validation.tsv) and the best is kept as G_B-best.safetensors", 0, 0, NULL},
        {"val-every", 0, CLI_INT64, &j->val_every, "N", "validation period (default: --save-every; 0: none, e.g. to resume a run without its validation)", 0, 1e12, NULL},
        {"skip-bad", 0, CLI_FLAG, &j->skip_bad, NULL, "leave unreadable images out with a warning", 0, 0, NULL},
        {"quiet", 'q', CLI_FLAG, &j->quiet, NULL, "errors and warnings only (no progress or data lines)", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    _Static_assert(sizeof opts / sizeof *opts <= MAX_OPTS, "MAX_OPTS is too small");
    memcpy(opts_out, opts, sizeof opts);
    return (cli_command){"train", summary, opts_out, 0, 0, NULL, NULL};
}

/* The options, into a->job and a->job.cfg; CLI_CONTINUE or the exit status. */
static int parse_options(train_args *a, int argc, char **argv) {
    cli_opt opts[MAX_OPTS];
    const cli_command cmd = train_command(a, opts);
    cli_pos pos;
    return cli_parse(&cmd, argc, argv, &pos);
}

/* Parse the command line into a; CLI_CONTINUE or the exit status. */
static int parse_args(train_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->rainy_l = (cli_list){a->rainy, 0, MAX_DIRS};
    a->clean_l = (cli_list){a->clean, 0, MAX_DIRS};
    a->ablation_l = (cli_list){a->ablations, 0, MAX_DIRS};
    nlcl_train_job *j = &a->job;
    j->save_every = 500, j->sample_every = 500, j->log_every = 10, j->val_every = -1;
    int rc = prepare_config(argc, argv, &j->cfg);
    if (rc == CLI_CONTINUE) rc = parse_options(a, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (a->rainy_l.n == 0 || a->clean_l.n == 0 || !j->run_dir)
        return cli_usage_error("train", "--rainy DIR, --clean DIR and --out RUN_DIR are required");
    if (!j->val_rainy_dir != !j->val_clean_dir)
        return cli_usage_error("train", "--val-rainy and --val-clean go together");
    if (j->val_every > 0 && !j->val_rainy_dir)
        return cli_usage_error("train", "--val-every needs --val-rainy and --val-clean");
    if (j->val_every == 0) j->val_rainy_dir = j->val_clean_dir = NULL; /* --val-every 0 */
    if (j->val_rainy_dir && j->val_every < 0) j->val_every = j->save_every;
    if (j->val_every < 0) j->val_every = 0;
    if (j->init_continue && !j->init_from)
        return cli_usage_error("train", "--init-continue needs --init-from CHECKPOINT");
    if (j->init_from && j->resume)
        return cli_usage_error("train", "--init-from starts a new run and --resume continues one: give "
                                        "one of them (a run started with --init-from continues with "
                                        "--resume --out RUN_DIR alone)");
    if (a->taps && (rc = parse_taps(a->taps, &j->cfg)) != CLI_CONTINUE) return rc;
    if (a->mix && (rc = parse_mix(a->mix, &j->cfg)) != CLI_CONTINUE) return rc;
    if (a->jpeg && (rc = parse_jpeg(a->jpeg, &j->cfg)) != CLI_CONTINUE) return rc;
    if (j->cfg.bf16 && !nlcl_bf16_supported()) {
        fprintf(stderr, "nlcl train: --precision bf16 needs a CPU with AVX512_BF16 instructions; "
                        "this one has none, or DNNL_MAX_CPU_ISA hides them (use --precision fp32)\n");
        return CLI_EXIT_FAIL;
    }
    if (nlcl_train_config_check(&j->cfg) != NLCL_OK) {
        if (cli_rank == 0) fprintf(stderr, "nlcl train: %s\nTry 'nlcl train --help'.\n", nlcl_error_message());
        return CLI_EXIT_USAGE;
    }
    int ranks = cli_mpi_size();
    if (j->cfg.batch % ranks != 0)
        return cli_usage_error("train", "--batch %d is not a multiple of the %d ranks: each rank takes "
                                        "an equal share of the batch (e.g. --batch %d)",
                               j->cfg.batch, ranks, (j->cfg.batch / ranks + 1) * ranks);
    j->rainy_dirs = a->rainy;
    j->n_rainy_dirs = a->rainy_l.n;
    j->clean_dirs = a->clean;
    j->n_clean_dirs = a->clean_l.n;
    return CLI_CONTINUE;
}

/* The outcome of nlcl_train_run: its message (on several ranks, rank 0
 * reports the run's end and the others their own failures only); 0, 1, or
 * 130 after a stop request. */
static int finish(nlcl_status s, const nlcl_train_job *job, const ui *u) {
    const char *m = nlcl_error_message();
    if (s != NLCL_OK && cli_mpi_comm_failed()) cli_mpi_abort(m && *m ? m : "communication failed", 1);
    if (s != NLCL_OK && u->tty) fprintf(stderr, "\n");
    if (s == NLCL_ERR_INTERRUPTED) { /* stopped, or another rank failed */
        int failed = m && strstr(m, " failed ") != NULL;
        if (cli_rank == 0) fprintf(stderr, "nlcl train: %s\n", m);
        return failed ? CLI_EXIT_FAIL : 130;
    }
    if (s != NLCL_OK && cli_rank != 0) {
        fprintf(stderr, "nlcl train: rank %d: %s\n", cli_rank, m && *m ? m : nlcl_status_name(s));
        return CLI_EXIT_FAIL;
    }
    if (s != NLCL_OK) return cli_fail(s);
    if (!job->quiet && cli_rank == 0)
        fprintf(stderr, "nlcl train: done; models in %s/G_B.safetensors%s%s\n", job->run_dir,
                job->cfg.rain_generator ? " and G_R.safetensors" : "",
                job->val_rainy_dir ? " (best on validation: G_B-best.safetensors)" : "");
    return CLI_EXIT_OK;
}

/* 1 if a shell reads a as one word as it is */
static int plain_word(const char *a) {
    if (!*a) return 0;
    for (; *a; a++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%", *a) &&
            !((unsigned char)*a & 0x80))
            return 0;
    return 1;
}

/* "nlcl ARG...": the command line as a shell reads it (arguments with spaces
 * or quotes in single quotes), recorded in config.txt and the exported
 * models; --resume with only --out reads it back (split_words). */
static char *command_line(int argc, char **argv) {
    size_t len = 8;
    for (int i = 0; i < argc; i++) len += 4 * strlen(argv[i]) + 3;
    char *s = malloc(len), *o = s;
    if (!s) return NULL;
    o += sprintf(o, "nlcl");
    for (int i = 0; i < argc; i++) {
        *o++ = ' ';
        if (plain_word(argv[i])) {
            o += sprintf(o, "%s", argv[i]);
            continue;
        }
        *o++ = '\'';
        for (const char *a = argv[i]; *a; a++)
            if (*a == '\'') o += sprintf(o, "'\\''");
            else *o++ = *a;
        *o++ = '\'';
    }
    *o = '\0';
    return s;
}

/* Split a recorded command line into words (in place): blanks separate,
 * '...' quotes anything, a backslash outside quotes escapes one character.
 * Returns the count (at most max). */
static int split_words(char *s, char **w, int max) {
    int n = 0;
    char *o = s;
    while (*s && n < max) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        w[n++] = o;
        for (; *s && *s != ' ' && *s != '\t'; s++) {
            if (*s == '\'') {
                for (s++; *s && *s != '\''; s++) *o++ = *s;
                if (!*s) break;
            } else if (*s == '\\' && s[1]) {
                *o++ = *++s;
            } else {
                *o++ = *s;
            }
        }
        if (*s) s++;
        *o++ = '\0';
    }
    return n;
}

#define MAX_WORDS 512

/* 1 if argument `name` (e.g. "--rainy") is given, before any "--" */
static int given(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strncmp(argv[i], name, n) && (argv[i][n] == '\0' || argv[i][n] == '=')) return 1;
    return 0;
}

/* From RUN/config.txt (path): the words of its "command nlcl train ..."
 * line, the command that started the run, with "--iters=N" of its "iters N"
 * line added (an extension changed it), into w (at most MAX_WORDS, pointing
 * into *store, to free); -q, that command's choice, and --init-from and
 * --init-continue (the run has its own checkpoint now) left out. The count,
 * or -1 without such a line. */
static int recorded_words(const char *path, char **w, char **store) {
    char line[16384], iters[64] = "";
    int found = 0;
    FILE *f = fopen(path, "r");
    while (!found && f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "iters ", 6)) snprintf(iters, sizeof iters, "--iters=%.40s", line + 6);
        found = !strncmp(line, "command nlcl train ", 19);
    }
    if (f) fclose(f);
    if (!found) return -1;
    line[strcspn(line, "\r\n")] = '\0';
    iters[strcspn(iters, "\r\n")] = '\0';
    size_t ln = strlen(line + 19);
    if (!(*store = malloc(ln + sizeof iters + 1))) return -1;
    memcpy(*store, line + 19, ln + 1);
    int n = split_words(*store, w, MAX_WORDS - 1), k = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(w[i], "--init-from") && i + 1 < n) { /* the run has its own checkpoint now */
            i++;
            continue;
        }
        if (strcmp(w[i], "-q") && strcmp(w[i], "--quiet") && strcmp(w[i], "--init-continue") &&
            strncmp(w[i], "--init-from=", 12))
            w[k++] = w[i];
    }
    if (*iters) w[k++] = strcpy(*store + ln + 1, iters);
    return k;
}

/* --resume: the options of the run's recorded command line (RUN/config.txt,
 * recorded_words), except those given now, which replace them (a repeatable
 * one, --rainy or --clean, replaces the recorded list); the library then
 * checks that they agree with the run. *nargv (free it, and *store) replaces
 * argv; CLI_CONTINUE or the exit status after a message. */
static int resume_args(int argc, char **argv, int *nargc, char ***nargv, char **store) {
    /* the last --out or -o, as the parser takes it */
    const char *run = NULL;
    int at = 0;
    for (int k = 0; k < 2; k++) {
        int from = 1, last = 0;
        const char *v = NULL;
        for (const char *x; (x = find_value(argc, argv, k ? "-o" : "--out", &from));) v = x, last = from;
        if (v && last > at) run = v, at = last;
    }
    if (!run) return cli_usage_error("train", "--resume needs --out RUN_DIR");
    char path[4200], *rec[MAX_WORDS];
    snprintf(path, sizeof path, "%s/config.txt", run);
    int nrec = recorded_words(path, rec, store);
    if (nrec < 0 && given(argc, argv, "--rainy") && given(argc, argv, "--clean"))
        return CLI_CONTINUE; /* a run of an earlier nlcl: its options as given */
    if (nrec < 0) {
        if (access(path, R_OK) != 0)
            fprintf(stderr, "nlcl train: %s: cannot read the run's options (%s); give --rainy and "
                            "--clean as the run had them\n", path, strerror(errno));
        else
            fprintf(stderr, "nlcl train: %s: no 'command nlcl train ...' line: give --rainy and "
                            "--clean as the run had them\n", path);
        return CLI_EXIT_FAIL;
    }
    char **v = malloc(sizeof *v * ((size_t)nrec + (size_t)argc + 1));
    if (!v) return CLI_EXIT_FAIL;
    train_args dummy; /* the table's destinations are not written */
    cli_opt opts[MAX_OPTS];
    const cli_command cmd = train_command(&dummy, opts);
    v[0] = argv[0];
    *nargc = 1 + cli_merge_args(&cmd, rec, nrec, argv + 1, argc - 1, v + 1);
    v[*nargc] = NULL;
    *nargv = v;
    return CLI_CONTINUE;
}

int cmd_train(int argc, char **argv) {
    char *cmdline = command_line(argc, argv); /* before cli_parse reorders argv */
    char **rargv = NULL, *store = NULL;
    int rc = given(argc, argv, "--resume") ? resume_args(argc, argv, &argc, &rargv, &store) : CLI_CONTINUE;
    if (rargv) argv = rargv;
    train_args a;
    if (rc == CLI_CONTINUE) rc = parse_args(&a, argc, argv);
    if (rc != CLI_CONTINUE) {
        free(cmdline);
        free(rargv);
        free(store);
        return rc;
    }
    if (a.threads > 0) nlcl_set_num_threads(a.threads);
    nlcl_train_job *job = &a.job;
    ui u = {isatty(2), job->quiet, 0, &job->cfg};
    job->command_line = cmdline;
    job->progress = on_progress;
    job->message = on_message;
    job->saved = on_saved;
    job->ctx = &u;
    job->stop_flag = &g_stop;
    job->comm = cli_mpi_train_comm();
    cli_catch_signals(on_sigint, 1);
    nlcl_status s = nlcl_train_run(job);
    free(cmdline);
    rc = finish(s, job, &u);
    free(rargv); /* the options point into them until here */
    free(store);
    return rc;
}
