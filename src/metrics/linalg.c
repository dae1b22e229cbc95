/* Symmetric eigen-decomposition (cyclic Jacobi) and a MATLAB-style
 * pseudo-inverse, for NIQE's pinv((C_p + C_d) / 2) of a 36x36 matrix. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "metrics/metrics_internal.h"

/* Cyclic Jacobi: rotate away each off-diagonal element a_pq in turn
 * (Golub & Van Loan, Matrix Computations, 4th ed., section 8.5.2) until a
 * sweep finds every off-diagonal element negligible: relative to its two
 * diagonal elements (Demmel & Veselic 1992, which keeps small eigenvalues of
 * a positive definite matrix accurate) or, for (near) singular matrices,
 * below 1e-3 eps times the Frobenius norm (far below MATLAB pinv's cut). */
int nlcl_jacobi_eigen(double *a, int n, double *evals, double *evecs) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) evecs[i * n + j] = i == j;
    double fro = 0;
    for (int i = 0; i < n * n; i++) fro += a[i] * a[i];
    double abs_tol = 1e-3 * DBL_EPSILON * sqrt(fro);
    for (int sweep = 0; sweep < 100; sweep++) {
        int rotated = 0;
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (fabs(apq) <= 0.5 * DBL_EPSILON * sqrt(fabs(a[p * n + p] * a[q * n + q])) ||
                    fabs(apq) <= abs_tol || fabs(apq) < DBL_MIN) {
                    a[p * n + q] = a[q * n + p] = 0;
                    continue;
                }
                rotated = 1;
                double app = a[p * n + p], aqq = a[q * n + q];
                double theta = (aqq - app) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                /* A <- J^T A J with J the rotation in the (p, q) plane */
                for (int k = 0; k < n; k++) {
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                a[p * n + q] = a[q * n + p] = 0;
                for (int k = 0; k < n; k++) {
                    double vkp = evecs[k * n + p], vkq = evecs[k * n + q];
                    evecs[k * n + p] = c * vkp - s * vkq;
                    evecs[k * n + q] = s * vkp + c * vkq;
                }
            }
        if (!rotated) {
            for (int i = 0; i < n; i++) evals[i] = a[i * n + i];
            return 0;
        }
    }
    for (int i = 0; i < n; i++) evals[i] = a[i * n + i];
    return 1;
}

nlcl_status nlcl_pinv_symmetric(const double *a, int n, double *out) {
    size_t nn = (size_t)n * (size_t)n;
    double *w = nlcl_alloc((2 * nn + (size_t)n) * sizeof(double), "pinv");
    if (!w) return NLCL_ERR_NOMEM;
    double *v = w + nn, *ev = v + nn;
    /* symmetrise (the average of a and a^T) so that tiny asymmetries of the
     * input cannot bias the rotations */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) w[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
    for (size_t i = 0; i < nn; i++)
        if (!isfinite(w[i])) {
            nlcl_free(w);
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "non-finite matrix entry");
        }
    if (nlcl_jacobi_eigen(w, n, ev, v) != 0) {
        nlcl_free(w);
        return nlcl_error_set(NLCL_ERR_INTERNAL, "Jacobi iteration did not converge");
    }
    /* MATLAB pinv: tol = max(size(A)) * eps(norm(A)), singular values of a
     * symmetric matrix are |eigenvalues|; eps(x) = 2^(floor(log2 x) - 52). */
    double smax = 0;
    for (int i = 0; i < n; i++) smax = NLCL_MAX(smax, fabs(ev[i]));
    double tol = 0;
    if (smax > 0) {
        int e;
        frexp(smax, &e); /* smax = f 2^e, 0.5 <= f < 1 */
        tol = n * ldexp(1.0, e - 53);
    }
    memset(out, 0, nn * sizeof(double));
    for (int k = 0; k < n; k++) {
        if (!(fabs(ev[k]) > tol)) continue;
        double inv = 1.0 / ev[k];
        for (int i = 0; i < n; i++) {
            double vi = v[i * n + k] * inv;
            for (int j = 0; j < n; j++) out[i * n + j] += vi * v[j * n + k];
        }
    }
    nlcl_free(w);
    return NLCL_OK;
}
