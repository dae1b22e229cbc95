/* Seed corpora for the fuzz targets, generated rather than committed:
 *     make_seeds OUTDIR REPO_ROOT
 * writes OUTDIR/<target>/<name> for every target of fuzz/ (png, jpeg,
 * safetensors, pth, pickle, cli). Seeds are small (a few hundred bytes to a
 * few KiB, tiny images) so that the fuzzer spends its time on structure.
 *
 *   png          nlcl_image_save_png (RGB 8/16-bit) and libpng directly for the
 *                modes nlcl never writes: grey 1/2/4/8/16-bit, grey+alpha,
 *                palette (with and without tRNS), RGBA 8/16, Adam7 interlace,
 *                ancillary chunks (gAMA, tEXt, tIME, sBIT).
 *   jpeg         nlcl_image_save_jpeg and libjpeg directly: grey, 4:4:4,
 *                4:2:2, 4:2:0, progressive, restart intervals, arithmetic
 *                coding, optimised Huffman tables, odd sizes (partial MCUs);
 *                plus tests/fixtures/image/ JPEGs.
 *   bmp          hand-written BMPs: 24/32-bit, X1R5G5B5, 565 and ARGB
 *                bitfields (V4 header), 1/4/8-bit palettes, top-down.
 *   tiff         libtiff directly: RGB 8/16, RGBA, planar, grey
 *                1/4/16 (MinIsWhite), palette, tiles; none/LZW/deflate/PackBits.
 *   safetensors  nlcl_safetensors_save (metadata, scalars, empty tensors,
 *                rank 1..4) and hand-written F16/BF16/F64 files; plus
 *                tests/fixtures/weights/tiny_mixed.safetensors.
 *   pth          the .pth files of tests/fixtures/weights/ and an archive built from the
 *                hand-written state_dict pickles below.
 *   pickle       the data.pkl of every fixture .pth (extracted with libzip)
 *                and hand-written protocol-2 state_dict pickles whose storages
 *                match what the pickle target provides (fuzz_common.h).
 *   cli          argv vectors (NUL-separated) using every option type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <png.h>
#include <tiffio.h>
#include <zip.h>

#include "fuzz_common.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/weights.h"
#include "pickle_writer.h"

static const char *outdir, *root;
static int nseeds;

static void die(const char *what) {
    fprintf(stderr, "make_seeds: %s: %s\n", what, nlcl_error_message());
    exit(1);
}

static const char *seed_path(const char *target, const char *name) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", outdir, target);
    if (nlcl_mkdirs(p) != NLCL_OK) die(p);
    snprintf(p, sizeof p, "%s/%s/%s", outdir, target, name);
    nseeds++;
    return p;
}

static void write_bytes(const char *target, const char *name, const void *data, size_t n) {
    const char *p = seed_path(target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: %s: %s\n", p, strerror(errno));
        exit(1);
    }
}

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *q = realloc(b, cap);
            if (!q) exit(1);
            b = q;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    fclose(f);
    *n = len;
    return b;
}

/* Copy REPO_ROOT/<rel> into the target's seeds (missing files are skipped). */
static void copy_fixture(const char *target, const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    size_t n;
    unsigned char *b = read_file(p, &n);
    if (!b) {
        fprintf(stderr, "make_seeds: note: %s missing, skipped\n", p);
        return;
    }
    write_bytes(target, nlcl_basename(rel), b, n);
    free(b);
}

/* ---- PNG -------------------------------------------------------------------- */

/* A deterministic test pattern in [0, 2^bits). */
static unsigned pattern(int x, int y, int c, int bits) {
    unsigned v = (unsigned)(x * 37 + y * 91 + c * 53 + x * y * 7);
    return v & ((1u << bits) - 1u);
}

typedef struct {
    int w, h, color_type, bit_depth, interlace, trns, chunks;
} png_mode;

static void write_png_mode(const char *name, png_mode m) {
    const char *p = seed_path("png", name);
    FILE *f = fopen(p, "wb");
    if (!f) die(p);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "make_seeds: libpng failed on %s\n", p);
        exit(1);
    }
    png_init_io(png, f);
    png_set_compression_level(png, 9);
    png_set_IHDR(png, info, (png_uint_32)m.w, (png_uint_32)m.h, m.bit_depth, m.color_type,
                 m.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int channels = 1;
    switch (m.color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_RGB: channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default: channels = 1;
    }
    if (m.color_type == PNG_COLOR_TYPE_PALETTE) {
        int n = 1 << m.bit_depth;
        png_color pal[256];
        png_byte alpha[256];
        for (int i = 0; i < n; i++) {
            pal[i].red = (png_byte)(i * 255 / (n - 1));
            pal[i].green = (png_byte)(255 - i * 255 / (n - 1));
            pal[i].blue = (png_byte)(i * 97);
            alpha[i] = (png_byte)(255 - i);
        }
        png_set_PLTE(png, info, pal, n);
        if (m.trns) png_set_tRNS(png, info, alpha, n > 4 ? 4 : n, NULL);
    } else if (m.trns && (m.color_type == PNG_COLOR_TYPE_GRAY || m.color_type == PNG_COLOR_TYPE_RGB)) {
        png_color_16 tc = {0, 1, 1, 1, 1};
        png_set_tRNS(png, info, NULL, 0, &tc);
    }
    if (m.chunks) {
        png_set_gAMA(png, info, 1.0 / 2.2);
        png_text t = {PNG_TEXT_COMPRESSION_NONE, "Comment", "nlcl fuzz seed", 14, 0, NULL, NULL};
        png_set_text(png, info, &t, 1);
        png_time tm = {2022, 6, 19, 12, 0, 0};
        png_set_tIME(png, info, &tm);
        png_color_8 sbit = {5, 6, 5, 5, 0};
        if (m.color_type == PNG_COLOR_TYPE_RGB) png_set_sBIT(png, info, &sbit);
    }
    png_write_info(png, info);
    int samples_bits = m.bit_depth;
    size_t rowbytes = ((size_t)m.w * (size_t)channels * (size_t)samples_bits + 7) / 8;
    png_bytep *rows = calloc((size_t)m.h, sizeof *rows);
    for (int y = 0; y < m.h; y++) {
        rows[y] = calloc(1, rowbytes);
        for (int x = 0; x < m.w; x++)
            for (int c = 0; c < channels; c++) {
                unsigned v = pattern(x, y, c, m.bit_depth);
                size_t bitpos = ((size_t)x * (size_t)channels + (size_t)c) * (size_t)samples_bits;
                if (samples_bits == 16) {
                    rows[y][bitpos / 8] = (png_byte)(v >> 8);
                    rows[y][bitpos / 8 + 1] = (png_byte)v;
                } else if (samples_bits == 8) {
                    rows[y][bitpos / 8] = (png_byte)v;
                } else { /* packed, most significant bits first */
                    int shift = 8 - samples_bits - (int)(bitpos % 8);
                    rows[y][bitpos / 8] |= (png_byte)(v << shift);
                }
            }
    }
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    for (int y = 0; y < m.h; y++) free(rows[y]);
    free(rows);
    if (fclose(f) != 0) die(p);
}

static void make_image(nlcl_image *img, int w, int h) {
    if (nlcl_image_alloc(img, h, w) != NLCL_OK) die("image_alloc");
    size_t plane = (size_t)w * (size_t)h;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img->data[(size_t)c * plane + (size_t)y * (size_t)w + (size_t)x] =
                    (float)pattern(x, y, c, 8) / 127.5f - 1.0f;
}

static void png_seeds(void) {
    nlcl_image img;
    make_image(&img, 9, 7);
    if (nlcl_image_save_png(seed_path("png", "rgb8.png"), &img, NLCL_QUANT_ROUND, 0) != NLCL_OK ||
        nlcl_image_save_png(seed_path("png", "rgb16.png"), &img, NLCL_QUANT_TRUNCATE, 1) != NLCL_OK)
        die("save_png");
    nlcl_image_free(&img);
    make_image(&img, 1, 1);
    if (nlcl_image_save_png(seed_path("png", "rgb8_1x1.png"), &img, NLCL_QUANT_ROUND, 0) != NLCL_OK)
        die("save_png");
    nlcl_image_free(&img);

    static const struct {
        const char *name;
        png_mode m;
    } modes[] = {
        {"grey1.png", {13, 5, PNG_COLOR_TYPE_GRAY, 1, 0, 0, 0}},
        {"grey2.png", {7, 3, PNG_COLOR_TYPE_GRAY, 2, 0, 0, 0}},
        {"grey4.png", {5, 4, PNG_COLOR_TYPE_GRAY, 4, 0, 0, 0}},
        {"grey8_trns.png", {6, 6, PNG_COLOR_TYPE_GRAY, 8, 0, 1, 0}},
        {"grey16.png", {4, 3, PNG_COLOR_TYPE_GRAY, 16, 0, 0, 0}},
        {"greyalpha8.png", {4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 0}},
        {"greyalpha16.png", {3, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0, 0}},
        {"palette1.png", {9, 2, PNG_COLOR_TYPE_PALETTE, 1, 0, 0, 0}},
        {"palette2_trns.png", {5, 5, PNG_COLOR_TYPE_PALETTE, 2, 0, 1, 0}},
        {"palette4.png", {6, 3, PNG_COLOR_TYPE_PALETTE, 4, 0, 0, 0}},
        {"palette8_trns.png", {8, 8, PNG_COLOR_TYPE_PALETTE, 8, 0, 1, 0}},
        {"rgb8_chunks.png", {5, 5, PNG_COLOR_TYPE_RGB, 8, 0, 1, 1}},
        {"rgba8.png", {4, 5, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0, 0}},
        {"rgba16.png", {3, 3, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0, 0}},
        {"rgb8_adam7.png", {11, 9, PNG_COLOR_TYPE_RGB, 8, 1, 0, 0}},
        {"grey2_adam7.png", {10, 10, PNG_COLOR_TYPE_GRAY, 2, 1, 0, 0}},
        {"palette4_adam7.png", {9, 9, PNG_COLOR_TYPE_PALETTE, 4, 1, 1, 0}},
        {"rgb16_adam7.png", {3, 9, PNG_COLOR_TYPE_RGB, 16, 1, 0, 1}},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) write_png_mode(modes[i].name, modes[i].m);
}

/* ---- JPEG ------------------------------------------------------------------- */

typedef struct {
    int w, h, grey, quality, progressive, restart, arith, optimize;
    int hs, vs; /* luma sampling factors (chroma 1x1): 1,1 = 4:4:4 */
} jpeg_mode;

static void write_jpeg_mode(const char *name, jpeg_mode m) {
    const char *p = seed_path("jpeg", name);
    FILE *f = fopen(p, "wb");
    if (!f) die(p);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)m.w;
    c.image_height = (JDIMENSION)m.h;
    c.input_components = m.grey ? 1 : 3;
    c.in_color_space = m.grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, m.quality, TRUE);
    if (!m.grey) {
        c.comp_info[0].h_samp_factor = m.hs;
        c.comp_info[0].v_samp_factor = m.vs;
    }
    c.restart_interval = (unsigned)m.restart;
    c.arith_code = m.arith ? TRUE : FALSE;
    c.optimize_coding = m.optimize ? TRUE : FALSE;
    if (m.progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    int nc = m.grey ? 1 : 3;
    unsigned char *row = malloc((size_t)m.w * (size_t)nc);
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < m.w; x++)
            for (int k = 0; k < nc; k++)
                row[x * nc + k] = (unsigned char)pattern(x, (int)c.next_scanline, k, 8);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    if (fclose(f) != 0) die(p);
}

static void jpeg_seeds(void) {
    nlcl_image img;
    make_image(&img, 19, 13);
    if (nlcl_image_save_jpeg(seed_path("jpeg", "nlcl_q95.jpg"), &img, NLCL_QUANT_ROUND, 95) != NLCL_OK ||
        nlcl_image_save_jpeg(seed_path("jpeg", "nlcl_q20.jpg"), &img, NLCL_QUANT_TRUNCATE, 20) != NLCL_OK)
        die("save_jpeg");
    nlcl_image_free(&img);
    static const struct {
        const char *name;
        jpeg_mode m;
    } modes[] = {
        {"grey.jpg", {10, 7, 1, 80, 0, 0, 0, 0, 1, 1}},
        {"rgb444.jpg", {9, 9, 0, 90, 0, 0, 0, 0, 1, 1}},
        {"rgb422.jpg", {17, 8, 0, 75, 0, 0, 0, 0, 2, 1}},
        {"rgb420_odd.jpg", {17, 17, 0, 50, 0, 0, 0, 0, 2, 2}},
        {"rgb411.jpg", {33, 8, 0, 60, 0, 0, 0, 0, 4, 1}},
        {"prog420.jpg", {16, 16, 0, 85, 1, 0, 0, 0, 2, 2}},
        {"prog_grey.jpg", {12, 12, 1, 85, 1, 0, 0, 0, 1, 1}},
        {"restart.jpg", {24, 16, 0, 70, 0, 1, 0, 0, 2, 2}},
        {"arith.jpg", {16, 8, 0, 70, 0, 0, 1, 0, 2, 1}},
        {"arith_prog.jpg", {8, 16, 0, 70, 1, 0, 1, 0, 1, 2}},
        {"optimized.jpg", {16, 16, 0, 95, 0, 0, 0, 1, 2, 2}},
        {"one.jpg", {1, 1, 0, 100, 0, 0, 0, 0, 2, 2}},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) write_jpeg_mode(modes[i].name, modes[i].m);
    copy_fixture("jpeg", "tests/fixtures/image/grey.jpg");
    copy_fixture("jpeg", "tests/fixtures/image/prog_422.jpg");
    copy_fixture("jpeg", "tests/fixtures/image/q90_420.jpg");
    copy_fixture("jpeg", "tests/fixtures/image/cmyk.jpg");
}

/* ---- metadata (nlcl_image_load_meta's path): nlcl's own writers ------------------ */

static void meta_seeds(void) {
    /* EXIF with Orientation 6 (IFD 0, one SHORT entry); XMP naming the
     * rewritten properties in both forms; Photoshop resources with IPTC and
     * a thumbnail; one text of each kind */
    static const uint8_t exif[32] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
                                     0x12, 1, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
    static const char xmp[] = "<x:xmpmeta><rdf:RDF><rdf:Description tiff:Orientation=\"6\" tiff:ImageWidth='9'>"
                              "<exif:PixelYDimension>7</exif:PixelYDimension></rdf:Description></rdf:RDF></x:xmpmeta>";
    static const uint8_t ps[] = {'8', 'B', 'I', 'M', 4, 4, 0, 0, 0, 0, 0, 6, 0x1c, 2, 0x78, 0, 1, 'x',
                                 '8', 'B', 'I', 'M', 4, 0x0C, 2, 'a', 'b', 0, 0, 0, 0, 2, 'T', 'N'};
    nlcl_image_text t[4] = {{"Title", "rain", "", "", NLCL_TEXT_PLAIN},
                            {"Description", "a wet street", "", "", NLCL_TEXT_ZIP},
                            {"Author", "J\xC3\xBCrgen", "de", "Autor", NLCL_TEXT_UTF8},
                            {"Comment", "a comment", "", "", NLCL_TEXT_UTF8_ZIP}};
    /* an oFFs before the image data, a private safe-to-copy chunk after it */
    static uint8_t offs[9] = {0, 0, 0, 10, 0, 0, 0, 20, 0}, priv[3] = {'a', 'b', 'c'};
    nlcl_png_chunk ch[2] = {{"oFFs", offs, sizeof offs, 0}, {"prVt", priv, sizeof priv, 1}};
    nlcl_image_meta m = {.exif = (uint8_t *)exif, .exif_len = 26 + 6, .xmp = (char *)xmp, .xmp_len = sizeof xmp - 1,
                         .iptc = (uint8_t *)ps, .iptc_len = sizeof ps, .text = t, .ntext = 4, .chunks = ch, .nchunks = 2};
    nlcl_image img;
    make_image(&img, 9, 7);
    if (nlcl_image_save_png_meta(seed_path("png", "meta.png"), &img, NULL, &m, NLCL_QUANT_ROUND, 0) != NLCL_OK ||
        nlcl_image_save_jpeg_meta(seed_path("jpeg", "meta.jpg"), &img, &m, NLCL_QUANT_ROUND, 90) != NLCL_OK)
        die("save_meta");
    nlcl_image_free(&img);
}

/* ---- BMP (hand-written: nlcl has no BMP writer) ------------------------------- */

typedef struct {
    unsigned char b[4096];
    size_t n;
} bytes;

static void le(bytes *o, uint32_t v, int k) {
    for (int i = 0; i < k; i++) o->b[o->n++] = (unsigned char)(v >> (8 * i));
}

/* BITMAPFILEHEADER + BITMAPINFOHEADER (40 bytes, or 108 = V4 with masks),
 * optional masks / palette, then rows padded to 4 bytes. */
static void write_bmp(const char *name, int w, int h, int bpp, uint32_t compression, int hdr,
                      const uint32_t *masks, int ncolors) {
    bytes o = {{0}, 0};
    size_t stride = (((size_t)w * (size_t)bpp + 31) / 32) * 4;
    int ah = h < 0 ? -h : h;
    size_t extra = (hdr == 40 && masks) ? 12 : 0;
    size_t off = 14 + (size_t)hdr + extra + (size_t)ncolors * 4;
    size_t total = off + stride * (size_t)ah;
    o.b[o.n++] = 'B';
    o.b[o.n++] = 'M';
    le(&o, (uint32_t)total, 4);
    le(&o, 0, 4);
    le(&o, (uint32_t)off, 4);
    le(&o, (uint32_t)hdr, 4);
    le(&o, (uint32_t)w, 4);
    le(&o, (uint32_t)h, 4);
    le(&o, 1, 2);
    le(&o, (uint32_t)bpp, 2);
    le(&o, compression, 4);
    le(&o, (uint32_t)(stride * (size_t)ah), 4);
    le(&o, 2835, 4);
    le(&o, 2835, 4);
    le(&o, (uint32_t)ncolors, 4);
    le(&o, 0, 4);
    if (hdr == 108) { /* V4: masks, colour space, endpoints, gamma */
        for (int i = 0; i < 4; i++) le(&o, masks ? masks[i] : 0, 4);
        le(&o, 0x73524742u, 4); /* 'sRGB' */
        for (int i = 0; i < 12; i++) le(&o, 0, 4);
    } else if (masks) {
        for (int i = 0; i < 3; i++) le(&o, masks[i], 4);
    }
    for (int i = 0; i < ncolors; i++) le(&o, (uint32_t)(i * 0x00102030u) & 0xFFFFFFu, 4);
    for (int y = 0; y < ah; y++) {
        size_t row = o.n;
        for (int x = 0; x < w; x++) {
            if (bpp >= 8) {
                for (int k = 0; k < bpp / 8; k++) {
                    unsigned v = pattern(x, y, k, 8);
                    if (bpp == 8 && ncolors) v %= (unsigned)ncolors;
                    o.b[row + (size_t)x * (size_t)(bpp / 8) + (size_t)k] = (unsigned char)v;
                }
            } else {
                unsigned v = pattern(x, y, 0, bpp) % (unsigned)(ncolors ? ncolors : 2);
                size_t bit = (size_t)x * (size_t)bpp;
                o.b[row + bit / 8] |= (unsigned char)(v << (8 - bpp - (int)(bit % 8)));
            }
        }
        o.n = row + stride;
    }
    write_bytes("bmp", name, o.b, o.n);
}

static void bmp_seeds(void) {
    const uint32_t m565[4] = {0xF800, 0x07E0, 0x001F, 0}, m888[4] = {0xFF0000, 0xFF00, 0xFF, 0xFF000000u};
    write_bmp("rgb24.bmp", 5, 3, 24, 0, 40, NULL, 0);
    write_bmp("rgb24_topdown.bmp", 3, -4, 24, 0, 40, NULL, 0);
    write_bmp("rgb32.bmp", 2, 2, 32, 0, 40, NULL, 0);
    write_bmp("x1r5g5b5.bmp", 3, 2, 16, 0, 40, NULL, 0);
    write_bmp("r5g6b5_bitfields.bmp", 4, 3, 16, 3, 40, m565, 0);
    write_bmp("argb_v4.bmp", 3, 3, 32, 3, 108, m888, 0);
    write_bmp("pal8.bmp", 4, 4, 8, 0, 40, NULL, 16);
    write_bmp("pal4.bmp", 5, 3, 4, 0, 40, NULL, 16);
    write_bmp("pal1.bmp", 9, 2, 1, 0, 40, NULL, 2);
}


typedef struct {
    int w, h, spp, bps, photometric, compression, planar, tile, extra_alpha;
} tiff_mode;

static void write_tiff_mode(const char *name, tiff_mode m) {
    const char *p = seed_path("tiff", name);
    TIFF *t = TIFFOpen(p, "w");
    if (!t) die(p);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)m.w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)m.h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)m.spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)m.bps);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, (uint16_t)m.photometric);
    TIFFSetField(t, TIFFTAG_COMPRESSION, (uint16_t)m.compression);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, (uint16_t)(m.planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG));
    if (m.extra_alpha) {
        uint16_t ex[1] = {EXTRASAMPLE_UNASSALPHA};
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, ex);
    }
    if (m.photometric == PHOTOMETRIC_PALETTE) {
        uint16_t r[256], g[256], b[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (uint16_t)(i * 257);
            g[i] = (uint16_t)(65535 - i * 257);
            b[i] = (uint16_t)(i * 97 * 13);
        }
        TIFFSetField(t, TIFFTAG_COLORMAP, r, g, b);
    }
    int planes = m.planar ? m.spp : 1, per = m.planar ? 1 : m.spp;
    if (m.tile) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 16u);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 16u);
        tmsize_t ts = TIFFTileSize(t);
        unsigned char *buf = calloc(1, (size_t)ts);
        for (int pl = 0; pl < planes; pl++)
            for (int ty = 0; ty < m.h; ty += 16)
                for (int tx = 0; tx < m.w; tx += 16) {
                    memset(buf, 0, (size_t)ts);
                    for (int y = 0; y < 16; y++)
                        for (int x = 0; x < 16 * per; x++)
                            if (m.bps == 8) buf[y * 16 * per + x] = (unsigned char)pattern(tx + x, ty + y, pl, 8);
                    TIFFWriteTile(t, buf, (uint32_t)tx, (uint32_t)ty, 0, (uint16_t)pl);
                }
        free(buf);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2u);
        tmsize_t ss = TIFFScanlineSize(t);
        unsigned char *row = calloc(1, (size_t)ss);
        for (int pl = 0; pl < planes; pl++)
            for (int y = 0; y < m.h; y++) {
                for (tmsize_t i = 0; i < ss; i++) row[i] = (unsigned char)pattern((int)i, y, pl, 8);
                if (TIFFWriteScanline(t, row, (uint32_t)y, (uint16_t)pl) < 0) die(p);
            }
        free(row);
    }
    TIFFClose(t);
}

static void tiff_seeds(void) {
    static const struct {
        const char *name;
        tiff_mode m;
    } modes[] = {
        {"rgb8_none.tif", {5, 4, 3, 8, PHOTOMETRIC_RGB, COMPRESSION_NONE, 0, 0, 0}},
        {"rgb8_lzw.tif", {7, 5, 3, 8, PHOTOMETRIC_RGB, COMPRESSION_LZW, 0, 0, 0}},
        {"rgba8_deflate.tif", {4, 4, 4, 8, PHOTOMETRIC_RGB, COMPRESSION_ADOBE_DEFLATE, 0, 0, 1}},
        {"rgb16_planar.tif", {3, 3, 3, 16, PHOTOMETRIC_RGB, COMPRESSION_NONE, 1, 0, 0}},
        {"grey16_lzw.tif", {6, 3, 1, 16, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, 0, 0, 0}},
        {"grey1_white_packbits.tif", {13, 4, 1, 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_PACKBITS, 0, 0, 0}},
        {"grey4.tif", {5, 2, 1, 4, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, 0, 0}},
        {"palette8.tif", {6, 6, 1, 8, PHOTOMETRIC_PALETTE, COMPRESSION_NONE, 0, 0, 0}},
        {"rgb8_tiled.tif", {20, 18, 3, 8, PHOTOMETRIC_RGB, COMPRESSION_LZW, 0, 1, 0}},
    };
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) write_tiff_mode(modes[i].name, modes[i].m);
}

/* ---- safetensors ------------------------------------------------------------- */

static void st_save(const char *name, const nlcl_tensor_dict *d) {
    if (nlcl_safetensors_save(seed_path("safetensors", name), d) != NLCL_OK) die(name);
}

/* A hand-written safetensors file: header JSON (padded to 8 bytes) + data. */
static void st_raw(const char *name, const char *json, const void *data, size_t n) {
    size_t hl = strlen(json), pad = (8 - hl % 8) % 8;
    size_t total = 8 + hl + pad + n;
    unsigned char *b = malloc(total);
    uint64_t h = hl + pad;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> (8 * i));
    memcpy(b + 8, json, hl);
    memset(b + 8 + hl, ' ', pad);
    if (n) memcpy(b + 8 + hl + pad, data, n);
    write_bytes("safetensors", name, b, total);
    free(b);
}

static void safetensors_seeds(void) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    st_save("empty.safetensors", &d);
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i * 0.25f - 2.0f;
    int64_t s1[1] = {5}, s2[2] = {2, 3}, s4[4] = {1, 2, 3, 4}, s0[1] = {0};
    if (nlcl_tensor_dict_add(&d, "conv.weight", 4, s4, v, NULL) != NLCL_OK ||
        nlcl_tensor_dict_add(&d, "conv.bias", 1, s1, v + 3, NULL) != NLCL_OK ||
        nlcl_tensor_dict_add(&d, "scalar", 0, NULL, v + 7, NULL) != NLCL_OK ||
        nlcl_tensor_dict_add(&d, "zero", 1, s0, NULL, NULL) != NLCL_OK ||
        nlcl_tensor_dict_add(&d, "m", 2, s2, v + 1, NULL) != NLCL_OK ||
        nlcl_tensor_dict_set_meta(&d, "format", "pt") != NLCL_OK ||
        nlcl_tensor_dict_set_meta(&d, "nlcl.arch", "G_B") != NLCL_OK)
        die("dict");
    st_save("mixed.safetensors", &d);
    nlcl_tensor_dict_free(&d);
    if (nlcl_tensor_dict_set_meta(&d, "only", "metadata") != NLCL_OK) die("dict");
    st_save("meta_only.safetensors", &d);
    nlcl_tensor_dict_free(&d);

    /* dtypes nlcl reads but never writes */
    const unsigned char f16[8] = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c}; /* 1 -2 subnormal inf */
    st_raw("f16.safetensors", "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", f16, 8);
    const unsigned char bf16[4] = {0x80, 0x3f, 0xc0, 0x7f}; /* 1, NaN */
    st_raw("bf16.safetensors", "{\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", bf16, 4);
    double f64[2] = {1e300, -0.5};
    st_raw("f64.safetensors",
           "{\"__metadata__\":{\"a\":\"b\"},\"d\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]}}",
           f64, 16);
    st_raw("i64.safetensors", "{\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", f64, 8);
    st_raw("two_f16.safetensors",
           "{\"x\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[2,4]},"
           "\"y\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}",
           f16, 4);
    copy_fixture("safetensors", "tests/fixtures/weights/tiny_mixed.safetensors");
}

/* ---- pickles and .pth ---------------------------------------------------------- */

static void pickle_and_pth(const char *name, pw_bytes *p) {
    char n[256];
    snprintf(n, sizeof n, "%s.pkl", name);
    write_bytes("pickle", n, p->b, p->n);
    /* The same pickle as a whole archive, exactly as the pickle target
     * wraps it, for the pth target. */
    static uint8_t storage[4 * NLCL_FUZZ_PICKLE_NUMEL];
    static const uint8_t little[6] = {'l', 'i', 't', 't', 'l', 'e'};
    const nlcl_fuzz_entry e[] = {
        {"archive/data.pkl", p->b, p->n},      {"archive/byteorder", little, 6},
        {"archive/data/0", storage, sizeof storage}, {"archive/data/1", storage, sizeof storage},
    };
    nlcl_fuzz_buf z;
    if (!nlcl_fuzz_zip(e, 4, &z)) die("zip");
    snprintf(n, sizeof n, "%s.pth", name);
    write_bytes("pth", n, z.p, z.n);
    free(z.p);
    p->n = 0; /* the buffer is reused for the next pickle */
}

static void extract_pkl(const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int err = 0;
    zip_t *za = zip_open(p, ZIP_RDONLY, &err);
    if (!za) {
        fprintf(stderr, "make_seeds: note: %s not readable as zip, skipped\n", p);
        return;
    }
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, 0);
        const char *sl = nm ? strchr(nm, '/') : NULL;
        if (!sl || strcmp(sl, "/data.pkl") != 0) continue;
        zip_stat_t sb;
        zip_file_t *zf;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &sb) != 0 || sb.size > (1 << 20) ||
            !(zf = zip_fopen_index(za, (zip_uint64_t)i, 0)))
            continue;
        unsigned char *b = malloc(sb.size + 1);
        zip_int64_t r = zip_fread(zf, b, sb.size);
        zip_fclose(zf);
        if (r == (zip_int64_t)sb.size) {
            char name[300];
            snprintf(name, sizeof name, "fixture_%s.pkl", nlcl_basename(rel));
            write_bytes("pickle", name, b, (size_t)r);
        }
        free(b);
    }
    zip_discard(za);
}

static void pth_seeds(void) {
    static const char *const fixtures[] = {"tests/fixtures/weights/tiny_state.pth",
                                           "tests/fixtures/weights/double.pth",
                                           "tests/fixtures/weights/noncontig.pth",
                                           "tests/fixtures/weights/evil.pth",
                                           "tests/fixtures/weights/wrapped_dp.pth",
                                           "tests/fixtures/weights/wrapped_params.pth"};
    for (int i = 0; i < 6; i++) {
        copy_fixture("pth", fixtures[i]);
        extract_pkl(fixtures[i]);
    }
    pw_bytes p = {0};
    const pw_tensor w = {"conv.weight", "FloatStorage", "0", 16, 0, 2, {4, 4}, {4, 1}, 2};
    const pw_tensor b = {"conv.bias", "FloatStorage", "1", 16, 2, 1, {3}, {1}, 3};
    const pw_tensor blk = {"block.w", "FloatStorage", "1", 16, 8, 4, {1, 2, 2, 2}, {8, 4, 2, 1}, 0};
    pw_begin(&p);
    pw_tensor_entry(&p, &w);
    pw_tensor_entry(&p, &b);
    pw_tensor_entry(&p, &blk);
    pw_end(&p, 1);
    pickle_and_pth("state_dict", &p);

    const pw_tensor scalar = {"scalar", "FloatStorage", "0", 16, 5, 0, {0}, {0}, 0};
    const pw_tensor half = {"half", "HalfStorage", "1", 16, 0, 1, {3}, {1}, 0};
    pw_begin(&p);
    pw_tensor_entry(&p, &scalar);
    pw_tensor_entry(&p, &half);
    pw_end(&p, 0);
    pickle_and_pth("scalar_half", &p);

    pw_begin(&p); /* empty state_dict */
    pw_end(&p, 0);
    pickle_and_pth("empty", &p);

    /* a transposed view: refused as non-contiguous */
    const pw_tensor tr = {"t", "FloatStorage", "0", 16, 0, 2, {4, 4}, {1, 4}, 0};
    pw_begin(&p);
    pw_tensor_entry(&p, &tr);
    pw_end(&p, 0);
    pickle_and_pth("transposed", &p);
    free(p.b);
}

/* ---- command lines ---------------------------------------------------------------- */

static void cli_seed(const char *name, const char *const *args, int n) {
    unsigned char b[1024];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(args[i]);
        memcpy(b + len, args[i], l);
        len += l;
        if (i + 1 < n) b[len++] = '\0';
    }
    write_bytes("cli", name, b, len);
}

static void cli_seeds(void) {
    const char *a1[] = {"rain.png", "-o", "out", "--quality", "90", "--format=jpg", "-v"};
    cli_seed("derain", a1, 7);
    const char *a2[] = {"--model=m.safetensors", "--quantize", "truncate", "-t", "2", "--", "-x.png", "-"};
    cli_seed("model_dashdash", a2, 8);
    const char *a3[] = {"--lr", "2e-4", "--max-pixels=1000000", "-q", "a", "b", "c"};
    cli_seed("numbers", a3, 7);
    const char *a4[] = {"--help"};
    cli_seed("help", a4, 1);
    const char *a5[] = {"--quality", "101"};
    cli_seed("out_of_range", a5, 2);
    const char *a6[] = {"--threads"};
    cli_seed("missing_value", a6, 1);
    const char *a7[] = {"--verbose=1"};
    cli_seed("flag_value", a7, 1);
    const char *a8[] = {"--lr", "nan", "--format", "gif"};
    cli_seed("bad_values", a8, 4);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds OUTDIR REPO_ROOT\n");
        return 2;
    }
    outdir = argv[1];
    root = argv[2];
    png_seeds();
    jpeg_seeds();
    meta_seeds();
    bmp_seeds();
    tiff_seeds();
    safetensors_seeds();
    pth_seeds();
    cli_seeds();
    printf("make_seeds: %d seeds in %s\n", nseeds, outdir);
    return 0;
}
