/* Where two OpenMP threads wait for each other: an LD_PRELOAD library that
 * wraps libgomp's GOMP_parallel, GOMP_barrier and GOMP_loop_end and, per call
 * site, adds up the time each thread waits at the end of a parallel region
 * (done with its share, the other not), inside a region at a barrier, and
 * the time between regions (the other threads idle while the first runs
 * serial code). Two threads (OMP_NUM_THREADS=2); nested regions are not
 * timed. Written for docs/BENCHMARKS.md ("Where a training iteration's two
 * threads wait"); not part of the build:
 *   gcc -O2 -fPIC -shared -fopenmp bench/omp_waits.c -o omp_waits.so -ldl
 *   OMP_WAITS_SKIP=2.5 LD_PRELOAD=./omp_waits.so build/bench_train 128 6
 * OMP_WAITS_SKIP: seconds after the first region before timing starts (the
 * set-up and warm-up). A site is the first return address outside libgomp
 * and oneDNN (marked "dnnl<" when the region is oneDNN's), printed as
 * file@offset: `addr2line -f -e FILE OFFSET` names the function. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSITES 512

typedef struct site {
    void *key;
    long n;
    double wall, end_wait[2], bar_wait[2];
    char name[128];
} site;

static site g_sites[NSITES];
static double g_start, g_first, g_last_end, g_between;
static int g_depth, g_on;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* the site of return address `ra` (barriers), or of the caller found by
 * unwinding (regions: past libgomp and oneDNN) */
static site *site_at(void *ra, int unwind) {
    char name[128] = "?";
    int dnnl = 0;
    if (unwind) {
        void *bt[24];
        int n = backtrace(bt, 24);
        ra = NULL;
        for (int i = 1; i < n && !ra; i++) {
            Dl_info di;
            if (!dladdr(bt[i], &di) || !di.dli_fname || strstr(di.dli_fname, "omp_waits") ||
                strstr(di.dli_fname, "libgomp"))
                continue;
            if (strstr(di.dli_fname, "libdnnl")) dnnl = 1;
            else ra = bt[i];
        }
    }
    Dl_info di;
    if (ra && dladdr(ra, &di) && di.dli_fname) {
        const char *f = strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname;
        snprintf(name, sizeof name, "%s%s@0x%lx", dnnl ? "dnnl<" : "", f,
                 (unsigned long)((char *)ra - (char *)di.dli_fbase) - 1);
    }
    void *key = (void *)((unsigned long)ra ^ (unsigned long)dnnl);
    unsigned h = (unsigned)(((unsigned long)key >> 2) % NSITES);
    for (int k = 0; k < NSITES; k++) {
        site *s = &g_sites[(h + k) % NSITES];
        if (s->key == key) return s;
        if (!s->key && __sync_bool_compare_and_swap(&s->key, NULL, key)) {
            snprintf(s->name, sizeof s->name, "%s", name);
            return s;
        }
    }
    return &g_sites[0];
}

typedef struct region {
    void (*fn)(void *);
    void *data;
    double out[2]; /* when each thread finished its share */
} region;

static void timed(void *arg) {
    region *r = arg;
    r->fn(r->data);
    int id = omp_get_thread_num();
    if (id < 2) r->out[id] = now();
}

void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthr, unsigned flags) {
    static void (*real)(void (*)(void *), void *, unsigned, unsigned);
    if (!real) real = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(RTLD_NEXT, "GOMP_parallel");
    double t0 = now();
    if (!g_start) g_start = t0;
    const char *skip = getenv("OMP_WAITS_SKIP");
    g_on = t0 - g_start >= (skip ? atof(skip) : 0);
    if (g_depth || !g_on || nthr == 1 || omp_get_max_threads() != 2) {
        g_depth++;
        real(fn, data, nthr, flags);
        g_depth--;
        return;
    }
    region r = {fn, data, {0, 0}};
    g_depth++;
    real(timed, &r, nthr, flags);
    g_depth--;
    double t1 = now();
    site *s = site_at(NULL, 1);
    if (!g_first) g_first = t0;
    else g_between += t0 - g_last_end;
    g_last_end = t1;
    s->n++;
    s->wall += t1 - t0;
    for (int i = 0; i < 2; i++)
        if (r.out[i] > 0) s->end_wait[i] += t1 - r.out[i];
}

static void barrier_timed(void (**real)(void), const char *sym, void *ra) {
    if (!*real) *real = (void (*)(void))dlsym(RTLD_NEXT, sym);
    double t0 = now();
    (*real)();
    int id = omp_get_thread_num();
    if (g_on && g_first && id < 2) site_at(ra, 0)->bar_wait[id] += now() - t0;
}

static void (*g_barrier)(void), (*g_loop_end)(void);
void GOMP_barrier(void) { barrier_timed(&g_barrier, "GOMP_barrier", __builtin_return_address(0)); }
void GOMP_loop_end(void) { barrier_timed(&g_loop_end, "GOMP_loop_end", __builtin_return_address(0)); }

__attribute__((destructor)) static void report(void) {
    if (!g_first) return;
    double span = g_last_end - g_first, in = 0, ew[2] = {0, 0}, bw[2] = {0, 0};
    for (int i = 0; i < NSITES; i++)
        for (int k = 0; k < 2; k++) {
            ew[k] += g_sites[i].end_wait[k];
            bw[k] += g_sites[i].bar_wait[k];
            in += k ? 0 : g_sites[i].wall;
        }
    fprintf(stderr, "omp_waits: %.3f s timed, %.3f s in regions, %.3f s between them\n", span, in, g_between);
    fprintf(stderr, "omp_waits: at region ends thread 0 waited %.3f s, thread 1 %.3f s; "
            "at barriers inside %.3f s and %.3f s\n", ew[0], ew[1], bw[0], bw[1]);
    for (int i = 0; i < NSITES; i++) {
        const site *s = &g_sites[i];
        double w = s->end_wait[0] + s->end_wait[1] + s->bar_wait[0] + s->bar_wait[1];
        if (s->key && w > 0.001 * span)
            fprintf(stderr, "omp_waits: %-40s regions %6ld wall %.4f  end waits %.4f %.4f  barrier waits %.4f %.4f\n",
                    s->name, s->n, s->wall, s->end_wait[0], s->end_wait[1], s->bar_wait[0], s->bar_wait[1]);
    }
}
