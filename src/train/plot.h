/* Loss-curve plot of a training run, drawn with PLplot (cairo PNG driver). */
#ifndef NLCL_TRAIN_PLOT_H
#define NLCL_TRAIN_PLOT_H

#include <stdint.h>

#include "nlcl/status.h"

/* Draw `nseries` curves of n points (x[i], y[s][i]) on a log10 y axis, with a
 * legend of names, into the PNG `path` (written atomically: a temporary file
 * renamed over path). Non-positive or non-finite values are left out.
 * Errors: IO. */
nlcl_status nlcl_plot_losses(const char *path, const char *title, const double *x, int n,
                             const double *const *y, const char *const *names, int nseries);

#endif
