/* EXIF with libexif (src/io/image_internal.h): the Orientation tag, whether
 * the block says Adobe RGB (ColorSpace + InteroperabilityIndex), and the
 * block rewritten for an upright sRGB copy of the image (derain's outputs).
 *
 * Only IFD 0 counts (IFD 1 describes the thumbnail). A tag that is missing,
 * not a SHORT, or outside 1..8 gives 0: the pixels are used as stored, as
 * PIL's ImageOps.exif_transpose and browsers do. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>
#include <libexif/exif-log.h>

#include "image_internal.h"

/* libexif truncates longer blocks to this; IFD 0 is at the start anyway. */
#define EXIF_MAX_BYTES 0xfff0u

/* The block parsed as written (no "fixing" of the entries, no maker notes),
 * or NULL; tiff_header: data starts at the TIFF header (a PNG eXIf chunk). */
static ExifData *load_block(const uint8_t *data, size_t len, int tiff_header) {
    static const uint8_t hdr[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (!data) return NULL;
    uint8_t *copy = NULL;
    if (tiff_header) { /* libexif wants the "Exif\0\0" of a JPEG APP1 payload first */
        if (len > EXIF_MAX_BYTES) len = EXIF_MAX_BYTES;
        copy = malloc(len + sizeof hdr);
        if (!copy) return NULL;
        memcpy(copy, hdr, sizeof hdr);
        memcpy(copy + sizeof hdr, data, len);
        data = copy;
        len += sizeof hdr;
    }
    ExifData *ed = len > sizeof hdr && memcmp(data, hdr, sizeof hdr) == 0 ? exif_data_new() : NULL;
    if (ed) {
        exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
        exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
        exif_data_load_data(ed, data, (unsigned int)(len > EXIF_MAX_BYTES ? EXIF_MAX_BYTES : len));
    }
    free(copy);
    return ed;
}

/* The SHORT value of the entry, or -1. */
static int get_short(ExifData *ed, ExifIfd ifd, ExifTag tag) {
    ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], tag);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2)
        return exif_get_short(e->data, exif_data_get_byte_order(ed));
    return -1;
}

/* 1 if the entry is ASCII starting with the 3 characters of s. */
static int ascii_is(ExifEntry *e, const char *s) {
    return e && e->format == EXIF_FORMAT_ASCII && e->data && e->size >= 3 && !memcmp(e->data, s, 3);
}

int nlcl_exif_orientation(const uint8_t *data, size_t len, int tiff_header, int *adobe_rgb) {
    ExifData *ed = load_block(data, len, tiff_header);
    int v = ed ? get_short(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION) : 0;
    if (adobe_rgb)
        *adobe_rgb = ed && get_short(ed, EXIF_IFD_EXIF, EXIF_TAG_COLOR_SPACE) == 0xFFFF &&
                     ascii_is(exif_content_get_entry(ed->ifd[EXIF_IFD_INTEROPERABILITY],
                                                     EXIF_TAG_INTEROPERABILITY_INDEX), "R03");
    if (ed) exif_data_unref(ed);
    return v >= 1 && v <= 8 ? v : 0;
}

/* ---- the EXIF block carried to an upright copy ----------------------------------------- */

/* libexif reports what it could not read through its log (it has no status). */
typedef struct exif_log_ctx {
    int bad;
    char why[160];
} exif_log_ctx;

static void exif_log_cb(ExifLog *log, ExifLogCode code, const char *domain, const char *format,
                        va_list args, void *data) {
    (void)log;
    (void)domain;
    exif_log_ctx *c = data;
    if (code != EXIF_LOG_CODE_CORRUPT_DATA && code != EXIF_LOG_CODE_NO_MEMORY) return;
    if (!c->bad) vsnprintf(c->why, sizeof c->why, format, args);
    c->bad = 1;
}

/* Set a SHORT or LONG entry of `ifd` to v; an entry of another form is removed. */
static void set_uint(ExifData *ed, ExifIfd ifd, ExifTag tag, unsigned v) {
    ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], tag);
    if (!e) return;
    ExifByteOrder o = exif_data_get_byte_order(ed);
    if (e->format == EXIF_FORMAT_SHORT && e->components == 1 && e->data && e->size >= 2 && v <= 0xffffu)
        exif_set_short(e->data, o, (ExifShort)v);
    else if (e->format == EXIF_FORMAT_LONG && e->components == 1 && e->data && e->size >= 4)
        exif_set_long(e->data, o, (ExifLong)v);
    else
        exif_content_remove_entry(ed->ifd[ifd], e);
}

/* Orientation 1, the upright pixel size, ColorSpace 1 (sRGB) and an
 * InteroperabilityIndex "R03" (Adobe RGB) made "R98" (sRGB), no thumbnail
 * (IFD 1), then saved. */
static nlcl_status rewrite(ExifData *ed, const char *name, int width, int height, uint8_t **out,
                           size_t *out_len) {
    set_uint(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION, 1);
    set_uint(ed, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, (unsigned)width);
    set_uint(ed, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, (unsigned)height);
    /* the pixels are sRGB (colour.c converted them): not "uncalibrated" + "R03" (Adobe RGB) */
    set_uint(ed, EXIF_IFD_EXIF, EXIF_TAG_COLOR_SPACE, 1);
    ExifEntry *ii = exif_content_get_entry(ed->ifd[EXIF_IFD_INTEROPERABILITY], EXIF_TAG_INTEROPERABILITY_INDEX);
    if (ascii_is(ii, "R03")) memcpy(ii->data, "R98", 3);
    ExifContent *ifd1 = ed->ifd[EXIF_IFD_1];
    while (ifd1->count) exif_content_remove_entry(ifd1, ifd1->entries[0]);
    free(ed->data); /* the thumbnail; libexif's default allocator is calloc/free */
    ed->data = NULL;
    ed->size = 0;
    unsigned char *buf = NULL;
    unsigned int n = 0;
    exif_data_save_data(ed, &buf, &n);
    if (!buf || n < 14)
        return free(buf), nlcl_error_set(NLCL_ERR_FORMAT, "%s: libexif could not rewrite the EXIF block", name);
    if (n > NLCL_EXIF_MAX_BYTES) {
        free(buf);
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: rewritten EXIF block of %u bytes is larger than a JPEG APP1 marker holds (%u)",
                              name, n, (unsigned)NLCL_EXIF_MAX_BYTES);
    }
    *out = buf;
    *out_len = n;
    return NLCL_OK;
}

nlcl_status nlcl_exif_upright(const char *name, const uint8_t *tiff, size_t len, int width,
                              int height, uint8_t **out, size_t *out_len) {
    static const uint8_t hdr[6] = {'E', 'x', 'i', 'f', 0, 0};
    *out = NULL;
    *out_len = 0;
    if (len + sizeof hdr > NLCL_EXIF_MAX_BYTES)
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: EXIF block of %zu bytes is larger than a JPEG APP1 marker holds (%u)",
                              name, len, (unsigned)NLCL_EXIF_MAX_BYTES);
    uint8_t *copy = malloc(len + sizeof hdr);
    ExifData *ed = exif_data_new();
    ExifLog *log = exif_log_new();
    nlcl_status s = NLCL_OK;
    if (!copy || !ed || !log) {
        s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    memcpy(copy, hdr, sizeof hdr);
    memcpy(copy + sizeof hdr, tiff, len);
    exif_log_ctx lc = {0};
    exif_log_set_func(log, exif_log_cb, &lc);
    exif_data_log(ed, log);
    /* as written: no "fixing", unknown tags and the maker note kept */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
    exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
    exif_data_load_data(ed, copy, (unsigned int)(len + sizeof hdr));
    if (lc.bad || !ed->ifd[EXIF_IFD_0]->count)
        s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: corrupt EXIF block: %s", name,
                           lc.bad ? lc.why : "no readable entry in IFD 0");
    else
        s = rewrite(ed, name, width, height, out, out_len);
done:
    if (ed) exif_data_unref(ed);
    if (log) exif_log_unref(log);
    free(copy);
    return s;
}

nlcl_status nlcl_img_src_keep_exif(nlcl_img_src *src, const uint8_t *tiff, size_t len) {
    if (!src->want_exif || src->exif || !tiff || !len) return NLCL_OK;
    if (!(src->exif = malloc(len))) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    memcpy(src->exif, tiff, len);
    src->exif_len = len;
    return NLCL_OK;
}

nlcl_status nlcl_exif_from_ascii(const char *name, const uint16_t *tags, const char *const *vals, int n,
                                 uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    ExifData *ed = exif_data_new();
    if (!ed) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    nlcl_status s = NLCL_OK;
    for (int i = 0; i < n && s == NLCL_OK; i++) {
        size_t len = strlen(vals[i]) + 1; /* ASCII: with its NUL */
        ExifEntry *e = exif_entry_new();
        if (!e || len > NLCL_EXIF_MAX_BYTES || !(e->data = malloc(len))) {
            s = len > NLCL_EXIF_MAX_BYTES ? nlcl_error_set(NLCL_ERR_LIMIT, "%s: tag %u of %zu bytes", name, tags[i], len)
                                          : nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
            if (e) exif_entry_unref(e);
            break;
        }
        memcpy(e->data, vals[i], len);
        e->tag = (ExifTag)tags[i];
        e->format = EXIF_FORMAT_ASCII;
        e->components = len;
        e->size = (unsigned int)len;
        exif_content_add_entry(ed->ifd[EXIF_IFD_0], e); /* the IFD holds a reference */
        exif_entry_unref(e);
    }
    unsigned char *buf = NULL;
    unsigned int blen = 0;
    if (s == NLCL_OK) exif_data_save_data(ed, &buf, &blen);
    if (s == NLCL_OK && (!buf || blen < 14))
        s = nlcl_error_set(NLCL_ERR_FORMAT, "%s: libexif could not write the EXIF block", name);
    else if (s == NLCL_OK && blen > NLCL_EXIF_MAX_BYTES)
        s = nlcl_error_set(NLCL_ERR_LIMIT, "%s: EXIF block of %u bytes is larger than a JPEG APP1 marker holds", name, blen);
    if (s == NLCL_OK) *out = buf, *out_len = blen;
    else free(buf);
    exif_data_unref(ed);
    return s;
}
