/* Shared helpers of the benchmark programs: a monotonic clock, the median of
 * repeated timings, the process's peak RSS. Header-only. */
#ifndef NLCL_BENCH_UTIL_H
#define NLCL_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nlcl/conv.h"

static inline double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t[0..n-1] and returns its median (upper median for even n). */
static inline double bench_median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return t[n / 2];
}

static inline double bench_peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* NLCL_BENCH_CONV=direct|winograd|auto (default auto): the convolution
 * algorithm policy of conv.h, to compare the algorithms in one run. */
static inline void bench_conv_policy(void) {
    const char *e = getenv("NLCL_BENCH_CONV");
    if (!e || !*e || !strcmp(e, "auto")) return;
    if (!strcmp(e, "direct")) nlcl_conv2d_set_algorithm(NLCL_CONV_DIRECT);
    else if (!strcmp(e, "winograd")) nlcl_conv2d_set_algorithm(NLCL_CONV_WINOGRAD);
    else fprintf(stderr, "NLCL_BENCH_CONV=%s: expected direct, winograd or auto\n", e);
}

#endif
