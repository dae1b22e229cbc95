/* Shared pieces of the image codecs (src/io/image.c, png.c, jpeg.c, tiff.c,
 * bmp.c). Not installed. */
#ifndef NLCL_IO_IMAGE_INTERNAL_H
#define NLCL_IO_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/afile.h"
#include "nlcl/image.h"

/* A byte source: either a FILE (whose first head_len bytes were already read
 * to sniff the format and are replayed first) or a memory buffer. */
typedef struct nlcl_img_src {
    const char *name;   /* for messages */
    FILE *fp;           /* file source, or NULL */
    const uint8_t *mem; /* memory source (fp == NULL) */
    size_t len, pos;    /* memory source: size and read position */
    uint8_t head[8];    /* file source: sniffed bytes, replayed first */
    size_t head_len, head_pos;
    int read_error;     /* set when fread failed with an I/O error (not EOF) */
    /* What a decoder found besides the samples, applied by the front end
     * (image.c) after a successful decode: */
    int orientation;    /* EXIF or TIFF orientation 1..8 (0: none or invalid) */
    int want_exif;      /* the caller takes the EXIF block (nlcl_image_load_exif) */
    uint8_t *exif;      /* want_exif: the JPEG APP1 / PNG eXIf block from its TIFF header on
                           (malloc'd; the front end owns it) */
    size_t exif_len;
    uint8_t *icc;       /* embedded ICC profile (malloc'd; the front end frees it) */
    size_t icc_len;
    int grey;           /* the samples were grey (which kind of ICC profile fits) */
    double gamma;       /* PNG gAMA without sRGB/iCCP: the file gamma (0.45455 = 1/2.2); 0: none */
    double chrm[8];     /* PNG cHRM without sRGB/iCCP: white x, y, red x, y, green, blue */
    int has_chrm;
    int adobe_rgb;      /* a JPEG without ICC profile whose EXIF says Adobe RGB (nlcl_exif_orientation) */
    int converted;      /* the decoder already converted the colours to sRGB (CMYK + ICC) */
    int cmyk;           /* a CMYK or YCCK JPEG (converted to RGB by the decoder) */
    uint64_t clipped;   /* pixels the decoder's own conversion (CMYK + ICC) clipped to sRGB */
    uint64_t transparent; /* pixels whose alpha is below its maximum */
    int want_alpha;     /* the caller takes the alpha (nlcl_image_load_alpha) */
    nlcl_image_meta *meta; /* the caller takes the metadata (nlcl_image_load_meta): the
                           decoders fill it through the collectors of meta.c */
    float *alpha;       /* want_alpha: the opacity plane (width*height, stored orientation,
                           0..1), malloc'd by a decoder whose file has an unassociated alpha
                           (nlcl_img_src_alloc_alpha); the front end owns it */
} nlcl_img_src;

/* nlcl_image_load_memory with the alpha as nlcl_image_load_alpha gives it
 * (alpha NULL: none); for the fuzz targets. */
nlcl_status nlcl_image_load_memory_alpha(const void *buf, size_t len, const char *name,
                                         nlcl_image *img, float **alpha, nlcl_image_info *info);
/* Allocate src->alpha for a width x height image when the caller wants the
 * alpha (else nothing). NLCL_ERR_NOMEM naming the file. */
nlcl_status nlcl_img_src_alloc_alpha(nlcl_img_src *src, int width, int height);
/* Opacity of the w pixels of an interleaved row (channels 2 or 4, alpha
 * last; 8-bit, or 16-bit big-endian): a = v / 255 or v / 65535, in double. */
void nlcl_image_alpha_row(float *a, const uint8_t *row, int channels, int bits, size_t w);

/* Read up to n bytes; returns the count, 0 at the end (check read_error). */
size_t nlcl_img_src_read(nlcl_img_src *s, void *buf, size_t n);
/* Read up to n bytes at an absolute offset of the file or buffer without
 * moving the position of nlcl_img_src_read (file sources: a regular file,
 * whose sniffed head has already been replayed). Returns the count. */
size_t nlcl_img_src_pread(nlcl_img_src *s, uint64_t offset, void *buf, size_t n);
/* Total size in bytes of the source when known (memory, or a regular file):
 * returns 1 and sets *size, else 0. Lets decoders refuse a header whose
 * uncompressed pixel data cannot fit before allocating the image. */
int nlcl_img_src_size(const nlcl_img_src *s, uint64_t *size);

/* Decoders. img == NULL: header only (probe). Both fill *info (always, even
 * when they then fail the pixel limit) and check width*height against
 * nlcl_image_get_max_pixels() before allocating anything that depends on the
 * image size. Messages start with the source's name ("x.png: PNG truncated"). */
nlcl_status nlcl_png_decode(nlcl_img_src *src, nlcl_image *img,
                            nlcl_image_info *info);
nlcl_status nlcl_jpeg_decode(nlcl_img_src *src, nlcl_image *img,
                             nlcl_image_info *info);
/* TIFF needs random access: a file source must be a regular file (it is
 * read with fseeko/fread from offset 0, ignoring head/head_pos). */
nlcl_status nlcl_tiff_decode(nlcl_img_src *src, nlcl_image *img,
                             nlcl_image_info *info);
nlcl_status nlcl_bmp_decode(nlcl_img_src *src, nlcl_image *img,
                            nlcl_image_info *info);

/* Encoders writing through an open atomic file (the caller commits or aborts).
 * img and exif (NULL, or as nlcl_image_load_exif gives it) are already validated. */
nlcl_status nlcl_png_encode(nlcl_afile *f, const char *path, const nlcl_image *img,
                            const float *alpha, const nlcl_image_meta *meta,
                            nlcl_quantize q, int bits16);
nlcl_status nlcl_jpeg_encode(nlcl_afile *f, const char *path, const nlcl_image *img,
                             const nlcl_image_meta *meta, nlcl_quantize q, int quality);
/* img ((1, 3, h, w) in [-1, 1]) replaced, in place, by what a JPEG file of it
 * at `quality` (1..100; libjpeg's defaults: 4:2:0, islow DCT) decodes to, as
 * a degradation of synthetic rainy images (src/synth/rain.c). Errors: NOMEM,
 * INTERNAL (libjpeg's message, e.g. a side over 65500 pixels), those of
 * nlcl_image_load_memory; img is unchanged after an error. */
nlcl_status nlcl_jpeg_degrade(nlcl_image *img, int quality);
/* JPEG APP1 XMP and APP13 headers (with their NUL: 29 and 14 bytes). */
#define NLCL_XMP_JPEG_HDR "http://ns.adobe.com/xap/1.0/"
#define NLCL_PS_JPEG_HDR "Photoshop 3.0"

/* ---- metadata besides EXIF (meta.c; src->meta non-NULL) ---- */

/* Add "item" to meta->lost (each item once; cut at a whole item). */
void nlcl_meta_lost(nlcl_image_meta *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A text entry (len bytes of text), copied. NLCL_ERR_NOMEM naming the file. */
nlcl_status nlcl_meta_add_text(nlcl_img_src *src, const char *key, const char *text, size_t len,
                               const char *lang, const char *lang_key, nlcl_text_kind kind);
/* A PNG ancillary chunk nlcl does not interpret (name: its 4-letter type):
 * a safe-to-copy one kept in meta->chunks (copied), an unsafe one named in
 * meta->lost. NLCL_ERR_NOMEM naming the file. */
nlcl_status nlcl_meta_png_chunk(nlcl_img_src *src, const char *name, const uint8_t *data, size_t len,
                                int after_idat);
/* The XMP packet (the first non-empty one; a second is listed as lost), copied. */
nlcl_status nlcl_meta_keep_xmp(nlcl_img_src *src, const void *xmp, size_t len);
/* A saved JPEG marker (0xE0..0xEF APPn, 0xFE COM) other than the first EXIF
 * APP1 and the ICC APP2s: kept (XMP, APP13, COM) or listed as lost. */
nlcl_status nlcl_meta_jpeg_marker(nlcl_img_src *src, int marker, const uint8_t *p, size_t n);
/* The first directory's metadata of a TIFF (a TIFF *): its camera tags as
 * an EXIF block, XMP; EXIF/GPS IFDs, IPTC, Photoshop resources listed as lost. */
nlcl_status nlcl_tiff_meta(void *tif, nlcl_img_src *src);
/* After the header was read: the XMP made right for the upright width x
 * height image of the given orientation, the Photoshop thumbnails dropped
 * (what cannot be done is listed as lost). NLCL_ERR_NOMEM only. */
nlcl_status nlcl_meta_finish(const char *name, nlcl_image_meta *m, int orientation, int width, int height);
/* The argument checks of the savers (NLCL_ERR_INVALID_ARG naming path). */
nlcl_status nlcl_meta_check(const char *path, const nlcl_image_meta *m);
/* An EXIF block ("Exif\0\0" and the TIFF header on, malloc'd) with the n
 * ASCII entries tags[i] = vals[i] in IFD 0 (libexif). */
nlcl_status nlcl_exif_from_ascii(const char *name, const uint16_t *tags, const char *const *vals, int n,
                                 uint8_t **out, size_t *out_len);

/* ---- after decoding (orient.c, exif.c, colour.c) ---- */

/* The Orientation (1..8) in IFD 0 of an EXIF block that starts with
 * "Exif\0\0" (a JPEG APP1 payload) or, with tiff_header = 1, directly with
 * the TIFF header (a PNG eXIf chunk); 0 when there is none or it is not
 * 1..8. Parsed with libexif; never fails. adobe_rgb (may be NULL) gets 1
 * if the block says Adobe RGB the way cameras write it without an ICC
 * profile: ColorSpace (EXIF IFD, 0xA001)
 * 0xFFFF "uncalibrated" and InteroperabilityIndex (0x0001) "R03" (EXIF 2.3,
 * DCF 2.0 optional colour space); else 0 (one parse gives both). */
int nlcl_exif_orientation(const uint8_t *data, size_t len, int tiff_header, int *adobe_rgb);
/* Keep a copy of an EXIF block (from its TIFF header on) in src->exif when
 * src->want_exif (the first one only). NLCL_ERR_NOMEM naming the file. */
nlcl_status nlcl_img_src_keep_exif(nlcl_img_src *src, const uint8_t *tiff, size_t len);
/* The EXIF block tiff (len bytes from its TIFF header on) rewritten for the
 * upright width x height image (nlcl_image_load_exif): *out is malloc'd, with
 * "Exif\0\0" first, at most NLCL_EXIF_MAX_BYTES. NLCL_ERR_FORMAT when libexif
 * reports corrupt data or finds no entry in IFD 0, NLCL_ERR_LIMIT when too
 * large, NLCL_ERR_NOMEM; messages start with name. */
nlcl_status nlcl_exif_upright(const char *name, const uint8_t *tiff, size_t len, int width,
                              int height, uint8_t **out, size_t *out_len);

/* Turn the stored image upright: EXIF orientation 2..8 (2 mirror, 3 rotate
 * 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
 * counter-clockwise, as PIL's ImageOps.exif_transpose); 5..8 swap width and
 * height (a new buffer, the old one is freed). Other values change nothing. */
nlcl_status nlcl_image_orient(const char *name, nlcl_image *img,
                              int orientation);
/* The same for one width x height plane (*plane malloc'd; replaced by a new
 * one for 2..8, the old one freed). */
nlcl_status nlcl_plane_orient(const char *name, float **plane, int width, int height,
                              int orientation);

/* Convert img (decoded as stored) to sRGB when src carries an ICC profile or
 * a PNG gamma/chromaticities differing from sRGB (Little CMS, relative
 * colorimetric intent with black-point compensation; results clamped to
 * [-1, 1]). A profile that maps every tested colour to itself within one
 * 8-bit level (an sRGB profile) changes nothing. *converted says whether the
 * pixels changed; *clipped counts the pixels whose colour lay outside sRGB
 * (some channel beyond [0, 1] by more than half an 8-bit level) and was
 * clipped. Errors: FORMAT (a profile Little CMS cannot read, or one
 * for another colour space than the image's), UNSUPPORTED, NOMEM. */
nlcl_status nlcl_colour_to_srgb(const nlcl_img_src *src, nlcl_image *img,
                                int *converted, uint64_t *clipped);

/* CMYK rows to RGB planes: with a CMYK ICC profile through Little CMS, else
 * by the naive formula R = (1 - C)(1 - K) (G, B from M, Y), exactly in
 * double. inverted = 1: the samples are stored inverted (Adobe's convention,
 * an APP14 "Adobe" marker; 255 = no ink). */
typedef struct nlcl_cmyk_conv nlcl_cmyk_conv;
nlcl_status nlcl_cmyk_conv_open(const char *name, const uint8_t *icc,
                                size_t icc_len, int inverted, int width, nlcl_cmyk_conv **out);
void nlcl_cmyk_conv_row(nlcl_cmyk_conv *c, const uint8_t *cmyk, nlcl_image *img, int y);
/* The pixels converted so far whose colour lay outside sRGB (a channel
 * beyond [0, 1] by more than half an 8-bit level, found by the same
 * conversion in float) and was clipped; 0 for the naive formula. */
uint64_t nlcl_cmyk_conv_clipped(const nlcl_cmyk_conv *c);
void nlcl_cmyk_conv_close(nlcl_cmyk_conv *c);

/* Largest embedded ICC profile accepted (real ones are under 4 MB). */
#define NLCL_ICC_MAX_BYTES ((size_t)16 << 20)

/* NLCL_ERR_LIMIT "name: WxH exceeds the pixel limit of N" when
 * width*height > limit; NLCL_ERR_FORMAT for a zero dimension. */
nlcl_status nlcl_image_check_dims(const char *name, uint64_t width,
                                  uint64_t height);

/* Allocate img->data for width x height (float32, 3 planes, not zeroed), with
 * overflow-checked sizes; NLCL_ERR_NOMEM naming the file on failure. */
nlcl_status nlcl_image_alloc_for(const char *name, nlcl_image *img,
                                 int width, int height);

/* Convert one decoded row of interleaved samples (channels 1..4, 8 or 16 bits,
 * 16-bit big-endian as libpng delivers them) into row y of the three float
 * planes. Grey (1, 2 channels) is replicated, alpha (2nd/4th) dropped.
 * Returns the number of pixels of the row whose alpha is below its maximum
 * (0 without alpha), for nlcl_img_src.transparent. */
size_t nlcl_image_put_row8(nlcl_image *img, int y, const uint8_t *row, int channels);
size_t nlcl_image_put_row16be(nlcl_image *img, int y, const uint8_t *row, int channels);

/* Quantise row y of the float planes to interleaved RGB, 8-bit or 16-bit
 * big-endian (PNG byte order). */
/* Opacity 0..1 (clamped; NaN 0) rounded to 8 or 16 bits. */
unsigned nlcl_quant_alpha(float a, int bits16);
void nlcl_image_get_row8(const nlcl_image *img, int y, nlcl_quantize q, uint8_t *rgb);
void nlcl_image_get_row16be(const nlcl_image *img, int y, nlcl_quantize q, uint8_t *rgb);

#endif
