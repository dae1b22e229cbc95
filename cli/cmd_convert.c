/* nlcl convert: import an NLCL generator from a PyTorch .pth state_dict (or
 * re-save any model) as safetensors with nlcl's metadata, or export it as an
 * ONNX graph (nlcl/onnx.h); the output's extension picks the format. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nlcl/files.h"
#include "nlcl/model.h"
#include "nlcl/onnx.h"
#include "nlcl/weights.h"

/* 1 if path is an existing nlcl training checkpoint (never overwritten) */
static int is_checkpoint(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    int yes = 0;
    if (nlcl_safetensors_load(path, &d) == NLCL_OK) {
        const char *fmt = nlcl_tensor_dict_get_meta(&d, "format");
        yes = fmt && !strcmp(fmt, "nlcl-checkpoint-1");
    }
    nlcl_tensor_dict_free(&d);
    return yes;
}

/* metadata keys nlcl writes itself from the model (not settable by --meta) */
static int reserved_key(const char *k, size_t n) {
    static const char *const keys[] = {"role", "residual", "channels", "blocks", "architecture",
                                       "format", NULL};
    for (int i = 0; keys[i]; i++)
        if (strlen(keys[i]) == n && !strncmp(keys[i], k, n)) return 1;
    return 0;
}

static const char *summary =
    "usage: nlcl convert [options] [IN] OUT.safetensors\n"
    "       nlcl convert [options] [IN] OUT.onnx\n\n"
    "Read a generator (e.g. the authors' latest_net_Back.pth) with a restricted unpickler\n"
    "that executes nothing, check its tensor names and shapes, and write it as safetensors\n"
    "with metadata (architecture, channels, blocks, source). Tensor names stay those of\n"
    "the official state_dict, so PyTorch can load the file with safetensors.torch.\n"
    "IN may also be an nlcl model or a training checkpoint (the generator the run exports:\n"
    "G_ema when it kept a moving average (--ema), else G_B; or the --role network);\n"
    "--meta KEY=VALUE (repeatable) records further metadata, e.g. the training command\n"
    "of a checkpoint chosen as a model. Without IN, the default model embedded in nlcl\n"
    "is written.\n"
    "OUT.onnx: an ONNX graph (opset 13, IR 7) for ONNX Runtime and other runtimes.\n"
    "Input \"input\" and output \"output\" are float32 (N, 3, H, W) RGB in [-1, 1]\n"
    "(x = u8 / 255 * 2 - 1; u8 = round((y + 1) / 2 * 255)) with N, H and W dynamic;\n"
    "the residual option of nlcl models and the final clamp are part of the graph;\n"
    "the metadata goes to the graph's metadata_props.";

int cmd_convert(int argc, char **argv) {
    const char *role = NULL;
    const char **metas = calloc((size_t)argc + 1, sizeof *metas);
    if (!metas) return CLI_EXIT_FAIL;
    cli_list meta = {metas, 0, argc};
    const cli_opt opts[] = {
        {"role", 0, CLI_STRING, &role, "NAME", "the network to take from a checkpoint (G_B, G_ema, G_R), recorded as the model's role", 0, 0, NULL},
        {"meta", 0, CLI_LIST, &meta, "KEY=VALUE", "record a metadata entry (repeatable)", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    const cli_command cmd = {"convert", summary, opts, 1, 2, "[IN] OUT", NULL};
    cli_pos pos;
    int rc = cli_parse(&cmd, argc, argv, &pos);
    if (rc != CLI_CONTINUE) {
        free(metas);
        return rc;
    }
    /* without IN: the default model embedded in the library */
    const char *in = pos.n == 2 ? pos.v[0] : NULL, *out = pos.v[pos.n - 1];
    const int nmeta = meta.n;
    for (int i = 0; i < nmeta; i++) {
        const char *eq = strchr(metas[i], '=');
        const char *why = NULL;
        if (!eq || eq == metas[i]) why = "expected KEY=VALUE";
        else if (reserved_key(metas[i], (size_t)(eq - metas[i])))
            why = "this key is written by nlcl from the model itself (use --role for the role)";
        for (const char *c = metas[i]; !why && *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) why = "control characters are not allowed";
        if (why) {
            rc = cli_usage_error("convert", "--meta '%.80s': %s", metas[i], why);
            free(metas);
            return rc;
        }
    }
    size_t ol = strlen(out);
    int onnx = ol >= 5 && strcmp(out + ol - 5, ".onnx") == 0;
    if (!onnx && (ol < 12 || strcmp(out + ol - 12, ".safetensors") != 0)) {
        free(metas);
        return cli_usage_error("convert", "%s: the output must end in .safetensors (an nlcl model) "
                                          "or .onnx (an ONNX graph)", out);
    }
    if (is_checkpoint(out)) {
        fprintf(stderr, "nlcl convert: %s is a training checkpoint; convert never overwrites one "
                        "(choose another output)\n", out);
        free(metas);
        return CLI_EXIT_FAIL;
    }
    if (in && nlcl_same_file(in, out)) {
        fprintf(stderr, "nlcl convert: %s: output would overwrite the input\n", out);
        free(metas);
        return CLI_EXIT_FAIL;
    }
    /* its folder must exist, be a folder and be writable: said before any work */
    if (cli_check_out_path("convert", out, 1) != CLI_EXIT_OK) {
        free(metas);
        return CLI_EXIT_FAIL;
    }
    nlcl_model *m = NULL;
    nlcl_status s = in ? nlcl_model_load_role(in, role, &m) : nlcl_model_load_default(&m);
    if (s == NLCL_OK && !nlcl_model_meta(m, "source"))
        s = nlcl_model_set_meta(m, "source", in ? nlcl_basename(in) : "the default model of nlcl");
    if (s == NLCL_OK && role) s = nlcl_model_set_meta(m, "role", role);
    for (int i = 0; s == NLCL_OK && i < nmeta; i++) {
        const char *eq = strchr(metas[i], '=');
        size_t kl = (size_t)(eq - metas[i]);
        char *key = malloc(kl + 1);
        if (!key) {
            s = NLCL_ERR_NOMEM;
            break;
        }
        memcpy(key, metas[i], kl);
        key[kl] = 0;
        s = nlcl_model_set_meta(m, key, eq + 1);
        free(key);
    }
    free(metas);
    if (s == NLCL_OK) s = onnx ? nlcl_model_save_onnx(m, out) : nlcl_model_save(m, out);
    if (s == NLCL_OK)
        fprintf(stderr, "%s -> %s: NLCL generator, %d channels, %d blocks, %zu parameters%s\n",
                in ? in : "default model",
                out, nlcl_model_channels(m), nlcl_model_blocks(m), nlcl_model_num_params(m),
                onnx ? (nlcl_model_residual(m) ? "; ONNX opset 13, residual" : "; ONNX opset 13")
                     : "");
    nlcl_model_free(m);
    return s == NLCL_OK ? CLI_EXIT_OK : cli_fail(s);
}
