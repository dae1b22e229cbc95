/* nlcl derain: not implemented yet. */
#include "cli.h"

int cmd_derain(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl derain: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
