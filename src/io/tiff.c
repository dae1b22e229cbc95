/* TIFF reading with libtiff 4.5 (include/nlcl/image.h).
 *
 * Only the first image (directory) is read: a file with more pages, or whose
 * first image is a reduced-resolution preview of another (DNG), is refused. Samples are read with
 * TIFFReadScanline (strips: one row at a time, or one plane row for
 * PlanarConfiguration 2) or TIFFReadEncodedTile (tiles: one tile at a time)
 * and converted here, never through TIFFReadRGBAImage, which would reduce
 * 16-bit samples to 8 bits and premultiply unassociated alpha. Supported:
 * unsigned-integer samples; MinIsBlack/MinIsWhite grey (1, 2, 4, 8, 16
 * bits), RGB (8, 16 bits), palette (1, 2, 4, 8-bit indices), YCbCr only when
 * JPEG-compressed (libjpeg converts it to RGB: JPEGCOLORMODE_RGB); any extra
 * samples (alpha) are ignored, except that an unassociated alpha goes to a
 * caller who asks for it (nlcl_image_load_alpha). Everything else (CMYK, Lab, float, signed,
 * 32-bit, old-style JPEG YCbCr...) is NLCL_ERR_UNSUPPORTED.
 *
 * Colour: an ICC profile, or else WhitePoint/PrimaryChromaticities, go to
 * the front end (colour.c) like a PNG's; see read_colorimetry.
 *
 * Errors: libtiff reports through per-handle handlers (TIFFOpenOptions,
 * libtiff >= 4.5) that record the first error of this decoder in its
 * context; warnings are ignored, except libjpeg's inside JPEG-compressed
 * TIFFs (see handle_warning). libtiff's process-wide handlers, which
 * print to stderr and are still used for messages that have no TIFF handle,
 * are replaced once (pthread_once) by ones that keep the message in a
 * thread-local buffer. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <tiffio.h>

#include "core/internal.h"
#include "image_internal.h"

#define TIFF_MSG_LEN 256
#define TIFF_MAX_SAMPLES 16            /* samples per pixel accepted */
#define TIFF_MIN_TILE_CAP ((uint64_t)64 << 20) /* a tile may always use 64 MiB */

/* ---- error handlers ------------------------------------------------------------------------ */

static _Thread_local char tls_msg[TIFF_MSG_LEN];
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void global_error(const char *module, const char *fmt, va_list ap) {
    (void)module;
    if (!tls_msg[0]) vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
}

static void global_warning(const char *module, const char *fmt, va_list ap) {
    (void)module;
    (void)fmt;
    (void)ap;
}

static void install_global_handlers(void) {
    TIFFSetErrorHandler(global_error);
    TIFFSetWarningHandler(global_warning);
}

/* ---- client I/O over nlcl_img_src ----------------------------------------------------------- */

typedef struct tiff_ctx {
    nlcl_img_src *src;
    uint64_t size;  /* bytes in the file or buffer */
    uint64_t pos;   /* memory source: read position */
    int io_error;   /* errno of a failed read or seek on a file */
    int data_error; /* a warning that means lost pixel data (see handle_warning) */
    char msg[TIFF_MSG_LEN]; /* first libtiff error */
} tiff_ctx;

static int handle_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    (void)module;
    tiff_ctx *c = ud;
    if (!c->msg[0]) vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    return 1; /* handled: do not call the global handler */
}

/* libtiff's JPEG codec passes libjpeg's warnings on as TIFF warnings
 * (module "JPEGLib"), and libjpeg then fills what it could not decode with
 * grey. libjpeg reports only the first warning of an image, and for damaged
 * or short strips that is often "extraneous bytes before marker" rather than
 * "premature end", so every libjpeg warning is an error here (the decoder
 * checks data_error after each row or tile): a valid JPEG-in-TIFF gives none.
 * Other warnings (unknown tags, ...) are ignored. */
static int handle_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    tiff_ctx *c = ud;
    if (module && strcmp(module, "JPEGLib") == 0 && !c->data_error) {
        c->data_error = 1;
        if (!c->msg[0]) {
            char m[TIFF_MSG_LEN - 8];
            vsnprintf(m, sizeof m, fmt, ap);
            snprintf(c->msg, sizeof c->msg, "JPEG: %s", m);
        }
    }
    return 1;
}

static tmsize_t t_read(thandle_t h, void *buf, tmsize_t n) {
    tiff_ctx *c = (tiff_ctx *)h;
    if (n <= 0) return 0;
    if (c->src->fp) {
        size_t r = fread(buf, 1, (size_t)n, c->src->fp);
        if (r < (size_t)n && ferror(c->src->fp)) {
            c->io_error = errno ? errno : EIO;
            clearerr(c->src->fp);
        }
        return (tmsize_t)r;
    }
    if (c->pos >= c->size) return 0;
    uint64_t left = c->size - c->pos;
    size_t k = (uint64_t)n < left ? (size_t)n : (size_t)left;
    memcpy(buf, c->src->mem + c->pos, k);
    c->pos += k;
    return (tmsize_t)k;
}

static tmsize_t t_write(thandle_t h, void *buf, tmsize_t n) {
    (void)h;
    (void)buf;
    (void)n;
    return 0; /* read-only */
}

static toff_t t_seek(thandle_t h, toff_t off, int whence) {
    tiff_ctx *c = (tiff_ctx *)h;
    if (c->src->fp) {
        if (off > (toff_t)INT64_MAX) return (toff_t)-1;
        if (fseeko(c->src->fp, (off_t)off, whence) != 0) {
            c->io_error = errno ? errno : EIO;
            return (toff_t)-1;
        }
        off_t p = ftello(c->src->fp);
        return p < 0 ? (toff_t)-1 : (toff_t)p;
    }
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? c->pos : c->size;
    /* libtiff passes negative SEEK_CUR/SEEK_END offsets as wrapped uint64 */
    uint64_t np = base + off;
    if (whence == SEEK_SET && off > (toff_t)INT64_MAX) return (toff_t)-1;
    c->pos = np;
    return np;
}

static int t_close(thandle_t h) {
    (void)h;
    return 0; /* the caller closes the file */
}

static toff_t t_size(thandle_t h) { return ((tiff_ctx *)h)->size; }

static int t_map(thandle_t h, void **base, toff_t *size) {
    (void)h;
    (void)base;
    (void)size;
    return 0;
}

static void t_unmap(thandle_t h, void *base, toff_t size) {
    (void)h;
    (void)base;
    (void)size;
}

/* ---- sample conversion -------------------------------------------------------------- */

enum { KIND_GREY, KIND_RGB, KIND_PALETTE };

typedef struct tiff_dec {
    int kind, bits, spp; /* spp: samples per pixel in one row buffer (1 if planar) */
    const float *lut;    /* sample value -> x; palette: 3 tables of 2^bits entries */
    int alpha;           /* sample (planar: plane) index of an alpha extra sample, or -1 */
    uint64_t *clear;     /* count of pixels whose alpha is below its maximum */
    float *aout;         /* the opacity plane for the caller (unassociated alpha), or NULL */
} tiff_dec;

static inline unsigned get_sample(const uint8_t *row, size_t i, int bits) {
    switch (bits) {
    case 8: return row[i];
    case 16: {
        uint16_t v;
        memcpy(&v, row + 2 * i, 2); /* libtiff delivers host byte order */
        return v;
    }
    default: { /* 1, 2, 4: MSB first, rows byte-aligned */
        size_t bit = i * (size_t)bits;
        return (unsigned)(row[bit >> 3] >> (8 - bits - (int)(bit & 7))) & ((1u << bits) - 1);
    }
    }
}

/* Pixels x0 .. x0+n-1 of row y from a buffer whose first pixel is x0.
 * plane >= 0: the buffer holds only RGB sample `plane` (planar files). */
static void put_run(const tiff_dec *t, nlcl_image *img, size_t y, size_t x0, size_t n,
                    const uint8_t *buf, int plane) {
    const size_t W = (size_t)img->width, P = W * (size_t)img->height;
    if (t->alpha >= 0) { /* alpha is dropped; its transparent pixels counted */
        const unsigned amax = (1u << t->bits) - 1;
        const size_t step = plane >= 0 ? 1 : (size_t)t->spp, off = plane >= 0 ? 0 : (size_t)t->alpha;
        float *a = t->aout ? t->aout + y * (size_t)img->width + x0 : NULL;
        if (plane < 0 || plane == t->alpha)
            for (size_t x = 0; x < n; x++) {
                const unsigned v = get_sample(buf, x * step + off, t->bits);
                *t->clear += v != amax;
                if (a) a[x] = (float)((double)v / amax);
            }
        if (plane == t->alpha) return;
    }
    float *d = img->data + y * W + x0;
    const float *lut = t->lut;
    const size_t spp = (size_t)t->spp;
    if (t->kind == KIND_PALETTE) {
        const size_t N = (size_t)1 << t->bits;
        for (size_t x = 0; x < n; x++) {
            unsigned i = get_sample(buf, x * spp, t->bits);
            d[x] = lut[i];
            d[P + x] = lut[N + i];
            d[2 * P + x] = lut[2 * N + i];
        }
    } else if (t->kind == KIND_GREY) {
        for (size_t x = 0; x < n; x++)
            d[x] = d[P + x] = d[2 * P + x] = lut[get_sample(buf, x * spp, t->bits)];
    } else if (plane >= 0) {
        d += (size_t)plane * P;
        for (size_t x = 0; x < n; x++) d[x] = lut[get_sample(buf, x, t->bits)];
    } else if (t->bits == 8) {
        for (size_t x = 0; x < n; x++) {
            const uint8_t *p = buf + x * spp;
            d[x] = lut[p[0]];
            d[P + x] = lut[p[1]];
            d[2 * P + x] = lut[p[2]];
        }
    } else {
        for (size_t x = 0; x < n; x++)
            for (size_t c = 0; c < 3; c++)
                d[c * P + x] = lut[get_sample(buf, x * spp + c, t->bits)];
    }
}

static inline float unit_to_x(unsigned v, unsigned maxv) {
    return (float)((double)v / (double)maxv * 2.0 - 1.0);
}

/* ---- decoding ------------------------------------------------------------------------ */

static const char *photometric_name(unsigned p) {
    switch (p) {
    case PHOTOMETRIC_SEPARATED: return "CMYK (separated)";
    case PHOTOMETRIC_MASK: return "transparency mask";
    case PHOTOMETRIC_YCBCR: return "YCbCr (without JPEG compression)";
    case PHOTOMETRIC_CIELAB:
    case PHOTOMETRIC_ICCLAB:
    case PHOTOMETRIC_ITULAB: return "Lab";
    case PHOTOMETRIC_LOGL:
    case PHOTOMETRIC_LOGLUV: return "LogLuv";
    case PHOTOMETRIC_CFA: return "colour filter array (raw)";
    default: return NULL;
    }
}

/* Colorimetry without an ICC profile (TIFF 6.0 section 20): WhitePoint and
 * PrimaryChromaticities become the chromaticities of a PNG cHRM (sRGB's
 * where one is missing) with the TIFF default transfer, a 2.2 power (PNG
 * gAMA 1/2.2), for colour.c; values of sRGB change nothing. An explicit
 * TransferFunction other than that default is refused rather than ignored. */
static nlcl_status read_colorimetry(TIFF *tif, nlcl_img_src *src) {
    static const double srgb[8] = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};
    float *wp = NULL, *pc = NULL;
    const int has_wp = TIFFGetField(tif, TIFFTAG_WHITEPOINT, &wp) && wp;
    const int has_pc = TIFFGetField(tif, TIFFTAG_PRIMARYCHROMATICITIES, &pc) && pc;
    if (has_wp || has_pc) {
        for (int i = 0; i < 8; i++)
            src->chrm[i] = i < 2 ? (has_wp ? wp[i] : srgb[i]) : (has_pc ? pc[i - 2] : srgb[i]);
        src->has_chrm = 1;
        src->gamma = 1.0 / 2.2;
    }
    uint16_t bps = 8, *tf[3] = {NULL, NULL, NULL};
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    if (bps > 16 || !TIFFGetField(tif, TIFFTAG_TRANSFERFUNCTION, &tf[0], &tf[1], &tf[2])) return NLCL_OK;
    const size_t n = (size_t)1 << bps;
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; tf[k] && i < n; i++) {
            const double want = 65535.0 * pow((double)i / (double)(n - 1), 2.2);
            if (fabs(tf[k][i] - want) > 0.005 * 65535.0)
                return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                      "%s: a TIFF TransferFunction other than the default 2.2 "
                                      "power is not supported (nlcl reads sRGB; embed an ICC "
                                      "profile instead)",
                                      src->name);
        }
    return NLCL_OK;
}

/* Besides the samples: the orientation, the ICC profile, the metadata
 * (nlcl_image_load_meta), and whether more
 * pages follow (reduced-resolution images, i.e. thumbnails, do not count).
 * A multi-page TIFF is refused: only its first page would be read; so is a
 * file whose first image is a preview of one stored elsewhere. Returns to
 * the first directory. */
static nlcl_status read_metadata(TIFF *tif, tiff_ctx *c) {
    nlcl_img_src *src = c->src;
    uint16_t o = 1;
    if (TIFFGetField(tif, TIFFTAG_ORIENTATION, &o) && o >= 1 && o <= 8) src->orientation = o;
    uint32_t n = 0;
    void *icc = NULL;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &n, &icc) && icc && n) {
        if (n > NLCL_ICC_MAX_BYTES)
            return nlcl_error_set(NLCL_ERR_LIMIT, "%s: ICC profile of %u bytes (limit %zu)",
                                  src->name, (unsigned)n, NLCL_ICC_MAX_BYTES);
        if (!(src->icc = malloc(n)))
            return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
        memcpy(src->icc, icc, n);
        src->icc_len = n;
    } else {
        NLCL_TRY(read_colorimetry(tif, src));
    }
    if (src->meta) NLCL_TRY(nlcl_tiff_meta(tif, src));
    /* A first image marked as a reduced-resolution preview, with the full
     * image elsewhere (SubIFDs or a later directory), is a raw file's
     * thumbnail (DNG and other TIFF-based raw formats): refused, not
     * derained in place of the photo. */
    uint32_t sub0 = 0;
    uint16_t nsub = 0;
    void *subs = NULL;
    if (TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &sub0) && (sub0 & FILETYPE_REDUCEDIMAGE) &&
        ((TIFFGetField(tif, TIFFTAG_SUBIFD, &nsub, &subs) && nsub) || !TIFFLastDirectory(tif)))
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: the first image of this TIFF is a reduced-resolution preview "
                              "(as in DNG and other raw files); the full image is not supported",
                              src->name);
    /* Count the pages that follow (at most 100); a damaged later directory
     * ends the count, and its message is not kept for the first image. */
    char saved[TIFF_MSG_LEN];
    memcpy(saved, c->msg, sizeof saved);
    const int saved_io = c->io_error;
    int pages = 1;
    while (pages <= 100 && !TIFFLastDirectory(tif) && TIFFReadDirectory(tif)) {
        uint32_t sub = 0;
        if (!TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &sub) || !(sub & FILETYPE_REDUCEDIMAGE)) pages++;
    }
    memcpy(c->msg, saved, sizeof saved);
    c->io_error = saved_io;
    if (TIFFCurrentDirectory(tif) != 0 && !TIFFSetDirectory(tif, 0))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt TIFF: cannot return to the first "
                                               "image", src->name);
    if (pages > 1)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: TIFF with %s%d pages is not supported (only the first would "
                              "be read; split it, e.g. with tiffsplit)",
                              src->name, pages > 100 ? "more than " : "",
                              pages > 100 ? 100 : pages);
    return NLCL_OK;
}

/* The sample index of the first extra sample that is alpha (associated or
 * unassociated) right after the colour samples, or -1; *unassoc: 1 for
 * unassociated alpha (the colours are not premultiplied). */
static int alpha_sample(TIFF *tif, int kind, unsigned spp, int *unassoc) {
    uint16_t n = 0, *types = NULL;
    const unsigned colour = kind == KIND_RGB ? 3 : 1;
    *unassoc = 0;
    if (kind == KIND_PALETTE || spp <= colour ||
        !TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &n, &types) || !n || !types)
        return -1;
    *unassoc = types[0] == EXTRASAMPLE_UNASSALPHA;
    return types[0] == EXTRASAMPLE_ASSOCALPHA || types[0] == EXTRASAMPLE_UNASSALPHA ? (int)colour
                                                                                     : -1;
}

/* The status and message for a failed libtiff call. */
static nlcl_status tiff_failure(const tiff_ctx *c, const char *name,
                                const char *what) {
    if (c->io_error)
        return nlcl_error_set(NLCL_ERR_IO, "%s: read error: %s", name,
                              strerror(c->io_error));
    const char *m = c->msg[0] ? c->msg : tls_msg[0] ? tls_msg : "libtiff reported no reason";
    /* libtiff often starts with "<name>: ", which the prefix already says */
    size_t nl = strlen(name);
    if (strncmp(m, name, nl) == 0 && m[nl] == ':' && m[nl + 1] == ' ') m += nl + 2;
    /* "Failed to allocate memory for ..." is left as a format error: libtiff
     * says it for absurd counts in damaged directories too */
    if (strstr(m, "ut of memory"))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: TIFF: %s", name, m);
    if (strstr(m, "Read error") || strstr(m, "Cannot read") || strstr(m, "Can not read") ||
        strstr(m, "Not enough data") || strstr(m, "past end") || strstr(m, "Seek error") ||
        strstr(m, "Premature end"))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: TIFF truncated (%s: %s)", name,
                              what, m);
    return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt TIFF (%s: %s)", name, what, m);
}

/* The tags of the first directory that decide how it is read. */
typedef struct tiff_hdr {
    uint32_t w, h;
    uint16_t bps, spp, photo, planar, fmt, comp;
    int has_photo;
} tiff_hdr;

/* A libtiff handle over src (its context in *pc, freed by the caller). */
static nlcl_status tiff_open(nlcl_img_src *src, tiff_ctx **pc, TIFF **ptif) {
    const char *name = src->name;
    tiff_ctx *const c = *pc = calloc(1, sizeof *c);
    if (!c) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    c->src = src;
    if (src->fp) {
        struct stat st;
        if (fstat(fileno(src->fp), &st) != 0 || !S_ISREG(st.st_mode) ||
            fseeko(src->fp, 0, SEEK_SET) != 0)
            return nlcl_error_set(NLCL_ERR_IO, "%s: TIFF needs a regular (seekable) file",
                                  name);
        c->size = (uint64_t)st.st_size;
    } else {
        c->size = src->len;
    }
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, handle_error, c);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, handle_warning, c);
    /* "m": no memory mapping (all reads go through t_read) */
    *ptif = TIFFClientOpenExt(name, "rm", (thandle_t)c, t_read, t_write, t_seek, t_close, t_size,
                              t_map, t_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return *ptif ? NLCL_OK : tiff_failure(c, name, "first directory");
}

/* The header's tags into hd and the caller's info; the size checked. */
static nlcl_status read_header(TIFF *tif, tiff_ctx *c, tiff_hdr *hd,
                               nlcl_image_info *inf) {
    const char *name = c->src->name;
    *hd = (tiff_hdr){0, 0, 1, 1, 0, PLANARCONFIG_CONTIG, SAMPLEFORMAT_UINT, COMPRESSION_NONE, 0};
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &hd->w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &hd->h))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt TIFF: no image size", name);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &hd->bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &hd->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &hd->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &hd->fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &hd->comp);
    hd->has_photo = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &hd->photo);
    const uint16_t photo = hd->photo, spp = hd->spp;
    const int grey = hd->has_photo && (photo == PHOTOMETRIC_MINISBLACK || photo == PHOTOMETRIC_MINISWHITE);
    inf->width = hd->w > INT32_MAX ? INT32_MAX : (int)hd->w;
    inf->height = hd->h > INT32_MAX ? INT32_MAX : (int)hd->h;
    inf->bit_depth = hd->bps;
    inf->is_jpeg = 0;
    inf->palette = hd->has_photo && photo == PHOTOMETRIC_PALETTE;
    inf->channels = !hd->has_photo ? 0
                    : grey                          ? (spp >= 2 ? 2 : 1)
                    : photo == PHOTOMETRIC_PALETTE ? 3
                                                   : (spp >= 4 ? 4 : 3);
    NLCL_TRY(nlcl_image_check_dims(name, hd->w, hd->h));
    NLCL_TRY(read_metadata(tif, c));
    c->src->grey = grey;
    return NLCL_OK;
}

/* Bits per sample, samples per pixel and planar configuration of a kind. */
static nlcl_status check_layout(const tiff_hdr *hd, int kind, const char *name) {
    const unsigned bps = hd->bps, spp = hd->spp;
    int bits_ok = kind == KIND_GREY ? (bps == 1 || bps == 2 || bps == 4 || bps == 8 || bps == 16)
                  : kind == KIND_RGB ? (bps == 8 || bps == 16)
                                     : (bps == 1 || bps == 2 || bps == 4 || bps == 8);
    if (!bits_ok || (hd->comp == COMPRESSION_JPEG && bps != 8))
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: %u-bit %s TIFF is not supported", name, bps,
                              kind == KIND_GREY ? "grey" : kind == KIND_RGB ? "RGB" : "palette");
    unsigned need = kind == KIND_RGB ? 3 : 1;
    if (spp < need || spp > TIFF_MAX_SAMPLES)
        return nlcl_error_set(spp < need ? NLCL_ERR_FORMAT : NLCL_ERR_UNSUPPORTED,
                              "%s: TIFF with %u samples per pixel is not supported", name,
                              spp);
    if (hd->planar != PLANARCONFIG_CONTIG && hd->planar != PLANARCONFIG_SEPARATE)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt TIFF: PlanarConfiguration %u", name, (unsigned)hd->planar);
    return NLCL_OK;
}

/* What nlcl reads: its kind (KIND_*) in *kind, or UNSUPPORTED/FORMAT naming
 * what is not. */
static nlcl_status check_readable(const tiff_hdr *hd, const char *name, int *kind) {
    if (!hd->has_photo)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt TIFF: no PhotometricInterpretation",
                              name);
    if (hd->fmt != SAMPLEFORMAT_UINT)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: TIFF with %s samples is not supported",
                              name,
                              hd->fmt == SAMPLEFORMAT_IEEEFP ? "floating-point"
                              : hd->fmt == SAMPLEFORMAT_INT  ? "signed integer"
                                                             : "non-integer");
    if (!TIFFIsCODECConfigured(hd->comp))
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: TIFF compression %u is not supported by libtiff", name,
                              (unsigned)hd->comp);
    const char *pname = NULL;
    switch (hd->photo) {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE: *kind = KIND_GREY; break;
    case PHOTOMETRIC_RGB: *kind = KIND_RGB; break;
    case PHOTOMETRIC_PALETTE: *kind = KIND_PALETTE; break;
    case PHOTOMETRIC_YCBCR:
        if (hd->comp == COMPRESSION_JPEG) {
            *kind = KIND_RGB;
            break;
        }
        /* fall through */
    default:
        if ((pname = photometric_name(hd->photo)))
            return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: %s TIFF is not supported", name, pname);
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: TIFF photometric interpretation %u is not supported", name, (unsigned)hd->photo);
    }
    return check_layout(hd, *kind, name);
}

/* The sample value -> x tables: one for grey and RGB, three (R, G, B) from
 * the ColorMap for palettes. */
static nlcl_status make_lut(TIFF *tif, const tiff_hdr *hd, int kind, const char *name, float **plut) {
    const size_t nlev = (size_t)1 << hd->bps;
    const unsigned maxv = (unsigned)(nlev - 1);
    float *lut = *plut = malloc((kind == KIND_PALETTE ? 3 : 1) * nlev * sizeof *lut);
    if (!lut) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    if (kind != KIND_PALETTE) {
        for (size_t v = 0; v < nlev; v++)
            lut[v] = unit_to_x(hd->photo == PHOTOMETRIC_MINISWHITE ? maxv - (unsigned)v : (unsigned)v,
                               maxv);
        return NLCL_OK;
    }
    uint16_t *cm[3] = {NULL, NULL, NULL};
    if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &cm[0], &cm[1], &cm[2]) || !cm[0] || !cm[1] || !cm[2])
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: corrupt TIFF: palette image without a ColorMap", name);
    /* The ColorMap is 16-bit. Writers scale 8-bit colours by 257 (libtiff
     * tools) or 256 (PIL), so, like libtiff's RGBA interface and PIL, use
     * the high byte; a map whose entries are all below 256 was written
     * with 8-bit values and is used as it is (libtiff's heuristic). */
    unsigned shift = 0;
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < nlev; i++)
            if (cm[k][i] > 255) shift = 8;
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < nlev; i++)
            lut[(size_t)k * nlev + i] = unit_to_x((unsigned)cm[k][i] >> shift, 255);
    return NLCL_OK;
}

/* Strips, one row (of one plane) at a time. */
static nlcl_status read_strips(TIFF *tif, tiff_ctx *c, const tiff_hdr *hd, const tiff_dec *t,
                               int nplanes, nlcl_image *img) {
    const char *name = c->src->name;
    uint64_t expect = ((uint64_t)hd->w * (uint64_t)t->spp * hd->bps + 7) / 8;
    if (TIFFScanlineSize64(tif) != expect)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: unexpected TIFF row size %llu (expected %llu)",
                              name, (unsigned long long)TIFFScanlineSize64(tif),
                              (unsigned long long)expect);
    uint8_t *buf = malloc((size_t)expect);
    if (!buf) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a TIFF row", name);
    nlcl_status s = NLCL_OK;
    for (int p = 0; s == NLCL_OK && p < nplanes; p++)
        for (uint32_t y = 0; s == NLCL_OK && y < hd->h; y++) {
            if (TIFFReadScanline(tif, buf, y, (uint16_t)p) < 0 || c->data_error) {
                char what[64];
                snprintf(what, sizeof what, "row %u", (unsigned)y);
                s = tiff_failure(c, name, what);
                break;
            }
            put_run(t, img, y, 0, hd->w, buf, nplanes > 1 ? p : -1);
        }
    free(buf);
    return s;
}

/* The bytes of one tile (rows of *rowb bytes), checked against the image. */
static nlcl_status tile_size(TIFF *tif, const tiff_hdr *hd, const tiff_dec *t, const char *name, uint32_t *tw, uint32_t *tl, uint64_t *rowb, uint64_t *tbytes) {
    if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, tl) ||
        *tw == 0 || *tl == 0)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt TIFF: invalid tile size", name);
    *rowb = ((uint64_t)*tw * (uint64_t)t->spp * hd->bps + 7) / 8;
    /* w * h <= the pixel limit here, so this cannot overflow */
    const uint64_t imgbytes = (uint64_t)hd->w * hd->h * (uint64_t)hd->spp * ((hd->bps + 7) / 8);
    const uint64_t cap = imgbytes > TIFF_MIN_TILE_CAP ? imgbytes : TIFF_MIN_TILE_CAP;
    if (*rowb > cap || *tl > cap / *rowb)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: TIFF tile %ux%u is too large for a %ux%u image",
                              name, (unsigned)*tw, (unsigned)*tl, (unsigned)hd->w,
                              (unsigned)hd->h);
    *tbytes = *rowb * *tl;
    if ((uint64_t)TIFFTileSize64(tif) != *tbytes)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: unexpected TIFF tile size %llu (expected %llu)",
                              name, (unsigned long long)TIFFTileSize64(tif),
                              (unsigned long long)*tbytes);
    return NLCL_OK;
}

/* Tiles, one (of one plane) at a time. */
static nlcl_status read_tiles(TIFF *tif, tiff_ctx *c, const tiff_hdr *hd, const tiff_dec *t,
                              int nplanes, nlcl_image *img) {
    const char *name = c->src->name;
    uint32_t tw = 0, tl = 0;
    uint64_t rowb = 0, tbytes = 0;
    NLCL_TRY(tile_size(tif, hd, t, name, &tw, &tl, &rowb, &tbytes));
    uint8_t *buf = malloc((size_t)tbytes);
    if (!buf)
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a %llu-byte TIFF tile", name, (unsigned long long)tbytes);
    nlcl_status s = NLCL_OK;
    for (uint32_t ty = 0; s == NLCL_OK && ty < hd->h; ty += tl)
        for (uint32_t tx = 0; s == NLCL_OK && tx < hd->w; tx += tw)
            for (int p = 0; s == NLCL_OK && p < nplanes; p++) {
                uint32_t tile = TIFFComputeTile(tif, tx, ty, 0, (uint16_t)p);
                if (TIFFReadEncodedTile(tif, tile, buf, (tmsize_t)tbytes) < 0 || c->data_error) {
                    char what[64];
                    snprintf(what, sizeof what, "tile %u", (unsigned)tile);
                    s = tiff_failure(c, name, what);
                    break;
                }
                uint32_t nx = NLCL_MIN(tw, hd->w - tx), ny = NLCL_MIN(tl, hd->h - ty);
                for (uint32_t r = 0; r < ny; r++)
                    put_run(t, img, (size_t)ty + r, tx, nx, buf + (size_t)r * rowb, nplanes > 1 ? p : -1);
            }
    free(buf);
    return s;
}

/* The pixels of a readable image of kind `kind`. */
static nlcl_status read_pixels(TIFF *tif, tiff_ctx *c, const tiff_hdr *hd, int kind, nlcl_image *img) {
    const char *name = c->src->name;
    if (hd->photo == PHOTOMETRIC_YCBCR && !TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
        return tiff_failure(c, name, "JPEG colour conversion");
    const int contig = hd->planar == PLANARCONFIG_CONTIG || hd->spp == 1;
    int unassoc = 0;
    tiff_dec t = {.kind = kind, .bits = hd->bps, .spp = contig ? hd->spp : 1, .lut = NULL,
                  .alpha = alpha_sample(tif, kind, hd->spp, &unassoc), .clear = &c->src->transparent};
    float *lut = NULL;
    nlcl_status s = make_lut(tif, hd, kind, name, &lut);
    t.lut = lut;
    if (s == NLCL_OK) s = nlcl_image_alloc_for(name, img, (int)hd->w, (int)hd->h);
    /* an unassociated alpha goes to a caller who takes it; an associated one
     * (premultiplied colours) cannot be carried exactly and is only counted */
    if (s == NLCL_OK && t.alpha >= 0 && unassoc)
        s = nlcl_img_src_alloc_alpha(c->src, (int)hd->w, (int)hd->h);
    t.aout = t.alpha >= 0 && unassoc ? c->src->alpha : NULL;
    /* planar files: the colour planes, and the alpha plane to count it */
    const int nplanes = contig ? 1 : t.alpha >= 0 ? t.alpha + 1 : (kind == KIND_RGB ? 3 : 1);
    if (s == NLCL_OK)
        s = TIFFIsTiled(tif) ? read_tiles(tif, c, hd, &t, nplanes, img)
                             : read_strips(tif, c, hd, &t, nplanes, img);
    free(lut);
    return s;
}

nlcl_status nlcl_tiff_decode(nlcl_img_src *src, nlcl_image *img,
                             nlcl_image_info *info) {
    nlcl_image_info scratch;
    nlcl_image_info *const inf = info ? info : &scratch;
    memset(inf, 0, sizeof *inf);
    pthread_once(&handlers_once, install_global_handlers);
    tls_msg[0] = '\0';
    tiff_ctx *c = NULL;
    TIFF *tif = NULL;
    tiff_hdr hd;
    int kind = 0;
    nlcl_status s = tiff_open(src, &c, &tif);
    if (s == NLCL_OK) s = read_header(tif, c, &hd, inf);
    if (s == NLCL_OK) s = check_readable(&hd, src->name, &kind);
    if (s == NLCL_OK && img) s = read_pixels(tif, c, &hd, kind, img);
    if (tif) TIFFClose(tif);
    free(c);
    if (s != NLCL_OK && img) nlcl_image_free(img);
    return s;
}
