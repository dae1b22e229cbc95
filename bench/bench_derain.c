/* Benchmark: G_B forward (the derain computation) on a W x H image, batch 1,
 * through the public model API; excludes file decode/encode. Prints the
 * median and the fastest wall time of `reps` runs, GFLOP/s (2 FLOP per MAC;
 * one forward is 20.65 GMAC at 256x256 for C = 32, K = 16, linear in
 * pixels) and the peak RSS.
 * Usage: bench_derain MODEL W H [reps]; NLCL_BENCH_PRECISION=bf16 runs the
 * convolutions in bfloat16, NLCL_BENCH_CONV (bench_util.h) picks their
 * algorithm, NLCL_BENCH_BAND_ROWS=R runs the band pipeline with bands of R
 * rows (nlcl_model_set_band_rows; default: the whole-image path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nlcl/model.h"

#include "bench_util.h"


int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_derain MODEL W H [reps]\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 5;
    bench_conv_policy();
    nlcl_model *m;
    if (nlcl_model_load(argv[1], &m) != NLCL_OK) {
        fprintf(stderr, "%s\n", nlcl_error_message());
        return 1;
    }
    const char *prec = getenv("NLCL_BENCH_PRECISION");
    int bf16 = prec && !strcmp(prec, "bf16");
    if (bf16 && nlcl_model_set_precision(m, NLCL_PRECISION_BF16) != NLCL_OK) {
        fprintf(stderr, "%s\n", nlcl_error_message());
        return 1;
    }
    const char *band = getenv("NLCL_BENCH_BAND_ROWS");
    if (band) nlcl_model_set_band_rows(m, atoi(band));
    size_t n = (size_t)3 * w * h;
    float *in = malloc(n * 4), *out = malloc(n * 4);
    for (size_t i = 0; i < n; i++) in[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    double *t = malloc(sizeof(double) * (reps + 1));
    for (int r = -1; r < reps; r++) {
        double t0 = bench_now();
        if (nlcl_model_run(m, in, out, h, w) != NLCL_OK) {
            fprintf(stderr, "%s\n", nlcl_error_message());
            return 1;
        }
        if (r >= 0) t[r] = bench_now() - t0;
    }
    qsort(t, reps, sizeof(double), bench_cmp_double);
    /* MACs: convs only (reference section 7) */
    int C = nlcl_model_channels(m), K = nlcl_model_blocks(m);
    double macs = (double)w * h * 9.0 * (3.0 * C + (2.0 * K + 2) * C * C + 3.0 * C);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("nlcl derain %dx%d %s%s%s: %.3f s (median of %d, fastest %.3f), %.1f GFLOP/s, peak RSS "
           "%.1f MiB\n",
           w, h, bf16 ? "bf16" : "fp32", band ? ", band rows " : "", band ? band : "", t[reps / 2], reps, t[0], 2 * macs / t[reps / 2] / 1e9,
           ru.ru_maxrss / 1024.0);
    nlcl_model_free(m);
    free(in);
    free(out);
    free(t);
    return 0;
}
