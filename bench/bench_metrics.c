/* Benchmark: SSIM (Wang 2004 default: Y, 11x11 Gaussian sigma 1.5,
 * population statistics, valid) and NIQE (LIVE release: rgb2gray rounded,
 * 96x96 blocks) of one image pair through libnlcl; PSNR for completeness.
 * Usage: bench_metrics REF.png DIST.png [reps]
 * Prints the median wall time of `reps` runs (after one warm-up) in ms and
 * the value, one line per metric:  nlcl <metric> <W>x<H> <ms> <value>.
 * Threads: OpenMP (set OMP_NUM_THREADS). bench/run_metrics_bench.sh runs it
 * next to scikit-image (bench/bench_metrics.py) on the same files. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nlcl/image.h"
#include "nlcl/metrics.h"

#include "bench_util.h"


static int load(const char *path, nlcl_metric_image *m) {
    nlcl_image img;
    nlcl_image_info info;
    if (nlcl_image_load(path, &img, &info) != NLCL_OK ||
        nlcl_metric_image_from_image(&img, info.bit_depth <= 8, m) != NLCL_OK) {
        fprintf(stderr, "bench_metrics: %s\n", nlcl_error_message());
        return -1;
    }
    nlcl_image_free(&img);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_metrics REF.png DIST.png [reps]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 10;
    if (reps < 1) reps = 1;
    nlcl_metric_image ref, dist;
    if (load(argv[1], &ref) || load(argv[2], &dist)) return 1;
    nlcl_psnr_opts po;
    nlcl_ssim_opts so;
    nlcl_niqe_opts no;
    nlcl_psnr_opts_init(&po);
    nlcl_ssim_opts_init(&so);
    nlcl_niqe_opts_init(&no);
    double *t = malloc(sizeof(double) * reps);
    const char *names[3] = {"psnr_y", "ssim_y", "niqe_gray"};
    printf("# %d OpenMP threads, %dx%d, median of %d runs\n", omp_get_max_threads(), ref.width,
           ref.height, reps);
    for (int k = 0; k < 3; k++) {
        double v = 0;
        for (int r = -1; r < reps; r++) {
            double t0 = bench_now();
            nlcl_status s = k == 0   ? nlcl_psnr(&dist, &ref, &po, &v)
                            : k == 1 ? nlcl_ssim(&dist, &ref, &so, &v)
                                     : nlcl_niqe(&dist, &no, &v);
            double dt = bench_now() - t0;
            if (s != NLCL_OK) {
                fprintf(stderr, "bench_metrics: %s\n", nlcl_error_message());
                return 1;
            }
            if (r >= 0) t[r] = dt;
        }
        qsort(t, (size_t)reps, sizeof *t, bench_cmp_double);
        printf("nlcl %s %dx%d %.2f %.10g\n", names[k], ref.width, ref.height, 1e3 * t[reps / 2], v);
    }
    free(t);
    nlcl_metric_image_free(&ref);
    nlcl_metric_image_free(&dist);
    return 0;
}
