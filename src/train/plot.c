/* Loss curves with PLplot (src/train/plot.h). */
#include "train/plot.h"

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

nlcl_status nlcl_plot_losses(const char *path, const char *title, const double *x, int n,
                             const double *const *y, const char *const *names, int nseries) {
    if (n < 1 || nseries < 1) return NLCL_OK;
    double ymin = INFINITY, ymax = -INFINITY;
    for (int s = 0; s < nseries; s++)
        for (int i = 0; i < n; i++)
            if (isfinite(y[s][i]) && y[s][i] > 0) {
                ymin = fmin(ymin, y[s][i]);
                ymax = fmax(ymax, y[s][i]);
            }
    if (!(ymin < INFINITY)) return NLCL_OK;
    double lo = floor(log10(ymin)), hi = ceil(log10(ymax));
    if (hi <= lo) hi = lo + 1;
    double x0 = x[0], x1 = x[n - 1] > x[0] ? x[n - 1] : x[0] + 1;
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp) return nlcl_error_set(NLCL_ERR_NOMEM, "plot: out of memory");
    snprintf(tmp, len, "%s.tmp.png", path);
    PLFLT *px = malloc(sizeof(PLFLT) * (size_t)n), *py = malloc(sizeof(PLFLT) * (size_t)n);
    if (!px || !py) {
        free(tmp), free(px), free(py);
        return nlcl_error_set(NLCL_ERR_NOMEM, "plot: out of memory");
    }
    static const int rgb[8][3] = {{0, 0, 0},     {31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                  {214, 39, 40}, {148, 103, 189}, {140, 86, 75}, {227, 119, 194}};
    PLINT strm;
    plmkstrm(&strm); /* a private stream: safe to call repeatedly */
    plsdev("pngcairo");
    plsfnam(tmp);
    plsetopt("geometry", "900x560");
    plscol0(0, 255, 255, 255);  /* background */
    plscol0(15, 0, 0, 0);       /* axes and labels */
    for (int s = 0; s < 8; s++) plscol0(1 + s, rgb[s][0], rgb[s][1], rgb[s][2]);
    plinit();
    plcol0(15);
    plenv(x0, x1, lo, hi, 0, 20); /* 20: log y axis with a grid */
    pllab("iteration", "loss (log scale)", title);
    PLINT opt[8], colors[8], styles[8];
    PLFLT widths[8];
    const char *text[8];
    int ns = nseries > 8 ? 8 : nseries;
    for (int s = 0; s < ns; s++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (isfinite(y[s][i]) && y[s][i] > 0) {
                px[m] = x[i];
                py[m] = log10(y[s][i]);
                m++;
            }
        plcol0(1 + s);
        plwidth(1.5);
        if (m > 0) plline(m, px, py);
        opt[s] = PL_LEGEND_LINE;
        colors[s] = 1 + s;
        styles[s] = 1;
        widths[s] = 2.0;
        text[s] = names[s];
    }
    PLFLT lw, lh;
    PLINT tcol[8];
    PLFLT tscale = 0.9;
    for (int s = 0; s < ns; s++) tcol[s] = 15;
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_RIGHT | PL_POSITION_TOP,
             0.02, 0.02, 0.12, 0, 15, 1, 0, 0, ns, opt, 1.0, tscale, 2.0, 1.0, tcol, text, NULL,
             NULL, NULL, NULL, colors, styles, widths, NULL, NULL, NULL, NULL);
    plend1();
    free(px);
    free(py);
    nlcl_status st = NLCL_OK;
    if (access(tmp, F_OK) != 0)
        st = nlcl_error_set(NLCL_ERR_IO, "plot: %s: PLplot did not write the file", path);
    else if (rename(tmp, path) != 0)
        st = nlcl_error_set(NLCL_ERR_IO, "plot: %s: %s", path, strerror(errno));
    if (st != NLCL_OK) unlink(tmp);
    free(tmp);
    return st;
}
