/* nlcl synth: not implemented yet. */
#include "cli.h"

int cmd_synth(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "nlcl synth: not implemented yet\n");
    return CLI_EXIT_FAIL;
}
