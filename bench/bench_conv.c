/* Benchmark: 3x3 conv, C->C channels, HxW, batch 1: forward, backward-data,
 * backward-weights through nlcl_conv2d (oneDNN, blocked layout kept between
 * calls, as the networks use it), and forward through an inference plan.
 * Usage: bench_conv [C] [H] [W] [reps] [batch]; NLCL_BENCH_CONV=direct|winograd|auto
 * (bench_util.h) sets the algorithm policy. GFLOP/s count the whole batch.
 * Prints ms (median of reps) and GFLOP/s (2 FLOP per MAC). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nlcl/conv.h"

#include "bench_util.h"


int main(int argc, char **argv) {
    int c = argc > 1 ? atoi(argv[1]) : 32, h = argc > 2 ? atoi(argv[2]) : 256;
    int w = argc > 3 ? atoi(argv[3]) : h, reps = argc > 4 ? atoi(argv[4]) : 20;
    int nb = argc > 5 ? atoi(argv[5]) : 1;
    bench_conv_policy();
    const char *lay = getenv("NLCL_BENCH_LAYOUT");
    nlcl_layout L = (lay && !strcmp(lay, "nchw")) ? NLCL_NCHW : NLCL_BLOCKED;
    nlcl_conv2d_shape s = {nb, c, h, w, c, 3, 3, 1, 1, 1, L, L};
    nlcl_conv2d_plan *p, *pi;
    if (nlcl_conv2d_plan_create(&p, &s, 1) != NLCL_OK || nlcl_conv2d_plan_create(&pi, &s, 0) != NLCL_OK) {
        fprintf(stderr, "%s\n", nlcl_error_message());
        return 1;
    }
    size_t n = nlcl_layout_numel(L, nb, c, h, w), nw = (size_t)c * c * 9;
    float *x = calloc(n, 4), *y = calloc(n, 4), *dy = calloc(n, 4), *dx = calloc(n, 4);
    float *wt = calloc(nw, 4), *b = calloc(c, 4), *dw = calloc(nw, 4), *db = calloc(c, 4);
    for (size_t i = 0; i < n; i++) x[i] = dy[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nw; i++) wt[i] = (float)((i * 31) % 100) / 1000.0f;
    double gflop = 2.0 * nb * c * c * 9.0 * h * w / 1e9;
    double *t = malloc(sizeof(double) * reps);
    const char *names[4] = {"forward", "backward-data", "backward-weights", "forward-inference"};
    printf("conv3x3 %d->%d %dx%d batch %d, %d threads, layout %s, %.3f GFLOP per call\n", c, c, h, w, nb,
           omp_get_max_threads(), L == NLCL_NCHW ? "nchw" : "blocked", gflop);
    for (int k = 0; k < 4; k++) {
        for (int r = -2; r < reps; r++) {
            double t0 = bench_now();
            nlcl_status st = k == 3   ? nlcl_conv2d_forward(pi, x, wt, b, y)
                             : k == 0 ? nlcl_conv2d_forward(p, x, wt, b, y)
                             : k == 1 ? nlcl_conv2d_backward_data(p, dy, wt, dx, 0.0f)
                                      : nlcl_conv2d_backward_weights(p, x, dy, dw, db);
            if (st != NLCL_OK) {
                fprintf(stderr, "%s\n", nlcl_error_message());
                return 1;
            }
            if (r >= 0) t[r] = bench_now() - t0;
        }
        qsort(t, reps, sizeof(double), bench_cmp_double);
        double med = t[reps / 2];
        const char *impl = nlcl_conv2d_plan_impl(k == 3 ? pi : p, k == 3 ? 0 : k);
        printf("nlcl %-17s %8.2f ms  %6.1f GFLOP/s  %s\n", names[k], med * 1e3, gflop / med, impl);
    }
    nlcl_conv2d_plan_free(p);
    nlcl_conv2d_plan_free(pi);
    return 0;
}
