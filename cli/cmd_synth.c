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
    "Add synthetic rain to clean images with the heavy-rain model of Li et al. (CVPR 2019),\n"
    "O = T*(B + S) + (1 - T)*A: streaks S in several depth planes (motion blur, angle\n"
    "spread, width, brightness, defocus of the far planes), a veil of transmission\n"
    "T = exp(-beta*depth) over a smooth depth proxy, and a grey-white atmospheric light A\n"
    "(nlcl/synth.h, docs/SYNTH.md). Writes OUT_DIR/rainy/NAME.png and OUT_DIR/clean/NAME.png,\n"
    "ready for 'nlcl eval --pred ... --gt OUT_DIR/clean --input OUT_DIR/rainy'. Without\n"
    "inputs, --scenes N generated scenes are used. A preset sets every range (mix: the pairs\n"
    "take light, heavy and downpour in turn); the options below override them. Ranges are\n"
    "MIN:MAX (or one value); each image draws its own values. The same --seed gives the same\n"
    "rain.";

/* MIN:MAX or one value, each finite and inside the parameter's allowed
 * interval (nlcl_rain_param_table); 0 after a usage error. */
static int parse_range(const char *s, double *r, const nlcl_rain_param_info *b) {
    if (!s) return 1;
    char *end;
    double a = strtod(s, &end), v2 = a;
    if (end == s) return cli_usage_error("synth", "--%s expects MIN:MAX or a number, got '%s'", b->name, s), 0;
    if (*end == ':') {
        const char *q = end + 1;
        v2 = strtod(q, &end);
        if (end == q) return cli_usage_error("synth", "--%s expects MIN:MAX, got '%s'", b->name, s), 0;
    }
    if (*end) return cli_usage_error("synth", "--%s expects MIN:MAX, got '%s'", b->name, s), 0;
    for (int k = 0; k < 2; k++) {
        double v = k ? v2 : a;
        if (!isfinite(v) || (b->lo_open ? !(v > b->lo) : !(v >= b->lo)) ||
            (b->hi_open ? !(v < b->hi) : !(v <= b->hi)))
            return cli_usage_error("synth", "--%s must be in %c%g, %g%c, got '%s'", b->name,
                                   b->lo_open ? '(' : '[', b->lo, b->hi, b->hi_open ? ')' : ']', s), 0;
        if (b->integer && v != floor(v))
            return cli_usage_error("synth", "--%s must be whole numbers, got '%s'", b->name, s), 0;
    }
    if (!(a <= v2)) return cli_usage_error("synth", "--%s: MIN must not exceed MAX", b->name), 0;
    r[0] = a;
    r[1] = v2;
    return 1;
}

/* The ranges of each preset (all three for mix) with the options' ranges
 * written over them; 0 after a usage error. */
static int rain_params(int preset, const char *const *vals, nlcl_rain_params p[NLCL_RAIN_NPRESETS]) {
    for (int k = 0; k < NLCL_RAIN_NPRESETS; k++) {
        nlcl_rain_params_preset(&p[k], preset == NLCL_RAIN_NPRESETS ? (nlcl_rain_preset)k
                                                                    : (nlcl_rain_preset)preset);
        for (int i = 0; i < NLCL_RAIN_NPARAMS; i++) {
            const nlcl_rain_param_info *b = &nlcl_rain_param_table[i];
            if (!parse_range(vals[i], (double *)((char *)&p[k] + b->offset), b)) return 0;
        }
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The options of a run. */
typedef struct synth_opts {
    const char *out, *vals[NLCL_RAIN_NPARAMS];
    int preset, scenes, scene_w, copies;
    uint64_t seed;
    nlcl_rain_params p[NLCL_RAIN_NPRESETS]; /* the preset(s) with the given ranges */
} synth_opts;

/* Options and positional arguments; CLI_CONTINUE or the exit status. */
static int parse_args(synth_opts *o, int argc, char **argv, cli_pos *pos) {
    memset(o, 0, sizeof *o);
    o->seed = 1, o->scene_w = 480, o->copies = 1;
    /* the rain parameters' options come from nlcl_rain_param_table */
    static char helps[NLCL_RAIN_NPARAMS][160];
    cli_opt opts[NLCL_RAIN_NPARAMS + 8] = {
        {"output", 'o', CLI_STRING, &o->out, "OUT_DIR", "output folder (rainy/ and clean/ inside)", 0, 0, NULL},
        {"preset", 0, CLI_CHOICE, &o->preset, NULL, "starting ranges (default light)", 0, 0,
         "light|heavy|downpour|mix"}};
    int no = 2;
    for (int i = 0; i < NLCL_RAIN_NPARAMS; i++) {
        const nlcl_rain_param_info *b = &nlcl_rain_param_table[i];
        snprintf(helps[i], sizeof helps[i], "%s, %s%g..%g%s", b->help, b->lo_open ? "> " : "", b->lo,
                 b->hi, b->hi_open ? " (excluded)" : "");
        opts[no++] = (cli_opt){b->name, 0, CLI_STRING, &o->vals[i], "MIN:MAX", helps[i], 0, 0, NULL};
    }
    const cli_opt tail[] = {
        {"copies", 0, CLI_INT, &o->copies, "N", "rainy versions per clean image (NAME_k.png)", 1, 1000, NULL},
        {"scenes", 0, CLI_INT, &o->scenes, "N", "generate N scenes when no input is given", 0, 100000, NULL},
        {"scene-size", 0, CLI_INT, &o->scene_w, "W", "width of generated scenes (height 2/3 of it), 24..8192", 24, 8192, NULL},
        {"seed", 's', CLI_UINT64, &o->seed, "S", "random seed, 0..2^64-1 (default 1)", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    memcpy(opts + no, tail, sizeof tail);
    const cli_command cmd = {"synth", summary, opts, 0, -1, NULL, NULL};
    int rc = cli_parse(&cmd, argc, argv, pos);
    if (rc != CLI_CONTINUE) return rc;
    if (!rain_params(o->preset, o->vals, o->p)) return CLI_EXIT_USAGE;
    if (!o->out) return cli_usage_error("synth", "-o OUT_DIR is required");
    if (pos->n == 0 && o->scenes == 0)
        return cli_usage_error("synth", "give clean images (files or folders) or --scenes N");
    return CLI_CONTINUE;
}

/* Nothing is written over an input: no input may lie in OUT/rainy or
 * OUT/clean (a.jpg would become a.png there, over another input). */
static int check_folders(char **inputs, int nin, const char *rd, const char *cd) {
    for (int i = 0; i < nin; i++) {
        char *dir = nlcl_dirname(inputs[i]);
        int bad = dir && (nlcl_same_file(dir, rd) || nlcl_same_file(dir, cd));
        if (bad)
            fprintf(stderr, "nlcl synth: input %s is in the output folder %s; choose another -o\n",
                    inputs[i], nlcl_same_file(dir, rd) ? rd : cd);
        free(dir);
        if (!dir || bad) return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* No two inputs may share a name without extension (both would be NAME.png). */
static int check_names(char **inputs, int nin) {
    if (nin < 2) return CLI_EXIT_OK;
    char **stems = calloc((size_t)nin + 1, sizeof *stems);
    int rc = stems ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    for (int i = 0; rc == CLI_EXIT_OK && i < nin; i++) {
        /* "stem\0path": sorted by stem, the path kept for the message */
        const char *b = nlcl_basename(inputs[i]), *dot = strrchr(b, '.');
        size_t sl = dot ? (size_t)(dot - b) : strlen(b), pl = strlen(inputs[i]);
        if (!(stems[i] = malloc(sl + pl + 2))) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        memcpy(stems[i], b, sl);
        stems[i][sl] = '\0';
        memcpy(stems[i] + sl + 1, inputs[i], pl + 1);
    }
    if (rc == CLI_EXIT_OK) qsort(stems, (size_t)nin, sizeof *stems, cmp_str);
    for (int i = 1; rc == CLI_EXIT_OK && i < nin; i++)
        if (!strcmp(stems[i - 1], stems[i])) {
            fprintf(stderr, "nlcl synth: inputs %s and %s would both be written as %s.png\n",
                    stems[i - 1] + strlen(stems[i - 1]) + 1, stems[i] + strlen(stems[i]) + 1, stems[i]);
            rc = CLI_EXIT_FAIL;
        }
    for (int i = 0; stems && i < nin; i++) free(stems[i]);
    free(stems);
    return rc;
}

/* The pairs of clean image i (input i, or generated scene i): its `copies`
 * rainy versions and the clean one, as OUT/rainy/NAME.png, OUT/clean/NAME.png. */
static nlcl_status write_pairs(const synth_opts *o, char **inputs, int nin, int i, nlcl_rng *rng,
                               const char *rd, const char *cd) {
    nlcl_image clean = {0};
    nlcl_image_info info = {0};
    nlcl_image_meta meta = {0}; /* the input's, carried into both PNGs */
    char stem[1024];
    nlcl_status s;
    if (nin) {
        char why[600];
        s = cli_load_image_meta("synth", inputs[i], &clean, NULL, &info, &meta, why, sizeof why);
        if (s == NLCL_OK) cli_say_meta("synth", inputs[i], "x.png", &meta, why);
        const char *b = nlcl_basename(inputs[i]), *dot = strrchr(b, '.');
        snprintf(stem, sizeof stem, "%.*s", dot ? (int)(dot - b) : (int)strlen(b), b);
    } else {
        s = nlcl_synth_scene(o->scene_w * 2 / 3, o->scene_w, rng, &clean);
        snprintf(stem, sizeof stem, "scene%04d", i + 1);
    }
    for (int k = 0; s == NLCL_OK && k < o->copies; k++) {
        nlcl_image rainy = {0};
        char name[1100], rp[6000], cp[6000];
        if (o->copies > 1) snprintf(name, sizeof name, "%s_%d.png", stem, k + 1);
        else snprintf(name, sizeof name, "%s.png", stem);
        snprintf(rp, sizeof rp, "%s/%s", rd, name);
        snprintf(cp, sizeof cp, "%s/%s", cd, name);
        s = nlcl_synth_rain(&clean, &o->p[(i * o->copies + k) % NLCL_RAIN_NPRESETS], rng, &rainy);
        /* 16-bit PNGs for inputs of more than 8 bits per sample */
        const int bits16 = info.bit_depth > 8;
        if (s == NLCL_OK) s = nlcl_image_save_png_meta(rp, &rainy, NULL, &meta, NLCL_QUANT_ROUND, bits16);
        if (s == NLCL_OK) s = nlcl_image_save_png_meta(cp, &clean, NULL, &meta, NLCL_QUANT_ROUND, bits16);
        nlcl_image_free(&rainy);
    }
    nlcl_image_free(&clean);
    nlcl_image_meta_free(&meta);
    return s;
}

/* Every pair; a failed image is reported and the others go on. */
static int write_all(const synth_opts *o, char **inputs, int nin, const char *rd, const char *cd) {
    nlcl_rng rng;
    nlcl_rng_seed(&rng, o->seed, 77);
    int total = nin ? nin : o->scenes, failed = 0;
    for (int i = 0; i < total; i++) {
        nlcl_status s = write_pairs(o, inputs, nin, i, &rng, rd, cd);
        if (s == NLCL_ERR_INVALID_ARG) return cli_say_meta_summary("synth"), cli_fail(s);
        if (s != NLCL_OK) cli_fail(s), failed++;
    }
    cli_say_meta_summary("synth");
    fprintf(stderr, "nlcl synth: %d pair(s) written to %s (%d failed)\n", (total - failed) * o->copies,
            o->out, failed);
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cmd_synth(int argc, char **argv) {
    synth_opts o;
    cli_pos pos;
    int rc = parse_args(&o, argc, argv, &pos);
    if (rc != CLI_CONTINUE) return rc;
    cli_inputs in = {0};
    rc = pos.n ? cli_expand_inputs("synth", &pos, 0, -1, &in) : CLI_EXIT_OK;
    char **inputs = in.path;
    const int nin = in.n;
    char rd[4096], cd[4096];
    snprintf(rd, sizeof rd, "%s/rainy", o.out);
    snprintf(cd, sizeof cd, "%s/clean", o.out);
    if (rc == CLI_EXIT_OK) rc = check_folders(inputs, nin, rd, cd);
    if (rc == CLI_EXIT_OK) rc = check_names(inputs, nin);
    /* folders this run creates are removed again if it writes nothing */
    struct stat st;
    int had_out = stat(o.out, &st) == 0, had_rd = stat(rd, &st) == 0, had_cd = stat(cd, &st) == 0;
    if (rc == CLI_EXIT_OK) {
        nlcl_status s = nlcl_mkdirs(rd);
        if (s == NLCL_OK) s = nlcl_mkdirs(cd);
        if (s != NLCL_OK) rc = cli_fail(s);
    }
    if (rc == CLI_EXIT_OK) rc = write_all(&o, inputs, nin, rd, cd);
    cli_inputs_free(&in);
    if (rc != CLI_EXIT_OK) {
        /* rmdir fails, harmlessly, unless the folder stayed empty */
        if (!had_rd) rmdir(rd);
        if (!had_cd) rmdir(cd);
        if (!had_out) rmdir(o.out);
    }
    return rc;
}
