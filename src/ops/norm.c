/* Instance norm forward/backward (include/nlcl/ops.h), optionally fused with
 * ReLU and a residual add.
 *
 * Work decomposition. A "plane" is what one set of statistics covers:
 *   NCHW:    plane (n, c), h*w contiguous floats, one lane (L = 1);
 *   BLOCKED: plane (n, c/B), h*w pixels of L = B contiguous lanes, one set of
 *            statistics per lane.
 * Each plane is cut into at most MAX_CHUNKS chunks of whole rows (a multiple
 * of CHUNK_ROW_ALIGN rows, and MIN_CHUNK_FLOATS floats or more:
 * nlcl_in_chunk_rows). The cut depends only on the shape and the layout,
 * never on the number of threads. Every chunk's partial sums are computed in
 * double by one thread in a fixed order and stored; the partials of a plane
 * are then added in chunk order. Hence the statistics, and so the outputs,
 * are bit-identical for any OpenMP thread count. Chunks of whole rows let
 * the generator's band pipeline (src/nn/gen_bands.c) compute the same
 * partials from bands of rows, one chunk at a time, through the kernels of
 * norm_internal.h: its results are bit-identical to the whole-image ones.
 *
 * The inner loops run over "virtual lanes": a chunk is read as rows of RL = 16
 * floats (reductions) or VL = 32 floats (elementwise passes), and element e
 * uses the statistics of real lane e % L, which is what virtual lane e % RL
 * holds when L divides RL (L = 1, 8, 16). The reductions keep 16 independent
 * double accumulators per sum, so the compiler vectorises them without
 * reassociating anything; they are folded into the L real lanes in a fixed
 * order at the end of the chunk. Block sizes that do not divide 16 take a
 * plain per-pixel path.
 *
 * Planes are processed in groups whose partials fit a fixed stack buffer; a
 * group's statistics pass is followed at once by its output pass (while the
 * data is still in cache). Forward is one statistics pass (read x) plus one
 * output pass (read x and res, write y); backward is one reduction pass (read
 * x, dy) plus one update pass (read x, dy, dx; write dx). The threads meet
 * after each of the two passes only: between them every thread combines the
 * group's partials itself (a few hundred additions, the same on every
 * thread) rather than waiting for one thread to do it.
 *
 * Variance: sums are taken of d = x - s, with the shift s = the plane's first
 * pixel (per lane), so that var = E[d^2] - E[d]^2 does not cancel when the
 * mean is large compared with the spread.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "../core/internal.h"
#include "nlcl/ops.h"
#include "conv_bf16.h"
#include "norm_internal.h"
#include "ops_check.h"

#define VL 32                  /* virtual lanes */
#define MAX_LANES 64           /* largest supported block */
#define MAX_CHUNKS 64          /* chunks per plane at most */
#define MIN_CHUNK_FLOATS 16384 /* 64 KiB: target chunk size */
#define CHUNK_ROW_ALIGN 4      /* chunk rows: a multiple of this (Winograd tiles) */
#define PARTIAL_CAP 8192       /* doubles of partial sums per group */
#define PAR_MIN 32768          /* smaller tensors are not worth waking threads for */

typedef struct geom {
    size_t planes;    /* n * G */
    size_t pix;       /* h * w pixels per plane */
    int L;            /* lanes per pixel */
    int G;            /* planes per image: c (NCHW) or ceil(c/B) */
    int c;            /* channels */
    size_t chunk_pix; /* pixels per chunk (last may be shorter) */
    size_t nch;       /* chunks per plane */
    size_t group;     /* planes per group */
} geom;

int nlcl_in_chunk_rows(int h, int w, nlcl_layout layout) {
    NLCL_ASSERT(h > 0 && w > 0);
    /* NHWC: the blocked layout's rows, so that its statistics are the same */
    size_t L = layout == NLCL_NCHW ? 1 : (size_t)nlcl_layout_block();
    size_t row = (size_t)w * L;
    size_t rows = (MIN_CHUNK_FLOATS + row - 1) / row;
    size_t by_count = ((size_t)h + MAX_CHUNKS - 1) / MAX_CHUNKS;
    if (rows < by_count) rows = by_count;
    rows = (rows + CHUNK_ROW_ALIGN - 1) / CHUNK_ROW_ALIGN * CHUNK_ROW_ALIGN;
    return rows < (size_t)h ? (int)rows : h;
}

static geom make_geom(int n, int c, int h, int w, nlcl_layout layout) {
    NLCL_ASSERT(n > 0 && c > 0 && h > 0 && w > 0);
    geom g;
    g.L = nlcl_layout_lanes(layout, c);
    NLCL_ASSERT(g.L >= 1 && g.L <= MAX_LANES);
    g.G = (c + g.L - 1) / g.L;
    g.c = c;
    g.planes = (size_t)n * (size_t)g.G;
    g.pix = (size_t)h * (size_t)w;
    size_t rows = (size_t)nlcl_in_chunk_rows(h, w, layout);
    g.chunk_pix = rows * (size_t)w;
    g.nch = ((size_t)h + rows - 1) / rows;
    g.group = PARTIAL_CAP / (g.nch * 2 * (size_t)g.L);
    NLCL_ASSERT(g.group >= 1);
    return g;
}

/* ------------------------------------------------------------- kernels */

/* The reductions keep their partial sums in registers through GCC/Clang
 * vector extensions (plain arrays indexed in an "omp simd" loop were kept in
 * memory by GCC 12, a store-to-load chain per row). RL = 16 accumulator
 * lanes: two vectors of 8 doubles each for every sum, which is 2 AVX-512 or
 * 4 AVX2 registers. Lane-wise IEEE operations, no reassociation. */
#define RL 16
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

/* unaligned, alias-safe vector access to float data; macros rather than
 * functions so that no vector value crosses a call (ABI warnings without AVX) */
typedef float v8f_u __attribute__((vector_size(32), aligned(4), may_alias));
#define LD8(p) (*(const v8f_u *)(p))
#define ST8(p, v) (*(v8f_u *)(p) = (v))
#define CVT8(v) __builtin_convertvector((v), v8d)

/* fold RL accumulator lanes (stored in a[RL]) into the L real lanes */
void nlcl_in_fold_lanes(const double *a, const double *q, int L, double *s1, double *s2) {
    for (int l = 0; l < L; l++) {
        double t1 = 0, t2 = 0;
        for (int k = l; k < RL; k += L) {
            t1 += a[k];
            t2 += q[k];
        }
        s1[l] = t1;
        s2[l] = t2;
    }
}

/* chunk_stats for L = 2 * RL lanes (NHWC of 32 channels): one accumulator
 * per lane, so each lane's sums are added in the same order as in the
 * blocked layout's RL-lane loop (bit-identical statistics). */
NLCL_VECTOR_CLONES
static void chunk_stats_2rl(const float *x, size_t nfl, const float *shift, double *s1, double *s2) {
    if (nlcl_in_avx512()) {
        double sh[2 * RL];
        for (int j = 0; j < 2 * RL; j++) sh[j] = (double)shift[j];
        nlcl_in_stats_avx512(x, 0, nfl / (2 * RL), 4, sh, s1, s2);
        return;
    }
    const v8d sh0 = CVT8(LD8(shift)), sh1 = CVT8(LD8(shift + 8)), sh2 = CVT8(LD8(shift + 16)),
              sh3 = CVT8(LD8(shift + 24));
    v8d a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
    for (size_t v = 0; v < nfl / (2 * RL); v++) {
        const float *p = x + v * 2 * RL;
        v8d d0 = CVT8(LD8(p)) - sh0, d1 = CVT8(LD8(p + 8)) - sh1;
        v8d d2 = CVT8(LD8(p + 16)) - sh2, d3 = CVT8(LD8(p + 24)) - sh3;
        a0 += d0;
        a1 += d1;
        a2 += d2;
        a3 += d3;
        q0 += d0 * d0;
        q1 += d1 * d1;
        q2 += d2 * d2;
        q3 += d3 * d3;
    }
    memcpy(s1, &a0, sizeof a0);
    memcpy(s1 + 8, &a1, sizeof a1);
    memcpy(s1 + 16, &a2, sizeof a2);
    memcpy(s1 + 24, &a3, sizeof a3);
    memcpy(s2, &q0, sizeof q0);
    memcpy(s2 + 8, &q1, sizeof q1);
    memcpy(s2 + 16, &q2, sizeof q2);
    memcpy(s2 + 24, &q3, sizeof q3);
}

/* The RL accumulators of nv rows of RL floats: a[j], q[j] = sums of d and
 * d^2, d = x - shf[j], per virtual lane j (norm_avx512.c where the CPU has
 * AVX-512: the same sums, 3x fewer instructions). */
NLCL_VECTOR_CLONES
static void stats_rows(const float *x, size_t nv, const float *shf, double *a, double *q) {
    if (nlcl_in_avx512()) {
        double sh[RL];
        for (int j = 0; j < RL; j++) sh[j] = (double)shf[j];
        nlcl_in_stats_avx512(x, 0, nv, 2, sh, a, q);
        return;
    }
    const v8d sh0 = CVT8(LD8(shf)), sh1 = CVT8(LD8(shf + 8));
    v8d a0 = {0}, a1 = {0}, q0 = {0}, q1 = {0};
    for (size_t v = 0; v < nv; v++) {
        const float *p = x + v * RL;
        v8d d0 = CVT8(LD8(p)) - sh0, d1 = CVT8(LD8(p + 8)) - sh1;
        a0 += d0;
        a1 += d1;
        q0 += d0 * d0;
        q1 += d1 * d1;
    }
    memcpy(a, &a0, sizeof a0);
    memcpy(a + 8, &a1, sizeof a1);
    memcpy(q, &q0, sizeof q0);
    memcpy(q + 8, &q1, sizeof q1);
}

/* Partial sums of d = x - shift and d^2 per lane over nfl floats (a whole
 * number of pixels), written to s1[L], s2[L]. */
/* (static: the load-time choice of clone stays inside the library) */
NLCL_VECTOR_CLONES
static void chunk_stats(const float *x, size_t nfl, int L, const float *shift, double *s1,
                        double *s2) {
    if (L == 2 * RL) {
        chunk_stats_2rl(x, nfl, shift, s1, s2);
    } else if (RL % L == 0) {
        float shf[RL];
        for (int j = 0; j < RL; j++) shf[j] = shift[j % L];
        size_t nv = nfl / RL;
        double a[RL], q[RL];
        stats_rows(x, nv, shf, a, q);
        const float *p = x + nv * RL;
        for (size_t j = 0; j < nfl - nv * RL; j++) {
            double d = (double)p[j] - (double)shf[j];
            a[j] += d;
            q[j] += d * d;
        }
        nlcl_in_fold_lanes(a, q, L, s1, s2);
    } else {
        for (int l = 0; l < L; l++) s1[l] = s2[l] = 0;
        for (size_t e = 0; e < nfl; e += (size_t)L)
            for (int l = 0; l < L; l++) {
                double d = (double)x[e + l] - (double)shift[l];
                s1[l] += d;
                s2[l] += d * d;
            }
    }
}

/* f of an activation code (norm_internal.h): identity, ReLU or LeakyReLU
 * (as nlcl_relu_forward and nlcl_leaky_relu_forward compute them). */
static inline float act_f(float t, int act) {
    if (act == NLCL_IN_RELU) return t < 0.0f ? 0.0f : t;
    if (act == NLCL_IN_LEAKY) return t < 0.0f ? t * NLCL_IN_LEAKY_SLOPE : t;
    return t;
}

/* The vectorised rows of apply: nv rows of VL floats, with the per-lane
 * statistics spread over VL virtual lanes (mv, rv). Inlined with constant
 * act and with_res, so that each caller gets a branch-free inner loop. */
static inline __attribute__((always_inline)) void apply_rows(const float *x, const float *res,
                                                             float *y, size_t nv, const float *mv,
                                                             const float *rv, int act,
                                                             int with_res) {
    for (size_t v = 0; v < nv; v++) {
        const float *xp = x + v * VL, *rp = with_res ? res + v * VL : NULL;
        float *yp = y + v * VL;
#pragma omp simd
        for (int j = 0; j < VL; j++) {
            float t = (xp[j] - mv[j]) * rv[j];
            if (act == NLCL_IN_RELU) t = t < 0.0f ? 0.0f : t;
            if (act == NLCL_IN_LEAKY) t = t < 0.0f ? t * NLCL_IN_LEAKY_SLOPE : t;
            yp[j] = with_res ? rp[j] + t : t;
        }
    }
}

/* y = (res ? res : 0) + f((x - m) * r) per lane, f given by relu (an
 * activation code, norm_internal.h). */
NLCL_VECTOR_CLONES
static void apply(const float *x, const float *res, float *y, size_t nfl, int L, const float *m,
                  const float *r, int relu) {
    size_t nv = 0;
    float mv[VL], rv[VL];
    if (VL % L == 0) {
        for (int j = 0; j < VL; j++) {
            mv[j] = m[j % L];
            rv[j] = r[j % L];
        }
        nv = nfl / VL;
        if (relu == NLCL_IN_RELU && res) apply_rows(x, res, y, nv, mv, rv, NLCL_IN_RELU, 1);
        else if (relu == NLCL_IN_RELU) apply_rows(x, res, y, nv, mv, rv, NLCL_IN_RELU, 0);
        else if (relu == NLCL_IN_LEAKY && !res) apply_rows(x, res, y, nv, mv, rv, NLCL_IN_LEAKY, 0);
        else if (!relu && res) apply_rows(x, res, y, nv, mv, rv, 0, 1);
        else if (!relu) apply_rows(x, res, y, nv, mv, rv, 0, 0);
        else nv = 0; /* LeakyReLU with a residual: no caller; the plain loop below */
    }
    for (size_t e = nv * VL; e < nfl; e++) { /* the rest, and block sizes that do not divide VL */
        int l = (int)(e % (size_t)L);
        float t = act_f((x[e] - m[l]) * r[l], relu);
        y[e] = res ? res[e] + t : t;
    }
}

void nlcl_in_chunk_stats(const float *x, size_t nfl, int L, const float *shift, double *s1,
                         double *s2) {
    chunk_stats(x, nfl, L, shift, s1, s2);
}

void nlcl_in_apply(const float *x, const float *res, float *y, size_t nfl, int L, const float *m,
                   const float *r, int relu) {
    apply(x, res, y, nfl, L, m, r, relu);
}

/* dL/d(pre-activation) from g = dL/d(activation) and its input xh: ReLU
 * passes g where xh > 0 and +0 elsewhere (PyTorch's threshold_backward: a
 * masked NaN/inf gradient gives 0); LeakyReLU passes g where xh > 0 and
 * g * slope elsewhere (as nlcl_leaky_relu_backward, which tests its output,
 * > 0 exactly where xh is). */
static inline float act_grad(float g, float xh, int act) {
    if (act == NLCL_IN_RELU) return xh > 0.0f ? g : 0.0f;
    if (act == NLCL_IN_LEAKY) return xh > 0.0f ? g : g * NLCL_IN_LEAKY_SLOPE;
    return g;
}

/* act_grad on 8 lanes, with bit masks (no branches, no masked loads) */
#define act_grad8(g, h, act)                                                                  \
    ((act) == NLCL_IN_RELU ? (v8f)((v8i)(g) & ((h) > zero))                                   \
                           : (v8f)(((v8i)(g) & ((h) > zero)) |                                \
                                   ((v8i)((g) * NLCL_IN_LEAKY_SLOPE) & ~((h) > zero))))

/* The RL accumulators of bwd_chunk over nv rows of RL floats (norm_avx512.c
 * where the CPU has AVX-512: the same sums). */
NLCL_VECTOR_CLONES
static void bwd_rows(const float *x, const float *dy, size_t nv, const float *mv, const float *rv,
                     int relu, double *a, double *q) {
    if (nlcl_in_avx512()) {
        nlcl_in_bwd_sums_avx512(x, dy, nv, mv, rv, relu, a, q);
        return;
    }
    const v8f m0 = LD8(mv), m1 = LD8(mv + 8), r0 = LD8(rv), r1 = LD8(rv + 8);
    const v8f zero = {0};
    v8d a0 = {0}, a1 = {0}, q0 = {0}, q1 = {0};
    for (size_t v = 0; v < nv; v++) {
        const float *xp = x + v * RL, *gp = dy + v * RL;
        v8f h0 = (LD8(xp) - m0) * r0, h1 = (LD8(xp + 8) - m1) * r1;
        v8f g0 = LD8(gp), g1 = LD8(gp + 8);
        if (relu) { /* loop-invariant branch, unswitched by the compiler */
            g0 = act_grad8(g0, h0, relu);
            g1 = act_grad8(g1, h1, relu);
        }
        v8d gd0 = CVT8(g0), gd1 = CVT8(g1);
        a0 += gd0;
        a1 += gd1;
        q0 += gd0 * CVT8(h0);
        q1 += gd1 * CVT8(h1);
    }
    memcpy(a, &a0, sizeof a0);
    memcpy(a + 8, &a1, sizeof a1);
    memcpy(q, &q0, sizeof q0);
    memcpy(q + 8, &q1, sizeof q1);
}

/* Backward partials: s1 = sum g, s2 = sum g * xhat per lane, where
 * xhat = (x - m) * r (float, as in the update pass) and
 * g = act_grad(dy, xhat, relu). */
NLCL_VECTOR_CLONES
static void bwd_chunk(const float *x, const float *dy, size_t nfl, int L, const float *m,
                      const float *r, int relu, double *s1, double *s2) {
    if (RL % L == 0) {
        float mv[RL], rv[RL];
        for (int j = 0; j < RL; j++) {
            mv[j] = m[j % L];
            rv[j] = r[j % L];
        }
        size_t nv = nfl / RL;
        double a[RL], q[RL];
        bwd_rows(x, dy, nv, mv, rv, relu, a, q);
        size_t o = nv * RL;
        for (size_t j = 0; j < nfl - o; j++) {
            float xh = (x[o + j] - mv[j]) * rv[j];
            float g = dy[o + j];
            g = act_grad(g, xh, relu);
            a[j] += (double)g;
            q[j] += (double)g * (double)xh;
        }
        nlcl_in_fold_lanes(a, q, L, s1, s2);
    } else {
        for (int l = 0; l < L; l++) s1[l] = s2[l] = 0;
        for (size_t e = 0; e < nfl; e += (size_t)L)
            for (int l = 0; l < L; l++) {
                float xh = (x[e + l] - m[l]) * r[l];
                float g = dy[e + l];
                g = act_grad(g, xh, relu);
                s1[l] += (double)g;
                s2[l] += (double)g * (double)xh;
            }
    }
}

/* dx += r * (g - mg - xhat * mgx) per lane; with acc = 0, dx = +0 + (...)
 * (the same floats as zeroing dx first, without reading it). */
NLCL_VECTOR_CLONES
static void bwd_apply(const float *x, const float *dy, float *dx, size_t nfl, int L,
                      const float *m, const float *r, const float *mg, const float *mgx,
                      int relu, int acc) {
    if (RL % L == 0) {
        float mv[RL], rv[RL], gv[RL], gxv[RL];
        for (int j = 0; j < RL; j++) {
            mv[j] = m[j % L];
            rv[j] = r[j % L];
            gv[j] = mg[j % L];
            gxv[j] = mgx[j % L];
        }
        const v8f m0 = LD8(mv), m1 = LD8(mv + 8), r0 = LD8(rv), r1 = LD8(rv + 8);
        const v8f e0 = LD8(gv), e1 = LD8(gv + 8), f0 = LD8(gxv), f1 = LD8(gxv + 8);
        const v8f zero = {0};
        size_t nv = nfl / RL;
        for (size_t v = 0; v < nv; v++) {
            const float *xp = x + v * RL, *gp = dy + v * RL;
            float *dp = dx + v * RL;
            v8f h0 = (LD8(xp) - m0) * r0, h1 = (LD8(xp + 8) - m1) * r1;
            v8f g0 = LD8(gp), g1 = LD8(gp + 8);
            if (relu) { /* unconditional loads and a bit mask: no masked loads */
                g0 = act_grad8(g0, h0, relu);
                g1 = act_grad8(g1, h1, relu);
            }
            v8f d0 = (acc ? (v8f)LD8(dp) : zero) + r0 * (g0 - e0 - h0 * f0);
            v8f d1 = (acc ? (v8f)LD8(dp + 8) : zero) + r1 * (g1 - e1 - h1 * f1);
            ST8(dp, d0);
            ST8(dp + 8, d1);
        }
        size_t o = nv * RL;
        for (size_t j = 0; j < nfl - o; j++) {
            float xh = (x[o + j] - mv[j]) * rv[j];
            float g = dy[o + j];
            g = act_grad(g, xh, relu);
            dx[o + j] = (acc ? dx[o + j] : 0.0f) + rv[j] * (g - gv[j] - xh * gxv[j]);
        }
    } else {
        for (size_t e = 0; e < nfl; e++) {
            int l = (int)(e % (size_t)L);
            float xh = (x[e] - m[l]) * r[l];
            float g = dy[e];
            g = act_grad(g, xh, relu);
            dx[e] = (acc ? dx[e] : 0.0f) + r[l] * (g - mg[l] - xh * mgx[l]);
        }
    }
}

/* The two sums of lane l over a plane's nch chunk partials (each chunk: L
 * first sums, then L second sums), added in chunk order. */
static void combine_chunks(const double *part, size_t nch, int L, int l, double *t1, double *t2) {
    double a = 0, b = 0;
    for (size_t ck = 0; ck < nch; ck++) {
        const double *s = part + ck * 2 * (size_t)L;
        a += s[l];
        b += s[L + l];
    }
    *t1 = a;
    *t2 = b;
}

void nlcl_in_finish(const double *part, size_t nch, int L, size_t pix, const float *shift,
                    float eps, int valid, float *m, float *r) {
    for (int l = 0; l < L; l++) {
        double t1, t2;
        combine_chunks(part, nch, L, l, &t1, &t2);
        float mf = 0.0f, rf = 0.0f; /* padding lanes: y = res (+ 0) */
        if (l < valid) {
            double inv = 1.0 / (double)pix;
            double md = t1 * inv;
            double var = t2 * inv - md * md;
            if (var < 0) var = 0;
            mf = (float)((double)shift[l] + md);
            rf = (float)(1.0 / sqrt(var + (double)eps));
        }
        m[l] = mf;
        r[l] = rf;
    }
}

/* ------------------------------------------------------------- forward */

/* The statistics of the group's np planes from their partial sums, into the
 * calling thread's gm, gr (shifts sh: the planes' first pixels); the thread
 * `writer` also stores them in mean, rstd (either may be NULL). */
static void group_stats(const geom *g, const double *part, size_t p0, size_t np, const float *sh,
                        float eps, int writer, float *mean, float *rstd, float *gm, float *gr) {
    const int L = g->L;
    for (size_t pl = 0; pl < np; pl++) {
        size_t p = p0 + pl;
        int ni = (int)(p / (size_t)g->G), gi = (int)(p % (size_t)g->G);
        int valid = NLCL_MIN(L, g->c - gi * L);
        nlcl_in_finish(part + pl * g->nch * 2 * (size_t)L, g->nch, L, g->pix, sh + pl * L, eps, valid,
                       gm + pl * L, gr + pl * L);
        for (int l = 0; writer && l < valid; l++) {
            if (mean) mean[(size_t)ni * g->c + gi * L + l] = gm[pl * L + l];
            if (rstd) rstd[(size_t)ni * g->c + gi * L + l] = gr[pl * L + l];
        }
    }
}

/* The forward pass of float x into y, or of bfloat16 x16 (when x is NULL;
 * norm_avx512.c) into y16 and optionally y. Two barriers per group of
 * planes: every thread combines the group's partial sums itself (the same
 * arithmetic, in chunk order) instead of waiting for one to do it. */
static void in_forward(const float *x, const uint16_t *x16, const float *res, float *y,
                       uint16_t *y16, float *mean, float *rstd, int n, int c, int h, int w,
                       nlcl_layout layout, float eps, int relu) {
    NLCL_ASSERT(x ? (y && !y16) : (x16 && y16));
    const geom g = make_geom(n, c, h, w, layout);
    const int L = g.L;
    const size_t plane_fl = g.pix * (size_t)L;
    double part[PARTIAL_CAP];

#pragma omp parallel if (g.planes * plane_fl >= PAR_MIN)
    {
        /* this thread's per-lane shift (first pixel), mean and rstd of the group */
        float sh[PARTIAL_CAP / 2], gm[PARTIAL_CAP / 2], gr[PARTIAL_CAP / 2];
        const int writer = omp_get_thread_num() == 0;
        for (size_t p0 = 0; p0 < g.planes; p0 += g.group) {
            const size_t np = NLCL_MIN(g.group, g.planes - p0);
            const size_t items = np * g.nch;
            /* the shifts, read before the barrier below (y may alias x) */
            for (size_t pl = 0; pl < np; pl++)
                for (int l = 0; l < L; l++) {
                    size_t e = (p0 + pl) * plane_fl + (size_t)l;
                    sh[pl * L + l] = x ? x[e] : nlcl_bf16_to_f32(x16[e]);
                }
            /* 1. partial sums per (plane, chunk) */
#pragma omp for schedule(static)
            for (size_t it = 0; it < items; it++) {
                size_t pl = it / g.nch, ck = it % g.nch;
                size_t a = ck * g.chunk_pix, b = NLCL_MIN(a + g.chunk_pix, g.pix);
                size_t off = (p0 + pl) * plane_fl + a * L;
                double *s = part + it * 2 * (size_t)L;
                if (x) chunk_stats(x + off, (b - a) * L, L, sh + pl * L, s, s + L);
                else nlcl_in_chunk_stats_bf16(x16 + off, (b - a) * L, L, sh + pl * L, s, s + L);
            }
            /* 2. combine in chunk order -> mean, rstd (every thread) */
            group_stats(&g, part, p0, np, sh, eps, writer, mean, rstd, gm, gr);
            /* 3. output pass; its barrier keeps part until every thread has read it */
#pragma omp for schedule(static)
            for (size_t it = 0; it < items; it++) {
                size_t pl = it / g.nch, ck = it % g.nch;
                size_t off = (p0 + pl) * plane_fl;
                size_t a = ck * g.chunk_pix, b = NLCL_MIN(a + g.chunk_pix, g.pix);
                off += a * L;
                if (!x)
                    nlcl_in_apply_bf16(x16 + off, res ? res + off : NULL, y ? y + off : NULL,
                                       y16 + off, (b - a) * L, L, gm + pl * L, gr + pl * L, relu);
                else
                    apply(x + off, res ? res + off : NULL, y + off, (b - a) * L, L, gm + pl * L,
                          gr + pl * L, relu);
            }
        }
    }
}

nlcl_status nlcl_instance_norm_forward(const float *x, const float *res, float *y, float *mean,
                                       float *rstd, int n, int c, int h, int w, nlcl_layout layout,
                                       float eps, int relu) {
    NLCL_TRY(nlcl_check_nchw(__func__, n, c, h, w, layout));
    NLCL_ARG_NONNULL(x && y);
    NLCL_ARG_CHECK(eps >= 0.0f, "eps %g is not >= 0", (double)eps);
    in_forward(x, NULL, res, y, NULL, mean, rstd, n, c, h, w, layout, eps, relu ? NLCL_IN_RELU : 0);
    return NLCL_OK;
}

void nlcl_instance_norm_forward_act(const float *x, const float *res, float *y, float *mean,
                                    float *rstd, int n, int c, int h, int w, nlcl_layout layout,
                                    float eps, int relu) {
    NLCL_ASSERT(x && y && relu >= 0 && relu <= NLCL_IN_LEAKY);
    in_forward(x, NULL, res, y, NULL, mean, rstd, n, c, h, w, layout, eps, relu);
}

void nlcl_instance_norm_forward_bf16(const uint16_t *x16, const float *res, float *y,
                                     uint16_t *y16, int n, int c, int h, int w,
                                     nlcl_layout layout, float eps, int relu) {
    NLCL_ASSERT(x16 && y16);
    in_forward(NULL, x16, res, y, y16, NULL, NULL, n, c, h, w, layout, eps, relu);
}

/* ------------------------------------------------------------ backward */

/* The backward pass: dx += (acc) or dx = (not acc) the gradient. Two
 * barriers per group of planes: every thread loads the saved statistics and
 * combines the partial sums itself (the same arithmetic, in chunk order). */
static void in_backward(const float *dy, const float *x, const float *mean, const float *rstd,
                        float *dx, int n, int c, int h, int w, nlcl_layout layout, int relu,
                        int acc) {
    const geom g = make_geom(n, c, h, w, layout);
    const int L = g.L;
    const size_t plane_fl = g.pix * (size_t)L;
    double part[PARTIAL_CAP];

#pragma omp parallel if (g.planes * plane_fl >= PAR_MIN)
    {
        /* this thread's per-lane mean, rstd, mean(g), mean(g * xhat) of the group */
        float gm[PARTIAL_CAP / 2], gr[PARTIAL_CAP / 2], gg[PARTIAL_CAP / 2], ggx[PARTIAL_CAP / 2];
        for (size_t p0 = 0; p0 < g.planes; p0 += g.group) {
            const size_t np = NLCL_MIN(g.group, g.planes - p0);
            const size_t items = np * g.nch;
            /* 0. saved statistics of the group's lanes (padding lanes: 0, so dx += 0) */
            for (size_t pl = 0; pl < np; pl++) {
                size_t p = p0 + pl;
                int ni = (int)(p / (size_t)g.G), gi = (int)(p % (size_t)g.G);
                for (int l = 0; l < L; l++) {
                    int ch = gi * L + l;
                    gm[pl * L + l] = ch < c ? mean[(size_t)ni * c + ch] : 0.0f;
                    gr[pl * L + l] = ch < c ? rstd[(size_t)ni * c + ch] : 0.0f;
                }
            }
            /* 1. partial sums of g and g * xhat */
#pragma omp for schedule(static)
            for (size_t it = 0; it < items; it++) {
                size_t pl = it / g.nch, ck = it % g.nch;
                size_t a = ck * g.chunk_pix, b = NLCL_MIN(a + g.chunk_pix, g.pix);
                size_t off = (p0 + pl) * plane_fl + a * L;
                double *s = part + it * 2 * (size_t)L;
                bwd_chunk(x + off, dy + off, (b - a) * L, L, gm + pl * L, gr + pl * L, relu, s, s + L);
            }
            /* 2. combine in chunk order (every thread) */
            for (size_t pl = 0; pl < np; pl++)
                for (int l = 0; l < L; l++) {
                    double t1, t2;
                    combine_chunks(part + pl * g.nch * 2 * (size_t)L, g.nch, L, l, &t1, &t2);
                    gg[pl * L + l] = (float)(t1 / (double)g.pix);
                    ggx[pl * L + l] = (float)(t2 / (double)g.pix);
                }
            /* 3. dx += rstd * (g - mean(g) - xhat * mean(g * xhat)); its
             * barrier keeps part until every thread has read it */
#pragma omp for schedule(static)
            for (size_t it = 0; it < items; it++) {
                size_t pl = it / g.nch, ck = it % g.nch;
                size_t a = ck * g.chunk_pix, b = NLCL_MIN(a + g.chunk_pix, g.pix);
                size_t off = (p0 + pl) * plane_fl + a * L;
                bwd_apply(x + off, dy + off, dx + off, (b - a) * L, L, gm + pl * L, gr + pl * L,
                          gg + pl * L, ggx + pl * L, relu, acc);
            }
        }
    }
}

nlcl_status nlcl_instance_norm_backward(const float *dy, const float *x, const float *mean,
                                        const float *rstd, float *dx, int n, int c, int h, int w,
                                        nlcl_layout layout, int relu) {
    NLCL_TRY(nlcl_check_nchw(__func__, n, c, h, w, layout));
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(dy && x && mean && rstd);
    in_backward(dy, x, mean, rstd, dx, n, c, h, w, layout, relu ? NLCL_IN_RELU : 0, 1);
    return NLCL_OK;
}

void nlcl_instance_norm_backward_set(const float *dy, const float *x, const float *mean,
                                     const float *rstd, float *dx, int n, int c, int h, int w,
                                     nlcl_layout layout, int relu) {
    NLCL_ASSERT(dy && x && mean && rstd && dx);
    in_backward(dy, x, mean, rstd, dx, n, c, h, w, layout, relu, 0);
}
