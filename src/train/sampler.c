/* Non-local sampling (src/train/sampler.h). */
#include "train/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

void nlcl_search_window(int a, int n, int *lo, int *hi) {
    *lo = a - 28 < 0 ? 8 : a - 20;
    *hi = a + 28 > n ? n - 8 : a + 20;
}

int nlcl_search_min_candidates(int h, int w) {
    int best = -1;
    /* the window is smallest at an extreme anchor; check every anchor (cheap) */
    int miny = 1 << 30, minx = 1 << 30;
    for (int a = 16; a <= h - 16; a++) {
        int lo, hi;
        nlcl_search_window(a, h, &lo, &hi);
        if (hi - lo < miny) miny = hi - lo;
    }
    for (int a = 16; a <= w - 16; a++) {
        int lo, hi;
        nlcl_search_window(a, w, &lo, &hi);
        if (hi - lo < minx) minx = hi - lo;
    }
    if (miny > 0 && minx > 0 && miny < (1 << 30)) best = miny * minx;
    return best;
}

typedef struct cand {
    float d;
    int32_t idx;
} cand;

static int cmp_near(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}
static int cmp_far(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Partial selection: move the k smallest (by cmp) to the front, then sort
 * them. Quickselect with median-of-three pivots. */
static void select_k(cand *v, int n, int k, int (*cmp)(const void *, const void *)) {
    int lo = 0, hi = n - 1;
    while (hi > lo && k < n) {
        int mid = lo + (hi - lo) / 2;
        if (cmp(&v[mid], &v[lo]) < 0) { cand t = v[mid]; v[mid] = v[lo]; v[lo] = t; }
        if (cmp(&v[hi], &v[lo]) < 0) { cand t = v[hi]; v[hi] = v[lo]; v[lo] = t; }
        if (cmp(&v[hi], &v[mid]) < 0) { cand t = v[hi]; v[hi] = v[mid]; v[mid] = t; }
        cand pivot = v[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (cmp(&v[i], &pivot) < 0) i++;
            while (cmp(&pivot, &v[j]) < 0) j--;
            if (i <= j) {
                cand t = v[i]; v[i] = v[j]; v[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
    qsort(v, (size_t)k, sizeof *v, cmp);
}

/* k distinct uniform locations of an h x w map (partial Fisher-Yates). */
static nlcl_status sample_random(int h, int w, int k, nlcl_rng *rng, int32_t *ids) {
    int hw = h * w;
    if (k > hw)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%d samples exceed the %d locations", k, hw);
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)hw);
    if (!perm) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < hw; i++) perm[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)nlcl_rng_below(rng, (uint32_t)(hw - i));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        ids[i] = perm[i];
    }
    free(perm);
    return NLCL_OK;
}

/* A candidate window of the search: centres [y0, y0 + ny) x [x0, x0 + nx). */
typedef struct window {
    int y0, x0, ny, nx;
} window;

/* The block-matching distance of paper Eq. (7), Dist(p_i, p_j) =
 * ||p_i - p_j||^2 over the 16x16 patches (all channels) around the anchor
 * (a_y, a_x) and around each candidate centre of the window, into cv. */
static nlcl_status patch_distances(const float *x, int c, int h, int w, nlcl_layout layout, int img,
                                   int a_y, int a_x, window win, cand *cv) {
    const int L = nlcl_layout_lanes(layout, c);
    const int G = (c + L - 1) / L;
    const size_t ys = (size_t)w * L, cs = (size_t)h * w * L;
    const float *base = x + (size_t)img * G * cs;
    const int P = NLCL_PATCH, rowlen = P * L, nc = win.ny * win.nx;
    /* anchor patch, (G, P, P*L) contiguous */
    float *A = malloc(sizeof(float) * (size_t)G * P * rowlen);
    if (!A) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    for (int g = 0; g < G; g++)
        for (int dy = 0; dy < P; dy++)
            memcpy(A + ((size_t)g * P + dy) * rowlen,
                   base + g * cs + (size_t)(a_y - 8 + dy) * ys + (size_t)(a_x - 8) * L,
                   sizeof(float) * (size_t)rowlen);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < nc; i++) {
        int y = win.y0 + i / win.nx, xx = win.x0 + i % win.nx;
        double acc = 0;
        for (int g = 0; g < G; g++)
            for (int dy = 0; dy < P; dy++) {
                const float *t = base + g * cs + (size_t)(y - 8 + dy) * ys + (size_t)(xx - 8) * L;
                const float *a = A + ((size_t)g * P + dy) * rowlen;
                /* 16 independent partial sums (vectorisable, fixed order) */
                float s[16] = {0};
                for (int j = 0; j < rowlen; j += 16)
                    for (int l = 0; l < 16; l++) {
                        float d = t[j + l] - a[j + l];
                        s[l] += d * d;
                    }
                for (int l = 0; l < 16; l++) acc += s[l];
            }
        cv[i].d = (float)acc;
        cv[i].idx = y * w + xx;
    }
    free(A);
    return NLCL_OK;
}

/* The non-local search of paper section 3.2: the k candidates of the window
 * around the anchor with the smallest (NEAREST) or largest (FARTHEST)
 * Eq. (7) distance, or the k spatially nearest (NEIGHBOUR). */
nlcl_status nlcl_search(const float *x, int n, int c, int h, int w, nlcl_layout layout, int img,
                        nlcl_sampling mode, int k, nlcl_rng *rng, int anchor_y, int anchor_x,
                        int32_t *ids, float *dist, int *ay, int *ax) {
    (void)n; /* the batch size only documents the layout; img selects the image */
    if (h < NLCL_MIN_SEARCH_SIZE || w < NLCL_MIN_SEARCH_SIZE)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%dx%d map is smaller than the %dx%d minimum", w, h,
                              NLCL_MIN_SEARCH_SIZE, NLCL_MIN_SEARCH_SIZE);
    if (k < 1) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "k must be >= 1, got %d", k);
    if (mode == NLCL_SAMPLING_RANDOM) {
        if (ay) *ay = -1;
        if (ax) *ax = -1;
        return sample_random(h, w, k, rng, ids);
    }
    int a_y = anchor_y, a_x = anchor_x;
    if (a_y < 0) {
        a_y = 16 + (int)nlcl_rng_below(rng, (uint32_t)(h - 31));
        a_x = 16 + (int)nlcl_rng_below(rng, (uint32_t)(w - 31));
    }
    if (a_y < 16 || a_y > h - 16 || a_x < 16 || a_x > w - 16)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "anchor (%d, %d) is not 16 pixels inside a %dx%d map", a_x, a_y, w,
                              h);
    if (ay) *ay = a_y;
    if (ax) *ax = a_x;
    int y1, x1;
    window win;
    nlcl_search_window(a_y, h, &win.y0, &y1);
    nlcl_search_window(a_x, w, &win.x0, &x1);
    win.ny = y1 - win.y0, win.nx = x1 - win.x0;
    int nc = win.ny * win.nx;
    if (k > nc)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%d samples exceed the %d candidates of a %dx%d window "
                              "(use a larger crop or fewer samples)",
                              k, nc, win.nx, win.ny);
    cand *cv = malloc(sizeof(cand) * (size_t)nc);
    if (!cv) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    if (mode == NLCL_SAMPLING_NEIGHBOUR) {
        for (int i = 0; i < nc; i++) {
            int y = win.y0 + i / win.nx, xx = win.x0 + i % win.nx;
            int dy = y - a_y, dx = xx - a_x;
            cv[i].d = (float)(dy * dy + dx * dx);
            cv[i].idx = y * w + xx;
        }
        select_k(cv, nc, k, cmp_near);
    } else {
        nlcl_status s = patch_distances(x, c, h, w, layout, img, a_y, a_x, win, cv);
        if (s != NLCL_OK) {
            free(cv);
            return s;
        }
        select_k(cv, nc, k, mode == NLCL_SAMPLING_FARTHEST ? cmp_far : cmp_near);
    }
    for (int i = 0; i < k; i++) {
        ids[i] = cv[i].idx;
        if (dist) dist[i] = cv[i].d;
    }
    free(cv);
    return NLCL_OK;
}

void nlcl_search_skip(int h, int w, nlcl_sampling mode, int k, nlcl_rng *rng) {
    if (mode == NLCL_SAMPLING_RANDOM) { /* sample_random's draws */
        for (int i = 0; i < k; i++) nlcl_rng_below(rng, (uint32_t)(h * w - i));
        return;
    }
    nlcl_rng_below(rng, (uint32_t)(h - 31)); /* the anchor of nlcl_search */
    nlcl_rng_below(rng, (uint32_t)(w - 31));
}

nlcl_status nlcl_search_share(const float *x, int n, int n_all, int b0, int c, int h, int w,
                              nlcl_layout layout, nlcl_sampling mode, int k, nlcl_rng *rng,
                              int32_t *ids) {
    for (int b = 0; b < n_all; b++)
        if (b < b0 || b >= b0 + n)
            nlcl_search_skip(h, w, mode, k, rng);
        else
            NLCL_TRY(nlcl_search(x, n, c, h, w, layout, b - b0, mode, k, rng, -1, -1,
                                 ids + (size_t)(b - b0) * k, NULL, NULL, NULL));
    return NLCL_OK;
}

void nlcl_map_ids(const int32_t *ids, int k, int h, int w, int ht, int wt, int32_t *out) {
    for (int i = 0; i < k; i++) {
        int y = ids[i] / w, x = ids[i] % w;
        int yt = (int)((int64_t)y * ht / h), xt = (int)((int64_t)x * wt / w);
        out[i] = yt * wt + xt;
    }
}
