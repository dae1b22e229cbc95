/* Adam (nlcl_adam_step) and the linear-decay schedule (nlcl_lr_linear_decay)
 * against closed-form values computed here in double, and Adam against
 * torch.optim.Adam (tests/fixtures/ops/adam_*.bin, written by
 * tests/fixtures/make_op_fixtures.py), 3 steps, betas (0.5, 0.999), eps 1e-8.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/ops.h"

#define DIR "tests/fixtures/ops/"

/* one float ulp at x */
static double ulp(float x) { return (double)nextafterf(fabsf(x), INFINITY) - fabsf(x); }

/* ---------------------------------------------------------- closed form */

static void hand_adam(double lr) {
    enum { N = 7, STEPS = 3 };
    /* small parameters (fine float resolution for lr-sized updates); gradients
     * of all kinds: ordinary, zero, huge, tiny (eps matters), sign changes */
    const float p0[N] = {0.01f, -0.02f, 0.005f, 0.0f, -0.013f, 0.03f, 0.002f};
    const float g[STEPS][N] = {
        {0.5f, -1.5f, 0.0f, 1e3f, 1e-6f, -0.25f, 2.0f},
        {-0.5f, -1.0f, 0.0f, 1e3f, -1e-6f, 0.75f, 1e-3f},
        {0.1f, 3.0f, 0.0f, -1e3f, 1e-6f, -0.25f, -2.0f},
    };
    const double b1 = 0.5, b2 = 0.999, eps = 1e-8;
    nlcl_adam_cfg cfg = {lr, b1, b2, eps};
    float p[N], m[N] = {0}, v[N] = {0};
    double P[N], M[N] = {0}, V[N] = {0};
    for (int i = 0; i < N; i++) P[i] = p[i] = p0[i];
    for (int s = 1; s <= STEPS; s++) {
        nlcl_adam_step(p, g[s - 1], m, v, N, &cfg, s);
        for (int i = 0; i < N; i++) {
            double gi = g[s - 1][i];
            M[i] = b1 * M[i] + (1 - b1) * gi;
            V[i] = b2 * V[i] + (1 - b2) * gi * gi;
            double mhat = M[i] / (1 - pow(b1, s)), vhat = V[i] / (1 - pow(b2, s));
            P[i] -= lr * mhat / (sqrt(vhat) + eps);
        }
        for (int i = 0; i < N; i++) {
            CHECK_MSG(fabs(m[i] - M[i]) <= 1e-6 * fabs(M[i]) + 1e-30, "lr %g step %d m[%d] %.9g vs %.9g",
                      lr, s, i, m[i], M[i]);
            CHECK_MSG(fabs(v[i] - V[i]) <= 1e-6 * fabs(V[i]) + 1e-30, "lr %g step %d v[%d] %.9g vs %.9g",
                      lr, s, i, v[i], V[i]);
            /* the update is lr-sized: compare to 1e-4 of lr, plus float rounding of p */
            double tol = 1e-4 * lr + 3 * ulp((float)P[i]);
            CHECK_MSG(fabs(p[i] - P[i]) <= tol, "lr %g step %d p[%d] %.10g vs %.10g (tol %.2g)", lr, s,
                      i, p[i], P[i], tol);
        }
    }
    /* known values: step 1 moves every parameter with g != 0 by ~lr against
     * the sign of g (m/sqrt(v) = g/|g| after bias correction) */
    float q[2] = {0.5f, 0.5f}, gq[2] = {3.0f, -0.001f}, mq[2] = {0}, vq[2] = {0};
    nlcl_adam_step(q, gq, mq, vq, 2, &cfg, 1);
    CHECK_NEAR(q[0], 0.5 - lr, 1e-3 * lr + 1e-7);
    CHECK_NEAR(q[1], 0.5 + lr * (0.001 / (0.001 + 1e-8)), 1e-3 * lr + 1e-7);
    /* zero gradient at step 1: no move */
    CHECK(p0[3] == 0.0f);
}

/* ---------------------------------------------------------- PyTorch */

static float *load(const char *name, size_t want) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s.bin", name);
    size_t n = 0;
    float *x = test_read_f32(path, &n);
    CHECK_MSG(x && n == want, "fixture %s missing or wrong size (%zu)", path, n);
    if (x && n != want) {
        free(x);
        return NULL;
    }
    return x;
}

static double torch_adam(const char *tag, double lr) {
    enum { N = 70 };
    char nm[64];
    snprintf(nm, sizeof nm, "%s_p0", tag);
    float *p0 = load(nm, N);
    if (!p0) return INFINITY;
    float p[N], m[N] = {0}, v[N] = {0};
    memcpy(p, p0, sizeof p);
    free(p0);
    nlcl_adam_cfg cfg = {lr, 0.5, 0.999, 1e-8};
    double worst_ulps = 0;
    for (int s = 1; s <= 3; s++) {
        snprintf(nm, sizeof nm, "%s_g%d", tag, s);
        float *g = load(nm, N);
        snprintf(nm, sizeof nm, "%s_p%d", tag, s);
        float *pt = load(nm, N);
        if (!g || !pt) {
            free(g);
            free(pt);
            return INFINITY;
        }
        nlcl_adam_step(p, g, m, v, N, &cfg, s);
        for (int i = 0; i < N; i++) {
            double d = fabs((double)p[i] - pt[i]) / ulp(pt[i]);
            if (!(d <= worst_ulps)) worst_ulps = d;
        }
        free(g);
        free(pt);
    }
    /* at most 1 ulp of the parameter (PyTorch's scalar tail may or may not fuse) */
    CHECK_MSG(worst_ulps <= 1.0, "%s: parameters differ from torch by %.1f ulp", tag, worst_ulps);
    snprintf(nm, sizeof nm, "%s_m3", tag);
    float *mt = load(nm, N);
    snprintf(nm, sizeof nm, "%s_v3", tag);
    float *vt = load(nm, N);
    double em = 0, ev = 0;
    if (mt && vt)
        for (int i = 0; i < N; i++) {
            em = fmax(em, fabs(m[i] - mt[i]) / fmax(fabs(mt[i]), 1e-30));
            ev = fmax(ev, fabs(v[i] - vt[i]) / fmax(fabs(vt[i]), 1e-30));
        }
    CHECK_MSG(mt && vt && em <= 1e-6 && ev <= 1e-6, "%s: moments differ from torch: m %.3g v %.3g",
              tag, em, ev);
    printf("  torch.optim.Adam lr %g: params within %.1f ulp, m rel %.2e, v rel %.2e\n", lr,
           worst_ulps, em, ev);
    free(mt);
    free(vt);
    return worst_ulps;
}

/* --------------------------------------------------------- schedule */

static void schedule(void) {
    const double lr0 = 2e-4;
    CHECK(nlcl_lr_linear_decay(lr0, 1, 200, 10) == lr0);
    CHECK(nlcl_lr_linear_decay(lr0, 200, 200, 10) == lr0);
    CHECK_NEAR(nlcl_lr_linear_decay(lr0, 201, 200, 10), lr0 * (1 - 1.0 / 11), 1e-18);
    CHECK_NEAR(nlcl_lr_linear_decay(lr0, 205, 200, 10), lr0 * (1 - 5.0 / 11), 1e-18);
    CHECK_NEAR(nlcl_lr_linear_decay(lr0, 210, 200, 10), lr0 * (1 - 10.0 / 11), 1e-18);
    CHECK(nlcl_lr_linear_decay(lr0, 211, 200, 10) == 0.0);
    CHECK(nlcl_lr_linear_decay(lr0, 500, 200, 10) == 0.0); /* never negative */
    /* CUT's defaults: 200 + 200 epochs, factor(E) = 1 - max(0, E - 200) / 201 */
    CHECK_NEAR(nlcl_lr_linear_decay(lr0, 201, 200, 200), lr0 * 200.0 / 201, 1e-18);
    CHECK_NEAR(nlcl_lr_linear_decay(lr0, 400, 200, 200), lr0 * 1.0 / 201, 1e-18);
    /* no decay phase: constant */
    CHECK(nlcl_lr_linear_decay(lr0, 100000, 200, 0) == lr0);
    CHECK(nlcl_lr_linear_decay(1e-4, 0, 0, 5) == 1e-4);
}

int main(void) {
    hand_adam(1e-4);
    hand_adam(2e-4);
    torch_adam("adam_a", 2e-4);
    torch_adam("adam_b", 1e-4);
    schedule();
    /* large array: the parallel path gives the same bits as a small-chunk run */
    size_t n = 100003;
    float *p = malloc(n * 4), *q = malloc(n * 4), *g = malloc(n * 4);
    float *m = calloc(n, 4), *v = calloc(n, 4), *m2 = calloc(n, 4), *v2 = calloc(n, 4);
    nlcl_rng r;
    nlcl_rng_seed(&r, 5, 5);
    test_fill_uniform(&r, p, n, -1, 1);
    test_fill_uniform(&r, g, n, -1, 1);
    memcpy(q, p, n * 4);
    nlcl_adam_cfg cfg = {2e-4, 0.5, 0.999, 1e-8};
    nlcl_adam_step(p, g, m, v, n, &cfg, 1);
    for (size_t i = 0; i < n; i += 1000)
        nlcl_adam_step(q + i, g + i, m2 + i, v2 + i, n - i < 1000 ? n - i : 1000, &cfg, 1);
    CHECK(memcmp(p, q, n * 4) == 0 && memcmp(m, m2, n * 4) == 0 && memcmp(v, v2, n * 4) == 0);
    free(p); free(q); free(g); free(m); free(v); free(m2); free(v2);
    return test_finish("test_adam");
}
