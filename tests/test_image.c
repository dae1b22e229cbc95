/* PNG/JPEG loading and saving (include/nlcl/image.h).
 *
 * Oracles: inputs written here byte by byte or with libpng/libjpeg directly,
 * whose decoded values follow from the file's samples by the closed form
 * x = v / (2^bits - 1) * 2 - 1; PIL 9.4's decoded bytes for the committed
 * JPEG fixtures (tests/fixtures/make_image_fixtures.py) and FNV-1a hashes of
 * PIL's decoding of ../shared/data photos (computed once with PIL, below);
 * numpy's float32 arithmetic for the truncating quantiser. Covers every
 * decoding class of docs/bad-inputs.md: colour modes, alpha, 16-bit, corrupt
 * files, odd sizes, tiny images, the pixel limit. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>
#include <png.h>

#include "harness.h"
#include "nlcl/image.h"

#define FIX "tests/fixtures/image/"

/* ---- helpers ----------------------------------------------------------------------- */

static float px(const nlcl_image *im, int c, int y, int x) {
    return im->data[((size_t)c * im->height + y) * im->width + x];
}

static float f8(unsigned v) { return (float)((double)v / 255.0 * 2.0 - 1.0); }
static float f16(unsigned v) { return (float)((double)v / 65535.0 * 2.0 - 1.0); }

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Number of entries in a folder whose name starts with `prefix`. */
static int count_prefix(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

/* Write a PNG with libpng directly. `rows` holds h rows of packed samples in
 * PNG order (sub-byte samples MSB first, 16-bit big-endian). */
typedef struct png_spec {
    int w, h, bit_depth, color_type, interlace;
    const png_color *palette;
    int npal;
    const uint8_t *trns;
    int ntrns;
    const char *text; /* a tEXt chunk "Comment" (optional) */
} png_spec;

static size_t png_rowbytes(const png_spec *s) {
    int ch = s->color_type == PNG_COLOR_TYPE_GRAY || s->color_type == PNG_COLOR_TYPE_PALETTE ? 1
             : s->color_type == PNG_COLOR_TYPE_GRAY_ALPHA                                    ? 2
             : s->color_type == PNG_COLOR_TYPE_RGB                                           ? 3
                                                                                             : 4;
    return ((size_t)s->w * (size_t)ch * (size_t)s->bit_depth + 7) / 8;
}

static int write_png(const char *path, const png_spec *s, const uint8_t *data) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)s->h);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        free(rows);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->bit_depth, s->color_type,
                 s->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) png_set_PLTE(png, info, s->palette, s->npal);
    if (s->trns) png_set_tRNS(png, info, s->trns, s->ntrns, NULL);
    if (s->text) {
        png_text t;
        memset(&t, 0, sizeof t);
        t.compression = PNG_TEXT_COMPRESSION_NONE;
        t.key = (png_charp) "Comment";
        t.text = (png_charp)s->text;
        png_set_text(png, info, &t, 1);
    }
    size_t rb = png_rowbytes(s);
    for (int y = 0; y < s->h; y++) rows[y] = (png_bytep)data + (size_t)y * rb;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return fclose(f) == 0 ? 0 : -1;
}

/* Write a JPEG with libjpeg directly (any colour space). */
static int write_jpeg(const char *path, int w, int h, int comps, J_COLOR_SPACE cs,
                      const uint8_t *data, int quality) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)data + (size_t)c.next_scanline * (size_t)w * (size_t)comps;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(f) == 0 ? 0 : -1;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Append a PNG chunk (length, type, data, CRC) at b + *n. */
static void chunk(uint8_t *b, size_t *n, const char *type, const uint8_t *data, uint32_t len) {
    put_be32(b + *n, len);
    memcpy(b + *n + 4, type, 4);
    if (len) memcpy(b + *n + 8, data, len);
    put_be32(b + *n + 8 + len, test_crc32(b + *n + 4, 4 + (size_t)len));
    *n += 12 + (size_t)len;
}

/* A PNG that only claims its size: signature, IHDR, a few IDAT bytes, IEND. */
static size_t fake_png(uint8_t *b, uint32_t w, uint32_t h) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = 8;
    memcpy(b, sig, 8);
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    chunk(b, &n, "IHDR", ihdr, 13);
    static const uint8_t idat[8] = {0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 0};
    chunk(b, &n, "IDAT", idat, 8);
    chunk(b, &n, "IEND", NULL, 0);
    return n;
}

/* Offset of the first chunk of `type` in a PNG buffer (its length field). */
static size_t find_chunk(const uint8_t *b, size_t n, const char *type) {
    size_t p = 8;
    while (p + 12 <= n) {
        uint32_t len = (uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 |
                       b[p + 3];
        if (memcmp(b + p + 4, type, 4) == 0) return p;
        p += 12 + (size_t)len;
    }
    return 0;
}

static void fill_noise(uint8_t *b, size_t n, uint64_t seed) {
    nlcl_rng r;
    nlcl_rng_seed(&r, seed, 7);
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)nlcl_rng_below(&r, 256);
}

/* ---- colour modes, alpha, bit depths ---------------------------------------------------- */

static void test_rgb8_and_alpha(void) {
    /* 32x32 RGB and RGBA (alpha cycling 0/128/255): RGB must come out unchanged. */
    enum { W = 32, H = 32 };
    static uint8_t rgb[W * H * 3], rgba[W * H * 4];
    fill_noise(rgb, sizeof rgb, 1);
    for (int i = 0; i < W * H; i++) {
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 128 : 255);
    }
    png_spec s = {W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL};
    CHECK(write_png(test_path("rgb.png"), &s, rgb) == 0);
    s.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    CHECK(write_png(test_path("rgba.png"), &s, rgba) == 0);
    const char *names[2] = {"rgb.png", "rgba.png"};
    for (int k = 0; k < 2; k++) {
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(test_path(names[k]), &im, &info));
        if (!im.data) continue;
        CHECK(im.width == W && im.height == H);
        CHECK(info.channels == (k ? 4 : 3) && info.bit_depth == 8 && !info.is_jpeg && !info.palette);
        int bad = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) bad += px(&im, c, y, x) != f8(rgb[(y * W + x) * 3 + c]);
        CHECK_MSG(bad == 0, "%s: %d samples differ", names[k], bad);
        nlcl_image_free(&im);
        CHECK(im.data == NULL && im.width == 0);
    }
    /* grey+alpha, 8 and 16 bits: grey replicated, alpha ignored */
    static uint8_t ga[W * H * 2], ga16[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        ga[2 * i] = (uint8_t)(i * 7);
        ga[2 * i + 1] = (uint8_t)(i % 3 == 0 ? 0 : 128);
        unsigned v = (unsigned)(i * 61) & 0xffff;
        ga16[4 * i] = (uint8_t)(v >> 8);
        ga16[4 * i + 1] = (uint8_t)v;
        ga16[4 * i + 2] = 0;
        ga16[4 * i + 3] = (uint8_t)i;
    }
    s.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
    CHECK(write_png(test_path("ga.png"), &s, ga) == 0);
    s.bit_depth = 16;
    CHECK(write_png(test_path("ga16.png"), &s, ga16) == 0);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(test_path("ga.png"), &im, &info));
    CHECK(info.channels == 2 && info.bit_depth == 8);
    int bad = 0;
    for (int i = 0; im.data && i < W * H; i++)
        for (int c = 0; c < 3; c++) bad += px(&im, c, i / W, i % W) != f8(ga[2 * i]);
    CHECK_MSG(bad == 0, "grey+alpha: %d samples differ", bad);
    nlcl_image_free(&im);
    CHECK_OK(nlcl_image_load(test_path("ga16.png"), &im, &info));
    CHECK(info.channels == 2 && info.bit_depth == 16);
    bad = 0;
    for (int i = 0; im.data && i < W * H; i++)
        for (int c = 0; c < 3; c++)
            bad += px(&im, c, i / W, i % W) != f16((unsigned)(i * 61) & 0xffff);
    CHECK_MSG(bad == 0, "grey+alpha 16: %d samples differ", bad);
    nlcl_image_free(&im);
}

static void test_palette(void) {
    static const png_color pal[5] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {17, 34, 51}, {250, 128, 1}};
    static const uint8_t trns[2] = {0, 128};
    enum { W = 7, H = 5 };
    uint8_t idx[W * H];
    for (int i = 0; i < W * H; i++) idx[i] = (uint8_t)((i * 3) % 5);
    png_spec s = {W, H, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, pal, 5, NULL, 0, NULL};
    CHECK(write_png(test_path("pal.png"), &s, idx) == 0);
    s.trns = trns;
    s.ntrns = 2;
    CHECK(write_png(test_path("pal_trns.png"), &s, idx) == 0);
    /* 4-bit palette: indices packed two per byte, MSB first */
    uint8_t idx4[H * 4];
    memset(idx4, 0, sizeof idx4);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            idx4[y * 4 + x / 2] |= (uint8_t)(idx[y * W + x] << (x % 2 ? 0 : 4));
    s.bit_depth = 4;
    s.trns = NULL;
    s.ntrns = 0;
    CHECK(write_png(test_path("pal4.png"), &s, idx4) == 0);
    const char *names[3] = {"pal.png", "pal_trns.png", "pal4.png"};
    for (int k = 0; k < 3; k++) {
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(test_path(names[k]), &im, &info));
        if (!im.data) continue;
        CHECK(im.width == W && im.height == H);
        CHECK(info.palette == 1 && info.channels == (k == 1 ? 4 : 3) &&
              info.bit_depth == (k == 2 ? 4 : 8));
        int bad = 0;
        for (int i = 0; i < W * H; i++) {
            const png_color *p = &pal[idx[i]];
            bad += px(&im, 0, i / W, i % W) != f8(p->red);
            bad += px(&im, 1, i / W, i % W) != f8(p->green);
            bad += px(&im, 2, i / W, i % W) != f8(p->blue);
        }
        CHECK_MSG(bad == 0, "%s: %d samples differ from the palette", names[k], bad);
        nlcl_image_free(&im);
    }
}

static void test_low_bit_grey(void) {
    /* 1/2/4-bit grey: every level, scaled to the full range (2-bit 1 -> 85/255). */
    static const int depths[3] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
        int bd = depths[k], levels = 1 << bd, w = 16, h = 2;
        uint8_t rows[2 * 8];
        memset(rows, 0, sizeof rows);
        size_t rb = ((size_t)w * (size_t)bd + 7) / 8;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = (x + y) % levels, bit = x * bd;
                rows[y * (int)rb + bit / 8] |= (uint8_t)(v << (8 - bd - bit % 8));
            }
        png_spec s = {w, h, bd, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL};
        char name[32];
        snprintf(name, sizeof name, "grey%d.png", bd);
        CHECK(write_png(test_path(name), &s, rows) == 0);
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(test_path(name), &im, &info));
        if (!im.data) continue;
        CHECK(info.bit_depth == bd && info.channels == 1);
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                unsigned v = (unsigned)((x + y) % levels), u8 = v * 255u / (unsigned)(levels - 1);
                for (int c = 0; c < 3; c++) bad += px(&im, c, y, x) != f8(u8);
            }
        CHECK_MSG(bad == 0, "%d-bit grey: %d samples wrong", bd, bad);
        if (bd == 1) CHECK(px(&im, 0, 0, 1) == 1.0f && px(&im, 0, 0, 0) == -1.0f);
        if (bd == 2) CHECK(px(&im, 1, 0, 1) == f8(85));
        if (bd == 4) CHECK(px(&im, 2, 0, 1) == f8(17));
        nlcl_image_free(&im);
    }
}

static void test_16bit(void) {
    /* 256x16 ramp 0..65535 (4096 steps), grey and RGB: scaled, never clipped. */
    enum { W = 256, H = 16, N = W * H };
    static uint8_t g16[N * 2], rgb16[N * 6];
    unsigned v[N];
    for (int i = 0; i < N; i++) {
        v[i] = (unsigned)(((uint64_t)i * 65535 + 2047) / 4095);
        g16[2 * i] = (uint8_t)(v[i] >> 8);
        g16[2 * i + 1] = (uint8_t)v[i];
        unsigned c3[3] = {v[i], 65535 - v[i], (v[i] * 7) & 0xffff};
        for (int c = 0; c < 3; c++) {
            rgb16[6 * i + 2 * c] = (uint8_t)(c3[c] >> 8);
            rgb16[6 * i + 2 * c + 1] = (uint8_t)c3[c];
        }
    }
    png_spec s = {W, H, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL};
    CHECK(write_png(test_path("ramp16.png"), &s, g16) == 0);
    s.color_type = PNG_COLOR_TYPE_RGB;
    CHECK(write_png(test_path("ramp16rgb.png"), &s, rgb16) == 0);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(test_path("ramp16.png"), &im, &info));
    if (im.data) {
        CHECK(info.bit_depth == 16 && info.channels == 1);
        CHECK(im.data[0] == -1.0f && im.data[N - 1] == 1.0f);
        int bad = 0, mono = 0;
        for (int i = 0; i < N; i++) {
            bad += im.data[i] != f16(v[i]) || im.data[N + i] != im.data[i] ||
                   im.data[2 * N + i] != im.data[i];
            if (i) mono += !(im.data[i] > im.data[i - 1]);
        }
        CHECK_MSG(bad == 0 && mono == 0, "16-bit grey ramp: %d wrong, %d not increasing", bad, mono);
        nlcl_image_free(&im);
    }
    CHECK_OK(nlcl_image_load(test_path("ramp16rgb.png"), &im, &info));
    if (im.data) {
        CHECK(info.bit_depth == 16 && info.channels == 3);
        int bad = 0;
        for (int i = 0; i < N; i++)
            bad += im.data[i] != f16(v[i]) || im.data[N + i] != f16(65535 - v[i]) ||
                   im.data[2 * N + i] != f16((v[i] * 7) & 0xffff);
        CHECK_MSG(bad == 0, "16-bit RGB ramp: %d samples wrong", bad);
        CHECK(im.data[0] == -1.0f && im.data[N] == 1.0f);
        nlcl_image_free(&im);
    }
    /* All 65536 levels (256x256 grey, one of each) stay distinct after load. */
    static uint8_t all[65536 * 2];
    for (unsigned i = 0; i < 65536; i++) {
        all[2 * i] = (uint8_t)(i >> 8);
        all[2 * i + 1] = (uint8_t)i;
    }
    png_spec a = {256, 256, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL};
    CHECK(write_png(test_path("all16.png"), &a, all) == 0);
    CHECK_OK(nlcl_image_load(test_path("all16.png"), &im, NULL));
    if (im.data) {
        int mono = 0;
        for (int i = 1; i < 65536; i++) mono += !(im.data[i] > im.data[i - 1]);
        CHECK_MSG(mono == 0, "%d of 65536 16-bit levels collapsed", mono);
        CHECK(im.data[0] == -1.0f && im.data[65535] == 1.0f);
        /* and save at 16 bits reproduces them exactly */
        CHECK_OK(nlcl_image_save_png(test_path("all16_out.png"), &im, NLCL_QUANT_ROUND, 1));
        nlcl_image back;
        nlcl_image_info bi;
        CHECK_OK(nlcl_image_load(test_path("all16_out.png"), &back, &bi));
        CHECK(bi.bit_depth == 16 && bi.channels == 3);
        if (back.data)
            CHECK(test_max_abs_diff(back.data, im.data, (size_t)3 * 65536) == 0.0);
        nlcl_image_free(&back);
        CHECK_OK(nlcl_image_save_png(test_path("all16_trunc.png"), &im, NLCL_QUANT_TRUNCATE, 1));
        nlcl_image_free(&im);
    }
}

static void test_interlaced(void) {
    enum { W = 37, H = 29 };
    static uint8_t rgb[W * H * 3], g16[W * H * 2];
    fill_noise(rgb, sizeof rgb, 3);
    fill_noise(g16, sizeof g16, 4);
    png_spec s = {W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, NULL, 0, NULL, 0, NULL};
    CHECK(write_png(test_path("adam7.png"), &s, rgb) == 0);
    s.bit_depth = 16;
    s.color_type = PNG_COLOR_TYPE_GRAY;
    CHECK(write_png(test_path("adam7_16.png"), &s, g16) == 0);
    nlcl_image im;
    CHECK_OK(nlcl_image_load(test_path("adam7.png"), &im, NULL));
    int bad = 0;
    for (int i = 0; im.data && i < W * H; i++)
        for (int c = 0; c < 3; c++) bad += px(&im, c, i / W, i % W) != f8(rgb[3 * i + c]);
    CHECK_MSG(bad == 0, "interlaced RGB: %d samples wrong", bad);
    nlcl_image_free(&im);
    CHECK_OK(nlcl_image_load(test_path("adam7_16.png"), &im, NULL));
    bad = 0;
    for (int i = 0; im.data && i < W * H; i++)
        bad += px(&im, 1, i / W, i % W) != f16((unsigned)g16[2 * i] << 8 | g16[2 * i + 1]);
    CHECK_MSG(bad == 0, "interlaced 16-bit grey: %d samples wrong", bad);
    nlcl_image_free(&im);
}

static void test_grey_and_cmyk_jpeg(void) {
    enum { W = 19, H = 13 };
    uint8_t g[W * H], cmyk[W * H * 4];
    for (int i = 0; i < W * H; i++) g[i] = (uint8_t)(i % W * 12 + i / W * 3);
    fill_noise(cmyk, sizeof cmyk, 5);
    CHECK(write_jpeg(test_path("grey.jpg"), W, H, 1, JCS_GRAYSCALE, g, 90) == 0);
    CHECK(write_jpeg(test_path("cmyk.jpg"), W, H, 4, JCS_CMYK, cmyk, 90) == 0);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(test_path("grey.jpg"), &im, &info));
    if (im.data) {
        CHECK(info.is_jpeg && info.channels == 1 && info.bit_depth == 8 && im.width == W);
        size_t n = (size_t)W * H;
        CHECK(memcmp(im.data, im.data + n, n * sizeof(float)) == 0 &&
              memcmp(im.data, im.data + 2 * n, n * sizeof(float)) == 0);
        /* lossy, but close to the source */
        double maxd = 0;
        for (size_t i = 0; i < n; i++) maxd = fmax(maxd, fabs(im.data[i] - f8(g[i])));
        CHECK_MSG(maxd < 0.1, "grey JPEG differs by %g", maxd);
        nlcl_image_free(&im);
    }
    /* CMYK is converted to RGB (values: tests/test_image_meta.c) */
    CHECK_OK(nlcl_image_load(test_path("cmyk.jpg"), &im, &info));
    CHECK(im.width == W && im.height == H && info.cmyk && info.channels == 4);
    nlcl_image_free(&im);
}

/* ---- PIL equality -------------------------------------------------------------------------- */

static void check_pil_fixture(const char *jpg, const char *rgbfile, int w, int h, int ch) {
    nlcl_image im;
    nlcl_image_info info;
    size_t n = 0;
    uint8_t *want = test_read_file(rgbfile, &n);
    CHECK_MSG(want && n == (size_t)w * h * 3, "fixture %s missing or wrong size", rgbfile);
    CHECK_OK(nlcl_image_load(jpg, &im, &info));
    if (im.data && want && n == (size_t)w * h * 3) {
        CHECK(im.width == w && im.height == h && info.channels == ch && info.is_jpeg);
        uint8_t *got = malloc(n);
        nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, got);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++) diff += got[i] != want[i];
        CHECK_MSG(diff == 0, "%s: %zu of %zu bytes differ from PIL", jpg, diff, n);
        free(got);
    }
    nlcl_image_free(&im);
    free(want);
}

static void test_pil_fixtures(void) {
    check_pil_fixture(FIX "q90_420.jpg", FIX "q90_420.rgb", 23, 17, 3);
    check_pil_fixture(FIX "prog_422.jpg", FIX "prog_422.rgb", 31, 19, 3);
    check_pil_fixture(FIX "grey.jpg", FIX "grey.rgb", 13, 11, 1);
}

static void test_shared_photos(const char *data) {
    /* FNV-1a 64 of PIL 9.4's Image.open(f).convert("RGB").tobytes(). */
    static const test_pil_ref ref[] = {
        {"nlcl_official/rainy/Eg1.JPG", 1024, 512, 0xa01015b391328f54ull},
        {"nlcl_official/rainy/Eg2.JPG", 1024, 512, 0x3075c70188f9114aull},
        {"nlcl_official/rainy/Eg3.JPG", 1024, 512, 0xbb6ff6223020b5f9ull},
        {"nlcl_official/rainy/Eg4.JPG", 1024, 512, 0x5bfeabf957ac9e43ull},
        {"nlcl_official/rainy/Eg5.JPG", 1024, 512, 0x9392b011e3aed66aull},
        {"nlcl_official/official_output/Eg1.png", 1024, 512, 0x0bd0fd5d51691d75ull},
        {"real_rain/sirr/91.jpg", 4288, 2848, 0xcc8c9de4d6988191ull},
    };
    test_check_pil_hashes(data, ref, sizeof ref / sizeof ref[0]);
}

/* ---- corrupt files, limits, I/O errors ---------------------------------------------------- */

static void test_corrupt(void) {
    nlcl_image im;
    /* a 64x64 noise PNG with a tEXt chunk, then damaged copies */
    enum { W = 64, H = 64 };
    static uint8_t rgb[W * H * 3];
    fill_noise(rgb, sizeof rgb, 6);
    png_spec s = {W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, "hello"};
    CHECK(write_png(test_path("good.png"), &s, rgb) == 0);
    size_t n = 0;
    uint8_t *png = test_read_file(test_path("good.png"), &n);
    CHECK(png && n > 1000);
    if (!png || n <= 1000) return;
    CHECK_OK(nlcl_image_load(test_path("good.png"), &im, NULL));
    nlcl_image_free(&im);

    CHECK(test_write_file(test_path("cut60.png"), png, n * 6 / 10) == 0);
    CHECK_ERR(nlcl_image_load(test_path("cut60.png"), &im, NULL), NLCL_ERR_FORMAT,
              "cut60.png: PNG truncated");
    CHECK_ERR(nlcl_image_load(test_path("cut60.png"), &im, NULL), NLCL_ERR_FORMAT, "cut60.png: PNG truncated");
    CHECK(im.data == NULL && im.width == 0);
    /* cut just before IEND: the image data is complete but the file is not */
    CHECK(test_write_file(test_path("noiend.png"), png, n - 12) == 0);
    CHECK_ERR(nlcl_image_load(test_path("noiend.png"), &im, NULL), NLCL_ERR_FORMAT, "noiend.png: PNG truncated");
    /* signature only, and half a signature */
    CHECK(test_write_file(test_path("sig.png"), png, 8) == 0);
    CHECK_ERR(nlcl_image_load(test_path("sig.png"), &im, NULL), NLCL_ERR_FORMAT, "sig.png: PNG truncated");
    CHECK(test_write_file(test_path("sig4.png"), png, 4) == 0);
    CHECK_ERR(nlcl_image_load(test_path("sig4.png"), &im, NULL), NLCL_ERR_FORMAT, "sig4.png: PNG truncated");

    /* bad CRC: a flipped byte inside IDAT data, or in the (skipped) tEXt chunk */
    size_t idat = find_chunk(png, n, "IDAT"), text = find_chunk(png, n, "tEXt");
    CHECK(idat > 0 && text > 0);
    uint8_t *bad = malloc(n);
    memcpy(bad, png, n);
    bad[idat + 8 + 20] ^= 0x01;
    CHECK(test_write_file(test_path("badcrc.png"), bad, n) == 0);
    CHECK_ERR(nlcl_image_load(test_path("badcrc.png"), &im, NULL), NLCL_ERR_FORMAT, "badcrc.png: corrupt PNG: IDAT: CRC error");
    memcpy(bad, png, n);
    bad[text + 8 + 2] ^= 0x20;
    CHECK(test_write_file(test_path("badcrc_text.png"), bad, n) == 0);
    CHECK_ERR(nlcl_image_load(test_path("badcrc_text.png"), &im, NULL), NLCL_ERR_FORMAT, "badcrc_text.png: corrupt PNG: tEXt: CRC error");
    /* a corrupt zlib stream with a correct CRC */
    memcpy(bad, png, n);
    bad[idat + 8] = 0x00; /* zlib header byte */
    put_be32(bad + idat + 8 + ((uint32_t)png[idat + 2] << 8 | png[idat + 3]),
             test_crc32(bad + idat + 4, 4 + ((size_t)png[idat + 2] << 8 | png[idat + 3])));
    CHECK(png[idat] == 0 && png[idat + 1] == 0); /* IDAT shorter than 64 KiB */
    CHECK(test_write_file(test_path("badzlib.png"), bad, n) == 0);
    CHECK_ERR(nlcl_image_load(test_path("badzlib.png"), &im, NULL), NLCL_ERR_FORMAT, "badzlib.png: corrupt PNG");
    free(bad);

    /* 0-byte .jpg, text named .png, garbage after a JPEG SOI */
    CHECK(test_write_file(test_path("empty.jpg"), "", 0) == 0);
    CHECK_ERR(nlcl_image_load(test_path("empty.jpg"), &im, NULL), NLCL_ERR_FORMAT, "empty.jpg: empty file");
    const char *txt = "this is not an image\n";
    CHECK(test_write_file(test_path("text.png"), txt, strlen(txt)) == 0);
    CHECK_ERR(nlcl_image_load(test_path("text.png"), &im, NULL), NLCL_ERR_FORMAT, "text.png: not a PNG or JPEG file");
    static const uint8_t soi[6] = {0xFF, 0xD8, 0xFF, 0x00, 0x12, 0x34};
    CHECK(test_write_file(test_path("soi.jpg"), soi, 6) == 0);
    CHECK_ERR(nlcl_image_load(test_path("soi.jpg"), &im, NULL), NLCL_ERR_FORMAT, "soi.jpg: ");

    /* JPEG cut in half: baseline (generated) and progressive (fixture) */
    nlcl_image src;
    CHECK_OK(nlcl_image_alloc(&src, 64, 96));
    for (size_t i = 0; src.data && i < (size_t)3 * 96 * 64; i++) src.data[i] = (float)((i * 37) % 200) / 100.0f - 1.0f;
    CHECK_OK(nlcl_image_save_jpeg(test_path("whole.jpg"), &src, NLCL_QUANT_ROUND, 90));
    nlcl_image_free(&src);
    size_t jn = 0;
    uint8_t *jpg = test_read_file(test_path("whole.jpg"), &jn);
    CHECK(jpg && jn > 1000);
    CHECK(test_write_file(test_path("half.jpg"), jpg, jn / 2) == 0);
    CHECK_ERR(nlcl_image_load(test_path("half.jpg"), &im, NULL), NLCL_ERR_FORMAT, "half.jpg: JPEG truncated");
    CHECK(im.data == NULL);
    CHECK_ERR(nlcl_image_load_memory(jpg, jn / 2, "mem-half.jpg", &im, NULL), NLCL_ERR_FORMAT, "mem-half.jpg: JPEG truncated");
    /* only the final EOI missing: still truncated (PIL refuses it too) */
    CHECK(jpg[jn - 2] == 0xFF && jpg[jn - 1] == 0xD9);
    CHECK(test_write_file(test_path("noeoi.jpg"), jpg, jn - 2) == 0);
    CHECK_ERR(nlcl_image_load(test_path("noeoi.jpg"), &im, NULL), NLCL_ERR_FORMAT, "noeoi.jpg: JPEG truncated");
    /* corrupt entropy-coded data: a marker (FF D0..) in the middle of the scan */
    uint8_t *cj = malloc(jn);
    memcpy(cj, jpg, jn);
    cj[jn / 2] = 0xFF;
    cj[jn / 2 + 1] = 0xD3; /* RST3 where none is expected */
    CHECK_ERR(nlcl_image_load_memory(cj, jn, "rst.jpg", &im, NULL), NLCL_ERR_FORMAT, "rst.jpg: Corrupt JPEG data");
    /* 12-bit precision in the SOF: well-formed, not supported by this build */
    memcpy(cj, jpg, jn);
    for (size_t i = 2; i + 9 < jn; i++)
        if (cj[i] == 0xFF && cj[i + 1] == 0xC0) {
            CHECK(cj[i + 4] == 8);
            cj[i + 4] = 12;
            break;
        }
    CHECK_ERR(nlcl_image_load_memory(cj, jn, "p12.jpg", &im, NULL), NLCL_ERR_UNSUPPORTED, "p12.jpg: unsupported JPEG: Unsupported JPEG data precision 12");
    free(cj);
    free(jpg);
    size_t pn = 0;
    uint8_t *pj = test_read_file(FIX "prog_422.jpg", &pn);
    CHECK(pj && pn > 200);
    if (pj) {
        CHECK_ERR(nlcl_image_load_memory(pj, pn / 2, "prog-half.jpg", &im, NULL), NLCL_ERR_FORMAT, "prog-half.jpg: JPEG truncated");
        CHECK_OK(nlcl_image_load_memory(pj, pn, "prog.jpg", &im, NULL));
        nlcl_image_free(&im);
    }
    free(pj);

    /* I/O errors */
    CHECK_ERR(nlcl_image_load(test_path("missing.png"), &im, NULL), NLCL_ERR_IO, "missing.png: cannot open");
    CHECK_ERR(nlcl_image_load(test_tmpdir(), &im, NULL), NLCL_ERR_IO, "is a directory");
    CHECK_ERR(nlcl_image_load(NULL, &im, NULL), NLCL_ERR_INVALID_ARG, "nlcl_image_load: NULL");
    CHECK_ERR(nlcl_image_load_memory(NULL, 5, "x", &im, NULL), NLCL_ERR_INVALID_ARG, "x");
    /* format from the bytes, not the name */
    CHECK(test_write_file(test_path("really_png.jpg"), png, n) == 0);
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(test_path("really_png.jpg"), &im, &info));
    CHECK(!info.is_jpeg && im.width == W);
    nlcl_image_free(&im);
    CHECK_OK(nlcl_image_load_memory(png, n, "mem.png", &im, &info));
    CHECK(im.width == W && im.height == H && !info.is_jpeg);
    if (im.data) {
        int badpx = 0;
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < 3; c++) badpx += px(&im, c, i / W, i % W) != f8(rgb[3 * i + c]);
        CHECK(badpx == 0);
    }
    nlcl_image_free(&im);
    free(png);
}

static void test_pixel_limit(void) {
    nlcl_image im;
    nlcl_image_info info;
    uint8_t b[128];
    CHECK(nlcl_image_get_max_pixels() == NLCL_IMAGE_DEFAULT_MAX_PIXELS);
    /* a 69-byte PNG claiming 100000x100000: rejected before any allocation
     * (accepting it would need 120 GB, so an allocation attempt would give
     * NLCL_ERR_NOMEM, not NLCL_ERR_LIMIT) */
    size_t n = fake_png(b, 100000, 100000);
    CHECK(n < 100);
    CHECK(test_write_file(test_path("huge.png"), b, n) == 0);
    CHECK_ERR(nlcl_image_load(test_path("huge.png"), &im, &info), NLCL_ERR_LIMIT,
              "huge.png: 100000x100000 exceeds the pixel limit of 100000000");
    CHECK(im.data == NULL);
    CHECK(info.width == 100000 && info.height == 100000); /* the header was described */
    CHECK_ERR(nlcl_image_probe(test_path("huge.png"), &info), NLCL_ERR_LIMIT, "huge.png");
    /* 20000x20000 = 400 Mpx */
    n = fake_png(b, 20000, 20000);
    CHECK_ERR(nlcl_image_load_memory(b, n, "big.png", &im, NULL), NLCL_ERR_LIMIT,
              "big.png: 20000x20000 exceeds the pixel limit of 100000000");
    /* one dimension beyond the limit: libpng's own user limit trips first */
    nlcl_image_set_max_pixels(1000);
    CHECK(nlcl_image_get_max_pixels() == 1000);
    n = fake_png(b, 2000, 1);
    CHECK_ERR(nlcl_image_load_memory(b, n, "wide.png", &im, NULL), NLCL_ERR_LIMIT, "wide.png: PNG dimensions exceed the pixel limit of 1000");
    /* exact boundary on a real image: 40x25 = 1000 loads, at 999 it does not */
    nlcl_image src;
    CHECK_OK(nlcl_image_alloc(&src, 25, 40));
    CHECK_OK(nlcl_image_save_png(test_path("b1000.png"), &src, NLCL_QUANT_ROUND, 0));
    CHECK_OK(nlcl_image_save_jpeg(test_path("b1000.jpg"), &src, NLCL_QUANT_ROUND, 80));
    nlcl_image_free(&src);
    CHECK_OK(nlcl_image_load(test_path("b1000.png"), &im, NULL));
    nlcl_image_free(&im);
    CHECK_OK(nlcl_image_load(test_path("b1000.jpg"), &im, NULL));
    nlcl_image_free(&im);
    nlcl_image_set_max_pixels(999);
    CHECK_ERR(nlcl_image_load(test_path("b1000.png"), &im, NULL), NLCL_ERR_LIMIT, "b1000.png: 40x25 exceeds the pixel limit of 999");
    CHECK_ERR(nlcl_image_load(test_path("b1000.jpg"), &im, NULL), NLCL_ERR_LIMIT, "b1000.jpg: 40x25 exceeds the pixel limit of 999");
    nlcl_image_set_max_pixels(0);
    CHECK(nlcl_image_get_max_pixels() == NLCL_IMAGE_DEFAULT_MAX_PIXELS);
    /* a JPEG whose SOF claims 65000x65000 */
    size_t jn = 0;
    uint8_t *j = test_read_file(test_path("b1000.jpg"), &jn);
    for (size_t i = 2; j && i + 9 < jn; i++)
        if (j[i] == 0xFF && j[i + 1] == 0xC0) {
            j[i + 5] = 0xFD, j[i + 6] = 0xE8, j[i + 7] = 0xFD, j[i + 8] = 0xE8; /* 65000 */
            break;
        }
    CHECK_ERR(nlcl_image_load_memory(j, jn, "huge.jpg", &im, &info), NLCL_ERR_LIMIT,
              "huge.jpg: 65000x65000 exceeds the pixel limit");
    CHECK(info.is_jpeg && info.width == 65000);
    free(j);
}

static void test_probe(void) {
    nlcl_image_info info;
    CHECK_OK(nlcl_image_probe(FIX "prog_422.jpg", &info));
    CHECK(info.width == 31 && info.height == 19 && info.channels == 3 && info.is_jpeg &&
          info.bit_depth == 8 && !info.palette);
    CHECK_OK(nlcl_image_probe(test_path("pal_trns.png"), &info));
    CHECK(info.width == 7 && info.height == 5 && info.palette && info.channels == 4 && !info.is_jpeg);
    CHECK_ERR(nlcl_image_probe(test_path("text.png"), &info), NLCL_ERR_FORMAT, "text.png: ");
}

/* Fix every chunk CRC of a (mutated) PNG so that the decoder gets past the
 * CRC check into the chunk parsers and the inflater. */
static void fix_crcs(uint8_t *b, size_t n) {
    size_t p = 8;
    while (p + 12 <= n) {
        size_t len = (size_t)b[p] << 24 | (size_t)b[p + 1] << 16 | (size_t)b[p + 2] << 8 | b[p + 3];
        if (len > n - p - 12) break;
        put_be32(b + p + 8 + len, test_crc32(b + p + 4, 4 + len));
        p += 12 + len;
    }
}

/* Hostile input: random byte changes and cuts of a PNG (CRCs fixed up) and
 * of baseline/progressive JPEGs never crash or leak (run under ASan: cmake
 * -DNLCL_SANITIZE=ON) and fail only with format/unsupported/limit errors,
 * leaving the image empty. NLCL_IMAGE_MUTATIONS=N runs N per file (300). */
static void test_mutations(void) {
    enum { W = 16, H = 12 };
    uint8_t rgb[W * H * 3];
    fill_noise(rgb, sizeof rgb, 11);
    png_spec s = {W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, NULL, 0, NULL, 0, "fuzz"};
    CHECK(write_png(test_path("fuzz.png"), &s, rgb) == 0);
    const char *srcs[3] = {NULL, FIX "q90_420.jpg", FIX "prog_422.jpg"};
    nlcl_image_set_max_pixels(1u << 20);
    nlcl_rng r;
    nlcl_rng_seed(&r, 2024, 5);
    int bad = 0, ok = 0, total = 0;
    const char *env = getenv("NLCL_IMAGE_MUTATIONS"); /* more for a longer soak */
    int iters = env && atoi(env) > 0 ? atoi(env) : 300;
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        uint8_t *orig = test_read_file(k ? srcs[k] : test_path("fuzz.png"), &n);
        CHECK(orig && n > 100);
        if (!orig || n <= 100) {
            free(orig);
            continue;
        }
        uint8_t *m = malloc(n);
        for (int it = 0; it < iters; it++) {
            memcpy(m, orig, n);
            size_t len = n;
            int flips = 1 + (int)nlcl_rng_below(&r, 4);
            for (int f = 0; f < flips; f++) {
                size_t at = 2 + nlcl_rng_below(&r, (uint32_t)(n - 2)); /* keep the magic */
                m[at] = nlcl_rng_below(&r, 2) ? (uint8_t)nlcl_rng_below(&r, 256) : (uint8_t)(m[at] ^ (1u << nlcl_rng_below(&r, 8)));
            }
            if (nlcl_rng_below(&r, 4) == 0) len = 3 + nlcl_rng_below(&r, (uint32_t)(n - 3));
            if (k == 0 && nlcl_rng_below(&r, 4) != 0) fix_crcs(m, len);
            nlcl_image im;
            nlcl_status st = nlcl_image_load_memory(m, len, "mutant", &im, NULL);
            total++;
            if (st == NLCL_OK) {
                ok++;
                bad += !(im.data && im.width > 0 && im.height > 0);
                nlcl_image_free(&im);
            } else {
                bad += im.data != NULL ||
                       (st != NLCL_ERR_FORMAT && st != NLCL_ERR_UNSUPPORTED && st != NLCL_ERR_LIMIT) ||
                       !test_contains(nlcl_error_message(), "mutant: ");
                if (st != NLCL_ERR_FORMAT && st != NLCL_ERR_UNSUPPORTED && st != NLCL_ERR_LIMIT)
                    fprintf(stderr, "mutant: %s: %s\n", nlcl_status_name(st), nlcl_error_message());
            }
        }
        free(m);
        free(orig);
    }
    nlcl_image_set_max_pixels(0);
    CHECK_MSG(bad == 0, "%d of %d mutated files misreported", bad, total);
    printf("mutations: %d files, %d still decodable, the rest refused cleanly\n", total, ok);
}

/* ---- saving -------------------------------------------------------------------------------- */

static void test_quantize(void) {
    /* u8 -> float -> u8 with rounding is the identity for all 256 levels */
    uint8_t in[256 * 3], out[256 * 3];
    for (int i = 0; i < 256 * 3; i++) in[i] = (uint8_t)(i / 3);
    nlcl_image im;
    CHECK_OK(nlcl_image_from_rgb8(&im, in, 1, 256));
    if (!im.data) return;
    CHECK(im.data[0] == -1.0f && im.data[255] == 1.0f && im.data[128] == f8(128));
    nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, out);
    CHECK(memcmp(in, out, sizeof in) == 0);
    /* truncation repeats numpy's float32 (x + 1) / 2.0 * 255.0 then astype(uint8):
     * for the 256 exact levels numpy gives 95 one level lower, e.g. 1 -> 0 */
    nlcl_image_to_rgb8(&im, NLCL_QUANT_TRUNCATE, out);
    int lower = 0, other = 0;
    for (int v = 0; v < 256; v++) {
        lower += out[3 * v] == v - 1;
        other += out[3 * v] != v && out[3 * v] != v - 1;
    }
    CHECK_MSG(lower == 95 && other == 0, "truncate: %d lower, %d other", lower, other);
    CHECK(out[3 * 1] == 0 && out[3 * 255] == 255 && out[0] == 0);
    nlcl_image_free(&im);

    /* chosen values: 127.6 -> 128 rounded, 127 truncated; clamping; NaN -> 0 */
    const float vals[8] = {(float)(127.6 / 255.0 * 2 - 1), (float)(127.4 / 255.0 * 2 - 1), 1.5f, -3.0f,
                           NAN, 1.0f, -1.0f, (float)(254.99 / 255.0 * 2 - 1)};
    const uint8_t want_r[8] = {128, 127, 255, 0, 0, 255, 0, 255};
    const uint8_t want_t[8] = {127, 127, 255, 0, 0, 255, 0, 254};
    CHECK_OK(nlcl_image_alloc(&im, 1, 8));
    if (!im.data) return;
    for (int c = 0; c < 3; c++) memcpy(im.data + 8 * c, vals, sizeof vals);
    uint8_t r8[24], t8[24];
    nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, r8);
    nlcl_image_to_rgb8(&im, NLCL_QUANT_TRUNCATE, t8);
    for (int i = 0; i < 8; i++) {
        CHECK_MSG(r8[3 * i] == want_r[i] && r8[3 * i + 2] == want_r[i], "round %d: %d", i, r8[3 * i]);
        CHECK_MSG(t8[3 * i] == want_t[i] && t8[3 * i + 1] == want_t[i], "trunc %d: %d", i, t8[3 * i]);
    }
    /* the same through PNG files, 8 and 16 bits */
    CHECK_OK(nlcl_image_save_png(test_path("q_round.png"), &im, NLCL_QUANT_ROUND, 0));
    CHECK_OK(nlcl_image_save_png(test_path("q_trunc.png"), &im, NLCL_QUANT_TRUNCATE, 0));
    nlcl_image a, b;
    CHECK_OK(nlcl_image_load(test_path("q_round.png"), &a, NULL));
    CHECK_OK(nlcl_image_load(test_path("q_trunc.png"), &b, NULL));
    for (int i = 0; a.data && b.data && i < 8; i++) {
        CHECK(a.data[i] == f8(want_r[i]) && a.data[16 + i] == f8(want_r[i]));
        CHECK(b.data[i] == f8(want_t[i]) && b.data[8 + i] == f8(want_t[i]));
    }
    nlcl_image_free(&a);
    nlcl_image_free(&b);
    /* 16-bit: 1000.6 -> 1001 rounded, 1000 truncated */
    for (int c = 0; c < 3; c++) im.data[8 * c] = (float)(1000.6 / 65535.0 * 2 - 1);
    CHECK_OK(nlcl_image_save_png(test_path("q16r.png"), &im, NLCL_QUANT_ROUND, 1));
    CHECK_OK(nlcl_image_save_png(test_path("q16t.png"), &im, NLCL_QUANT_TRUNCATE, 1));
    CHECK_OK(nlcl_image_load(test_path("q16r.png"), &a, NULL));
    CHECK_OK(nlcl_image_load(test_path("q16t.png"), &b, NULL));
    if (a.data && b.data) {
        CHECK(a.data[0] == f16(1001) && b.data[0] == f16(1000));
        CHECK(a.data[2] == 1.0f && a.data[3] == -1.0f); /* clamped */
    }
    nlcl_image_free(&a);
    nlcl_image_free(&b);
    nlcl_image_free(&im);
}

static void fill_smooth(nlcl_image *im) {
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < im->height; y++)
            for (int x = 0; x < im->width; x++)
                im->data[((size_t)c * im->height + y) * im->width + x] =
                    (float)(0.7 * sin(0.05 * x + 0.9 * c) * cos(0.07 * y) + 0.2 * (c - 1));
}

static double psnr8(const nlcl_image *a, const nlcl_image *b) {
    size_t n = (size_t)a->width * a->height * 3;
    uint8_t *pa = malloc(n), *pb = malloc(n);
    nlcl_image_to_rgb8(a, NLCL_QUANT_ROUND, pa);
    nlcl_image_to_rgb8(b, NLCL_QUANT_ROUND, pb);
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)pa[i] - pb[i]) * ((double)pa[i] - pb[i]);
    free(pa);
    free(pb);
    return se == 0 ? INFINITY : 10 * log10(255.0 * 255.0 / (se / (double)n));
}

static void test_round_trips(void) {
    /* odd sizes: 257x263 and one per residue mod 8, PNG exact, sizes kept */
    int sizes[9][2] = {{257, 263}};
    for (int k = 0; k < 8; k++) sizes[k + 1][0] = 480 + k, sizes[k + 1][1] = 320 + k;
    for (int k = 0; k < 9; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        size_t n = (size_t)w * h * 3;
        uint8_t *in = malloc(n), *out = malloc(n);
        fill_noise(in, n, 100 + (uint64_t)k);
        nlcl_image im, back;
        CHECK_OK(nlcl_image_from_rgb8(&im, in, h, w));
        char name[64];
        snprintf(name, sizeof name, "odd_%dx%d.png", w, h);
        CHECK_OK(nlcl_image_save(test_path(name), &im, NLCL_QUANT_ROUND));
        CHECK_OK(nlcl_image_load(test_path(name), &back, NULL));
        CHECK_MSG(back.width == w && back.height == h, "%s came back %dx%d", name, back.width,
                  back.height);
        if (back.data) {
            CHECK(test_max_abs_diff(im.data, back.data, n) == 0.0);
            nlcl_image_to_rgb8(&back, NLCL_QUANT_ROUND, out);
            CHECK(memcmp(in, out, n) == 0);
        }
        nlcl_image_free(&back);
        if (k < 2) { /* JPEG keeps odd sizes too */
            snprintf(name, sizeof name, "odd_%dx%d.jpg", w, h);
            CHECK_OK(nlcl_image_save(test_path(name), &im, NLCL_QUANT_ROUND));
            CHECK_OK(nlcl_image_load(test_path(name), &back, NULL));
            CHECK(back.width == w && back.height == h);
            nlcl_image_free(&back);
        }
        nlcl_image_free(&im);
        free(in);
        free(out);
    }
    /* 16-bit exact at 16 bits */
    nlcl_image im, back;
    CHECK_OK(nlcl_image_alloc(&im, 21, 33));
    nlcl_rng r;
    nlcl_rng_seed(&r, 9, 1);
    for (size_t i = 0; im.data && i < (size_t)3 * 33 * 21; i++) im.data[i] = f16(nlcl_rng_below(&r, 65536));
    CHECK_OK(nlcl_image_save_png(test_path("rt16.png"), &im, NLCL_QUANT_ROUND, 1));
    CHECK_OK(nlcl_image_load(test_path("rt16.png"), &back, NULL));
    if (back.data) CHECK(test_max_abs_diff(im.data, back.data, (size_t)3 * 33 * 21) == 0.0);
    nlcl_image_free(&back);
    nlcl_image_free(&im);

    /* JPEG quality 95 on smooth content: PSNR > 35 dB; quality 10 is smaller and worse */
    CHECK_OK(nlcl_image_alloc(&im, 96, 160));
    if (!im.data) return;
    fill_smooth(&im);
    CHECK_OK(nlcl_image_save_jpeg(test_path("q95.jpg"), &im, NLCL_QUANT_ROUND, 95));
    CHECK_OK(nlcl_image_save_jpeg(test_path("q10.jpg"), &im, NLCL_QUANT_ROUND, 10));
    nlcl_image b10;
    CHECK_OK(nlcl_image_load(test_path("q95.jpg"), &back, NULL));
    CHECK_OK(nlcl_image_load(test_path("q10.jpg"), &b10, NULL));
    if (back.data && b10.data) {
        double p95 = psnr8(&im, &back), p10 = psnr8(&im, &b10);
        CHECK_MSG(p95 > 35.0, "JPEG q95 PSNR %.2f dB", p95);
        CHECK_MSG(p10 < p95, "q10 %.2f dB vs q95 %.2f dB", p10, p95);
        size_t n95 = 0, n10 = 0;
        free(test_read_file(test_path("q95.jpg"), &n95));
        free(test_read_file(test_path("q10.jpg"), &n10));
        CHECK(n10 < n95);
        printf("JPEG round trip 160x96: q95 %.2f dB (%zu bytes), q10 %.2f dB (%zu bytes)\n", p95,
               n95, p10, n10);
    }
    nlcl_image_free(&back);
    nlcl_image_free(&b10);
    CHECK_ERR(nlcl_image_save_jpeg(test_path("q0.jpg"), &im, NLCL_QUANT_ROUND, 0), NLCL_ERR_INVALID_ARG, "quality 0");
    CHECK(!file_exists(test_path("q0.jpg")));
    /* extension dispatch is case-insensitive; .jpeg works; others are refused */
    CHECK_OK(nlcl_image_save(test_path("UP.PNG"), &im, NLCL_QUANT_ROUND));
    CHECK_OK(nlcl_image_save(test_path("x.jpeg"), &im, NLCL_QUANT_TRUNCATE));
    nlcl_image_info info;
    CHECK_OK(nlcl_image_probe(test_path("UP.PNG"), &info));
    CHECK(!info.is_jpeg && info.channels == 3 && info.bit_depth == 8);
    CHECK_OK(nlcl_image_probe(test_path("x.jpeg"), &info));
    CHECK(info.is_jpeg && info.channels == 3);
    CHECK_ERR(nlcl_image_save(test_path("x.bmp"), &im, NLCL_QUANT_ROUND), NLCL_ERR_INVALID_ARG, "x.bmp: unknown image extension");
    CHECK(!file_exists(test_path("x.bmp")));
    nlcl_image empty = {0, 0, NULL};
    CHECK_ERR(nlcl_image_save(test_path("e.png"), &empty, NLCL_QUANT_ROUND), NLCL_ERR_INVALID_ARG, "e.png");
    CHECK_ERR(nlcl_image_alloc(&back, 5, 0), NLCL_ERR_INVALID_ARG, "0x5");
    nlcl_image_free(&im);

    /* tiny: 1x1 PNG and JPEG */
    uint8_t one[3] = {10, 200, 255};
    CHECK_OK(nlcl_image_from_rgb8(&im, one, 1, 1));
    CHECK_OK(nlcl_image_save(test_path("one.png"), &im, NLCL_QUANT_ROUND));
    CHECK_OK(nlcl_image_save(test_path("one.jpg"), &im, NLCL_QUANT_ROUND));
    CHECK_OK(nlcl_image_load(test_path("one.png"), &back, &info));
    CHECK(back.width == 1 && back.height == 1 && back.data && back.data[0] == f8(10) &&
          back.data[1] == f8(200) && back.data[2] == 1.0f);
    nlcl_image_free(&back);
    CHECK_OK(nlcl_image_load(test_path("one.jpg"), &back, &info));
    CHECK(back.width == 1 && back.height == 1 && info.is_jpeg);
    if (back.data) {
        uint8_t o[3];
        nlcl_image_to_rgb8(&back, NLCL_QUANT_ROUND, o);
        CHECK_MSG(abs(o[0] - 10) <= 6 && abs(o[1] - 200) <= 6 && abs(o[2] - 255) <= 6,
                  "1x1 JPEG: %d %d %d", o[0], o[1], o[2]);
    }
    nlcl_image_free(&back);
    nlcl_image_free(&im);
}

static void test_atomic_save(void) {
    const char *dir = test_tmpdir();
    nlcl_image im;
    CHECK_OK(nlcl_image_alloc(&im, 150, 200));
    if (!im.data) return;
    nlcl_rng r;
    nlcl_rng_seed(&r, 3, 3);
    test_fill_uniform(&r, im.data, (size_t)3 * 200 * 150, -1.0f, 1.0f);
    /* parent of the target is a regular file: NLCL_ERR_IO, nothing created */
    CHECK(test_write_file(test_path("plainfile"), "x", 1) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/plainfile/out.png", dir);
    CHECK_ERR(nlcl_image_save(p, &im, NLCL_QUANT_ROUND), NLCL_ERR_IO, "out.png");
    snprintf(p, sizeof p, "%s/no/such/dir/out.jpg", dir);
    CHECK_ERR(nlcl_image_save(p, &im, NLCL_QUANT_ROUND), NLCL_ERR_IO, "out.jpg: ");
    CHECK(count_prefix(dir, "plainfile.") == 0);

    /* a failure in the middle of writing (file size limit: write() -> EFBIG)
     * leaves the existing file intact and no temporary file behind */
    const char *old = "old contents\n";
    CHECK(test_write_file(test_path("keep.png"), old, strlen(old)) == 0);
    CHECK(test_write_file(test_path("keep.jpg"), old, strlen(old)) == 0);
    struct rlimit saved, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = saved;
    lim.rlim_cur = 4096;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    nlcl_status s1 = nlcl_image_save(test_path("keep.png"), &im, NLCL_QUANT_ROUND);
    char m1[512];
    snprintf(m1, sizeof m1, "%s", nlcl_error_message());
    nlcl_status s2 = nlcl_image_save(test_path("keep.jpg"), &im, NLCL_QUANT_ROUND);
    char m2[512];
    snprintf(m2, sizeof m2, "%s", nlcl_error_message());
    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    signal(SIGXFSZ, prev);
    CHECK_MSG(s1 == NLCL_ERR_IO && test_contains(m1, "keep.png") && test_contains(m1, strerror(EFBIG)),
              "png: %s: %s (the system's reason named)", nlcl_status_name(s1), m1);
    CHECK_MSG(s2 == NLCL_ERR_IO && test_contains(m2, "keep.jpg"), "jpeg: %s: %s", nlcl_status_name(s2), m2);
    size_t n = 0;
    uint8_t *b = test_read_file(test_path("keep.png"), &n);
    CHECK(b && n == strlen(old) && memcmp(b, old, n) == 0);
    free(b);
    b = test_read_file(test_path("keep.jpg"), &n);
    CHECK(b && n == strlen(old) && memcmp(b, old, n) == 0);
    free(b);
    CHECK(count_prefix(dir, "keep.png.tmp") == 0 && count_prefix(dir, "keep.jpg.tmp") == 0);
    /* an invalid extension also leaves the old file alone */
    CHECK(test_write_file(test_path("keep.gif"), old, strlen(old)) == 0);
    CHECK_ERR(nlcl_image_save(test_path("keep.gif"), &im, NLCL_QUANT_ROUND), NLCL_ERR_INVALID_ARG, "keep.gif");
    b = test_read_file(test_path("keep.gif"), &n);
    CHECK(b && n == strlen(old));
    free(b);
    /* and a successful save replaces it, with no temporary left */
    CHECK_OK(nlcl_image_save(test_path("keep.png"), &im, NLCL_QUANT_ROUND));
    nlcl_image back;
    CHECK_OK(nlcl_image_load(test_path("keep.png"), &back, NULL));
    CHECK(back.width == 200 && back.height == 150);
    nlcl_image_free(&back);
    CHECK(count_prefix(dir, "keep.png.tmp") == 0);
    nlcl_image_free(&im);
}

int main(void) {
    double t0 = test_now_s();
    if (test_data_part()) { /* test_image_data */
        const char *data = test_shared_data();
        if (!data) return test_skip("../shared/data is missing (PIL hashes of its photos)");
        test_shared_photos(data);
        return test_finish("test_image_data");
    }
    test_rgb8_and_alpha();
    test_palette();
    test_low_bit_grey();
    test_16bit();
    test_interlaced();
    test_grey_and_cmyk_jpeg();
    test_pil_fixtures();
    test_corrupt();
    test_pixel_limit();
    test_probe();
    test_mutations();
    test_quantize();
    test_round_trips();
    test_atomic_save();
    printf("test_image: %.2f s\n", test_now_s() - t0);
    return test_finish("test_image");
}
