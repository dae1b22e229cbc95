/* The cost of first touching fresh memory, which every `nlcl derain`
 * process pays for its activations (docs/BENCHMARKS.md): mmap N MiB
 * (default 192, the generator's three activations at 1024x512), then time
 * the first memset (page faults, the kernel zeroing pages) and a second one
 * (memory speed alone), with 4 KiB pages, with MADV_HUGEPAGE (as
 * src/core/alloc.c asks), and with MAP_POPULATE. Linux only.
 * Usage: bench_faults [MiB] */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    const size_t huge = (size_t)2 << 20, n = (size_t)(argc > 1 ? atoi(argv[1]) : 192) << 20;
    const char *names[3] = {"4 KiB pages", "MADV_HUGEPAGE", "MAP_POPULATE"};
    for (int mode = 0; mode < 3; mode++) {
        double t0 = now_s();
        char *p = mmap(NULL, n + huge, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (mode == 2 ? MAP_POPULATE : 0), -1, 0);
        if (p == MAP_FAILED) return perror("mmap"), 1;
        char *a = (char *)(((size_t)p + huge - 1) & ~(huge - 1));
        if (mode == 1) madvise(a, n, MADV_HUGEPAGE);
        double t1 = now_s();
        memset(a, 0, n);
        double t2 = now_s();
        memset(a, 1, n);
        double t3 = now_s();
        printf("%zu MiB, %s: mmap %.1f ms, first touch %.1f ms, second pass %.1f ms\n", n >> 20,
               names[mode], 1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t3 - t2));
        munmap(p, n + huge);
    }
    return 0;
}
