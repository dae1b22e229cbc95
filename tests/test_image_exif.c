/* The metadata API of include/nlcl/image.h (issue 12 point 10): EXIF
 * (nlcl_image_load_exif, nlcl_image_save_png_exif/_jpeg_exif) and the rest
 * (nlcl_image_load_meta, nlcl_image_save_png_meta/_jpeg_meta,
 * nlcl_image_meta_unwritable). tests/cli/exif.sh and metadata.sh check the
 * same through nlcl derain, with PIL writing the inputs.
 *
 * Oracles: EXIF blocks written here byte by byte (EXIF 2.3: IFD 0, the EXIF
 * IFD, IFD 1 with a thumbnail), read back with libexif; the files' chunks
 * and markers found in their bytes. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libexif/exif-data.h>
#include <zlib.h>

#include "harness.h"

/* ---- an EXIF block built by hand ----------------------------------------------------------- */

typedef struct wbuf {
    uint8_t b[512];
    int big;
} wbuf;

static void put16(wbuf *w, size_t at, unsigned v) {
    w->b[at + (w->big ? 0 : 1)] = (uint8_t)(v >> 8);
    w->b[at + (w->big ? 1 : 0)] = (uint8_t)v;
}
static void put32(wbuf *w, size_t at, uint32_t v) {
    for (int k = 0; k < 4; k++) w->b[at + (size_t)(w->big ? 3 - k : k)] = (uint8_t)(v >> (8 * k));
}
/* IFD entry i of the IFD at `ifd`: tag, type, count, value (or offset) */
static void entry(wbuf *w, size_t ifd, int i, unsigned tag, unsigned type, uint32_t count, uint32_t v) {
    size_t e = ifd + 2 + 12 * (size_t)i;
    put16(w, e, tag);
    put16(w, e + 2, type);
    put32(w, e + 4, count);
    if (type == 3 && count == 1) put16(w, e + 8, v), put16(w, e + 10, 0);
    else put32(w, e + 8, v);
}

/* "Exif\0\0", then the TIFF header; IFD 0: Make "Cam", Orientation o, the
 * EXIF IFD pointer; EXIF IFD: DateTimeOriginal, PixelXDimension 32 (SHORT),
 * PixelYDimension 24 (LONG); IFD 1: a 16-byte "thumbnail". Returns the size. */
static size_t make_exif(wbuf *w, int big, int o) {
    memset(w, 0, sizeof *w);
    w->big = big;
    memcpy(w->b, "Exif\0\0", 6);
    wbuf t = {{0}, big}; /* offsets count from the TIFF header */
    memcpy(t.b, big ? "MM\0*" : "II*\0", 4);
    put32(&t, 4, 8);
    put16(&t, 8, 3); /* IFD 0 at 8, 42 bytes */
    entry(&t, 8, 0, 0x010F, 2, 4, 0);
    memcpy(t.b + 8 + 2 + 8, "Cam", 4);
    entry(&t, 8, 1, 0x0112, 3, 1, (uint32_t)o);
    entry(&t, 8, 2, 0x8769, 4, 1, 50);
    put32(&t, 8 + 2 + 36, 112); /* next: IFD 1 */
    put16(&t, 50, 3); /* EXIF IFD at 50, 42 bytes; its date at 92 */
    entry(&t, 50, 0, 0x9003, 2, 20, 92);
    entry(&t, 50, 1, 0xA002, 3, 1, 32);
    entry(&t, 50, 2, 0xA003, 4, 1, 24);
    memcpy(t.b + 92, "2026:12:06 10:11:12", 20);
    put16(&t, 112, 2); /* IFD 1 at 112, 30 bytes; the thumbnail at 142 */
    entry(&t, 112, 0, 0x0201, 4, 1, 142);
    entry(&t, 112, 1, 0x0202, 4, 1, 16);
    memcpy(t.b + 142, "\xFF\xD8thumbnail!!\xFF\xD9", 16);
    memcpy(w->b + 6, t.b, 158);
    return 6 + 158;
}

/* A 32x24 image, its top left 8x8 bright. */
static void make_image(nlcl_image *img) {
    CHECK_OK(nlcl_image_alloc(img, 24, 32));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 32; x++)
                img->data[((size_t)c * 24 + y) * 32 + x] = x < 8 && y < 8 ? 0.9f : -0.6f;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* The PNG chunk `type` of the file (its first), or NULL; *n its length. */
static const uint8_t *png_chunk(const uint8_t *d, size_t len, const char *type, size_t *n) {
    for (size_t i = 8; i + 12 <= len;) {
        uint32_t k = get32(d + i);
        if (!memcmp(d + i + 4, type, 4)) return *n = k, d + i + 8;
        i += 12 + (size_t)k;
    }
    return NULL;
}

/* How many chunks of the file are of type `type`. */
static int png_chunk_count(const uint8_t *d, size_t len, const char *type) {
    int c = 0;
    for (size_t i = 8; i + 12 <= len; i += 12 + (size_t)get32(d + i)) c += !memcmp(d + i + 4, type, 4);
    return c;
}

/* Each chunk type of the file that PNG allows once (all but IDAT, sPLT and
 * the text chunks, PNG 5.6) appears once at most. */
static int png_chunks_once(const uint8_t *d, size_t len) {
    for (size_t i = 8; i + 12 <= len; i += 12 + (size_t)get32(d + i)) {
        const char *t = (const char *)d + i + 4;
        if (memcmp(t, "IDAT", 4) && memcmp(t, "sPLT", 4) && memcmp(t, "tEXt", 4) && memcmp(t, "zTXt", 4) &&
            memcmp(t, "iTXt", 4) && png_chunk_count(d, len, (char[5]){t[0], t[1], t[2], t[3], 0}) > 1)
            return 0;
    }
    return 1;
}

/* The entry's value as libexif shows it ("" when missing). */
static const char *entry_value(ExifData *ed, ExifIfd ifd, ExifTag tag, char *buf, size_t n) {
    ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], tag);
    buf[0] = '\0';
    if (e) exif_entry_get_value(e, buf, (unsigned int)n);
    return buf;
}

/* The block as nlcl_image_load_exif gives it for the 32x24 image of
 * orientation 6: Orientation 1, PixelX/YDimension 24 x 32 (upright), Make and
 * date kept, no IFD 1, no thumbnail. */
static void check_upright_block(const uint8_t *ex, size_t n) {
    CHECK(ex && n >= 14 && !memcmp(ex, "Exif\0\0", 6));
    if (!ex) return;
    ExifData *ed = exif_data_new_from_data(ex, (unsigned int)n);
    CHECK(ed != NULL);
    if (!ed) return;
    char v[64];
    ExifEntry *o = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    CHECK(o && exif_get_short(o->data, exif_data_get_byte_order(ed)) == 1);
    CHECK_MSG(!strcmp(entry_value(ed, EXIF_IFD_0, EXIF_TAG_MAKE, v, sizeof v), "Cam"), "Make '%s'", v);
    CHECK_MSG(!strcmp(entry_value(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, v, sizeof v), "2026:12:06 10:11:12"),
              "date '%s'", v);
    CHECK_MSG(!strcmp(entry_value(ed, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, v, sizeof v), "24"), "X '%s'", v);
    CHECK_MSG(!strcmp(entry_value(ed, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, v, sizeof v), "32"), "Y '%s'", v);
    CHECK(ed->ifd[EXIF_IFD_1]->count == 0 && ed->data == NULL && ed->size == 0);
    exif_data_unref(ed);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- EXIF ----------------------------------------------------------------------------------- */

static void test_exif(int big) {
    char jp[600], pp[600], j2[600], p2[600];
    snprintf(jp, sizeof jp, "%s/in%d.jpg", test_tmpdir(), big);
    snprintf(pp, sizeof pp, "%s/in%d.png", test_tmpdir(), big);
    snprintf(j2, sizeof j2, "%s/out%d.jpg", test_tmpdir(), big);
    snprintf(p2, sizeof p2, "%s/out%d.png", test_tmpdir(), big);
    nlcl_image img = {0}, back = {0};
    make_image(&img);
    wbuf w;
    size_t n = make_exif(&w, big, 6);
    /* the writers put a block in as given: the inputs */
    CHECK_OK(nlcl_image_save_jpeg_exif(jp, &img, w.b, n, NLCL_QUANT_ROUND, 95));
    CHECK_OK(nlcl_image_save_png_exif(pp, &img, NULL, w.b, n, NLCL_QUANT_ROUND, 0));
    size_t len = 0;
    uint8_t *d = test_read_file(pp, &len), *e = NULL;
    size_t k = 0;
    const uint8_t *c = d ? png_chunk(d, len, "eXIf", &k) : NULL;
    CHECK_MSG(c && k == n - 6 && !memcmp(c, w.b + 6, k), "the eXIf chunk holds the block without \"Exif\\0\\0\"");
    CHECK(c && c < png_chunk(d, len, "IDAT", &k)); /* before the image data */
    CHECK_MSG(d && png_chunk_count(d, len, "eXIf") == 1, "one eXIf chunk");
    free(d);
    d = test_read_file(jp, &len);
    CHECK_MSG(d && len > n + 4 && d[2] == 0xFF && d[3] == 0xE1 && (size_t)(d[4] << 8 | d[5]) == n + 2 &&
                  !memcmp(d + 6, w.b, n),
              "APP1 right after SOI, holding the block");
    free(d);
    for (int f = 0; f < 2; f++) {
        const char *in = f ? pp : jp, *out = f ? p2 : j2;
        CHECK_OK(nlcl_image_load(in, &back, NULL));
        CHECK(back.width == 24 && back.height == 32); /* turned upright */
        nlcl_image_free(&back);
        CHECK_OK(nlcl_image_load_exif(in, &e, &k));
        check_upright_block(e, k);
        /* written back, the block comes back unchanged: it is upright already */
        nlcl_image up = {0};
        CHECK_OK(nlcl_image_load(in, &up, NULL));
        CHECK_OK(f ? nlcl_image_save_png_exif(out, &up, NULL, e, k, NLCL_QUANT_ROUND, 0)
                   : nlcl_image_save_jpeg_exif(out, &up, e, k, NLCL_QUANT_ROUND, 90));
        nlcl_image_free(&up);
        uint8_t *e2 = NULL;
        size_t k2 = 0;
        CHECK_OK(nlcl_image_load_exif(out, &e2, &k2));
        CHECK_MSG(e2 && k2 == k && !memcmp(e, e2, k), "%s: the upright block written and read back unchanged", out);
        free(e);
        free(e2);
        e = NULL;
    }
    nlcl_image_free(&img);
}

static void test_exif_errors(void) {
    char p[600], q[600];
    snprintf(p, sizeof p, "%s/bad.png", test_tmpdir());
    snprintf(q, sizeof q, "%s/none.png", test_tmpdir());
    nlcl_image img = {0};
    make_image(&img);
    wbuf w;
    size_t n = make_exif(&w, 0, 1);
    uint8_t big[70000] = {0};
    memcpy(big, w.b, n);
    CHECK_ERR(nlcl_image_save_png_exif(p, &img, NULL, w.b + 1, n - 1, NLCL_QUANT_ROUND, 0), NLCL_ERR_INVALID_ARG,
              "must start with");
    CHECK_ERR(nlcl_image_save_jpeg_exif(p, &img, w.b, 13, NLCL_QUANT_ROUND, 90), NLCL_ERR_INVALID_ARG, "(got 13)");
    CHECK_ERR(nlcl_image_save_png_exif(p, &img, NULL, big, NLCL_EXIF_MAX_BYTES + 1, NLCL_QUANT_ROUND, 0),
              NLCL_ERR_INVALID_ARG, "65533");
    CHECK(!exists(p)); /* nothing written */
    /* a file without EXIF, a missing file, NULL arguments */
    uint8_t *e = (uint8_t *)1;
    size_t k = 1;
    CHECK_OK(nlcl_image_save_png(q, &img, NLCL_QUANT_ROUND, 0));
    CHECK_OK(nlcl_image_load_exif(q, &e, &k));
    CHECK(e == NULL && k == 0);
    CHECK_ERR(nlcl_image_load_exif(p, &e, &k), NLCL_ERR_IO, "bad.png");
    CHECK_ERR(nlcl_image_load_exif(NULL, &e, &k), NLCL_ERR_INVALID_ARG, "NULL");
    /* a corrupt block (IFD 0 beyond its end) is refused, naming the file */
    memcpy(big, "Exif\0\0II*\0\xF0\0\0\0", 14);
    CHECK_OK(nlcl_image_save_png_exif(p, &img, NULL, big, 40, NLCL_QUANT_ROUND, 0));
    CHECK_ERR(nlcl_image_load_exif(p, &e, &k), NLCL_ERR_FORMAT, "corrupt EXIF block");
    CHECK(e == NULL && k == 0);
    nlcl_image_meta m;
    CHECK_OK(nlcl_image_load_meta(p, &m)); /* the rest of the metadata is not lost with it */
    CHECK_MSG(m.exif == NULL && test_contains(m.lost, "EXIF (corrupt EXIF block"), "lost '%s'", m.lost);
    nlcl_image_meta_free(&m);
    nlcl_image_free(&img);
}

/* ---- metadata besides EXIF -------------------------------------------------------------------- */

static const char *xmp6 =
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description tiff:Orientation=\"6\"\n"
    "  tiff:ImageWidth = '32'><exif:PixelXDimension>32</exif:PixelXDimension>"
    "<exif:PixelYDimension> 24 </exif:PixelYDimension></rdf:Description></rdf:RDF></x:xmpmeta>";
static const char *xmp1 =
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description tiff:Orientation=\"1\"\n"
    "  tiff:ImageWidth = '24'><exif:PixelXDimension>24</exif:PixelXDimension>"
    "<exif:PixelYDimension> 32 </exif:PixelYDimension></rdf:Description></rdf:RDF></x:xmpmeta>";

static void check_texts(const nlcl_image_meta *a, const nlcl_image_meta *b) {
    CHECK(a->ntext == b->ntext);
    for (int i = 0; i < a->ntext && i < b->ntext; i++)
        CHECK_MSG(!strcmp(a->text[i].key, b->text[i].key) && !strcmp(a->text[i].text, b->text[i].text) &&
                      !strcmp(a->text[i].lang, b->text[i].lang) && !strcmp(a->text[i].lang_key, b->text[i].lang_key) &&
                      a->text[i].kind == b->text[i].kind,
                  "text %d: '%s' '%s' kind %d, wanted '%s' '%s' kind %d", i, b->text[i].key, b->text[i].text,
                  (int)b->text[i].kind, a->text[i].key, a->text[i].text, (int)a->text[i].kind);
}

static void test_meta(void) {
    char pp[600], jp[600], p2[600];
    snprintf(pp, sizeof pp, "%s/m.png", test_tmpdir());
    snprintf(jp, sizeof jp, "%s/m.jpg", test_tmpdir());
    snprintf(p2, sizeof p2, "%s/m2.png", test_tmpdir());
    nlcl_image img = {0};
    make_image(&img);
    wbuf w;
    size_t n = make_exif(&w, 0, 6);
    nlcl_image_text t[4] = {{"Title", "Regen", "", "", NLCL_TEXT_PLAIN},
                            {"Description", "nass \xE4 (Latin-1)", "", "", NLCL_TEXT_ZIP},
                            {"Author", "J\xC3\xBCrgen", "de", "Autor", NLCL_TEXT_UTF8},
                            {"Comment", "a comment", "", "", NLCL_TEXT_UTF8_ZIP}};
    static const uint8_t ps[] = {'8', 'B', 'I', 'M', 4, 4, 0, 0, 0, 0, 0, 3, 0x1c, 2, 0x78, 0,
                                 '8', 'B', 'I', 'M', 4, 0x0C, 0, 0, 0, 0, 0, 2, 'T', 'N'};
    nlcl_image_meta in = {.exif = w.b, .exif_len = n, .xmp = (char *)xmp6, .xmp_len = strlen(xmp6),
                          .iptc = (uint8_t *)ps, .iptc_len = sizeof ps, .text = t, .ntext = 4};
    char buf[400];
    CHECK(nlcl_image_meta_unwritable(&in, NLCL_IMAGE_PNG, buf, sizeof buf) == 1 && test_contains(buf, "IPTC"));
    CHECK(nlcl_image_meta_unwritable(&in, NLCL_IMAGE_JPEG, buf, sizeof buf) == 1);
    CHECK_MSG(test_contains(buf, "PNG text \"Title\", \"Description\", \"Author\" ("), "%s", buf);
    CHECK_OK(nlcl_image_save_png_meta(pp, &img, NULL, &in, NLCL_QUANT_ROUND, 0));
    CHECK_OK(nlcl_image_save_jpeg_meta(jp, &img, &in, NLCL_QUANT_ROUND, 90));
    nlcl_image_meta m;
    /* PNG: every text, kind and language as written; XMP rewritten for the upright 24x32 */
    CHECK_OK(nlcl_image_load_meta(pp, &m));
    check_texts(&in, &m);
    CHECK_MSG(m.xmp && !strcmp(m.xmp, xmp1), "XMP '%s'", m.xmp ? m.xmp : "(none)");
    CHECK(m.iptc == NULL && m.lost[0] == '\0');
    check_upright_block(m.exif, m.exif_len);
    /* the upright image written with it and read back: unchanged */
    nlcl_image up = {0};
    CHECK_OK(nlcl_image_load(pp, &up, NULL));
    CHECK_OK(nlcl_image_save_png_meta(p2, &up, NULL, &m, NLCL_QUANT_ROUND, 0));
    nlcl_image_free(&up);
    nlcl_image_meta m2;
    CHECK_OK(nlcl_image_load_meta(p2, &m2));
    check_texts(&m, &m2);
    CHECK(m2.xmp && !strcmp(m2.xmp, xmp1));
    CHECK(m2.exif_len == m.exif_len && !memcmp(m2.exif, m.exif, m.exif_len));
    nlcl_image_meta_free(&m2);
    nlcl_image_meta_free(&m);
    /* JPEG: the Comment as COM (back as tEXt "Comment", ASCII), XMP, APP13 without the thumbnail */
    CHECK_OK(nlcl_image_load_meta(jp, &m));
    CHECK(m.ntext == 1 && !strcmp(m.text[0].key, "Comment") && !strcmp(m.text[0].text, "a comment") &&
          m.text[0].kind == NLCL_TEXT_PLAIN);
    CHECK(m.xmp && !strcmp(m.xmp, xmp1));
    CHECK(m.iptc_len == 16 && !memcmp(m.iptc, ps, 16));
    check_upright_block(m.exif, m.exif_len);
    CHECK_MSG(m.lost[0] == '\0', "lost '%s'", m.lost);
    nlcl_image_meta_free(&m);
    /* the pixels and the metadata in one reading: as the two loads give them */
    for (int f = 0; f < 2; f++) {
        const char *path = f ? jp : pp;
        nlcl_image a = {0}, b = {0};
        nlcl_image_info ia, ib;
        CHECK_OK(nlcl_image_load(path, &a, &ia));
        CHECK_OK(nlcl_image_load_meta(path, &m));
        CHECK_OK(nlcl_image_load_with_meta(path, &b, NULL, &ib, &m2));
        CHECK(b.width == a.width && b.height == a.height && ib.orientation == ia.orientation &&
              !memcmp(b.data, a.data, (size_t)a.width * (size_t)a.height * 3 * sizeof *a.data));
        check_texts(&m, &m2);
        CHECK(m2.xmp && m.xmp && !strcmp(m2.xmp, m.xmp) && m2.exif_len == m.exif_len &&
              !memcmp(m2.exif, m.exif, m.exif_len) && m2.iptc_len == m.iptc_len && !strcmp(m2.lost, m.lost));
        nlcl_image_free(&a);
        nlcl_image_free(&b);
        nlcl_image_meta_free(&m);
        nlcl_image_meta_free(&m2);
    }
    CHECK_ERR(nlcl_image_load_with_meta(pp, NULL, NULL, NULL, &m), NLCL_ERR_INVALID_ARG, "NULL");
    /* bad arguments: nothing written */
    t[0].key = "";
    CHECK_ERR(nlcl_image_save_png_meta(p2 + 0, &img, NULL, &in, NLCL_QUANT_ROUND, 0), NLCL_ERR_INVALID_ARG, "text 1");
    CHECK_ERR(nlcl_image_load_meta(NULL, &m), NLCL_ERR_INVALID_ARG, "NULL");
    nlcl_image_free(&img);
}

/* Resolution: PNG pHYs and JFIF density carried in their own units exactly,
 * across them converted as PIL does (dpi <-> pixels per metre, rounded). */
static void test_resolution(void) {
    char pp[600], jp[600];
    snprintf(pp, sizeof pp, "%s/r.png", test_tmpdir());
    snprintf(jp, sizeof jp, "%s/r.jpg", test_tmpdir());
    nlcl_image img = {0};
    make_image(&img);
    static const struct {
        nlcl_res_unit unit;
        double x, y;
        nlcl_res_unit png_unit, jpg_unit; /* as read back */
        double png_x, png_y, jpg_x, jpg_y;
    } cases[] = {
        {NLCL_RES_INCH, 300, 150, NLCL_RES_METRE, NLCL_RES_INCH, 11811, 5906, 300, 150},
        {NLCL_RES_METRE, 2835, 2835, NLCL_RES_METRE, NLCL_RES_INCH, 2835, 2835, 72, 72},
        {NLCL_RES_CM, 118, 59, NLCL_RES_METRE, NLCL_RES_CM, 11800, 5900, 118, 59},
        {NLCL_RES_ASPECT, 2, 1, NLCL_RES_ASPECT, NLCL_RES_ASPECT, 2, 1, 2, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        wbuf w;
        size_t n = make_exif(&w, 0, 1);
        nlcl_image_meta in = {.res_unit = cases[k].unit, .res_x = cases[k].x, .res_y = cases[k].y};
        if (k == 0) in.exif = w.b, in.exif_len = n; /* JFIF is written beside EXIF when it holds a resolution */
        CHECK_OK(nlcl_image_save_png_meta(pp, &img, NULL, &in, NLCL_QUANT_ROUND, 0));
        CHECK_OK(nlcl_image_save_jpeg_meta(jp, &img, &in, NLCL_QUANT_ROUND, 90));
        nlcl_image_meta m;
        CHECK_OK(nlcl_image_load_meta(pp, &m));
        CHECK_MSG(m.res_unit == cases[k].png_unit && m.res_x == cases[k].png_x && m.res_y == cases[k].png_y,
                  "case %zu PNG: unit %d %g x %g", k, (int)m.res_unit, m.res_x, m.res_y);
        nlcl_image_meta_free(&m);
        CHECK_OK(nlcl_image_load_meta(jp, &m));
        CHECK_MSG(m.res_unit == cases[k].jpg_unit && m.res_x == cases[k].jpg_x && m.res_y == cases[k].jpg_y,
                  "case %zu JPEG: unit %d %g x %g", k, (int)m.res_unit, m.res_x, m.res_y);
        CHECK(k || m.exif);
        nlcl_image_meta_free(&m);
    }
    /* none: nothing written (JFIF's default 1:1 reads back as none) */
    nlcl_image_meta none = {0}, m;
    CHECK_OK(nlcl_image_save_jpeg_meta(jp, &img, &none, NLCL_QUANT_ROUND, 90));
    CHECK_OK(nlcl_image_load_meta(jp, &m));
    CHECK(m.res_unit == NLCL_RES_NONE);
    nlcl_image_meta_free(&m);
    none.res_unit = (nlcl_res_unit)9;
    CHECK_ERR(nlcl_image_save_png_meta(pp, &img, NULL, &none, NLCL_QUANT_ROUND, 0), NLCL_ERR_INVALID_ARG, "resolution unit");
    nlcl_image_free(&img);
}

/* ---- PNG chunk limits (src/io/png.c check_chunk) --------------------------------------------- */

typedef struct pngbuf {
    uint8_t *p;
    size_t n;
} pngbuf;

static void pb_put(pngbuf *b, const void *d, size_t n) {
    uint8_t *q = realloc(b->p, b->n + n + 1);
    if (!q) abort();
    if (n) memcpy(q + b->n, d, n);
    b->p = q, b->n += n;
}

/* A chunk with its CRC; crc = 0: a header declaring len and nothing after it. */
static void pb_chunk(pngbuf *b, const char *type, const void *d, uint32_t len, int crc) {
    uint8_t h[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    memcpy(h + 4, type, 4);
    pb_put(b, h, 8);
    if (!crc) return;
    pb_put(b, d, len);
    uLong c = crc32(crc32(0, NULL, 0), h + 4, 4);
    if (len) c = crc32(c, d, len);
    uint8_t t[4] = {(uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
    pb_put(b, t, 4);
}

/* Signature and IHDR of a 1x1 8-bit RGB image; pb_end: its pixel and IEND. */
static void pb_start(pngbuf *b) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t ihdr[13] = {0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0};
    b->p = NULL, b->n = 0;
    pb_put(b, sig, 8);
    pb_chunk(b, "IHDR", ihdr, 13, 1);
}
static void pb_idat(pngbuf *b) {
    static const uint8_t row[4] = {0, 200, 100, 50};
    uint8_t z[64];
    uLongf zn = sizeof z;
    CHECK(compress(z, &zn, row, 4) == Z_OK);
    pb_chunk(b, "IDAT", z, (uint32_t)zn, 1);
}
static void pb_end(pngbuf *b) {
    pb_idat(b);
    pb_chunk(b, "IEND", NULL, 0, 1);
}

/* A zTXt chunk "Big<i>" holding n bytes of text. */
static void pb_ztxt(pngbuf *b, int i, size_t n) {
    char *text = malloc(n);
    uLongf zn = compressBound(n);
    uint8_t *d = malloc(16 + zn);
    if (!text || !d) abort();
    memset(text, 'r', n);
    int k = snprintf((char *)d, 16, "Big%d", i) + 2; /* keyword, NUL, method 0 */
    d[k - 1] = 0;
    CHECK(compress2(d + k, &zn, (const uint8_t *)text, n, 9) == Z_OK);
    pb_chunk(b, "zTXt", d, (uint32_t)(k + zn), 1);
    free(text);
    free(d);
}

static void test_png_limits(void) {
    const char *path = test_path("limits.png");
    nlcl_image img = {0};
    nlcl_image_meta m;
    pngbuf b;
    /* the fuzz finding: a file of 70 bytes whose tEXt (or eXIf) chunk declares
     * 2030043146 bytes made libpng allocate them before noticing the end of
     * the file; now refused at the chunk's header, from a file or memory */
    for (int k = 0; k < 2; k++) {
        pb_start(&b);
        pb_chunk(&b, k ? "eXIf" : "tEXt", NULL, 2030043146u, 0);
        pb_put(&b, "Title\0rain", 10);
        CHECK(test_write_file(path, b.p, b.n) == 0);
        const char *want = k ? "PNG truncated: its eXIf chunk declares 2030043146 bytes, 10 remain"
                             : "PNG truncated: its tEXt chunk declares 2030043146 bytes, 10 remain";
        CHECK_ERR(nlcl_image_load_meta(path, &m), NLCL_ERR_FORMAT, want);
        CHECK(test_contains(nlcl_error_message(), path));
        nlcl_image_meta_free(&m);
        CHECK_ERR(nlcl_image_load(path, &img, NULL), NLCL_ERR_FORMAT, want);
        CHECK_ERR(nlcl_image_load_memory(b.p, b.n, "mem.png", &img, NULL), NLCL_ERR_FORMAT, want);
        free(b.p);
    }
    /* a zTXt inflating to more than 8 MiB: not kept, and named in lost; the other text kept */
    pb_start(&b);
    pb_chunk(&b, "tEXt", "Title\0rain", 10, 1);
    pb_ztxt(&b, 1, (9u << 20));
    pb_end(&b);
    CHECK(test_write_file(path, b.p, b.n) == 0);
    free(b.p);
    CHECK_OK(nlcl_image_load_with_meta(path, &img, NULL, NULL, &m));
    CHECK(m.ntext == 1 && !strcmp(m.text[0].key, "Title") && !strcmp(m.text[0].text, "rain"));
    CHECK_MSG(test_contains(m.lost, "a zTXt chunk that libpng could not read (inflating to over 8 MiB, or cut short)"), "lost '%s'", m.lost);
    nlcl_image_meta_free(&m);
    nlcl_image_free(&img);
    /* five of 7 MiB each: over the 32 MiB of text kept of one file; the pixels alone load */
    pb_start(&b);
    for (int i = 0; i < 5; i++) pb_ztxt(&b, i, (7u << 20));
    pb_end(&b);
    CHECK(test_write_file(path, b.p, b.n) == 0);
    free(b.p);
    CHECK_ERR(nlcl_image_load_with_meta(path, &img, NULL, NULL, &m), NLCL_ERR_LIMIT,
              "PNG text chunks hold over 32 MiB of text");
    CHECK(test_contains(nlcl_error_message(), path));
    CHECK_OK(nlcl_image_load(path, &img, NULL));
    nlcl_image_free(&img);
}

/* The offset of the first chunk `type` in the file, or 0. */
static size_t chunk_at(const uint8_t *d, size_t len, const char *type) {
    size_t n;
    const uint8_t *p = png_chunk(d, len, type, &n);
    return p ? (size_t)(p - d) : 0;
}

/* Colour chunks libpng ignores where they are misplaced are refused, naming
 * the file and the chunk, instead of changing the image silently: a tRNS
 * before the palette (the transparency was dropped, an opaque image read),
 * an iCCP, gAMA after the image data (the colours were read as sRGB). */
static void test_png_misplaced(void) {
    const char *p = test_path("misplaced.png");
    static const uint8_t ihdr[13] = {0, 0, 0, 1, 0, 0, 0, 1, 8, 3, 0, 0, 0}, plte[3] = {200, 100, 50};
    static const uint8_t trns[1] = {0}, row[2] = {0, 0}, gama[4] = {0, 0, 0xAF, 0xC8};
    uint8_t z[64], icc[64];
    uLongf zn = sizeof z;
    CHECK(compress(z, &zn, row, 2) == Z_OK);
    for (int k = 0; k < 4; k++) { /* 0, 1: tRNS before / after PLTE; 2: iCCP, 3: gAMA after IDAT */
        pngbuf b;
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        b.p = NULL, b.n = 0;
        pb_put(&b, sig, 8);
        pb_chunk(&b, "IHDR", ihdr, 13, 1);
        if (k == 0) pb_chunk(&b, "tRNS", trns, 1, 1);
        pb_chunk(&b, "PLTE", plte, 3, 1);
        if (k == 1) pb_chunk(&b, "tRNS", trns, 1, 1);
        pb_chunk(&b, "IDAT", z, (uint32_t)zn, 1);
        if (k == 2) { /* "icc\0", method 0, a deflated (not even valid) profile */
            memcpy(icc, "icc\0\0", 5);
            uLongf in = sizeof icc - 5;
            CHECK(compress(icc + 5, &in, (const uint8_t *)"not a profile", 13) == Z_OK);
            pb_chunk(&b, "iCCP", icc, (uint32_t)(5 + in), 1);
        }
        if (k == 3) pb_chunk(&b, "gAMA", gama, 4, 1);
        pb_chunk(&b, "IEND", NULL, 0, 1);
        CHECK(test_write_file(p, b.p, b.n) == 0);
        free(b.p);
        nlcl_image img = {0};
        float *alpha = NULL;
        nlcl_status s = nlcl_image_load_alpha(p, &img, &alpha, NULL);
        if (k == 1) {
            CHECK_MSG(s == NLCL_OK && alpha && alpha[0] == 0.0f, "tRNS after PLTE: %s", nlcl_error_message());
        } else {
            const char *want = k == 0 ? "misplaced.png: PNG: its transparency (tRNS chunk) cannot be read"
                               : k == 2 ? "misplaced.png: PNG: its iCCP chunk comes after the image data"
                                        : "misplaced.png: PNG: its gAMA chunk comes after the image data";
            CHECK_MSG(s == NLCL_ERR_FORMAT && test_contains(nlcl_error_message(), want), "case %d: %s: %s", k,
                      nlcl_status_name(s), nlcl_error_message());
        }
        nlcl_image_free(&img);
        free(alpha);
    }
}

/* PNG ancillary chunks nlcl does not interpret: the safe-to-copy ones
 * (oFFs, private chunks whose type ends in a lower-case letter) carried as
 * they were, before or after the image data; the unsafe ones (bKGD, sCAL, a
 * private one ending in an upper-case letter) named in lost, tIME neither
 * carried nor named (the output is a new image); oFFs
 * of a turned image named; a JPEG output names them all. */
static void test_png_chunks(void) {
    const char *in = test_path("chunks.png"), *out = test_path("chunks2.png");
    static const uint8_t time7[7] = {0x07, 0xEA, 12, 6, 10, 11, 12}, bkgd[6] = {0, 1, 0, 2, 0, 3};
    static const uint8_t offs[9] = {0, 0, 0, 10, 0xFF, 0xFF, 0xFF, 0xF6, 0}, scal[8] = {1, '1', '.', '5', 0, '2', '.', '5'};
    wbuf w;
    size_t en = make_exif(&w, 0, 6);
    for (int turned = 0; turned < 2; turned++) {
        pngbuf b;
        pb_start(&b);
        if (turned) pb_chunk(&b, "eXIf", w.b + 6, (uint32_t)(en - 6), 1);
        pb_chunk(&b, "tIME", time7, 7, 1);
        pb_chunk(&b, "bKGD", bkgd, 6, 1);
        pb_chunk(&b, "oFFs", offs, 9, 1);
        pb_chunk(&b, "sCAL", scal, 8, 1);
        pb_chunk(&b, "prVt", "settings", 8, 1);
        pb_chunk(&b, "prVT", "pixels", 6, 1);
        pb_idat(&b);
        pb_chunk(&b, "afTr", "late", 4, 1);
        pb_chunk(&b, "IEND", NULL, 0, 1);
        CHECK(test_write_file(in, b.p, b.n) == 0);
        free(b.p);
        nlcl_image_meta m;
        CHECK_OK(nlcl_image_load_meta(in, &m));
        CHECK_MSG(!test_contains(m.lost, "tIME") && test_contains(m.lost, "a background colour (bKGD)") &&
                      test_contains(m.lost, "the physical size of a pixel (sCAL)") &&
                      test_contains(m.lost, "PNG chunk prVT (unsafe to copy"), "lost '%s'", m.lost);
        static const char *const want[2][3] = {{"oFFs", "prVt", "afTr"}, {"prVt", "afTr"}};
        const int nw = turned ? 2 : 3;
        CHECK_MSG(m.nchunks == nw, "%d chunks, lost %s", m.nchunks, m.lost);
        for (int i = 0; i < m.nchunks && i < nw; i++)
            CHECK_MSG(!strcmp(m.chunks[i].name, want[turned][i]), "chunk %d: %s", i, m.chunks[i].name);
        if (m.nchunks == nw) {
            const nlcl_png_chunk *pv = &m.chunks[nw - 2], *af = &m.chunks[nw - 1];
            CHECK(pv->len == 8 && !memcmp(pv->data, "settings", 8) && !pv->after_idat);
            CHECK(af->len == 4 && !memcmp(af->data, "late", 4) && af->after_idat);
            if (!turned) CHECK(m.chunks[0].len == 9 && !memcmp(m.chunks[0].data, offs, 9) && !m.chunks[0].after_idat);
        }
        CHECK(turned == test_contains(m.lost, "oFFs (the position on a page of the image as stored"));
        char buf[400];
        CHECK(nlcl_image_meta_unwritable(&m, NLCL_IMAGE_JPEG, buf, sizeof buf) == 1);
        CHECK_MSG(test_contains(buf, turned ? "PNG chunks prVt, afTr (JPEG has no place for them"
                                             : "PNG chunks oFFs, prVt, afTr (JPEG has no place for them"),
                  "%s", buf);
        /* written back: in place, as they were; read again, nothing lost */
        nlcl_image img = {0};
        CHECK_OK(nlcl_image_load(in, &img, NULL));
        CHECK_OK(nlcl_image_save_png_meta(out, &img, NULL, &m, NLCL_QUANT_ROUND, 0));
        size_t len = 0;
        uint8_t *d = test_read_file(out, &len);
        size_t n1 = 0;
        const uint8_t *pv = d ? png_chunk(d, len, "prVt", &n1) : NULL;
        CHECK(pv && n1 == 8 && !memcmp(pv, "settings", 8));
        CHECK(d && chunk_at(d, len, "prVt") < chunk_at(d, len, "IDAT") && chunk_at(d, len, "afTr") > chunk_at(d, len, "IDAT"));
        CHECK(d && !chunk_at(d, len, "tIME") && !chunk_at(d, len, "bKGD") && !chunk_at(d, len, "sCAL") &&
              !chunk_at(d, len, "prVT"));
        CHECK(d && turned == !chunk_at(d, len, "oFFs"));
        CHECK_MSG(d && png_chunks_once(d, len) && png_chunk_count(d, len, "eXIf") == turned, "each chunk type once");
        free(d);
        nlcl_image_meta m2;
        CHECK_OK(nlcl_image_load_meta(out, &m2));
        CHECK_MSG(m2.nchunks == m.nchunks && m2.lost[0] == '\0', "%d chunks, lost '%s'", m2.nchunks, m2.lost);
        for (int i = 0; i < m2.nchunks && i < m.nchunks; i++)
            CHECK(!strcmp(m2.chunks[i].name, m.chunks[i].name) && m2.chunks[i].len == m.chunks[i].len &&
                  !memcmp(m2.chunks[i].data, m.chunks[i].data, m.chunks[i].len) &&
                  m2.chunks[i].after_idat == m.chunks[i].after_idat);
        nlcl_image_meta_free(&m2);
        /* what nlcl does not write from chunks: unsafe or its own types */
        if (!turned && m.nchunks == nw) {
            memcpy(m.chunks[1].name, "prVT", 4);
            CHECK_ERR(nlcl_image_save_png_meta(out, &img, NULL, &m, NLCL_QUANT_ROUND, 0), NLCL_ERR_INVALID_ARG, "PNG chunk 2");
            memcpy(m.chunks[1].name, "tEXt", 4);
            CHECK_ERR(nlcl_image_save_png_meta(out, &img, NULL, &m, NLCL_QUANT_ROUND, 0), NLCL_ERR_INVALID_ARG, "safe-to-copy");
        }
        nlcl_image_free(&img);
        nlcl_image_meta_free(&m);
    }
    /* an unknown critical chunk: refused with the metadata as without */
    pngbuf b;
    pb_start(&b);
    pb_chunk(&b, "CRIT", "x", 1, 1);
    pb_end(&b);
    CHECK(test_write_file(in, b.p, b.n) == 0);
    free(b.p);
    nlcl_image_meta m;
    nlcl_image img = {0};
    CHECK_ERR(nlcl_image_load_meta(in, &m), NLCL_ERR_FORMAT, "CRIT: unhandled critical chunk");
    nlcl_image_meta_free(&m);
    CHECK_ERR(nlcl_image_load(in, &img, NULL), NLCL_ERR_FORMAT, "CRIT: unhandled critical chunk");
    /* a type with the reserved bit (third letter lower case) is named, not carried; an empty
     * XMP packet is nothing to carry (the savers refuse an empty one) */
    pb_start(&b);
    pb_chunk(&b, "prvt", "x", 1, 1);
    pb_chunk(&b, "iTXt", "XML:com.adobe.xmp\0\0\0\0", 21, 1);
    pb_end(&b);
    CHECK(test_write_file(in, b.p, b.n) == 0);
    free(b.p);
    CHECK_OK(nlcl_image_load_with_meta(in, &img, NULL, NULL, &m));
    CHECK_MSG(m.nchunks == 0 && !m.xmp && test_contains(m.lost, "PNG chunk prvt (an invalid type"), "lost '%s'", m.lost);
    CHECK_OK(nlcl_image_save_png_meta(out, &img, NULL, &m, NLCL_QUANT_ROUND, 0));
    nlcl_image_meta_free(&m);
    nlcl_image_free(&img);
}

int main(void) {
    test_exif(0);
    test_exif(1);
    test_exif_errors();
    test_meta();
    test_resolution();
    test_png_limits();
    test_png_chunks();
    test_png_misplaced();
    return test_finish("test_image_exif");
}
