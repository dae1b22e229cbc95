/* Spatial ops (include/nlcl/ops.h): ReflectionPad2d and CUT's anti-aliased
 * Downsample (reference section 1.1), forward and backward, in either layout.
 *
 * A "plane" is (n, c) in NCHW or (n, c/B) in the blocked layout, an (h, w)
 * grid of pixels of L = 1 or B lanes; every op treats the L lanes of a pixel
 * alike, so padding lanes stay zero. Both backward passes are written in
 * gather form (each dx element sums the dy elements that read it, in a fixed
 * order), so they parallelise over (plane, row) without races and give the
 * same bits for any thread count.
 */
#include <string.h>

#include "nlcl/ops.h"
#include "ops_check.h"

#define MAX_L 64 /* largest block the stack scratch of the blur backward holds */

static int lanes_of(nlcl_layout layout, int c) {
    int L = nlcl_layout_lanes(layout, c);
    NLCL_ASSERT(L >= 1 && L <= MAX_L);
    return L;
}

/* The planes of an (n, c, h, w) input and its (ho, wo) output in a layout. */
typedef struct sgeom {
    int L;                       /* lanes per pixel */
    size_t P;                    /* planes */
    size_t in_plane, out_plane;  /* floats per input and output plane */
} sgeom;

static sgeom geom_of(int n, int c, int h, int w, int ho, int wo, nlcl_layout layout) {
    sgeom g;
    g.L = lanes_of(layout, c);
    g.P = (size_t)n * (size_t)((c + g.L - 1) / g.L);
    g.in_plane = (size_t)h * w * g.L;
    g.out_plane = (size_t)ho * wo * g.L;
    return g;
}

/* Mirror index without repeating the edge: -1 -> 1, n -> n-2. Valid for
 * -n < i < 2n - 1. */
static inline int refl(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

/* ----------------------------------------------------------- reflect pad */

nlcl_status nlcl_reflect_pad_forward(const float *x, float *y, int n, int c, int h, int w, int p,
                                     nlcl_layout layout) {
    NLCL_TRY(nlcl_check_nchw(__func__, n, c, h, w, layout));
    NLCL_ARG_CHECK(p >= 0 && p < h && p < w, "padding %d is not in [0, min(h, w)) for %dx%d", p, w,
                   h);
    NLCL_ARG_NONNULL(x && y);
    const int ho = h + 2 * p, wo = w + 2 * p;
    const sgeom g = geom_of(n, c, h, w, ho, wo, layout);
    const int L = g.L;
    const size_t in_plane = g.in_plane, out_plane = g.out_plane, items = g.P * (size_t)ho;
#pragma omp parallel for schedule(static) if (items * wo * L >= 32768)
    for (size_t it = 0; it < items; it++) {
        size_t pl = it / (size_t)ho;
        int oy = (int)(it % (size_t)ho);
        const float *src = x + pl * in_plane + (size_t)refl(oy - p, h) * w * L;
        float *dst = y + pl * out_plane + (size_t)oy * wo * L;
        memcpy(dst + (size_t)p * L, src, sizeof(float) * (size_t)w * L);
        for (int k = 1; k <= p; k++) {
            /* left: output column p-k reads input k; right: p+w-1+k reads w-1-k */
            memcpy(dst + (size_t)(p - k) * L, src + (size_t)k * L, sizeof(float) * L);
            memcpy(dst + (size_t)(p + w - 1 + k) * L, src + (size_t)(w - 1 - k) * L,
                   sizeof(float) * L);
        }
    }
    return NLCL_OK;
}

/* Adds one padded dy row's contributions to the dx row it mirrors onto. */
static void pad_row_back(const float *dyr, float *dxr, int w, int p, int L) {
    const size_t n = (size_t)w * L;
    const float *d = dyr + (size_t)p * L;
#pragma omp simd
    for (size_t i = 0; i < n; i++) dxr[i] += d[i];
    for (int k = 1; k <= p; k++)
        for (int l = 0; l < L; l++) {
            dxr[(size_t)k * L + l] += dyr[(size_t)(p - k) * L + l];
            dxr[(size_t)(w - 1 - k) * L + l] += dyr[(size_t)(p + w - 1 + k) * L + l];
        }
}

nlcl_status nlcl_reflect_pad_backward(const float *dy, float *dx, int n, int c, int h, int w, int p,
                                      nlcl_layout layout) {
    NLCL_TRY(nlcl_check_nchw(__func__, n, c, h, w, layout));
    NLCL_ARG_CHECK(p >= 0 && p < h && p < w, "padding %d is not in [0, min(h, w)) for %dx%d", p, w,
                   h);
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(dy);
    const int ho = h + 2 * p, wo = w + 2 * p;
    const sgeom g = geom_of(n, c, h, w, ho, wo, layout);
    const int L = g.L;
    const size_t in_plane = g.in_plane, out_plane = g.out_plane, items = g.P * (size_t)h;
#pragma omp parallel for schedule(static) if (items * w * L >= 32768)
    for (size_t it = 0; it < items; it++) {
        size_t pl = it / (size_t)h;
        int iy = (int)(it % (size_t)h);
        const float *dyp = dy + pl * out_plane;
        float *dxr = dx + pl * in_plane + (size_t)iy * w * L;
        /* padded rows oy with refl(oy - p) == iy, in increasing oy */
        if (iy >= 1 && iy <= p) pad_row_back(dyp + (size_t)(p - iy) * wo * L, dxr, w, p, L);
        pad_row_back(dyp + (size_t)(iy + p) * wo * L, dxr, w, p, L);
        if (iy >= h - 1 - p && iy <= h - 2)
            pad_row_back(dyp + (size_t)(p + 2 * (h - 1) - iy) * wo * L, dxr, w, p, L);
    }
    return NLCL_OK;
}

/* ------------------------------------------------------ blur downsample */

/* Output m reads inputs refl(2m - 1 + a, n) with weight BW[a], a = 0..2 (the
 * 1-D factor [1, 2, 1]/4 of the [1,2,1]x[1,2,1]/16 filter). */
static const float BW[3] = {0.25f, 0.5f, 0.25f};

static int blur_out(int n) { return (n - 1) / 2 + 1; }

/* The (output index, weight) pairs that read input index i (at most 3), in
 * increasing output order. */
static int blur_taps(int i, int n, int *o, float *wt) {
    int k = 0, no = blur_out(n);
    for (int m = i / 2 - 1; m <= i / 2 + 1; m++) {
        if (m < 0 || m >= no) continue;
        float s = 0.0f;
        int hit = 0;
        for (int a = 0; a < 3; a++)
            if (refl(2 * m - 1 + a, n) == i) {
                s += BW[a];
                hit = 1;
            }
        if (hit) {
            o[k] = m;
            wt[k] = s;
            k++;
        }
    }
    return k;
}

nlcl_status nlcl_blur_downsample_forward(const float *x, float *y, int n, int c, int h, int w,
                                         nlcl_layout layout) {
    NLCL_TRY(nlcl_check_nchw(__func__, n, c, h, w, layout));
    NLCL_ARG_CHECK(h >= 2 && w >= 2, "%dx%d input is smaller than 2x2", w, h);
    NLCL_ARG_NONNULL(x && y);
    const int ho = blur_out(h), wo = blur_out(w);
    const sgeom g = geom_of(n, c, h, w, ho, wo, layout);
    const int L = g.L;
    const size_t in_plane = g.in_plane, out_plane = g.out_plane, items = g.P * (size_t)ho;
#pragma omp parallel for schedule(static) if (items * wo * L >= 8192)
    for (size_t it = 0; it < items; it++) {
        size_t pl = it / (size_t)ho;
        int m = (int)(it % (size_t)ho);
        const float *xp = x + pl * in_plane;
        const float *r0 = xp + (size_t)refl(2 * m - 1, h) * w * L;
        const float *r1 = xp + (size_t)(2 * m) * w * L;
        const float *r2 = xp + (size_t)refl(2 * m + 1, h) * w * L;
        float *yr = y + pl * out_plane + (size_t)m * wo * L;
        for (int q = 0; q < wo; q++) {
            size_t c0 = (size_t)refl(2 * q - 1, w) * L, c1 = (size_t)(2 * q) * L,
                   c2 = (size_t)refl(2 * q + 1, w) * L;
            for (int l = 0; l < L; l++) {
                float v0 = BW[0] * r0[c0 + l] + BW[1] * r1[c0 + l] + BW[2] * r2[c0 + l];
                float v1 = BW[0] * r0[c1 + l] + BW[1] * r1[c1 + l] + BW[2] * r2[c1 + l];
                float v2 = BW[0] * r0[c2 + l] + BW[1] * r1[c2 + l] + BW[2] * r2[c2 + l];
                yr[(size_t)q * L + l] = BW[0] * v0 + BW[1] * v1 + BW[2] * v2;
            }
        }
    }
    return NLCL_OK;
}

nlcl_status nlcl_blur_downsample_backward(const float *dy, float *dx, int n, int c, int h, int w,
                                          nlcl_layout layout) {
    NLCL_TRY(nlcl_check_nchw(__func__, n, c, h, w, layout));
    NLCL_ARG_CHECK(h >= 2 && w >= 2, "%dx%d input is smaller than 2x2", w, h);
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(dy);
    const int ho = blur_out(h), wo = blur_out(w);
    const sgeom g = geom_of(n, c, h, w, ho, wo, layout);
    const int L = g.L;
    const size_t in_plane = g.in_plane, out_plane = g.out_plane, items = g.P * (size_t)h;
#pragma omp parallel for schedule(static) if (items * w * L >= 8192)
    for (size_t it = 0; it < items; it++) {
        size_t pl = it / (size_t)h;
        int i = (int)(it % (size_t)h);
        int ro[3], co[3];
        float rw[3], cw[3];
        const int nr = blur_taps(i, h, ro, rw);
        const float *dyp = dy + pl * out_plane;
        const float *dr[3];
        for (int a = 0; a < nr; a++) dr[a] = dyp + (size_t)ro[a] * wo * L;
        float *dxr = dx + pl * in_plane + (size_t)i * w * L;
        for (int j = 0; j < w; j++) {
            float *dj = dxr + (size_t)j * L;
            if (j >= 2 && j <= w - 3) {
                /* interior column: no reflection; even j is read by output
                 * j/2 (weight 1/2), odd j by (j-1)/2 and (j+1)/2 (1/4 each) */
                float v0[MAX_L], v1[MAX_L];
                if (!(j & 1)) {
                    const size_t q = (size_t)(j / 2) * L;
                    for (int l = 0; l < L; l++) v0[l] = 0.0f;
                    for (int a = 0; a < nr; a++) {
                        const float wa = rw[a], *d = dr[a] + q;
#pragma omp simd
                        for (int l = 0; l < L; l++) v0[l] += wa * d[l];
                    }
#pragma omp simd
                    for (int l = 0; l < L; l++) dj[l] += 0.5f * v0[l];
                } else {
                    const size_t q0 = (size_t)((j - 1) / 2) * L, q1 = q0 + (size_t)L;
                    for (int l = 0; l < L; l++) v0[l] = v1[l] = 0.0f;
                    for (int a = 0; a < nr; a++) {
                        const float wa = rw[a], *d = dr[a];
#pragma omp simd
                        for (int l = 0; l < L; l++) {
                            v0[l] += wa * d[q0 + l];
                            v1[l] += wa * d[q1 + l];
                        }
                    }
#pragma omp simd
                    for (int l = 0; l < L; l++) dj[l] += 0.25f * v0[l] + 0.25f * v1[l];
                }
                continue;
            }
            const int nc = blur_taps(j, w, co, cw);
            for (int l = 0; l < L; l++) {
                float s = 0.0f;
                for (int b = 0; b < nc; b++) {
                    float v = 0.0f;
                    for (int a = 0; a < nr; a++) v += rw[a] * dr[a][(size_t)co[b] * L + l];
                    s += cw[b] * v;
                }
                dj[l] += s;
            }
        }
    }
    return NLCL_OK;
}
