/* Losses (include/nlcl/ops.h): MSE, L1, MSE to a constant (LSGAN,
 * reference section 4.3), row log-sum-exp and cross-entropy (PatchNCE,
 * reference section 4.2).
 *
 * Every loss value is a sum in double over fixed chunks: the range is cut
 * into at most MAX_CHUNKS pieces of at least MIN_CHUNK elements, a cut that
 * depends on the count only; each chunk sums with 16 independent partials
 * folded in a fixed order; the chunk sums are added in chunk order. So the
 * value is bit-identical for any number of OpenMP threads. Backward passes
 * are elementwise (no reductions).
 */
#include <math.h>
#include <string.h>

#include "nlcl/ops.h"
#include "ops_check.h"

#define MAX_CHUNKS 64
#define MIN_CHUNK 32768
#define RL 16 /* partial sums within a chunk */
#define PAR_MIN 32768

typedef double (*chunk_fn)(const void *ctx, size_t begin, size_t end);

/* sum over [0, count) of f's chunk sums, deterministic (see above). */
static double chunked_sum(size_t count, size_t min_chunk, chunk_fn f, const void *ctx) {
    if (count == 0) return 0.0;
    size_t nch = (count + min_chunk - 1) / min_chunk;
    if (nch > MAX_CHUNKS) nch = MAX_CHUNKS;
    size_t len = (count + nch - 1) / nch;
    nch = (count + len - 1) / len;
    double part[MAX_CHUNKS];
#pragma omp parallel for schedule(static) if (nch > 1)
    for (size_t k = 0; k < nch; k++) {
        size_t a = k * len, b = NLCL_MIN(a + len, count);
        part[k] = f(ctx, a, b);
    }
    double s = 0.0;
    for (size_t k = 0; k < nch; k++) s += part[k];
    return s;
}

static double fold(const double *a) {
    double s = 0.0;
    for (int j = 0; j < RL; j++) s += a[j];
    return s;
}

typedef struct pair_ctx {
    const float *a, *b;
    float t;
} pair_ctx;

static double sq_chunk(const void *vctx, size_t i0, size_t i1) {
    const pair_ctx *c = vctx;
    double acc[RL] = {0};
    size_t i = i0;
    for (; i + RL <= i1; i += RL) {
#pragma omp simd
        for (int j = 0; j < RL; j++) {
            double d = (double)c->a[i + j] - (double)c->b[i + j];
            acc[j] += d * d;
        }
    }
    for (int j = 0; i < i1; i++, j++) {
        double d = (double)c->a[i] - (double)c->b[i];
        acc[j] += d * d;
    }
    return fold(acc);
}

static double abs_chunk(const void *vctx, size_t i0, size_t i1) {
    const pair_ctx *c = vctx;
    double acc[RL] = {0};
    size_t i = i0;
    if (c->b) {
        for (; i + RL <= i1; i += RL) {
#pragma omp simd
            for (int j = 0; j < RL; j++) acc[j] += fabs((double)c->a[i + j] - (double)c->b[i + j]);
        }
        for (int j = 0; i < i1; i++, j++) acc[j] += fabs((double)c->a[i] - (double)c->b[i]);
    } else {
        for (; i + RL <= i1; i += RL) {
#pragma omp simd
            for (int j = 0; j < RL; j++) acc[j] += fabs((double)c->a[i + j]);
        }
        for (int j = 0; i < i1; i++, j++) acc[j] += fabs((double)c->a[i]);
    }
    return fold(acc);
}

static double sqc_chunk(const void *vctx, size_t i0, size_t i1) {
    const pair_ctx *c = vctx;
    const double t = (double)c->t;
    double acc[RL] = {0};
    size_t i = i0;
    for (; i + RL <= i1; i += RL) {
#pragma omp simd
        for (int j = 0; j < RL; j++) {
            double d = (double)c->a[i + j] - t;
            acc[j] += d * d;
        }
    }
    for (int j = 0; i < i1; i++, j++) {
        double d = (double)c->a[i] - t;
        acc[j] += d * d;
    }
    return fold(acc);
}

/* ------------------------------------------------------------------ MSE */

nlcl_status nlcl_mse_forward(const float *a, const float *b, size_t count, double *loss) {
    NLCL_ARG_CHECK(count > 0, "count is 0 (a mean over no values)");
    NLCL_ARG_NONNULL(a && b && loss);
    pair_ctx c = {a, b, 0.0f};
    *loss = chunked_sum(count, MIN_CHUNK, sq_chunk, &c) / (double)count;
    return NLCL_OK;
}

nlcl_status nlcl_mse_backward(const float *a, const float *b, size_t count, float g, float *da,
                              float *db) {
    NLCL_ARG_CHECK(count > 0, "count is 0 (a mean over no values)");
    NLCL_ARG_NONNULL(a && b);
    const float k = (float)(2.0 * (double)g / (double)count);
    if (da && db) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
        for (size_t i = 0; i < count; i++) {
            float t = k * (a[i] - b[i]);
            da[i] += t;
            db[i] -= t;
        }
    } else if (da) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
        for (size_t i = 0; i < count; i++) da[i] += k * (a[i] - b[i]);
    } else if (db) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
        for (size_t i = 0; i < count; i++) db[i] -= k * (a[i] - b[i]);
    }
    return NLCL_OK;
}

/* ------------------------------------------------------------------- L1 */

nlcl_status nlcl_l1_forward(const float *a, const float *b, size_t count, double *loss) {
    NLCL_ARG_CHECK(count > 0, "count is 0 (a mean over no values)");
    NLCL_ARG_NONNULL(a && loss);
    pair_ctx c = {a, b, 0.0f};
    *loss = chunked_sum(count, MIN_CHUNK, abs_chunk, &c) / (double)count;
    return NLCL_OK;
}

static inline float sgnf(float d) { return d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f); }

nlcl_status nlcl_l1_backward(const float *a, const float *b, size_t count, float g, float *da,
                             float *db) {
    NLCL_ARG_CHECK(count > 0, "count is 0 (a mean over no values)");
    NLCL_ARG_NONNULL(a);
    const float k = (float)((double)g / (double)count);
    if (!b) db = NULL;
#pragma omp parallel for schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) {
        float t = k * sgnf(b ? a[i] - b[i] : a[i]);
        if (da) da[i] += t;
        if (db) db[i] -= t;
    }
    return NLCL_OK;
}

/* ------------------------------------------------------- MSE to constant */

nlcl_status nlcl_mse_const_forward(const float *a, float t, size_t count, double *loss) {
    NLCL_ARG_CHECK(count > 0, "count is 0 (a mean over no values)");
    NLCL_ARG_NONNULL(a && loss);
    pair_ctx c = {a, NULL, t};
    *loss = chunked_sum(count, MIN_CHUNK, sqc_chunk, &c) / (double)count;
    return NLCL_OK;
}

nlcl_status nlcl_mse_const_backward(const float *a, float t, size_t count, float g, float *da) {
    NLCL_ARG_CHECK(count > 0, "count is 0 (a mean over no values)");
    if (!da) return NLCL_OK;
    NLCL_ARG_NONNULL(a);
    const float k = (float)(2.0 * (double)g / (double)count);
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) da[i] += k * (a[i] - t);
    return NLCL_OK;
}

/* ------------------------------------------------- log-sum-exp, softmax */

/* max_j l_j + log sum_j exp(l_j - max), in double. */
static double row_lse(const float *l, int d) {
    float mx = l[0];
    for (int j = 1; j < d; j++) mx = l[j] > mx ? l[j] : mx;
    if (isinf(mx)) return (double)mx; /* all -inf (or a +inf): lse is that value */
    double s = 0.0;
    for (int j = 0; j < d; j++) s += exp((double)l[j] - (double)mx);
    return (double)mx + log(s);
}

nlcl_status nlcl_logsumexp_rows(const float *logits, int m, int d, double *out) {
    NLCL_ARG_CHECK(m >= 0 && d > 0, "sizes m %d, d %d (m >= 0, d >= 1)", m, d);
    NLCL_ARG_NONNULL(m == 0 || (logits && out));
#pragma omp parallel for schedule(static) if ((long)m * d >= 8192)
    for (int i = 0; i < m; i++) out[i] = row_lse(logits + (size_t)i * d, d);
    return NLCL_OK;
}

typedef struct ce_ctx {
    const float *logits;
    const int32_t *target;
    int d;
} ce_ctx;

static double ce_chunk(const void *vctx, size_t r0, size_t r1) {
    const ce_ctx *c = vctx;
    double s = 0.0;
    for (size_t i = r0; i < r1; i++) {
        const float *l = c->logits + i * (size_t)c->d;
        s += row_lse(l, c->d) - (double)l[c->target[i]];
    }
    return s;
}

/* The arguments of a cross-entropy: m rows of d logits, m targets in [0, d). */
static nlcl_status check_ce(const char *fn, const float *logits, const int32_t *target, int m,
                            int d) {
    if (m < 1 || d < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: sizes m %d, d %d (both >= 1)", fn, m, d);
    if (!logits || !target) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument", fn);
    for (int i = 0; i < m; i++)
        if (target[i] < 0 || target[i] >= d)
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: target %d of row %d not in [0, %d)",
                                  fn, (int)target[i], i, d);
    return NLCL_OK;
}

nlcl_status nlcl_cross_entropy_forward(const float *logits, const int32_t *target, int m, int d,
                                       double *loss) {
    NLCL_TRY(check_ce(__func__, logits, target, m, d));
    NLCL_ARG_NONNULL(loss);
    ce_ctx c = {logits, target, d};
    /* chunks of at least ~8k logits */
    size_t min_rows = (size_t)(8192 / d) + 1;
    *loss = chunked_sum((size_t)m, min_rows, ce_chunk, &c) / (double)m;
    return NLCL_OK;
}

nlcl_status nlcl_cross_entropy_backward(const float *logits, const int32_t *target, int m, int d,
                                        float g, float *dlogits) {
    NLCL_TRY(check_ce(__func__, logits, target, m, d));
    if (!dlogits) return NLCL_OK;
    const double k = (double)g / (double)m;
#pragma omp parallel for schedule(static) if ((long)m * d >= 8192)
    for (int i = 0; i < m; i++) {
        const float *l = logits + (size_t)i * d;
        float *dl = dlogits + (size_t)i * d;
        double lse = row_lse(l, d);
        for (int j = 0; j < d; j++) {
            double p = exp((double)l[j] - lse) - (j == target[i] ? 1.0 : 0.0);
            dl[j] += (float)(k * p);
        }
    }
    return NLCL_OK;
}

/* ---------------------------------------------------- L1 of plane means */

/* The difference of the means of plane p of a and b, summed in double. */
static double plane_mean_diff(const float *a, const float *b, size_t hw, int p) {
    const float *ap = a + (size_t)p * hw, *bp = b + (size_t)p * hw;
    double acc = 0.0;
    for (size_t i = 0; i < hw; i++) acc += (double)ap[i] - (double)bp[i];
    return acc / (double)hw;
}

static nlcl_status check_mean_l1(const char *fn, const float *a, const float *b, int planes, size_t hw) {
    if (planes < 1 || planes > NLCL_MAX_PLANES_SUM || hw < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: planes %d (1 to %d), hw %zu (>= 1)", fn,
                              planes, NLCL_MAX_PLANES_SUM, hw);
    if (!a || !b) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument", fn);
    return NLCL_OK;
}

nlcl_status nlcl_mean_l1_forward(const float *a, const float *b, int planes, size_t hw, double *loss) {
    NLCL_TRY(check_mean_l1(__func__, a, b, planes, hw));
    NLCL_ARG_NONNULL(loss);
    double total = 0.0; /* plane order: the same value for any thread count */
    for (int p = 0; p < planes; p++) total += fabs(plane_mean_diff(a, b, hw, p));
    *loss = total / planes;
    return NLCL_OK;
}

nlcl_status nlcl_mean_l1_backward(const float *a, const float *b, int planes, size_t hw, float g,
                                  float *da) {
    NLCL_TRY(check_mean_l1(__func__, a, b, planes, hw));
    if (!da) return NLCL_OK;
    for (int p = 0; p < planes; p++) {
        float k = (float)((double)g / ((double)planes * (double)hw)) *
                  sgnf((float)plane_mean_diff(a, b, hw, p));
        float *dp = da + (size_t)p * hw;
        for (size_t i = 0; i < hw; i++) dp[i] += k;
    }
    return NLCL_OK;
}

/* ------------------------------------------------------------ eroded L1 */

/* Index (within the plane) of the smallest |a - b| in the s x s window
 * centred on (y, x), clipped at the borders; ties go to the first in scan
 * order. */
static size_t window_argmin(const float *a, const float *b, int h, int w, int s, int y, int x,
                            float *val) {
    const int r0 = (s - 1) / 2, r1 = s / 2;
    const int ya = NLCL_MAX(y - r0, 0), yb = NLCL_MIN(y + r1, h - 1);
    const int xa = NLCL_MAX(x - r0, 0), xb = NLCL_MIN(x + r1, w - 1);
    size_t best = (size_t)ya * w + xa;
    float bv = fabsf(a[best] - b[best]);
    for (int yy = ya; yy <= yb; yy++)
        for (int xx = xa; xx <= xb; xx++) {
            size_t q = (size_t)yy * w + xx;
            float v = fabsf(a[q] - b[q]);
            if (v < bv) bv = v, best = q;
        }
    *val = bv;
    return best;
}

/* The arguments of an eroded L1: planes in [1, NLCL_MAX_PLANES_SUM], h, w, s >= 1. */
static nlcl_status check_eroded(const char *fn, const float *a, const float *b, int planes, int h,
                                int w, int s) {
    if (planes < 1 || planes > NLCL_MAX_PLANES_SUM || h < 1 || w < 1 || s < 1)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%s: planes %d (1 to %d), h %d, w %d, window %d (all >= 1)", fn,
                              planes, NLCL_MAX_PLANES_SUM, h, w, s);
    if (!a || !b) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument", fn);
    return NLCL_OK;
}

nlcl_status nlcl_eroded_l1_forward(const float *a, const float *b, int planes, int h, int w, int s,
                                   double *loss) {
    NLCL_TRY(check_eroded(__func__, a, b, planes, h, w, s));
    NLCL_ARG_NONNULL(loss);
    double part[NLCL_MAX_PLANES_SUM] = {0};
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *ap = a + (size_t)p * h * w, *bp = b + (size_t)p * h * w;
        double acc = 0.0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float v;
                (void)window_argmin(ap, bp, h, w, s, y, x, &v);
                acc += v;
            }
        part[p] = acc;
    }
    double total = 0.0; /* plane order: the same value for any thread count */
    for (int p = 0; p < planes; p++) total += part[p];
    *loss = total / ((double)planes * h * w);
    return NLCL_OK;
}

nlcl_status nlcl_eroded_l1_backward(const float *a, const float *b, int planes, int h, int w, int s,
                                    float g, float *da) {
    NLCL_TRY(check_eroded(__func__, a, b, planes, h, w, s));
    if (!da) return NLCL_OK;
    const float k = (float)((double)g / ((double)planes * h * w));
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *ap = a + (size_t)p * h * w, *bp = b + (size_t)p * h * w;
        float *dp = da + (size_t)p * h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float v;
                size_t q = window_argmin(ap, bp, h, w, s, y, x, &v);
                dp[q] += k * sgnf(ap[q] - bp[q]);
            }
    }
    return NLCL_OK;
}
