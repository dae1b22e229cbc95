/* nlcl derain: remove rain from image files with a trained generator. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mpi.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/model.h"

static const char *summary =
    "usage: nlcl derain [options] INPUT...\n\n"
    "Derain PNG/JPEG/TIFF/BMP files; INPUT may be files or folders (their image files; with -r\n"
    "their subfolders' too, the tree kept in the output folder). Files in formats nlcl cannot\n"
    "read (.webp, .heic, .avif, .gif, ...) are reported as skipped. Outputs (PNG, or JPEG with\n"
    "--format jpg) keep each input's name in the output folder, which must not be the folder of\n"
    "an input, or go to a single file when -o names a .png/.jpg and there is one input. Nothing\n"
    "is written over an input, and no two outputs share a name. 16-bit inputs give 16-bit PNGs;\n"
    "transparency is kept in PNG outputs (RGBA). Ctrl-C stops inside the image in progress,\n"
    "writing nothing of it; --skip-existing then continues the batch. Without --model the\n"
    "embedded default model is used. Any image of at least 1x1 pixels is accepted; the output\n"
    "has exactly the input's size. Under 'mpirun -np N' the N ranks share the inputs out.";

/* Ctrl-C / SIGTERM: the first stops the batch (the image in progress is
 * abandoned, nothing of it written), a second exits at once. */
static volatile sig_atomic_t g_stop = 0;
static char **g_made; /* the folders this run made, parents first (derain_work.made), */
static int g_nmade;   /* fixed before the first image */

static void on_signal(int sig) {
    (void)sig;
    if (g_stop) {
        nlcl_remove_partial_write(); /* an output being written: drop the temporary */
        for (int k = g_nmade - 1; k >= 0; k--) rmdir(g_made[k]); /* those left empty */
        _exit(130);
    }
    g_stop = 1;
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
    return g_stop != 0; /* non-zero: the model run stops (NLCL_ERR_INTERRUPTED) */
}

/* 1 if p ends in .png, .jpg or .jpeg (any case): the formats nlcl writes */
static int writable_ext(const char *p) {
    const char *dot = strrchr(nlcl_basename(p), '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
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

/* out = dir/stem + suffix + ext, where stem is rel (the input's name, with
 * -r its path below the folder argument) without its extension */
static char *make_out_path(const char *dir, const char *rel, const char *suffix, const char *ext) {
    const char *dot = strrchr(nlcl_basename(rel), '.');
    size_t stem = dot ? (size_t)(dot - rel) : strlen(rel);
    size_t len = strlen(dir) + stem + strlen(suffix) + strlen(ext) + 3;
    char *p = malloc(len);
    size_t dl = strlen(dir);
    if (p) snprintf(p, len, "%s%s%.*s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", (int)stem, rel, suffix, ext);
    return p;
}

/* "4G", "512M", "1.5G", "100000000" (bytes; K, M, G, T are powers of 1024,
 * an optional "B" or "iB" after them); 0 on a malformed or zero size */
static size_t parse_size(const char *t) {
    char *end = NULL;
    double v = strtod(t, &end);
    if (!end || end == t || !(v > 0)) return 0;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, *end & ~0x20) : NULL;
    if (u && *end) {
        for (const char *k = units; k <= u; k++) v *= 1024.0;
        end++;
        if (!strcmp(end, "B") || !strcmp(end, "iB")) end += strlen(end);
    }
    if (*end || v >= 1.8e19) return 0;
    return (size_t)v;
}

/* The options of a run. */
typedef struct derain_opts {
    const char *model_path, *rain_path, *out;
    int quant, format, verbose, quiet, threads, quality;
    int64_t max_pixels;
    int single;                    /* -o names one .png/.jpg file */
    int precision;                 /* 0 fp32, 1 bf16 */
    const char *mem_limit, *scratch; /* --memory-limit, --scratch */
    size_t limit;                  /* --memory-limit in bytes (0: the library's default) */
    int follower;                  /* a rank other than 0 (mpirun): rank 0 prints the notes */
    int recursive, skip_existing;
} derain_opts;

/* The work: inputs, their outputs, the models. */
typedef struct derain_work {
    cli_inputs in;
    char **inputs, **outs, **rain_outs; /* (nin) each; inputs = in.path */
    char *skip;                         /* (nin) --skip-existing: its outputs exist */
    int nin;
    const char *dir; /* the output folder (not with a single file) */
    char **made;     /* folders made by this run, parents first: removed again if empty */
    int nmade;
    nlcl_model *gb, *gr;
} derain_work;

/* --memory-limit, --scratch, --precision bf16 on this CPU; CLI_CONTINUE or the exit status. */
static int check_resources(derain_opts *o) {
    char *end = NULL;
    if (o->mem_limit && strtod(o->mem_limit, &end) <= 0 && end != o->mem_limit)
        return cli_usage_error("derain", "--memory-limit %s: must be more than 0", o->mem_limit);
    if (o->mem_limit && !(o->limit = parse_size(o->mem_limit)))
        return cli_usage_error("derain", "--memory-limit %s: expected a size such as 4G, 512M or a "
                                         "number of bytes (below 16 EiB)",
                               o->mem_limit);
    if (o->scratch && !nlcl_is_dir(o->scratch)) {
        fprintf(stderr, "nlcl derain: --scratch %s: no such folder\n", o->scratch);
        return CLI_EXIT_FAIL;
    }
    if (o->precision == 1 && !nlcl_bf16_supported()) {
        fprintf(stderr, "nlcl derain: --precision bf16 needs a CPU with AVX512_BF16 instructions; "
                        "this one has none, or DNNL_MAX_CPU_ISA hides them (use --precision fp32)\n");
        return CLI_EXIT_FAIL;
    }
    return CLI_CONTINUE;
}

/* Options and positional arguments; CLI_CONTINUE or the exit status. */
static int parse_args(derain_opts *o, int argc, char **argv, cli_pos *pos) {
    *o = (derain_opts){NULL, NULL, NULL, 0, -1, 0, 0, 0, 95, 0, 0, 0, NULL, NULL, 0, 0, 0, 0};
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &o->model_path, "FILE", "G_B weights (.safetensors, a training checkpoint, or .pth); default: embedded", 0, 0, NULL},
        {"rain-model", 0, CLI_STRING, &o->rain_path, "FILE", "also write the rain layer G_R(O) as NAME_rain.EXT", 0, 0, NULL},
        {"output", 'o', CLI_STRING, &o->out, "PATH", "output folder (default: derained) or single .png/.jpg file", 0, 0, NULL},
        {"format", 0, CLI_CHOICE, &o->format, NULL, "output format in folders (default png)", 0, 0, "png|jpg"},
        {"quality", 0, CLI_INT, &o->quality, "Q", "JPEG quality 1..100 (default 95)", 1, 100, NULL},
        {"quantize", 0, CLI_CHOICE, &o->quant, NULL, "float->8-bit: round (default) or truncate (as the authors' code)", 0, 0, "round|truncate"},
        {"precision", 0, CLI_CHOICE, &o->precision, NULL, "arithmetic of the convolutions: fp32 (default, the authors' outputs) or bf16 (faster on CPUs with AVX512_BF16; quality in docs/BENCHMARKS.md)", 0, 0, "fp32|bf16"},
        {"threads", 't', CLI_INT, &o->threads, "N", "OpenMP threads (default: all cores)", 1, 1024, NULL},
        {"max-pixels", 0, CLI_INT64, &o->max_pixels, "N", "refuse images with more pixels (default 100000000)", 1, 1e15, NULL},
        {"memory-limit", 0, CLI_STRING, &o->mem_limit, "SIZE", "keep activations in memory up to SIZE (e.g. 4G; default half the RAM); larger images stream them through temporary files, same output", 0, 0, NULL},
        {"scratch", 0, CLI_STRING, &o->scratch, "DIR", "folder for those temporary files (default $TMPDIR or /tmp)", 0, 0, NULL},
        {"recursive", 'r', CLI_FLAG, &o->recursive, NULL, "also the images in subfolders of folder INPUTs; outputs keep the tree", 0, 0, NULL},
        {"skip-existing", 0, CLI_FLAG, &o->skip_existing, NULL, "leave out inputs whose outputs exist (continue an interrupted batch)", 0, 0, NULL},
        {"verbose", 'v', CLI_FLAG, &o->verbose, NULL, "print timing, memory and model details", 0, 0, NULL},
        {"quiet", 'q', CLI_FLAG, &o->quiet, NULL, "print errors and warnings only", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    const cli_command cmd = {"derain", summary, opts, 1, -1, "at least one INPUT (image or folder)", NULL};
    int rc = cli_parse(&cmd, argc, argv, pos);
    if (rc != CLI_CONTINUE) return rc;
    if (o->quiet && o->verbose)
        return cli_usage_error("derain", "-q (errors and warnings only) and -v contradict each other");
    /* -o: a folder, or one .png/.jpg file; another image extension (one nlcl
     * reads, or one it knows and cannot read: .webp, .heic, ...) is a file
     * meant, which would get PNG bytes under a misleading name */
    const char *out = o->out;
    if (out && !nlcl_is_dir(out) && out[strlen(out) - 1] != '/') {
        if (writable_ext(out)) o->single = 1;
        else if (nlcl_is_image_name(out) || nlcl_unreadable_image_format(nlcl_basename(out)))
            return cli_usage_error("derain", "-o %s: can write .png or .jpg only", out);
    }
    if (o->single && o->format >= 0 && (o->format == 1) != cli_is_jpeg_name(out))
        return cli_usage_error("derain", "--format %s contradicts -o %s (the extension sets the "
                                         "format of a single file)",
                               o->format == 1 ? "jpg" : "png", out);
    return check_resources(o);
}

/* Output paths: -o FILE for the one input, or DIR/NAME.EXT (and NAME_rain.EXT). */
static int output_paths(const derain_opts *o, derain_work *w) {
    const char *out = o->out, *ext = o->format == 1 ? ".jpg" : ".png";
    w->dir = out ? out : "derained";
    if (o->single && w->nin != 1)
        return cli_usage_error("derain", "-o %s names one file but there are %d inputs", out, w->nin);
    const char *base = o->single ? nlcl_basename(out) : NULL;
    /* the folder of -o FILE must exist and be a folder (it is not made) */
    if (base && base != out && cli_check_out_path("derain", out, 0) != CLI_EXIT_OK) return CLI_EXIT_FAIL;
    w->outs = calloc((size_t)w->nin, sizeof *w->outs);
    w->rain_outs = calloc((size_t)w->nin, sizeof *w->rain_outs);
    if (!w->outs || !w->rain_outs) return CLI_EXIT_FAIL;
    for (int i = 0; i < w->nin; i++) {
        if (o->single) {
            w->outs[i] = strdup(out);
            const char *dot = strrchr(nlcl_basename(out), '.');
            size_t stem = (size_t)(dot - out), len = strlen(out) + 8;
            w->rain_outs[i] = malloc(len);
            if (w->rain_outs[i]) snprintf(w->rain_outs[i], len, "%.*s_rain%s", (int)stem, out, dot);
        } else {
            w->outs[i] = make_out_path(w->dir, w->in.rel[i], "", ext);
            w->rain_outs[i] = make_out_path(w->dir, w->in.rel[i], "_rain", ext);
        }
        if (!w->outs[i] || !w->rain_outs[i]) return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* G_B (and G_R), with a warning when a model's recorded role is the other one. */
static int load_models(const derain_opts *o, derain_work *w) {
    nlcl_status s = o->model_path ? nlcl_model_load(o->model_path, &w->gb) : nlcl_model_load_default(&w->gb);
    if (s == NLCL_OK && o->rain_path) s = nlcl_model_load_role(o->rain_path, "G_R", &w->gr);
    for (int k = 0; s == NLCL_OK && k < 2; k++) {
        nlcl_model *m = k ? w->gr : w->gb;
        if (!m) continue;
        if (o->limit) nlcl_model_set_memory_limit(m, o->limit);
        if (o->precision) s = nlcl_model_set_precision(m, NLCL_PRECISION_BF16);
        if (s == NLCL_OK && o->scratch) s = nlcl_model_set_scratch_dir(m, o->scratch);
    }
    if (s != NLCL_OK) return cli_fail(s);
    if (o->follower) return CLI_EXIT_OK;
    const char *role = nlcl_model_meta(w->gb, "role");
    if (role && !strcmp(role, "G_R"))
        fprintf(stderr, "nlcl derain: warning: %s is a rain-layer model (role G_R), not a "
                        "derainer (G_B); its outputs are rain layers\n",
                o->model_path ? o->model_path : "the default model");
    role = w->gr ? nlcl_model_meta(w->gr, "role") : NULL;
    if (role && !strcmp(role, "G_B"))
        fprintf(stderr, "nlcl derain: warning: --rain-model %s is a derainer (role G_B), not a "
                        "rain-layer model (G_R)\n",
                o->rain_path);
    if (o->verbose) {
        fprintf(stderr, "model %s: %d channels, %d blocks, %zu parameters, %s arithmetic\n",
                o->model_path ? o->model_path : "<default>", nlcl_model_channels(w->gb),
                nlcl_model_blocks(w->gb), nlcl_model_num_params(w->gb), o->precision ? "bf16" : "fp32");
        /* what the loader did to read it (a checkpoint's wrapper, a prefix) */
        for (int k = 0; k < 2; k++) {
            const nlcl_model *m = k ? w->gr : w->gb;
            const char *imp = m ? nlcl_model_meta(m, "import") : NULL;
            if (imp) fprintf(stderr, "  %simport: %s\n", k ? "rain model " : "", imp);
        }
    }
    return CLI_EXIT_OK;
}

/* 1 if path is a file that is not empty */
static int nonempty_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* --skip-existing: mark the inputs whose outputs (and rain layers) all
 * exist; they are complete, since every output is written atomically (an
 * empty file is not one of them: it is derained again). */
static void mark_existing(const derain_opts *o, derain_work *w) {
    int n = 0;
    for (int i = 0; i < w->nin; i++) {
        w->skip[i] = nonempty_file(w->outs[i]) && (!w->gr || nonempty_file(w->rain_outs[i]));
        n += w->skip[i];
    }
    if (n && !o->quiet && !o->follower)
        fprintf(stderr, "nlcl derain: %d of %d image%s already derained (--skip-existing): left out\n", n,
                w->nin, w->nin == 1 ? "" : "s");
}

/* Make folder path and its missing parents, recording each one made (parents
 * first) in w->made. Errors are printed. */
static int make_dirs(derain_work *w, const char *path) {
    if (!*path) return CLI_EXIT_OK;
    char *p = strdup(path);
    size_t depth = 1;
    for (const char *c = path; *c; c++) depth += *c == '/';
    char **nm = p ? realloc(w->made, sizeof *nm * ((size_t)w->nmade + depth)) : NULL;
    if (!nm) {
        free(p);
        fprintf(stderr, "nlcl derain: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    w->made = nm;
    int rc = CLI_EXIT_OK;
    /* each prefix ending before a '/', then the whole path */
    for (char *q = p + 1; rc == CLI_EXIT_OK; q++) {
        if (*q && *q != '/') continue;
        char keep = *q;
        *q = '\0';
        if (!nlcl_is_dir(p)) {
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "nlcl derain: %s: cannot create the folder: %s\n", p, strerror(errno));
                rc = CLI_EXIT_FAIL;
            } else if ((w->made[w->nmade] = strdup(p))) {
                w->nmade++;
            }
        }
        *q = keep;
        if (!keep) break;
    }
    free(p);
    return rc;
}

/* Before the first image: every output folder made (with -r, the input
 * tree's subfolders) and checked to be writable. */
static int prepare_dirs(const derain_opts *o, derain_work *w) {
    char *last = NULL;
    int rc = CLI_EXIT_OK;
    for (int i = 0; rc == CLI_EXIT_OK && i < w->nin; i++) {
        if (w->skip[i]) continue;
        char *d = nlcl_dirname(w->outs[i]);
        if (!d) return CLI_EXIT_FAIL;
        if (!last || strcmp(d, last) != 0) {
            if (!o->single) rc = make_dirs(w, d);
            if (rc == CLI_EXIT_OK) rc = cli_check_writable_dir("derain", d);
            free(last);
            last = d;
        } else {
            free(d);
        }
    }
    free(last);
    return rc;
}

/* Before the first image: every output's name (and its rain layer's) can be
 * written: within the folder's name limit, not a folder (with -r, a
 * subfolder x.png/ beside x.jpg), so that no image fails on it at the end. */
static int check_names(const derain_opts *o, const derain_work *w) {
    for (int i = 0; i < w->nin; i++) {
        if (w->skip[i]) continue;
        if (cli_check_out_path("derain", w->outs[i], 0) != CLI_EXIT_OK) return CLI_EXIT_FAIL;
        if (o->rain_path && cli_check_out_path("derain", w->rain_outs[i], 0) != CLI_EXIT_OK)
            return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* Derain input i into its output(s) and report it; 0, -1 (failed, printed)
 * or 1 (interrupted: nothing of it written). */
static int derain_one(const derain_opts *o, const derain_work *w, int i, int tty) {
    double t0 = cli_now_s();
    nlcl_image img = {0}, res = {0}, rain = {0};
    progress_ctx pc = {nlcl_basename(w->inputs[i]), tty && !o->quiet, -1};
    nlcl_image_info info = {0};
    float *alpha = NULL; /* transparent pixels' opacity, carried to PNG outputs */
    nlcl_image_meta meta = {0}; /* EXIF, XMP, IPTC, text: said to be upright */
    char why[600];              /* why the metadata could not be read, "" if it could */
    nlcl_status s = cli_load_image_meta("derain", w->inputs[i], &img, &alpha, &info, &meta, why, sizeof why);
    if (s == NLCL_OK) s = cli_check_jpeg_out(w->inputs[i], w->outs[i], &img, alpha, &info);
    /* both models run before anything is written: a failure of either
     * (e.g. a non-finite output) leaves no file of this input behind */
    if (s == NLCL_OK) {
        nlcl_model_set_progress(w->gb, on_progress, &pc);
        s = nlcl_model_run_image(w->gb, &img, &res);
        if (s == NLCL_OK && w->gr) {
            nlcl_model_set_progress(w->gr, on_progress, &pc);
            s = nlcl_model_run_image(w->gr, &img, &rain);
        }
        if (s != NLCL_OK) s = nlcl_error_prefix(s, "%s: ", w->inputs[i]);
    }
    const int bits = info.bit_depth;
    const nlcl_quantize q = (nlcl_quantize)o->quant;
    const char *in = w->inputs[i];
    if (s == NLCL_OK) cli_say_meta("derain", in, w->outs[i], &meta, why);
    if (s == NLCL_OK)
        s = cli_save_image("derain", w->outs[i], &res, alpha, &meta, q, o->quality, in, bits);
    if (s == NLCL_OK && w->gr)
        s = cli_save_image("derain", w->rain_outs[i], &rain, alpha, &meta, q, o->quality, in, bits);
    nlcl_image_free(&res);
    nlcl_image_free(&rain);
    free(alpha);
    nlcl_image_meta_free(&meta);
    if (s == NLCL_ERR_INTERRUPTED && g_stop) {
        nlcl_image_free(&img);
        return 1;
    }
    if (s != NLCL_OK) cli_fail(s);
    else if (!o->quiet && w->nin > 1)
        fprintf(stderr, "[%d/%d] %s -> %s (%dx%d, %.2f s)\n", i + 1, w->nin, w->inputs[i], w->outs[i],
                img.width, img.height, cli_now_s() - t0);
    else if (!o->quiet)
        fprintf(stderr, "%s -> %s%s%s (%dx%d, %.2f s)\n", w->inputs[i], w->outs[i], w->gr ? " and " : "",
                w->gr ? w->rain_outs[i] : "", img.width, img.height, cli_now_s() - t0);
    if (s == NLCL_OK && o->verbose)
        fprintf(stderr, "  activations %.1f MiB %s, peak RSS so far %.1f MiB\n",
                (double)nlcl_model_workspace_bytes(w->gb, img.height, img.width) / 1048576.0,
                nlcl_model_streamed(w->gb) ? "streamed through temporary files" : "in memory",
                peak_rss_mib());
    nlcl_image_free(&img);
    return s == NLCL_OK ? 0 : -1;
}

/* Every input (on N ranks, this rank's: inputs rank, rank + N, ...); a
 * failed one is reported and the others go on; Ctrl-C stops after (or,
 * through the progress callback, inside) the current image. Rank 0 sums up
 * for all. */
static int derain_all(const derain_opts *o, const derain_work *w) {
    int tty = isatty(2), rank = cli_mpi_rank(), ranks = cli_mpi_size(), i = rank, r = 0, written = 0;
    double t_all = cli_now_s();
    long long failures = 0;
    for (; i < w->nin && !g_stop; i += ranks) {
        if (w->skip[i]) continue;
        if ((r = derain_one(o, w, i, tty)) > 0) break;
        if (r < 0) failures++;
        else written++;
    }
    cli_say_meta_summary("derain");
    if (g_stop) {
        if (tty) fprintf(stderr, "\r\033[K");
        if (ranks > 1) fprintf(stderr, "nlcl derain: rank %d: ", rank);
        else fprintf(stderr, "nlcl derain: ");
        fprintf(stderr, "interrupted after %d of %d images (%d written in this run%s); nothing partial "
                        "is left: run again with --skip-existing to continue\n",
                ranks > 1 ? (i - rank) / ranks : i, ranks > 1 ? (w->nin - rank + ranks - 1) / ranks : w->nin,
                written, failures ? ", some failed" : "");
        return 130;
    }
    if (cli_mpi_sum(&failures, 1) != 0) cli_mpi_abort("derain: the ranks cannot add up their failures", 1);
    if (rank == 0 && o->verbose)
        fprintf(stderr, "%d image(s) in %.2f s%s, %lld failed; peak RSS %.1f MiB%s\n", w->nin,
                cli_now_s() - t_all, ranks > 1 ? " on all ranks" : "", failures, peak_rss_mib(),
                ranks > 1 ? " (rank 0)" : "");
    else if (rank == 0 && failures)
        fprintf(stderr, "nlcl derain: %lld of %d images failed\n", failures, w->nin);
    return failures ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* Inputs, outputs, the checks that nothing is overwritten, the models, the
 * output folders and names: all before any work. CLI_EXIT_OK or the exit status. */
static int prepare(const derain_opts *o, const cli_pos *pos, derain_work *w) {
    int rc = cli_expand_inputs("derain", pos, o->quiet || o->follower, o->recursive, &w->in);
    w->inputs = w->in.path;
    w->nin = w->in.n;
    if (rc == CLI_EXIT_OK) rc = output_paths(o, w);
    if (rc == CLI_EXIT_OK)
        rc = check_outputs(w->inputs, w->outs, w->rain_outs, w->nin, o->rain_path != NULL,
                           o->single ? NULL : w->dir);
    if (rc == CLI_EXIT_OK) rc = load_models(o, w);
    if (rc == CLI_EXIT_OK && !(w->skip = calloc((size_t)w->nin, 1))) rc = CLI_EXIT_FAIL;
    if (rc == CLI_EXIT_OK && o->skip_existing) mark_existing(o, w);
    if (rc == CLI_EXIT_OK && !o->single) rc = make_dirs(w, w->dir); /* made even when all are skipped */
    if (rc == CLI_EXIT_OK) rc = prepare_dirs(o, w);
    if (rc == CLI_EXIT_OK) rc = check_names(o, w);
    return rc;
}

/* On several ranks (mpirun): rank 0 prepares first, and the others only
 * when it succeeded (a problem of the command line is said once, by rank 0),
 * without the notes; then they agree, and a rank that could not start
 * stops all before any image is derained. */
static int prepare_ranks(derain_opts *o, const cli_pos *pos, derain_work *w) {
    int rank = cli_mpi_rank();
    if (cli_mpi_size() == 1) return prepare(o, pos, w);
    int rc0 = rank == 0 ? prepare(o, pos, w) : CLI_EXIT_OK;
    if (cli_mpi_bcast_ints(&rc0, 1) != 0) cli_mpi_abort("derain: the ranks cannot agree", 1);
    if (rc0 != CLI_EXIT_OK) return rc0;
    o->follower = rank != 0;
    long long failed = rank != 0 && prepare(o, pos, w) != CLI_EXIT_OK;
    if (cli_mpi_sum(&failed, 1) != 0) cli_mpi_abort("derain: the ranks cannot agree", 1);
    if (!failed) return CLI_EXIT_OK;
    if (rank == 0)
        fprintf(stderr, "nlcl derain: %lld rank(s) could not start (their messages say why); nothing "
                        "was derained\n", failed);
    return CLI_EXIT_FAIL;
}

static void free_work(derain_work *w) {
    /* folders made here, deepest first: rmdir fails, harmlessly, unless the
     * folder stayed empty (nothing was written there) */
    for (int k = w->nmade - 1; k >= 0; k--) {
        rmdir(w->made[k]);
        free(w->made[k]);
    }
    free(w->made);
    nlcl_model_free(w->gb);
    nlcl_model_free(w->gr);
    for (int i = 0; i < w->nin; i++) {
        if (w->outs) free(w->outs[i]);
        if (w->rain_outs) free(w->rain_outs[i]);
    }
    cli_inputs_free(&w->in);
    free(w->outs);
    free(w->rain_outs);
    free(w->skip);
}

int cmd_derain(int argc, char **argv) {
    derain_opts o;
    cli_pos pos;
    int rc = parse_args(&o, argc, argv, &pos);
    if (rc != CLI_CONTINUE) return rc;
    if (o.threads > 0) nlcl_set_num_threads(o.threads);
    if (o.max_pixels > 0) nlcl_image_set_max_pixels((uint64_t)o.max_pixels);
    derain_work w = {0};
    rc = prepare_ranks(&o, &pos, &w);
    if (rc == CLI_EXIT_OK) {
        g_made = w.made;
        g_nmade = w.nmade;
        cli_catch_signals(on_signal, 0);
        rc = derain_all(&o, &w);
    }
    free_work(&w);
    return rc;
}
