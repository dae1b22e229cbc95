/* Elementwise arithmetic on float arrays (include/nlcl/ops.h). Each output
 * element depends on the same-index inputs only, so y may alias an input and
 * the result never depends on the number of threads. */
#include "../core/internal.h"
#include "nlcl/ops.h"

#define PAR_MIN 32768

void nlcl_add(const float *a, const float *b, float *y, size_t count) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void nlcl_sub(const float *a, const float *b, float *y, size_t count) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = a[i] - b[i];
}

void nlcl_scale(const float *a, float s, float *y, size_t count) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] = s * a[i];
}

void nlcl_axpy(float s, const float *a, float *y, size_t count) {
#pragma omp parallel for simd schedule(static) if (count >= PAR_MIN)
    for (size_t i = 0; i < count; i++) y[i] += s * a[i];
}
