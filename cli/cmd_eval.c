/* nlcl eval: not implemented yet. */
#include "cli.h"

int cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl eval: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
