/* Loss curves of a training run: RUN_DIR/losses.tsv drawn into
 * RUN_DIR/losses.png with PLplot (cairo PNG driver), for nlcl train.
 *
 * PLplot is not a library that fails politely: a missing driver makes it
 * print a device menu and read the answer from standard input, an unwritable
 * file makes it prompt for another name, and its fatal errors call exit().
 * So the drawing runs in a child process (fork) with standard input and
 * output on /dev/null and standard error on a pipe: whatever PLplot does, the
 * training process only sees an exit status and a message, and turns a
 * failure into one warning. */
#define _GNU_SOURCE /* mkstemps, close_range */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <plplot.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nlcl/train.h"

#define MAX_SERIES 16 /* every loss term of nlcl_loss_term fits */
_Static_assert(MAX_SERIES >= NLCL_LOSS_COUNT, "losses.png must have room for every loss term");

typedef struct series {
    int n, cap, ncol;
    char names[MAX_SERIES][32];
    double *x, *y[MAX_SERIES];
} series;

static void series_free(series *s) {
    free(s->x);
    for (int k = 0; k < MAX_SERIES; k++) free(s->y[k]);
}

/* Read losses.tsv: header "iter seconds NAME...", rows of numbers. 0 or -1. */
static int read_tsv(const char *path, series *s, char *why, size_t nwhy) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, nwhy, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int rc = 0;
    if (!fgets(line, sizeof line, f) || strncmp(line, "iter\tseconds", 12) != 0) {
        snprintf(why, nwhy, "%s: no 'iter seconds ...' header", path);
        fclose(f);
        return -1;
    }
    for (char *tok = strtok(line + 12, "\t\r\n"); tok && s->ncol < MAX_SERIES; tok = strtok(NULL, "\t\r\n"))
        snprintf(s->names[s->ncol++], sizeof s->names[0], "%s", tok);
    while (fgets(line, sizeof line, f)) {
        if (s->n == s->cap) {
            int cap = s->cap ? s->cap * 2 : 1024;
            double *nx = realloc(s->x, sizeof(double) * (size_t)cap);
            if (nx) s->x = nx;
            for (int k = 0; nx && k < s->ncol; k++) {
                double *ny = realloc(s->y[k], sizeof(double) * (size_t)cap);
                if (!ny) nx = NULL;
                else s->y[k] = ny;
            }
            if (!nx) {
                snprintf(why, nwhy, "out of memory");
                rc = -1;
                break;
            }
            s->cap = cap;
        }
        char *p = line, *end;
        double it = strtod(p, &end);
        if (end == p) continue;
        strtod(end, &p); /* seconds */
        int k = 0;
        for (; k < s->ncol; k++) {
            s->y[k][s->n] = strtod(p, &end);
            if (end == p) break;
            p = end;
        }
        if (k < s->ncol) continue; /* a partial row */
        s->x[s->n++] = it;
    }
    fclose(f);
    return rc;
}

/* In the child: draw the curves on a log10 y axis into `png`. Exit status:
 * 0 drawn, 3 no pngcairo driver; PLplot itself exits with 1 on its errors. */
static int draw(const char *png, const series *s) {
    const char *names[64], *menus[64];
    const char **devname = names, **menu = menus;
    int ndev = 64, found = 0;
    plgDevs(&menu, &devname, &ndev); /* fills the caller's arrays */
    for (int i = 0; i < ndev; i++) found |= !strcmp(devname[i], "pngcairo");
    if (!found) {
        fprintf(stderr, "PLplot has no pngcairo driver (Debian package plplot-driver-cairo)\n");
        return 3;
    }
    double ymin = INFINITY, ymax = -INFINITY;
    for (int k = 0; k < s->ncol; k++)
        for (int i = 0; i < s->n; i++)
            if (isfinite(s->y[k][i]) && s->y[k][i] > 0) {
                ymin = fmin(ymin, s->y[k][i]);
                ymax = fmax(ymax, s->y[k][i]);
            }
    if (!(ymin < INFINITY)) ymin = ymax = 1;
    double lo = floor(log10(ymin)), hi = ceil(log10(ymax));
    if (hi <= lo) hi = lo + 1;
    double x0 = s->x[0], x1 = s->x[s->n - 1] > x0 ? s->x[s->n - 1] : x0 + 1;
    PLFLT *px = malloc(sizeof(PLFLT) * (size_t)s->n), *py = malloc(sizeof(PLFLT) * (size_t)s->n);
    if (!px || !py) {
        fprintf(stderr, "out of memory\n");
        free(px), free(py);
        return 1;
    }
    static const int rgb[MAX_SERIES][3] = {{0, 0, 0},      {31, 119, 180}, {255, 127, 14},
                                           {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                           {140, 86, 75},  {227, 119, 194}, {188, 189, 34},
                                           {23, 190, 207}};
    plsdev("pngcairo");
    plsfnam(png);
    plsetopt("geometry", "900x560");
    plscol0(0, 255, 255, 255); /* background */
    plscol0(15, 0, 0, 0);      /* axes and labels */
    for (int k = 0; k < MAX_SERIES; k++) plscol0(1 + k, rgb[k][0], rgb[k][1], rgb[k][2]);
    plinit();
    plcol0(15);
    plenv(x0, x1, lo, hi, 0, 20); /* 20: log y axis with a grid */
    pllab("iteration", "loss (log scale)", "NLCL training losses");
    PLINT opt[MAX_SERIES], colors[MAX_SERIES], styles[MAX_SERIES], tcol[MAX_SERIES];
    PLFLT widths[MAX_SERIES];
    const char *text[MAX_SERIES];
    int nl = 0; /* legend entries: the terms with a curve (a term that is off has none) */
    for (int k = 0; k < s->ncol; k++) {
        int m = 0;
        for (int i = 0; i < s->n; i++)
            if (isfinite(s->y[k][i]) && s->y[k][i] > 0) {
                px[m] = s->x[i];
                py[m] = log10(s->y[k][i]);
                m++;
            }
        plcol0(1 + k);
        plwidth(1.5);
        if (m == 0) continue;
        plline(m, px, py);
        opt[nl] = PL_LEGEND_LINE, colors[nl] = 1 + k, styles[nl] = 1, widths[nl] = 2.0;
        tcol[nl] = 15;
        text[nl++] = s->names[k];
    }
    PLFLT lw, lh;
    if (nl > 0)
        pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_TOP, 0.02, 0.02, 0.12, 0, 15, 1, 0, 0, nl, opt,
                 1.0, 0.9, 2.0, 1.0, tcol, text, NULL, NULL, NULL, NULL, colors, styles, widths,
                 NULL, NULL, NULL, NULL);
    plend();
    free(px);
    free(py);
    return 0;
}

/* Run draw() in a child; 0 or -1 with the child's first message in why. */
static int draw_in_child(const char *png, const series *s, char *why, size_t nwhy) {
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, nwhy, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        snprintf(why, nwhy, "fork: %s", strerror(errno));
        close(fds[0]), close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* not the command's Ctrl-C handler */
        signal(SIGTERM, SIG_DFL);
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(fds[1], 2) < 0) _exit(126);
        /* nothing of the parent's: a copy of the run lock's descriptor would
         * keep the run folder locked after the parent dies; and the child
         * dies with the parent (a killed run leaves no drawing behind) */
        if (close_range(3, ~0U, 0) != 0)
            for (int fd = 3; fd < 1024; fd++) close(fd);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(125); /* it died before prctl */
        _exit(draw(png, s));
    }
    close(fds[1]);
    char buf[2048];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + got, sizeof buf - 1 - got)) != 0) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        got += (size_t)r;
        if (got == sizeof buf - 1) { /* keep draining, drop the rest */
            char sink[512];
            while ((r = read(fds[0], sink, sizeof sink)) > 0 || (r < 0 && errno == EINTR)) {
            }
            break;
        }
    }
    close(fds[0]);
    buf[got] = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(png, F_OK) == 0) return 0;
    /* the first non-empty line PLplot printed, without its banner */
    const char *msg = "";
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '*') line++;
        if (*line && strncmp(line, "PLPLOT ERROR", 12) != 0) {
            msg = line;
            break;
        }
    }
    if (*msg) snprintf(why, nwhy, "%s", msg);
    else if (WIFSIGNALED(status)) snprintf(why, nwhy, "PLplot was killed by signal %d", WTERMSIG(status));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        snprintf(why, nwhy, "PLplot exited with status %d", WEXITSTATUS(status));
    else snprintf(why, nwhy, "PLplot did not write the file");
    return -1;
}

int cli_plot_losses(const char *run_dir, char *why, size_t nwhy) {
    size_t len = strlen(run_dir) + 32;
    char *tsv = malloc(len), *png = malloc(len), *tmp = malloc(len);
    series s = {0};
    int rc = -1;
    if (!tsv || !png || !tmp) {
        snprintf(why, nwhy, "out of memory");
        goto out;
    }
    snprintf(tsv, len, "%s/losses.tsv", run_dir);
    snprintf(png, len, "%s/losses.png", run_dir);
    /* a unique temporary name (PLplot opens the file itself, so it cannot be
     * an nlcl_afile): two plots into one folder never share one */
    snprintf(tmp, len, "%s/losses.png.tmp-XXXXXX.png", run_dir);
    if (read_tsv(tsv, &s, why, nwhy) != 0) goto out;
    if (s.n < 2 || s.ncol < 1) { /* nothing to draw yet */
        rc = 0;
        goto out;
    }
    int fd = mkstemps(tmp, 4);
    if (fd < 0) {
        snprintf(why, nwhy, "%s: cannot create a temporary file: %s", run_dir, strerror(errno));
        goto out;
    }
    /* mkstemps creates 0600: the plot is an ordinary output (0666 & ~umask) */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    close(fd);
    if (draw_in_child(tmp, &s, why, nwhy) != 0) {
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, png) != 0) {
        snprintf(why, nwhy, "%s: %s", png, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    series_free(&s);
    free(tsv);
    free(png);
    free(tmp);
    return rc;
}
