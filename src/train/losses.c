/* Contrastive losses (src/train/losses.h). Softmax statistics in double. */
#include "train/losses.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/ops.h"

/* The scores work = a b^T (n, n) of n rows of d values, and a buffer for the
 * n row losses (freed by mean_rows). */
static nlcl_status scores(const float *a, const float *b, int n, int d, float *work, double **rows,
                          const char *what) {
    *rows = malloc(sizeof(double) * (size_t)n);
    if (!*rows) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory (%s of %d rows)", what, n);
    nlcl_linear_forward(a, b, NULL, work, n, d, n);
    return NLCL_OK;
}

/* The mean of the n row losses, summed in a fixed order (independent of the
 * thread count); frees them. */
static double mean_rows(double *rows, int n) {
    double total = 0;
    for (int i = 0; i < n; i++) total += rows[i];
    free(rows);
    return total / n;
}

/* PatchNCE, the location contrast of paper Eq. (6) (src/train/losses.h). */
nlcl_status nlcl_patchnce(const float *q, const float *k, int S, int D, float tau, float g,
                          float *dq, float *work, double *loss) {
    double *li;
    NLCL_TRY(scores(q, k, S, D, work, &li, "PatchNCE")); /* work = Q K^T (S, S) */
    const double inv_tau = 1.0 / (double)tau;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < S; i++) {
        float *row = work + (size_t)i * S;
        double pos = row[i] * inv_tau;
        double neg_diag = (double)(-10.0f / tau); /* computed as torch: (-10) / tau in float */
        double mx = pos;
        for (int j = 0; j < S; j++) {
            double v = j == i ? neg_diag : row[j] * inv_tau;
            if (v > mx) mx = v;
        }
        double sum = exp(pos - mx);
        for (int j = 0; j < S; j++) sum += exp((j == i ? neg_diag : row[j] * inv_tau) - mx);
        double lse = mx + log(sum);
        li[i] = lse - pos;
        /* gradient w.r.t. the row of Q K^T: softmax - onehot(0), / tau */
        double scale = (double)g / S * inv_tau;
        double p_pos = exp(pos - lse);
        for (int j = 0; j < S; j++) {
            if (j == i) continue;
            row[j] = (float)(scale * exp(row[j] * inv_tau - lse));
        }
        row[i] = (float)(scale * (p_pos - 1.0));
    }
    if (dq) nlcl_linear_backward(work, q, k, dq, NULL, NULL, S, D, S);
    *loss = mean_rows(li, S);
    return NLCL_OK;
}

/* SupCon, the layer contrast of paper Eq. (5) (src/train/losses.h). */
nlcl_status nlcl_supcon(const float *z, int M, int nb, int D, float tau, float g, float *dz,
                        float *work, double *loss) {
    if (nb < 2 || M - nb < 2)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "layer contrast: %d and %d patches; each layer needs at least 2", nb,
                              M - nb);
    double *lrow;
    NLCL_TRY(scores(z, z, M, D, work, &lrow, "layer contrast")); /* work = Z Z^T (M, M) */
    const double inv_tau = 1.0 / (double)tau;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < M; i++) {
        float *row = work + (size_t)i * M;
        int li = i < nb;
        double mx = -INFINITY;
        for (int j = 0; j < M; j++)
            if (j != i && row[j] * inv_tau > mx) mx = row[j] * inv_tau;
        double sum = 0, pos = 0;
        int npos = 0;
        for (int j = 0; j < M; j++) {
            if (j == i) continue;
            double s = row[j] * inv_tau;
            sum += exp(s - mx);
            if ((j < nb) == li) {
                pos += s;
                npos++;
            }
        }
        double logden = mx + log(sum);
        lrow[i] = -(pos / npos - logden);
        /* d l_i / d s_ij = softmax_ij - [j in P(i)]/|P(i)|, (j != i) */
        double scale = (double)g / M;
        for (int j = 0; j < M; j++) {
            if (j == i) {
                row[j] = 0.0f;
                continue;
            }
            double ds = exp(row[j] * inv_tau - logden) - (((j < nb) == li) ? 1.0 / npos : 0.0);
            row[j] = (float)(scale * ds * inv_tau);
        }
    }
    if (dz) {
        /* s = z z^T: dz += (dS + dS^T) z. Symmetrise in place. */
        for (int i = 0; i < M; i++)
            for (int j = i + 1; j < M; j++) {
                float a = work[(size_t)i * M + j] + work[(size_t)j * M + i];
                work[(size_t)i * M + j] = work[(size_t)j * M + i] = a;
            }
        nlcl_linear_backward(work, z, z, dz, NULL, NULL, M, D, M);
    }
    *loss = mean_rows(lrow, M);
    return NLCL_OK;
}
