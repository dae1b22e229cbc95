/* nlcl info: print a model's architecture and metadata. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nlcl/model.h"

static const char *summary =
    "usage: nlcl info [MODEL]\n\n"
    "Print a model's architecture, size and metadata (training command, data, iterations,\n"
    "final losses). Without MODEL: the embedded default model.";

int cmd_info(int argc, char **argv) {
    const cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    const cli_command cmd = {"info", summary, opts, 0, 1, "at most one MODEL", NULL};
    cli_pos pos;
    int rc = cli_parse(&cmd, argc, argv, &pos);
    if (rc != CLI_CONTINUE) return rc;
    const char *path = pos.n ? pos.v[0] : NULL;
    nlcl_model *m = NULL;
    nlcl_status s = path ? nlcl_model_load(path, &m) : nlcl_model_load_default(&m);
    if (s != NLCL_OK) return cli_fail(s);
    printf("model:        %s\n", path ? path : "<default, embedded>");
    printf("architecture: NLCL generator (conv3x3 3->C, K residual blocks, conv-IN-ReLU-conv, conv3x3 C->3)\n");
    printf("channels:     %d\nblocks:       %d\nparameters:   %zu (%.2f MB as float32)\n",
           nlcl_model_channels(m), nlcl_model_blocks(m), nlcl_model_num_params(m),
           (double)nlcl_model_num_params(m) * 4 / 1e6);
    for (int i = 0; i < nlcl_model_meta_count(m); i++) {
        const char *k = nlcl_model_meta_key(m, i);
        if (!strcmp(k, "channels") || !strcmp(k, "blocks") || !strcmp(k, "architecture")) continue;
        const char *v = nlcl_model_meta(m, k);
        if (strchr(v, '\n')) {
            printf("%s:\n", k);
            for (const char *p = v; *p;) {
                const char *e = strchr(p, '\n');
                int len = e ? (int)(e - p) : (int)strlen(p);
                if (len) printf("    %.*s\n", len, p);
                p = e ? e + 1 : p + len;
            }
        } else {
            int pad = 13 - (int)strlen(k);
            printf("%s:%*s%s\n", k, pad > 1 ? pad : 1, "", v);
        }
    }
    nlcl_model_free(m);
    return CLI_EXIT_OK;
}
