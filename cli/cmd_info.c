/* nlcl info: not implemented yet. */
#include "cli.h"

int cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl info: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
