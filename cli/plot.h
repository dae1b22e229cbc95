/* Loss curves of a training run (cli/plot.c). */
#ifndef NLCL_CLI_PLOT_H
#define NLCL_CLI_PLOT_H

#include <stddef.h>

/* Draw RUN_DIR/losses.tsv into RUN_DIR/losses.png (900x560, every loss on a
 * log10 axis; written to a unique losses.png.tmp-XXXXXX.png, then renamed). Fewer than two
 * rows is not an error (nothing is drawn). PLplot runs in a child process
 * that cannot read the terminal or end this one. Returns 0, or -1 with the
 * reason (e.g. PLplot's own message) in why. */
int cli_plot_losses(const char *run_dir, char *why, size_t nwhy);

#endif
