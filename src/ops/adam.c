/* Adam optimiser step and the linear-decay learning-rate schedule
 * (include/nlcl/ops.h; reference section 4.4).
 *
 * The step mirrors torch.optim.Adam's single-tensor path in PyTorch 1.13
 * (_single_tensor_adam, amsgrad=False, weight_decay=0, maximize=False):
 *     exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)         m = fma(g, 1-b1, m*b1)
 *     exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *                                                           v = fma((1-b2)*g, g, v*b2)
 *     step_size = lr / (1 - beta1**step)                    (double)
 *     denom = (exp_avg_sq.sqrt() / sqrt(1 - beta2**step)).add_(eps)
 *     param.addcdiv_(exp_avg, denom, value=-step_size)      p = p + (-step_size*m)/denom
 * Scalars are formed in double (Python floats) and rounded to float where
 * PyTorch's kernels round them. Both moment updates are fused multiply-adds,
 * as PyTorch 1.13's vectorised CPU kernels compute them on AVX2/AVX-512 (the
 * fixtures of tests/test_adam.c match bit for bit with these fusions).
 */
#include <math.h>

#include "../core/internal.h"
#include "nlcl/ops.h"
#include "ops_check.h"

typedef struct adam_k {
    float b1, a1, b2, a2, nstep, bc2s, eps;
} adam_k;

/* One contiguous range, compiled for AVX-512, AVX2 (both with FMA) and SSE2
 * and picked at load time (NLCL_VECTOR_CLONES). This file is compiled with
 * -fno-math-errno (CMakeLists.txt; vi is never negative, and errno is not
 * part of the API), so that GCC vectorises sqrtf; on the FMA clones fmaf is
 * an instruction instead of a libm call per element. Every operation is
 * correctly rounded, so all clones give the same floats. */
NLCL_VECTOR_CLONES
static void adam_range(float *p, const float *g, float *m, float *v, size_t n, adam_k k) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = fmaf(gi, k.a1, m[i] * k.b1);
        float vi = fmaf(k.a2 * gi, gi, v[i] * k.b2);
        float den = sqrtf(vi) / k.bc2s + k.eps;
        p[i] = p[i] + (k.nstep * mi) / den;
        m[i] = mi;
        v[i] = vi;
    }
}

#define ADAM_CHUNK 16384

nlcl_status nlcl_adam_step(float *p, const float *g, float *m, float *v, size_t count,
                           const nlcl_adam_cfg *cfg, int64_t step) {
    NLCL_ARG_NONNULL(cfg && (count == 0 || (p && g && m && v)));
    NLCL_ARG_CHECK(step >= 1, "step %lld is not >= 1", (long long)step);
    const double bc1 = 1.0 - pow(cfg->beta1, (double)step);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)step);
    adam_k k;
    k.b1 = (float)cfg->beta1;
    k.a1 = (float)(1.0 - cfg->beta1);
    k.b2 = (float)cfg->beta2;
    k.a2 = (float)(1.0 - cfg->beta2);
    k.nstep = (float)(-(cfg->lr / bc1));
    k.bc2s = (float)sqrt(bc2);
    k.eps = (float)cfg->eps;
    const size_t nch = (count + ADAM_CHUNK - 1) / ADAM_CHUNK;
#pragma omp parallel for schedule(static) if (nch > 1)
    for (size_t c = 0; c < nch; c++) {
        size_t a = c * ADAM_CHUNK, n = NLCL_MIN((size_t)ADAM_CHUNK, count - a);
        adam_range(p + a, g + a, m + a, v + a, n, k);
    }
    return NLCL_OK;
}

double nlcl_lr_linear_decay(double lr0, int64_t t, int64_t n_const, int64_t n_decay) {
    if (n_decay <= 0) return lr0;
    int64_t over = t - n_const;
    if (over < 0) over = 0;
    double f = 1.0 - (double)over / (double)(n_decay + 1);
    return f > 0.0 ? lr0 * f : 0.0;
}
