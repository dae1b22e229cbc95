/* nlcl convert: import an NLCL generator from a PyTorch .pth state_dict (or
 * re-save any model) as safetensors with nlcl's metadata. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nlcl/files.h"
#include "nlcl/model.h"

static const char *summary =
    "usage: nlcl convert [options] IN.pth OUT.safetensors\n\n"
    "Read a generator (e.g. the authors' latest_net_Back.pth) with a restricted unpickler\n"
    "that executes nothing, check its tensor names and shapes, and write it as safetensors\n"
    "with metadata (architecture, channels, blocks, source). Tensor names stay those of\n"
    "the official state_dict, so PyTorch can load the file with safetensors.torch.";

int cmd_convert(int argc, char **argv) {
    const char *role = NULL;
    const cli_opt opts[] = {
        {"role", 0, CLI_STRING, &role, "NAME", "record the model's role, e.g. G_B or G_R", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return CLI_EXIT_FAIL;
    int npos = 0;
    cli_parse_result pr = cli_parse("convert", summary, opts, argc, argv, pos, &npos);
    if (pr != CLI_PARSE_OK) {
        free(pos);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (npos != 2) {
        free(pos);
        return cli_usage_error("convert", "expected IN and OUT, got %d argument(s)", npos);
    }
    const char *in = pos[0], *out = pos[1];
    free(pos);
    if (nlcl_same_file(in, out)) {
        fprintf(stderr, "nlcl convert: %s: output would overwrite the input\n", out);
        return CLI_EXIT_FAIL;
    }
    nlcl_model *m = NULL;
    nlcl_status s = nlcl_model_load(in, &m);
    if (s == NLCL_OK && !nlcl_model_meta(m, "source"))
        s = nlcl_model_set_meta(m, "source", nlcl_basename(in));
    if (s == NLCL_OK && role) s = nlcl_model_set_meta(m, "role", role);
    if (s == NLCL_OK) s = nlcl_model_save(m, out);
    if (s == NLCL_OK)
        fprintf(stderr, "%s -> %s: NLCL generator, %d channels, %d blocks, %zu parameters\n", in, out,
                nlcl_model_channels(m), nlcl_model_blocks(m), nlcl_model_num_params(m));
    nlcl_model_free(m);
    return s == NLCL_OK ? CLI_EXIT_OK : cli_fail(s);
}
