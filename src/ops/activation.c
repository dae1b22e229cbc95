/* Elementwise activations and their backward passes (include/nlcl/ops.h).
 *
 * NaN inputs propagate (as in PyTorch): the comparisons are written so that
 * a NaN falls through to the "x" branch. Backward passes read the forward's
 * OUTPUT: ReLU and LeakyReLU (slope > 0) keep the sign of x, so y > 0 iff
 * x > 0, and tanh' = 1 - y^2. At x = 0 the derivative taken is PyTorch's:
 * 0 for ReLU (threshold_backward), `slope` for LeakyReLU
 * (leaky_relu_backward uses x > 0 ? 1 : slope).
 */
#include <math.h>

#include "nlcl/ops.h"
#include "ops_check.h"

/* Large arrays are split over the OpenMP threads; small ones are not worth
 * waking them. No reductions here, so results never depend on threads. */
#define PAR_MIN 32768

nlcl_status nlcl_relu_forward(const float *x, float *y, size_t count) {
    NLCL_ARG_NONNULL(count == 0 || (x && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
    return NLCL_OK;
}

nlcl_status nlcl_relu_backward(const float *dy, const float *y, float *dx, size_t count) {
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(count == 0 || (dy && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
    return NLCL_OK;
}

nlcl_status nlcl_leaky_relu_forward(const float *x, float *y, size_t count, float slope) {
    NLCL_ARG_CHECK(slope > 0.0f, "slope %g is not > 0", (double)slope);
    NLCL_ARG_NONNULL(count == 0 || (x && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0.0f ? x[i] * slope : x[i];
    return NLCL_OK;
}

nlcl_status nlcl_leaky_relu_backward(const float *dy, const float *y, float *dx, size_t count,
                                     float slope) {
    NLCL_ARG_CHECK(slope > 0.0f, "slope %g is not > 0", (double)slope);
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(count == 0 || (dy && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) dx[i] += y[i] > 0.0f ? dy[i] : dy[i] * slope;
    return NLCL_OK;
}

nlcl_status nlcl_tanh_forward(const float *x, float *y, size_t count) {
    NLCL_ARG_NONNULL(count == 0 || (x && y));
#pragma omp parallel for schedule(static) if (count >= PAR_MIN / 8)
    for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
    return NLCL_OK;
}

nlcl_status nlcl_tanh_backward(const float *dy, const float *y, float *dx, size_t count) {
    if (!dx) return NLCL_OK;
    NLCL_ARG_NONNULL(count == 0 || (dy && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
    return NLCL_OK;
}
