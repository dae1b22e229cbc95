/* The contrastive losses of NLCL (docs/TRAINING.md "Losses"), each for one
 * feature tap of one image, returning the loss and adding its gradient. */
#ifndef NLCL_TRAIN_LOSSES_H
#define NLCL_TRAIN_LOSSES_H

#include "nlcl/status.h"

/* PatchNCE (location contrast; paper Eq. (6) in the form of CUT's patchnce.py,
 * reference 4.2). q (S, D) queries, k (S, D) keys (no gradient), rows
 * L2-normalised by the heads:
 *   logits_i = [q_i.k_i, q_i.k_j (j = 0..S-1, j == i replaced by -10)] / tau
 *   loss_i   = logsumexp(logits_i) - logits_i[0]
 * *loss = mean_i loss_i. If dq != NULL: dq += g * d(mean_i loss_i)/dq.
 * work: S*S floats of scratch. Errors: NOMEM. */
nlcl_status nlcl_patchnce(const float *q, const float *k, int S, int D, float tau, float g,
                          float *dq, float *work, double *loss);

/* Layer contrast (paper Eq. (5) in the SupCon form of the reference's disnce.py,
 * reference 5.6). z (M, D) = [zB (nb rows); zR (M - nb rows)], L2-normalised:
 *   s_ij = z_i.z_j / tau ; logden_i = log sum_{j != i} exp(s_ij)
 *   l_i  = -(1/|P(i)|) sum_{j in P(i)} (s_ij - logden_i), P(i) = same layer, j != i
 * *loss = mean_i l_i; requires 2 <= nb <= M - 2. If dz != NULL:
 * dz += g * d(mean_i l_i)/dz. work: M*M floats of scratch. Errors:
 * INVALID_ARG (nb outside [2, M - 2]), NOMEM. */
nlcl_status nlcl_supcon(const float *z, int M, int nb, int D, float tau, float g, float *dz,
                        float *work, double *loss);

#endif
