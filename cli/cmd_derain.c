/* nlcl derain: remove rain from image files with a trained generator. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/model.h"

static const char *summary =
    "usage: nlcl derain [options] INPUT...\n\n"
    "Derain PNG/JPEG/TIFF/BMP files; INPUT may be files or folders (their image files, not\n"
    "recursive). Outputs (PNG, or JPEG with --format jpg) keep each input's name in the output\n"
    "folder, which must not be the folder of an input, or go to a single file when -o names a\n"
    ".png/.jpg and there is one input. Nothing is written over an input, and no two outputs\n"
    "share a name. Without --model the embedded default model is used. Any image of at least\n"
    "1x1 pixels is accepted; the output has exactly the input's size.";

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

/* 1 if p ends in .png, .jpg or .jpeg (any case): the formats nlcl writes */
static int writable_ext(const char *p) {
    const char *dot = strrchr(nlcl_basename(p), '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int is_jpeg_name(const char *p) {
    const char *dot = strrchr(nlcl_basename(p), '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* an output path, the input it comes from, and whether it is the rain layer */
typedef struct out_ref {
    const char *path;
    int input, rain;
} out_ref;

static int cmp_out_ref(const void *a, const void *b) {
    const out_ref *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : x->input - y->input;
}

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    int input;
} file_id;

static int cmp_file_id(const void *a, const void *b) {
    const file_id *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* Before any work: no output over an input (same device and inode), no two
 * outputs with one name, and (folder outputs) no input in the output folder,
 * where outputs could replace files that are not inputs (photo.jpg ->
 * photo.png). Prints the problem and returns CLI_EXIT_FAIL, or CLI_EXIT_OK. */
static int check_outputs(char **inputs, char **outs, char **rain_outs, int nin, int with_rain,
                         const char *dir) {
    struct stat st;
    if (dir && stat(dir, &st) == 0)
        for (int i = 0; i < nin; i++) {
            char *d = nlcl_dirname(inputs[i]);
            int same = d && nlcl_same_file(d, dir);
            free(d);
            if (same) {
                fprintf(stderr, "nlcl derain: the output folder %s holds the input %s; outputs "
                                "could replace other files there: choose another -o\n",
                        dir, inputs[i]);
                return CLI_EXIT_FAIL;
            }
        }
    int nout = nin * (with_rain ? 2 : 1), rc = CLI_EXIT_OK;
    out_ref *o = calloc((size_t)nout + 1, sizeof *o);
    file_id *ids = calloc((size_t)nin + 1, sizeof *ids);
    if (!o || !ids) {
        free(o), free(ids);
        fprintf(stderr, "nlcl derain: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (int i = 0; i < nin; i++) {
        o[i] = (out_ref){outs[i], i, 0};
        if (with_rain) o[nin + i] = (out_ref){rain_outs[i], i, 1};
    }
    qsort(o, (size_t)nout, sizeof *o, cmp_out_ref);
    for (int k = 1; k < nout; k++)
        if (!strcmp(o[k - 1].path, o[k].path)) {
            fprintf(stderr, "nlcl derain: inputs %s and %s would both be written to %s%s\n",
                    inputs[o[k - 1].input], inputs[o[k].input], o[k].path,
                    o[k - 1].rain || o[k].rain ? " (one of them as a rain layer)" : "");
            rc = CLI_EXIT_FAIL;
            break;
        }
    int nid = 0;
    for (int i = 0; i < nin; i++)
        if (stat(inputs[i], &st) == 0) ids[nid++] = (file_id){st.st_dev, st.st_ino, i};
    qsort(ids, (size_t)nid, sizeof *ids, cmp_file_id);
    for (int k = 0; rc == CLI_EXIT_OK && k < nout; k++) {
        if (stat(o[k].path, &st) != 0) continue;
        file_id key = {st.st_dev, st.st_ino, 0};
        const file_id *hit = nid ? bsearch(&key, ids, (size_t)nid, sizeof *ids, cmp_file_id) : NULL;
        if (hit) {
            fprintf(stderr, "nlcl derain: output %s would overwrite input %s; choose another -o\n",
                    o[k].path, inputs[hit->input]);
            rc = CLI_EXIT_FAIL;
        }
    }
    free(o);
    free(ids);
    return rc;
}

/* out = dir/stem + suffix + ext */
static char *make_out_path(const char *dir, const char *in, const char *suffix, const char *ext) {
    const char *base = nlcl_basename(in);
    const char *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    size_t len = strlen(dir) + stem + strlen(suffix) + strlen(ext) + 3;
    char *p = malloc(len);
    size_t dl = strlen(dir);
    if (p) snprintf(p, len, "%s%s%.*s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", (int)stem, base, suffix, ext);
    return p;
}

static nlcl_status save_image(const char *path, const nlcl_image *img, nlcl_quantize q,
                              int quality) {
    if (is_jpeg_name(path)) return nlcl_image_save_jpeg(path, img, q, quality);
    return nlcl_image_save_png(path, img, q, 0);
}

int cmd_derain(int argc, char **argv) {
    const char *model_path = NULL, *rain_path = NULL, *out = NULL;
    int quant = 0, format = -1, verbose = 0, quiet = 0;
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
        {"quiet", 'q', CLI_FLAG, &quiet, NULL, "print errors and warnings only", 0, 0, NULL},
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
    if (quiet && verbose) {
        free(pos);
        return cli_usage_error("derain", "-q (errors and warnings only) and -v contradict each other");
    }
    /* -o: a folder, or one .png/.jpg file; another image extension would get
     * PNG bytes under a misleading name */
    int single = 0;
    if (out && !nlcl_is_dir(out) && out[strlen(out) - 1] != '/') {
        if (writable_ext(out)) {
            single = 1;
        } else if (nlcl_is_image_name(out)) {
            free(pos);
            return cli_usage_error("derain", "-o %s: can write .png or .jpg only", out);
        }
    }
    if (single && format >= 0 && (format == 1) != is_jpeg_name(out)) {
        free(pos);
        return cli_usage_error("derain", "--format %s contradicts -o %s (the extension sets the "
                                         "format of a single file)",
                               format == 1 ? "jpg" : "png", out);
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
            if (n == 0 && !quiet)
                fprintf(stderr, "nlcl derain: %s: no PNG/JPEG/TIFF/BMP files\n", pos[i]);
        } else if (access(pos[i], R_OK) != 0) {
            fprintf(stderr, "nlcl derain: %s: no such file or folder (or not readable)\n", pos[i]);
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
    for (int i = 0; rc == CLI_EXIT_OK && i < nin; i++)
        if (!inputs[i]) rc = CLI_EXIT_FAIL;
    if (rc == CLI_EXIT_OK && nin == 0) {
        fprintf(stderr, "nlcl derain: no input images\n");
        rc = CLI_EXIT_FAIL;
    }
    /* 2. output paths: a single file, or a folder */
    const char *dir = out ? out : "derained";
    if (rc == CLI_EXIT_OK && single && nin != 1)
        rc = cli_usage_error("derain", "-o %s names one file but there are %d inputs", out, nin);
    if (rc == CLI_EXIT_OK && single) { /* the folder of -o FILE must exist (it is not made) */
        const char *base = nlcl_basename(out);
        if (base != out) {
            char *parent = strndup(out, (size_t)(base - out));
            if (parent && !nlcl_is_dir(parent)) {
                fprintf(stderr, "nlcl derain: -o %s: the folder %s does not exist\n", out, parent);
                rc = CLI_EXIT_FAIL;
            }
            free(parent);
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
    /* 3. nothing over an input, no two outputs with one name, no input in
     * the output folder: all checked before any work */
    if (rc == CLI_EXIT_OK)
        rc = check_outputs(inputs, outs, rain_outs, nin, rain_path != NULL, single ? NULL : dir);
    /* 4. models */
    if (rc == CLI_EXIT_OK) {
        nlcl_status s = model_path ? nlcl_model_load(model_path, &gb) : nlcl_model_load_default(&gb);
        if (s == NLCL_OK && rain_path) s = nlcl_model_load_role(rain_path, "G_R", &gr);
        if (s != NLCL_OK) rc = cli_fail(s);
    }
    if (rc == CLI_EXIT_OK) {
        const char *role = nlcl_model_meta(gb, "role");
        if (role && !strcmp(role, "G_R"))
            fprintf(stderr, "nlcl derain: warning: %s is a rain-layer model (role G_R), not a "
                            "derainer (G_B); its outputs are rain layers\n",
                    model_path ? model_path : "the default model");
        role = gr ? nlcl_model_meta(gr, "role") : NULL;
        if (role && !strcmp(role, "G_B"))
            fprintf(stderr, "nlcl derain: warning: --rain-model %s is a derainer (role G_B), not a "
                            "rain-layer model (G_R)\n",
                    rain_path);
    }
    /* an output folder this run creates is removed again if it stays empty */
    int made_dir = 0;
    if (rc == CLI_EXIT_OK && !single) {
        made_dir = !nlcl_is_dir(dir);
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
        nlcl_image img = {0}, res = {0}, rain = {0};
        progress_ctx pc = {nlcl_basename(inputs[i]), tty && !quiet, -1};
        nlcl_status s = nlcl_image_load(inputs[i], &img, NULL);
        /* both models run before anything is written: a failure of either
         * (e.g. a non-finite output) leaves no file of this input behind */
        if (s == NLCL_OK) {
            nlcl_model_set_progress(gb, on_progress, &pc);
            s = nlcl_model_run_image(gb, &img, &res);
            if (s == NLCL_OK && gr) {
                nlcl_model_set_progress(gr, on_progress, &pc);
                s = nlcl_model_run_image(gr, &img, &rain);
            }
            if (s != NLCL_OK) s = nlcl_error_prefix(s, "%s: ", inputs[i]);
        }
        if (s == NLCL_OK) s = save_image(outs[i], &res, (nlcl_quantize)quant, (int)quality);
        if (s == NLCL_OK && gr) s = save_image(rain_outs[i], &rain, (nlcl_quantize)quant, (int)quality);
        nlcl_image_free(&res);
        nlcl_image_free(&rain);
        if (s != NLCL_OK) {
            cli_fail(s);
            failures++;
        } else if (!quiet && nin > 1) {
            fprintf(stderr, "[%d/%d] %s -> %s (%dx%d, %.2f s)\n", i + 1, nin, inputs[i], outs[i],
                    img.width, img.height, now_s() - t0);
        } else if (!quiet) {
            fprintf(stderr, "%s -> %s%s%s (%dx%d, %.2f s)\n", inputs[i], outs[i], gr ? " and " : "",
                    gr ? rain_outs[i] : "", img.width, img.height, now_s() - t0);
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
    else if (rc == CLI_EXIT_OK && failures)
        fprintf(stderr, "nlcl derain: %d of %d images failed\n", failures, nin);
    if (rc == CLI_EXIT_OK && failures) rc = CLI_EXIT_FAIL;
    if (made_dir) rmdir(dir); /* fails, harmlessly, unless the folder stayed empty */
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
