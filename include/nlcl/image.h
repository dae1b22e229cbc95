/* nlcl/image.h - PNG and JPEG reading and writing (libpng, libjpeg-turbo),
 * TIFF (libtiff) and BMP (nlcl's own decoder) reading.
 *
 * In memory an image is float32 NCHW with n = 1 and c = 3, values in [-1, 1]:
 *     x = u8 / 255 * 2 - 1          (8-bit sources)
 *     x = u16 / 65535 * 2 - 1       (16-bit PNG/TIFF: scaled, never clipped)
 * which is the convention of the NLCL and CUT code. Every source is
 * converted to RGB on load: grey is replicated, palettes are expanded, 1/2/4-bit
 * samples are scaled to the full range, alpha is dropped (not composited; an
 * opaque alpha therefore changes nothing; transparent pixels are counted in
 * info->transparent, or refused: nlcl_image_set_refuse_transparent), or
 * given back exactly by nlcl_image_load_alpha.
 * Photos are returned as they are meant to be seen: the EXIF orientation (JPEG APP1, PNG eXIf) or TIFF Orientation
 * tag is applied, all 8 values, as PIL's ImageOps.exif_transpose does (a
 * portrait photo comes out upright; width and height are the upright ones);
 * colours are converted to sRGB with Little CMS when an embedded ICC profile
 * (PNG iCCP, JPEG APP2, TIFF), a PNG gAMA/cHRM or TIFF WhitePoint/
 * PrimaryChromaticities (with the TIFF default 2.2 transfer; another
 * TransferFunction is NLCL_ERR_UNSUPPORTED) say they are something
 * else (relative colorimetric, black-point compensation; a profile within
 * one 8-bit level of sRGB, an sRGB chunk and gAMA within 5% of 1/2.2 change
 * nothing; colours outside sRGB, e.g. of Adobe RGB or Display P3 photos, are
 * clipped to it and counted in info->gamut_clipped); a profile that cannot
 * be read or that is for another colour space than the image's is an
 * error, never ignored. sBIT is ignored (it does not change the stored
 * values); text chunks are read by nlcl_image_load_meta only. An animated PNG
 * (acTL) and a TIFF with more than one page (thumbnails do not count) are
 * NLCL_ERR_UNSUPPORTED: only their first image would be read.
 * x is computed in double and rounded once to
 * float, so the endpoints are exactly -1 and 1 and all 65536 16-bit levels
 * stay distinct. JPEG is decoded with libjpeg-turbo's default settings (islow
 * IDCT, fancy upsampling, block smoothing), which is what PIL does, so pixels
 * equal PIL 9.4's (nlcl's tests check the bytes against PIL). Greyscale,
 * YCbCr, RGB, CMYK and YCCK JPEGs are read: CMYK through the file's CMYK ICC
 * profile when it has one, else R = (1-C)(1-K) etc. in double, with Adobe's
 * inverted samples when an Adobe APP14 marker is present (what PIL and
 * viewers do; 8-bit results equal PIL's convert("RGB")).
 * TIFF: the first image (page) of the file, read with libtiff's strip/tile
 * API and converted here (never via TIFFReadRGBAImage, which would lose 16-bit
 * precision and premultiply alpha), with any compression libtiff supports:
 * unsigned 1/2/4/8/16-bit grey (MinIsWhite inverted), 8/16-bit RGB, 1/2/4/8-bit
 * palette (the high byte of each 16-bit ColorMap entry, as libtiff's RGBA
 * interface and PIL use it, so maps scaled by 256 or 257 both give the
 * 8-bit colour; a map whose entries are all < 256 is taken as 8-bit),
 * JPEG-compressed YCbCr (converted to RGB by libjpeg; any libjpeg warning,
 * e.g. "Premature end of JPEG file", is an error, since libjpeg would fill
 * the damaged part with grey), strips or tiles, either
 * planar configuration; extra samples are dropped like alpha (an associated,
 * i.e. premultiplied, alpha therefore leaves the colour composited on black;
 * the transparent pixels of an alpha sample are counted, info->transparent).
 * CMYK, Lab, float/signed/32-bit samples and
 * YCbCr without JPEG compression are NLCL_ERR_UNSUPPORTED.
 * BMP: BITMAPINFOHEADER/V4/V5, bottom-up or top-down, 1/4/8-bit palette,
 * 16/24/32-bit BI_RGB, 16/32-bit BI_BITFIELDS (an n-bit field gives
 * x = v / (2^n - 1) * 2 - 1); RLE and OS/2 BMPs are NLCL_ERR_UNSUPPORTED.
 * Only PNG and JPEG are written.
 * The smallest image is 1x1.
 *
 * Writing maps y -> clamp(y, -1, 1), then (y + 1) / 2 * 255 (or 65535), then
 * rounds to nearest (NLCL_QUANT_ROUND, the default) or truncates toward zero
 * (NLCL_QUANT_TRUNCATE, which is what the authors' code does:
 * numpy astype(uint8); reference doc section 1). Rounding is computed in
 * double, so u8 -> load -> save is the identity for every level. The 8-bit
 * truncation repeats numpy's float32 arithmetic bit for bit (so, like the
 * authors' code, it maps 95 of the 256 exact levels one level down, e.g. 1 ->
 * 0); 16-bit truncation uses double. NaN is written as 0. Files are written
 * to "<path>.tmp-XXXXXX" in the same
 * folder, flushed, fsync'ed and renamed over `path`, so a failure never leaves
 * a partial file and never destroys an existing one.
 *
 * Errors (all with "<path>: <problem>"):
 * NLCL_ERR_IO (cannot open/read/write, a directory, "not a regular file":
 * a FIFO or device is refused without waiting for a writer), NLCL_ERR_FORMAT (empty, not PNG/JPEG/TIFF/BMP,
 * "PNG truncated"/"JPEG truncated" (also a JPEG that lacks only
 * its final EOI marker, which PIL refuses too), bad CRC in any chunk,
 * corrupt zlib or entropy-coded data, more than 1000 progressive scans,
 * "TIFF truncated (row 7: <libtiff's message>)", "corrupt TIFF (...)",
 * "BMP truncated (...)", "corrupt BMP: palette index 9 out of range ...",
 * a BMP pixel-data offset inside the headers or past the end of the file),
 * an unreadable ICC profile or one for another colour space, inconsistent
 * JPEG ICC_PROFILE markers), NLCL_ERR_UNSUPPORTED (12-bit JPEG; APNG;
 * multi-page TIFF; the TIFF/BMP forms listed above), NLCL_ERR_LIMIT (more
 * pixels than the limit, an ICC profile over 16 MB), NLCL_ERR_NOMEM,
 * NLCL_ERR_INVALID_ARG (NULL arguments, bad quality, unknown extension). On
 * failure *img is left empty (data NULL).
 * Example: "rain.png: PNG truncated".
 * Memory: decoding allocates only after the header has been checked against
 * the pixel limit, and never more than the header's dimensions justify: the
 * float image (12 bytes/pixel) plus one row (a TIFF tile for tiled TIFFs), or
 * for interlaced PNGs the whole decoded 8/16-bit image; libpng chunk
 * allocations are capped at 8 MB. libtiff itself buffers one compressed strip
 * or tile (at most the file's size). Turning an image upright with
 * orientation 5..8 needs a second float image for a moment (24 bytes/pixel
 * at the peak); colour conversion works in place, row by row.
 * Thread-safety: functions are reentrant; the pixel limit is process-wide.
 * The first TIFF load replaces libtiff's process-wide error and warning
 * handlers (which print to stderr) with silent ones; per-file messages go
 * through handlers attached to each TIFF handle.
 */
#ifndef NLCL_IMAGE_H
#define NLCL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/export.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

typedef struct nlcl_image {
    int width, height;  /* > 0 */
    float *data;        /* (1, 3, height, width) NCHW, values in [-1, 1] */
} nlcl_image;

typedef enum nlcl_image_format {
    NLCL_IMAGE_PNG = 0,
    NLCL_IMAGE_JPEG = 1,
    NLCL_IMAGE_TIFF = 2,
    NLCL_IMAGE_BMP = 3
} nlcl_image_format;

/* What the file held before conversion to RGB float (for `nlcl info`, tests).
 * bit_depth is per sample (TIFF: BitsPerSample; BMP: the index bits for a
 * palette, 8 for 24/32-bit BI_RGB, the widest field for bitfields, e.g. 5
 * for X1R5G5B5). */
typedef struct nlcl_image_info {
    int width, height;
    int channels;   /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (palette: as expanded) */
    int bit_depth;  /* 1, 2, 4, 8 or 16 (see above for BMP bitfields) */
    int is_jpeg;    /* 1 JPEG, 0 otherwise */
    int palette;    /* 1 if the PNG/TIFF/BMP was palette-coded */
    nlcl_image_format format; /* the file's format */
    int orientation; /* EXIF/TIFF orientation as stored, 1..8 (0: none); width and
                        height above are the upright size, after applying it */
    int cmyk;        /* 1: a CMYK or YCCK JPEG (channels 4), converted to RGB */
    int colour_converted; /* full loads: 1 if an ICC profile or PNG gamma/chromaticities
                             made the samples change on conversion to sRGB */
    uint64_t transparent; /* full loads: pixels whose alpha (alpha channel, PNG tRNS,
                             TIFF alpha sample, BMP alpha mask) is below its maximum */
    uint64_t gamut_clipped; /* full loads: pixels whose colour, converted to sRGB from an
                               ICC profile (RGB, grey, or a CMYK JPEG's), PNG cHRM/gAMA or
                               TIFF chromaticities, lay outside sRGB (a channel
                               beyond [0, 1] by more than half an 8-bit level) and was
                               clipped to it (a wide-gamut photo's saturated colours) */
} nlcl_image_info;

typedef enum nlcl_quantize { NLCL_QUANT_ROUND = 0, NLCL_QUANT_TRUNCATE = 1 } nlcl_quantize;

/* Transparency: by default alpha is dropped (the colour under it is used)
 * and the count of transparent pixels is reported in info->transparent;
 * nlcl_image_load_alpha gives it back instead.
 * With refuse = 1 (process-wide; the nlcl command sets it) a load of an
 * image with any transparent pixel fails with NLCL_ERR_UNSUPPORTED ("N of M
 * pixels are transparent; transparency is not supported ..."), since
 * dropping the alpha would change the picture silently; an opaque alpha
 * channel is never a problem. */
void nlcl_image_set_refuse_transparent(int refuse);
int nlcl_image_get_refuse_transparent(void);

/* Default limit on width*height of decoded images: 100 megapixels. */
#define NLCL_IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)100000000)
/* Set/get the process-wide pixel limit (0 restores the default). */
void nlcl_image_set_max_pixels(uint64_t max_pixels);
uint64_t nlcl_image_get_max_pixels(void);

/* Load a PNG, JPEG, TIFF or BMP (detected from the first bytes, not the name:
 * 89 "PNG", FF D8 FF, "II*\0"/"MM\0*" (or BigTIFF), "BM"). On success
 * *img owns its data (free with nlcl_image_free); info may be NULL. */
nlcl_status nlcl_image_load(const char *path, nlcl_image *img, nlcl_image_info *info);
/* Like nlcl_image_load, and the opacity of an image with transparent pixels:
 * *alpha is NULL when every pixel is opaque or the file has no alpha, else
 * a plane of height*width floats in [0, 1] (row-major, upright like *img;
 * a = v / 255 for 8-bit, v / 65535 for 16-bit, v / (2^n - 1) for an n-bit
 * BMP field), malloc'd: free() it. Carried: PNG alpha channels and tRNS
 * (palette and colour key), TIFF unassociated alpha, BMP alpha bitfields.
 * Transparency given back this way is not refused
 * (nlcl_image_set_refuse_transparent); an alpha that cannot be given back
 * exactly (a TIFF associated, i.e. premultiplied, alpha) is treated as by
 * nlcl_image_load. Errors as nlcl_image_load (*alpha NULL on failure). */
nlcl_status nlcl_image_load_alpha(const char *path, nlcl_image *img, float **alpha,
                                  nlcl_image_info *info);
/* Same from memory; `name` is used in error messages. */
nlcl_status nlcl_image_load_memory(const void *buf, size_t len, const char *name, nlcl_image *img,
                                   nlcl_image_info *info);
/* Largest side, in pixels, of a JPEG that nlcl writes (libjpeg-turbo's
 * JPEG_MAX_DIMENSION); a larger image is NLCL_ERR_UNSUPPORTED for the JPEG
 * savers below: write PNG. */
#define NLCL_JPEG_MAX_SIDE 65500
/* Largest EXIF block nlcl writes: a JPEG APP1 marker's payload. */
#define NLCL_EXIF_MAX_BYTES 65533u
/* The EXIF metadata of a JPEG (the first APP1 "Exif" marker) or PNG (eXIf
 * chunk before IDAT) rewritten for the image as nlcl_image_load returns it,
 * i.e. turned upright: Orientation set to 1, PixelXDimension and
 * PixelYDimension (where present) set to the upright width and height, the
 * thumbnail (IFD 1) dropped; every other entry (camera, date, exposure, GPS,
 * maker note) kept as written (libexif, without its "fixes"). *exif is
 * malloc'd (free() it), "Exif\0\0" then the TIFF-header block, *len <=
 * NLCL_EXIF_MAX_BYTES, ready for nlcl_image_save_png_exif/_jpeg_exif; NULL
 * and 0 when the file has none (TIFF and BMP: always). Reads the header
 * only, as nlcl_image_probe. Errors: as nlcl_image_probe; NLCL_ERR_FORMAT
 * "FILE: corrupt EXIF block: ..." when libexif reports corrupt data or
 * finds no entry in IFD 0; NLCL_ERR_LIMIT when the block, or the rewritten
 * one, is over NLCL_EXIF_MAX_BYTES; NLCL_ERR_NOMEM. */
nlcl_status nlcl_image_load_exif(const char *path, uint8_t **exif, size_t *len);
/* Metadata besides EXIF that nlcl carries from an image file into images
 * made from it (nlcl derain's outputs), read by nlcl_image_load_meta. */
typedef enum nlcl_text_kind {
    NLCL_TEXT_PLAIN = 0,     /* PNG tEXt: Latin-1 */
    NLCL_TEXT_ZIP = 1,       /* PNG zTXt: Latin-1, written compressed */
    NLCL_TEXT_UTF8 = 2,      /* PNG iTXt: UTF-8 */
    NLCL_TEXT_UTF8_ZIP = 3   /* PNG iTXt, written compressed */
} nlcl_text_kind;

typedef enum nlcl_res_unit {
    NLCL_RES_NONE = 0,
    NLCL_RES_ASPECT = 1, /* pixel aspect ratio only, no unit */
    NLCL_RES_INCH = 2,
    NLCL_RES_CM = 3,
    NLCL_RES_METRE = 4
} nlcl_res_unit;

typedef struct nlcl_image_text {
    char *key;           /* PNG keyword, 1..79 Latin-1 characters ("Title", "Comment") */
    char *text;          /* the text as stored (Latin-1 or UTF-8 by kind), NUL-terminated */
    char *lang, *lang_key; /* iTXt: language tag and translated keyword ("" if none) */
    nlcl_text_kind kind;
} nlcl_image_text;

/* A PNG ancillary chunk that nlcl does not interpret but carries: one the
 * PNG specification (section 14.2) marks safe to copy into an image whose
 * pixels changed (the 4th letter of its type lowercase): oFFs, and
 * private chunks such as an application's settings. */
typedef struct nlcl_png_chunk {
    char name[5];   /* the chunk type, 4 ASCII letters, NUL-terminated */
    uint8_t *data;  /* its data as stored (malloc'd; NULL when len is 0) */
    size_t len;     /* bytes, at most 2^31 - 1 */
    int after_idat; /* it came after the image data (and is written there) */
} nlcl_png_chunk;

typedef struct nlcl_image_meta {
    uint8_t *exif;    /* as nlcl_image_load_exif gives it; for a TIFF, an EXIF block holding
                         its camera tags (ImageDescription, Make, Model, Software, DateTime,
                         Artist, HostComputer, DocumentName, Copyright); NULL: none */
    size_t exif_len;
    char *xmp;        /* the XMP packet (UTF-8 XML; JPEG APP1 "http://ns.adobe.com/xap/1.0/",
                         PNG iTXt/tEXt/zTXt "XML:com.adobe.xmp", TIFF tag 700) as stored, except
                         that for an image nlcl turns upright (orientation 2..8) every property
                         named Orientation is 1 and every PixelXDimension/ImageWidth,
                         PixelYDimension/ImageLength the upright width/height; NULL: none */
    size_t xmp_len;
    uint8_t *iptc;    /* Photoshop image resources ("8BIM" blocks, which hold the IPTC-IIM
                         record) of a JPEG's APP13 "Photoshop 3.0" markers, without the
                         thumbnail resources (0x0409, 0x040C); NULL: none */
    size_t iptc_len;
    nlcl_image_text *text; /* PNG tEXt/zTXt/iTXt chunks (XMP excepted) in file order, and
                              each JPEG COM comment as "Comment" (iTXt if it is UTF-8 with
                              non-ASCII bytes, else tEXt; its bytes unchanged) */
    int ntext;
    nlcl_res_unit res_unit; /* resolution (print size): res_x, res_y pixels per unit (PNG
                               pHYs, JFIF density, TIFF X/YResolution); NLCL_RES_NONE: none
                               given (or JFIF's default 1:1 aspect) */
    double res_x, res_y;
    nlcl_png_chunk *chunks; /* a PNG's safe-to-copy ancillary chunks nlcl does not interpret, in
                               file order, as stored; oFFs only for an image nlcl does not turn
                               (else named in lost). The unsafe-to-copy ones (tIME, bKGD, sCAL,
                               sPLT, hIST, sBIT, pCAL, sTER, dSIG, private chunks whose type ends
                               in an upper-case letter) describe the pixels as they were: named in
                               lost, not carried */
    int nchunks;
    char lost[400];   /* what the file holds that is not carried into any output, "" if
                         nothing: "EXIF (corrupt EXIF block: ...)", "extended XMP", "MPF
                         images (previews, depth maps)", "APP11 data", "the TIFF EXIF IFD
                         (exposure, lens)", "the TIFF GPS IFD", "TIFF IPTC", ... joined by
                         "; " (cut at a whole item, then "..."). Thumbnails are not listed:
                         they would show the input's pixels */
} nlcl_image_meta;

/* The metadata of the image file at path for an output made from it (see
 * nlcl_image_meta). Reads the header only, as nlcl_image_probe, except
 * for a PNG, whose image data is decoded too to reach the text chunks after
 * it (nlcl_image_load_with_meta reads pixels and metadata at once). Metadata
 * that cannot be carried (a corrupt EXIF block, an XMP property named above
 * in a form that cannot be rewritten, a malformed APP13) is described in
 * meta->lost instead of failing. BMP files give nothing. Errors: as
 * nlcl_image_probe; NLCL_ERR_NOMEM. Free with nlcl_image_meta_free, also
 * after a failure. */
nlcl_status nlcl_image_load_meta(const char *path, nlcl_image_meta *meta);
/* nlcl_image_load (alpha NULL) or nlcl_image_load_alpha and
 * nlcl_image_load_meta in one reading of the file: *img, *alpha, *info as
 * those give them, *meta as nlcl_image_load_meta gives it. Reading the
 * metadata alone decodes a PNG's image data too (to reach the text chunks
 * after it); this decodes it once. info may be NULL. Errors: those of
 * either (an error in the metadata fails the whole load: a caller that
 * wants the pixels anyway loads them again without it); on failure *img,
 * *alpha and *meta are empty. Free *meta with nlcl_image_meta_free. */
nlcl_status nlcl_image_load_with_meta(const char *path, nlcl_image *img, float **alpha,
                                      nlcl_image_info *info, nlcl_image_meta *meta);
void nlcl_image_meta_free(nlcl_image_meta *meta);
/* What of meta a file of format fmt (PNG or JPEG) cannot hold, written into
 * buf ("" if nothing; "; "-joined as meta->lost): JPEG: PNG text other
 * than "Comment" (its keywords named), PNG chunks (named), XMP over 65504 bytes; PNG: the
 * Photoshop/IPTC resources. Returns the number of items. The savers below
 * leave exactly these out. */
int nlcl_image_meta_unwritable(const nlcl_image_meta *meta, nlcl_image_format fmt, char *buf,
                               size_t n);
/* Like nlcl_image_save_png_exif / nlcl_image_save_jpeg_exif, with the
 * metadata meta (NULL: none; as nlcl_image_load_meta gives it) written as
 * eXIf, pHYs, iTXt "XML:com.adobe.xmp" and text chunks before the image data
 * and meta->chunks before or after it as they came (PNG), or JFIF (with the resolution, when there is one or no EXIF), APP1 EXIF,
 * APP1 XMP, APP13 and COM markers after SOI (JPEG). A resolution in another
 * unit than the format's is converted as PIL does: PNG pixels per metre =
 * round(dpi / 0.0254) or round(dpcm * 100); JFIF keeps dpi and dpcm exactly
 * (rounded to whole numbers) and gives dpi = round(ppm * 0.0254) for pixels
 * per metre. What
 * the format cannot hold is left out (nlcl_image_meta_unwritable). An EXIF
 * block that check fails as for nlcl_image_save_png_exif, a text with an
 * empty or over-long key, a chunk that is not a safe-to-copy ancillary one
 * or that nlcl writes itself (tEXt, zTXt, iTXt, eXIf, pHYs), is
 * NLCL_ERR_INVALID_ARG. */
nlcl_status nlcl_image_save_png_meta(const char *path, const nlcl_image *img, const float *alpha,
                                     const nlcl_image_meta *meta, nlcl_quantize q, int bits16);
nlcl_status nlcl_image_save_jpeg_meta(const char *path, const nlcl_image *img,
                                      const nlcl_image_meta *meta, nlcl_quantize q, int quality);
/* Read only the header (dimensions, modes); cheap, for checking datasets.
 * Fails like nlcl_image_load would on the header (including NLCL_ERR_LIMIT,
 * with *info still filled in). info->bit_depth is the file's: for a palette
 * PNG the index depth (1/2/4/8). */
nlcl_status nlcl_image_probe(const char *path, nlcl_image_info *info);

/* Allocate an image of height x width pixels (data zeroed). */
nlcl_status nlcl_image_alloc(nlcl_image *img, int height, int width);
void nlcl_image_free(nlcl_image *img);

/* Save as 8-bit RGB PNG (bits16 = 1: 16-bit RGB PNG). */
nlcl_status nlcl_image_save_png(const char *path, const nlcl_image *img, nlcl_quantize q,
                                int bits16);
/* Save as 8- or 16-bit RGBA PNG with the opacity plane alpha (height*width
 * values in [0, 1], as nlcl_image_load_alpha gives; clamped, rounded to
 * nearest); alpha NULL: as nlcl_image_save_png. */
nlcl_status nlcl_image_save_png_alpha(const char *path, const nlcl_image *img,
                                      const float *alpha, nlcl_quantize q, int bits16);
/* Like nlcl_image_save_png_alpha, with the EXIF block exif (exif_len
 * bytes, as nlcl_image_load_exif gives it; NULL: none) written as an eXIf
 * chunk before the image data (without its "Exif\0\0"). An exif not
 * starting with "Exif\0\0" or outside 14..NLCL_EXIF_MAX_BYTES bytes is
 * NLCL_ERR_INVALID_ARG; its content is written as given. */
nlcl_status nlcl_image_save_png_exif(const char *path, const nlcl_image *img, const float *alpha,
                                     const uint8_t *exif, size_t exif_len, nlcl_quantize q,
                                     int bits16);
/* Save as baseline JPEG, quality 1..100, 4:2:0 (libjpeg defaults). */
nlcl_status nlcl_image_save_jpeg(const char *path, const nlcl_image *img, nlcl_quantize q,
                                 int quality);
/* Like nlcl_image_save_jpeg, with the EXIF block exif (as for
 * nlcl_image_save_png_exif) written as an APP1 marker after SOI. */
nlcl_status nlcl_image_save_jpeg_exif(const char *path, const nlcl_image *img, const uint8_t *exif,
                                      size_t exif_len, nlcl_quantize q, int quality);
/* Save by extension: .png (8-bit), .jpg/.jpeg (quality 95); others are
 * NLCL_ERR_INVALID_ARG. */
nlcl_status nlcl_image_save(const char *path, const nlcl_image *img, nlcl_quantize q);

/* Convert between float [-1,1] NCHW and interleaved 8-bit RGB (HWC), with
 * the same quantisation as saving; rgb holds height*width*3 bytes (height
 * rows of width RGB triples). */
void nlcl_image_to_rgb8(const nlcl_image *img, nlcl_quantize q, uint8_t *rgb);
nlcl_status nlcl_image_from_rgb8(nlcl_image *img, const uint8_t *rgb, int height, int width);

NLCL_API_END
#endif
