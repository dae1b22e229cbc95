/* PNG reading and writing with libpng 1.6 (include/nlcl/image.h).
 *
 * Errors: libpng reports through png_err/png_warn below, which only record
 * the message (nothing is printed); png_err then longjmps back to the
 * setjmp in the caller, which frees everything. CRC errors in any chunk are
 * errors; ancillary chunks other than tRNS, the colour chunks (iCCP, sRGB,
 * gAMA, cHRM), eXIf and, for nlcl_image_load_meta, pHYs and the text chunks (tEXt,
 * zTXt, iTXt, also after the image data) are skipped unparsed (their CRCs are still checked).
 * No chunk but IDAT may declare more bytes than the file has left (checked
 * before libpng allocates them, check_chunk); libpng's chunk allocations and
 * a compressed text's inflated size are capped at 8 MiB (a text over it is
 * named in meta->lost), and the text kept of one file at 32 MiB. The colour chunks and the EXIF
 * orientation go to the front end (image.c, colour.c); an iCCP chunk that
 * libpng rejects is an error, and an animated PNG (acTL) is refused, since
 * only its default image would be read. The alpha (alpha channel, tRNS)
 * goes to the caller when it asks for it (nlcl_image_load_alpha); the writer
 * writes RGB, or RGBA with an alpha plane, and the metadata (eXIf, XMP, text). */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/internal.h"
#include "image_internal.h"

#define PNG_CHUNK_MALLOC_MAX (8u << 20)
/* The text (tEXt, zTXt, iTXt, XMP) nlcl keeps of one file: a compressed
 * chunk inflates up to PNG_CHUNK_MALLOC_MAX, so that 999 of them (libpng's
 * chunk cache) could otherwise hold 8 GiB from an 8 MB file. */
#define PNG_TEXT_MAX (32u << 20)

typedef struct png_ctx {
    nlcl_img_src *src;   /* reading only */
    nlcl_status status;  /* set by the read callback before png_error */
    int limit_hit;       /* a warning said a dimension exceeds the user limit */
    char msg[256];       /* libpng's error message */
    char icc_warn[200];  /* libpng's warning about the iCCP chunk, if any */
    char trns_warn[200]; /* libpng's warning about a tRNS chunk it dropped (misplaced, invalid) */
    char late_warn[200]; /* one about a colour chunk after the image data (ignored by libpng) */
    int at_end;          /* png_read_end is reading the chunks after the image data */
    nlcl_image_info *info, scratch; /* where the header is described */
    uint8_t *buf;        /* decoding: the rows' bytes, and (interlaced) their pointers; */
    png_bytep *rows;     /* freed by nlcl_png_decode, also after a longjmp */
    png_infop end;       /* the chunks after the image data (metadata wanted) */
    png_infop pinfo;     /* the chunks before the image data */
    uint64_t size;       /* the source's size in bytes, if size_known */
    int size_known;
    uint64_t consumed;   /* bytes read so far */
    png_textp text;      /* encoding: the text chunks (XMP first) */
    png_unknown_chunkp unk; /* encoding: meta->chunks */
    FILE *out;           /* encoding: the file written */
    int write_errno;     /* encoding: errno of the write that failed (ENOSPC, EFBIG) */
} png_ctx;

static void png_err(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    if (c->status == NLCL_OK) snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "error");
    png_longjmp(png, 1);
}

/* libpng's warnings: the pixel limit, the iCCP chunk, and, with metadata, a
 * text or unknown chunk it dropped ("zTXt: truncated" for one that inflates
 * to more than PNG_CHUNK_MALLOC_MAX, "no space in chunk cache", a bad
 * keyword ...), which goes to meta->lost. */
static void png_warn(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    if (!msg) return;
    if (strstr(msg, "exceeds user limit")) c->limit_hit = 1;
    if (!strncmp(msg, "iCCP", 4) && !c->icc_warn[0])
        snprintf(c->icc_warn, sizeof c->icc_warn, "%s", msg);
    if (!strncmp(msg, "tRNS", 4) && !c->trns_warn[0])
        snprintf(c->trns_warn, sizeof c->trns_warn, "%s", msg);
    static const char colour[] = "PLTE tRNS iCCP sRGB gAMA cHRM";
    if (c->at_end && !c->late_warn[0] && strlen(msg) > 4 && msg[4] == ':' && msg[0] != ' ' &&
        strstr(colour, (char[5]){msg[0], msg[1], msg[2], msg[3], '\0'}))
        snprintf(c->late_warn, sizeof c->late_warn, "%s", msg);
    if (!c->src || !c->src->meta || strlen(msg) <= 6 || strncmp(msg + 4, ": ", 2)) return;
    static const char interpreted[] = "IHDR PLTE IDAT IEND tRNS iCCP sRGB gAMA cHRM eXIf pHYs acTL";
    for (int i = 0; i < 4; i++)
        if (!((msg[i] >= 'A' && msg[i] <= 'Z') || (msg[i] >= 'a' && msg[i] <= 'z'))) return;
    char type[5] = {msg[0], msg[1], msg[2], msg[3], '\0'};
    if (strstr(interpreted, type)) return;
    const char *why = msg + 6; /* libpng says "truncated" for a text over its limit too */
    if (!strcmp(why, "truncated") && (*msg == 'z' || *msg == 'i')) why = "inflating to over 8 MiB, or cut short";
    nlcl_meta_lost(c->src->meta, "a %s chunk that libpng could not read (%s)", type, why);
}

/* A colour chunk after the image data (iCCP, sRGB, gAMA, cHRM, tRNS, PLTE:
 * PNG allows them only before it) is ignored by libpng: the pixels, already
 * decoded without it, would be read in other colours than the file says. */
static nlcl_status late_colour_check(const png_ctx *c, const char *name) {
    if (!c->late_warn[0]) return NLCL_OK;
    return nlcl_error_set(NLCL_ERR_FORMAT,
                          "%s: PNG: its %.4s chunk comes after the image data, where PNG does not allow it "
                          "(libpng: %s): its colours cannot be read as the file means them",
                          name, c->late_warn, c->late_warn);
}

/* The text chunks read so far (pinfo: before IDAT, or after it) into the
 * caller's metadata: XML:com.adobe.xmp as XMP, the others as text. */
static nlcl_status read_text(png_structp png, png_infop pinfo, nlcl_img_src *src) {
    png_textp t = NULL;
    int n = src->meta ? png_get_text(png, pinfo, &t, NULL) : 0;
    for (int i = 0; i < n; i++) {
        const int itxt = t[i].compression >= PNG_ITXT_COMPRESSION_NONE;
        const size_t len = itxt ? t[i].itxt_length : t[i].text_length;
        if (!t[i].key || (!t[i].text && len)) continue;
        const size_t klen = strlen(t[i].key); /* libpng reads a tEXt's keyword unchecked */
        if (!klen || klen > 79) {
            nlcl_meta_lost(src->meta, "a text chunk with a keyword of %zu characters (PNG allows 1 to 79)", klen);
            continue;
        }
        if (!strcmp(t[i].key, "XML:com.adobe.xmp")) {
            NLCL_TRY(nlcl_meta_keep_xmp(src, t[i].text, len));
            continue;
        }
        nlcl_text_kind kind = t[i].compression == PNG_TEXT_COMPRESSION_zTXt ? NLCL_TEXT_ZIP
                              : t[i].compression == PNG_ITXT_COMPRESSION_NONE ? NLCL_TEXT_UTF8
                              : t[i].compression == PNG_ITXT_COMPRESSION_zTXt ? NLCL_TEXT_UTF8_ZIP
                                                                              : NLCL_TEXT_PLAIN;
        NLCL_TRY(nlcl_meta_add_text(src, t[i].key, t[i].text ? t[i].text : "", len,
                                    itxt ? t[i].lang : NULL, itxt ? t[i].lang_key : NULL, kind));
    }
    return NLCL_OK;
}

/* The unknown chunks libpng kept in pinfo (with the metadata: every
 * ancillary chunk nlcl does not interpret) into meta->chunks or lost. */
static nlcl_status read_chunks(png_structp png, png_infop pinfo, nlcl_img_src *src) {
    png_unknown_chunkp unk = NULL;
    int n = src->meta ? png_get_unknown_chunks(png, pinfo, &unk) : 0;
    for (int i = 0; i < n; i++)
        if (memcmp(unk[i].name, "acTL", 4))
            NLCL_TRY(nlcl_meta_png_chunk(src, (const char *)unk[i].name, unk[i].data, unk[i].size,
                                         (unk[i].location & PNG_AFTER_IDAT) != 0));
    return NLCL_OK;
}

/* After png_read_info: orientation, colour description, APNG. */
static nlcl_status read_metadata(png_structp png, png_infop pinfo, png_ctx *c) {
    nlcl_img_src *src = c->src;
    const char *name = src->name;
    png_unknown_chunkp unk = NULL;
    int nunk = png_get_unknown_chunks(png, pinfo, &unk);
    for (int i = 0; i < nunk; i++)
        if (!memcmp(unk[i].name, "acTL", 4))
            return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                  "%s: animated PNG (APNG) is not supported (only its first "
                                  "image would be read)",
                                  name);
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, pinfo, &n, &exif) && exif)
        src->orientation = nlcl_exif_orientation(exif, n, 1, NULL);
    if (exif && nlcl_img_src_keep_exif(src, exif, n) != NLCL_OK) return NLCL_ERR_NOMEM;
    NLCL_TRY(read_text(png, pinfo, src));
    NLCL_TRY(read_chunks(png, pinfo, src));
    png_uint_32 rx, ry;
    int unit;
    if (src->meta && png_get_pHYs(png, pinfo, &rx, &ry, &unit) && rx && ry) {
        src->meta->res_unit = unit == PNG_RESOLUTION_METER ? NLCL_RES_METRE : NLCL_RES_ASPECT;
        src->meta->res_x = rx, src->meta->res_y = ry;
    }
    int ct = png_get_color_type(png, pinfo);
    src->grey = ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA;
    png_charp pname = NULL;
    png_bytep prof = NULL;
    png_uint_32 plen = 0;
    int comp = 0;
    if (png_get_iCCP(png, pinfo, &pname, &comp, &prof, &plen) && prof && plen) {
        if (!(src->icc = malloc(plen)))
            return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
        memcpy(src->icc, prof, plen);
        src->icc_len = plen;
        return NLCL_OK;
    }
    if (c->icc_warn[0])
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: invalid ICC profile (%s)", name,
                              c->icc_warn);
    if (png_get_valid(png, pinfo, PNG_INFO_sRGB)) return NLCL_OK;
    double g = 0;
    if (png_get_valid(png, pinfo, PNG_INFO_gAMA) && png_get_gAMA(png, pinfo, &g) && g > 0)
        src->gamma = g;
    double *h = src->chrm;
    if (png_get_valid(png, pinfo, PNG_INFO_cHRM) &&
        png_get_cHRM(png, pinfo, &h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6], &h[7]))
        src->has_chrm = 1;
    return NLCL_OK;
}

/* The text kept so far (with metadata), in bytes. */
static uint64_t text_total(png_structp png, png_infop pinfo, png_infop end) {
    uint64_t sum = 0;
    for (int k = 0; k < 2; k++) {
        png_textp t = NULL;
        int n = (k ? end : pinfo) ? png_get_text(png, k ? end : pinfo, &t, NULL) : 0;
        for (int i = 0; i < n; i++) sum += (uint64_t)t[i].text_length + t[i].itxt_length;
    }
    return sum;
}

/* A chunk's header (length, type), checked before libpng allocates for
 * the chunk: it reads eXIf and the text chunks whole, allocating the
 * declared length (its chunk limit only warns), so that a 700-byte file
 * declaring a 2 GB tEXt chunk made it allocate 2 GB. A chunk other than
 * IDAT (read in pieces) may not declare more bytes than the source has
 * left (such a file is truncated anyway; sources are memory or regular
 * files, whose size is known). With metadata, the text read so far must
 * stay within PNG_TEXT_MAX (checked at every chunk but IDAT, so also at
 * IEND). Types that are not four letters are libpng's to refuse. */
static void check_chunk(png_structp png, png_ctx *c, const uint8_t *hdr) {
    const uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    const char *type = (const char *)hdr + 4;
    for (int i = 0; i < 4; i++)
        if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z'))) return;
    if (!memcmp(type, "IDAT", 4)) return;
    if (!(type[0] & 0x20) && memcmp(type, "IHDR", 4) && memcmp(type, "PLTE", 4) && memcmp(type, "IEND", 4)) {
        c->status = NLCL_ERR_FORMAT; /* as libpng says it, which accepts one it is told to keep */
        snprintf(c->msg, sizeof c->msg, "corrupt PNG: %.4s: unhandled critical chunk", type);
        png_error(png, c->msg);
    }
    if (c->size_known && c->consumed <= c->size && (uint64_t)len + 4 > c->size - c->consumed) {
        c->status = NLCL_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "PNG truncated: its %.4s chunk declares %lu bytes, %llu remain in the file",
                 type, (unsigned long)len, (unsigned long long)(c->size - c->consumed));
    } else if (c->src->meta && text_total(png, c->pinfo, c->end) > PNG_TEXT_MAX) {
        c->status = NLCL_ERR_LIMIT;
        snprintf(c->msg, sizeof c->msg, "PNG text chunks hold over %u MiB of text (nlcl's limit for the "
                 "metadata it carries)", PNG_TEXT_MAX >> 20);
    } else {
        return;
    }
    png_error(png, c->msg);
}

static void png_read_cb(png_structp png, png_bytep data, size_t n) {
    png_ctx *c = png_get_io_ptr(png);
    size_t got = nlcl_img_src_read(c->src, data, n);
    c->consumed += got;
    if (got == n && n == 8 && (png_get_io_state(png) & PNG_IO_MASK_LOC) == PNG_IO_CHUNK_HDR)
        check_chunk(png, c, data);
    if (got == n) return;
    if (c->src->read_error) {
        c->status = NLCL_ERR_IO;
        snprintf(c->msg, sizeof c->msg, "read error: %s", strerror(c->src->read_error));
    } else {
        c->status = NLCL_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "PNG truncated");
    }
    png_error(png, c->msg);
}

static nlcl_status read_error_status(const png_ctx *c, const char *name) {
    if (c->status != NLCL_OK) return nlcl_error_set(c->status, "%s: %s", name, c->msg);
    if (c->limit_hit)
        return nlcl_error_set(NLCL_ERR_LIMIT,
                              "%s: PNG dimensions exceed the pixel limit of %llu (%s)", name, (unsigned long long)nlcl_image_get_max_pixels(), c->msg);
    if (strstr(c->msg, "ut of memory") || strstr(c->msg, "nsufficient memory"))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: PNG: %s", name, c->msg);
    return nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt PNG: %s", name, c->msg);
}

/* libpng's reading: the source, strict CRCs, the size limits, and which
 * chunks are kept. */
static void setup_read(png_structp png, png_ctx *c) {
    png_set_read_fn(png, c, png_read_cb);
    c->size_known = nlcl_img_src_size(c->src, &c->size);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    /* Either dimension alone above the pixel limit is already too large. */
    uint64_t lim = nlcl_image_get_max_pixels();
    png_uint_32 ulim = lim > PNG_UINT_31_MAX ? PNG_UINT_31_MAX : (png_uint_32)lim;
    png_set_user_limits(png, ulim, ulim);
    png_set_chunk_cache_max(png, 1000);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    /* Skip every ancillary chunk except tRNS, the colour chunks and eXIf;
     * keep acTL (unknown to libpng) to recognise animated PNGs. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_AS_DEFAULT,
                                (png_const_bytep) "iCCP\0sRGB\0gAMA\0cHRM\0eXIf", 5);
    if (c->src->meta) { /* the text chunks and the resolution, for nlcl_image_load_meta; the
                           chunks nlcl does not interpret, as they are (unknown chunks) */
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_AS_DEFAULT, (png_const_bytep) "tEXt\0zTXt\0iTXt\0pHYs", 4);
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, NULL, 0);
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS,
                                    (png_const_bytep) "tIME\0bKGD\0oFFs\0sCAL\0sPLT\0hIST\0sBIT\0pCAL", 8);
    }
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, (png_const_bytep) "acTL", 1);
}

/* The header (IHDR, after png_read_info) into inf. */
static void describe(png_structp png, png_infop pinfo, nlcl_image_info *inf) {
    png_uint_32 w, h;
    int bd, ct, il;
    png_get_IHDR(png, pinfo, &w, &h, &bd, &ct, &il, NULL, NULL);
    memset(inf, 0, sizeof *inf);
    inf->width = (int)w; /* libpng guarantees w, h <= 2^31 - 1 */
    inf->height = (int)h;
    inf->bit_depth = bd;
    inf->is_jpeg = 0;
    inf->palette = ct == PNG_COLOR_TYPE_PALETTE;
    switch (ct) {
    case PNG_COLOR_TYPE_GRAY: inf->channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: inf->channels = 2; break;
    case PNG_COLOR_TYPE_RGB: inf->channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: inf->channels = 4; break;
    default: inf->channels = png_get_valid(png, pinfo, PNG_INFO_tRNS) ? 4 : 3; break;
    }
}

/* The output of the transforms: 8 or 16-bit grey, grey+alpha, RGB or RGBA. */
typedef struct png_out {
    int passes, ch, obd; /* interlace passes, channels, bits per sample */
    size_t rowbytes;
} png_out;

static nlcl_status set_transforms(png_structp png, png_infop pinfo, const char *name, png_out *o) {
    int ct = png_get_color_type(png, pinfo), bd = png_get_bit_depth(png, pinfo);
    png_uint_32 w = png_get_image_width(png, pinfo);
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    else if (bd < 8) png_set_expand_gray_1_2_4_to_8(png); /* 1 -> 255, 2-bit 1 -> 85 */
    /* a colour key (tRNS of grey or RGB) becomes an alpha channel, so that
     * its transparent pixels are counted like any other alpha */
    if (ct != PNG_COLOR_TYPE_PALETTE && png_get_valid(png, pinfo, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    o->passes = png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    o->ch = png_get_channels(png, pinfo), o->obd = png_get_bit_depth(png, pinfo);
    o->rowbytes = png_get_rowbytes(png, pinfo);
    size_t expect;
    if (o->ch < 1 || o->ch > 4 || (o->obd != 8 && o->obd != 16) ||
        !nlcl_size_mul4(w, (size_t)o->ch, (size_t)o->obd / 8, 1, &expect) || o->rowbytes != expect)
        return nlcl_error_set(NLCL_ERR_INTERNAL, "%s: unexpected PNG layout after transforms",
                              name);
    return NLCL_OK;
}

/* The rows into img (interlaced: the whole image first, as libpng needs to
 * combine the passes); the buffers in c, freed by the caller. */
static nlcl_status read_rows(png_structp png, png_ctx *c, const png_out *o, png_uint_32 h,
                             nlcl_image *img) {
    const char *name = c->src->name;
    size_t (*put)(nlcl_image *, int, const uint8_t *, int) =
        o->obd == 16 ? nlcl_image_put_row16be : nlcl_image_put_row8;
    if (o->ch == 2 || o->ch == 4) NLCL_TRY(nlcl_img_src_alloc_alpha(c->src, img->width, (int)h));
    float *const alpha = c->src->alpha; /* NULL unless the caller takes the alpha */
    const size_t w = (size_t)img->width;
    if (o->passes > 1) {
        size_t total;
        if (!nlcl_size_mul(o->rowbytes, h, &total)) total = SIZE_MAX;
        c->buf = malloc(total);
        c->rows = malloc((size_t)h * sizeof *c->rows);
        if (!c->buf || !c->rows)
            return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate %zu bytes for PNG rows",
                                  name, total);
        for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->buf + (size_t)y * o->rowbytes;
        png_read_image(png, c->rows);
        for (png_uint_32 y = 0; y < h; y++) {
            c->src->transparent += put(img, (int)y, c->rows[y], o->ch);
            if (alpha) nlcl_image_alpha_row(alpha + (size_t)y * w, c->rows[y], o->ch, o->obd, w);
        }
        return NLCL_OK;
    }
    if (!(c->buf = malloc(o->rowbytes)))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a PNG row", name);
    for (png_uint_32 y = 0; y < h; y++) {
        png_read_row(png, c->buf, NULL);
        c->src->transparent += put(img, (int)y, c->buf, o->ch);
        if (alpha) nlcl_image_alpha_row(alpha + (size_t)y * w, c->buf, o->ch, o->obd, w);
    }
    return NLCL_OK;
}

/* The rows read and dropped (nlcl_image_load_meta: the text chunks after
 * the image data are read by png_read_end only); one row's memory. */
static nlcl_status skip_rows(png_structp png, png_ctx *c, const png_out *o, png_uint_32 h) {
    if (!(c->buf = malloc(o->rowbytes)))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a PNG row", c->src->name);
    for (int p = 0; p < o->passes; p++)
        for (png_uint_32 y = 0; y < h; y++) png_read_row(png, c->buf, NULL);
    return NLCL_OK;
}

nlcl_status nlcl_png_decode(nlcl_img_src *src, nlcl_image *img,
                            nlcl_image_info *info) {
    const char *name = src->name;
    /* The context lives on the heap (the callbacks write it between setjmp and
     * longjmp); locals written after setjmp and read after it are volatile. */
    png_ctx *const c = calloc(1, sizeof *c);
    if (!c) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    c->src = src;
    c->info = info ? info : &c->scratch;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, png_err, png_warn);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    if (!pinfo) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        free(c);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot create PNG decoder", name);
    }
    if (src->meta && !(c->end = png_create_info_struct(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        free(c);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot create PNG decoder", name);
    }
    volatile nlcl_status s = NLCL_OK;
    if (setjmp(png_jmpbuf(png))) {
        s = read_error_status(c, name);
        goto done;
    }
    c->pinfo = pinfo;
    setup_read(png, c);
    png_read_info(png, pinfo);
    describe(png, pinfo, c->info);
    png_uint_32 w = png_get_image_width(png, pinfo), h = png_get_image_height(png, pinfo);
    s = nlcl_image_check_dims(name, w, h);
    if (s == NLCL_OK && c->trns_warn[0]) /* libpng dropped it: the image would lose its transparency */
        s = nlcl_error_set(NLCL_ERR_FORMAT,
                           "%s: PNG: its transparency (tRNS chunk) cannot be read (libpng: %s; PNG allows it "
                           "after the palette and before the image data only): the image would lose it",
                           name, c->trns_warn);
    if (s == NLCL_OK) s = read_metadata(png, pinfo, c);
    if (s != NLCL_OK || (!img && !src->meta)) goto done;
    png_out o;
    s = set_transforms(png, pinfo, name, &o);
    if (s == NLCL_OK && img) s = nlcl_image_alloc_for(name, img, (int)w, (int)h);
    if (s == NLCL_OK) s = img ? read_rows(png, c, &o, h, img) : skip_rows(png, c, &o, h);
    /* Read up to IEND: checks the remaining CRCs and catches truncation;
     * the text chunks after the image data for the metadata */
    if (s == NLCL_OK) {
        c->at_end = 1;
        png_read_end(png, c->end ? c->end : pinfo); /* with NULL, libpng skips every chunk unread */
        s = late_colour_check(c, name);
    }
    if (s == NLCL_OK && c->end) s = read_text(png, c->end, src);
    if (s == NLCL_OK && c->end) s = read_chunks(png, c->end, src);
done:
    png_destroy_read_struct(&png, &pinfo, &c->end);
    free(c->buf);
    free(c->rows);
    free(c);
    if (s != NLCL_OK && img) nlcl_image_free(img);
    return s;
}

/* Row y as interleaved RGB, or RGBA with alpha (the RGB part quantised
 * into rgb, then spread out with the opacity). */
static void encode_row(const nlcl_image *img, const float *alpha, int y, nlcl_quantize q,
                       int bits16, uint8_t *rgb, uint8_t *row) {
    if (!alpha) {
        if (bits16) nlcl_image_get_row16be(img, y, q, row);
        else nlcl_image_get_row8(img, y, q, row);
        return;
    }
    const size_t w = (size_t)img->width, bps = bits16 ? 2 : 1;
    const float *a = alpha + (size_t)y * w;
    if (bits16) nlcl_image_get_row16be(img, y, q, rgb);
    else nlcl_image_get_row8(img, y, q, rgb);
    for (size_t x = 0; x < w; x++) {
        memcpy(row + x * 4 * bps, rgb + x * 3 * bps, 3 * bps);
        unsigned v = nlcl_quant_alpha(a[x], bits16);
        uint8_t *p = row + x * 4 * bps + 3 * bps;
        if (bits16) p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
        else p[0] = (uint8_t)v;
    }
}

/* The metadata as eXIf, iTXt XML:com.adobe.xmp and text chunks, written by
 * png_write_info before the image data; c->text holds the png_text array. */
static void set_meta(png_structp png, png_infop pinfo, const nlcl_image_meta *m, png_ctx *c) {
    if (m->exif) /* the TIFF header on: eXIf has no "Exif\0\0" */
        png_set_eXIf_1(png, pinfo, (png_uint_32)(m->exif_len - 6), (png_bytep)(m->exif + 6));
    static const int comp[4] = {PNG_TEXT_COMPRESSION_NONE, PNG_TEXT_COMPRESSION_zTXt,
                                PNG_ITXT_COMPRESSION_NONE, PNG_ITXT_COMPRESSION_zTXt};
    png_textp t = c->text;
    int n = 0;
    if (m->xmp) { /* uncompressed, as the XMP specification (part 3) asks */
        t[n].compression = PNG_ITXT_COMPRESSION_NONE;
        t[n].key = (png_charp) "XML:com.adobe.xmp";
        t[n].text = m->xmp;
        t[n].itxt_length = m->xmp_len;
        t[n].lang = t[n].lang_key = (png_charp) "";
        n++;
    }
    for (int i = 0; i < m->ntext; i++, n++) {
        const nlcl_image_text *x = &m->text[i];
        t[n].compression = comp[x->kind];
        t[n].key = x->key;
        t[n].text = x->text;
        t[n].text_length = t[n].itxt_length = strlen(x->text);
        t[n].lang = x->lang ? x->lang : (png_charp) "";
        t[n].lang_key = x->lang_key ? x->lang_key : (png_charp) "";
    }
    if (n) png_set_text(png, pinfo, t, n);
    for (int i = 0; i < m->nchunks; i++) { /* safe to copy: libpng writes them unasked */
        png_unknown_chunk *u = &c->unk[i];
        memcpy(u->name, m->chunks[i].name, 5);
        u->data = m->chunks[i].data;
        u->size = m->chunks[i].len;
        u->location = m->chunks[i].after_idat ? PNG_AFTER_IDAT : PNG_HAVE_IHDR;
    }
    if (m->nchunks) png_set_unknown_chunks(png, pinfo, c->unk, m->nchunks);
    static const double per_metre[5] = {0, 1, 1 / 0.0254, 100, 1}; /* as PIL */
    if (m->res_unit > NLCL_RES_NONE && m->res_unit <= NLCL_RES_METRE && m->res_x >= 0.5 && m->res_y >= 0.5 &&
        m->res_x * per_metre[m->res_unit] < 4294967295.0 && m->res_y * per_metre[m->res_unit] < 4294967295.0)
        png_set_pHYs(png, pinfo, (png_uint_32)(m->res_x * per_metre[m->res_unit] + 0.5),
                     (png_uint_32)(m->res_y * per_metre[m->res_unit] + 0.5),
                     m->res_unit == NLCL_RES_ASPECT ? PNG_RESOLUTION_UNKNOWN : PNG_RESOLUTION_METER);
}

/* libpng's output: a short write is a png_error naming the system's reason
 * (libpng's own writer says "Write Error" only). */
static void write_data(png_structp png, png_bytep data, size_t len) {
    png_ctx *c = png_get_io_ptr(png);
    if (fwrite(data, 1, len, c->out) == len) return;
    c->write_errno = errno ? errno : EIO;
    png_error(png, "Write Error");
}

static void flush_data(png_structp png) {
    png_ctx *c = png_get_io_ptr(png);
    if (fflush(c->out) == 0) return;
    c->write_errno = errno ? errno : EIO;
    png_error(png, "Write Error");
}

nlcl_status nlcl_png_encode(nlcl_afile *f, const char *path, const nlcl_image *img,
                            const float *alpha, const nlcl_image_meta *meta,
                            nlcl_quantize q, int bits16) {
    png_ctx *const c = calloc(1, sizeof *c);
    if (!c) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, png_err, png_warn);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    if (!pinfo) {
        if (png) png_destroy_write_struct(&png, NULL);
        free(c);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot create PNG encoder", path);
    }
    uint8_t *volatile row = NULL, *volatile rgb = NULL;
    volatile nlcl_status s = NLCL_OK;
    if (meta && (!(c->text = calloc((size_t)meta->ntext + 1, sizeof *c->text)) ||
                 !(c->unk = calloc((size_t)meta->nchunks + 1, sizeof *c->unk)))) {
        png_destroy_write_struct(&png, &pinfo);
        free(c->text);
        free(c);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        s = c->write_errno ? nlcl_error_set(NLCL_ERR_IO, "%s: PNG: %s: %s", path, c->msg, strerror(c->write_errno))
                           : nlcl_error_set(NLCL_ERR_INTERNAL, "%s: PNG: %s", path, c->msg);
        goto done;
    }
    size_t rowbytes;
    if (!nlcl_size_mul4((size_t)img->width, alpha ? 4 : 3, bits16 ? 2 : 1, 1, &rowbytes) ||
        !(row = malloc(rowbytes)) || (alpha && !(rgb = malloc(rowbytes)))) {
        s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a PNG row", path);
        goto done;
    }
    /* zlib level 4 instead of libpng's 6: on 35 derained photos (the authors'
     * examples, Rain100L 81-100) 41% less encoding time for 0.26% more bytes
     * (2026-12-06). 8-bit images: zlib's run-length strategy (matches at
     * distance 1 only) after libpng's adaptive filters: on 45 derained photos
     * (the authors' examples, Rain100L 81-100 by two models) 62% less
     * encoding time than level 4 and 0.10% fewer bytes; 0.05 s less per
     * 1024x512 PNG (docs/BENCHMARKS.md). 16-bit images keep level 4. */
    png_set_compression_level(png, 4);
    if (!bits16) png_set_compression_strategy(png, Z_RLE);
    c->out = f->fp;
    png_set_write_fn(png, c, write_data, flush_data);
    png_set_IHDR(png, pinfo, (png_uint_32)img->width, (png_uint_32)img->height, bits16 ? 16 : 8,
                 alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (meta) set_meta(png, pinfo, meta, c);
    png_write_info(png, pinfo);
    for (int y = 0; y < img->height; y++) {
        encode_row(img, alpha, y, q, bits16, rgb, row);
        png_write_row(png, row);
    }
    /* libpng 1.6.39's png_write_end writes an eXIf of the info struct again
     * (a second eXIf, which PNG forbids: libpng warns "eXIf: duplicate" on
     * reading): unmark it, the text chunks are marked written by png_write_info */
    png_set_invalid(png, pinfo, PNG_INFO_eXIf);
    png_write_end(png, pinfo); /* the chunks after the image data */
    s = NLCL_OK;
done:
    png_destroy_write_struct(&png, &pinfo);
    free(row);
    free(rgb);
    free(c->text);
    free(c->unk);
    free(c);
    return s;
}
