/* nlcl demo: derain a sample nlcl makes itself (synthetic rain on a generated
 * scene), or given images, and write input | derained | rain layer side by
 * side, with PSNR before and after when the clean image is known. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/metrics.h"
#include "nlcl/model.h"
#include "nlcl/synth.h"

static const char *summary =
    "usage: nlcl demo [-m MODEL] [--compare MODEL2] [-o OUT.png] [IMAGE]\n\n"
    "Without IMAGE: generate a scene, add synthetic rain (seeded), derain it with the\n"
    "model (default: the embedded one) and print PSNR (Y, BT.601) of the rainy input and of\n"
    "the result against the clean scene. With IMAGE: derain it. Either way OUT.png\n"
    "(default demo.png) shows input | derained | rain layer (O - B, brighter = more rain),\n"
    "or, with --compare, input | derained by MODEL | derained by MODEL2.";

static double psnr_y(const nlcl_image *a, const nlcl_image *b) {
    nlcl_metric_image ma = {0}, mb = {0};
    double v = -1;
    nlcl_psnr_opts o;
    nlcl_psnr_opts_init(&o);
    if (nlcl_metric_image_from_image(a, 1, &ma) == NLCL_OK &&
        nlcl_metric_image_from_image(b, 1, &mb) == NLCL_OK)
        (void)nlcl_psnr(&ma, &mb, &o, &v);
    nlcl_metric_image_free(&ma);
    nlcl_metric_image_free(&mb);
    return v;
}

static void clamp_unit(nlcl_image *im) {
    size_t n = (size_t)3 * im->width * im->height;
    for (size_t i = 0; i < n; i++) im->data[i] = im->data[i] > 1 ? 1 : im->data[i] < -1 ? -1 : im->data[i];
}

int cmd_demo(int argc, char **argv) {
    const char *model = NULL, *out = "demo.png", *compare = NULL;
    uint64_t seed = 7;
    int width = 480, threads = 0;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &model, "FILE", "model (default: the embedded one)", 0, 0, NULL},
        {"output", 'o', CLI_STRING, &out, "OUT.png", "side-by-side image (default demo.png)", 0, 0, NULL},
        {"compare", 0, CLI_STRING, &compare, "FILE", "a second model: show input | derained | derained by FILE", 0, 0, NULL},
        {"seed", 's', CLI_UINT64, &seed, "S", "seed of the generated sample, 0..2^64-1 (default 7)", 0, 0, NULL},
        {"width", 0, CLI_INT, &width, "W", "width of the generated sample (default 480)", 64, 4096, NULL},
        {"threads", 't', CLI_INT, &threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    const cli_command cmd = {"demo", summary, opts, 0, 1, "at most one IMAGE", NULL};
    cli_pos pos;
    int rc = cli_parse(&cmd, argc, argv, &pos);
    if (rc != CLI_CONTINUE) return rc;
    if (threads > 0) nlcl_set_num_threads(threads);
    const char *input = pos.n > 0 ? pos.v[0] : NULL;
    const char *dot = strrchr(nlcl_basename(out), '.');
    if (!dot || (strcasecmp(dot, ".png") && strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg")))
        return cli_usage_error("demo", "-o %s: the output must end in .png or .jpg", out);
    if ((compare && nlcl_same_file(compare, out)) || (model && nlcl_same_file(model, out))) {
        fprintf(stderr, "nlcl demo: %s: output would overwrite a model\n", out);
        return CLI_EXIT_FAIL;
    }
    if (input && nlcl_same_file(input, out)) {
        fprintf(stderr, "nlcl demo: %s: output would overwrite the input\n", out);
        return CLI_EXIT_FAIL;
    }
    /* its folder must exist, be a folder and be writable: said before any work */
    if (cli_check_out_path("demo", out, 1) != CLI_EXIT_OK) return CLI_EXIT_FAIL;
    nlcl_model *m = NULL, *m2 = NULL;
    nlcl_image clean = {0}, rainy = {0}, der = {0}, der2 = {0}, panel = {0};
    nlcl_image_info info = {0}; /* of the input: a 16-bit one gives a 16-bit PNG */
    nlcl_status s = model ? nlcl_model_load(model, &m) : nlcl_model_load_default(&m);
    if (s == NLCL_OK && compare) s = nlcl_model_load(compare, &m2);
    if (s == NLCL_OK) {
        if (input) {
            nlcl_image_meta meta; /* the panel is not a version of the photo: none carried, said */
            char why[600];
            s = cli_load_image_meta("demo", input, &rainy, NULL, &info, &meta, why, sizeof why);
            if (s == NLCL_OK) cli_say_meta("demo", input, NULL, &meta, why);
        } else {
            nlcl_rng r;
            nlcl_rng_seed(&r, seed, 3);
            nlcl_rain_params p;
            nlcl_rain_params_preset(&p, NLCL_RAIN_LIGHT);
            s = nlcl_synth_scene(width * 2 / 3, width, &r, &clean);
            if (s == NLCL_OK) s = nlcl_synth_rain(&clean, &p, &r, &rainy);
        }
    }
    if (s == NLCL_OK) s = nlcl_model_run_image(m, &rainy, &der);
    if (s == NLCL_OK && m2) s = nlcl_model_run_image(m2, &rainy, &der2);
    if (s == NLCL_ERR_NONFINITE) /* the model's message names the model: say the image too */
        s = input ? nlcl_error_prefix(s, "%s: ", input) : nlcl_error_prefix(s, "the generated sample: ");
    if (s == NLCL_OK) {
        /* clamp the outputs as saved files are, so the PSNR is that of the PNG */
        clamp_unit(&der);
        if (m2) clamp_unit(&der2);
        int w = rainy.width, h = rainy.height;
        s = nlcl_image_alloc(&panel, h, 3 * w);
        for (int c = 0; s == NLCL_OK && c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    size_t i = ((size_t)c * h + y) * w + x, o = ((size_t)c * h + y) * 3 * w + x;
                    float rain = rainy.data[i] - der.data[i]; /* O - B, 2 = full scale */
                    float v = 2.0f * rain - 1.0f;
                    panel.data[o] = rainy.data[i];
                    panel.data[o + w] = der.data[i];
                    panel.data[o + 2 * w] = m2 ? der2.data[i] : v > 1 ? 1 : v < -1 ? -1 : v;
                }
    }
    if (s == NLCL_OK) s = cli_save_image("demo", out, &panel, NULL, NULL, NLCL_QUANT_ROUND, 95, input, info.bit_depth);
    if (s == NLCL_OK) {
        printf("model: %s (%d channels, %d blocks)\n", model ? model : "embedded default",
               nlcl_model_channels(m), nlcl_model_blocks(m));
        if (!input) {
            printf("sample: generated %dx%d scene with synthetic light rain (seed %llu)\n", rainy.width,
                   rainy.height, (unsigned long long)seed);
            printf("PSNR(Y, BT.601, vs the clean scene): rainy input %.2f dB -> derained %.2f dB\n",
                   psnr_y(&rainy, &clean), psnr_y(&der, &clean));
            if (m2) printf("PSNR of %s: %.2f dB\n", compare, psnr_y(&der2, &clean));
        }
        if (m2) printf("wrote %s (input | derained | derained by %s)\n", out, compare);
        else printf("wrote %s (input | derained | rain layer)\n", out);
    }
    nlcl_image_free(&clean);
    nlcl_image_free(&rainy);
    nlcl_image_free(&der);
    nlcl_image_free(&der2);
    nlcl_image_free(&panel);
    nlcl_model_free(m);
    nlcl_model_free(m2);
    return s == NLCL_OK ? CLI_EXIT_OK : cli_fail(s);
}
