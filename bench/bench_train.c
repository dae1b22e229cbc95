/* Benchmark: one full NLCL training iteration (D step + G step with Adam, the
 * momentum update and the non-local searches), the `paper` preset with the
 * authors' network sizes (C 32, K 16, ndf 64, heads 256, N/N_B/N_R 256/8/256)
 * at batch 1, on random crops of a synthetic scene with synthetic rain.
 * Prints seconds per iteration (median and fastest of `reps` after one
 * warm-up), the share spent in the non-local searches, and peak RSS.
 * Usage: bench_train CROP [reps]; NLCL_BENCH_PRECISION=bf16 runs the
 * generators' convolutions in bfloat16, NLCL_BENCH_CONV (bench_util.h) picks
 * the convolution algorithm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nlcl/synth.h"
#include "nlcl/train.h"

#include "bench_util.h"


int main(int argc, char **argv) {
    int crop = argc > 1 ? atoi(argv[1]) : 128, reps = argc > 2 ? atoi(argv[2]) : 5;
    bench_conv_policy();
    nlcl_train_config c;
    nlcl_train_config_preset(&c, NLCL_PRESET_PAPER);
    c.layer_head = NLCL_LAYER_HEAD_SEPARATE; /* as bench_train_torch.py: H_B and H_R, stepped */
    c.layer_head_frozen = 0;
    c.crop = crop;
    c.batch = 1;
    c.iters = 1000;
    const char *prec = getenv("NLCL_BENCH_PRECISION");
    c.bf16 = prec && !strcmp(prec, "bf16");
    nlcl_trainer *t;
    if (nlcl_trainer_create(&c, &t) != NLCL_OK) {
        fprintf(stderr, "%s\n", nlcl_error_message());
        return 1;
    }
    nlcl_rng r;
    nlcl_rng_seed(&r, 1, 1);
    nlcl_image clean = {0}, rainy = {0};
    nlcl_rain_params p;
    nlcl_rain_params_preset(&p, NLCL_RAIN_LIGHT);
    nlcl_synth_scene(crop, crop, &r, &clean);
    nlcl_synth_rain(&clean, &p, &r, &rainy);
    double *ts = malloc(sizeof(double) * (reps + 1));
    double search0 = 0;
    for (int i = -1; i < reps; i++) {
        if (i == 0) search0 = nlcl_trainer_search_seconds(t);
        double t0 = bench_now();
        nlcl_losses L;
        if (nlcl_trainer_step(t, rainy.data, clean.data, &L) != NLCL_OK) {
            fprintf(stderr, "%s\n", nlcl_error_message());
            return 1;
        }
        if (i >= 0) ts[i] = bench_now() - t0;
    }
    double total = 0;
    for (int i = 0; i < reps; i++) total += ts[i];
    double search = nlcl_trainer_search_seconds(t) - search0;
    qsort(ts, reps, sizeof(double), bench_cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("nlcl %s crop=%d iter_s=%.3f min_s=%.3f search_share=%.4f search_s=%.4f peak_rss_mib=%.0f\n",
           c.bf16 ? "bf16" : "fp32", crop, ts[reps / 2], ts[0], search / total, search / reps, ru.ru_maxrss / 1024.0);
    nlcl_trainer_free(t);
    nlcl_image_free(&clean);
    nlcl_image_free(&rainy);
    free(ts);
    return 0;
}
