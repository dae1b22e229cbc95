/* Data-parallel training without MPI (src/train/dist.h, docs/SCALING.md):
 * two ranks as two threads of this process, their nlcl_train_comm a shared
 * buffer and a barrier. Checks:
 *  - nlcl_search_skip draws what nlcl_search draws, for every mode;
 *  - 2 ranks with batch 2 against one trainer with batch 2, step by step:
 *    the same losses and weights up to the order of the gradient sums, and
 *    the weights identical on both ranks (they are never sent);
 *  - with --lambda-synth (synthetic pairs drawn image after image) and the
 *    random sampling, whose skipped draws differ;
 *  - a batch the ranks do not divide is INVALID_ARG;
 *  - a NaN on one rank stops both at the same step, the term named; a rank
 *    failing on its own makes the other stop with NLCL_ERR_INTERRUPTED
 *    naming it (no hang); a stop request of one rank stops both before any
 *    weight changes;
 *  - the whole job (nlcl_train_run) on two ranks: rank 0 alone writes the run
 *    folder, the checkpoint equals one process's within 1e-4, a stop request
 *    of rank 1 stops both with rank 0's checkpoint. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nlcl/conv.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/weights.h"
#include "nlcl/train.h"
#include "train/dist.h"
#include "train/sampler.h"
#include "train/trainer.h"

/* ---- two ranks in one process ---- */
typedef struct shared {
    pthread_barrier_t bar;
    void *bufs[2];
} shared;

typedef struct rank_ctx {
    shared *sh;
    int rank;
} rank_ctx;

static int allreduce(void *ctx, void *buf, size_t count, nlcl_comm_type type, nlcl_comm_op op) {
    rank_ctx *c = ctx;
    shared *sh = c->sh;
    size_t esz = type == NLCL_COMM_DOUBLE ? sizeof(double) : sizeof(float);
    void *res = malloc(count * esz + 1);
    sh->bufs[c->rank] = buf;
    pthread_barrier_wait(&sh->bar);
    for (size_t i = 0; i < count; i++) {
        if (type == NLCL_COMM_DOUBLE) {
            double a = ((double *)sh->bufs[0])[i], b = ((double *)sh->bufs[1])[i];
            ((double *)res)[i] = op == NLCL_COMM_MAX ? (a > b ? a : b) : a + b;
        } else {
            float a = ((float *)sh->bufs[0])[i], b = ((float *)sh->bufs[1])[i];
            ((float *)res)[i] = op == NLCL_COMM_MAX ? (a > b ? a : b) : a + b;
        }
    }
    pthread_barrier_wait(&sh->bar);
    memcpy(buf, res, count * esz);
    free(res);
    return 0;
}

static int broadcast(void *ctx, void *buf, size_t bytes) {
    rank_ctx *c = ctx;
    shared *sh = c->sh;
    sh->bufs[c->rank] = buf;
    pthread_barrier_wait(&sh->bar);
    if (c->rank != 0) memcpy(buf, sh->bufs[0], bytes);
    pthread_barrier_wait(&sh->bar);
    return 0;
}

/* The crop: 40, under valgrind 32 (test_train_crop) */
static int g_crop = 40;

static nlcl_train_config tiny(int synth, nlcl_sampling loc) {
    nlcl_train_config c = test_tiny_train_config(NLCL_PRESET_PAPER, g_crop);
    c.loc_taps[0] = 0, c.loc_taps[1] = 2;
    c.n_loc_taps = 2;
    c.w_synth = synth ? 0.5 : 0;
    c.loc_sampling = loc;
    c.seed = 7;
    return c;
}

#define STEPS 4
#define ONE (3 * g_crop * g_crop) /* values of one crop */
#define MAX_ONE (3 * 40 * 40)

/* the crops of step k: deterministic smooth images with streaks */
static void crops(int k, float *O, float *B) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 99, (uint64_t)k);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < ONE; i++) {
            int x = i % g_crop, y = (i / g_crop) % g_crop, c = i / (g_crop * g_crop);
            float v = 0.5f * sinf(0.11f * x + 0.05f * y * (b + 1) + c + k) + 0.3f * (float)nlcl_rng_uniform(&r);
            B[b * ONE + i] = v;
            O[b * ONE + i] = (x + 2 * y + b) % 9 == 0 ? 0.9f : v;
        }
}

typedef struct rank_run {
    rank_ctx ctx;
    nlcl_train_comm comm;
    nlcl_trainer *t;
    nlcl_losses L[STEPS];
    nlcl_status s[STEPS];
    volatile sig_atomic_t stop;
    int stop_at, fail_at; /* step at which to ask to stop / to fail (-1: never) */
    char msg[512];
} rank_run;

static void *rank_main(void *arg) {
    rank_run *rr = arg;
    float O[2 * MAX_ONE], B[2 * MAX_ONE];
    for (int k = 0; k < STEPS; k++) {
        crops(k, O, B);
        if (k == rr->stop_at) rr->stop = 1;
        /* a failing rank: a NaN crop makes its forward pass non-finite */
        if (k == rr->fail_at) O[rr->ctx.rank * ONE] = NAN;
        rr->s[k] = nlcl_trainer_step(rr->t, O, B, &rr->L[k]);
        if (rr->s[k] != NLCL_OK) {
            snprintf(rr->msg, sizeof rr->msg, "%s", nlcl_error_message());
            break;
        }
    }
    return NULL;
}

/* largest |a - b| over every trainable network, relative to the largest |a| */
static double weight_diff(nlcl_trainer *a, nlcl_trainer *b) {
    double top = 0, diff = 0;
    for (int id = 0; id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params(a, (nlcl_net_id)id), *q = nlcl_trainer_params(b, (nlcl_net_id)id);
        if (!p) continue;
        for (int k = 0; k < p->count; k++) {
            double dk = 0;
            for (size_t i = p->p[k].offset; i < p->p[k].offset + p->p[k].numel; i++) {
                top = fmax(top, fabs(p->data[i]));
                dk = fmax(dk, fabs((double)p->data[i] - q->data[i]));
            }
            diff = fmax(diff, dk);
        }
    }
    return diff / top;
}

/* Run two ranks (with the given stop/fail steps) beside nothing; returns
 * both in rr[2] (trainers to free by the caller). */
static void run_ranks(const nlcl_train_config *c, rank_run rr[2], int stop_rank, int fail_rank, int at) {
    shared sh;
    pthread_barrier_init(&sh.bar, NULL, 2);
    pthread_t th[2];
    for (int r = 0; r < 2; r++) {
        memset(&rr[r], 0, sizeof rr[r]);
        rr[r].ctx = (rank_ctx){&sh, r};
        rr[r].comm = (nlcl_train_comm){r, 2, allreduce, broadcast, &rr[r].ctx};
        rr[r].stop_at = r == stop_rank ? at : -1;
        rr[r].fail_at = r == fail_rank ? at : -1;
        CHECK_OK(nlcl_trainer_create_shared(c, &rr[r].comm, &rr[r].t));
        nlcl_trainer_set_stop(rr[r].t, &rr[r].stop);
    }
    for (int r = 0; r < 2; r++) pthread_create(&th[r], NULL, rank_main, &rr[r]);
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&sh.bar);
}

static void compare_with_one(int synth, nlcl_sampling loc) {
    nlcl_train_config c = tiny(synth, loc);
    nlcl_trainer *one = NULL;
    CHECK_OK(nlcl_trainer_create(&c, &one));
    nlcl_losses L1[STEPS];
    float O[2 * MAX_ONE], B[2 * MAX_ONE];
    for (int k = 0; k < STEPS; k++) {
        crops(k, O, B);
        CHECK_OK(nlcl_trainer_step(one, O, B, &L1[k]));
    }
    rank_run rr[2];
    run_ranks(&c, rr, -1, -1, -1);
    for (int k = 0; k < STEPS; k++) {
        CHECK_MSG(rr[0].s[k] == NLCL_OK && rr[1].s[k] == NLCL_OK, "step %d: %s / %s", k, rr[0].msg, rr[1].msg);
        for (int term = 0; term < NLCL_LOSS_COUNT; term++) {
            double a = nlcl_loss_get(&L1[k], (nlcl_loss_term)term);
            double b = nlcl_loss_get(&rr[0].L[k], (nlcl_loss_term)term);
            CHECK_MSG(fabs(a - b) <= 1e-5 * fmax(1, fabs(a)), "step %d, %s: 1 process %.9g, 2 ranks %.9g", k,
                      nlcl_loss_name((nlcl_loss_term)term), a, b);
            CHECK(nlcl_loss_get(&rr[1].L[k], (nlcl_loss_term)term) == nlcl_loss_get(&rr[0].L[k], (nlcl_loss_term)term));
        }
    }
    double d = weight_diff(one, rr[0].t);
    printf("synth %d, location sampling %s: 2 ranks vs 1 process after %d steps: %.3g of the largest weight\n",
           synth, nlcl_sampling_names[loc], STEPS, d);
    CHECK_MSG(d < 1e-4, "%g", d);
    CHECK(weight_diff(rr[0].t, rr[1].t) == 0);
    CHECK(nlcl_trainer_iteration(rr[1].t) == STEPS);
    nlcl_trainer_free(one);
    nlcl_trainer_free(rr[0].t);
    nlcl_trainer_free(rr[1].t);
}

/* nlcl_search_skip leaves the stream where nlcl_search does */
static void skip_draws(void) {
    float x[3 * 40 * 48];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)((i * 7919) % 101) / 50.0f - 1;
    for (int mode = 0; mode < 4; mode++) {
        nlcl_rng a, b;
        nlcl_rng_seed(&a, 5, 17);
        nlcl_rng_seed(&b, 5, 17);
        int32_t ids[16];
        for (int rep = 0; rep < 3; rep++) {
            CHECK_OK(nlcl_search(x, 1, 3, 40, 48, NLCL_NCHW, 0, (nlcl_sampling)mode, 16, &a, -1, -1, ids,
                                 NULL, NULL, NULL));
            nlcl_search_skip(40, 48, (nlcl_sampling)mode, 16, &b);
        }
        CHECK_MSG(a.state == b.state && a.inc == b.inc, "mode %s", nlcl_sampling_names[mode]);
    }
}

typedef struct agree_run {
    nlcl_train_comm comm;
    rank_ctx ctx;
    nlcl_status s;
    char msg[512];
} agree_run;

static void *agree_main(void *arg) {
    agree_run *a = arg;
    nlcl_status mine = a->ctx.rank == 1 ? nlcl_error_set(NLCL_ERR_IO, "rank 1's own trouble") : NLCL_OK;
    a->s = nlcl_dist_agree(&a->comm, mine, NULL, "reading the images");
    snprintf(a->msg, sizeof a->msg, "%s", nlcl_error_message());
    return NULL;
}

static void test_agree(void) {
    shared sh;
    pthread_barrier_init(&sh.bar, NULL, 2);
    agree_run a[2];
    pthread_t th[2];
    for (int r = 0; r < 2; r++) {
        a[r].ctx = (rank_ctx){&sh, r};
        a[r].comm = (nlcl_train_comm){r, 2, allreduce, broadcast, &a[r].ctx};
        pthread_create(&th[r], NULL, agree_main, &a[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&sh.bar);
    CHECK(a[1].s == NLCL_ERR_IO && test_contains(a[1].msg, "rank 1's own trouble"));
    CHECK_MSG(a[0].s == NLCL_ERR_INTERRUPTED && test_contains(a[0].msg, "rank 1 failed reading the images"),
              "%s", a[0].msg);
}

/* ---- the whole job on two ranks ---- */
static char rainy_dir[600], clean_dir[600];

static void make_data(void) {
    snprintf(rainy_dir, sizeof rainy_dir, "%s", test_path("rainy"));
    snprintf(clean_dir, sizeof clean_dir, "%s", test_path("clean"));
    CHECK_OK(nlcl_mkdirs(rainy_dir));
    CHECK_OK(nlcl_mkdirs(clean_dir));
    for (int i = 0; i < 3; i++)
        for (int set = 0; set < 2; set++) {
            nlcl_image img = {0};
            CHECK_OK(nlcl_image_alloc(&img, 48 + 4 * i, 56));
            for (size_t k = 0; k < (size_t)3 * img.width * img.height; k++)
                img.data[k] = 0.7f * sinf(0.13f * (float)(k % 56) + 0.07f * (float)(k / 56) + i) +
                              (set == 0 && k % 13 == 0 ? 0.3f : 0);
            char p[700];
            snprintf(p, sizeof p, "%s/%d.png", set ? clean_dir : rainy_dir, i);
            CHECK_OK(nlcl_image_save_png(p, &img, NLCL_QUANT_ROUND, 0));
            nlcl_image_free(&img);
        }
}

typedef struct job_run {
    nlcl_train_job job;
    rank_ctx ctx;
    nlcl_train_comm comm;
    volatile sig_atomic_t stop;
    nlcl_status s;
    char msg[512];
    const char *rainy[1], *clean[1];
} job_run;

static void job_init(job_run *j, const char *run_dir, int iters) {
    memset(j, 0, sizeof *j);
    j->job.cfg = tiny(1, NLCL_SAMPLING_FARTHEST);
    j->job.cfg.iters = iters;
    j->rainy[0] = rainy_dir, j->clean[0] = clean_dir;
    j->job.rainy_dirs = j->rainy, j->job.n_rainy_dirs = 1;
    j->job.clean_dirs = j->clean, j->job.n_clean_dirs = 1;
    j->job.run_dir = run_dir;
    j->job.save_every = 2, j->job.sample_every = 2, j->job.log_every = 1;
    j->job.stop_flag = &j->stop;
}

static void *job_main(void *arg) {
    job_run *j = arg;
    j->s = nlcl_train_run(&j->job);
    snprintf(j->msg, sizeof j->msg, "%s", nlcl_error_message());
    return NULL;
}

/* nlcl_train_run on two ranks (threads); rank 1's stop flag set from the start when stop1 */
static void run_job_ranks(job_run j[2], const char *run_dir, int iters, int stop1) {
    shared sh;
    pthread_barrier_init(&sh.bar, NULL, 2);
    pthread_t th[2];
    for (int r = 0; r < 2; r++) {
        job_init(&j[r], run_dir, iters);
        j[r].ctx = (rank_ctx){&sh, r};
        j[r].comm = (nlcl_train_comm){r, 2, allreduce, broadcast, &j[r].ctx};
        j[r].job.comm = &j[r].comm;
    }
    j[1].stop = stop1;
    for (int r = 0; r < 2; r++) pthread_create(&th[r], NULL, job_main, &j[r]);
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&sh.bar);
}

/* largest |a - b| / largest |a| over two checkpoints' weights (not Adam's) */
static double file_diff(const char *a, const char *b) {
    nlcl_tensor_dict x, y;
    nlcl_tensor_dict_init(&x);
    nlcl_tensor_dict_init(&y);
    double top = 0, diff = 1;
    if (nlcl_safetensors_load(a, &x) == NLCL_OK && nlcl_safetensors_load(b, &y) == NLCL_OK &&
        x.count == y.count) {
        diff = 0;
        for (int i = 0; i < x.count; i++) {
            if (strstr(x.tensors[i].name, ".adam_")) continue;
            for (size_t k = 0; k < x.tensors[i].numel; k++) {
                top = fmax(top, fabs(x.tensors[i].data[k]));
                diff = fmax(diff, fabs((double)x.tensors[i].data[k] - y.tensors[i].data[k]));
            }
        }
        diff /= top;
    }
    nlcl_tensor_dict_free(&x);
    nlcl_tensor_dict_free(&y);
    return diff;
}

static void test_jobs(void) {
    make_data();
    job_run one;
    char one_dir[600], two_dir[600], stop_dir[600], p[700];
    snprintf(one_dir, sizeof one_dir, "%s", test_path("one"));
    snprintf(two_dir, sizeof two_dir, "%s", test_path("two"));
    snprintf(stop_dir, sizeof stop_dir, "%s", test_path("stopped"));
    job_init(&one, one_dir, 3);
    CHECK_OK(nlcl_train_run(&one.job));
    job_run j[2];
    run_job_ranks(j, two_dir, 3, 0);
    CHECK_MSG(j[0].s == NLCL_OK && j[1].s == NLCL_OK, "%s / %s", j[0].msg, j[1].msg);
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", one_dir);
    char q[700];
    snprintf(q, sizeof q, "%s/checkpoint.safetensors", two_dir);
    double d = file_diff(p, q);
    printf("nlcl_train_run, 2 ranks vs 1 process, 3 iterations: %.3g of the largest weight\n", d);
    CHECK_MSG(d < 1e-4, "%g", d);
    snprintf(p, sizeof p, "%s/samples/00000002.png", two_dir);
    CHECK(access(p, F_OK) == 0);

    run_job_ranks(j, stop_dir, 3, 1);
    CHECK_MSG(j[0].s == NLCL_ERR_INTERRUPTED && j[1].s == NLCL_ERR_INTERRUPTED, "%s / %s", j[0].msg, j[1].msg);
    CHECK_MSG(test_contains(j[0].msg, "stopped at iteration 0"), "%s", j[0].msg);
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", stop_dir);
    CHECK(access(p, F_OK) == 0);
}

int main(void) {
    g_crop = test_train_crop(40);
    nlcl_set_num_threads(1); /* one OpenMP thread per rank */
    nlcl_conv2d_set_algorithm(NLCL_CONV_DIRECT); /* nothing measured by two threads at once */
    skip_draws();
    compare_with_one(0, NLCL_SAMPLING_FARTHEST);
    compare_with_one(1, NLCL_SAMPLING_RANDOM);

    nlcl_train_config c = tiny(0, NLCL_SAMPLING_FARTHEST);
    c.batch = 3;
    nlcl_train_comm comm = {0, 2, allreduce, broadcast, NULL};
    nlcl_trainer *t = NULL;
    CHECK_ERR(nlcl_trainer_create_shared(&c, &comm, &t), NLCL_ERR_INVALID_ARG, "not a multiple of the 2 ranks");

    /* a NaN in rank 1's crop in step 1: the losses are averaged before the
     * checks, so both stop there with the term named, weights untouched */
    c = tiny(0, NLCL_SAMPLING_FARTHEST);
    rank_run rr[2];
    run_ranks(&c, rr, -1, 1, 1);
    CHECK(rr[0].s[0] == NLCL_OK && rr[1].s[0] == NLCL_OK);
    CHECK_MSG(rr[0].s[1] == NLCL_ERR_NONFINITE && rr[1].s[1] == NLCL_ERR_NONFINITE, "%s / %s", rr[0].msg,
              rr[1].msg);
    CHECK_MSG(test_contains(rr[0].msg, "'D' is NaN"), "%s", rr[0].msg);
    CHECK(nlcl_trainer_intact(rr[0].t) && nlcl_trainer_iteration(rr[1].t) == 1);
    CHECK(weight_diff(rr[0].t, rr[1].t) == 0);
    for (int r = 0; r < 2; r++) nlcl_trainer_free(rr[r].t);

    /* a rank that fails on its own: the other hears which one */
    test_agree();

    /* rank 1 asks to stop in step 2: both stop before any weight changes */
    run_ranks(&c, rr, 1, -1, 2);
    CHECK(rr[0].s[1] == NLCL_OK && rr[1].s[1] == NLCL_OK);
    CHECK_MSG(rr[0].s[2] == NLCL_ERR_INTERRUPTED && rr[1].s[2] == NLCL_ERR_INTERRUPTED, "%s / %s", rr[0].msg,
              rr[1].msg);
    CHECK(nlcl_trainer_intact(rr[0].t) && nlcl_trainer_iteration(rr[0].t) == 2);
    CHECK(weight_diff(rr[0].t, rr[1].t) == 0);
    for (int r = 0; r < 2; r++) nlcl_trainer_free(rr[r].t);
    test_jobs();
    return test_finish("test_train_dist");
}
