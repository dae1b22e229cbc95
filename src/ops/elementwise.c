/* Elementwise arithmetic on float arrays (include/nlcl/ops.h). Each output
 * element depends on the same-index inputs only, so y may alias an input and
 * the result never depends on the number of threads. */
#include "nlcl/ops.h"
#include "ops_check.h"

#define PAR_MIN 32768

nlcl_status nlcl_add(const float *a, const float *b, float *y, size_t count) {
    NLCL_ARG_NONNULL(count == 0 || (a && b && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
    return NLCL_OK;
}

nlcl_status nlcl_sub(const float *a, const float *b, float *y, size_t count) {
    NLCL_ARG_NONNULL(count == 0 || (a && b && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = a[i] - b[i];
    return NLCL_OK;
}

nlcl_status nlcl_scale(const float *a, float s, float *y, size_t count) {
    NLCL_ARG_NONNULL(count == 0 || (a && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = s * a[i];
    return NLCL_OK;
}

nlcl_status nlcl_axpy(float s, const float *a, float *y, size_t count) {
    NLCL_ARG_NONNULL(count == 0 || (a && y));
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] += s * a[i];
    return NLCL_OK;
}
