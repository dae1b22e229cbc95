/* Metadata besides the samples that nlcl carries from an input into the
 * images made from it (include/nlcl/image.h, nlcl_image_meta): what the
 * decoders found (png.c, jpeg.c, tiff.c call the collectors below), made
 * right for the upright image, and what a PNG or JPEG output cannot hold.
 *
 * XMP is rewritten only where nlcl turns the pixels (orientation 2..8): the
 * values of the properties Orientation (-> 1) and PixelXDimension/ImageWidth,
 * PixelYDimension/ImageLength (-> the upright size), in the two forms XMP
 * writers use (attribute name="v", element <name>v</name>, any namespace
 * prefix). Any other mention of those names is not guessed at: the packet
 * is then not carried, and said so (nlcl_image_meta.lost). There is no XMP
 * library among nlcl's dependencies; this is a search for five names, not
 * an XML parser. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "core/internal.h"
#include "image_internal.h"

/* JPEG APP1 XMP and APP13 headers, and the largest payloads after them */
static const char xmp_hdr[] = NLCL_XMP_JPEG_HDR;
static const char ps_hdr[] = NLCL_PS_JPEG_HDR;
#define XMP_JPEG_MAX (65533u - 29u)
#define PS_JPEG_MAX (65533u - 14u)

static void add_item(char *buf, size_t n, int *count, const char *item) {
    size_t k = strlen(buf);
    if (k + 2 + strlen(item) + 4 >= n) {
        if (k + 4 < n && (k < 3 || strcmp(buf + k - 3, "..."))) strcat(buf, "...");
    } else {
        snprintf(buf + k, n - k, "%s%s", k ? "; " : "", item);
    }
    (*count)++;
}

void nlcl_meta_lost(nlcl_image_meta *m, const char *fmt, ...) {
    char item[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    if (strstr(m->lost, item)) return; /* each kind once */
    int count = 0;
    add_item(m->lost, sizeof m->lost, &count, item);
}

static char *dup_bytes(const void *p, size_t n) {
    char *d = malloc(n + 1);
    if (d) memcpy(d, p, n), d[n] = '\0';
    return d;
}

nlcl_status nlcl_meta_add_text(nlcl_img_src *src, const char *key, const char *text, size_t len,
                               const char *lang, const char *lang_key, nlcl_text_kind kind) {
    nlcl_image_meta *m = src->meta;
    nlcl_image_text *t = realloc(m->text, ((size_t)m->ntext + 1) * sizeof *t);
    if (!t) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    m->text = t;
    t += m->ntext;
    t->key = dup_bytes(key, strlen(key));
    t->text = dup_bytes(text, len);
    t->lang = dup_bytes(lang ? lang : "", lang ? strlen(lang) : 0);
    t->lang_key = dup_bytes(lang_key ? lang_key : "", lang_key ? strlen(lang_key) : 0);
    t->kind = kind;
    m->ntext++;
    if (!t->key || !t->text || !t->lang || !t->lang_key)
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    return NLCL_OK;
}

nlcl_status nlcl_meta_keep_xmp(nlcl_img_src *src, const void *xmp, size_t len) {
    nlcl_image_meta *m = src->meta;
    if (!len) return NLCL_OK; /* an empty packet: nothing to carry (and the savers refuse one) */
    if (m->xmp) {
        nlcl_meta_lost(m, "a second XMP packet");
        return NLCL_OK;
    }
    if (!(m->xmp = dup_bytes(xmp, len))) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    m->xmp_len = len;
    return NLCL_OK;
}

/* ---- PNG chunks ---------------------------------------------------------------------------- */

/* What the unsafe-to-copy chunks hold, for the warning. */
static const char *const unsafe_chunks[][2] = {
    {"bKGD", "a background colour (bKGD)"},
    {"sPLT", "a suggested palette (sPLT)"},
    {"hIST", "a palette histogram (hIST)"},
    {"sBIT", "the significant bits (sBIT)"},
    {"pCAL", "a pixel value calibration (pCAL)"},
    {"sTER", "a stereo layout (sTER)"},
    {"sCAL", "the physical size of a pixel (sCAL)"},
    {"dSIG", "a digital signature (dSIG), void for changed pixels"},
};

nlcl_status nlcl_meta_png_chunk(nlcl_img_src *src, const char *name, const uint8_t *data, size_t len,
                                int after_idat) {
    nlcl_image_meta *m = src->meta;
    if (name[2] & 0x20) { /* the reserved bit: no valid PNG has it */
        nlcl_meta_lost(m, "PNG chunk %.4s (an invalid type: its third letter is lower case)", name);
        return NLCL_OK;
    }
    /* tIME says when the input's pixels last changed: the output is a new image, so it has no
     * place there, and naming it would warn about most PNGs (269 of the 321 in ../shared/data
     * carry one). Not carried and not named (docs/RELIABILITY.md). */
    if (!memcmp(name, "tIME", 4)) return NLCL_OK;
    if (!(name[3] & 0x20)) { /* unsafe to copy: it describes the pixels as they were */
        for (size_t i = 0; i < sizeof unsafe_chunks / sizeof *unsafe_chunks; i++)
            if (!memcmp(name, unsafe_chunks[i][0], 4)) {
                nlcl_meta_lost(m, "%s", unsafe_chunks[i][1]);
                return NLCL_OK;
            }
        nlcl_meta_lost(m, "PNG chunk %.4s (unsafe to copy into changed pixels)", name);
        return NLCL_OK;
    }
    nlcl_png_chunk *c = realloc(m->chunks, ((size_t)m->nchunks + 1) * sizeof *c);
    if (!c) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    m->chunks = c;
    c += m->nchunks;
    memcpy(c->name, name, 4);
    c->name[4] = '\0';
    c->len = len;
    c->after_idat = after_idat;
    c->data = len ? malloc(len) : NULL;
    if (len && !c->data) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    if (len) memcpy(c->data, data, len);
    m->nchunks++;
    return NLCL_OK;
}

/* oFFs (the image's position on a page) describes the image as stored:
 * for one turned upright, named in lost instead of carried. */
static void drop_geometry_chunks(nlcl_image_meta *m) {
    int k = 0;
    for (int i = 0; i < m->nchunks; i++) {
        if (strcmp(m->chunks[i].name, "oFFs")) {
            m->chunks[k++] = m->chunks[i];
            continue;
        }
        nlcl_meta_lost(m, "oFFs (the position on a page of the image as stored; nlcl turned it upright)");
        free(m->chunks[i].data);
    }
    m->nchunks = k;
}

/* ---- JPEG markers ------------------------------------------------------------------------ */

static int is_utf8_non_ascii(const uint8_t *p, size_t n) {
    int high = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                          : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!k || (k == 2 && c < 0xC2) || i + k > n) return 0;
        for (unsigned j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) return 0;
        high |= k > 1;
        i += k;
    }
    return high;
}

/* A COM marker as a "Comment" text (its bytes unchanged). */
static nlcl_status jpeg_comment(nlcl_img_src *src, const uint8_t *p, size_t n) {
    if (memchr(p, 0, n)) {
        nlcl_meta_lost(src->meta, "a JPEG comment holding NUL bytes");
        return NLCL_OK;
    }
    return nlcl_meta_add_text(src, "Comment", (const char *)p, n, NULL, NULL,
                              is_utf8_non_ascii(p, n) ? NLCL_TEXT_UTF8 : NLCL_TEXT_PLAIN);
}

static nlcl_status jpeg_app13(nlcl_img_src *src, const uint8_t *p, size_t n) {
    nlcl_image_meta *m = src->meta;
    if (n < sizeof ps_hdr || memcmp(p, ps_hdr, sizeof ps_hdr)) {
        nlcl_meta_lost(m, "APP13 data");
        return NLCL_OK;
    }
    p += sizeof ps_hdr, n -= sizeof ps_hdr;
    uint8_t *d = realloc(m->iptc, m->iptc_len + n + 1);
    if (!d) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", src->name);
    memcpy(d + m->iptc_len, p, n);
    m->iptc = d;
    m->iptc_len += n;
    return NLCL_OK;
}

nlcl_status nlcl_meta_jpeg_marker(nlcl_img_src *src, int marker, const uint8_t *p, size_t n) {
    nlcl_image_meta *m = src->meta;
#define IS(s) (n >= sizeof s && !memcmp(p, s, sizeof s)) /* with its NUL */
    switch (marker) {
    case 0xFE: return jpeg_comment(src, p, n);
    case 0xED: return jpeg_app13(src, p, n);
    case 0xE0:
        if (!IS("JFIF") && !IS("JFXX")) nlcl_meta_lost(m, "APP0 data");
        return NLCL_OK; /* JFIF: the output has its own; JFXX: a thumbnail */
    case 0xE1:
        if (IS(xmp_hdr)) return nlcl_meta_keep_xmp(src, p + sizeof xmp_hdr, n - sizeof xmp_hdr);
        if (IS("http://ns.adobe.com/xmp/extension/")) nlcl_meta_lost(m, "extended XMP (the part over 64 KB)");
        else if (n >= 6 && !memcmp(p, "Exif\0\0", 6)) nlcl_meta_lost(m, "a second EXIF block");
        else nlcl_meta_lost(m, "APP1 data");
        return NLCL_OK;
    case 0xE2:
        if (IS("MPF")) nlcl_meta_lost(m, "MPF images (previews, depth maps)");
        else if (IS("FPXR")) nlcl_meta_lost(m, "FlashPix data (APP2)");
        else if (!IS("ICC_PROFILE")) nlcl_meta_lost(m, "APP2 data");
        return NLCL_OK;
    case 0xEE:
        if (n < 5 || memcmp(p, "Adobe", 5)) nlcl_meta_lost(m, "APP14 data");
        return NLCL_OK; /* Adobe: the colour transform, applied */
    default:
        nlcl_meta_lost(m, "APP%d data", marker - 0xE0);
        return NLCL_OK;
    }
#undef IS
}

/* ---- TIFF tags --------------------------------------------------------------------------- */

/* The camera and description tags of a TIFF, which EXIF's IFD 0 holds too. */
static const uint16_t tiff_ascii_tags[] = {
    TIFFTAG_IMAGEDESCRIPTION, TIFFTAG_MAKE,   TIFFTAG_MODEL,        TIFFTAG_SOFTWARE, TIFFTAG_DATETIME,
    TIFFTAG_ARTIST,           TIFFTAG_HOSTCOMPUTER, TIFFTAG_DOCUMENTNAME, TIFFTAG_COPYRIGHT};
#define N_TIFF_ASCII (sizeof tiff_ascii_tags / sizeof tiff_ascii_tags[0])

nlcl_status nlcl_tiff_meta(void *tiff, nlcl_img_src *src) {
    TIFF *tif = tiff;
    nlcl_image_meta *m = src->meta;
    const char *vals[N_TIFF_ASCII];
    uint16_t tags[N_TIFF_ASCII];
    int n = 0;
    for (size_t i = 0; i < N_TIFF_ASCII; i++) {
        const char *v = NULL;
        if (TIFFGetField(tif, tiff_ascii_tags[i], &v) && v) tags[n] = tiff_ascii_tags[i], vals[n++] = v;
    }
    if (n && !src->exif) {
        nlcl_status s = nlcl_exif_from_ascii(src->name, tags, vals, n, &m->exif, &m->exif_len);
        if (s == NLCL_ERR_NOMEM) return s;
        if (s != NLCL_OK) nlcl_meta_lost(m, "the TIFF's camera tags (%s)", nlcl_error_message());
    }
    float rx = 0, ry = 0;
    uint16_t unit = RESUNIT_INCH;
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &rx) && TIFFGetField(tif, TIFFTAG_YRESOLUTION, &ry) && rx > 0 &&
        ry > 0 && rx < 1e9f && ry < 1e9f) {
        m->res_unit = unit == RESUNIT_CENTIMETER ? NLCL_RES_CM : unit == RESUNIT_NONE ? NLCL_RES_ASPECT : NLCL_RES_INCH;
        m->res_x = rx, m->res_y = ry;
    }
    uint32_t len = 0;
    void *data = NULL;
    if (TIFFGetField(tif, TIFFTAG_XMLPACKET, &len, &data) && data && len)
        NLCL_TRY(nlcl_meta_keep_xmp(src, data, len));
    uint64_t off = 0;
    if (TIFFGetField(tif, TIFFTAG_EXIFIFD, &off)) nlcl_meta_lost(m, "the TIFF's EXIF IFD (exposure, lens, dates)");
    if (TIFFGetField(tif, TIFFTAG_GPSIFD, &off)) nlcl_meta_lost(m, "the TIFF's GPS IFD");
    if (TIFFGetField(tif, TIFFTAG_RICHTIFFIPTC, &len, &data)) nlcl_meta_lost(m, "the TIFF's IPTC (tag 33723)");
    if (TIFFGetField(tif, TIFFTAG_PHOTOSHOP, &len, &data))
        nlcl_meta_lost(m, "the TIFF's Photoshop resources (tag 34377)");
    return NLCL_OK;
}

/* ---- made right for the upright image ------------------------------------------------------ */

static int name_char(unsigned char c) { return isalnum(c) || c == '_' || c == '-' || c == '.' || c >= 0x80; }
static size_t skip_ws(const char *s, size_t i, size_t n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    return i;
}

/* The digits of the value of the property whose name ends at s[j) and
 * starts at s[i) (after its prefix), as [*v0, *v1): 1; an end tag (nothing
 * to rewrite): 0; any other form: -1. */
static int xmp_value(const char *s, size_t n, size_t i, size_t j, size_t *v0, size_t *v1) {
    size_t k = i;
    if (k && s[k - 1] == ':')
        for (k--; k && name_char((unsigned char)s[k - 1]);) k--;
    char before = k ? s[k - 1] : ' ';
    if (before == '/' && k >= 2 && s[k - 2] == '<') return 0;
    size_t p;
    char close;
    if (before == '<') { /* <tiff:Orientation>6</tiff:Orientation> */
        if (j >= n || s[j] != '>') return -1;
        p = skip_ws(s, j + 1, n);
        close = '<';
    } else if (before == ' ' || before == '\t' || before == '\r' || before == '\n') {
        p = skip_ws(s, j, n); /* tiff:Orientation="6" */
        if (p >= n || s[p] != '=') return -1;
        p = skip_ws(s, p + 1, n);
        if (p >= n || (s[p] != '"' && s[p] != '\'')) return -1;
        close = s[p++];
    } else {
        return -1;
    }
    *v0 = p;
    while (p < n && isdigit((unsigned char)s[p])) p++;
    *v1 = p;
    if (close == '<') p = skip_ws(s, p, n);
    return *v1 > *v0 && p < n && s[p] == close ? 1 : -1;
}

/* The XMP with the values named at the top rewritten; 0, or -1 (the
 * property named in *why) when a mention cannot be rewritten. */
static int xmp_upright(nlcl_image_meta *m, int width, int height, const char **why) {
    static const char *const names[5] = {"Orientation", "PixelXDimension", "ImageWidth", "PixelYDimension",
                                         "ImageLength"};
    const char *s = m->xmp;
    const size_t n = m->xmp_len;
    char *out = malloc(n + 64 * 16 + 1); /* values grow by at most 10 digits; see the cap below */
    if (!out) return -2;
    size_t o = 0, last = 0, edits = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 5; k++) {
            size_t len = strlen(names[k]), j = i + len, v0, v1;
            if (j > n || memcmp(s + i, names[k], len) || (j < n && name_char((unsigned char)s[j])) ||
                (i && name_char((unsigned char)s[i - 1]) && s[i - 1] != ':'))
                continue;
            int r = xmp_value(s, n, i, j, &v0, &v1);
            if (r < 0 || edits >= 64) return free(out), *why = names[k], -1;
            if (r == 0) continue;
            memcpy(out + o, s + last, v0 - last), o += v0 - last;
            o += (size_t)sprintf(out + o, "%d", k == 0 ? 1 : k <= 2 ? width : height);
            last = v1;
            edits++;
        }
    memcpy(out + o, s + last, n - last), o += n - last;
    out[o] = '\0';
    free(m->xmp);
    m->xmp = out;
    m->xmp_len = o;
    return 0;
}

/* The Photoshop resources without the thumbnails (0x0409, 0x040C): -1 if
 * they are not a sequence of well-formed resources. */
static int ps_drop_thumbnails(nlcl_image_meta *m) {
    uint8_t *p = m->iptc;
    size_t n = m->iptc_len, i = 0, o = 0;
    while (i < n) {
        if (n - i < 12) return -1;
        for (int k = 0; k < 4; k++) /* the signature: "8BIM" (or "MeSa", "PHUT", ...) */
            if (!isalnum(p[i + (size_t)k])) return -1;
        unsigned id = (unsigned)p[i + 4] << 8 | p[i + 5];
        size_t name = 1 + (size_t)p[i + 6];
        name += name & 1;
        if (n - i < 6 + name + 4) return -1;
        const uint8_t *q = p + i + 6 + name;
        size_t size = (size_t)q[0] << 24 | (size_t)q[1] << 16 | (size_t)q[2] << 8 | q[3];
        size_t total = 6 + name + 4 + size + (size & 1);
        if (size > n - i - (6 + name + 4)) return -1;
        if (total > n - i) total = n - i; /* a last odd block without its pad byte */
        if (id != 0x0409 && id != 0x040C) memmove(p + o, p + i, total), o += total;
        i += total;
    }
    m->iptc_len = o;
    return 0;
}

nlcl_status nlcl_meta_finish(const char *name, nlcl_image_meta *m, int orientation, int width, int height) {
    const char *why = NULL;
    int r = m->xmp && orientation >= 2 && orientation <= 8 ? xmp_upright(m, width, height, &why) : 0;
    if (r == -2) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    if (r < 0) {
        nlcl_meta_lost(m, "XMP (its %s could not be rewritten for the upright image)", why);
        free(m->xmp);
        m->xmp = NULL, m->xmp_len = 0;
    }
    if (m->iptc && ps_drop_thumbnails(m) < 0) {
        nlcl_meta_lost(m, "Photoshop/IPTC resources (APP13, malformed)");
        free(m->iptc);
        m->iptc = NULL, m->iptc_len = 0;
    }
    if (m->iptc && !m->iptc_len) free(m->iptc), m->iptc = NULL;
    if (orientation >= 2 && orientation <= 8) drop_geometry_chunks(m);
    return NLCL_OK;
}

/* ---- public -------------------------------------------------------------------------------- */

void nlcl_image_meta_free(nlcl_image_meta *m) {
    if (!m) return;
    for (int i = 0; i < m->ntext; i++) {
        free(m->text[i].key);
        free(m->text[i].text);
        free(m->text[i].lang);
        free(m->text[i].lang_key);
    }
    free(m->text);
    for (int i = 0; i < m->nchunks; i++) free(m->chunks[i].data);
    free(m->chunks);
    free(m->exif);
    free(m->xmp);
    free(m->iptc);
    memset(m, 0, sizeof *m);
}

int nlcl_image_meta_unwritable(const nlcl_image_meta *m, nlcl_image_format fmt, char *buf, size_t n) {
    int count = 0;
    if (buf && n) buf[0] = '\0';
    if (!m || !buf || n < 8) return 0;
    char item[200];
    if (fmt == NLCL_IMAGE_PNG) {
        if (m->iptc) add_item(buf, n, &count, "Photoshop/IPTC resources (PNG has no place for them; write JPEG)");
        return count;
    }
    if (m->xmp && m->xmp_len > XMP_JPEG_MAX) add_item(buf, n, &count, "XMP over 64 KB (a JPEG marker's limit)");
    if (m->iptc && m->iptc_len > PS_JPEG_MAX) add_item(buf, n, &count, "Photoshop/IPTC resources over 64 KB");
    size_t k = 0;
    item[0] = '\0';
    for (int i = 0; i < m->ntext; i++) {
        int comment = !strcmp(m->text[i].key, "Comment");
        if (comment && strlen(m->text[i].text) <= 65533) continue;
        if (k + strlen(m->text[i].key) + 40 < sizeof item)
            k += (size_t)snprintf(item + k, sizeof item - k, "%s\"%s\"", k ? ", " : "", m->text[i].key);
    }
    if (k) {
        char whole[260];
        snprintf(whole, sizeof whole, "PNG text %s (JPEG has a place for comments only; write PNG)", item);
        add_item(buf, n, &count, whole);
    }
    k = 0;
    item[0] = '\0';
    for (int i = 0; i < m->nchunks && k + 8 < sizeof item; i++)
        if (!strstr(item, m->chunks[i].name)) /* each type once */
            k += (size_t)snprintf(item + k, sizeof item - k, "%s%.4s", k ? ", " : "", m->chunks[i].name);
    if (k) {
        char whole[260];
        snprintf(whole, sizeof whole, "PNG chunks %s (JPEG has no place for them; write PNG)", item);
        add_item(buf, n, &count, whole);
    }
    return count;
}

/* A chunk nlcl may write from meta->chunks: a safe-to-copy ancillary type
 * (4 letters: lower, any, upper, lower case) that nlcl does not write itself. */
static int writable_chunk(const nlcl_png_chunk *c) {
    const char *n = c->name;
    for (int i = 0; i < 4; i++)
        if (!isalpha((unsigned char)n[i]) || (unsigned char)n[i] >= 0x80) return 0;
    if (n[4] || !islower((unsigned char)n[0]) || !isupper((unsigned char)n[2]) || !islower((unsigned char)n[3]))
        return 0;
    static const char *const own[] = {"tEXt", "zTXt", "iTXt", "eXIf", "pHYs"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (!strcmp(n, own[i])) return 0;
    return (c->data || !c->len) && c->len <= 0x7FFFFFFFu;
}

nlcl_status nlcl_meta_check(const char *path, const nlcl_image_meta *m) {
    if (!m) return NLCL_OK;
    for (int i = 0; i < m->ntext; i++) {
        size_t k = m->text[i].key ? strlen(m->text[i].key) : 0;
        if (!k || k > 79 || !m->text[i].text || (unsigned)m->text[i].kind > NLCL_TEXT_UTF8_ZIP)
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: text %d: a key of 1 to 79 characters, a text and a kind are needed",
                                  path, i + 1);
    }
    if ((unsigned)m->res_unit > NLCL_RES_METRE)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: unknown resolution unit %d", path, (int)m->res_unit);
    if ((m->xmp && !m->xmp_len) || (m->iptc && !m->iptc_len))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: empty XMP or Photoshop resources", path);
    if (m->nchunks < 0 || (m->nchunks && !m->chunks))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: %d PNG chunks without an array", path, m->nchunks);
    for (int i = 0; i < m->nchunks; i++)
        if (!writable_chunk(&m->chunks[i]))
            return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                  "%s: PNG chunk %d: a safe-to-copy ancillary type other than tEXt, zTXt, "
                                  "iTXt, eXIf, pHYs, and its data, are needed",
                                  path, i + 1);
    return NLCL_OK;
}
