/* nlcl synth: add synthetic rain to clean images, writing paired folders. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "cli.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/synth.h"

static const char *summary =
    "usage: nlcl synth [options] -o OUT_DIR [CLEAN_IMAGE_OR_DIR...]\n\n"
    "Add synthetic rain streaks (Rain100L/Rain100H style: random density, length, angle,\n"
    "width and brightness; optional haze) to clean images and write the pairs as\n"
    "OUT_DIR/rainy/NAME.png and OUT_DIR/clean/NAME.png, ready for\n"
    "'nlcl eval --pred ... --gt OUT_DIR/clean --input OUT_DIR/rainy'. Without inputs,\n"
    "--scenes N generated scenes are used. Ranges are MIN:MAX (or one value); each image\n"
    "draws its own values. The same --seed gives the same rain.";

/* MIN:MAX or one value, each finite and inside the allowed interval
 * [lo, hi] (an open end when lo_open/hi_open); 0 after a usage error. */
static int parse_range(const char *s, double *r, const char *name, double lo, double hi,
                       int lo_open, int hi_open) {
    if (!s) return 1;
    char *end;
    double a = strtod(s, &end), b = a;
    if (end == s) return cli_usage_error("synth", "--%s expects MIN:MAX or a number, got '%s'", name, s), 0;
    if (*end == ':') {
        const char *q = end + 1;
        b = strtod(q, &end);
        if (end == q) return cli_usage_error("synth", "--%s expects MIN:MAX, got '%s'", name, s), 0;
    }
    if (*end) return cli_usage_error("synth", "--%s expects MIN:MAX, got '%s'", name, s), 0;
    for (int k = 0; k < 2; k++) {
        double v = k ? b : a;
        if (!isfinite(v) || (lo_open ? !(v > lo) : !(v >= lo)) || (hi_open ? !(v < hi) : !(v <= hi)))
            return cli_usage_error("synth", "--%s must be in %c%g, %g%c, got '%s'", name,
                                   lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']', s), 0;
    }
    if (!(a <= b)) return cli_usage_error("synth", "--%s: MIN must not exceed MAX", name), 0;
    r[0] = a;
    r[1] = b;
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_synth(int argc, char **argv) {
    const char *out = NULL, *dens = NULL, *len = NULL, *ang = NULL, *wid = NULL, *inten = NULL, *haze = NULL;
    int preset = 0;
    long long seed = 1, scenes = 0, scene_w = 480, scene_h = 320, copies = 1;
    /* CLI_INT with a maximum beyond INT64_MAX: the full uint64 range (args.c) */
    const cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &out, "OUT_DIR", "output folder (rainy/ and clean/ inside)", 0, 0, NULL},
        {"preset", 0, CLI_CHOICE, &preset, NULL, "starting ranges (default light)", 0, 0, "light|heavy"},
        {"density", 0, CLI_STRING, &dens, "MIN:MAX", "drops per pixel, 0..1", 0, 0, NULL},
        {"length", 0, CLI_STRING, &len, "MIN:MAX", "streak length, pixels, 1..1000", 0, 0, NULL},
        {"angle", 0, CLI_STRING, &ang, "MIN:MAX", "degrees from vertical, -90..90", 0, 0, NULL},
        {"width", 0, CLI_STRING, &wid, "MIN:MAX", "streak cross-section sigma, pixels, > 0 and <= 50", 0, 0, NULL},
        {"intensity", 0, CLI_STRING, &inten, "MIN:MAX", "peak streak brightness, 0..1", 0, 0, NULL},
        {"haze", 0, CLI_STRING, &haze, "MIN:MAX", "haze amount 1 - transmission, >= 0 and < 1 (0 = none)", 0, 0, NULL},
        {"copies", 0, CLI_INT, &copies, "N", "rainy versions per clean image (NAME_k.png)", 1, 1000, NULL},
        {"scenes", 0, CLI_INT, &scenes, "N", "generate N scenes when no input is given", 0, 100000, NULL},
        {"scene-size", 0, CLI_INT, &scene_w, "W", "width of generated scenes (height 2/3 of it), 24..8192", 24, 8192, NULL},
        {"seed", 's', CLI_INT, &seed, "S", "random seed, 0..2^64-1 (default 1)", 0, 1.8446744073709552e19, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return CLI_EXIT_FAIL;
    int npos = 0;
    cli_parse_result pr = cli_parse("synth", summary, opts, argc, argv, pos, &npos);
    if (pr != CLI_PARSE_OK) {
        free(pos);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    nlcl_rain_params p;
    if (preset == 1) nlcl_rain_params_heavy(&p);
    else nlcl_rain_params_light(&p);
    /* the bounds of nlcl_synth_rain (synth.h), as usage errors */
    if (!parse_range(dens, p.density, "density", 0, 1, 0, 0) ||
        !parse_range(len, p.length, "length", 1, 1000, 0, 0) ||
        !parse_range(ang, p.angle, "angle", -90, 90, 0, 0) ||
        !parse_range(wid, p.width, "width", 0, 50, 1, 0) ||
        !parse_range(inten, p.intensity, "intensity", 0, 1, 0, 0) ||
        !parse_range(haze, p.haze, "haze", 0, 1, 0, 1)) {
        free(pos);
        return CLI_EXIT_USAGE;
    }
    if (!out) {
        free(pos);
        return cli_usage_error("synth", "-o OUT_DIR is required");
    }
    if (npos == 0 && scenes == 0) {
        free(pos);
        return cli_usage_error("synth", "give clean images (files or folders) or --scenes N");
    }
    scene_h = scene_w * 2 / 3;
    /* collect inputs */
    char **inputs = NULL;
    int nin = 0;
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < npos && rc == CLI_EXIT_OK; i++) {
        char **list = NULL;
        int n = 1;
        if (nlcl_is_dir(pos[i])) {
            nlcl_status s = nlcl_list_images(pos[i], &list, &n);
            if (s != NLCL_OK) rc = cli_fail(s);
        }
        char **nv = rc == CLI_EXIT_OK ? realloc(inputs, sizeof *nv * (size_t)(nin + n + 1)) : NULL;
        if (!nv) {
            nlcl_free_list(list);
            if (rc == CLI_EXIT_OK) rc = CLI_EXIT_FAIL;
            break;
        }
        inputs = nv;
        for (int k = 0; k < n; k++) inputs[nin++] = strdup(list ? list[k] : pos[i]);
        nlcl_free_list(list);
    }
    free(pos);
    char rd[4096], cd[4096];
    snprintf(rd, sizeof rd, "%s/rainy", out);
    snprintf(cd, sizeof cd, "%s/clean", out);
    /* nothing is written over an input: no input may lie in OUT/rainy or
     * OUT/clean (a.jpg would become a.png there, over another input), and
     * no two inputs may share a name without extension */
    for (int i = 0; rc == CLI_EXIT_OK && i < nin; i++) {
        char *dir = inputs[i] ? nlcl_dirname(inputs[i]) : NULL;
        if (!dir) {
            rc = CLI_EXIT_FAIL;
        } else if (nlcl_same_file(dir, rd) || nlcl_same_file(dir, cd)) {
            fprintf(stderr, "nlcl synth: input %s is in the output folder %s; choose another -o\n",
                    inputs[i], nlcl_same_file(dir, rd) ? rd : cd);
            rc = CLI_EXIT_FAIL;
        }
        free(dir);
    }
    char **stems = rc == CLI_EXIT_OK && nin ? calloc((size_t)nin, sizeof *stems) : NULL;
    if (rc == CLI_EXIT_OK && nin && !stems) rc = CLI_EXIT_FAIL;
    for (int i = 0; stems && rc == CLI_EXIT_OK && i < nin; i++) {
        /* "stem\0path": sorted by stem, the path kept for the message */
        const char *b = nlcl_basename(inputs[i]), *dot = strrchr(b, '.');
        size_t sl = dot ? (size_t)(dot - b) : strlen(b), pl = strlen(inputs[i]);
        stems[i] = malloc(sl + pl + 2);
        if (!stems[i]) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        memcpy(stems[i], b, sl);
        stems[i][sl] = '\0';
        memcpy(stems[i] + sl + 1, inputs[i], pl + 1);
    }
    if (stems && rc == CLI_EXIT_OK) {
        qsort(stems, (size_t)nin, sizeof *stems, cmp_str);
        for (int i = 1; i < nin && rc == CLI_EXIT_OK; i++)
            if (!strcmp(stems[i - 1], stems[i])) {
                fprintf(stderr, "nlcl synth: inputs %s and %s would both be written as %s.png\n",
                        stems[i - 1] + strlen(stems[i - 1]) + 1, stems[i] + strlen(stems[i]) + 1,
                        stems[i]);
                rc = CLI_EXIT_FAIL;
            }
    }
    for (int i = 0; stems && i < nin; i++) free(stems[i]);
    free(stems);
    /* folders this run creates are removed again if it writes nothing */
    struct stat st;
    int had_out = stat(out, &st) == 0, had_rd = stat(rd, &st) == 0, had_cd = stat(cd, &st) == 0;
    if (rc == CLI_EXIT_OK) {
        nlcl_status s = nlcl_mkdirs(rd);
        if (s == NLCL_OK) s = nlcl_mkdirs(cd);
        if (s != NLCL_OK) rc = cli_fail(s);
    }
    nlcl_rng rng;
    nlcl_rng_seed(&rng, (uint64_t)seed, 77);
    int total = nin ? nin : (int)scenes, failed = 0;
    for (int i = 0; rc == CLI_EXIT_OK && i < total; i++) {
        nlcl_image clean = {0};
        char stem[1024];
        nlcl_status s;
        if (nin) {
            s = nlcl_image_load(inputs[i], &clean, NULL);
            const char *b = nlcl_basename(inputs[i]), *dot = strrchr(b, '.');
            snprintf(stem, sizeof stem, "%.*s", dot ? (int)(dot - b) : (int)strlen(b), b);
        } else {
            s = nlcl_synth_scene((int)scene_w, (int)scene_h, &rng, &clean);
            snprintf(stem, sizeof stem, "scene%04d", i + 1);
        }
        for (int k = 0; s == NLCL_OK && k < copies; k++) {
            nlcl_image rainy = {0};
            char name[1100], rp[6000], cp[6000];
            if (copies > 1) snprintf(name, sizeof name, "%s_%d.png", stem, k + 1);
            else snprintf(name, sizeof name, "%s.png", stem);
            snprintf(rp, sizeof rp, "%s/%s", rd, name);
            snprintf(cp, sizeof cp, "%s/%s", cd, name);
            s = nlcl_synth_rain(&clean, &p, &rng, &rainy);
            if (s == NLCL_OK) s = nlcl_image_save_png(rp, &rainy, NLCL_QUANT_ROUND, 0);
            if (s == NLCL_OK) s = nlcl_image_save_png(cp, &clean, NLCL_QUANT_ROUND, 0);
            nlcl_image_free(&rainy);
        }
        nlcl_image_free(&clean);
        if (s != NLCL_OK) {
            if (s == NLCL_ERR_INVALID_ARG) rc = cli_fail(s);
            else cli_fail(s), failed++;
        }
    }
    for (int i = 0; i < nin; i++) free(inputs[i]);
    free(inputs);
    if (rc == CLI_EXIT_OK) {
        fprintf(stderr, "nlcl synth: %d pair(s) written to %s (%d failed)\n", (total - failed) * (int)copies, out, failed);
        if (failed) rc = CLI_EXIT_FAIL;
    }
    if (rc != CLI_EXIT_OK) {
        /* rmdir fails, harmlessly, unless the folder stayed empty */
        if (!had_rd) rmdir(rd);
        if (!had_cd) rmdir(cd);
        if (!had_out) rmdir(out);
    }
    return rc;
}
