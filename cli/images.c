/* Image files as the commands read and write them (cli/cli.h): what the
 * library had to change on loading is said, and outputs keep the input's
 * precision and transparency, so that nothing is changed silently (docs/RELIABILITY.md,
 * "Inputs as users have them"). */
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "mpi.h"
#include "nlcl/files.h"

/* The warning for what the loader had to change (gamut clipping). */
static void say_changes(const char *cmd, const char *path, const nlcl_image *img,
                        const nlcl_image_info *inf) {
    if (inf->gamut_clipped)
        fprintf(stderr,
                "nlcl %s: warning: %s: %llu of %llu pixels have colours outside sRGB (the "
                "file's colour profile is wider); nlcl works in sRGB and clipped them to the "
                "nearest sRGB colour\n",
                cmd, path, (unsigned long long)inf->gamut_clipped,
                (unsigned long long)img->width * (unsigned long long)img->height);
}

nlcl_status cli_load_image(const char *cmd, const char *path, nlcl_image *img, float **alpha,
                           nlcl_image_info *info) {
    nlcl_image_info local;
    nlcl_image_info *inf = info ? info : &local;
    nlcl_status s = alpha ? nlcl_image_load_alpha(path, img, alpha, inf) : nlcl_image_load(path, img, inf);
    if (s != NLCL_OK) return s;
    say_changes(cmd, path, img, inf);
    return NLCL_OK;
}

nlcl_status cli_load_image_meta(const char *cmd, const char *path, nlcl_image *img, float **alpha,
                                nlcl_image_info *info, nlcl_image_meta *meta, char *why, size_t nwhy) {
    nlcl_image_info local;
    nlcl_image_info *inf = info ? info : &local;
    why[0] = '\0';
    nlcl_status s = nlcl_image_load_with_meta(path, img, alpha, inf, meta);
    if (s != NLCL_OK) { /* the pixels alone: their error, or else the metadata's (rare: memory) */
        const char *msg = nlcl_error_message(); /* "PATH: why" */
        size_t n = strlen(path);
        if (!strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2)) msg += n + 2;
        snprintf(why, nwhy, "%s", msg);
        return cli_load_image(cmd, path, img, alpha, info);
    }
    say_changes(cmd, path, img, inf);
    return NLCL_OK;
}

int cli_is_jpeg_name(const char *p) {
    const char *dot = strrchr(nlcl_basename(p), '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* The warnings of cli_say_meta: of each text (what was lost), the first
 * META_NAMED are printed with their files, the rest counted and told by
 * cli_say_meta_summary, so that a folder of frames from one camera gives a
 * few lines, not one per frame. Beyond META_KINDS texts, every warning is
 * printed. */
#define META_NAMED 3
#define META_KINDS 16
typedef struct meta_kind {
    char text[1200];
    long seen;
} meta_kind;
static meta_kind g_meta[META_KINDS];
static int g_nmeta;

/* "rank N: " under mpirun with several ranks, else "" */
static const char *rank_tag(char *buf, size_t n) {
    buf[0] = 0;
    if (cli_mpi_size() > 1) snprintf(buf, n, "rank %d: ", cli_mpi_rank());
    return buf;
}

void cli_say_meta_summary(const char *cmd) {
    char tag[32];
    for (int i = 0; i < g_nmeta; i++)
        if (g_meta[i].seen > META_NAMED) {
            long more = g_meta[i].seen - META_NAMED;
            fprintf(stderr, "nlcl %s: %swarning: the same metadata could not be carried for %ld more file%s: %s\n",
                    cmd, rank_tag(tag, sizeof tag), more, more > 1 ? "s" : "", g_meta[i].text);
        }
    g_nmeta = 0;
}

static void meta_warn(const char *cmd, const char *path, const char *lost) {
    int i = 0;
    while (i < g_nmeta && strcmp(g_meta[i].text, lost)) i++;
    if (i == g_nmeta && g_nmeta < META_KINDS && strlen(lost) < sizeof g_meta[0].text) {
        snprintf(g_meta[i].text, sizeof g_meta[i].text, "%s", lost);
        g_meta[i].seen = 0;
        g_nmeta++;
    }
    if (i < g_nmeta && ++g_meta[i].seen > META_NAMED) return;
    char tag[32];
    fprintf(stderr, "nlcl %s: %swarning: %s: metadata could not be carried to the output: %s\n", cmd,
            rank_tag(tag, sizeof tag), path, lost);
}

void cli_say_meta(const char *cmd, const char *path, const char *out, nlcl_image_meta *meta, const char *why) {
    char lost[1200] = "", cannot[600] = "";
    if (why[0]) { /* the pixels were read: a failure here is rare (memory) */
        snprintf(lost, sizeof lost, "none of it (%s)", why);
        nlcl_image_meta_free(meta);
    } else if (!out) { /* no output made from it keeps its metadata */
        snprintf(lost, sizeof lost, "%s%s%s%s%s%s", meta->exif ? "; EXIF" : "", meta->xmp ? "; XMP" : "",
                 meta->iptc ? "; Photoshop/IPTC resources" : "", meta->ntext ? "; text" : "",
                 meta->nchunks ? "; PNG chunks" : "", meta->lost[0] ? "; " : "");
        snprintf(lost + strlen(lost), sizeof lost - strlen(lost), "%s", meta->lost);
        if (lost[0] == ';') memmove(lost, lost + 2, strlen(lost + 2) + 1);
        nlcl_image_meta_free(meta);
    } else {
        nlcl_image_meta_unwritable(meta, cli_is_jpeg_name(out) ? NLCL_IMAGE_JPEG : NLCL_IMAGE_PNG, cannot,
                                   sizeof cannot);
        snprintf(lost, sizeof lost, "%s%s%s", meta->lost, meta->lost[0] && cannot[0] ? "; " : "", cannot);
    }
    if (lost[0]) meta_warn(cmd, path, lost);
}

nlcl_status cli_save_image(const char *cmd, const char *path, const nlcl_image *img,
                           const float *alpha, const nlcl_image_meta *meta,
                           nlcl_quantize q, int quality, const char *input, int bit_depth) {
    if (!cli_is_jpeg_name(path))
        return nlcl_image_save_png_meta(path, img, alpha, meta, q, bit_depth > 8);
    if (alpha) /* the caller refuses this before any work (cli_check_jpeg_out) */
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: JPEG cannot keep transparency", path);
    if (bit_depth > 8)
        fprintf(stderr, "nlcl %s: warning: %s: %d-bit samples written as 8-bit JPEG %s (PNG "
                        "output keeps 16 bits)\n",
                cmd, input, bit_depth, path);
    return nlcl_image_save_jpeg_meta(path, img, meta, q, quality);
}

nlcl_status cli_check_jpeg_out(const char *input, const char *out, const nlcl_image *img,
                               const float *alpha, const nlcl_image_info *info) {
    if (!cli_is_jpeg_name(out)) return NLCL_OK;
    if (img->width > NLCL_JPEG_MAX_SIDE || img->height > NLCL_JPEG_MAX_SIDE)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: %dx%d: a JPEG output (%s) is limited to %d pixels a side: "
                              "write PNG (the default format)",
                              input, img->width, img->height, out, NLCL_JPEG_MAX_SIDE);
    if (!alpha) return NLCL_OK;
    return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                          "%s: %llu of %llu pixels are transparent, and a JPEG output (%s) "
                          "cannot keep transparency: write PNG (the default format)",
                          input, (unsigned long long)info->transparent,
                          (unsigned long long)img->width * (unsigned long long)img->height, out);
}
