/* nlcl derain: remove rain from image files with a trained generator. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/model.h"

static const char *summary =
    "usage: nlcl derain [options] INPUT...\n\n"
    "Derain PNG/JPEG files; INPUT may be files or folders (their image files, not recursive).\n"
    "Outputs keep each input's name (extension .png by default) in the output folder, or go\n"
    "to a single file when -o names a .png/.jpg and there is one input. Without --model the\n"
    "embedded default model is used. Any image of at least 1x1 pixels is accepted; the\n"
    "output has exactly the input's size.";

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

typedef struct progress_ctx {
    const char *name;
    int tty;
    int last_pct;
} progress_ctx;

static int on_progress(void *ctx, int done, int total) {
    progress_ctx *p = ctx;
    int pct = total ? 100 * done / total : 100;
    if (p->tty && pct != p->last_pct) {
        fprintf(stderr, "\r  %s: %3d%%", p->name, pct);
        if (done == total) fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->last_pct = pct;
    return 0;
}

static int has_image_ext(const char *p) {
    const char *dot = strrchr(nlcl_basename(p), '.');
    return dot && nlcl_is_image_name(p);
}

/* out = dir/stem + suffix + ext */
static char *make_out_path(const char *dir, const char *in, const char *suffix, const char *ext) {
    const char *base = nlcl_basename(in);
    const char *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    size_t len = strlen(dir) + stem + strlen(suffix) + strlen(ext) + 3;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s/%.*s%s%s", dir, (int)stem, base, suffix, ext);
    return p;
}

static nlcl_status save_image(const char *path, const nlcl_image *img, nlcl_quantize q,
                              int quality) {
    const char *dot = strrchr(nlcl_basename(path), '.');
    if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
        return nlcl_image_save_jpeg(path, img, q, quality);
    return nlcl_image_save_png(path, img, q, 0);
}

int cmd_derain(int argc, char **argv) {
    const char *model_path = NULL, *rain_path = NULL, *out = NULL;
    int quant = 0, format = 0, verbose = 0, quiet = 0;
    long long threads = 0, quality = 95, max_pixels = 0;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &model_path, "FILE", "G_B weights (.safetensors, a training checkpoint, or .pth); default: embedded", 0, 0, NULL},
        {"rain-model", 0, CLI_STRING, &rain_path, "FILE", "also write the rain layer G_R(O) as NAME_rain.EXT", 0, 0, NULL},
        {"output", 'o', CLI_STRING, &out, "PATH", "output folder (default: derained) or single .png/.jpg file", 0, 0, NULL},
        {"format", 0, CLI_CHOICE, &format, NULL, "output format in folders (default png)", 0, 0, "png|jpg"},
        {"quality", 0, CLI_INT, &quality, "Q", "JPEG quality 1..100 (default 95)", 1, 100, NULL},
        {"quantize", 0, CLI_CHOICE, &quant, NULL, "float->8-bit: round (default) or truncate (as the authors' code)", 0, 0, "round|truncate"},
        {"threads", 't', CLI_INT, &threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {"max-pixels", 0, CLI_INT, &max_pixels, "N", "refuse images with more pixels (default 100000000)", 1, 1e15, NULL},
        {"verbose", 'v', CLI_FLAG, &verbose, NULL, "print timing, memory and model details", 0, 0, NULL},
        {"quiet", 'q', CLI_FLAG, &quiet, NULL, "print errors only", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return CLI_EXIT_FAIL;
    int npos = 0;
    cli_parse_result pr = cli_parse("derain", summary, opts, argc, argv, pos, &npos);
    if (pr != CLI_PARSE_OK) {
        free(pos);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (npos == 0) {
        free(pos);
        return cli_usage_error("derain", "no input given");
    }
    if (threads > 0) nlcl_set_num_threads((int)threads);
    if (max_pixels > 0) nlcl_image_set_max_pixels((uint64_t)max_pixels);
    const char *ext = format == 1 ? ".jpg" : ".png";

    int rc = CLI_EXIT_OK;
    char **inputs = NULL, **outs = NULL, **rain_outs = NULL;
    int nin = 0, cap = 0;
    nlcl_model *gb = NULL, *gr = NULL;
    /* 1. expand inputs */
    for (int i = 0; i < npos && rc == CLI_EXIT_OK; i++) {
        char **list = NULL;
        int n = 0;
        if (nlcl_is_dir(pos[i])) {
            nlcl_status s = nlcl_list_images(pos[i], &list, &n);
            if (s != NLCL_OK) {
                rc = cli_fail(s);
                break;
            }
            if (n == 0 && !quiet) fprintf(stderr, "nlcl derain: %s: no PNG/JPEG files\n", pos[i]);
        } else if (access(pos[i], R_OK) != 0) {
            fprintf(stderr, "nlcl: derain: %s: no such file or folder (or not readable)\n", pos[i]);
            rc = CLI_EXIT_FAIL;
            break;
        }
        int add = list ? n : 1;
        if (nin + add > cap) {
            cap = (nin + add) * 2;
            char **nv = realloc(inputs, sizeof *nv * (size_t)cap);
            if (!nv) {
                nlcl_free_list(list);
                rc = CLI_EXIT_FAIL;
                break;
            }
            inputs = nv;
        }
        for (int k = 0; k < add; k++) inputs[nin++] = strdup(list ? list[k] : pos[i]);
        nlcl_free_list(list);
    }
    if (rc == CLI_EXIT_OK && nin == 0) {
        fprintf(stderr, "nlcl: derain: no input images\n");
        rc = CLI_EXIT_FAIL;
    }
    /* 2. output paths: a single file, or a folder */
    int single = 0;
    const char *dir = out ? out : "derained";
    if (rc == CLI_EXIT_OK && out && !nlcl_is_dir(out) && has_image_ext(out) &&
        out[strlen(out) - 1] != '/') {
        single = 1;
        if (nin != 1) {
            rc = cli_usage_error("derain", "-o %s names one file but there are %d inputs", out, nin);
        }
    }
    if (rc == CLI_EXIT_OK) {
        outs = calloc((size_t)nin, sizeof *outs);
        rain_outs = calloc((size_t)nin, sizeof *rain_outs);
        if (!outs || !rain_outs) rc = CLI_EXIT_FAIL;
    }
    for (int i = 0; rc == CLI_EXIT_OK && i < nin; i++) {
        if (single) {
            outs[i] = strdup(out);
            const char *dot = strrchr(nlcl_basename(out), '.');
            size_t stem = (size_t)(dot - out);
            size_t len = strlen(out) + 8;
            rain_outs[i] = malloc(len);
            if (rain_outs[i]) snprintf(rain_outs[i], len, "%.*s_rain%s", (int)stem, out, dot);
        } else {
            outs[i] = make_out_path(dir, inputs[i], "", ext);
            rain_outs[i] = make_out_path(dir, inputs[i], "_rain", ext);
        }
        if (!outs[i] || !rain_outs[i]) rc = CLI_EXIT_FAIL;
    }
    /* 3. refuse to overwrite an input, and two inputs mapping to one output */
    for (int i = 0; rc == CLI_EXIT_OK && i < nin; i++)
        for (int j = 0; j < nin; j++) {
            if (nlcl_same_file(outs[i], inputs[j]) || (rain_path && nlcl_same_file(rain_outs[i], inputs[j]))) {
                fprintf(stderr, "nlcl: derain: output %s would overwrite input %s; choose another -o\n",
                        outs[i], inputs[j]);
                rc = CLI_EXIT_FAIL;
                break;
            }
            if (j > i && !strcmp(outs[i], outs[j])) {
                fprintf(stderr, "nlcl: derain: inputs %s and %s would both be written to %s\n",
                        inputs[i], inputs[j], outs[i]);
                rc = CLI_EXIT_FAIL;
                break;
            }
        }
    /* 4. models */
    if (rc == CLI_EXIT_OK) {
        nlcl_status s = model_path ? nlcl_model_load(model_path, &gb) : nlcl_model_load_default(&gb);
        if (s == NLCL_OK && rain_path) s = nlcl_model_load_role(rain_path, "G_R", &gr);
        if (s != NLCL_OK) rc = cli_fail(s);
    }
    if (rc == CLI_EXIT_OK && !single) {
        nlcl_status s = nlcl_mkdirs(dir);
        if (s != NLCL_OK) rc = cli_fail(s);
    }
    if (rc == CLI_EXIT_OK && verbose)
        fprintf(stderr, "model %s: %d channels, %d blocks, %zu parameters\n",
                model_path ? model_path : "<default>", nlcl_model_channels(gb),
                nlcl_model_blocks(gb), nlcl_model_num_params(gb));
    /* 5. run */
    int failures = 0;
    int tty = isatty(2);
    double t_all = now_s();
    for (int i = 0; rc == CLI_EXIT_OK && i < nin; i++) {
        double t0 = now_s();
        nlcl_image img = {0}, res = {0};
        progress_ctx pc = {nlcl_basename(inputs[i]), tty && !quiet, -1};
        nlcl_status s = nlcl_image_load(inputs[i], &img, NULL);
        if (s == NLCL_OK) {
            nlcl_model_set_progress(gb, on_progress, &pc);
            s = nlcl_model_run_image(gb, &img, &res);
        }
        if (s == NLCL_OK) s = save_image(outs[i], &res, (nlcl_quantize)quant, (int)quality);
        nlcl_image_free(&res);
        if (s == NLCL_OK && gr) {
            nlcl_model_set_progress(gr, on_progress, &pc);
            s = nlcl_model_run_image(gr, &img, &res);
            if (s == NLCL_OK) s = save_image(rain_outs[i], &res, (nlcl_quantize)quant, (int)quality);
            nlcl_image_free(&res);
        }
        if (s != NLCL_OK) {
            cli_fail(s);
            failures++;
        } else if (!quiet && (nin > 1 || verbose)) {
            fprintf(stderr, "[%d/%d] %s -> %s (%dx%d, %.2f s)\n", i + 1, nin, inputs[i], outs[i],
                    img.width, img.height, now_s() - t0);
        }
        if (s == NLCL_OK && verbose)
            fprintf(stderr, "  activations %.1f MiB, peak RSS so far %.1f MiB\n",
                    (double)nlcl_model_workspace_bytes(gb, img.height, img.width) / 1048576.0,
                    peak_rss_mib());
        nlcl_image_free(&img);
    }
    if (rc == CLI_EXIT_OK && verbose)
        fprintf(stderr, "%d image(s) in %.2f s, %d failed; peak RSS %.1f MiB\n", nin,
                now_s() - t_all, failures, peak_rss_mib());
    if (rc == CLI_EXIT_OK && failures) rc = CLI_EXIT_FAIL;
    nlcl_model_free(gb);
    nlcl_model_free(gr);
    for (int i = 0; i < nin; i++) {
        free(inputs[i]);
        if (outs) free(outs[i]);
        if (rain_outs) free(rain_outs[i]);
    }
    free(inputs);
    free(outs);
    free(rain_outs);
    free(pos);
    return rc;
}
