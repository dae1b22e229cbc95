/* Which convolution algorithm each layer shape runs with (conv.h,
 * nlcl_conv2d_set_algorithm): direct or Winograd, by a fixed rule or measured.
 *
 * How the choice is made. The default policy, NLCL_CONV_AUTO, is a fixed
 * rule, so that a command gives the same pixels every time it runs:
 *  - Winograd for 3x3, stride-1 convolutions with at least 32 input and 32
 *    output channels wherever oneDNN has a Winograd kernel for the shape on
 *    this CPU (it has them for AVX-512 only; valgrind's virtual CPU has
 *    none); direct for everything else (the generators' first and last
 *    convolutions, 3->C and C->3, and C = 16 layers).
 *  - Why not measure: until 2026-12-07 AUTO timed both candidates on a
 *    probe and took Winograd at <= 85% of direct's time. On the development
 *    host of 2026-12-06 the 32->32 ratios were 0.45-0.55, far from the
 *    margin; on the Zen 4 host of 2026-12-07 they were 0.60-0.89 (idle to
 *    loaded) and the 32->3 layer's sat at the margin, so the choice flipped
 *    between runs of the same command (1 in 12 processes on an idle machine
 *    for 32->32, 6 in 12 for 32->3) and the derained pixels with it (by one
 *    level; found by the Python-package test). Where measured, Winograd was
 *    faster for the 32-channel layers (ratios below 0.9) and not clearly for
 *    16-channel ones (0.90) or 32->3 (padded to 16 outputs; at the margin).
 *  - NLCL_CONV_MEASURED keeps the measurement, for benchmarks and CPUs
 *    where the rule is wrong: the first plan with a new key times both
 *    candidates (direct; Winograd F(4x4,3x3), see conv_internal.h), for
 *    3x3 stride-1 shapes with at least 16 input channels, on a probe of the
 *    same channels and batch 1 at a fixed size (about 4e7 multiply-adds per
 *    call: 64x64 at 32 channels, at most 256x256), on one thread, timed by
 *    that thread's CPU time: one warm-up call each, then seven rounds that
 *    call every candidate once in turn, keeping each candidate's fastest
 *    call. Winograd, whose rounding error is larger, is chosen only when it
 *    takes at most MARGIN (85%) of direct's time. The probe costs 10-100 ms
 *    once per key; where oneDNN has no Winograd kernel for the CPU, direct
 *    is chosen without timing anything. The choice can differ from one
 *    process to the next where the ratio is near the margin.
 *  - The key of a choice is the shape without its batch and spatial size:
 *    (pass, training, cin, cout, kernel, stride, padding, bias, layouts). All
 *    layers, models and image sizes with one key in a process use the same
 *    algorithm, so an image's result does not depend on which other images
 *    or models the process ran first, and a band of an image is computed like
 *    the whole image.
 *  - The choice is cached for the life of the process. nlcl_conv2d_choices_export
 *    and _import carry it to another process (nlcl train records it in its
 *    checkpoints, so a resumed run computes exactly what the first one did).
 * Results stay bit-identical for any OpenMP thread count within a choice:
 * oneDNN's forward and backward-data kernels, direct and Winograd, assign
 * every output to one thread with a fixed summation order (tests/test_conv.c
 * checks this). */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/internal.h"
#include "conv_internal.h"

#define MARGIN 0.85    /* Winograd must take <= 85% of direct's time */
#define PROBE_MACS 4e7 /* multiply-adds per probe call */
#define ROUNDS 7
#define MAX_CHOICES 64

typedef struct choice_key {
    int pass, training, cin, cout, kh, kw, stride, pad, bias, src_layout, dst_layout;
} choice_key;

typedef struct choice {
    choice_key key;
    conv_cand cand;
} choice;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static nlcl_conv_algorithm g_policy = NLCL_CONV_AUTO;
static choice g_choices[MAX_CHOICES];
static int g_nchoices;

void nlcl_conv2d_set_algorithm(nlcl_conv_algorithm a) {
    pthread_mutex_lock(&g_lock);
    g_policy = a;
    pthread_mutex_unlock(&g_lock);
}

nlcl_conv_algorithm nlcl_conv2d_get_algorithm(void) {
    pthread_mutex_lock(&g_lock);
    nlcl_conv_algorithm a = g_policy;
    pthread_mutex_unlock(&g_lock);
    return a;
}

static choice_key make_key(const nlcl_conv2d_shape *s, int training, conv_pass pass) {
    choice_key k = {(int)pass, training != 0, s->cin, s->cout, s->kh, s->kw, s->stride, s->pad,
                    s->bias != 0, (int)s->src_layout, (int)s->dst_layout};
    return k;
}

static int winograd_shape(const nlcl_conv2d_shape *s) {
    return s->kh == 3 && s->kw == 3 && s->stride == 1 && s->cin >= 16;
}

/* index of key in the cache, or -1; the caller holds the lock */
static int find(const choice_key *k) {
    for (int i = 0; i < g_nchoices; i++)
        if (!memcmp(&g_choices[i].key, k, sizeof *k)) return i;
    return -1;
}

static void remember(const choice_key *k, conv_cand c) {
    int i = find(k);
    if (i < 0 && g_nchoices < MAX_CHOICES) i = g_nchoices++;
    if (i >= 0) g_choices[i] = (choice){*k, c};
}

/* CPU time of the calling thread: the probe runs on one thread, so time
 * spent descheduled (a busy machine) is not counted */
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A candidate ready to run on the probe: its primitive and one buffer per
 * argument, allocated in the formats the primitive asks for. */
typedef struct probe {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[5];
    void *bufs[5];
    int nargs;
} probe;

static void probe_free(probe *p) {
    if (p->prim) dnnl_primitive_destroy(p->prim);
    for (int i = 0; i < p->nargs; i++) {
        if (p->args[i].memory) dnnl_memory_destroy(p->args[i].memory);
        nlcl_free(p->bufs[i]);
    }
    memset(p, 0, sizeof *p);
}

static int probe_init(probe *p, const nlcl_conv2d_shape *s, int training, conv_pass pass,
                      conv_cand cand, int free_layout, dnnl_engine_t eng) {
    memset(p, 0, sizeof *p);
    int side = 256;
    while (side > 16 && (double)side * side * 9.0 * s->cin * s->cout > PROBE_MACS) side -= 16;
    nlcl_conv2d_shape ps = *s;
    ps.n = 1;
    ps.h = ps.w = side;
    dnnl_primitive_desc_t pd = NULL;
    conv_geom g = {side, side, s->pad, s->pad, 0, 0};
    if (nlcl_conv_pd_create(&pd, &ps, &g, training, pass, cand, free_layout) != NLCL_OK)
        return 0;
    static const int fwd_args[4][2] = {{DNNL_ARG_SRC, dnnl_query_src_md},
                                       {DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                                       {DNNL_ARG_DST, dnnl_query_dst_md},
                                       {DNNL_ARG_BIAS, dnnl_query_weights_md}};
    static const int bd_args[3][2] = {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md},
                                      {DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                                      {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md}};
    static const int bw_args[4][2] = {{DNNL_ARG_SRC, dnnl_query_src_md},
                                      {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md},
                                      {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md},
                                      {DNNL_ARG_DIFF_BIAS, dnnl_query_diff_weights_md}};
    const int(*list)[2] = pass == CONV_FWD ? fwd_args : pass == CONV_BWD_DATA ? bd_args : bw_args;
    int n = pass == CONV_BWD_DATA ? 3 : (s->bias ? 4 : 3);
    int ok = dnnl_primitive_create(&p->prim, pd) == dnnl_success;
    for (int i = 0; ok && i < n; i++) {
        /* the bias is the second weights-like argument (index 1) */
        const dnnl_memory_desc_t *md =
            dnnl_primitive_desc_query_md(pd, (dnnl_query_t)list[i][1], i == 3 ? 1 : 0);
        size_t sz = md ? dnnl_memory_desc_get_size(md) : 0;
        p->bufs[i] = md ? nlcl_alloc(sz, "conv2d probe") : NULL;
        p->nargs = i + 1;
        ok = p->bufs[i] && dnnl_memory_create(&p->args[i].memory, md, eng, p->bufs[i]) == dnnl_success;
        if (ok) {
            memset(p->bufs[i], 0x3c, sz); /* 0.0115 as float32 and as bfloat16 */
            p->args[i].arg = list[i][0];
        }
    }
    /* the scratchpad, which the plans own too (conv2d.c) */
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t ssz = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (ok && ssz) {
        p->bufs[n] = nlcl_alloc(ssz, "conv2d probe");
        p->nargs = n + 1;
        ok = p->bufs[n] && dnnl_memory_create(&p->args[n].memory, smd, eng, p->bufs[n]) == dnnl_success;
        p->args[n].arg = DNNL_ARG_SCRATCHPAD;
    }
    dnnl_primitive_desc_destroy(pd);
    if (!ok) probe_free(p);
    return ok;
}

/* Time every candidate; returns the choice described at the top. */
static conv_cand measure(const nlcl_conv2d_shape *s, int training, conv_pass pass, int free_layout) {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    if (nlcl_dnnl_get(&eng, &strm) != NLCL_OK) return CAND_DIRECT;
    int nthr = omp_get_max_threads();
    omp_set_num_threads(1);
    probe pr[CAND_COUNT];
    memset(pr, 0, sizeof pr);
    double best[CAND_COUNT] = {1e30, 1e30};
    int have[CAND_COUNT] = {0};
    /* Winograd first: where oneDNN has none for this CPU (no AVX-512) there
       is nothing to compare, and direct is chosen without being timed */
    have[CAND_WINO] = probe_init(&pr[CAND_WINO], s, training, pass, CAND_WINO, free_layout, eng);
    have[CAND_DIRECT] = have[CAND_WINO] && probe_init(&pr[CAND_DIRECT], s, training, pass, CAND_DIRECT,
                                                      free_layout, eng);
    for (int r = -1; have[CAND_DIRECT] && r < ROUNDS; r++)
        for (int c = 0; c < CAND_COUNT; c++) {
            if (!have[c]) continue;
            double t0 = now_s();
            if (dnnl_primitive_execute(pr[c].prim, strm, pr[c].nargs, pr[c].args) != dnnl_success) {
                have[c] = 0; /* a candidate that fails to run is never chosen */
                continue;
            }
            double t = now_s() - t0;
            if (r >= 0 && t < best[c]) best[c] = t;
        }
    for (int c = 0; c < CAND_COUNT; c++) probe_free(&pr[c]);
    omp_set_num_threads(nthr);
    if (!have[CAND_DIRECT] || !have[CAND_WINO]) return CAND_DIRECT;
    return best[CAND_WINO] <= MARGIN * best[CAND_DIRECT] ? CAND_WINO : CAND_DIRECT;
}

/* AUTO's rule (the top): Winograd for >= 32 input and output channels
 * where oneDNN has a Winograd kernel for the shape on this CPU. */
static conv_cand static_choice(const nlcl_conv2d_shape *s, int training, conv_pass pass, int free_layout) {
    if (s->cin < 32 || s->cout < 32) return CAND_DIRECT;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    if (nlcl_dnnl_get(&eng, &strm) != NLCL_OK) return CAND_DIRECT;
    probe pr;
    memset(&pr, 0, sizeof pr);
    if (!probe_init(&pr, s, training, pass, CAND_WINO, free_layout, eng)) return CAND_DIRECT;
    probe_free(&pr);
    return CAND_WINO;
}

conv_cand nlcl_conv_choose(const nlcl_conv2d_shape *s, int training, conv_pass pass, int free_layout) {
    if (!winograd_shape(s)) return CAND_DIRECT;
    pthread_mutex_lock(&g_lock);
    conv_cand c = CAND_DIRECT;
    if (g_policy == NLCL_CONV_WINOGRAD) {
        c = CAND_WINO;
    } else if (g_policy == NLCL_CONV_AUTO || g_policy == NLCL_CONV_MEASURED) {
        choice_key k = make_key(s, training, pass);
        int i = find(&k);
        if (i >= 0) {
            c = g_choices[i].cand; /* chosen before, or imported (a checkpoint's) */
        } else {
            c = g_policy == NLCL_CONV_MEASURED ? measure(s, training, pass, free_layout)
                                               : static_choice(s, training, pass, free_layout);
            remember(&k, c);
        }
    }
    pthread_mutex_unlock(&g_lock);
    return c;
}

/* ------------------------------------------------------ export / import */

static const char *const cand_names[CAND_COUNT] = {"direct", "wino"};

size_t nlcl_conv2d_choices_export(char *buf, size_t size) {
    pthread_mutex_lock(&g_lock);
    size_t len = 0;
    for (int i = 0; i < g_nchoices; i++) {
        const choice_key *k = &g_choices[i].key;
        char e[160];
        int m = snprintf(e, sizeof e, "%s%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d=%s", i ? ";" : "",
                         k->pass, k->training, k->cin, k->cout, k->kh, k->kw, k->stride, k->pad,
                         k->bias, k->src_layout, k->dst_layout, cand_names[g_choices[i].cand]);
        if (buf && len + (size_t)m < size) memcpy(buf + len, e, (size_t)m + 1);
        len += (size_t)m;
    }
    if (buf && size && g_nchoices == 0) buf[0] = '\0';
    pthread_mutex_unlock(&g_lock);
    return len;
}

nlcl_status nlcl_conv2d_choices_import(const char *text) {
    choice parsed[MAX_CHOICES];
    int n = 0;
    const char *p = text;
    while (p && *p) {
        choice_key k;
        char name[16];
        int used = 0;
        if (n == MAX_CHOICES ||
            sscanf(p, "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d=%15[a-z0-9]%n", &k.pass, &k.training, &k.cin,
                   &k.cout, &k.kh, &k.kw, &k.stride, &k.pad, &k.bias, &k.src_layout, &k.dst_layout,
                   name, &used) != 12)
            return nlcl_error_set(NLCL_ERR_FORMAT, "malformed algorithm choices near '%.40s'", p);
        int c = -1;
        for (int j = 0; j < CAND_COUNT; j++)
            if (!strcmp(name, cand_names[j])) c = j;
        if (c < 0 || k.pass < 0 || k.pass > 2)
            return nlcl_error_set(NLCL_ERR_FORMAT, "unknown algorithm choice near '%.40s'", p);
        parsed[n++] = (choice){k, (conv_cand)c};
        p += used;
        if (*p == ';') p++;
        else if (*p) return nlcl_error_set(NLCL_ERR_FORMAT, "malformed algorithm choices near '%.40s'", p);
    }
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < n; i++) remember(&parsed[i].key, parsed[i].cand);
    pthread_mutex_unlock(&g_lock);
    return NLCL_OK;
}

const char *nlcl_conv_cand_name(int cand) {
    return cand >= 0 && cand < CAND_COUNT ? cand_names[cand] : "?";
}
