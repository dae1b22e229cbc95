/* Dense ops on row matrices (include/nlcl/ops.h): torch.nn.Linear and the
 * reference's row L2 normalisation (reference section 4.1). The patch
 * gather/scatter of PatchSampleF is in gather.c.
 *
 * Every output element is computed by one thread in a fixed order (rows, or
 * columns of the weight gradient, are distributed over threads; the sums
 * along the reduced axis are never split), so all results are bit-identical
 * for any number of OpenMP threads. Dot products use 16 independent partial
 * sums (one vector register) folded in a fixed order.
 */
#include <math.h>
#include <string.h>

#include "../core/internal.h"
#include "nlcl/ops.h"
#include "ops_check.h"

#define DL 16   /* partial sums per dot product */
#define TILE 256 /* column tile for the row-accumulating loops */

static float fold16(const float *a) {
    float s = 0.0f;
    for (int j = 0; j < DL; j++) s += a[j];
    return s;
}

/* The kernels below are compiled for AVX-512, AVX2 and SSE2 and picked at
 * load time (NLCL_VECTOR_CLONES, core/internal.h); with ISO C's default
 * -ffp-contract=off every clone does the same IEEE operations in the same
 * order, so the results do not depend on the CPU. On the development machine
 * the AVX-512 clones take the head and PatchNCE products of a training
 * iteration in 2.2x less time than the SSE2 code of the portable build; the
 * register-tiled kernels below halve the forward product again and quarter
 * the backward ones (256 x 256 x 256 on a Zen 5, 2 threads: forward 0.37 to
 * 0.20 ms, dx 0.43 to 0.11 ms, dW 0.43 to 0.14 ms; docs/BENCHMARKS.md). */

/* 16 floats as one vector (GCC/Clang vector extensions: the partial sums
 * stay in registers, where arrays in an "omp simd" loop were kept in memory
 * by GCC 12); unaligned, alias-safe loads through a macro, so that no vector
 * value crosses a call */
typedef float v16f __attribute__((vector_size(64)));
typedef float v16f_u __attribute__((vector_size(64), aligned(4), may_alias));
#define LD16(p) (*(const v16f_u *)(p))

/* The register-tiled kernels (dot4x4_avx512, acc_tile_avx512) keep 16 or 8 sums of 16
 * floats in registers, which needs AVX-512's 32 vector registers: with AVX2's
 * 16 or SSE2's they spill to memory and run several times slower than the
 * row kernels. They are compiled for x86-64-v4 only and used where the CPU
 * has it (the _avx512 names: tests/package/install.sh allows AVX registers
 * there and in the clones only); elsewhere the row kernels (dot4, acc_rows)
 * do the same arithmetic. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TILED 1 /* GCC on x86-64 (__builtin_shuffle, target attributes) */
#if defined(__AVX512F__)
#define TILED_TARGET
static int tiled_ok(void) { return 1; }
#else
#define TILED_TARGET __attribute__((target("arch=x86-64-v4")))
static int tiled_ok(void) { return __builtin_cpu_supports("x86-64-v4"); }
#endif
#else /* other compilers and CPUs: the row kernels only */
#define TILED 0
static int tiled_ok(void) { return 0; }
#define dot4x4_avx512(x, xs, w, ws, k, y, ys) ((void)0)
#define acc_tile_avx512(dst, ds, c, ss, cs, r, rs, count) ((void)0)
#endif

/* Four dot products of x (len k) with rows w0..w3. */
NLCL_VECTOR_CLONES
static void dot4(const float *x, const float *w0, const float *w1, const float *w2,
                 const float *w3, int k, float *out) {
    v16f v0 = {0}, v1 = {0}, v2 = {0}, v3 = {0};
    int kv = k / DL * DL;
    for (int i = 0; i < kv; i += DL) {
        v16f xv = LD16(x + i);
        v0 += xv * LD16(w0 + i);
        v1 += xv * LD16(w1 + i);
        v2 += xv * LD16(w2 + i);
        v3 += xv * LD16(w3 + i);
    }
    float a0[DL], a1[DL], a2[DL], a3[DL];
    memcpy(a0, &v0, sizeof a0);
    memcpy(a1, &v1, sizeof a1);
    memcpy(a2, &v2, sizeof a2);
    memcpy(a3, &v3, sizeof a3);
    for (int i = kv; i < k; i++) {
        a0[i - kv] += x[i] * w0[i];
        a1[i - kv] += x[i] * w1[i];
        a2[i - kv] += x[i] * w2[i];
        a3[i - kv] += x[i] * w3[i];
    }
    out[0] = fold16(a0);
    out[1] = fold16(a1);
    out[2] = fold16(a2);
    out[3] = fold16(a3);
}

NLCL_VECTOR_CLONES
static float dot1(const float *x, const float *w0, int k) {
    float a0[DL] = {0};
    int kv = k / DL * DL;
    for (int i = 0; i < kv; i += DL) {
#pragma omp simd
        for (int j = 0; j < DL; j++) a0[j] += x[i + j] * w0[i + j];
    }
    for (int i = kv; i < k; i++) a0[i - kv] += x[i] * w0[i];
    return fold16(a0);
}

/* t[k] += sum_j c[j * cs] * r[j * rs + k] for k < kn, summed over j in
 * order (count rows r of stride rs, coefficients c of stride cs). */
NLCL_VECTOR_CLONES
static void acc_rows(float *restrict t, int kn, const float *c, size_t cs, const float *r,
                     size_t rs, int count) {
    for (int j = 0; j < count; j++) {
        const float g = c[(size_t)j * cs];
        const float *rj = r + (size_t)j * rs;
#pragma omp simd
        for (int k = 0; k < kn; k++) t[k] += g * rj[k];
    }
}

#if TILED
/* Transpose the 16 x 16 matrix whose rows are v[0..15]: four stages, each
 * swapping the off-diagonal blocks of size B in every 2B x 2B block. */
typedef int v16i __attribute__((vector_size(64)));
#define TRANSPOSE_STAGE(B)                                                               \
    do {                                                                                 \
        v16i lo_m, hi_m;                                                                 \
        for (int c = 0; c < 16; c++) {                                                   \
            lo_m[c] = (c & (B)) ? 16 + c - (B) : c;                                      \
            hi_m[c] = (c & (B)) ? 16 + c : c + (B);                                      \
        }                                                                                \
        for (int r = 0; r < 16; r++)                                                     \
            if (!(r & (B))) {                                                            \
                v16f lo = v[r], hi = v[r + (B)];                                         \
                v[r] = __builtin_shuffle(lo, hi, lo_m);                                  \
                v[r + (B)] = __builtin_shuffle(lo, hi, hi_m);                            \
            }                                                                            \
    } while (0)
TILED_TARGET
static void transpose16_avx512(v16f *v) {
    TRANSPOSE_STAGE(1);
    TRANSPOSE_STAGE(2);
    TRANSPOSE_STAGE(4);
    TRANSPOSE_STAGE(8);
}
#undef TRANSPOSE_STAGE

/* Sixteen dot products at once: rows x[0..3] (stride xs, len k) with rows
 * w[0..3] (stride ws), each with dot4's 16 partial sums and fold, so the
 * results are dot4's bit for bit; the sums stay in registers and each
 * vector loaded serves four products (dot4: five loads for four). */
TILED_TARGET
static void dot4x4_avx512(const float *x, size_t xs, const float *w, size_t ws, int k, float *y,
                   size_t ys) {
    /* named accumulators: an array of them is kept in memory by GCC 12 */
    v16f a00 = {0}, a01 = {0}, a02 = {0}, a03 = {0}, a10 = {0}, a11 = {0}, a12 = {0}, a13 = {0};
    v16f a20 = {0}, a21 = {0}, a22 = {0}, a23 = {0}, a30 = {0}, a31 = {0}, a32 = {0}, a33 = {0};
    const float *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
    int kv = k / DL * DL;
    for (int i = 0; i < kv; i += DL) {
        v16f p0 = LD16(x + i), p1 = LD16(x + xs + i), p2 = LD16(x + 2 * xs + i),
             p3 = LD16(x + 3 * xs + i), v;
#define DOT4X4_COL(o)     \
    v = LD16(w##o + i);   \
    a0##o += p0 * v;      \
    a1##o += p1 * v;      \
    a2##o += p2 * v;      \
    a3##o += p3 * v
        DOT4X4_COL(0);
        DOT4X4_COL(1);
        DOT4X4_COL(2);
        DOT4X4_COL(3);
#undef DOT4X4_COL
    }
    v16f acc[16] = {a00, a01, a02, a03, a10, a11, a12, a13,
                    a20, a21, a22, a23, a30, a31, a32, a33};
    if (kv < k) { /* the tail into lanes 0.., then dot4's folds one by one */
        for (int q = 0; q < 16; q++) {
            float a[DL];
            memcpy(a, &acc[q], sizeof a);
            for (int i = kv; i < k; i++) a[i - kv] += x[q / 4 * xs + i] * w[q % 4 * ws + i];
            y[q / 4 * ys + q % 4] = fold16(a);
        }
        return;
    }
    /* the sixteen folds at once: transpose, so that vector j holds lane j of
     * every sum, then add the vectors in fold16's order */
    transpose16_avx512(acc);
    v16f sum = {0};
    for (int j = 0; j < DL; j++) sum += acc[j];
    float out[DL];
    memcpy(out, &sum, sizeof out);
    for (int q = 0; q < 16; q++) y[q / 4 * ys + q % 4] = out[q];
}

#endif

/* Row i of y = x W^T + b from output o on (dot4, then dot1 for nout % 4). */
static void linear_row(const float *xi, const float *W, const float *b, float *yi, int nin,
                       int nout, int o) {
    for (; o + 4 <= nout; o += 4) {
        float t[4];
        dot4(xi, W + (size_t)o * nin, W + (size_t)(o + 1) * nin, W + (size_t)(o + 2) * nin,
             W + (size_t)(o + 3) * nin, nin, t);
        for (int q = 0; q < 4; q++) yi[o + q] = b ? t[q] + b[o + q] : t[q];
    }
    for (; o < nout; o++) {
        float t = dot1(xi, W + (size_t)o * nin, nin);
        yi[o] = b ? t + b[o] : t;
    }
}

nlcl_status nlcl_linear_forward(const float *x, const float *W, const float *b, float *y, int m,
                                int nin, int nout) {
    NLCL_ARG_CHECK(m >= 0 && nin > 0 && nout > 0,
                   "sizes m %d, nin %d, nout %d (m >= 0, nin and nout >= 1)", m, nin, nout);
    NLCL_ARG_NONNULL(m == 0 || (x && W && y));
    /* blocks of 4 rows through dot4x4_avx512, the last m % 4 rows one at a time */
    const int tiled = tiled_ok();
#pragma omp parallel for schedule(static) if ((long)m * nin * nout >= 65536)
    for (int ib = 0; ib < (m + 3) / 4; ib++) {
        int i0 = 4 * ib, nr = NLCL_MIN(4, m - i0), o = 0;
        const float *x0 = x + (size_t)i0 * nin;
        float *y0 = y + (size_t)i0 * nout;
        if (nr == 4 && tiled)
            for (; o + 4 <= nout; o += 4) {
                dot4x4_avx512(x0, (size_t)nin, W + (size_t)o * nin, (size_t)nin, nin, y0 + o,
                       (size_t)nout);
                for (int r = 0; r < 4 && b; r++)
                    for (int q = 0; q < 4; q++) y0[(size_t)r * nout + o + q] += b[o + q];
            }
        for (int r = 0; r < nr; r++)
            linear_row(x0 + (size_t)r * nin, W, b, y0 + (size_t)r * nout, nin, nout, o);
    }
    return NLCL_OK;
}

#define SETS 4 /* coefficient sets of acc_tile_avx512 */
#define KT 32  /* columns of acc_tile_avx512 */

#if TILED
/* dst[s][k] += sum_j c[s * ss + j * cs] * r[j * rs + k] for SETS sets s and
 * KT columns k, each sum over j in order from 0 (acc_rows' arithmetic, bit
 * for bit), the SETS x KT sums in registers. */
TILED_TARGET
static void acc_tile_avx512(float *dst, size_t ds, const float *c, size_t ss, size_t cs,
                            const float *r, size_t rs, int count) {
    v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    for (int j = 0; j < count; j++) {
        const float *rj = r + (size_t)j * rs, *cj = c + (size_t)j * cs;
        v16f p = LD16(rj), q = LD16(rj + DL);
        float g0 = cj[0], g1 = cj[ss], g2 = cj[2 * ss], g3 = cj[3 * ss];
        a0 += g0 * p;
        b0 += g0 * q;
        a1 += g1 * p;
        b1 += g1 * q;
        a2 += g2 * p;
        b2 += g2 * q;
        a3 += g3 * p;
        b3 += g3 * q;
    }
    v16f acc[2 * SETS] = {a0, b0, a1, b1, a2, b2, a3, b3};
    for (int s = 0; s < SETS; s++) {
        float t[KT];
        memcpy(t, &acc[2 * s], sizeof t);
        float *d = dst + (size_t)s * ds;
#pragma omp simd
        for (int k = 0; k < KT; k++) d[k] += t[k];
    }
}

#endif

/* For sets s in [s0, s0 + ns): dst[s][k] += sum_j c[s * ss + j * cs] *
 * r[j * rs + k], k < kn, each sum over j in order (acc_tile_avx512 where whole
 * tiles fit, acc_rows for the rest). */
static void acc_block(float *dst, size_t ds, int s0, int ns, int kn, const float *c, size_t ss,
                      size_t cs, const float *r, size_t rs, int count, int tiled) {
    int k0 = 0;
    if (ns == SETS && tiled)
        for (; k0 + KT <= kn; k0 += KT)
            acc_tile_avx512(dst + (size_t)s0 * ds + k0, ds, c + (size_t)s0 * ss, ss, cs, r + k0, rs,
                     count);
    for (int s = s0; s < s0 + ns; s++)
        for (int kb = k0; kb < kn; kb += TILE) {
            int n = NLCL_MIN(TILE, kn - kb);
            float t[TILE];
            memset(t, 0, sizeof t);
            acc_rows(t, n, c + (size_t)s * ss, cs, r + kb, rs, count);
            float *d = dst + (size_t)s * ds + kb;
#pragma omp simd
            for (int k = 0; k < n; k++) d[k] += t[k];
        }
}

nlcl_status nlcl_linear_backward(const float *dy, const float *x, const float *W, float *dx,
                                 float *dW, float *db, int m, int nin, int nout) {
    NLCL_ARG_CHECK(m >= 0 && nin > 0 && nout > 0,
                   "sizes m %d, nin %d, nout %d (m >= 0, nin and nout >= 1)", m, nin, nout);
    NLCL_ARG_NONNULL(m == 0 || (dy && (!dx || W) && (!dW || x)));
    const int par = (long)m * nin * nout >= 65536, tiled = tiled_ok();
    /* dx[i][k] += sum_o dy[i][o] W[o][k], summed over o in order */
    if (dx) {
#pragma omp parallel for schedule(static) if (par)
        for (int ib = 0; ib < (m + SETS - 1) / SETS; ib++)
            acc_block(dx, (size_t)nin, ib * SETS, NLCL_MIN(SETS, m - ib * SETS), nin, dy,
                      (size_t)nout, 1, W, (size_t)nin, nout, tiled);
    }
    /* dW[o][k] += sum_i dy[i][o] x[i][k], summed over i in order */
    if (dW) {
#pragma omp parallel for schedule(static) if (par)
        for (int ob = 0; ob < (nout + SETS - 1) / SETS; ob++)
            acc_block(dW, (size_t)nin, ob * SETS, NLCL_MIN(SETS, nout - ob * SETS), nin, dy, 1,
                      (size_t)nout, x, (size_t)nin, m, tiled);
    }
    if (db) {
        /* db[o] += sum_i dy[i][o], in double, over i in order */
        for (int o0 = 0; o0 < nout; o0 += TILE) {
            int on = NLCL_MIN(TILE, nout - o0);
            double t[TILE];
            memset(t, 0, sizeof t);
            for (int i = 0; i < m; i++) {
                const float *dyi = dy + (size_t)i * nout + o0;
#pragma omp simd
                for (int o = 0; o < on; o++) t[o] += (double)dyi[o];
            }
            for (int o = 0; o < on; o++) db[o0 + o] += (float)t[o];
        }
    }
    return NLCL_OK;
}

/* ------------------------------------------------------- L2 normalise */

#define NORM_EPS 1e-7f

/* sum of x^2 over d values, in double with 16 partial sums */
static double sumsq(const float *x, int d) {
    double a[DL] = {0};
    int dv = d / DL * DL;
    for (int i = 0; i < dv; i += DL) {
#pragma omp simd
        for (int j = 0; j < DL; j++) a[j] += (double)x[i + j] * (double)x[i + j];
    }
    for (int i = dv; i < d; i++) a[i - dv] += (double)x[i] * (double)x[i];
    double s = 0;
    for (int j = 0; j < DL; j++) s += a[j];
    return s;
}

static double dotd(const float *x, const float *y, int d) {
    double a[DL] = {0};
    int dv = d / DL * DL;
    for (int i = 0; i < dv; i += DL) {
#pragma omp simd
        for (int j = 0; j < DL; j++) a[j] += (double)x[i + j] * (double)y[i + j];
    }
    for (int i = dv; i < d; i++) a[i - dv] += (double)x[i] * (double)y[i];
    double s = 0;
    for (int j = 0; j < DL; j++) s += a[j];
    return s;
}

nlcl_status nlcl_l2norm_rows_forward(const float *x, float *y, float *norm, int m, int d) {
    NLCL_ARG_CHECK(m >= 0 && d > 0, "sizes m %d, d %d (m >= 0, d >= 1)", m, d);
    NLCL_ARG_NONNULL(m == 0 || (x && y));
#pragma omp parallel for schedule(static) if ((long)m * d >= 32768)
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * d;
        float *yi = y + (size_t)i * d;
        float r = (float)sqrt(sumsq(xi, d));
        float den = r + NORM_EPS; /* as the reference: x.div(norm + 1e-7) in float */
        if (norm) norm[i] = r;
#pragma omp simd
        for (int k = 0; k < d; k++) yi[k] = xi[k] / den;
    }
    return NLCL_OK;
}

/* y = x / (r + e), r = ||x||:  dy/dx = I/(r+e) - x x^T / (r (r+e)^2), so
 *   dx = dy/(r+e) - x <dy, x> / (r (r+e)^2)
 * with the second term 0 at r = 0 (x = 0; its limit along any direction). */
nlcl_status nlcl_l2norm_rows_backward(const float *dy, const float *x, const float *y,
                                      const float *norm, float *dx, int m, int d) {
    NLCL_ARG_CHECK(m >= 0 && d > 0, "sizes m %d, d %d (m >= 0, d >= 1)", m, d);
    (void)y;
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(m == 0 || (dy && x && norm));
#pragma omp parallel for schedule(static) if ((long)m * d >= 32768)
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * d, *gi = dy + (size_t)i * d;
        float *dxi = dx + (size_t)i * d;
        double r = (double)norm[i];
        double den = (double)((float)r + NORM_EPS);
        float a = (float)(1.0 / den);
        float b = r > 0 ? (float)(dotd(gi, xi, d) / (r * den * den)) : 0.0f;
#pragma omp simd
        for (int k = 0; k < d; k++) dxi[k] += a * gi[k] - b * xi[k];
    }
    return NLCL_OK;
}
