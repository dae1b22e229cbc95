/* Image loading/saving front end (include/nlcl/image.h): format sniffing, the
 * pixel limit, allocation, float <-> integer sample conversion. The codecs
 * themselves are in png.c (libpng), jpeg.c (libjpeg-turbo), tiff.c (libtiff,
 * reading only) and bmp.c (own decoder, reading only). */
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "image_internal.h"

/* ---- pixel limit ------------------------------------------------------------ */

static _Atomic uint64_t max_pixels = NLCL_IMAGE_DEFAULT_MAX_PIXELS;

void nlcl_image_set_max_pixels(uint64_t n) {
    atomic_store(&max_pixels, n ? n : NLCL_IMAGE_DEFAULT_MAX_PIXELS);
}

uint64_t nlcl_image_get_max_pixels(void) { return atomic_load(&max_pixels); }

nlcl_status nlcl_image_check_dims(const char *name, uint64_t width,
                                  uint64_t height) {
    if (width == 0 || height == 0)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: invalid image size %llux%llu",
                              name, (unsigned long long)width, (unsigned long long)height);
    uint64_t lim = nlcl_image_get_max_pixels();
    /* width, height < 2^32 for both formats, so the product cannot overflow;
     * check anyway so that this helper is safe for any caller. */
    if (width > lim || height > lim || width * height > lim)
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: %llux%llu exceeds the pixel limit of %llu",
                              name, (unsigned long long)width,
                              (unsigned long long)height, (unsigned long long)lim);
    if (width > INT32_MAX || height > INT32_MAX)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: %llux%llu is too large",
                              name, (unsigned long long)width, (unsigned long long)height);
    return NLCL_OK;
}

/* ---- allocation --------------------------------------------------------------- */

/* Ask for transparent huge pages on the 2 MiB-aligned interior of a large
 * buffer (best effort). Filling a fresh 12 Mpx image otherwise takes ~37k
 * 4 KiB page faults, which cost more than the JPEG decoding itself on
 * virtual machines (0.5 s vs 0.03 s measured for 146 MB). */
static void advise_hugepages(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)1 << 21;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static int plane_floats(int width, int height, size_t *n) {
    return width > 0 && height > 0 && nlcl_size_mul4((size_t)width, (size_t)height, 3, 1, n);
}

nlcl_status nlcl_image_alloc_for(const char *name, nlcl_image *img,
                                 int width, int height) {
    size_t n, bytes;
    if (!plane_floats(width, height, &n) || !nlcl_size_mul(n, sizeof(float), &bytes))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: %dx%d: size overflow", name,
                              width, height);
    float *d = nlcl_alloc(bytes, "image");
    if (!d)
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate %zu bytes for %dx%d pixels",
                              name, bytes, width, height);
    advise_hugepages(d, bytes);
    img->width = width;
    img->height = height;
    img->data = d;
    return NLCL_OK;
}

nlcl_status nlcl_image_alloc(nlcl_image *img, int height, int width) {
    if (!img)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_alloc: img is NULL");
    memset(img, 0, sizeof *img);
    size_t n;
    if (!plane_floats(width, height, &n))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid size %dx%d", width,
                              height);
    float *d = nlcl_alloc_floats(n, "image");
    if (!d) return nlcl_error_prefix(NLCL_ERR_NOMEM, "%dx%d: ", width, height);
    img->width = width;
    img->height = height;
    img->data = d;
    return NLCL_OK;
}

void nlcl_image_free(nlcl_image *img) {
    if (!img) return;
    nlcl_free(img->data);
    img->data = NULL;
    img->width = img->height = 0;
}

/* ---- sample conversion ---------------------------------------------------------- */

static float lut8[256];
static pthread_once_t lut8_once = PTHREAD_ONCE_INIT;

static void lut8_init(void) {
    for (int v = 0; v < 256; v++) lut8[v] = (float)((double)v / 255.0 * 2.0 - 1.0);
}

static inline float from16(unsigned v) { return (float)((double)v / 65535.0 * 2.0 - 1.0); }

size_t nlcl_image_put_row8(nlcl_image *img, int y, const uint8_t *row, int channels) {
    pthread_once(&lut8_once, lut8_init);
    const size_t w = (size_t)img->width, plane = w * (size_t)img->height;
    float *r = img->data + (size_t)y * w, *g = r + plane, *b = g + plane;
    const float *t = lut8;
    size_t clear = 0;
    switch (channels) {
    case 1:
        for (size_t x = 0; x < w; x++) r[x] = g[x] = b[x] = t[row[x]];
        break;
    case 2:
        for (size_t x = 0; x < w; x++) {
            r[x] = g[x] = b[x] = t[row[2 * x]];
            clear += row[2 * x + 1] != 255;
        }
        break;
    case 3:
        for (size_t x = 0; x < w; x++) {
            r[x] = t[row[3 * x]];
            g[x] = t[row[3 * x + 1]];
            b[x] = t[row[3 * x + 2]];
        }
        break;
    default: /* 4 */
        for (size_t x = 0; x < w; x++) {
            r[x] = t[row[4 * x]];
            g[x] = t[row[4 * x + 1]];
            b[x] = t[row[4 * x + 2]];
            clear += row[4 * x + 3] != 255;
        }
        break;
    }
    return clear;
}

size_t nlcl_image_put_row16be(nlcl_image *img, int y, const uint8_t *row, int channels) {
    const size_t w = (size_t)img->width, plane = w * (size_t)img->height;
    float *r = img->data + (size_t)y * w, *g = r + plane, *b = g + plane;
    const size_t step = 2 * (size_t)channels;
    size_t clear = 0;
    for (size_t x = 0; x < w; x++) {
        const uint8_t *p = row + x * step;
        if (channels <= 2) {
            r[x] = g[x] = b[x] = from16((unsigned)p[0] << 8 | p[1]);
        } else {
            r[x] = from16((unsigned)p[0] << 8 | p[1]);
            g[x] = from16((unsigned)p[2] << 8 | p[3]);
            b[x] = from16((unsigned)p[4] << 8 | p[5]);
        }
        if (channels == 2 || channels == 4) clear += p[step - 2] != 255 || p[step - 1] != 255;
    }
    return clear;
}

void nlcl_image_alpha_row(float *a, const uint8_t *row, int channels, int bits, size_t w) {
    const size_t step = (size_t)channels * (size_t)bits / 8;
    if (bits == 16)
        for (size_t x = 0; x < w; x++) {
            const uint8_t *p = row + x * step + step - 2;
            a[x] = (float)(((unsigned)p[0] << 8 | p[1]) / 65535.0);
        }
    else
        for (size_t x = 0; x < w; x++) a[x] = (float)(row[x * step + step - 1] / 255.0);
}

unsigned nlcl_quant_alpha(float a, int bits16) {
    double v = a >= 0.0f ? (a <= 1.0f ? a : 1.0) : 0.0; /* NaN -> 0 */
    return (unsigned)(v * (bits16 ? 65535.0 : 255.0) + 0.5);
}

nlcl_status nlcl_img_src_alloc_alpha(nlcl_img_src *src, int width, int height) {
    if (!src->want_alpha) return NLCL_OK;
    free(src->alpha);
    /* width * height passed the pixel limit (<= 2^63 / 4 floats) */
    src->alpha = malloc((size_t)width * (size_t)height * sizeof(float));
    if (!src->alpha)
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate the alpha of %dx%d pixels",
                              src->name, width, height);
    return NLCL_OK;
}

/* clamp(y, -1, 1); NaN becomes -1 (black). Branch-free (maxss/minss). */
static inline float clamp1(float v) {
    v = v >= -1.0f ? v : -1.0f;
    return v <= 1.0f ? v : 1.0f;
}

/* Rounding is done in double, (y + 1) / 2 * 255 + 0.5 then truncation:
 * u8 -> float -> u8 is then exact for all 256 levels. Truncation repeats the
 * authors' numpy float32 arithmetic ((y + 1) / 2.0 * 255.0 on a float32
 * array, then astype(uint8)) bit for bit. */
static inline uint8_t quant8_round(float v) {
    return (uint8_t)(int32_t)(((double)clamp1(v) + 1.0) * 0.5 * 255.0 + 0.5);
}
static inline uint8_t quant8_trunc(float v) {
    return (uint8_t)(int32_t)((clamp1(v) + 1.0f) / 2.0f * 255.0f);
}

static inline unsigned quant16(float v, nlcl_quantize q) {
    double t = ((double)clamp1(v) + 1.0) * 0.5 * 65535.0;
    return (unsigned)(int32_t)(q == NLCL_QUANT_TRUNCATE ? t : t + 0.5);
}

/* One plane row -> every third byte of an interleaved row. */
static void quant_plane8(const float *src, size_t w, nlcl_quantize q, uint8_t *dst) {
    if (q == NLCL_QUANT_TRUNCATE)
        for (size_t x = 0; x < w; x++) dst[3 * x] = quant8_trunc(src[x]);
    else
        for (size_t x = 0; x < w; x++) dst[3 * x] = quant8_round(src[x]);
}

void nlcl_image_get_row8(const nlcl_image *img, int y, nlcl_quantize q, uint8_t *rgb) {
    const size_t w = (size_t)img->width, plane = w * (size_t)img->height;
    const float *r = img->data + (size_t)y * w;
    quant_plane8(r, w, q, rgb);
    quant_plane8(r + plane, w, q, rgb + 1);
    quant_plane8(r + 2 * plane, w, q, rgb + 2);
}

void nlcl_image_get_row16be(const nlcl_image *img, int y, nlcl_quantize q, uint8_t *rgb) {
    const size_t w = (size_t)img->width, plane = w * (size_t)img->height;
    const float *c[3];
    c[0] = img->data + (size_t)y * w;
    c[1] = c[0] + plane;
    c[2] = c[1] + plane;
    for (size_t x = 0; x < w; x++)
        for (int k = 0; k < 3; k++) {
            unsigned u = quant16(c[k][x], q);
            rgb[6 * x + 2 * (size_t)k] = (uint8_t)(u >> 8);
            rgb[6 * x + 2 * (size_t)k + 1] = (uint8_t)(u & 0xff);
        }
}

void nlcl_image_to_rgb8(const nlcl_image *img, nlcl_quantize q, uint8_t *rgb) {
    const size_t row = (size_t)img->width * 3;
    for (int y = 0; y < img->height; y++) nlcl_image_get_row8(img, y, q, rgb + (size_t)y * row);
}

nlcl_status nlcl_image_from_rgb8(nlcl_image *img, const uint8_t *rgb, int height, int width) {
    if (!img || !rgb)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_from_rgb8: NULL argument");
    size_t n;
    memset(img, 0, sizeof *img);
    if (!plane_floats(width, height, &n))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "invalid size %dx%d", width,
                              height);
    NLCL_TRY(nlcl_image_alloc_for("<memory>", img, width, height));
    const size_t row = (size_t)width * 3;
    for (int y = 0; y < height; y++) nlcl_image_put_row8(img, y, rgb + (size_t)y * row, 3);
    return NLCL_OK;
}

/* ---- byte sources and format sniffing --------------------------------------------- */

int nlcl_img_src_size(const nlcl_img_src *s, uint64_t *size) {
    if (!s->fp) {
        *size = s->len;
        return 1;
    }
    struct stat st;
    if (fstat(fileno(s->fp), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    *size = (uint64_t)st.st_size;
    return 1;
}

size_t nlcl_img_src_pread(nlcl_img_src *s, uint64_t offset, void *buf, size_t n) {
    if (!s->fp) {
        if (offset >= s->len) return 0;
        size_t k = n < s->len - offset ? n : (size_t)(s->len - offset);
        memcpy(buf, s->mem + offset, k);
        return k;
    }
    off_t here = ftello(s->fp);
    if (here < 0 || offset > (uint64_t)INT64_MAX || fseeko(s->fp, (off_t)offset, SEEK_SET) != 0) {
        s->read_error = errno ? errno : EIO;
        return 0;
    }
    size_t k = fread(buf, 1, n, s->fp);
    if (k < n && ferror(s->fp)) s->read_error = errno ? errno : EIO;
    if (fseeko(s->fp, here, SEEK_SET) != 0) s->read_error = errno ? errno : EIO;
    return k;
}

size_t nlcl_img_src_read(nlcl_img_src *s, void *buf, size_t n) {
    uint8_t *out = buf;
    size_t got = 0;
    if (s->fp) {
        while (got < n && s->head_pos < s->head_len) out[got++] = s->head[s->head_pos++];
        if (got < n) {
            size_t want = n - got, r = fread(out + got, 1, want, s->fp);
            got += r;
            if (r < want && ferror(s->fp)) s->read_error = errno ? errno : EIO;
        }
        return got;
    }
    size_t left = s->len - s->pos;
    got = n < left ? n : left;
    if (got) memcpy(out, s->mem + s->pos, got);
    s->pos += got;
    return got;
}

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
/* TIFF and BigTIFF, little- and big-endian */
static const uint8_t tiff_sig[4][4] = {
    {'I', 'I', 42, 0}, {'M', 'M', 0, 42}, {'I', 'I', 43, 0}, {'M', 'M', 0, 43}};

/* ---- transparency ---------------------------------------------------------------- */

static atomic_int refuse_transparent;

void nlcl_image_set_refuse_transparent(int refuse) { atomic_store(&refuse_transparent, !!refuse); }
int nlcl_image_get_refuse_transparent(void) { return atomic_load(&refuse_transparent); }

/* After a successful decode: transparency (the alpha kept for the caller
 * when it has transparent pixels and was asked for, else refused or
 * dropped), colours to sRGB, then upright. */
static nlcl_status finish(nlcl_img_src *src, nlcl_image *img,
                          nlcl_image_info *info) {
    if (info) info->transparent = src->transparent;
    if (!src->transparent) {
        free(src->alpha);
        src->alpha = NULL;
    }
    if (src->transparent && !src->alpha && nlcl_image_get_refuse_transparent()) {
        uint64_t n = (uint64_t)img->width * (uint64_t)img->height;
        nlcl_image_free(img);
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: %llu of %llu pixels are transparent; transparency is not "
                              "supported (nlcl would use the colours hidden under it): flatten "
                              "the image onto a background first",
                              src->name, (unsigned long long)src->transparent,
                              (unsigned long long)n);
    }
    int converted = 0;
    uint64_t clipped = 0;
    nlcl_status s = nlcl_colour_to_srgb(src, img, &converted, &clipped);
    clipped += src->clipped; /* a CMYK profile's, converted by the decoder */
    if (s == NLCL_OK && src->alpha)
        s = nlcl_plane_orient(src->name, &src->alpha, img->width, img->height, src->orientation);
    if (s == NLCL_OK) s = nlcl_image_orient(src->name, img, src->orientation);
    if (s != NLCL_OK) nlcl_image_free(img);
    if (info) info->colour_converted = converted, info->gamut_clipped = clipped;
    return s;
}

static nlcl_status decode(nlcl_img_src *src, nlcl_image *img,
                          nlcl_image_info *info) {
    if (info) memset(info, 0, sizeof *info);
    const uint8_t *h = src->fp ? src->head : src->mem;
    size_t n = src->fp ? src->head_len : src->len;
    if (n > 8) n = 8;
    if (n == 0) return nlcl_error_set(NLCL_ERR_FORMAT, "%s: empty file", src->name);
    nlcl_status s;
    nlcl_image_format fmt;
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
        fmt = NLCL_IMAGE_JPEG;
        s = nlcl_jpeg_decode(src, img, info);
    } else if (memcmp(h, png_sig, n) == 0) {
        if (n < 8) return nlcl_error_set(NLCL_ERR_FORMAT, "%s: PNG truncated", src->name);
        fmt = NLCL_IMAGE_PNG;
        s = nlcl_png_decode(src, img, info);
    } else if (n >= 2 && h[0] == 'B' && h[1] == 'M') {
        fmt = NLCL_IMAGE_BMP;
        s = nlcl_bmp_decode(src, img, info);
    } else {
        int k = 0;
        while (k < 4 && memcmp(h, tiff_sig[k], n < 4 ? n : 4) != 0) k++;
        if (k == 4)
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: not a PNG or JPEG file, nor TIFF or BMP",
                                  src->name);
        if (n < 4) return nlcl_error_set(NLCL_ERR_FORMAT, "%s: TIFF truncated", src->name);
        fmt = NLCL_IMAGE_TIFF;
        s = nlcl_tiff_decode(src, img, info);
    }
    if (s == NLCL_OK && img) s = finish(src, img, info);
    /* the codecs fill *info once they have read the header */
    if (info && (info->width || info->height)) {
        info->format = fmt;
        info->orientation = src->orientation;
        info->cmyk = src->cmyk;
        if (src->orientation >= 5) { /* the upright size */
            int t = info->width;
            info->width = info->height;
            info->height = t;
        }
    }
    free(src->icc);
    src->icc = NULL;
    if (s != NLCL_OK) {
        free(src->alpha);
        src->alpha = NULL;
    }
    return s;
}

/* exif non-NULL (a probe): *exif gets the file's EXIF block as the decoder
 * kept it (src->exif), NULL if none; exif->meta non-NULL: the metadata too. */
static nlcl_status load_file(const char *path, nlcl_image *img, float **alpha,
                             nlcl_image_info *info, nlcl_img_src *exif) {
    if (info) memset(info, 0, sizeof *info);
    nlcl_img_src src;
    memset(&src, 0, sizeof src);
    src.name = path;
    src.want_alpha = alpha != NULL;
    src.want_exif = exif != NULL;
    src.meta = exif ? exif->meta : NULL;
    int fd;
    uint64_t size;
    NLCL_TRY(nlcl_open_regular(path, &fd, &size));
    if (!(src.fp = fdopen(fd, "rb"))) {
        int e = errno;
        close(fd);
        return nlcl_error_set(NLCL_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    src.head_len = fread(src.head, 1, sizeof src.head, src.fp);
    nlcl_status s;
    if (src.head_len < sizeof src.head && ferror(src.fp))
        s = nlcl_error_set(NLCL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    else
        s = decode(&src, img, info);
    fclose(src.fp);
    if (alpha) *alpha = src.alpha; /* NULL unless decoded, with transparent pixels */
    else free(src.alpha);
    if (exif && s == NLCL_OK) exif->exif = src.exif, exif->exif_len = src.exif_len;
    else free(src.exif);
    return s;
}

nlcl_status nlcl_image_load(const char *path, nlcl_image *img, nlcl_image_info *info) {
    if (img) memset(img, 0, sizeof *img);
    if (!path || !img)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_load: NULL argument");
    return load_file(path, img, NULL, info, NULL);
}

nlcl_status nlcl_image_load_alpha(const char *path, nlcl_image *img, float **alpha,
                                  nlcl_image_info *info) {
    if (img) memset(img, 0, sizeof *img);
    if (alpha) *alpha = NULL;
    if (!path || !img || !alpha)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_load_alpha: NULL argument");
    return load_file(path, img, alpha, info, NULL);
}

nlcl_status nlcl_image_probe(const char *path, nlcl_image_info *info) {
    if (!path || !info)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_probe: NULL argument");
    return load_file(path, NULL, NULL, info, NULL);
}

nlcl_status nlcl_image_load_exif(const char *path, uint8_t **exif, size_t *len) {
    if (exif) *exif = NULL;
    if (len) *len = 0;
    if (!path || !exif || !len)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_load_exif: NULL argument");
    nlcl_image_info info;
    nlcl_img_src kept = {0};
    NLCL_TRY(load_file(path, NULL, NULL, &info, &kept));
    if (!kept.exif) return NLCL_OK;
    nlcl_status s = nlcl_exif_upright(path, kept.exif, kept.exif_len, info.width, info.height,
                                      exif, len);
    free(kept.exif);
    return s;
}

/* The metadata load_file kept (kept->meta, kept->exif) made right for the
 * upright image that info describes; kept->exif freed. */
static nlcl_status finish_meta(const char *path, nlcl_img_src *kept, const nlcl_image_info *info) {
    nlcl_image_meta *meta = kept->meta;
    nlcl_status s = NLCL_OK;
    if (kept->exif) {
        s = nlcl_exif_upright(path, kept->exif, kept->exif_len, info->width, info->height, &meta->exif,
                              &meta->exif_len);
        free(kept->exif);
        kept->exif = NULL;
        if (s == NLCL_ERR_NOMEM) return s;
        if (s != NLCL_OK) { /* "PATH: why" */
            const char *why = nlcl_error_message();
            size_t n = strlen(path);
            if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2)) why += n + 2;
            nlcl_meta_lost(meta, "EXIF (%s)", why);
        }
    }
    return nlcl_meta_finish(path, meta, info->orientation, info->width, info->height);
}

nlcl_status nlcl_image_load_meta(const char *path, nlcl_image_meta *meta) {
    if (meta) memset(meta, 0, sizeof *meta);
    if (!path || !meta)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_load_meta: NULL argument");
    nlcl_image_info info;
    nlcl_img_src kept = {0};
    kept.meta = meta;
    NLCL_TRY(load_file(path, NULL, NULL, &info, &kept));
    return finish_meta(path, &kept, &info);
}

nlcl_status nlcl_image_load_with_meta(const char *path, nlcl_image *img, float **alpha,
                                      nlcl_image_info *info, nlcl_image_meta *meta) {
    if (img) memset(img, 0, sizeof *img);
    if (alpha) *alpha = NULL;
    if (meta) memset(meta, 0, sizeof *meta);
    if (!path || !img || !meta)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_image_load_with_meta: NULL argument");
    nlcl_image_info local;
    nlcl_img_src kept = {0};
    kept.meta = meta;
    nlcl_status s = load_file(path, img, alpha, info ? info : &local, &kept);
    if (s == NLCL_OK) s = finish_meta(path, &kept, info ? info : &local);
    if (s != NLCL_OK) {
        nlcl_image_free(img);
        if (alpha) free(*alpha), *alpha = NULL;
        nlcl_image_meta_free(meta);
    }
    return s;
}

nlcl_status nlcl_image_load_memory_alpha(const void *buf, size_t len, const char *name,
                                         nlcl_image *img, float **alpha, nlcl_image_info *info) {
    if (img) memset(img, 0, sizeof *img);
    if (alpha) *alpha = NULL;
    if (!name) name = "<memory>";
    if (!img || (!buf && len))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument", name);
    nlcl_img_src src;
    memset(&src, 0, sizeof src);
    src.name = name;
    src.mem = buf;
    src.len = len;
    src.want_alpha = alpha != NULL;
    nlcl_status s = decode(&src, img, info);
    if (alpha) *alpha = src.alpha;
    else free(src.alpha);
    return s;
}

nlcl_status nlcl_image_load_memory(const void *buf, size_t len, const char *name, nlcl_image *img,
                                   nlcl_image_info *info) {
    return nlcl_image_load_memory_alpha(buf, len, name, img, NULL, info);
}

/* ---- saving -------------------------------------------------------------------------- */

static nlcl_status check_exif(const char *path, const uint8_t *exif, size_t len) {
    if (exif && (len < 14 || len > NLCL_EXIF_MAX_BYTES || memcmp(exif, "Exif\0\0", 6) != 0))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%s: the EXIF block must start with \"Exif\\0\\0\" and hold 14 to "
                              "%u bytes (got %zu)",
                              path, (unsigned)NLCL_EXIF_MAX_BYTES, len);
    return NLCL_OK;
}

static nlcl_status check_save(const char *path, const nlcl_image *img, nlcl_quantize q) {
    if (!path || !img || !img->data)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL argument",
                              path ? path : "(null)");
    if (img->width <= 0 || img->height <= 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: invalid size %dx%d", path,
                              img->width, img->height);
    if (q != NLCL_QUANT_ROUND && q != NLCL_QUANT_TRUNCATE)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: invalid quantize mode %d",
                              path, (int)q);
    return NLCL_OK;
}

nlcl_status nlcl_image_save_png(const char *path, const nlcl_image *img, nlcl_quantize q,
                                int bits16) {
    return nlcl_image_save_png_alpha(path, img, NULL, q, bits16);
}

nlcl_status nlcl_image_save_png_alpha(const char *path, const nlcl_image *img,
                                      const float *alpha, nlcl_quantize q, int bits16) {
    return nlcl_image_save_png_exif(path, img, alpha, NULL, 0, q, bits16);
}

nlcl_status nlcl_image_save_png_exif(const char *path, const nlcl_image *img, const float *alpha,
                                     const uint8_t *exif, size_t exif_len, nlcl_quantize q,
                                     int bits16) {
    nlcl_image_meta m = {.exif = (uint8_t *)exif, .exif_len = exif_len};
    return nlcl_image_save_png_meta(path, img, alpha, exif ? &m : NULL, q, bits16);
}

nlcl_status nlcl_image_save_png_meta(const char *path, const nlcl_image *img, const float *alpha,
                                     const nlcl_image_meta *meta, nlcl_quantize q, int bits16) {
    NLCL_TRY(check_save(path, img, q));
    if (meta) NLCL_TRY(check_exif(path, meta->exif, meta->exif_len));
    NLCL_TRY(nlcl_meta_check(path, meta));
    nlcl_afile f;
    NLCL_TRY(nlcl_afile_open(&f, path));
    nlcl_status s = nlcl_png_encode(&f, path, img, alpha, meta, q, bits16 ? 1 : 0);
    if (s != NLCL_OK) {
        nlcl_afile_abort(&f);
        return s;
    }
    return nlcl_afile_commit(&f);
}

nlcl_status nlcl_image_save_jpeg(const char *path, const nlcl_image *img, nlcl_quantize q,
                                 int quality) {
    return nlcl_image_save_jpeg_exif(path, img, NULL, 0, q, quality);
}

nlcl_status nlcl_image_save_jpeg_exif(const char *path, const nlcl_image *img, const uint8_t *exif,
                                      size_t exif_len, nlcl_quantize q, int quality) {
    nlcl_image_meta m = {.exif = (uint8_t *)exif, .exif_len = exif_len};
    return nlcl_image_save_jpeg_meta(path, img, exif ? &m : NULL, q, quality);
}

nlcl_status nlcl_image_save_jpeg_meta(const char *path, const nlcl_image *img,
                                      const nlcl_image_meta *meta, nlcl_quantize q, int quality) {
    NLCL_TRY(check_save(path, img, q));
    if (meta) NLCL_TRY(check_exif(path, meta->exif, meta->exif_len));
    NLCL_TRY(nlcl_meta_check(path, meta));
    if (quality < 1 || quality > 100)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: JPEG quality %d not in 1..100",
                              path, quality);
    if (img->width > NLCL_JPEG_MAX_SIDE || img->height > NLCL_JPEG_MAX_SIDE)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: %dx%d: JPEG is limited to %d pixels a side: write PNG", path,
                              img->width, img->height, NLCL_JPEG_MAX_SIDE);
    nlcl_afile f;
    NLCL_TRY(nlcl_afile_open(&f, path));
    nlcl_status s = nlcl_jpeg_encode(&f, path, img, meta, q, quality);
    if (s != NLCL_OK) {
        nlcl_afile_abort(&f);
        return s;
    }
    return nlcl_afile_commit(&f);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

nlcl_status nlcl_image_save(const char *path, const nlcl_image *img, nlcl_quantize q) {
    NLCL_TRY(check_save(path, img, q));
    if (ends_with(path, ".png")) return nlcl_image_save_png(path, img, q, 0);
    if (ends_with(path, ".jpg") || ends_with(path, ".jpeg"))
        return nlcl_image_save_jpeg(path, img, q, 95);
    return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                          "%s: unknown image extension (use .png, .jpg or .jpeg)",
                          path);
}
