/* A JPEG tagged Adobe RGB only through its EXIF (issue 12 point 10): ColorSpace
 * (0xA001) 0xFFFF "uncalibrated" with the Interoperability IFD's
 * InteroperabilityIndex "R03" and no ICC profile, as cameras write it in
 * Adobe RGB mode. nlcl_image_load converts it to sRGB, and the EXIF block
 * nlcl_image_load_exif gives for the output says sRGB (ColorSpace 1, "R98").
 *
 * Oracle: the same JPEG without the EXIF block, decoded as stored, converted
 * here by the formulas of Adobe RGB (1998) Color Image Encoding (2005): the
 * 563/256 gamma and its RGB -> XYZ matrix (4.3.4), then IEC 61966-2-1's XYZ
 * -> sRGB matrix and encoding; within 1.5 8-bit levels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>

#include "harness.h"

static void le16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}
static void ent(uint8_t *t, size_t ifd, int i, unsigned tag, unsigned type, uint32_t count, uint32_t v) {
    uint8_t *e = t + ifd + 2 + 12 * (size_t)i;
    le16(e, tag), le16(e + 2, type), le32(e + 4, count);
    if (type == 3) le16(e + 8, v);
    else le32(e + 8, v);
}

/* "Exif\0\0" + little-endian TIFF: IFD 0 (at 8) with Make "Cam" and the
 * EXIF IFD pointer; EXIF IFD (at 38): ColorSpace cs, the Interoperability IFD
 * pointer; Interoperability IFD (at 68): InteroperabilityIndex idx (3
 * characters). Returns the size. */
static size_t make_block(uint8_t *b, unsigned cs, const char *idx) {
    memset(b, 0, 96);
    memcpy(b, "Exif\0\0II*\0", 10);
    uint8_t *t = b + 6;
    le32(t + 4, 8);
    le16(t + 8, 2);
    ent(t, 8, 0, 0x010F, 2, 4, 0);
    memcpy(t + 8 + 2 + 8, "Cam", 3);
    ent(t, 8, 1, 0x8769, 4, 1, 38);
    le16(t + 38, 2);
    ent(t, 38, 0, 0xA001, 3, 1, cs);
    ent(t, 38, 1, 0xA005, 4, 1, 68);
    le16(t + 68, 1);
    ent(t, 68, 0, 0x0001, 2, 4, 0);
    memcpy(t + 68 + 2 + 8, idx, 3);
    return 6 + 86;
}

static double srgb_encode(double v) {
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055;
}

/* Adobe RGB (0..1) -> sRGB (0..1), clipped; 1 if a channel lay outside. */
static int adobe_to_srgb(const double a[3], double s[3]) {
    static const double m[3][3] = {{0.57667, 0.18556, 0.18823}, {0.29734, 0.62736, 0.07529},
                                   {0.02703, 0.07069, 0.99134}};
    static const double n[3][3] = {{3.2406, -1.5372, -0.4986}, {-0.9689, 1.8758, 0.0415},
                                   {0.0557, -0.2040, 1.0570}};
    double lin[3], xyz[3], out = 0;
    for (int i = 0; i < 3; i++) lin[i] = pow(a[i], 563.0 / 256.0);
    for (int i = 0; i < 3; i++) xyz[i] = m[i][0] * lin[0] + m[i][1] * lin[1] + m[i][2] * lin[2];
    for (int i = 0; i < 3; i++) {
        double v = n[i][0] * xyz[0] + n[i][1] * xyz[1] + n[i][2] * xyz[2];
        out += v < -0.5 / 255 || v > 1 + 0.5 / 255;
        s[i] = srgb_encode(v);
    }
    return out > 0;
}

/* 64x16: four 16x16 blocks (whole MCUs) of saturated red, green, blue and a skin tone. */
static void make_image(nlcl_image *img) {
    static const float col[4][3] = {{1, -1, -1}, {-1, 1, -1}, {-1, -1, 1}, {0.6f, 0.1f, -0.2f}};
    CHECK_OK(nlcl_image_alloc(img, 16, 64));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 64; x++) img->data[((size_t)c * 16 + y) * 64 + x] = col[x / 16][c];
}

static void check_tags(const char *path, int cs, const char *idx) {
    uint8_t *e = NULL;
    size_t k = 0;
    CHECK_OK(nlcl_image_load_exif(path, &e, &k));
    ExifData *ed = e ? exif_data_new_from_data(e, (unsigned int)k) : NULL;
    CHECK(ed != NULL);
    if (ed) {
        ExifEntry *c = exif_content_get_entry(ed->ifd[EXIF_IFD_EXIF], EXIF_TAG_COLOR_SPACE);
        ExifEntry *i = exif_content_get_entry(ed->ifd[EXIF_IFD_INTEROPERABILITY], EXIF_TAG_INTEROPERABILITY_INDEX);
        int v = c ? exif_get_short(c->data, exif_data_get_byte_order(ed)) : -1;
        CHECK_MSG(v == cs, "%s: output ColorSpace %d, want %d", path, v, cs);
        CHECK_MSG(i && i->data && i->size >= 3 && !memcmp(i->data, idx, 3), "%s: output InteroperabilityIndex %s", path,
                  i && i->data ? (const char *)i->data : "(none)");
        exif_data_unref(ed);
    }
    free(e);
}

static void test_adobe(void) {
    const char *plain = test_path("plain.jpg"), *adobe = test_path("adobe.jpg"), *srgb = test_path("srgb.jpg");
    nlcl_image img = {0}, ref = {0}, got = {0};
    make_image(&img);
    uint8_t b[96];
    CHECK_OK(nlcl_image_save_jpeg(plain, &img, NLCL_QUANT_ROUND, 100));
    CHECK_OK(nlcl_image_save_jpeg_exif(adobe, &img, b, make_block(b, 0xFFFF, "R03"), NLCL_QUANT_ROUND, 100));
    CHECK_OK(nlcl_image_save_jpeg_exif(srgb, &img, b, make_block(b, 1, "R98"), NLCL_QUANT_ROUND, 100));
    nlcl_image_info ir, ia, is;
    CHECK_OK(nlcl_image_load(plain, &ref, &ir));
    CHECK_OK(nlcl_image_load(srgb, &got, &is));
    CHECK_MSG(!is.colour_converted && test_max_abs_diff(ref.data, got.data, (size_t)3 * 64 * 16) == 0,
              "an sRGB EXIF changes nothing");
    nlcl_image_free(&got);
    CHECK_OK(nlcl_image_load(adobe, &got, &ia));
    CHECK_MSG(ia.colour_converted == 1, "converted from Adobe RGB");
    uint64_t want_clip = 0;
    double worst = 0;
    const size_t P = 64 * 16;
    for (size_t p = 0; p < P && got.data; p++) {
        double a[3], s[3];
        for (int c = 0; c < 3; c++) a[c] = (ref.data[c * P + p] + 1.0) / 2.0;
        want_clip += (uint64_t)adobe_to_srgb(a, s);
        for (int c = 0; c < 3; c++) {
            double d = fabs((got.data[c * P + p] + 1.0) / 2.0 - s[c]) * 255.0;
            worst = d > worst ? d : worst;
        }
    }
    CHECK_MSG(worst <= 1.5, "Adobe RGB -> sRGB differs from the formula by %.2f levels", worst);
    /* the green block at least (Adobe RGB's green primary lies outside sRGB); red and blue
     * share sRGB's primaries, so theirs are borderline either way */
    CHECK_MSG(ia.gamut_clipped >= 256 && ia.gamut_clipped + 64 >= want_clip && ia.gamut_clipped <= want_clip + 64,
              "clipped %llu, formula %llu",
              (unsigned long long)ia.gamut_clipped, (unsigned long long)want_clip);
    check_tags(adobe, 1, "R98");
    check_tags(srgb, 1, "R98");
    nlcl_image_free(&img);
    nlcl_image_free(&ref);
    nlcl_image_free(&got);
}

int main(void) {
    test_adobe();
    return test_finish("test_image_adobe");
}
