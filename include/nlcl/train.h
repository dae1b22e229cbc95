/* nlcl/train.h - unsupervised NLCL training (paper section 3; the exact
 * iteration is specified in TRAINING.md of nlcl's documentation, installed
 * in share/doc/nlcl).
 *
 * Two levels:
 *  - nlcl_trainer: the networks (G_B, G_R, D, projection heads, momentum key
 *    encoder), their Adam states, and one training iteration on given crops;
 *  - nlcl_train_run: the whole job over folders of rainy and clean images,
 *    with a run folder of checkpoints, logs, samples and exported models,
 *    and exact resume. The library draws no plots: the `saved` callback says
 *    when losses.tsv is complete up to a checkpoint (the nlcl command plots
 *    it with PLplot).
 * Sizes: crops must be at least 32x32 (the discriminator's and the
 * non-local search's minimum); the sample counts must fit the search window
 * (e.g. N = 256 needs a 32 crop at least, 512 needs 48).
 */
#ifndef NLCL_TRAIN_H
#define NLCL_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "nlcl/export.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

typedef enum nlcl_preset {
    NLCL_PRESET_PAPER = 0,    /* the paper's settings (the default) */
    NLCL_PRESET_OFFICIAL = 1, /* the released code's settings, its optimiser bugs fixed */
    NLCL_PRESET_CUT = 2       /* CUT baseline: no G_R, no layer contrast, random sampling */
} nlcl_preset;

/* Sampling strategies of the non-local search (paper section 3.2,
 * TRAINING.md "Sampling"). */
typedef enum nlcl_sampling {
    NLCL_SAMPLING_NEAREST = 0,  /* non-local: the k most similar patches (anchor included) */
    NLCL_SAMPLING_FARTHEST = 1, /* reverse non-local: the k least similar */
    NLCL_SAMPLING_RANDOM = 2,   /* k distinct uniform locations over the map (CUT) */
    NLCL_SAMPLING_NEIGHBOUR = 3 /* the k candidates spatially nearest the anchor */
} nlcl_sampling;
/* Their names, indexed by the enum: "nearest", "farthest", "random", "neighbour". */
extern const char *const nlcl_sampling_names[4];

/* Projection heads of the layer contrast (TRAINING.md, "The layer
 * contrast's projection head"). */
typedef enum nlcl_layer_head {
    NLCL_LAYER_HEAD_SEPARATE = 0, /* H_B for pred_B's samples, H_R for pred_R's (the reference) */
    NLCL_LAYER_HEAD_SHARED = 1    /* one head set (H_B) for both layers */
} nlcl_layer_head;

#define NLCL_MAX_LOC_TAPS 8

typedef struct nlcl_train_config {
    /* architecture */
    int gen_channels;  /* C of G_B and G_R (32) */
    int gen_blocks;    /* K (16) */
    int ndf;           /* discriminator width (64) */
    int rain_generator;/* 1: G_R and the layer contrast (NLCL); 0: CUT */
    int residual;      /* 1: G_B outputs O + G(O), starting as the identity (an
                          nlcl option, not in the paper; default 0) */
    /* data */
    int crop;          /* crop height (and width unless crop_w is set), 256, >= 32 */
    int crop_w;        /* crop width; 0 = square (the default) */
    int batch;         /* images per iteration (4 paper, 1 code) */
    /* optimisation */
    int64_t iters;     /* total iterations */
    int64_t decay_iters;/* linear decay over the last decay_iters (-1: iters/21) */
    double lr, beta1, beta2, eps;
    /* loss weights; 0 switches a term off (paper Eq. (2) and Eq. (4): w_sp is
                          lambda, w_gan delta, w_layer mu, w_loc sigma; as the released
                          code's compute_G_loss) */
    double w_gan, w_loc, w_layer, w_cons, w_sp;
    int sparsity_code; /* 0: mean|R| (paper); 1: mean|O - B| (code) */
    double w_eroded;   /* weight of the eroded L1 between B and O (nlcl_eroded_l1_forward):
                          keeps colour and regions, lets thin streaks go (nlcl option,
                          not in the paper; 0 = off, the default) */
    int erosion;       /* its window side in pixels (7) */
    double w_colour;   /* weight of the L1 between the channel means of B and O on each
                          rainy crop (nlcl_mean_l1_forward): holds brightness and colour,
                          leaves streaks and contrast free (nlcl option, not in the paper;
                          0 = off, the default) */
    double w_synth;    /* weight of the synthetic-pair L1 mean|G_B(O_s) - B|: the clean
                          crops B with synthetic rain (nlcl_synth_rain, O_s = T(B + S) +
                          (1 - T)A) as supervised pairs, as in semi-supervised deraining
                          (Wei et al., CVPR 2019); an nlcl option, not NLCL's; 0 = off */
    int synth_rain;    /* the rain of those pairs: a nlcl_rain_preset, or NLCL_RAIN_NPRESETS
                          (mix, the default): each crop draws light, heavy or downpour */
    int synth_mix[3];  /* mix's weights of light, heavy and downpour (whole numbers 0..100,
                          not all 0): a crop draws preset k with probability
                          synth_mix[k] / sum; default 1, 1, 1 */
    int synth_veil;    /* 0 (default): the veil (beta, airlight) of the streaks' preset;
                          1: each crop's veil from a preset of its own, drawn uniformly
                          (light, heavy or downpour) after the streaks' one, so that dense
                          streaks also come without veil and light ones with it */
    int synth_jpeg[2]; /* JPEG quality range of the synthetic rainy crops (each draws a whole
                          quality in it, nlcl_rain_params.jpeg), as real photos are JPEG
                          files; 0, 0 (default): not compressed */
    int64_t warmup;    /* the first `warmup` iterations train G_B on the synthetic pairs alone
                          (needs w_synth > 0; D, G_R and the heads wait); 0 = none */
    double ema;        /* decay of an exponential moving average of G_B's weights, updated
                          after every step with min(ema, (1 + t) / (10 + t)) at step t; the
                          exported and validated G_B is the average (samples/ shows the
                          training weights' output); 0 = off */
    int idt;           /* identity PatchNCE term on clean images */
    double tau;        /* temperature of both contrastive losses (0.07) */
    double momentum;   /* key-encoder EMA momentum (0.99; 0 = keys from G_B) */
    int n_loc, n_pos, n_neg;            /* N, N_B, N_R */
    int head_dim;                       /* projection-head width (256) */
    nlcl_layer_head layer_head;         /* layer-contrast heads: separate (default) or shared */
    int layer_head_frozen;              /* 1: the layer-contrast heads keep their initial
                                           weights (no gradient, no Adam step); 0 (default) */
    nlcl_sampling loc_sampling;         /* location-contrast negatives */
    nlcl_sampling pos_sampling, neg_sampling; /* layer-contrast positives/negatives */
    int loc_taps[NLCL_MAX_LOC_TAPS];    /* G_B taps: 0 = gen.0, i = res-block i */
    int n_loc_taps;                     /* 0: the default taps 0,2,4,8,12 that the
                                           generator has (with fewer than 2 of them,
                                           its last block is added; the presets' choice) */
    uint64_t seed;
    int bf16;          /* 1: the generators' C->C convolutions (forward and both
                          backward passes) multiply in bfloat16 through oneDNN
                          (needs AVX512_BF16, nlcl_bf16_supported); weights,
                          gradients and Adam state stay float32; 0 (default):
                          float32 */
} nlcl_train_config;

/* Fill every field with a preset's values. */
void nlcl_train_config_preset(nlcl_train_config *c, nlcl_preset p);
/* The paper's ablations by name (applied on top of a preset), section 4.4:
 *   Table 2, layer-contrast sampling (positives-negatives):
 *     t2-random-random, t2-neighbour-random, t2-neighbour-neighbour,
 *     t2-nonlocal-random, t2-random-nonlocal, t2-nonlocal-nonlocal (= NLCL)
 *   Table 4, sampling numbers: t4-pos<P>-neg<N> for P in 4,8,16,32 and N in
 *     64,128,256,512 (e.g. t4-pos8-neg256 = NLCL)
 *   Table 5, location contrast: t5-random-sampling, t5-n64, t5-n128, t5-n512
 *   Table 6, each loss: t6-no-adv, t6-no-l1, t6-no-loc, t6-no-layer
 * The encoder ablations (Table 3; Table 5's discriminator encoder) are not
 * implemented. Errors: INVALID_ARG naming the unknown ablation. */
nlcl_status nlcl_train_config_ablation(nlcl_train_config *c, const char *name);
/* Names of all ablations, NULL-terminated. */
extern const char *const nlcl_ablation_names[];

/* Check a configuration; INVALID_ARG naming the first problem. */
nlcl_status nlcl_train_config_check(const nlcl_train_config *c);
/* One line per option, "name value", for logs and checkpoints. Caller frees. */
char *nlcl_train_config_describe(const nlcl_train_config *c);

/* The G_B taps of the location contrast: c->loc_taps, or the default taps
 * when c->n_loc_taps is 0 (see there). Writes them to taps and returns their
 * number (at most NLCL_MAX_LOC_TAPS). */
int nlcl_train_config_taps(const nlcl_train_config *c, int taps[NLCL_MAX_LOC_TAPS]);

/* Loss values of one iteration: the weighted total G and D, and each term
 * unweighted; eroded, synth and colour are 0 unless their weights are > 0. */
typedef struct nlcl_losses {
    double G, D, gan, loc, layer, cons, sp, eroded, synth, colour;
} nlcl_losses;

/* The loss terms, in one order for the columns of losses.tsv, the progress
 * line, the checks of each iteration and resume: G = sum over the terms from
 * GAN on of weight * value (nlcl_loss_weight); D is the discriminator's. */
typedef enum nlcl_loss_term {
    NLCL_LOSS_G = 0, NLCL_LOSS_D, NLCL_LOSS_GAN, NLCL_LOSS_LOC, NLCL_LOSS_LAYER, NLCL_LOSS_CONS,
    NLCL_LOSS_SPARSITY, NLCL_LOSS_ERODED, NLCL_LOSS_SYNTH, NLCL_LOSS_COLOUR, NLCL_LOSS_COUNT
} nlcl_loss_term;
/* Name of a term: "G", "D", "gan", "loc", "layer", "cons", "sparsity",
 * "eroded", "synth", "colour" (the losses.tsv column); NULL outside the enum. */
const char *nlcl_loss_name(nlcl_loss_term k);
/* Its value in L (NaN for a NULL L or a k outside the enum), and setting it
 * (errors: NLCL_ERR_INVALID_ARG for a NULL L or a k outside the enum). */
double nlcl_loss_get(const nlcl_losses *L, nlcl_loss_term k);
nlcl_status nlcl_loss_set(nlcl_losses *L, nlcl_loss_term k, double v);
/* Its weight in G under c (w_gan, ..., w_synth); 1 for G and D; NaN for a
 * NULL c or a k outside the enum. A term is computed when its weight is > 0. */
double nlcl_loss_weight(const nlcl_train_config *c, nlcl_loss_term k);

typedef struct nlcl_trainer nlcl_trainer;

/* Create the networks for cfg, initialised from cfg->seed. */
nlcl_status nlcl_trainer_create(const nlcl_train_config *cfg, nlcl_trainer **out);
void nlcl_trainer_free(nlcl_trainer *t);
/* One iteration (D step then G step, TRAINING.md) on O and B, each
 * (batch, 3, crop, crop) NCHW in [-1, 1]. Errors: NONFINITE naming the term
 * (the weights are then left as they were before the iteration). */
nlcl_status nlcl_trainer_step(nlcl_trainer *t, const float *O, const float *B, nlcl_losses *out);
/* Iterations done so far. */
int64_t nlcl_trainer_iteration(const nlcl_trainer *t);
/* Seconds spent in the non-local searches so far (for the benchmark). */
double nlcl_trainer_search_seconds(const nlcl_trainer *t);

/* Checkpoint: every network and head, the key encoder, Adam moments, the
 * iteration, the configuration and the RNG state; safetensors, written
 * atomically. Loading checks the configuration matches. */
nlcl_status nlcl_trainer_save(const nlcl_trainer *t, const char *path);
nlcl_status nlcl_trainer_load(nlcl_trainer *t, const char *path);
/* Start t, a trainer not yet stepped, from another run's weights (`nlcl
 * train --init-from`, TRAINING.md "Starting from another run"). path: a
 * training checkpoint of nlcl train, or a model file holding a G_B (nlcl's
 * safetensors, e.g. G_B-best.safetensors or the default model, or a PyTorch
 * .pth state_dict such as the authors' latest_net_Back.pth). Every network
 * that t's configuration uses is taken from the file's network of the same
 * name (G_B, G_R, D, H_loc with the same taps, H_B and H_R with the same
 * update (trained or frozen), the key encoder G_key/H_key, the moving
 * average G_ema); G_ema and the key encoder start as G_B and H_loc when the
 * file has none; the others keep t's fresh initialisation (from its seed);
 * the file's networks that t does not use are left. keep_iteration 0: Adam
 * moments fresh, iteration 0; 1 (a checkpoint only): also the iteration and
 * the Adam moments, so that the schedule (warm-up, learning-rate decay, EMA
 * ramp, random streams) goes on from the checkpoint's iteration under t's
 * options. The file is only read. report (report_size bytes, may be NULL)
 * says what was taken, what starts fresh, what is not used, and the options
 * that differ from the source run's. Errors: IO, FORMAT, UNSUPPORTED of the
 * file (naming it); INVALID_ARG: another architecture (channels, blocks,
 * residual, ndf, head_dim), every difference listed at once ("'channels 16'
 * there, 'channels 32' here (--channels 16); ..."); a model file holding a
 * G_R; with keep_iteration a model file, another warmup, a checkpoint at or
 * beyond cfg.iters, or a network trained here with Adam that the checkpoint
 * lacks; a trainer already stepped. On error t's weights are unspecified. */
nlcl_status nlcl_trainer_init_from(nlcl_trainer *t, const char *path, int keep_iteration, char *report,
                                   size_t report_size);

/* Export G_B ("G_B") or G_R ("G_R") as a model file for nlcl derain, with
 * the given metadata pairs (keys[i], values[i]). */
nlcl_status nlcl_trainer_export(const nlcl_trainer *t, const char *which, const char *path,
                                const char *const *keys, const char *const *values, int nmeta);

/* ---- data parallelism across processes ----
 * Several processes (ranks, e.g. started by `mpirun -np N nlcl train`) run
 * one job together: each runs nlcl_train_run with the same job and its own
 * nlcl_train_comm. The library has no communication of its own and links no
 * MPI: it calls these functions, which the caller implements (the nlcl
 * command over MPI; SCALING.md of nlcl's documentation). The global batch
 * cfg.batch is split into `size` equal shares (it must divide: INVALID_ARG
 * otherwise); each rank computes the images of its share, with the crops and
 * random draws a single process would use for them, and the gradients are
 * averaged over the ranks every step, so N ranks compute what one process
 * does up to the order in which gradients are summed. */
typedef enum nlcl_comm_type { NLCL_COMM_FLOAT = 0, NLCL_COMM_DOUBLE = 1 } nlcl_comm_type;
typedef enum nlcl_comm_op { NLCL_COMM_SUM = 0, NLCL_COMM_MAX = 1 } nlcl_comm_op;

typedef struct nlcl_train_comm {
    int rank; /* this process, 0 .. size-1; rank 0 writes the run folder */
    int size; /* the number of ranks; 1 means one process */
    /* Combine `count` values (float or double) of every rank element-wise
     * with op, in place; the result on every rank (MPI_Allreduce). Every
     * rank makes the same calls in the same order. 0, or non-zero on failure
     * (the run then ends with NLCL_ERR_IO; the ranks may no longer agree). */
    int (*allreduce)(void *ctx, void *buf, size_t count, nlcl_comm_type type, nlcl_comm_op op);
    /* Rank 0's `bytes` bytes at buf to every rank's buf (MPI_Bcast). 0 or
     * non-zero as above. */
    int (*broadcast)(void *ctx, void *buf, size_t bytes);
    void *ctx;
} nlcl_train_comm;

/* ---- the whole job ---- */
typedef struct nlcl_train_progress {
    int64_t iter, iters;
    nlcl_losses losses;
    double seconds;       /* wall time of this run (excluding earlier runs) */
    double it_per_s;      /* recent speed */
    double eta_s;         /* estimated time to finish */
} nlcl_train_progress;

typedef struct nlcl_train_job {
    nlcl_train_config cfg;
    const char *const *rainy_dirs; int n_rainy_dirs; /* folders of rainy images O */
    const char *const *clean_dirs; int n_clean_dirs; /* folders of clean images B */
    const char *run_dir;       /* created if missing */
    int resume;                /* continue from run_dir/checkpoint.safetensors */
    /* a new run starting from another run's weights (nlcl_trainer_init_from):
     * a checkpoint or a G_B model file, only read; not with resume. What was
     * taken is said through `message`; config.txt records "init_from PATH",
     * "init_iteration N" (when known) and, with init_continue, "init_continue
     * 1". The file must not lie in run_dir (INVALID_ARG). */
    const char *init_from;
    int init_continue;         /* also its iteration and Adam moments (keep_iteration) */
    int64_t save_every;        /* checkpoint period (iterations) */
    int64_t keep_every;        /* also keep checkpoint-<iter>.safetensors every ... (0: never) */
    int64_t sample_every;      /* side-by-side sample image period (0: never) */
    int64_t log_every;         /* progress callback / TSV flush period */
    int skip_bad;              /* skip unreadable images with a warning instead of failing */
    const char *command_line;  /* recorded in config.txt and the exported models */
    /* validation (optional): rainy images paired by file stem with clean
     * ones; every val_every iterations (and at the end) G_B derains them,
     * validation.tsv gets the mean Y-PSNR and SSIM, and the best G_B so far
     * (highest Y-PSNR) is exported to RUN_DIR/G_B-best.safetensors */
    const char *val_rainy_dir, *val_clean_dir;
    int64_t val_every;         /* 0: no validation */
    /* progress: called every log_every iterations and at the end; return
     * non-zero to stop (a checkpoint is written, then NLCL_ERR_INTERRUPTED) */
    int (*progress)(void *ctx, const nlcl_train_progress *p);
    /* messages for the user (warnings, "resuming from ..."); may be NULL */
    void (*message)(void *ctx, const char *msg);
    void *ctx;
    /* polled between iterations; non-zero stops like the progress callback
     * (a signal handler may set it) */
    volatile sig_atomic_t *stop_flag;
    /* 1: `message` gets warnings only (no "data: ..." or "resuming ..." lines) */
    int quiet;
    /* called after each checkpoint (also the one written when stopped) and
     * once at the end of a successful run (after the models are exported),
     * when RUN_DIR/losses.tsv (tab-separated: a header line "iter seconds"
     * and the names of the loss terms (nlcl_loss_name; a run begun by an
     * earlier nlcl keeps its fewer columns), then one row per iteration) has been
     * flushed with every iteration done so far (`iter`): the hook for loss
     * plots (the nlcl command draws RUN_DIR/losses.png from it) or uploads.
     * It cannot fail the run; may be NULL. */
    void (*saved)(void *ctx, const char *run_dir, int64_t iter);
    /* several processes running this job together (see nlcl_train_comm);
     * NULL (or size 1): this process alone. Every rank passes the same job
     * but its own comm. Rank 0 alone writes the run folder, validates, and
     * calls progress, message and saved; the others read the images (the
     * same ones: checked) and get the state from rank 0. The ranks agree
     * before each iteration and inside it, so a rank that fails or is asked
     * to stop (stop_flag) stops all of them at the same point, where rank 0
     * writes a checkpoint if the weights are intact. The status is the
     * failing rank's own there, NLCL_ERR_INTERRUPTED ("rank K failed ...")
     * on the others. With a stop_flag, rank 0 also keeps a copy of the state
     * at the start of an iteration (at most 10 seconds old) and writes it as
     * the checkpoint within milliseconds of a stop request (a thread watches
     * the flag): mpirun kills the ranks a second or two after Ctrl-C. */
    const nlcl_train_comm *comm;
} nlcl_train_job;

/* Run (or, with resume, continue) a training job. Before anything is read or
 * written: run_dir must not be one of the rainy or clean folders
 * (INVALID_ARG), no folder or file name may hold a line break (INVALID_ARG:
 * config.txt records one per line), and on resume run_dir/config.txt must
 * describe the same configuration as job->cfg and name the same data folders
 * in the same order (INVALID_ARG listing every difference, e.g. "'channels 8'
 * there, 'channels 16' here; 'rainy a' there, 'rainy b' here"; the
 * checkpoint's own check stays), and config.txt then records the resume
 * (command_line); with init_from (not with resume:
 * INVALID_ARG), the file is read and checked against job->cfg
 * (nlcl_trainer_init_from) before any image is read. A run folder this call
 * creates is removed again if the job fails before writing anything into it. Resuming a
 * finished run (iteration == iters) re-exports the models with the last
 * losses of losses.tsv. Errors: those of the data, the trainer and file I/O;
 * NLCL_ERR_INTERRUPTED when stopped. */
nlcl_status nlcl_train_run(const nlcl_train_job *job);

NLCL_API_END
#endif
