/* Photos as cameras and editors write them (issue 12, points 1 and 10):
 * EXIF/TIFF orientation, CMYK/YCCK JPEGs, embedded ICC profiles, PNG
 * gamma/chromaticities, animated PNGs (include/nlcl/image.h).
 *
 * Every input is made here with libjpeg, libpng, libtiff and Little CMS.
 * Oracles:
 *  - orientation: the EXIF 2.3 table of where the stored 0th row and 0th
 *    column go (a forward mapping; nlcl implements the inverse), applied to
 *    nlcl's decode of the same file without the tag;
 *  - CMYK: the stored samples read back with libjpeg, converted with PIL's
 *    integer formula (ImageMath MULDIV255 of "CMYK;I"), 8-bit exact; PIL's own
 *    conversion of a PIL-written CMYK JPEG (tests/fixtures/image/cmyk.jpg,
 *    make_image_fixtures.py);
 *  - ICC/gamma: closed forms: a profile with sRGB primaries and a linear
 *    curve must give the sRGB encoding of the stored value; a CMYK profile
 *    whose table gives L* = 100 (1 - K), a = b = 0, must give the sRGB grey
 *    of that lightness whatever C, M, Y say; an sRGB profile, sRGB chunk or
 *    gAMA 1/2.2 must leave every sample bit for bit as it is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>
#include <tiffio.h>

#include "harness.h"
#include "nlcl/image.h"

#define FIX "tests/fixtures/image/"

static char *tpath(const char *name) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

static int write_all(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static float px(const nlcl_image *im, int c, int y, int x) {
    return im->data[((size_t)c * im->height + y) * im->width + x];
}

static double srgb_encode(double v) {
    return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055;
}

static void pattern(uint8_t *d, int w, int h, int comps, unsigned seed) {
    for (int i = 0; i < w * h * comps; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (uint8_t)(seed >> 16);
    }
}

/* ---- writers ----------------------------------------------------------------------------- */

typedef struct jpeg_opts {
    int comps;
    J_COLOR_SPACE in, store; /* store: the JPEG colour space (e.g. JCS_YCCK) */
    int no_adobe;            /* suppress the Adobe marker of CMYK files */
    const uint8_t *icc;
    size_t icc_len;
    int arith;               /* arithmetic coding instead of Huffman */
} jpeg_opts;

static uint8_t *write_jpeg_mem(const uint8_t *d, int w, int h, const jpeg_opts *o, size_t *len) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = o->comps;
    c.in_color_space = o->in;
    jpeg_set_defaults(&c);
    if (o->store != JCS_UNKNOWN) jpeg_set_colorspace(&c, o->store);
    if (o->no_adobe) c.write_Adobe_marker = FALSE;
    jpeg_set_quality(&c, 95, TRUE);
    c.arith_code = o->arith ? TRUE : FALSE;
    jpeg_start_compress(&c, TRUE);
    if (o->icc) jpeg_write_icc_profile(&c, o->icc, (unsigned)o->icc_len);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)d + (size_t)c.next_scanline * (size_t)w * (size_t)o->comps;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
    return buf;
}

/* The stored samples of a JPEG as libjpeg gives them (CMYK files: CMYK). */
static uint8_t *read_jpeg_raw(const uint8_t *b, size_t n, int *comps) {
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, b, (unsigned long)n);
    jpeg_read_header(&d, TRUE);
    if (d.jpeg_color_space == JCS_YCCK || d.jpeg_color_space == JCS_CMYK)
        d.out_color_space = JCS_CMYK;
    jpeg_start_decompress(&d);
    *comps = d.output_components;
    size_t row = (size_t)d.output_width * (size_t)d.output_components;
    uint8_t *out = malloc(row * d.output_height);
    while (d.output_scanline < d.output_height) {
        JSAMPROW r = out + row * d.output_scanline;
        jpeg_read_scanlines(&d, &r, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return out;
}

/* A minimal EXIF block: IFD 0 with one Orientation entry (then no next IFD),
 * little- or big-endian, with or without the "Exif\0\0" of JPEG APP1. */
static size_t make_exif(uint8_t *b, int big, int orientation, int app1_header) {
    size_t n = 0;
    if (app1_header) {
        memcpy(b, "Exif\0\0", 6);
        n = 6;
    }
    uint8_t *t = b + n;
    static const uint8_t le[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 1, 3, 0,
                                   1,   0,   0,  0, 0, 0, 0, 0, 0, 0, 0,    0};
    static const uint8_t be[26] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0, 3,
                                   0,   0,   0, 1,  0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(t, big ? be : le, 26);
    t[big ? 19 : 18] = (uint8_t)orientation;
    return n + 26;
}

/* jpeg with an APP1 segment inserted after SOI */
static uint8_t *with_app1(const uint8_t *j, size_t n, const uint8_t *p, size_t pn, size_t *out) {
    uint8_t *b = malloc(n + pn + 4);
    memcpy(b, j, 2);
    b[2] = 0xFF, b[3] = 0xE1, b[4] = (uint8_t)((pn + 2) >> 8), b[5] = (uint8_t)(pn + 2);
    memcpy(b + 6, p, pn);
    memcpy(b + 6 + pn, j + 2, n - 2);
    *out = n + pn + 4;
    return b;
}

typedef struct png_opts {
    int grey, bits16;
    const uint8_t *exif;
    size_t exif_len;
    const uint8_t *icc;
    size_t icc_len;
    double gamma;     /* > 0: a gAMA chunk */
    const double *chrm;
    int srgb;         /* an sRGB chunk */
} png_opts;

static int write_png(const char *path, const uint8_t *d, int w, int h, const png_opts *o) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    const int ch = o->grey ? 1 : 3, bd = o->bits16 ? 16 : 8;
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bd,
                 o->grey ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (o->exif) png_set_eXIf_1(png, info, (png_uint_32)o->exif_len, (png_bytep)o->exif);
    if (o->icc) png_set_iCCP(png, info, "p", 0, o->icc, (png_uint_32)o->icc_len);
    if (o->gamma > 0) png_set_gAMA(png, info, o->gamma);
    if (o->chrm)
        png_set_cHRM(png, info, o->chrm[0], o->chrm[1], o->chrm[2], o->chrm[3], o->chrm[4],
                     o->chrm[5], o->chrm[6], o->chrm[7]);
    if (o->srgb) png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_write_info(png, info);
    if (o->bits16) png_set_swap(png); /* rows below are host (little-endian) 16-bit */
    const size_t row = (size_t)w * ch * (bd / 8);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(d + row * y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 ? 0 : -1;
}

static int write_tiff(const char *path, const uint8_t *d, int w, int h, int orientation,
                      const uint8_t *icc, size_t icc_len) {
    TIFF *t = TIFFOpen(path, "w");
    if (!t) return -1;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)h);
    if (orientation) TIFFSetField(t, TIFFTAG_ORIENTATION, (uint16_t)orientation);
    if (icc) TIFFSetField(t, TIFFTAG_ICCPROFILE, (uint32_t)icc_len, icc);
    int r = 0;
    for (int y = 0; y < h && r == 0; y++)
        if (TIFFWriteScanline(t, (void *)(d + (size_t)y * w * 3), (uint32_t)y, 0) < 0) r = -1;
    TIFFClose(t);
    return r;
}

/* ---- orientation ----------------------------------------------------------------------- */

/* EXIF 2.3 table 6: where the stored 0th row and 0th column are shown
 * (T top, B bottom, L left, R right). */
static const char *const exif_table[9] = {"", "TL", "TR", "BR", "BL", "LT", "RT", "RB", "LB"};

/* Every stored pixel (sx, sy) of `st` must appear where the table puts it in
 * `up`; returns the number of mismatching samples (-1: wrong size). */
static long check_oriented(const nlcl_image *st, const nlcl_image *up, int o) {
    const int W = st->width, H = st->height;
    const char row0 = exif_table[o][0], col0 = exif_table[o][1];
    const int swap = row0 == 'L' || row0 == 'R';
    if (up->width != (swap ? H : W) || up->height != (swap ? W : H)) return -1;
    long bad = 0;
    for (int sy = 0; sy < H; sy++)
        for (int sx = 0; sx < W; sx++) {
            int vx, vy;
            if (!swap) { /* rows stay rows */
                vy = row0 == 'T' ? sy : H - 1 - sy;
                vx = col0 == 'L' ? sx : W - 1 - sx;
            } else { /* stored rows become columns */
                vx = row0 == 'L' ? sy : H - 1 - sy;
                vy = col0 == 'T' ? sx : W - 1 - sx;
            }
            for (int c = 0; c < 3; c++) bad += px(up, c, vy, vx) != px(st, c, sy, sx);
        }
    return bad;
}

static void orientation_jpeg(void) {
    enum { W = 7, H = 5 };
    uint8_t rgb[W * H * 3];
    pattern(rgb, W, H, 3, 7);
    jpeg_opts jo = {3, JCS_RGB, JCS_UNKNOWN, 0, NULL, 0, 0};
    size_t n;
    uint8_t *j = write_jpeg_mem(rgb, W, H, &jo, &n);
    nlcl_image st, up;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load_memory(j, n, "plain.jpg", &st, &info));
    CHECK(info.orientation == 0);
    for (int big = 0; big < 2; big++)
        for (int o = 0; o <= 9; o++) {
            uint8_t ex[64];
            size_t en = make_exif(ex, big, o, 1), vn;
            uint8_t *v = with_app1(j, n, ex, en, &vn);
            char name[64];
            snprintf(name, sizeof name, "o%d%s.jpg", o, big ? "mm" : "ii");
            CHECK(write_all(tpath(name), v, vn) == 0);
            nlcl_status s = nlcl_image_load(tpath(name), &up, &info);
            CHECK_OK(s);
            if (s == NLCL_OK) {
                int valid = o >= 1 && o <= 8;
                long bad = check_oriented(&st, &up, valid ? o : 1);
                CHECK_MSG(bad == 0, "%s: %ld samples misplaced (-1: wrong size %dx%d)", name, bad,
                          up.width, up.height);
                CHECK_MSG(info.orientation == (valid ? o : 0) && info.width == up.width &&
                              info.height == up.height,
                          "%s: info %d %dx%d", name, info.orientation, info.width, info.height);
                nlcl_image_free(&up);
            }
            /* the header alone gives the upright size */
            nlcl_image_info pi;
            CHECK_OK(nlcl_image_probe(tpath(name), &pi));
            CHECK(pi.width == info.width && pi.height == info.height);
            free(v);
        }
    nlcl_image_free(&st);
    free(j);
}

static void orientation_png_tiff(void) {
    enum { W = 6, H = 4 };
    uint8_t rgb[W * H * 3];
    pattern(rgb, W, H, 3, 11);
    png_opts po = {0};
    CHECK(write_png(tpath("plain.png"), rgb, W, H, &po) == 0);
    nlcl_image st, up;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(tpath("plain.png"), &st, NULL));
    for (int o = 1; o <= 8; o++) {
        uint8_t ex[64];
        po.exif = ex;
        po.exif_len = make_exif(ex, o & 1, o, 0);
        CHECK(write_png(tpath("o.png"), rgb, W, H, &po) == 0);
        CHECK_OK(nlcl_image_load(tpath("o.png"), &up, &info));
        CHECK_MSG(check_oriented(&st, &up, o) == 0 && info.orientation == o, "PNG eXIf %d", o);
        nlcl_image_free(&up);
        CHECK(write_tiff(tpath("o.tif"), rgb, W, H, o, NULL, 0) == 0);
        CHECK_OK(nlcl_image_load(tpath("o.tif"), &up, &info));
        CHECK_MSG(check_oriented(&st, &up, o) == 0 && info.orientation == o, "TIFF %d", o);
        nlcl_image_free(&up);
    }
    nlcl_image_free(&st);
}

/* ---- CMYK and YCCK ----------------------------------------------------------------------- */

/* PIL: CMYK;I unpacks 255 - v, then cmyk2rgb: nk = 255 - k, r = nk - nk*c/255
 * (MULDIV255, exact rounding); for stored (inverted) values that is
 * round(C * K / 255). Plain CMYK: round((255 - C)(255 - K) / 255). */
static uint8_t pil_cmyk(unsigned c, unsigned k, int inverted) {
    if (!inverted) c = 255 - c, k = 255 - k;
    unsigned t = c * k + 128;
    return (uint8_t)((t + (t >> 8)) >> 8);
}

static void cmyk_case(const char *name, J_COLOR_SPACE store, int no_adobe) {
    enum { W = 21, H = 9 };
    uint8_t cmyk[W * H * 4];
    pattern(cmyk, W, H, 4, 3);
    jpeg_opts jo = {4, JCS_CMYK, store, no_adobe, NULL, 0, 0};
    size_t n;
    uint8_t *j = write_jpeg_mem(cmyk, W, H, &jo, &n);
    int comps = 0;
    uint8_t *raw = read_jpeg_raw(j, n, &comps);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load_memory(j, n, name, &im, &info));
    if (im.data && comps == 4) {
        CHECK(info.cmyk && info.channels == 4 && im.width == W && im.height == H);
        uint8_t got[W * H * 3];
        nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, got);
        int bad = 0;
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < 3; c++)
                bad += got[3 * i + c] != pil_cmyk(raw[4 * i + c], raw[4 * i + 3], !no_adobe);
        CHECK_MSG(bad == 0, "%s: %d samples differ from PIL's formula", name, bad);
        nlcl_image_free(&im);
    }
    free(raw);
    free(j);
}

static void cmyk_pil_fixture(void) {
    /* PIL 9.4 wrote cmyk.jpg (Adobe, inverted) and its convert("RGB") bytes */
    FILE *f = fopen(FIX "cmyk.rgb", "rb");
    uint8_t want[16 * 12 * 3];
    size_t got_n = f ? fread(want, 1, sizeof want, f) : 0;
    if (f) fclose(f);
    CHECK_MSG(got_n == sizeof want, "fixture " FIX "cmyk.rgb missing or wrong size");
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(FIX "cmyk.jpg", &im, &info));
    if (im.data && got_n == sizeof want) {
        uint8_t got[sizeof want];
        CHECK(im.width == 16 && im.height == 12 && info.cmyk);
        nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, got);
        CHECK_MSG(memcmp(got, want, sizeof want) == 0, "PIL's CMYK conversion differs");
    }
    nlcl_image_free(&im);
}

/* ---- ICC profiles and PNG gamma -------------------------------------------------------------- */

static uint8_t *profile_bytes(cmsHPROFILE p, size_t *n) {
    cmsUInt32Number len = 0;
    uint8_t *b = NULL;
    if (p && cmsSaveProfileToMem(p, NULL, &len) && (b = malloc(len)) &&
        !cmsSaveProfileToMem(p, b, &len)) {
        free(b);
        b = NULL;
    }
    if (p) cmsCloseProfile(p);
    *n = b ? len : 0;
    return b;
}

static const cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
static const cmsCIExyYTRIPLE srgb_primaries = {{0.64, 0.33, 1}, {0.30, 0.60, 1}, {0.15, 0.06, 1}};

static uint8_t *linear_rgb_profile(size_t *n) {
    cmsToneCurve *g = cmsBuildGamma(NULL, 1.0), *c[3] = {g, g, g};
    cmsHPROFILE p = cmsCreateRGBProfile(&d65, &srgb_primaries, c);
    cmsFreeToneCurve(g);
    return profile_bytes(p, n);
}

static uint8_t *linear_grey_profile(size_t *n) {
    cmsToneCurve *g = cmsBuildGamma(NULL, 1.0);
    cmsHPROFILE p = cmsCreateGrayProfile(cmsD50_xyY(), g);
    cmsFreeToneCurve(g);
    return profile_bytes(p, n);
}

/* CMYK -> Lab table: L* = 100 (1 - K), a* = b* = 0, whatever C, M, Y */
static cmsInt32Number k_only(const cmsUInt16Number in[], cmsUInt16Number out[], void *cargo) {
    (void)cargo;
    out[0] = (cmsUInt16Number)(0xFFFF - in[3]);
    out[1] = out[2] = 0x8080;
    return 1;
}

/* CMYK -> Lab table: L* = 100 (1 - K), a* = -100 C (a green far outside
 * sRGB at full cyan ink, 0 without), b* = 0 */
static cmsInt32Number k_green(const cmsUInt16Number in[], cmsUInt16Number out[], void *cargo) {
    (void)cargo;
    out[0] = (cmsUInt16Number)(0xFFFF - in[3]);
    out[1] = (cmsUInt16Number)((128.0 - 100.0 * in[0] / 65535.0) * 257.0 + 0.5);
    out[2] = 0x8080;
    return 1;
}

static uint8_t *cmyk_profile_of(cmsSAMPLER16 table, size_t *n) {
    cmsHPROFILE p = cmsCreateProfilePlaceholder(NULL);
    cmsSetProfileVersion(p, 4.3);
    cmsSetDeviceClass(p, cmsSigInputClass);
    cmsSetColorSpace(p, cmsSigCmykData);
    cmsSetPCS(p, cmsSigLabData);
    cmsPipeline *pl = cmsPipelineAlloc(NULL, 4, 3);
    cmsStage *clut = cmsStageAllocCLut16bit(NULL, 2, 4, 3, NULL);
    cmsStageSampleCLut16bit(clut, table, NULL, 0);
    /* an mAB tag needs curves around the table: identities */
    cmsPipelineInsertStage(pl, cmsAT_BEGIN, clut);
    cmsPipelineInsertStage(pl, cmsAT_BEGIN, cmsStageAllocToneCurves(NULL, 4, NULL));
    cmsPipelineInsertStage(pl, cmsAT_END, cmsStageAllocToneCurves(NULL, 3, NULL));
    cmsWriteTag(p, cmsSigAToB0Tag, pl);
    cmsWriteTag(p, cmsSigMediaWhitePointTag, cmsD50_XYZ());
    cmsPipelineFree(pl);
    return profile_bytes(p, n);
}

static uint8_t *cmyk_profile(size_t *n) { return cmyk_profile_of(k_only, n); }

/* max |nlcl - sRGB encoding of the stored value| over the image (x units) */
static double linear_err(const nlcl_image *im, const uint8_t *d, int ch) {
    double m = 0;
    const int W = im->width, H = im->height;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                double v = d[((size_t)y * W + x) * ch + (ch == 1 ? 0 : c)] / 255.0;
                m = fmax(m, fabs(px(im, c, y, x) - (srgb_encode(v) * 2 - 1)));
            }
    return m;
}

static int same_as(const char *a, const char *b) {
    nlcl_image x, y;
    int same = nlcl_image_load(a, &x, NULL) == NLCL_OK && nlcl_image_load(b, &y, NULL) == NLCL_OK &&
               x.width == y.width && x.height == y.height &&
               !memcmp(x.data, y.data, sizeof(float) * 3 * (size_t)x.width * x.height);
    nlcl_image_free(&x);
    nlcl_image_free(&y);
    return same;
}

static void icc_rgb(void) {
    enum { W = 9, H = 7 };
    uint8_t rgb[W * H * 3], grey[W * H];
    pattern(rgb, W, H, 3, 21);
    pattern(grey, W, H, 1, 22);
    size_t nl, ng, ns, nc;
    uint8_t *lin = linear_rgb_profile(&nl), *lg = linear_grey_profile(&ng);
    uint8_t *srgb = profile_bytes(cmsCreate_sRGBProfile(), &ns), *cm = cmyk_profile(&nc);
    CHECK(lin && lg && srgb && cm);
    png_opts po = {0};
    CHECK(write_png(tpath("plain.png"), rgb, W, H, &po) == 0);
    nlcl_image im;
    nlcl_image_info info;
    /* an sRGB profile changes nothing, bit for bit */
    po.icc = srgb, po.icc_len = ns;
    CHECK(write_png(tpath("srgb.png"), rgb, W, H, &po) == 0);
    CHECK(same_as(tpath("srgb.png"), tpath("plain.png")));
    CHECK_OK(nlcl_image_load(tpath("srgb.png"), &im, &info));
    CHECK(!info.colour_converted);
    nlcl_image_free(&im);
    /* linear light with sRGB primaries: PNG, JPEG (APP2), TIFF */
    po.icc = lin, po.icc_len = nl;
    CHECK(write_png(tpath("lin.png"), rgb, W, H, &po) == 0);
    CHECK_OK(nlcl_image_load(tpath("lin.png"), &im, &info));
    if (im.data) {
        double e = linear_err(&im, rgb, 3);
        CHECK_MSG(e < 1e-3 && info.colour_converted, "PNG iCCP linear: max error %g", e);
        nlcl_image_free(&im);
    }
    CHECK(write_tiff(tpath("lin.tif"), rgb, W, H, 0, lin, nl) == 0);
    CHECK_OK(nlcl_image_load(tpath("lin.tif"), &im, &info));
    if (im.data) {
        double e = linear_err(&im, rgb, 3);
        CHECK_MSG(e < 1e-3 && info.colour_converted, "TIFF ICC linear: max error %g", e);
        nlcl_image_free(&im);
    }
    jpeg_opts jo = {3, JCS_RGB, JCS_UNKNOWN, 0, NULL, 0, 0};
    size_t jn, jn2;
    uint8_t *j0 = write_jpeg_mem(rgb, W, H, &jo, &jn);
    jo.icc = lin, jo.icc_len = nl;
    uint8_t *j1 = write_jpeg_mem(rgb, W, H, &jo, &jn2);
    int comps;
    uint8_t *dec = read_jpeg_raw(j0, jn, &comps); /* the same samples in both files */
    CHECK_OK(nlcl_image_load_memory(j1, jn2, "lin.jpg", &im, &info));
    if (im.data) {
        double e = linear_err(&im, dec, 3);
        CHECK_MSG(e < 1e-3 && info.colour_converted, "JPEG ICC linear: max error %g", e);
        nlcl_image_free(&im);
    }
    free(dec);
    free(j0);
    free(j1);
    /* a grey PNG with a linear grey profile */
    png_opts pg = {.grey = 1, .icc = lg, .icc_len = ng};
    CHECK(write_png(tpath("lingrey.png"), grey, W, H, &pg) == 0);
    CHECK_OK(nlcl_image_load(tpath("lingrey.png"), &im, &info));
    if (im.data) {
        double e = linear_err(&im, grey, 1);
        CHECK_MSG(e < 1e-3, "grey iCCP linear: max error %g", e);
        nlcl_image_free(&im);
    }
    /* a CMYK profile on an RGB image, an unreadable profile: refused */
    CHECK(write_tiff(tpath("cmykprof.tif"), rgb, W, H, 0, cm, nc) == 0);
    CHECK_ERR(nlcl_image_load(tpath("cmykprof.tif"), &im, NULL), NLCL_ERR_FORMAT,
              "cmykprof.tif: the embedded ICC profile is for CMYK, the image is RGB");
    uint8_t junk[300];
    pattern(junk, 300, 1, 1, 5);
    CHECK(write_tiff(tpath("junkprof.tif"), rgb, W, H, 0, junk, sizeof junk) == 0);
    CHECK_ERR(nlcl_image_load(tpath("junkprof.tif"), &im, NULL), NLCL_ERR_FORMAT,
              "junkprof.tif: unreadable ICC profile");
    CHECK(im.data == NULL);
    free(lin);
    free(lg);
    free(srgb);
    free(cm);
}

/* A 24-bit BMP with a BITMAPV5HEADER: colour space `cs` (4 bytes as stored),
 * and for "MBED" the profile after the pixels; `calib` fills the endpoints. */
static size_t write_bmp_v5(uint8_t *b, const uint8_t *rgb, int w, int h, const char *cs,
                           const uint8_t *icc, size_t icc_len, int calib) {
    const size_t stride = ((size_t)w * 3 + 3) & ~(size_t)3, pix = stride * h;
    const size_t off = 14 + 124, end = off + pix;
    memset(b, 0, end + icc_len);
    b[0] = 'B', b[1] = 'M';
    uint8_t *ih = b + 14;
#define LE32(p, v) ((p)[0] = (uint8_t)(v), (p)[1] = (uint8_t)((v) >> 8), (p)[2] = (uint8_t)((v) >> 16), (p)[3] = (uint8_t)((v) >> 24))
    LE32(b + 2, (uint32_t)(end + icc_len));
    LE32(b + 10, (uint32_t)off);
    LE32(ih, 124u);
    LE32(ih + 4, (uint32_t)w);
    LE32(ih + 8, (uint32_t)h);
    ih[12] = 1, ih[14] = 24;
    memcpy(ih + 56, cs, 4);
    if (calib)
        for (int k = 60; k < 108; k += 4) LE32(ih + k, 0x10000u);
    if (icc) {
        LE32(ih + 112, (uint32_t)(end - 14));
        LE32(ih + 116, (uint32_t)icc_len);
        memcpy(b + end, icc, icc_len);
    }
#undef LE32
    for (int y = 0; y < h; y++) /* bottom-up, BGR */
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                b[off + (size_t)(h - 1 - y) * stride + 3 * (size_t)x + c] = rgb[3 * ((size_t)y * w + x) + 2 - c];
    return end + icc_len;
}

static void icc_bmp(void) {
    enum { W = 5, H = 3 };
    uint8_t rgb[W * H * 3], b[4096];
    pattern(rgb, W, H, 3, 51);
    size_t nl;
    uint8_t *lin = linear_rgb_profile(&nl);
    CHECK(lin && nl < 2000);
    if (!lin) return;
    nlcl_image im;
    nlcl_image_info info;
    size_t n = write_bmp_v5(b, rgb, W, H, "DEBM", lin, nl, 0); /* 'MBED' stored reversed */
    CHECK_OK(nlcl_image_load_memory(b, n, "mbed.bmp", &im, &info));
    if (im.data) {
        double e = linear_err(&im, rgb, 3);
        CHECK_MSG(e < 1e-3 && info.colour_converted, "BMP embedded profile: max error %g", e);
        nlcl_image_free(&im);
    }
    CHECK(write_all(tpath("mbed.bmp"), b, n) == 0); /* the file path reads the profile too */
    CHECK_OK(nlcl_image_load(tpath("mbed.bmp"), &im, &info));
    if (im.data) CHECK(linear_err(&im, rgb, 3) < 1e-3);
    nlcl_image_free(&im);
    CHECK_ERR(nlcl_image_load_memory(b, n - 10, "cut.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "cut.bmp: corrupt BMP: embedded ICC profile");
    n = write_bmp_v5(b, rgb, W, H, "KNIL", NULL, 0, 0);
    CHECK_ERR(nlcl_image_load_memory(b, n, "link.bmp", &im, NULL), NLCL_ERR_UNSUPPORTED,
              "link.bmp: BMP linking an external ICC profile");
    n = write_bmp_v5(b, rgb, W, H, "\0\0\0\0", NULL, 0, 1);
    CHECK_ERR(nlcl_image_load_memory(b, n, "calib.bmp", &im, NULL), NLCL_ERR_UNSUPPORTED,
              "calib.bmp: BMP with a calibrated RGB colour space");
    /* calibrated with nothing filled in, or sRGB: the samples as they are */
    n = write_bmp_v5(b, rgb, W, H, "\0\0\0\0", NULL, 0, 0);
    CHECK_OK(nlcl_image_load_memory(b, n, "zero.bmp", &im, &info));
    if (im.data) {
        uint8_t got[W * H * 3];
        nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, got);
        CHECK(!memcmp(got, rgb, sizeof got) && !info.colour_converted);
        nlcl_image_free(&im);
    }
    free(lin);
}

static void icc_cmyk(void) {
    enum { W = 16, H = 4 };
    uint8_t cmyk[W * H * 4];
    for (int i = 0; i < W * H; i++) { /* full C, M, Y ink (inverted: 0); K varies */
        cmyk[4 * i] = cmyk[4 * i + 1] = cmyk[4 * i + 2] = 0;
        cmyk[4 * i + 3] = (uint8_t)(i * 4);
    }
    size_t nc;
    uint8_t *cm = cmyk_profile(&nc);
    jpeg_opts jo = {4, JCS_CMYK, JCS_UNKNOWN, 0, cm, nc, 0};
    size_t n;
    uint8_t *j = write_jpeg_mem(cmyk, W, H, &jo, &n);
    int comps;
    uint8_t *raw = read_jpeg_raw(j, n, &comps);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load_memory(j, n, "prof.jpg", &im, &info));
    if (im.data && raw) {
        double m = 0;
        for (int i = 0; i < W * H; i++) {
            double k = 1.0 - raw[4 * i + 3] / 255.0; /* ink (Adobe: stored inverted) */
            double L = 100 * (1 - k), f = (L + 16) / 116;
            double Y = L > 8 ? f * f * f : L / 903.2963;
            double want = srgb_encode(Y) * 2 - 1;
            for (int c = 0; c < 3; c++) m = fmax(m, fabs(px(&im, c, i / W, i % W) - want));
        }
        /* the naive formula would give black (full C, M, Y ink) */
        CHECK_MSG(m < 2.0 / 255 && info.colour_converted, "CMYK through its profile: error %g", m);
        nlcl_image_free(&im);
    }
    free(raw);
    free(j);
    free(cm);
}

/* A CMYK profile's colours outside sRGB are counted as an RGB profile's
 * (info.gamut_clipped): half the pixels full cyan ink (Lab 50, -100, 0),
 * half no cyan (neutral greys, inside sRGB). */
static void icc_cmyk_clipped(void) {
    enum { W = 16, H = 4 };
    uint8_t cmyk[W * H * 4];
    for (int i = 0; i < W * H; i++) { /* stored inverted (Adobe): 255 = no ink */
        cmyk[4 * i] = i % 2 ? 0 : 255;
        cmyk[4 * i + 1] = cmyk[4 * i + 2] = 255;
        cmyk[4 * i + 3] = 128;
    }
    size_t nc, n;
    uint8_t *cm = cmyk_profile_of(k_green, &nc);
    jpeg_opts jo = {4, JCS_CMYK, JCS_UNKNOWN, 0, cm, nc, 0};
    uint8_t *j = write_jpeg_mem(cmyk, W, H, &jo, &n);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load_memory(j, n, "green.jpg", &im, &info));
    CHECK_MSG(info.cmyk && info.colour_converted && info.gamut_clipped == W * H / 2,
              "%llu pixels counted as clipped, expected %d", (unsigned long long)info.gamut_clipped, W * H / 2);
    if (im.data) /* the full-cyan pixels: clipped to the green edge of sRGB (R at 0, G above B) */
        CHECK(px(&im, 0, 0, 1) < -0.99f && px(&im, 1, 0, 1) > px(&im, 2, 0, 1) + 0.2f);
    nlcl_image_free(&im);
    free(j);
    free(cm);
}

static void png_gamma(void) {
    enum { W = 8, H = 5 };
    uint8_t rgb[W * H * 3];
    pattern(rgb, W, H, 3, 41);
    png_opts po = {0};
    CHECK(write_png(tpath("g0.png"), rgb, W, H, &po) == 0);
    po.gamma = 1 / 2.2;
    CHECK(write_png(tpath("g22.png"), rgb, W, H, &po) == 0);
    CHECK_MSG(same_as(tpath("g22.png"), tpath("g0.png")), "gAMA 1/2.2 changed the samples");
    po.gamma = 0, po.srgb = 1;
    CHECK(write_png(tpath("srgbchunk.png"), rgb, W, H, &po) == 0);
    CHECK(same_as(tpath("srgbchunk.png"), tpath("g0.png")));
    static const double chrm[8] = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};
    for (int with_chrm = 0; with_chrm < 2; with_chrm++) {
        png_opts pl = {.gamma = 1.0, .chrm = with_chrm ? chrm : NULL};
        CHECK(write_png(tpath("g1.png"), rgb, W, H, &pl) == 0);
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(tpath("g1.png"), &im, &info));
        if (im.data) {
            double e = linear_err(&im, rgb, 3);
            CHECK_MSG(e < 1e-3 && info.colour_converted, "gAMA 1.0 (cHRM %d): max error %g",
                      with_chrm, e);
            nlcl_image_free(&im);
        }
    }
}

/* Colours outside sRGB (a wide-gamut profile's primaries) are clipped and
 * counted in info.gamut_clipped; neutral colours and sRGB profiles count
 * nothing. Oracle: the pixels are pure primaries of Rec. 2020 (each lies
 * outside sRGB) or greys (inside every RGB space with a D65 white). */
static void gamut(void) {
    enum { W = 6, H = 4 };
    uint8_t rgb[W * H * 3];
    int primaries = 0;
    for (int i = 0; i < W * H; i++) {
        uint8_t *p = rgb + 3 * i;
        if (i % 2 == 0) { /* a pure primary, cycling red, green, blue */
            p[0] = p[1] = p[2] = 0;
            p[(i / 2) % 3] = 255;
            primaries++;
        } else {
            p[0] = p[1] = p[2] = (uint8_t)(i * 10);
        }
    }
    static const double rec2020[8] = {0.3127, 0.3290, 0.708, 0.292, 0.170, 0.797, 0.131, 0.046};
    const cmsCIExyYTRIPLE wide = {{rec2020[2], rec2020[3], 1}, {rec2020[4], rec2020[5], 1},
                                  {rec2020[6], rec2020[7], 1}};
    cmsToneCurve *g = cmsBuildGamma(NULL, 2.2), *c[3] = {g, g, g};
    size_t nw = 0, ns = 0;
    uint8_t *wide_icc = profile_bytes(cmsCreateRGBProfile(&d65, &wide, c), &nw);
    uint8_t *srgb_icc = profile_bytes(cmsCreate_sRGBProfile(), &ns);
    cmsFreeToneCurve(g);
    const png_opts cases[3] = {{.icc = wide_icc, .icc_len = nw}, {.gamma = 1 / 2.2, .chrm = rec2020},
                               {.icc = srgb_icc, .icc_len = ns}};
    const uint64_t want[3] = {(uint64_t)primaries, (uint64_t)primaries, 0};
    for (int k = 0; k < 3; k++) {
        CHECK(write_png(tpath("gamut.png"), rgb, W, H, &cases[k]) == 0);
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(tpath("gamut.png"), &im, &info));
        CHECK_MSG(info.gamut_clipped == want[k], "case %d: %llu pixels clipped, expected %llu", k,
                  (unsigned long long)info.gamut_clipped, (unsigned long long)want[k]);
        nlcl_image_free(&im);
    }
    free(wide_icc);
    free(srgb_icc);
}

/* An animated PNG (an acTL chunk after IHDR) is refused: nlcl would read
 * only its default image. */
static void apng(void) {
    uint8_t rgb[4 * 4 * 3];
    pattern(rgb, 4, 4, 3, 9);
    png_opts po = {0};
    CHECK(write_png(tpath("still.png"), rgb, 4, 4, &po) == 0);
    FILE *f = fopen(tpath("still.png"), "rb");
    uint8_t b[4096];
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    CHECK(n > 33 && n < sizeof b - 20);
    uint8_t out[4096 + 20];
    size_t at = 8 + 25; /* signature + IHDR */
    memcpy(out, b, at);
    static const uint8_t actl[20] = {0, 0, 0, 8, 'a', 'c', 'T', 'L', 0, 0, 0, 2, 0, 0, 0, 0};
    memcpy(out + at, actl, 16);
    uint32_t c = test_crc32(actl + 4, 12);
    out[at + 16] = (uint8_t)(c >> 24), out[at + 17] = (uint8_t)(c >> 16);
    out[at + 18] = (uint8_t)(c >> 8), out[at + 19] = (uint8_t)c;
    memcpy(out + at + 20, b + at, n - at);
    nlcl_image im;
    CHECK_ERR(nlcl_image_load_memory(out, n + 20, "anim.png", &im, NULL), NLCL_ERR_UNSUPPORTED,
              "anim.png: animated PNG (APNG) is not supported");
    CHECK(im.data == NULL);
    CHECK_OK(nlcl_image_load_memory(b, n, "still.png", &im, NULL));
    nlcl_image_free(&im);
}

/* Transparency: counted on every load (RGBA, grey+alpha, 16-bit, a PNG
 * colour key, a BMP alpha mask); refused when asked (the nlcl command asks),
 * naming the file and the count; an opaque alpha is never refused. */
static void transparency(void) {
    enum { W = 6, H = 4, N = W * H };
    uint8_t rgba[N * 4], ga16[N * 4], grey[N];
    pattern(rgba, W, H, 4, 61);
    pattern(grey, W, H, 1, 62);
    uint64_t want = 0;
    for (int i = 0; i < N; i++) {
        rgba[4 * i + 3] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 128 : 255);
        want += rgba[4 * i + 3] != 255;
        ga16[4 * i] = ga16[4 * i + 1] = (uint8_t)i;         /* grey, host order */
        ga16[4 * i + 2] = ga16[4 * i + 3] = i == 5 ? 0xfe : 0xff; /* 65534: not opaque */
    }
    /* write an RGBA and a 16-bit grey+alpha PNG with libpng */
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(tpath(k ? "ga16.png" : "rgba.png"), "wb");
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        png_init_io(png, f);
        png_set_IHDR(png, info, W, H, k ? 16 : 8, k ? PNG_COLOR_TYPE_GRAY_ALPHA : PNG_COLOR_TYPE_RGB_ALPHA,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        if (k) png_set_swap(png);
        for (int y = 0; y < H; y++) png_write_row(png, (k ? ga16 : rgba) + (size_t)y * W * 4);
        png_write_end(png, info);
        png_destroy_write_struct(&png, &info);
        fclose(f);
    }
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(tpath("rgba.png"), &im, &info));
    CHECK_MSG(info.transparent == want, "RGBA: %llu transparent, want %llu",
              (unsigned long long)info.transparent, (unsigned long long)want);
    nlcl_image_free(&im);
    CHECK_OK(nlcl_image_load(tpath("ga16.png"), &im, &info));
    CHECK(info.transparent == 1);
    nlcl_image_free(&im);
    /* a grey colour key (tRNS): the pixels of that grey are transparent */
    {
        FILE *f = fopen(tpath("key.png"), "wb");
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info2 = png_create_info_struct(png);
        png_init_io(png, f);
        png_set_IHDR(png, info2, W, H, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_color_16 key = {0, 0, 0, 0, grey[0]};
        png_set_tRNS(png, info2, NULL, 0, &key);
        png_write_info(png, info2);
        for (int y = 0; y < H; y++) png_write_row(png, grey + (size_t)y * W);
        png_write_end(png, info2);
        png_destroy_write_struct(&png, &info2);
        fclose(f);
    }
    uint64_t keyed = 0;
    for (int i = 0; i < N; i++) keyed += grey[i] == grey[0];
    CHECK_OK(nlcl_image_load(tpath("key.png"), &im, &info));
    CHECK(info.transparent == keyed && im.data && px(&im, 0, 0, 0) == (float)(grey[0] / 255.0 * 2 - 1));
    nlcl_image_free(&im);
    /* refused when asked, naming the file and the count; opaque is fine */
    nlcl_image_set_refuse_transparent(1);
    char sub[64];
    snprintf(sub, sizeof sub, "rgba.png: %llu of %d pixels are transparent", (unsigned long long)want, N);
    CHECK_ERR(nlcl_image_load(tpath("rgba.png"), &im, &info), NLCL_ERR_UNSUPPORTED, sub);
    CHECK(im.data == NULL);
    for (int i = 0; i < N; i++) rgba[4 * i + 3] = 255;
    {
        FILE *f = fopen(tpath("opaque.png"), "wb");
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info2 = png_create_info_struct(png);
        png_init_io(png, f);
        png_set_IHDR(png, info2, W, H, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info2);
        for (int y = 0; y < H; y++) png_write_row(png, rgba + (size_t)y * W * 4);
        png_write_end(png, info2);
        png_destroy_write_struct(&png, &info2);
        fclose(f);
    }
    CHECK_OK(nlcl_image_load(tpath("opaque.png"), &im, &info));
    CHECK(info.transparent == 0);
    nlcl_image_free(&im);
    nlcl_image_set_refuse_transparent(0);
    /* TIFF: an alpha extra sample, contiguous RGBA and planar grey+alpha
     * (16-bit); an extra sample that is not alpha counts nothing */
    for (int i = 0; i < N; i++) rgba[4 * i + 3] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 128 : 255);
    for (int k = 0; k < 3; k++) {
        TIFF *t = TIFFOpen(tpath("alpha.tif"), "w");
        const int planar = k == 1, spp = k == 1 ? 2 : 4, bps = k == 1 ? 16 : 8;
        uint16_t ex = k == 2 ? EXTRASAMPLE_UNSPECIFIED : EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)W);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)H);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bps);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, k == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &ex);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)H);
        if (planar) {
            uint16_t row[W];
            for (int p = 0; p < 2; p++)
                for (int y = 0; y < H; y++) {
                    for (int x = 0; x < W; x++)
                        row[x] = p ? (y * W + x == 5 ? 65534 : 65535) : (uint16_t)(x * 999);
                    TIFFWriteScanline(t, row, (uint32_t)y, (uint16_t)p);
                }
        } else {
            for (int y = 0; y < H; y++) TIFFWriteScanline(t, rgba + (size_t)y * W * 4, (uint32_t)y, 0);
        }
        TIFFClose(t);
        CHECK_OK(nlcl_image_load(tpath("alpha.tif"), &im, &info));
        uint64_t w = k == 0 ? want : k == 1 ? 1 : 0;
        CHECK_MSG(info.transparent == w, "TIFF case %d: %llu transparent, want %llu", k,
                  (unsigned long long)info.transparent, (unsigned long long)w);
        if (k == 1 && im.data) CHECK(px(&im, 0, 0, 1) == (float)(999 / 65535.0 * 2 - 1));
        nlcl_image_free(&im);
    }
    /* a command whose outputs have no alpha (synth) refuses a transparent
     * input and writes nothing (derain keeps it: tests/cli/faithful.sh) */
    const char *bin = getenv("NLCL_BIN");
    if (bin) {
        CHECK(test_system("'%s' synth -o '%s/tr' '%s' 2>'%s/tr.err'", bin, test_tmpdir(),
                          tpath("rgba.png"), test_tmpdir()) == 1);
        CHECK(test_system("grep -q 'rgba.png: .* pixels are transparent' '%s/tr.err'", test_tmpdir()) == 0);
        CHECK(test_system("test ! -e '%s/tr'", test_tmpdir()) == 0);
        CHECK(test_system("'%s' derain -q -o '%s/op' '%s'", bin, test_tmpdir(), tpath("opaque.png")) == 0);
    }
}

/* A PNG of any colour type from rows of host-order samples (16-bit swapped
 * by libpng); palette and tRNS optional. */
static int write_png_raw(const char *path, int w, int h, int bd, int ct, const uint8_t *d,
                         const png_color *pal, int npal, const uint8_t *trns, int ntrns) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bd, ct, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    if (bd == 16) png_set_swap(png);
    const int ch = ct == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    const size_t row = (size_t)w * (size_t)ch * (size_t)(bd / 8);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(d + row * (size_t)y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 ? 0 : -1;
}

/* Transparency carried: nlcl_image_load_alpha gives the opacity exactly
 * (RGBA, 16-bit grey+alpha, palette tRNS), nlcl_image_save_png_alpha writes
 * it back: an 8-bit RGBA PNG comes out byte for byte as it went in (read by
 * libpng's simplified API), a 16-bit one keeps its 65536 levels; opaque
 * images give no alpha. */
static void alpha_png(void) {
    enum { W = 7, H = 5, N = W * H };
    uint8_t rgba[N * 4], back[N * 4];
    uint16_t ga16[N * 2];
    pattern(rgba, W, H, 4, 71);
    for (int i = 0; i < N; i++) {
        ga16[2 * i] = (uint16_t)(i * 1871 + 3);
        ga16[2 * i + 1] = (uint16_t)(i % 4 == 0 ? 65535 : i * 1733 + 1);
    }
    nlcl_image im;
    nlcl_image_info info;
    float *a = NULL;
    CHECK(write_png_raw(tpath("a8.png"), W, H, 8, PNG_COLOR_TYPE_RGB_ALPHA, rgba, NULL, 0, NULL, 0) == 0);
    CHECK_OK(nlcl_image_load_alpha(tpath("a8.png"), &im, &a, &info));
    long bad = 0;
    for (int i = 0; a && i < N; i++) bad += a[i] != (float)(rgba[4 * i + 3] / 255.0);
    CHECK_MSG(a && bad == 0, "RGBA: %ld alpha values differ", bad);
    CHECK_OK(nlcl_image_save_png_alpha(tpath("a8_out.png"), &im, a, NLCL_QUANT_ROUND, 0));
    png_image pi = {.version = PNG_IMAGE_VERSION};
    CHECK(png_image_begin_read_from_file(&pi, tpath("a8_out.png")) && pi.width == W &&
          pi.format == PNG_FORMAT_RGBA);
    pi.format = PNG_FORMAT_RGBA;
    CHECK(png_image_finish_read(&pi, NULL, back, 0, NULL));
    CHECK_MSG(!memcmp(back, rgba, sizeof rgba), "RGBA PNG changed by load_alpha + save_png_alpha");
    free(a);
    nlcl_image_free(&im);
    /* 16-bit grey + alpha: a 16-bit RGBA PNG with the same levels */
    CHECK(write_png_raw(tpath("ga16.png"), W, H, 16, PNG_COLOR_TYPE_GRAY_ALPHA, (uint8_t *)ga16, NULL,
                        0, NULL, 0) == 0);
    CHECK_OK(nlcl_image_load_alpha(tpath("ga16.png"), &im, &a, &info));
    bad = 0;
    for (int i = 0; a && i < N; i++) bad += a[i] != (float)(ga16[2 * i + 1] / 65535.0);
    CHECK_MSG(a && bad == 0, "16-bit grey+alpha: %ld alpha values differ", bad);
    CHECK_OK(nlcl_image_save_png_alpha(tpath("ga16_out.png"), &im, a, NLCL_QUANT_ROUND, 1));
    nlcl_image im2;
    float *a2 = NULL;
    CHECK_OK(nlcl_image_load_alpha(tpath("ga16_out.png"), &im2, &a2, &info));
    CHECK(info.bit_depth == 16 && info.channels == 4);
    CHECK(a && a2 && !memcmp(a, a2, sizeof(float) * N) && im.data && im2.data &&
          !memcmp(im.data, im2.data, sizeof(float) * 3 * N));
    free(a), free(a2);
    nlcl_image_free(&im), nlcl_image_free(&im2);
    /* palette with tRNS: the entries' opacity */
    const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 9, 9}};
    const uint8_t trns[3] = {0, 100, 254};
    uint8_t idx[N];
    for (int i = 0; i < N; i++) idx[i] = (uint8_t)(i % 4);
    CHECK(write_png_raw(tpath("pal.png"), W, H, 8, PNG_COLOR_TYPE_PALETTE, idx, pal, 4, trns, 3) == 0);
    CHECK_OK(nlcl_image_load_alpha(tpath("pal.png"), &im, &a, &info));
    bad = 0;
    for (int i = 0; a && i < N; i++) bad += a[i] != (float)((idx[i] < 3 ? trns[idx[i]] : 255) / 255.0);
    CHECK_MSG(a && bad == 0, "palette tRNS: %ld alpha values differ", bad);
    free(a);
    nlcl_image_free(&im);
    /* opaque: no alpha */
    for (int i = 0; i < N; i++) rgba[4 * i + 3] = 255;
    CHECK(write_png_raw(tpath("op.png"), W, H, 8, PNG_COLOR_TYPE_RGB_ALPHA, rgba, NULL, 0, NULL, 0) == 0);
    a = (float *)1;
    CHECK_OK(nlcl_image_load_alpha(tpath("op.png"), &im, &a, &info));
    CHECK(a == NULL && info.transparent == 0);
    nlcl_image_free(&im);
}

/* An arithmetic-coded JPEG decodes to the same pixels as the Huffman-coded
 * one of the same data (entropy coding is lossless: the same coefficients). */
static void jpeg_arith(void) {
    enum { W = 19, H = 13 };
    uint8_t rgb[W * H * 3];
    pattern(rgb, W, H, 3, 81);
    nlcl_image a = {0}, b = {0};
    size_t na = 0, nb = 0;
    const jpeg_opts ho = {.comps = 3, .in = JCS_RGB, .store = JCS_UNKNOWN};
    jpeg_opts ao = ho;
    ao.arith = 1;
    uint8_t *hj = write_jpeg_mem(rgb, W, H, &ho, &nb), *aj = write_jpeg_mem(rgb, W, H, &ao, &na);
    CHECK(hj && aj && (na != nb || memcmp(hj, aj, na) != 0)); /* really another coding */
    CHECK_OK(nlcl_image_load_memory(hj, nb, "huffman.jpg", &b, NULL));
    CHECK_OK(nlcl_image_load_memory(aj, na, "arith.jpg", &a, NULL));
    CHECK_MSG(a.data && b.data && !memcmp(a.data, b.data, sizeof(float) * 3 * W * H),
              "arithmetic-coded JPEG decodes differently");
    nlcl_image_free(&a), nlcl_image_free(&b);
    free(hj), free(aj);
}

int main(void) {
    orientation_jpeg();
    orientation_png_tiff();
    cmyk_case("adobe_cmyk.jpg", JCS_UNKNOWN, 0);
    cmyk_case("plain_cmyk.jpg", JCS_UNKNOWN, 1);
    cmyk_case("ycck.jpg", JCS_YCCK, 0);
    cmyk_pil_fixture();
    icc_rgb();
    icc_cmyk();
    icc_cmyk_clipped();
    icc_bmp();
    png_gamma();
    gamut();
    apng();
    transparency();
    alpha_png();
    jpeg_arith();
    return test_finish("test_image_meta");
}
