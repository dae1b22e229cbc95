/* Internal helpers of src/metrics (not installed): channel conversion,
 * MATLAB-compatible imresize, Gaussian windows, symmetric pseudo-inverse,
 * NIQE building blocks. Exposed to tests/test_metrics.c. */
#ifndef NLCL_METRICS_INTERNAL_H
#define NLCL_METRICS_INTERNAL_H

#include <omp.h>
#include <stddef.h>

#include "nlcl/metrics.h"

/* Parallelise a loop only when it is worth it and not already inside a
 * parallel region (the CLI runs images in parallel). */
#define NLCL_OMP_IF(work) ((work) > 32768 && !omp_in_parallel())

/* Planes of `img` for a metric: channel conversion (nlcl/metrics.h), then
 * the border crop. *planes is allocated with nlcl_alloc, shape (*nc, *h, *w),
 * *nc = 3 for RGB on a 3-channel image, else 1. Messages start with `name`.
 * Errors: INVALID_ARG (bad image, crop leaves nothing), NOMEM. */
nlcl_status nlcl_metric_planes(const nlcl_metric_image *img, nlcl_metric_channel channel,
                               int round_luma, int crop, double **planes,
                               int *nc, int *h, int *w);
/* Check the struct itself (dimensions, channels, data). */
nlcl_status nlcl_metric_check_image(const nlcl_metric_image *img, const char *what);
const char *nlcl_metric_channel_label(nlcl_metric_channel c, int round_luma);
/* A full-reference metric's two images: each checked as above, then the same
 * width, height and channels. Errors: INVALID_ARG naming the prediction or
 * the reference. */
nlcl_status nlcl_metric_check_pair(const nlcl_metric_image *pred, const nlcl_metric_image *ref);
/* nlcl_metric_planes of both images (checked with nlcl_metric_check_pair, so
 * both give the same shape): *a from pred, *b from ref, both freed on error. */
nlcl_status nlcl_metric_pair_planes(const nlcl_metric_image *pred, const nlcl_metric_image *ref,
                                    nlcl_metric_channel channel, int round_luma, int crop,
                                    double **a, double **b, int *nc, int *h, int *w);

/* MATLAB imresize(im, scale) with the default 'bicubic' method and
 * antialiasing for scale < 1, on a double plane (h, w): output size
 * ceil(scale * h) x ceil(scale * w); rows (dimension 1) first, then columns,
 * weights and indices exactly as imresize.m's contributions(). out must hold
 * the output. Errors: INVALID_ARG, NOMEM. */
int nlcl_imresize_out_len(int in_len, double scale);
nlcl_status nlcl_imresize_bicubic(const double *in, int h, int w, double scale, double *out);
/* The weights and 0-based source indices contributions() gives for one
 * dimension; *taps per output (after MATLAB's removal of all-zero columns).
 * weights/indices are allocated ((out_len, *taps) row-major), free with
 * nlcl_free. */
nlcl_status nlcl_imresize_contributions(int in_len, int out_len, double scale, double **weights,
                                        int **indices, int *taps);

/* Normalised 1-D Gaussian exp(-x^2 / (2 sigma^2)), x = -(n-1)/2 .. (n-1)/2
 * (the separable factor of fspecial('gaussian', n, sigma)). */
void nlcl_gaussian_1d(int n, double sigma, double *g);

/* Eigen-decomposition of a symmetric n x n matrix (row-major) by cyclic
 * Jacobi rotations: a is destroyed, evals[n], evecs (n x n, columns are the
 * eigenvectors). Returns 0 on convergence. */
int nlcl_jacobi_eigen(double *a, int n, double *evals, double *evecs);
/* Moore-Penrose pseudo-inverse of a symmetric n x n matrix as MATLAB pinv:
 * singular values (|eigenvalues|) <= n * eps(max singular value) dropped.
 * Errors: INTERNAL (no convergence), NOMEM. */
nlcl_status nlcl_pinv_symmetric(const double *a, int n, double *out);

/* NIQE pieces. MSCN coefficients of a plane (h, w), see niqe.c.
 * Errors: NOMEM. */
nlcl_status nlcl_niqe_mscn(const double *im, int h, int w, double *out);
/* r(gamma) table on the grid 0.2:0.001:10 (9801 values). */
#define NLCL_NIQE_GAMMA_N 9801
void nlcl_niqe_gamma_grid(double *gam, double *r_gam);
/* estimateaggdparam.m on n values (the products of a block, say). */
void nlcl_aggd_fit(const double *v, size_t n, const double *gam, const double *r_gam,
                   double *alpha, double *betal, double *betar);
/* computefeature.m on a (bh, bw) block of MSCN coefficients: 18 values. */
void nlcl_niqe_block_features(const double *block, int bh, int bw, const double *gam,
                              const double *r_gam, double *feat, double *scratch);

#endif
