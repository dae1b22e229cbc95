/* nlcl demo: not implemented yet. */
#include "cli.h"

int cmd_demo(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl demo: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
