/* Image files as the commands read and write them (cli/cli.h): what the
 * library had to change on loading is said, and outputs keep the input's
 * precision, so that nothing is changed silently (docs/RELIABILITY.md,
 * "Inputs as users have them"). */
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "nlcl/files.h"

nlcl_status cli_load_image(const char *cmd, const char *path, nlcl_image *img,
                           nlcl_image_info *info) {
    nlcl_image_info local;
    nlcl_image_info *inf = info ? info : &local;
    nlcl_status s = nlcl_image_load(path, img, inf);
    if (s != NLCL_OK) return s;
    if (inf->gamut_clipped)
        fprintf(stderr,
                "nlcl %s: warning: %s: %llu of %llu pixels have colours outside sRGB (the "
                "file's colour profile is wider); nlcl works in sRGB and clipped them to the "
                "nearest sRGB colour\n",
                cmd, path, (unsigned long long)inf->gamut_clipped,
                (unsigned long long)img->width * (unsigned long long)img->height);
    return NLCL_OK;
}

static int is_jpeg_name(const char *p) {
    const char *dot = strrchr(nlcl_basename(p), '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

nlcl_status cli_save_image(const char *cmd, const char *path, const nlcl_image *img,
                           nlcl_quantize q, int quality, const char *input, int bit_depth) {
    if (!is_jpeg_name(path)) return nlcl_image_save_png(path, img, q, bit_depth > 8);
    if (bit_depth > 8)
        fprintf(stderr, "nlcl %s: warning: %s: %d-bit samples written as 8-bit JPEG %s (PNG "
                        "output keeps 16 bits)\n",
                cmd, input, bit_depth, path);
    return nlcl_image_save_jpeg(path, img, q, quality);
}
