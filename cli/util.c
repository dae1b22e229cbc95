/* Pieces shared by the subcommands (cli/cli.h): the input list, the output
 * paths' checks, the clock. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nlcl/files.h"

double cli_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_report_unreadable(const char *cmd, const char *dir, char **un, int n) {
    if (n == 0) return;
    fprintf(stderr, "nlcl %s: warning: %s: %d file%s skipped that nlcl cannot read: ", cmd, dir, n,
            n == 1 ? "" : "s");
    for (int k = 0; k < n && k < 4; k++)
        fprintf(stderr, "%s%s (%s)", k ? ", " : "", un[k] + strlen(dir) + (dir[strlen(dir) - 1] != '/'),
                nlcl_skipped_image_reason(un[k]));
    fprintf(stderr, "%s\n", n > 4 ? ", ..." : "");
}

/* A folder's images (recursive > 0: its subfolders' too), reported as above. */
static int list_folder(const char *cmd, const char *arg, int quiet, int recursive, char ***list, int *n) {
    char **un = NULL;
    int nun = 0;
    nlcl_status s = nlcl_list_images_ex(arg, recursive > 0, list, n, &un, &nun);
    if (s != NLCL_OK) return cli_fail(s);
    cli_report_unreadable(cmd, arg, un, nun);
    nlcl_list_free(un);
    if (*n == 0 && !quiet)
        fprintf(stderr, "nlcl %s: %s: no PNG/JPEG/TIFF/BMP files%s\n", cmd, arg,
                recursive == 0 ? " (-r also reads its subfolders)" : ""); /* < 0: the command has no -r */
    return CLI_EXIT_OK;
}

/* Grow the arrays of in for add more inputs. */
static int reserve(cli_inputs *in, int add) {
    if (in->n + add <= in->cap) return CLI_EXIT_OK;
    int cap = (in->n + add) * 2;
    char **np = realloc(in->path, sizeof *np * (size_t)cap);
    if (np) in->path = np;
    char **nr = np ? realloc(in->rel, sizeof *nr * (size_t)cap) : NULL;
    if (nr) in->rel = nr;
    if (!np || !nr) return CLI_EXIT_FAIL;
    in->cap = cap;
    return CLI_EXIT_OK;
}

/* Append the inputs of one argument (a file, or a folder's images). */
static int add_input(const char *cmd, const char *arg, int quiet, int recursive, cli_inputs *in) {
    char **list = NULL;
    int n = 0;
    if (nlcl_is_dir(arg)) {
        int rc = list_folder(cmd, arg, quiet, recursive, &list, &n);
        if (rc != CLI_EXIT_OK) return rc;
    } else if (access(arg, R_OK) != 0) {
        fprintf(stderr, "nlcl %s: %s: no such file or folder (or not readable)\n", cmd, arg);
        return CLI_EXIT_FAIL;
    }
    int add = list ? n : 1;
    if (reserve(in, add) != CLI_EXIT_OK) {
        nlcl_list_free(list);
        return CLI_EXIT_FAIL;
    }
    /* the name an output keeps: the path below the folder argument */
    size_t skip = strlen(arg) + (arg[strlen(arg) - 1] != '/');
    int rc = CLI_EXIT_OK;
    for (int k = 0; k < add; k++) {
        const char *p = list ? list[k] : arg;
        in->path[in->n] = strdup(p);
        in->rel[in->n] = strdup(list ? p + skip : nlcl_basename(p));
        if (!in->path[in->n] || !in->rel[in->n]) rc = CLI_EXIT_FAIL;
        in->n++;
    }
    nlcl_list_free(list);
    return rc;
}

int cli_expand_inputs(const char *cmd, const cli_pos *pos, int quiet, int recursive, cli_inputs *in) {
    memset(in, 0, sizeof *in);
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < pos->n && rc == CLI_EXIT_OK; i++)
        rc = add_input(cmd, pos->v[i], quiet, recursive, in);
    if (rc == CLI_EXIT_OK && in->n == 0) {
        fprintf(stderr, "nlcl %s: no input images\n", cmd);
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}

void cli_inputs_free(cli_inputs *in) {
    for (int i = 0; i < in->n; i++) {
        free(in->path[i]);
        free(in->rel[i]);
    }
    free(in->path);
    free(in->rel);
    memset(in, 0, sizeof *in);
}

void cli_catch_signals(void (*handler)(int), int usr1) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (usr1) sigaction(SIGUSR1, &sa, NULL);
}

int cli_check_writable_dir(const char *cmd, const char *dir) {
    size_t n = strlen(dir) + 32;
    char *t = malloc(n);
    if (!t) return CLI_EXIT_FAIL;
    snprintf(t, n, "%s/.nlcl-write-check-XXXXXX", dir);
    int fd = mkstemp(t), e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(t);
    }
    free(t);
    if (fd >= 0) return CLI_EXIT_OK;
    fprintf(stderr, "nlcl %s: %s: cannot write in the output folder: %s\n", cmd, dir, strerror(e));
    return CLI_EXIT_FAIL;
}

/* The checks of cli_check_out_path on path in folder dir ("." for none). */
static int check_out_in(const char *cmd, const char *path, const char *dir, int writable) {
    struct stat st;
    const size_t nb = strlen(nlcl_basename(path)), np = strlen(path);
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "nlcl %s: %s: the folder %s %s\n", cmd, path, dir,
                errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "nlcl %s: %s: %s is not a folder\n", cmd, path, dir);
        return CLI_EXIT_FAIL;
    }
    long lim = pathconf(dir, _PC_NAME_MAX);
    if (lim <= 0) lim = 255;
    if (nb > (size_t)lim) {
        fprintf(stderr, "nlcl %s: %s: the file name is %zu bytes, more than the %ld the folder allows\n", cmd,
                path, nb, lim);
        return CLI_EXIT_FAIL;
    }
    if (np >= PATH_MAX) {
        fprintf(stderr, "nlcl %s: %s: the path is %zu bytes, more than the %d allowed\n", cmd, path, np,
                PATH_MAX - 1);
        return CLI_EXIT_FAIL;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "nlcl %s: %s: is a folder, the output cannot replace it: choose another name\n",
                cmd, path);
        return CLI_EXIT_FAIL;
    }
    return writable ? cli_check_writable_dir(cmd, dir) : CLI_EXIT_OK;
}

int cli_check_out_path(const char *cmd, const char *path, int writable) {
    char *dir = nlcl_dirname(path);
    if (!dir) {
        fprintf(stderr, "nlcl %s: out of memory\n", cmd);
        return CLI_EXIT_FAIL;
    }
    int rc = check_out_in(cmd, path, dir, writable);
    free(dir);
    return rc;
}
