/* Pieces shared by the subcommands (cli/cli.h): the input list, the clock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nlcl/files.h"

double cli_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Append the inputs of one argument (a file, or a folder's images). */
static int add_input(const char *cmd, const char *arg, int quiet, char ***inputs, int *nin, int *cap) {
    char **list = NULL;
    int n = 0;
    if (nlcl_is_dir(arg)) {
        nlcl_status s = nlcl_list_images(arg, &list, &n);
        if (s != NLCL_OK) return cli_fail(s);
        if (n == 0 && !quiet) fprintf(stderr, "nlcl %s: %s: no PNG/JPEG/TIFF/BMP files\n", cmd, arg);
    } else if (access(arg, R_OK) != 0) {
        fprintf(stderr, "nlcl %s: %s: no such file or folder (or not readable)\n", cmd, arg);
        return CLI_EXIT_FAIL;
    }
    int add = list ? n : 1;
    if (*nin + add > *cap) {
        *cap = (*nin + add) * 2;
        char **nv = realloc(*inputs, sizeof *nv * (size_t)*cap);
        if (!nv) {
            nlcl_list_free(list);
            return CLI_EXIT_FAIL;
        }
        *inputs = nv;
    }
    int rc = CLI_EXIT_OK;
    for (int k = 0; k < add; k++)
        if (!((*inputs)[(*nin)++] = strdup(list ? list[k] : arg))) rc = CLI_EXIT_FAIL;
    nlcl_list_free(list);
    return rc;
}

int cli_expand_inputs(const char *cmd, const cli_pos *pos, int quiet, char ***inputs, int *nin) {
    *inputs = NULL;
    *nin = 0;
    int cap = 0, rc = CLI_EXIT_OK;
    for (int i = 0; i < pos->n && rc == CLI_EXIT_OK; i++)
        rc = add_input(cmd, pos->v[i], quiet, inputs, nin, &cap);
    if (rc == CLI_EXIT_OK && *nin == 0) {
        fprintf(stderr, "nlcl %s: no input images\n", cmd);
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}
