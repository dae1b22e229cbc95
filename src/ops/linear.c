/* Dense ops on row matrices (include/nlcl/ops.h): torch.nn.Linear, the
 * reference's row L2 normalisation (reference section 4.1) and the patch
 * gather/scatter of PatchSampleF.
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
 * iteration in 2.2x less time than the SSE2 code of the portable build. */

/* 16 floats as one vector (GCC/Clang vector extensions: the partial sums
 * stay in registers, where arrays in an "omp simd" loop were kept in memory
 * by GCC 12); unaligned, alias-safe loads through a macro, so that no vector
 * value crosses a call */
typedef float v16f __attribute__((vector_size(64)));
typedef float v16f_u __attribute__((vector_size(64), aligned(4), may_alias));
#define LD16(p) (*(const v16f_u *)(p))

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

nlcl_status nlcl_linear_forward(const float *x, const float *W, const float *b, float *y, int m,
                                int nin, int nout) {
    NLCL_ARG_CHECK(m >= 0 && nin > 0 && nout > 0,
                   "sizes m %d, nin %d, nout %d (m >= 0, nin and nout >= 1)", m, nin, nout);
    NLCL_ARG_NONNULL(m == 0 || (x && W && y));
#pragma omp parallel for schedule(static) if ((long)m * nin * nout >= 65536)
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * nin;
        float *yi = y + (size_t)i * nout;
        int o = 0;
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
    return NLCL_OK;
}

nlcl_status nlcl_linear_backward(const float *dy, const float *x, const float *W, float *dx,
                                 float *dW, float *db, int m, int nin, int nout) {
    NLCL_ARG_CHECK(m >= 0 && nin > 0 && nout > 0,
                   "sizes m %d, nin %d, nout %d (m >= 0, nin and nout >= 1)", m, nin, nout);
    NLCL_ARG_NONNULL(m == 0 || (dy && (!dx || W) && (!dW || x)));
    const int par = (long)m * nin * nout >= 65536;
    if (dx) {
        /* dx[i][k] += sum_o dy[i][o] W[o][k], summed over o in order */
#pragma omp parallel for schedule(static) if (par)
        for (int i = 0; i < m; i++) {
            const float *dyi = dy + (size_t)i * nout;
            float *dxi = dx + (size_t)i * nin;
            for (int k0 = 0; k0 < nin; k0 += TILE) {
                int kn = NLCL_MIN(TILE, nin - k0);
                float t[TILE];
                memset(t, 0, sizeof t);
                acc_rows(t, kn, dyi, 1, W + k0, (size_t)nin, nout);
#pragma omp simd
                for (int k = 0; k < kn; k++) dxi[k0 + k] += t[k];
            }
        }
    }
    if (dW) {
        /* dW[o][k] += sum_i dy[i][o] x[i][k], summed over i in order */
#pragma omp parallel for schedule(static) if (par)
        for (int o = 0; o < nout; o++) {
            float *dwo = dW + (size_t)o * nin;
            for (int k0 = 0; k0 < nin; k0 += TILE) {
                int kn = NLCL_MIN(TILE, nin - k0);
                float t[TILE];
                memset(t, 0, sizeof t);
                acc_rows(t, kn, dy + o, (size_t)nout, x + k0, (size_t)nin, m);
#pragma omp simd
                for (int k = 0; k < kn; k++) dwo[k0 + k] += t[k];
            }
        }
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

/* ------------------------------------------------------ gather/scatter */

/* The arguments of a gather or scatter: the tensor, the image, k ids in
 * [0, h*w). */
static nlcl_status check_rows(const char *fn, int n, int c, int h, int w, nlcl_layout layout,
                              int img, const int32_t *ids, int k) {
    NLCL_TRY(nlcl_check_nchw(fn, n, c, h, w, layout));
    if (img < 0 || img >= n)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: image %d not in [0, %d)", fn, img, n);
    if (k < 0) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: k %d is negative", fn, k);
    if (k > 0 && !ids) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument", fn);
    const int64_t hw = (int64_t)h * w;
    for (int i = 0; i < k; i++)
        if (ids[i] < 0 || ids[i] >= hw)
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: id %d (row %d) not in [0, %lld)", fn,
                                  (int)ids[i], i, (long long)hw);
    return NLCL_OK;
}

static size_t elem_index(int n, int c, int h, int w, int L, int img, int ch, int32_t id) {
    (void)n;
    size_t G = (size_t)((c + L - 1) / L);
    size_t hw = (size_t)h * w;
    return (((size_t)img * G + (size_t)(ch / L)) * hw + (size_t)id) * L + (size_t)(ch % L);
}

nlcl_status nlcl_gather_rows(const float *x, int n, int c, int h, int w, nlcl_layout layout,
                             int img, const int32_t *ids, int k, float *rows) {
    NLCL_TRY(check_rows(__func__, n, c, h, w, layout, img, ids, k));
    NLCL_ARG_NONNULL(k == 0 || (x && rows));
    const int L = nlcl_layout_lanes(layout, c);
#pragma omp parallel for schedule(static) if ((long)k * c >= 32768)
    for (int i = 0; i < k; i++) {
        float *ri = rows + (size_t)i * c;
        for (int ch = 0; ch < c; ch++) ri[ch] = x[elem_index(n, c, h, w, L, img, ch, ids[i])];
    }
    return NLCL_OK;
}

nlcl_status nlcl_scatter_rows_add(const float *drows, int n, int c, int h, int w,
                                  nlcl_layout layout, int img, const int32_t *ids, int k,
                                  float *dx) {
    NLCL_TRY(check_rows(__func__, n, c, h, w, layout, img, ids, k));
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(k == 0 || drows);
    const int L = nlcl_layout_lanes(layout, c);
    /* threads own channels; each walks the rows in order, so duplicate ids
     * accumulate in a fixed order without races */
#pragma omp parallel for schedule(static) if ((long)k * c >= 32768)
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < k; i++)
            dx[elem_index(n, c, h, w, L, img, ch, ids[i])] += drows[(size_t)i * c + ch];
    return NLCL_OK;
}
