/* Measures this CPU's float32 FMA peak (GFLOP/s) with 1 and all OpenMP
 * threads: independent chains of vector FMAs, widest vector the compiler
 * targets (-march=native). The figure that "% of peak" refers to in
 * docs/BENCHMARKS.md. Usage: bench_peak */
#include <omp.h>
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define VLEN 16
#elif defined(__AVX__)
#define VLEN 8
#else
#define VLEN 4
#endif
typedef float vf __attribute__((vector_size(VLEN * 4)));
#define NACC 12

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

__attribute__((optimize("fp-contract=fast"))) static float run(long iters) {
    vf acc[NACC], a, b;
    for (int i = 0; i < VLEN; i++) {
        a[i] = 0.999999f;
        b[i] = 1e-7f;
    }
    for (int k = 0; k < NACC; k++) acc[k] = a * (float)k;
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int k = 0; k < NACC; k++) acc[k] = acc[k] * a + b;
    }
    float s = 0;
    for (int k = 0; k < NACC; k++)
        for (int i = 0; i < VLEN; i++) s += acc[k][i];
    return s;
}

static double measure(int threads) {
    long iters = 100000000L;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        volatile float sink = 0;
        double t0 = now();
#pragma omp parallel num_threads(threads)
        {
            float s = run(iters);
#pragma omp atomic
            sink += s;
        }
        double t = now() - t0;
        double gflops = 2.0 * VLEN * NACC * (double)iters * threads / t / 1e9;
        if (gflops > best) best = gflops;
        (void)sink;
    }
    return best;
}

int main(void) {
    int n = omp_get_max_threads();
    printf("FMA peak, %d-wide float vectors: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s\n",
           VLEN, measure(1), n, measure(n));
    return 0;
}
