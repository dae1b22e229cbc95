/* nlcl convert: not implemented yet. */
#include "cli.h"

int cmd_convert(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl convert: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
