/* Benchmark: the dense products of the heads and PatchNCE (nlcl_linear_forward
 * and the dx and dW halves of nlcl_linear_backward) at m x nin -> nout, the
 * reference's head and sample size by default (256 x 256 -> 256).
 * Usage: bench_linear [m] [nin] [nout] [reps]. Prints ms (median of reps) and
 * GFLOP/s (2 FLOP per multiply-add) of each. */
#include <stdio.h>
#include <stdlib.h>

#include "nlcl/ops.h"

#include "bench_util.h"

int main(int argc, char **argv) {
    int m = argc > 1 ? atoi(argv[1]) : 256, nin = argc > 2 ? atoi(argv[2]) : 256;
    int nout = argc > 3 ? atoi(argv[3]) : 256, reps = argc > 4 ? atoi(argv[4]) : 200;
    if (m < 1 || nin < 1 || nout < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_linear [m] [nin] [nout] [reps]\n");
        return 2;
    }
    size_t nx = (size_t)m * nin, nw = (size_t)nout * nin, ny = (size_t)m * nout;
    float *x = malloc(nx * 4), *W = malloc(nw * 4), *b = malloc((size_t)nout * 4);
    float *y = malloc(ny * 4), *dy = malloc(ny * 4), *dx = calloc(nx, 4), *dW = calloc(nw, 4);
    double *t = malloc(sizeof(double) * reps);
    if (!x || !W || !b || !y || !dy || !dx || !dW || !t) return 1;
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nw; i++) W[i] = (float)((i * 31) % 100) / 1000.0f - 0.05f;
    for (size_t i = 0; i < ny; i++) dy[i] = (float)((i * 131) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < nout; i++) b[i] = 0.01f * (float)i;
    double gflop = 2.0 * m * nin * nout / 1e9;
    const char *names[3] = {"forward", "backward dx", "backward dW"};
    printf("linear %d x %d -> %d, %.4f GFLOP per product\n", m, nin, nout, gflop);
    for (int k = 0; k < 3; k++) {
        for (int r = -5; r < reps; r++) {
            double t0 = bench_now();
            nlcl_status st = k == 0   ? nlcl_linear_forward(x, W, b, y, m, nin, nout)
                             : k == 1 ? nlcl_linear_backward(dy, x, W, dx, NULL, NULL, m, nin, nout)
                                      : nlcl_linear_backward(dy, x, W, NULL, dW, NULL, m, nin, nout);
            if (st != NLCL_OK) {
                fprintf(stderr, "%s\n", nlcl_error_message());
                return 1;
            }
            if (r >= 0) t[r] = bench_now() - t0;
        }
        qsort(t, reps, sizeof(double), bench_cmp_double);
        printf("nlcl %-12s %8.3f ms  %6.1f GFLOP/s\n", names[k], t[reps / 2] * 1e3, gflop / t[reps / 2]);
    }
    return 0;
}
