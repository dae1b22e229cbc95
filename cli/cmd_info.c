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
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return CLI_EXIT_FAIL;
    int npos = 0;
    cli_parse_result pr = cli_parse("info", summary, opts, argc, argv, pos, &npos);
    if (pr != CLI_PARSE_OK) {
        free(pos);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (npos > 1) {
        free(pos);
        return cli_usage_error("info", "expected at most one MODEL");
    }
    const char *path = npos ? pos[0] : NULL;
    free(pos);
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
