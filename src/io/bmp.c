/* BMP reading (include/nlcl/image.h): a small, strict decoder for the
 * common Windows forms (Debian has no BMP library).
 *
 * Accepted: a 14-byte file header "BM", then a BITMAPINFOHEADER (40 bytes),
 * its Adobe extensions (52, 56) or BITMAPV4HEADER/BITMAPV5HEADER (108, 124);
 * BI_RGB with 1, 4 or 8-bit palette indices, 16-bit (X1R5G5B5), 24-bit (BGR)
 * or 32-bit (BGRX) pixels; BI_BITFIELDS / BI_ALPHABITFIELDS with 16 or 32-bit
 * pixels. Rows are bottom-up (height > 0) or top-down (height < 0), each
 * padded to a multiple of 4 bytes. The file is read sequentially: header,
 * masks, palette, then (after skipping to bfOffBits) the rows.
 *
 * Values: palette and 24/32-bit BI_RGB colours are 8-bit (x = v/255*2-1); a
 * bitfield channel of n bits gives x = v/(2^n - 1)*2 - 1 in double (so 5-bit
 * 31 is exactly 1). Alpha (a bitfield mask) is dropped, or given to a caller
 * who asks for it (nlcl_image_load_alpha); its transparent pixels are
 * counted (image.h: transparent). The 4th byte of 32-bit BI_RGB
 * is reserved, not alpha.
 *
 * Colour: V4/V5 headers name a colour space (see bmp_colour): sRGB, or an
 * embedded ICC profile, which the front end converts to sRGB (colour.c).
 *
 * Refused: OS/2 headers (12, 16, 64 bytes) and RLE4/RLE8/JPEG/PNG
 * compression (NLCL_ERR_UNSUPPORTED); planes != 1, width <= 0, height 0,
 * bit counts not listed above, bitfield masks that are empty, not contiguous,
 * overlapping or wider than the pixel, a palette larger than 2^bits, a
 * palette index beyond the palette, a pixel-data offset inside the headers or
 * past the end of the file, and missing rows (NLCL_ERR_FORMAT). bfSize and
 * biSizeImage are ignored (often wrong in real files); bytes after the last
 * row are ignored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "image_internal.h"

enum {
    BI_RGB = 0,
    BI_RLE8 = 1,
    BI_RLE4 = 2,
    BI_BITFIELDS = 3,
    BI_JPEG = 4,
    BI_PNG = 5,
    BI_ALPHABITFIELDS = 6
};

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Read exactly n bytes; "BMP truncated (in the <what>)" otherwise. */
static nlcl_status rd(nlcl_img_src *src, void *buf, size_t n,
                      const char *what) {
    if (nlcl_img_src_read(src, buf, n) == n) return NLCL_OK;
    if (src->read_error)
        return nlcl_error_set(NLCL_ERR_IO, "%s: read error: %s", src->name,
                              strerror(src->read_error));
    return nlcl_error_set(NLCL_ERR_FORMAT, "%s: BMP truncated (in the %s)", src->name,
                          what);
}

/* One bitfield channel: position and width of a contiguous mask. */
typedef struct bmp_field {
    uint32_t mask;
    int shift, bits;
    double maxv;
} bmp_field;

static int popcount32(uint32_t v) {
    int n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

/* 1 if mask is a non-empty contiguous run of bits within `bpp` bits. */
static int field_init(bmp_field *f, uint32_t mask, int bpp) {
    memset(f, 0, sizeof *f);
    f->mask = mask;
    if (!mask) return 0;
    if (bpp < 32 && (mask >> bpp)) return 0;
    int shift = 0;
    while (!((mask >> shift) & 1)) shift++;
    uint32_t run = mask >> shift;
    if (run & (run + 1)) return 0; /* not of the form 2^k - 1 */
    f->shift = shift;
    f->bits = popcount32(mask);
    f->maxv = (double)(run);
    return 1;
}

static inline float field_x(const bmp_field *f, uint32_t px) {
    return (float)((double)((px & f->mask) >> f->shift) / f->maxv * 2.0 - 1.0);
}

/* The colour space of a V4/V5 header (bV4CSType at byte 56 of the info
 * header): sRGB and "Windows colour space" are sRGB; an embedded profile
 * (V5, PROFILE_EMBEDDED: offset from the info header at 112, size at 116)
 * goes to the front end's colour conversion (read for full decodes only); a
 * calibrated RGB space is sRGB when its endpoints and gammas are all zero
 * (writers that fill nothing), otherwise refused like a linked profile: the
 * samples would be taken for sRGB silently. */
#define CS_CALIBRATED 0u
#define CS_SRGB 0x73524742u     /* 'sRGB' */
#define CS_WINDOWS 0x57696E20u  /* 'Win ' */
#define CS_LINKED 0x4C494E4Bu   /* 'LINK' */
#define CS_EMBEDDED 0x4D424544u /* 'MBED' */

static nlcl_status bmp_colour(nlcl_img_src *src, const uint8_t *ih,
                              uint32_t hsize, int full) {
    const char *name = src->name;
    if (hsize < 108) return NLCL_OK;
    const uint32_t cs = le32(ih + 56);
    if (cs == CS_SRGB || cs == CS_WINDOWS) return NLCL_OK;
    if (cs == CS_CALIBRATED) {
        for (int k = 60; k < 108; k++)
            if (ih[k])
                return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                      "%s: BMP with a calibrated RGB colour space (endpoints "
                                      "and gamma) is not supported",
                                      name);
        return NLCL_OK;
    }
    if (cs == CS_LINKED)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: BMP linking an external ICC profile is not supported",
                              name);
    if (cs != CS_EMBEDDED || hsize < 124)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: colour space type 0x%08x",
                              name, (unsigned)cs);
    const uint64_t at = 14 + (uint64_t)le32(ih + 112), n = le32(ih + 116);
    uint64_t total;
    if (n == 0 || (nlcl_img_src_size(src, &total) && at + n > total))
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: corrupt BMP: embedded ICC profile of %llu bytes at byte "
                              "%llu is not in the file",
                              name, (unsigned long long)n, (unsigned long long)at);
    if (n > NLCL_ICC_MAX_BYTES)
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: ICC profile of %llu bytes (limit %zu)",
                              name, (unsigned long long)n, NLCL_ICC_MAX_BYTES);
    if (!full) return NLCL_OK;
    if (!(src->icc = malloc((size_t)n)))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    src->icc_len = (size_t)n;
    if (nlcl_img_src_pread(src, at, src->icc, (size_t)n) != n)
        return src->read_error ? nlcl_error_set(NLCL_ERR_IO, "%s: read error: %s", name, strerror(src->read_error))
                               : nlcl_error_set(NLCL_ERR_FORMAT,
                                                "%s: BMP truncated (in the ICC profile)",
                                                name);
    return NLCL_OK;
}

/* A BMP's headers as they decide the reading. */
typedef struct bmp_hdr {
    uint8_t raw[14 + 124]; /* file header, info header */
    uint32_t off, hsize, comp, clr_used;
    int32_t w, hs;          /* width, signed height (< 0: top-down) */
    uint32_t ah;            /* |height| */
    unsigned planes, bpp;
    uint32_t masks[4];      /* bitfields R, G, B, A (0: none) */
    uint64_t pos;           /* bytes read so far */
    int indexed, top_down;
} bmp_hdr;

/* The file and info headers and the bitfield masks. */
static nlcl_status read_headers(nlcl_img_src *src, bmp_hdr *b) {
    const char *name = src->name;
    memset(b, 0, sizeof *b);
    uint8_t *hdr = b->raw;
    NLCL_TRY(rd(src, hdr, 18, "file header"));
    b->off = le32(hdr + 10), b->hsize = le32(hdr + 14);
    const uint32_t hsize = b->hsize;
    if (hsize == 12 || hsize == 16 || hsize == 64)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: OS/2 BMP (%u-byte header) is not supported",
                              name, (unsigned)hsize);
    if (hsize != 40 && hsize != 52 && hsize != 56 && hsize != 108 && hsize != 124)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: header size %u", name,
                              (unsigned)hsize);
    NLCL_TRY(rd(src, hdr + 18, hsize - 4, "info header"));
    const uint8_t *ih = hdr + 14;
    b->w = (int32_t)le32(ih + 4), b->hs = (int32_t)le32(ih + 8);
    b->planes = le16(ih + 12), b->bpp = le16(ih + 14);
    b->comp = le32(ih + 16), b->clr_used = le32(ih + 32);
    b->pos = 14 + (uint64_t)hsize;
    /* bitfield masks: in the header (52+ bytes) or right after a 40-byte one */
    if (b->comp == BI_BITFIELDS || b->comp == BI_ALPHABITFIELDS) {
        if (hsize == 40) {
            uint8_t m[16];
            size_t nm = b->comp == BI_ALPHABITFIELDS ? 16 : 12;
            NLCL_TRY(rd(src, m, nm, "bitfield masks"));
            for (size_t k = 0; k < nm / 4; k++) b->masks[k] = le32(m + 4 * k);
            b->pos += nm;
        } else {
            for (int k = 0; k < (hsize >= 56 ? 4 : 3); k++) b->masks[k] = le32(ih + 40 + 4 * k);
        }
    } else if (b->comp == BI_RGB && b->bpp == 16) {
        b->masks[0] = 0x7C00, b->masks[1] = 0x03E0, b->masks[2] = 0x001F;
    }
    b->top_down = b->hs < 0;
    b->ah = b->hs == INT32_MIN ? 0 : (uint32_t)(b->top_down ? -b->hs : b->hs);
    b->indexed = b->bpp <= 8;
    return NLCL_OK;
}

/* What the header says, into info (before any check, as for a probe). */
static void describe(const bmp_hdr *b, nlcl_image_info *inf) {
    inf->width = b->w;
    inf->height = (int)b->ah;
    inf->is_jpeg = 0;
    inf->palette = b->indexed && b->comp == BI_RGB;
    inf->channels = b->indexed ? 3 : (b->masks[3] && b->bpp != 24 ? 4 : 3);
    inf->bit_depth = b->indexed ? (int)b->bpp : 8;
}

/* Compression, planes, size and bits per pixel nlcl reads. */
static nlcl_status check_kind(const bmp_hdr *b, const char *name) {
    switch (b->comp) {
    case BI_RGB:
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS: break;
    case BI_RLE4:
    case BI_RLE8:
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: RLE-compressed BMP is not supported",
                              name);
    case BI_JPEG:
    case BI_PNG:
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: BMP with embedded %s is not supported",
                              name, b->comp == BI_JPEG ? "JPEG" : "PNG");
    default:
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: compression %u", name,
                              (unsigned)b->comp);
    }
    if (b->planes != 1)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: %u planes", name,
                              b->planes);
    if (b->w <= 0 || b->hs == 0 || b->hs == INT32_MIN)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: invalid image size %dx%d", name,
                              (int)b->w, (int)b->hs);
    const unsigned bpp = b->bpp;
    const int bits_ok = b->comp == BI_RGB ? (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 ||
                                             bpp == 24 || bpp == 32)
                                          : (bpp == 16 || bpp == 32);
    if (!bits_ok)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: %u bits per pixel%s", name, bpp, b->comp == BI_RGB ? "" : " with bitfields");
    return NLCL_OK;
}

/* The R, G, B bitfields of 16-bit and 32-bit bitfield pixels (and the bit
 * depth they give), and the palette size of indexed ones. */
static nlcl_status check_fields(const bmp_hdr *b, const char *name, bmp_field *f,
                                uint32_t *ncol, nlcl_image_info *inf) {
    const uint32_t *masks = b->masks;
    if (b->bpp == 16 || (b->bpp == 32 && b->comp != BI_RGB)) {
        for (int k = 0; k < 3; k++)
            if (!field_init(&f[k], masks[k], (int)b->bpp))
                return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: invalid %s bitfield mask 0x%08x",
                                      name, k == 0 ? "red" : k == 1 ? "green" : "blue",
                                      (unsigned)masks[k]);
        if ((masks[0] & masks[1]) || (masks[0] & masks[2]) || (masks[1] & masks[2]))
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt BMP: overlapping bitfield masks",
                                  name);
        inf->bit_depth = NLCL_MAX(f[0].bits, NLCL_MAX(f[1].bits, f[2].bits));
        if (b->bpp == 32 && b->comp == BI_RGB) inf->bit_depth = 8;
    }
    *ncol = 0;
    if (b->indexed) {
        if (b->clr_used > (1u << b->bpp))
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: corrupt BMP: palette of %u colours for a %u-bit image",
                                  name, (unsigned)b->clr_used, b->bpp);
        *ncol = b->clr_used ? b->clr_used : 1u << b->bpp;
    }
    return NLCL_OK;
}

/* The palette (BGRX entries), then up to the pixel data at bfOffBits. */
static nlcl_status to_pixels(nlcl_img_src *src, bmp_hdr *b, uint32_t ncol,
                             uint8_t *pal) {
    const char *name = src->name;
    if (b->indexed) {
        NLCL_TRY(rd(src, pal, (size_t)ncol * 4, "palette"));
        b->pos += (uint64_t)ncol * 4;
    }
    if (b->off < b->pos)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: corrupt BMP: pixel data offset %u overlaps the headers "
                              "(which end at byte %llu)",
                              name, (unsigned)b->off, (unsigned long long)b->pos);
    for (uint64_t skip = b->off - b->pos; skip > 0;) {
        uint8_t tmp[4096];
        size_t k = skip < sizeof tmp ? (size_t)skip : sizeof tmp;
        if (nlcl_img_src_read(src, tmp, k) != k) {
            if (src->read_error)
                return nlcl_error_set(NLCL_ERR_IO, "%s: read error: %s", name,
                                      strerror(src->read_error));
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: corrupt BMP: pixel data offset %u is past the end of "
                                  "the file",
                                  name, (unsigned)b->off);
        }
        skip -= k;
    }
    return NLCL_OK;
}

/* How the rows are decoded. */
typedef struct bmp_rows {
    const bmp_hdr *b;
    const bmp_field *f, *fa; /* R, G, B bitfields; alpha (NULL: none) */
    const uint8_t *pal;
    uint32_t ncol;
} bmp_rows;

/* Row y of the file (stride bytes in row) into the image; rgb is scratch. */
static nlcl_status put_row(nlcl_img_src *src, const bmp_rows *d,
                           const uint8_t *row, size_t y, uint8_t *rgb, nlcl_image *img) {
    const bmp_hdr *b = d->b;
    const size_t W = (size_t)b->w, P = W * b->ah;
    const unsigned bpp = b->bpp;
    if (b->indexed) {
        const unsigned mask = (1u << bpp) - 1;
        for (size_t x = 0; x < W; x++) {
            size_t bit = x * bpp;
            unsigned idx = (unsigned)(row[bit >> 3] >> (8 - bpp - (bit & 7))) & mask;
            if (idx >= d->ncol)
                return nlcl_error_set(NLCL_ERR_FORMAT,
                                      "%s: corrupt BMP: palette index %u out of range (%u "
                                      "colours) at (%zu, %zu)",
                                      src->name, idx, (unsigned)d->ncol, x, y);
            const uint8_t *e = d->pal + 4 * (size_t)idx;
            rgb[3 * x] = e[2], rgb[3 * x + 1] = e[1], rgb[3 * x + 2] = e[0];
        }
        nlcl_image_put_row8(img, (int)y, rgb, 3);
    } else if (bpp == 24 || (bpp == 32 && b->comp == BI_RGB)) {
        const size_t step = bpp / 8;
        for (size_t x = 0; x < W; x++) {
            const uint8_t *p = row + x * step;
            rgb[3 * x] = p[2], rgb[3 * x + 1] = p[1], rgb[3 * x + 2] = p[0];
        }
        nlcl_image_put_row8(img, (int)y, rgb, 3);
    } else { /* bitfields (16-bit BI_RGB included) */
        float *r = img->data + y * W, *a = src->alpha ? src->alpha + y * W : NULL;
        for (size_t x = 0; x < W; x++) {
            uint32_t v = bpp == 16 ? le16(row + 2 * x) : le32(row + 4 * x);
            if (d->fa) src->transparent += (v & d->fa->mask) != d->fa->mask;
            if (a) a[x] = (float)(((v & d->fa->mask) >> d->fa->shift) / d->fa->maxv);
            r[x] = field_x(&d->f[0], v);
            r[P + x] = field_x(&d->f[1], v);
            r[2 * P + x] = field_x(&d->f[2], v);
        }
    }
    return NLCL_OK;
}

/* The rows: w * bpp bits each, padded to 4 bytes (w <= the pixel limit). */
static nlcl_status read_rows(nlcl_img_src *src, const bmp_rows *d, nlcl_image *img) {
    const char *name = src->name;
    const bmp_hdr *b = d->b;
    const size_t W = (size_t)b->w, stride = (((uint64_t)W * b->bpp + 31) / 32) * 4;
    uint64_t total;
    if (nlcl_img_src_size(src, &total) && (uint64_t)b->off + (uint64_t)stride * b->ah > total)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: BMP truncated: %ux%u pixels need %llu bytes of pixel data "
                              "from byte %u, the file has %llu bytes",
                              name, (unsigned)b->w, (unsigned)b->ah,
                              (unsigned long long)((uint64_t)stride * b->ah), (unsigned)b->off,
                              (unsigned long long)total);
    NLCL_TRY(nlcl_image_alloc_for(name, img, b->w, (int)b->ah));
    uint8_t *row = malloc(stride), *rgb = malloc(W * 3);
    nlcl_status s = row && rgb ? NLCL_OK
                               : nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a BMP row", name);
    if (s == NLCL_OK && d->fa) s = nlcl_img_src_alloc_alpha(src, b->w, (int)b->ah);
    for (uint32_t i = 0; s == NLCL_OK && i < b->ah; i++) {
        const size_t y = b->top_down ? i : b->ah - 1 - i;
        if (nlcl_img_src_read(src, row, stride) != stride)
            s = src->read_error ? nlcl_error_set(NLCL_ERR_IO, "%s: read error: %s", name,
                                                 strerror(src->read_error))
                                : nlcl_error_set(NLCL_ERR_FORMAT, "%s: BMP truncated (%u of %u rows)",
                                                 name, (unsigned)i, (unsigned)b->ah);
        else
            s = put_row(src, d, row, y, rgb, img);
    }
    free(row);
    free(rgb);
    if (s != NLCL_OK) nlcl_image_free(img);
    return s;
}

nlcl_status nlcl_bmp_decode(nlcl_img_src *src, nlcl_image *img,
                            nlcl_image_info *info) {
    const char *name = src->name;
    nlcl_image_info scratch;
    nlcl_image_info *const inf = info ? info : &scratch;
    memset(inf, 0, sizeof *inf);
    bmp_hdr b;
    NLCL_TRY(read_headers(src, &b));
    describe(&b, inf);
    NLCL_TRY(check_kind(&b, name));
    bmp_field f[3], fa;
    uint32_t ncol = 0;
    NLCL_TRY(check_fields(&b, name, f, &ncol, inf));
    NLCL_TRY(nlcl_image_check_dims(name, (uint64_t)b.w, b.ah));
    NLCL_TRY(bmp_colour(src, b.raw + 14, b.hsize, img != NULL));
    if (!img) return NLCL_OK;
    uint8_t pal[256 * 4];
    NLCL_TRY(to_pixels(src, &b, ncol, pal));
    /* an alpha bitfield (V4/V5 or BI_ALPHABITFIELDS): transparent pixels are
     * counted (the 4th byte of 32-bit BI_RGB is reserved, not alpha) */
    const uint32_t *m = b.masks;
    const int has_alpha = b.comp != BI_RGB && m[3] && field_init(&fa, m[3], (int)b.bpp) &&
                          !(m[3] & (m[0] | m[1] | m[2]));
    const bmp_rows d = {&b, f, has_alpha ? &fa : NULL, pal, ncol};
    return read_rows(src, &d, img);
}
