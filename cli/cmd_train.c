/* nlcl train: not implemented yet. */
#include "cli.h"

int cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl train: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
