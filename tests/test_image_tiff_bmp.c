/* TIFF and BMP loading (include/nlcl/image.h; src/io/tiff.c, src/io/bmp.c)
 * and the image-name filter (include/nlcl/files.h).
 *
 * Oracles: TIFFs written here with libtiff and BMPs written here byte by
 * byte, whose decoded values follow from the stored samples by the closed
 * form x = v / (2^bits - 1) * 2 - 1 (computed by this file's own sample
 * reader); for 8-bit TIFFs also libtiff's independent RGBA decoder
 * (TIFFReadRGBAImageOriented); FNV-1a hashes of PIL 9.4's decoding of the
 * ../shared/data clean photo sets (computed once, command below). Malformed
 * inputs (docs/bad-inputs.md): truncation, absurd and zero/negative sizes,
 * out-of-range palette indices, offsets past the end, a text file named
 * .tif, unsupported forms, and random byte mutations (no crash, no leak:
 * run under valgrind and ASan, see the report in the commit). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <tiffio.h>

#include "harness.h"
#include "nlcl/files.h"
#include "nlcl/image.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static float px(const nlcl_image *im, int c, int y, int x) {
    return im->data[((size_t)c * im->height + y) * im->width + x];
}

static float fx(unsigned v, unsigned maxv) { return (float)((double)v / (double)maxv * 2.0 - 1.0); }

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}
static void fill_rand(uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)rnd();
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static unsigned get16(const uint8_t *p) { return (unsigned)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The first IFD's entries of a little-endian TIFF file in memory (f, fn bytes):
 * *n entries of 12 bytes (tag, type, count, value or offset) that lie within
 * the file; NULL (and *n = 0) where f is not such a file. */
static uint8_t *tiff_ifd0(uint8_t *f, size_t fn, unsigned *n) {
    *n = 0;
    if (!f || fn <= 8 || memcmp(f, "II*\0", 4) != 0) return NULL;
    uint32_t ifd = get32(f + 4);
    if ((size_t)ifd + 2 > fn) return f + 8;
    unsigned ne = get16(f + ifd);
    while (ne > 0 && (size_t)ifd + 2 + 12 * (size_t)ne > fn) ne--;
    *n = ne;
    return f + ifd + 2;
}

/* ---- writing TIFFs with libtiff ------------------------------------------------------------ */

typedef struct tiff_spec {
    uint32_t w, h;
    uint16_t bps, spp, photo, planar, comp, predictor;
    uint16_t nextra;       /* trailing extra samples (unassociated alpha) */
    uint32_t tile, rps;    /* tile: 0 = strips of rps rows (0: libtiff's default) */
    const uint16_t *cmap;  /* palette: 3 * 2^bps entries */
    int big_endian, jpeg_quality;
    uint32_t subfile;      /* NewSubfileType (FILETYPE_REDUCEDIMAGE: a thumbnail) */
    uint16_t subifds;      /* SubIFDs: the next pages written are this page's sub-images */
    uint16_t orientation;  /* 0: no Orientation tag */
    int assoc;             /* the extra samples are associated (premultiplied) alpha */
} tiff_spec;

/* Bytes of one stored row (of one plane when planar). */
static size_t t_rowbytes(const tiff_spec *s) {
    unsigned n = s->planar == PLANARCONFIG_SEPARATE ? 1 : s->spp;
    return ((size_t)s->w * n * s->bps + 7) / 8;
}

/* The data layout used by this file: contig: h rows; separate: spp planes
 * of h rows each; 16-bit samples in host order, sub-byte samples MSB first. */
static size_t t_datasize(const tiff_spec *s) {
    return t_rowbytes(s) * s->h * (s->planar == PLANARCONFIG_SEPARATE ? s->spp : 1);
}

static unsigned t_sample(const tiff_spec *s, const uint8_t *d, uint32_t x, uint32_t y, unsigned c) {
    const uint8_t *row;
    size_t i;
    if (s->planar == PLANARCONFIG_SEPARATE) {
        row = d + ((size_t)c * s->h + y) * t_rowbytes(s);
        i = x;
    } else {
        row = d + (size_t)y * t_rowbytes(s);
        i = (size_t)x * s->spp + c;
    }
    if (s->bps == 16) {
        uint16_t v;
        memcpy(&v, row + 2 * i, 2);
        return v;
    }
    if (s->bps == 8) return row[i];
    size_t bit = i * s->bps;
    return (row[bit / 8] >> (8 - s->bps - bit % 8)) & ((1u << s->bps) - 1);
}

static int tiff_page(TIFF *t, const tiff_spec *s, const uint8_t *d) {
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s->w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, s->h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s->bps);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s->spp);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s->photo);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, s->planar ? s->planar : PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, s->comp ? s->comp : COMPRESSION_NONE);
    if (s->predictor) TIFFSetField(t, TIFFTAG_PREDICTOR, s->predictor);
    if (s->subfile) TIFFSetField(t, TIFFTAG_SUBFILETYPE, s->subfile);
    if (s->orientation) TIFFSetField(t, TIFFTAG_ORIENTATION, s->orientation);
    if (s->subifds) {
        uint64_t off[4] = {0, 0, 0, 0}; /* filled in by libtiff as they are written */
        TIFFSetField(t, TIFFTAG_SUBIFD, s->subifds, off);
    }
    if (s->comp == COMPRESSION_JPEG) {
        TIFFSetField(t, TIFFTAG_JPEGQUALITY, s->jpeg_quality);
        if (s->photo == PHOTOMETRIC_YCBCR) TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    if (s->nextra) {
        const uint16_t e = s->assoc ? EXTRASAMPLE_ASSOCALPHA : EXTRASAMPLE_UNASSALPHA;
        uint16_t ex[4] = {e, e, e, e};
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, s->nextra, ex);
    }
    if (s->cmap) {
        size_t n = (size_t)1 << s->bps;
        TIFFSetField(t, TIFFTAG_COLORMAP, s->cmap, s->cmap + n, s->cmap + 2 * n);
    }
    const int nplanes = s->planar == PLANARCONFIG_SEPARATE ? s->spp : 1;
    const size_t rb = t_rowbytes(s);
    if (s->tile) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, s->tile);
        TIFFSetField(t, TIFFTAG_TILELENGTH, s->tile);
        const size_t bpp = rb / s->w; /* whole bytes per pixel (bps >= 8 for tiled tests) */
        uint8_t *tb = calloc((size_t)s->tile * s->tile, bpp);
        for (int p = 0; p < nplanes; p++)
            for (uint32_t ty = 0; ty < s->h; ty += s->tile)
                for (uint32_t tx = 0; tx < s->w; tx += s->tile) {
                    memset(tb, 0, (size_t)s->tile * s->tile * bpp);
                    for (uint32_t r = 0; r < s->tile && ty + r < s->h; r++) {
                        uint32_t nx = s->w - tx < s->tile ? s->w - tx : s->tile;
                        memcpy(tb + (size_t)r * s->tile * bpp,
                               d + ((size_t)p * s->h + ty + r) * rb + (size_t)tx * bpp, nx * bpp);
                    }
                    if (TIFFWriteTile(t, tb, tx, ty, 0, (uint16_t)p) < 0) {
                        free(tb);
                        return -1;
                    }
                }
        free(tb);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s->rps ? s->rps : TIFFDefaultStripSize(t, 0));
        uint8_t *row = malloc(rb);
        for (int p = 0; p < nplanes; p++)
            for (uint32_t y = 0; y < s->h; y++) {
                memcpy(row, d + ((size_t)p * s->h + y) * rb, rb); /* libtiff may modify it */
                if (TIFFWriteScanline(t, row, y, (uint16_t)p) < 0) {
                    free(row);
                    return -1;
                }
            }
        free(row);
    }
    return TIFFWriteDirectory(t) ? 0 : -1;
}

/* Write `npages` pages (page k uses spec[k] and data[k]). */
static int write_tiff_pages(const char *path, int npages, const tiff_spec *spec,
                            const uint8_t *const *data) {
    TIFF *t = TIFFOpen(path, spec[0].big_endian ? "wb" : "wl");
    if (!t) return -1;
    int r = 0;
    for (int k = 0; k < npages && r == 0; k++) r = tiff_page(t, &spec[k], data[k]);
    TIFFClose(t);
    return r;
}

static int write_tiff(const char *path, const tiff_spec *s, const uint8_t *d) {
    return write_tiff_pages(path, 1, s, &d);
}

/* Expected value of channel c at (x, y), from this file's own reading of the data. */
static float t_expect(const tiff_spec *s, const uint8_t *d, uint32_t x, uint32_t y, unsigned c) {
    unsigned maxv = (1u << s->bps) - 1;
    switch (s->photo) {
    case PHOTOMETRIC_MINISBLACK: return fx(t_sample(s, d, x, y, 0), maxv);
    case PHOTOMETRIC_MINISWHITE: return fx(maxv - t_sample(s, d, x, y, 0), maxv);
    case PHOTOMETRIC_PALETTE: {
        /* 16-bit map entries: the high byte (libtiff's RGBA interface, PIL);
         * a map with all entries < 256: 8-bit values */
        size_t n = (size_t)1 << s->bps;
        unsigned shift = 0;
        for (size_t i = 0; i < 3 * n; i++)
            if (s->cmap[i] > 255) shift = 8;
        return fx(s->cmap[c * n + t_sample(s, d, x, y, 0)] >> shift, 255);
    }
    default: return fx(t_sample(s, d, x, y, c), maxv);
    }
}

/* Every value of im equals t_expect; returns the number of mismatches. */
static long check_tiff_values(const nlcl_image *im, const tiff_spec *s, const uint8_t *d) {
    long bad = 0;
    if (!im->data || im->width != (int)s->w || im->height != (int)s->h) return -1;
    for (uint32_t y = 0; y < s->h; y++)
        for (uint32_t x = 0; x < s->w; x++)
            for (unsigned c = 0; c < 3; c++)
                if (px(im, (int)c, (int)y, (int)x) != t_expect(s, d, x, y, c)) {
                    if (bad++ < 3)
                        fprintf(stderr, "  (%u,%u) c%u: got %.9g want %.9g\n", x, y, c,
                                px(im, (int)c, (int)y, (int)x), t_expect(s, d, x, y, c));
                }
    return bad;
}

/* Compare an 8-bit decode with libtiff's own RGBA decoder; returns the
 * largest difference in 8-bit levels (-1 if libtiff cannot read it). */
static int rgba_maxdiff(const char *path, const nlcl_image *im) {
    TIFF *t = TIFFOpen(path, "r");
    if (!t) return -1;
    uint32_t w = 0, h = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    uint32_t *r = malloc((size_t)w * h * 4);
    int ok = r && TIFFReadRGBAImageOriented(t, w, h, r, ORIENTATION_TOPLEFT, 0);
    TIFFClose(t);
    if (!ok || (int)w != im->width || (int)h != im->height) {
        free(r);
        return -1;
    }
    size_t n = (size_t)w * h * 3;
    uint8_t *rgb = malloc(n);
    nlcl_image_to_rgb8(im, NLCL_QUANT_ROUND, rgb);
    int m = 0;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        unsigned v[3] = {TIFFGetR(r[i]), TIFFGetG(r[i]), TIFFGetB(r[i])};
        for (int c = 0; c < 3; c++) {
            int dd = abs((int)v[c] - (int)rgb[3 * i + (size_t)c]);
            if (dd > m) m = dd;
        }
    }
    free(r);
    free(rgb);
    return m;
}

/* The file `name` (its n bytes b) gives im again when loaded from memory, and
 * a probe gives info but for what only a full load knows. */
static void same_from_memory_and_probe(const char *name, const uint8_t *b, size_t n,
                                       const nlcl_image *im, const nlcl_image_info *info) {
    nlcl_image im2;
    CHECK_OK(nlcl_image_load_memory(b, n, name, &im2, NULL));
    CHECK(im->data && im2.data &&
          memcmp(im->data, im2.data, (size_t)im->width * im->height * 3 * sizeof(float)) == 0);
    nlcl_image_info pinfo;
    CHECK_OK(nlcl_image_probe(test_path(name), &pinfo));
    /* what only a full load knows (image.h: "full loads") */
    pinfo.transparent = info->transparent;
    pinfo.colour_converted = info->colour_converted;
    CHECK(memcmp(&pinfo, info, sizeof *info) == 0);
    nlcl_image_free(&im2);
}

/* Write, load (from the file and from memory), compare against the closed
 * form; `rgba`: also against libtiff's RGBA decoder (8-bit only). */
static void tiff_case(const char *name, const tiff_spec *s, const uint8_t *d, int rgba) {
    nlcl_image im;
    nlcl_image_info info;
    CHECK(write_tiff(test_path(name), s, d) == 0);
    CHECK_OK(nlcl_image_load(test_path(name), &im, &info));
    long bad = check_tiff_values(&im, s, d);
    CHECK_MSG(bad == 0, "%s: %ld values differ", name, bad);
    CHECK(info.format == NLCL_IMAGE_TIFF && !info.is_jpeg && info.width == (int)s->w &&
          info.height == (int)s->h && info.bit_depth == s->bps &&
          info.palette == (s->photo == PHOTOMETRIC_PALETTE));
    if (rgba) {
        int m = rgba_maxdiff(test_path(name), &im);
        CHECK_MSG(m == 0, "%s: differs from libtiff's RGBA decoder by %d levels", name, m);
    }
    size_t n;
    uint8_t *b = test_read_file(test_path(name), &n);
    same_from_memory_and_probe(name, b, n, &im, &info);
    free(b);
    nlcl_image_free(&im);
}

/* ---- TIFF: valid files ------------------------------------------------------------------------ */

static void test_tiff_valid(void) {
    static uint8_t d[1 << 20];
    /* 8-bit RGB, odd size, 5-row strips, little- and big-endian */
    tiff_spec s = {.w = 37, .h = 23, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB, .rps = 5};
    fill_rand(d, t_datasize(&s));
    tiff_case("rgb8.tif", &s, d, 1);
    s.big_endian = 1;
    tiff_case("rgb8_mm.tif", &s, d, 1);
    /* 8-bit grey, MinIsBlack and MinIsWhite (inverted) */
    s = (tiff_spec){.w = 13, .h = 7, .bps = 8, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK};
    fill_rand(d, t_datasize(&s));
    d[0] = 0, d[1] = 255;
    tiff_case("grey8.tif", &s, d, 1);
    s.photo = PHOTOMETRIC_MINISWHITE;
    tiff_case("grey8_white.tif", &s, d, 1);
    {
        nlcl_image im;
        CHECK_OK(nlcl_image_load(test_path("grey8_white.tif"), &im, NULL));
        CHECK(im.data && px(&im, 0, 0, 0) == 1.0f && px(&im, 2, 0, 1) == -1.0f);
        nlcl_image_free(&im);
    }
    /* 16-bit RGB ramp: R takes all 65536 levels, G reversed, B a permutation;
     * deflate-compressed with the horizontal predictor, big-endian file */
    s = (tiff_spec){.w = 256, .h = 256, .bps = 16, .spp = 3, .photo = PHOTOMETRIC_RGB,
                    .comp = COMPRESSION_ADOBE_DEFLATE, .predictor = PREDICTOR_HORIZONTAL,
                    .rps = 16, .big_endian = 1};
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t v[3] = {(uint16_t)i, (uint16_t)(65535 - i), (uint16_t)(i * 7919u)};
        memcpy(d + 6 * (size_t)i, v, 6);
    }
    tiff_case("rgb16.tif", &s, d, 0);
    {
        nlcl_image im;
        CHECK_OK(nlcl_image_load(test_path("rgb16.tif"), &im, NULL));
        int increasing = im.data != NULL;
        for (size_t i = 1; increasing && i < 65536; i++) increasing = im.data[i] > im.data[i - 1];
        CHECK_MSG(increasing, "16-bit levels not all distinct");
        CHECK(im.data && im.data[0] == -1.0f && im.data[65535] == 1.0f);
        nlcl_image_free(&im);
    }
    /* 16-bit grey, 16-bit RGBA (alpha dropped, not composited) in separate planes */
    s = (tiff_spec){.w = 11, .h = 9, .bps = 16, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK};
    fill_rand(d, t_datasize(&s));
    tiff_case("grey16.tif", &s, d, 0);
    s = (tiff_spec){.w = 11, .h = 9, .bps = 16, .spp = 4, .photo = PHOTOMETRIC_RGB, .nextra = 1,
                    .planar = PLANARCONFIG_SEPARATE, .rps = 4};
    fill_rand(d, t_datasize(&s));
    memset(d + 3 * t_rowbytes(&s) * s.h, 0, t_rowbytes(&s) * s.h); /* alpha 0 everywhere */
    tiff_case("rgba16_planar.tif", &s, d, 0);
    /* 8-bit RGBA contig: alpha dropped; libtiff's RGBA decoder would premultiply */
    s = (tiff_spec){.w = 6, .h = 5, .bps = 8, .spp = 4, .photo = PHOTOMETRIC_RGB, .nextra = 1};
    fill_rand(d, t_datasize(&s));
    tiff_case("rgba8.tif", &s, d, 0);
    /* palette: 8-bit indices with a 16-bit map (random entries: not multiples
     * of 256 or 257), 4-bit indices with an 8-bit-valued map (all < 256) */
    static uint16_t cmap[3 * 256];
    for (int i = 0; i < 3 * 256; i++) cmap[i] = (uint16_t)(rnd() & 0xFFFF);
    cmap[0] = 1000, cmap[1] = 65535, cmap[2] = 0;
    s = (tiff_spec){.w = 19, .h = 6, .bps = 8, .spp = 1, .photo = PHOTOMETRIC_PALETTE, .cmap = cmap};
    fill_rand(d, t_datasize(&s));
    d[0] = 0, d[1] = 1, d[2] = 2;
    tiff_case("pal8.tif", &s, d, 1);
    {
        nlcl_image im;
        CHECK_OK(nlcl_image_load(test_path("pal8.tif"), &im, NULL));
        CHECK(im.data && px(&im, 0, 0, 0) == fx(1000 >> 8, 255) && px(&im, 0, 0, 1) == 1.0f &&
              px(&im, 0, 0, 2) == -1.0f);
        nlcl_image_free(&im);
    }
    /* maps scaled by 256 (PIL's writer) and by 257 (libtiff tools) give the same colours */
    for (int i = 0; i < 3 * 256; i++) cmap[i] = (uint16_t)((i * 7 % 256) * 256);
    tiff_case("pal8_x256.tif", &s, d, 1);
    for (int i = 0; i < 3 * 256; i++) cmap[i] = (uint16_t)((i * 7 % 256) * 257);
    tiff_case("pal8_x257.tif", &s, d, 1);
    {
        nlcl_image a, b2;
        CHECK_OK(nlcl_image_load(test_path("pal8_x256.tif"), &a, NULL));
        CHECK_OK(nlcl_image_load(test_path("pal8_x257.tif"), &b2, NULL));
        CHECK(a.data && b2.data && memcmp(a.data, b2.data, (size_t)19 * 6 * 3 * sizeof(float)) == 0);
        nlcl_image_free(&a);
        nlcl_image_free(&b2);
    }
    static uint16_t cmap4[3 * 16];
    for (int i = 0; i < 3 * 16; i++) cmap4[i] = (uint16_t)(rnd() & 0xFF);
    s = (tiff_spec){.w = 11, .h = 5, .bps = 4, .spp = 1, .photo = PHOTOMETRIC_PALETTE, .cmap = cmap4};
    fill_rand(d, t_datasize(&s));
    tiff_case("pal4.tif", &s, d, 1);
    /* 1-bit MinIsBlack (bilevel), width not a multiple of 8 */
    s = (tiff_spec){.w = 21, .h = 4, .bps = 1, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK};
    fill_rand(d, t_datasize(&s));
    tiff_case("bilevel.tif", &s, d, 1);
    /* tiled 8-bit RGB with partial edge tiles, LZW */
    s = (tiff_spec){.w = 50, .h = 40, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB, .tile = 16,
                    .comp = COMPRESSION_LZW};
    fill_rand(d, t_datasize(&s));
    tiff_case("tiled_lzw.tif", &s, d, 1);
    /* tiled 16-bit grey, separate-plane tiled RGB */
    s = (tiff_spec){.w = 33, .h = 17, .bps = 16, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK,
                    .tile = 16, .comp = COMPRESSION_ADOBE_DEFLATE};
    fill_rand(d, t_datasize(&s));
    tiff_case("tiled16.tif", &s, d, 0);
    s = (tiff_spec){.w = 20, .h = 18, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB, .tile = 16,
                    .planar = PLANARCONFIG_SEPARATE, .comp = COMPRESSION_PACKBITS};
    fill_rand(d, t_datasize(&s));
    tiff_case("tiled_planar.tif", &s, d, 1);
    /* tiled 2-bit grey (sub-byte tile rows are byte-aligned): random tile bytes,
     * against libtiff's RGBA decoder only */
    {
        TIFF *t = TIFFOpen(test_path("tiled2.tif"), "w");
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 37);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 21);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 2);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
        uint8_t tb[16 * 16 / 4];
        for (uint32_t k = 0; k < TIFFNumberOfTiles(t); k++) {
            fill_rand(tb, sizeof tb);
            TIFFWriteEncodedTile(t, k, tb, sizeof tb);
        }
        TIFFClose(t);
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(test_path("tiled2.tif"), &im, &info));
        CHECK(im.data && info.bit_depth == 2 && info.channels == 1);
        int m = im.data ? rgba_maxdiff(test_path("tiled2.tif"), &im) : -1;
        CHECK_MSG(m == 0, "tiled2.tif: differs from libtiff's RGBA decoder by %d levels", m);
        nlcl_image_free(&im);
    }
    /* LZW strips with the horizontal predictor; PackBits (as McMaster uses) */
    s = (tiff_spec){.w = 64, .h = 48, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB,
                    .comp = COMPRESSION_LZW, .predictor = PREDICTOR_HORIZONTAL, .rps = 7};
    for (size_t i = 0; i < t_datasize(&s); i++) d[i] = (uint8_t)(i / 3 % 64 * 3 + i % 3 * 40 + (rnd() & 3));
    tiff_case("lzw.tif", &s, d, 1);
    s.comp = COMPRESSION_PACKBITS;
    s.predictor = 0;
    tiff_case("packbits.tif", &s, d, 1);

    /* JPEG-compressed YCbCr: libjpeg converts to RGB; equal to libtiff's RGBA
     * decoder (which does the same) and close to the source */
    s = (tiff_spec){.w = 48, .h = 32, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_YCBCR,
                    .comp = COMPRESSION_JPEG, .jpeg_quality = 95, .rps = 16};
    for (uint32_t y = 0; y < s.h; y++)
        for (uint32_t x = 0; x < s.w; x++) {
            uint8_t *p = d + ((size_t)y * s.w + x) * 3;
            p[0] = (uint8_t)(4 * x), p[1] = (uint8_t)(6 * y), p[2] = (uint8_t)(128 + x - y);
        }
    if (TIFFIsCODECConfigured(COMPRESSION_JPEG)) {
        nlcl_image im;
        nlcl_image_info info;
        CHECK(write_tiff(test_path("jpeg.tif"), &s, d) == 0);
        CHECK_OK(nlcl_image_load(test_path("jpeg.tif"), &im, &info));
        CHECK(im.data && info.channels == 3 && info.bit_depth == 8);
        int m = rgba_maxdiff(test_path("jpeg.tif"), &im);
        CHECK_MSG(m == 0, "JPEG TIFF differs from libtiff's RGBA decoder by %d levels", m);
        double maxd = 0;
        for (uint32_t y = 0; im.data && y < s.h; y++)
            for (uint32_t x = 0; x < s.w; x++)
                for (int c = 0; c < 3; c++) {
                    double e = fabs(px(&im, c, (int)y, (int)x) - fx(d[((size_t)y * s.w + x) * 3 + (size_t)c], 255));
                    if (e > maxd) maxd = e;
                }
        CHECK_MSG(maxd < 12.0 / 255 * 2, "JPEG TIFF: max error %.4f", maxd);
        nlcl_image_free(&im);
        /* a strip whose StripByteCounts entry is cut to 60%: libjpeg would fill
         * the rest with grey and only warn; that is an error here */
        size_t fn;
        uint8_t *f = test_read_file(test_path("jpeg.tif"), &fn);
        int patched = 0;
        unsigned ne;
        uint8_t *ents = tiff_ifd0(f, fn, &ne);
        for (unsigned i = 0; i < ne; i++) {
            uint8_t *e = ents + 12 * i;
            unsigned tag = get16(e), type = get16(e + 2);
            uint32_t cnt = get32(e + 4), at = get32(e + 8);
            if (tag == 279 && type == 3 && cnt == 2) { /* two SHORTs, inline */
                put16(e + 8, get16(e + 8) * 6 / 10);
                patched = 1;
            } else if (tag == 279 && type == 4 && cnt == 2 && at + 8 <= fn) {
                uint32_t v = (uint32_t)f[at] | (uint32_t)f[at + 1] << 8 | (uint32_t)f[at + 2] << 16;
                put32(f + at, v * 6 / 10);
                patched = 1;
            }
        }
        CHECK(patched);
        CHECK_ERR(nlcl_image_load_memory(f, fn, "jpeg_short.tif", &im, NULL), NLCL_ERR_FORMAT,
                  "jpeg_short.tif: TIFF truncated (row 0: JPEG: Premature end of JPEG file)");
        CHECK(im.data == NULL);
        free(f);
    }

    /* two pages: refused (only the first would be read), naming the count;
     * a page plus its thumbnail (a reduced-resolution image) is one page */
    {
        tiff_spec sp[2] = {
            {.w = 5, .h = 4, .bps = 8, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK},
            {.w = 9, .h = 9, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB},
        };
        static uint8_t p1[20], p2[243];
        fill_rand(p1, sizeof p1);
        fill_rand(p2, sizeof p2);
        const uint8_t *pd[2] = {p1, p2};
        CHECK(write_tiff_pages(test_path("pages.tif"), 2, sp, pd) == 0);
        nlcl_image im;
        nlcl_image_info info;
        CHECK_ERR(nlcl_image_load(test_path("pages.tif"), &im, &info), NLCL_ERR_UNSUPPORTED,
                  "pages.tif: TIFF with 2 pages is not supported");
        CHECK(im.data == NULL);
        CHECK_ERR(nlcl_image_probe(test_path("pages.tif"), &info), NLCL_ERR_UNSUPPORTED, "2 pages");
        sp[1].subfile = FILETYPE_REDUCEDIMAGE;
        CHECK(write_tiff_pages(test_path("thumb.tif"), 2, sp, pd) == 0);
        CHECK_OK(nlcl_image_load(test_path("thumb.tif"), &im, &info));
        CHECK(check_tiff_values(&im, &sp[0], p1) == 0);
        CHECK(info.width == 5 && info.height == 4 && info.channels == 1);
        nlcl_image_free(&im);
        /* a first image that is the preview of a full image in a SubIFD (a
         * DNG's layout): refused, not read in place of the photo */
        tiff_spec dng[2] = {sp[0], sp[1]};
        dng[0].subfile = FILETYPE_REDUCEDIMAGE, dng[0].subifds = 1, dng[1].subfile = 0;
        CHECK(write_tiff_pages(test_path("dng.tif"), 2, dng, pd) == 0);
        CHECK_ERR(nlcl_image_load(test_path("dng.tif"), &im, &info), NLCL_ERR_UNSUPPORTED,
                  "dng.tif: the first image of this TIFF is a reduced-resolution preview");
        CHECK(im.data == NULL);
        /* a lone image marked reduced-resolution is the only image: read */
        CHECK(write_tiff_pages(test_path("lone.tif"), 1, &sp[1], &pd[1]) == 0);
        CHECK_OK(nlcl_image_load(test_path("lone.tif"), &im, &info));
        CHECK(check_tiff_values(&im, &sp[1], p2) == 0);
        nlcl_image_free(&im);
        /* ... and the second page is really there */
        TIFF *t = TIFFOpen(test_path("pages.tif"), "r");
        CHECK(t && TIFFNumberOfDirectories(t) == 2);
        if (t) TIFFClose(t);
    }
    /* a 1x1 TIFF */
    s = (tiff_spec){.w = 1, .h = 1, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB};
    d[0] = 0, d[1] = 128, d[2] = 255;
    tiff_case("one.tif", &s, d, 1);
}

/* ---- hand-made TIFF headers --------------------------------------------------------------------- */


/* A little-endian 8-bit grey TIFF, IFD first, one strip of w*h bytes at
 * `data_off` (0: right after the IFD; the bytes follow only if `with_data`).
 * Returns the file length. */
static size_t mini_tiff(uint8_t *b, uint32_t w, uint32_t h, uint32_t data_off, int with_data) {
    static const uint16_t tags[] = {256, 257, 258, 259, 262, 273, 277, 278, 279};
    const unsigned n = sizeof tags / sizeof tags[0];
    size_t ifd_end = 8 + 2 + 12 * n + 4;
    uint32_t off = data_off ? data_off : (uint32_t)ifd_end;
    uint64_t bytes = (uint64_t)w * h;
    memcpy(b, "II*\0", 4);
    put32(b + 4, 8);
    put16(b + 8, n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = b + 10 + 12 * i;
        uint32_t v;
        int is_long = 0;
        switch (tags[i]) {
        case 256: v = w, is_long = 1; break;
        case 257: v = h, is_long = 1; break;
        case 258: v = 8; break;
        case 259: v = 1; break;
        case 262: v = 1; break;
        case 273: v = off, is_long = 1; break;
        case 277: v = 1; break;
        case 278: v = h, is_long = 1; break;
        default: v = bytes > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)bytes, is_long = 1; break;
        }
        put16(e, tags[i]);
        put16(e + 2, is_long ? 4 : 3);
        put32(e + 4, 1);
        if (is_long) put32(e + 8, v);
        else put16(e + 8, v), put16(e + 10, 0);
    }
    put32(b + 10 + 12 * n, 0);
    if (!with_data) return ifd_end;
    for (uint64_t i = 0; i < bytes; i++) b[off + i] = (uint8_t)(i * 37);
    return off + (size_t)bytes;
}

static void test_tiff_bad(void) {
    nlcl_image im;
    nlcl_image_info info;
    static uint8_t b[1 << 16];
    /* the hand-made file itself is valid */
    size_t n = mini_tiff(b, 7, 5, 0, 1);
    CHECK(test_write_file(test_path("mini.tif"), b, n) == 0);
    CHECK_OK(nlcl_image_load(test_path("mini.tif"), &im, &info));
    CHECK(im.data && im.width == 7 && im.height == 5 && px(&im, 1, 4, 6) == fx((34 * 37) & 255, 255));
    nlcl_image_free(&im);
    /* truncated pixel data: each cut length is an error naming the file */
    for (size_t cut = n - 1; cut > n - 35; cut -= 5) {
        CHECK_ERR(nlcl_image_load_memory(b, cut, "cut.tif", &im, NULL), NLCL_ERR_FORMAT,
                  "cut.tif: TIFF truncated (row ");
        CHECK(im.data == NULL);
    }
    CHECK(test_write_file(test_path("cut.tif"), b, n - 10) == 0);
    CHECK_ERR(nlcl_image_load(test_path("cut.tif"), &im, NULL), NLCL_ERR_FORMAT, "cut.tif: TIFF truncated");
    /* truncated inside the header / IFD */
    CHECK_ERR(nlcl_image_load_memory(b, 3, "h3.tif", &im, NULL), NLCL_ERR_FORMAT, "h3.tif: TIFF truncated");
    CHECK_ERR(nlcl_image_load_memory(b, 6, "h6.tif", &im, NULL), NLCL_ERR_FORMAT, "h6.tif: ");
    CHECK_ERR(nlcl_image_load_memory(b, 40, "h40.tif", &im, NULL), NLCL_ERR_FORMAT, "h40.tif: ");
    /* a libtiff-written file (IFD at the end) cut in half */
    {
        size_t fn;
        uint8_t *f = test_read_file(test_path("rgb8.tif"), &fn);
        CHECK(f && fn > 100);
        CHECK_ERR(nlcl_image_load_memory(f, fn / 2, "half.tif", &im, NULL), NLCL_ERR_FORMAT,
                  "half.tif: ");
        CHECK(im.data == NULL);
        free(f);
    }
    /* a tiled file whose tiles claim 65520x65520 (12.9 GB each): refused before
     * allocating a tile buffer */
    {
        size_t fn;
        uint8_t *f = test_read_file(test_path("tiled_lzw.tif"), &fn);
        int patched = 0;
        unsigned ne;
        uint8_t *ents = tiff_ifd0(f, fn, &ne);
        for (unsigned i = 0; i < ne; i++) {
            uint8_t *e = ents + 12 * i;
            if ((get16(e) == 322 || get16(e) == 323) && get16(e + 2) == 3) put16(e + 8, 65520), patched++;
        }
        CHECK(patched == 2);
        CHECK_ERR(nlcl_image_load_memory(f, fn, "bigtile.tif", &im, NULL), NLCL_ERR_FORMAT,
                  "bigtile.tif: TIFF tile 65520x65520 is too large for a 50x40 image");
        free(f);
    }
    /* strip offset past the end of the file */
    n = mini_tiff(b, 7, 5, 60000, 0);
    CHECK_ERR(nlcl_image_load_memory(b, n, "far.tif", &im, NULL), NLCL_ERR_FORMAT, "far.tif: TIFF truncated");
    /* 100000x100000: the pixel limit, before any allocation (decoding it would
     * need 120 GB, so an allocation attempt would give NLCL_ERR_NOMEM) */
    n = mini_tiff(b, 100000, 100000, 0, 0);
    CHECK(test_write_file(test_path("huge.tif"), b, n) == 0);
    CHECK_ERR(nlcl_image_load(test_path("huge.tif"), &im, &info), NLCL_ERR_LIMIT,
              "huge.tif: 100000x100000 exceeds the pixel limit");
    CHECK(test_contains(nlcl_error_message(), "huge.tif: 100000x100000 exceeds the pixel limit of 100000000"));
    CHECK(im.data == NULL && info.width == 100000 && info.height == 100000 &&
          info.format == NLCL_IMAGE_TIFF);
    CHECK_ERR(nlcl_image_probe(test_path("huge.tif"), &info), NLCL_ERR_LIMIT, "huge.tif: ");
    /* zero sizes */
    n = mini_tiff(b, 0, 5, 0, 1);
    CHECK_ERR(nlcl_image_load_memory(b, n, "w0.tif", &im, NULL), NLCL_ERR_FORMAT, "w0.tif: ");
    n = mini_tiff(b, 5, 0, 0, 1);
    CHECK_ERR(nlcl_image_load_memory(b, n, "h0.tif", &im, NULL), NLCL_ERR_FORMAT, "h0.tif: ");
    /* a text file named .tif, and "II*\0" followed by garbage */
    const char *txt = "this is not a TIFF\n";
    CHECK(test_write_file(test_path("text.tif"), txt, strlen(txt)) == 0);
    CHECK_ERR(nlcl_image_load(test_path("text.tif"), &im, NULL), NLCL_ERR_FORMAT,
              "text.tif: not a PNG or JPEG file, nor TIFF or BMP");
    memcpy(b, "II*\0\xff\xff\xff\x7f garbage garbage", 24);
    CHECK_ERR(nlcl_image_load_memory(b, 24, "garbage.tif", &im, NULL), NLCL_ERR_FORMAT, "garbage.tif: ");
    memcpy(b, "MM\0*\0\0\0\x08\0\0", 10);
    CHECK_ERR(nlcl_image_load_memory(b, 10, "noifd.tif", &im, NULL), NLCL_ERR_FORMAT, "noifd.tif: ");
    /* unsupported forms */
    static uint8_t d[64 * 64 * 4];
    fill_rand(d, sizeof d);
    tiff_spec s = {.w = 8, .h = 8, .bps = 8, .spp = 4, .photo = PHOTOMETRIC_SEPARATED};
    CHECK(write_tiff(test_path("cmyk.tif"), &s, d) == 0);
    CHECK_ERR(nlcl_image_load(test_path("cmyk.tif"), &im, NULL), NLCL_ERR_UNSUPPORTED,
              "cmyk.tif: CMYK (separated) TIFF is not supported");
    {
        TIFF *t = TIFFOpen(test_path("float.tif"), "w");
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 2);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        float row[4] = {0, 0.5f, 1, 2};
        for (uint32_t y = 0; y < 2; y++) TIFFWriteScanline(t, row, y, 0);
        TIFFClose(t);
    }
    CHECK_ERR(nlcl_image_load(test_path("float.tif"), &im, NULL), NLCL_ERR_UNSUPPORTED,
              "float.tif: TIFF with floating-point samples is not supported");
    s = (tiff_spec){.w = 8, .h = 8, .bps = 4, .spp = 3, .photo = PHOTOMETRIC_RGB};
    CHECK(write_tiff(test_path("rgb4.tif"), &s, d) == 0);
    CHECK_ERR(nlcl_image_load(test_path("rgb4.tif"), &im, NULL), NLCL_ERR_UNSUPPORTED,
              "rgb4.tif: 4-bit RGB TIFF is not supported");
    /* probe refuses the same */
    CHECK_ERR(nlcl_image_probe(test_path("cmyk.tif"), &info), NLCL_ERR_UNSUPPORTED, "cmyk.tif");
    /* not a regular file */
    CHECK_ERR(nlcl_image_load(test_tmpdir(), &im, NULL), NLCL_ERR_IO, "is a directory");
}

/* ---- BMP --------------------------------------------------------------------------------------- */

typedef struct bmp_spec {
    uint32_t hsize;        /* 40, 52, 56, 108, 124 (or anything, for bad files) */
    int32_t w, h;
    uint16_t planes, bpp;  /* planes 0 means 1 */
    uint32_t comp, clr_used;
    uint32_t masks[4];     /* written in the header (hsize >= 52) or after it */
    int masks_after;       /* number of masks after a 40-byte header */
    const uint8_t *pal;    /* BGRX entries */
    uint32_t npal;
    int32_t off_delta;     /* added to the natural pixel-data offset */
} bmp_spec;

static size_t bmp_stride(int32_t w, unsigned bpp) { return (((size_t)w * bpp + 31) / 32) * 4; }

/* File bytes: headers, masks, palette, then `pix` (rows in file order). */
static size_t make_bmp(uint8_t *b, const bmp_spec *s, const uint8_t *pix, size_t pixlen) {
    size_t pos = 14 + s->hsize + 4 * (size_t)s->masks_after + 4 * (size_t)s->npal;
    uint32_t off = (uint32_t)((int64_t)pos + s->off_delta);
    memset(b, 0, pos);
    b[0] = 'B', b[1] = 'M';
    put32(b + 2, (uint32_t)(off + pixlen));
    put32(b + 10, off);
    uint8_t *ih = b + 14;
    put32(ih, s->hsize);
    put32(ih + 4, (uint32_t)s->w);
    put32(ih + 8, (uint32_t)s->h);
    put16(ih + 12, s->planes ? s->planes : 1);
    put16(ih + 14, s->bpp);
    put32(ih + 16, s->comp);
    put32(ih + 20, (uint32_t)pixlen);
    put32(ih + 24, 2835), put32(ih + 28, 2835);
    put32(ih + 32, s->clr_used);
    size_t q = 14 + s->hsize;
    if (s->hsize >= 52)
        for (int k = 0; k < (s->hsize >= 56 ? 4 : 3); k++) put32(ih + 40 + 4 * k, s->masks[k]);
    if (s->hsize >= 108) memcpy(ih + 56, "BGRs", 4); /* LCS_sRGB (stored reversed) */
    for (int k = 0; k < s->masks_after; k++, q += 4) put32(b + q, s->masks[k]);
    if (s->npal) memcpy(b + q, s->pal, 4 * (size_t)s->npal);
    if (s->off_delta > 0) memset(b + pos, 0xEE, (size_t)s->off_delta);
    memcpy(b + off, pix, pixlen);
    return off + pixlen;
}

/* File row of image row y. */
static const uint8_t *bmp_row(const bmp_spec *s, const uint8_t *pix, int y) {
    int ah = s->h < 0 ? -s->h : s->h;
    int i = s->h < 0 ? y : ah - 1 - y;
    return pix + (size_t)i * bmp_stride(s->w, s->bpp);
}

static int mask_shift(uint32_t m) {
    int k = 0;
    while (m && !((m >> k) & 1)) k++;
    return k;
}

/* Expected value (independent of bmp.c) of channel c at (x, y). */
static float bmp_expect(const bmp_spec *s, const uint8_t *pix, int x, int y, int c) {
    const uint8_t *r = bmp_row(s, pix, y);
    if (s->bpp <= 8) {
        size_t bit = (size_t)x * s->bpp;
        unsigned idx = (r[bit / 8] >> (8 - s->bpp - bit % 8)) & ((1u << s->bpp) - 1);
        return fx(s->pal[4 * idx + 2 - (unsigned)c], 255);
    }
    if (s->bpp == 24 || (s->bpp == 32 && s->comp == 0)) return fx(r[(size_t)x * s->bpp / 8 + 2 - (size_t)c], 255);
    uint32_t m = s->comp == 0 ? (uint32_t[]){0x7C00, 0x03E0, 0x001F}[c] : s->masks[c];
    uint32_t v = s->bpp == 16 ? (uint32_t)(r[2 * x] | r[2 * x + 1] << 8)
                              : (uint32_t)r[4 * x] | (uint32_t)r[4 * x + 1] << 8 |
                                    (uint32_t)r[4 * x + 2] << 16 | (uint32_t)r[4 * x + 3] << 24;
    int sh = mask_shift(m);
    return fx((v & m) >> sh, m >> sh);
}

static void bmp_case(const char *name, const bmp_spec *s, const uint8_t *pix) {
    static uint8_t file[1 << 16];
    int ah = s->h < 0 ? -s->h : s->h;
    size_t pixlen = bmp_stride(s->w, s->bpp) * (size_t)ah;
    size_t n = make_bmp(file, s, pix, pixlen);
    CHECK(test_write_file(test_path(name), file, n) == 0);
    nlcl_image im;
    nlcl_image_info info;
    CHECK_OK(nlcl_image_load(test_path(name), &im, &info));
    long bad = -1;
    if (im.data && im.width == s->w && im.height == ah) {
        bad = 0;
        for (int y = 0; y < ah; y++)
            for (int x = 0; x < s->w; x++)
                for (int c = 0; c < 3; c++)
                    if (px(&im, c, y, x) != bmp_expect(s, pix, x, y, c) && bad++ < 3)
                        fprintf(stderr, "  %s (%d,%d) c%d: got %.9g want %.9g\n", name, x, y, c,
                                px(&im, c, y, x), bmp_expect(s, pix, x, y, c));
    }
    CHECK_MSG(bad == 0, "%s: %ld values differ", name, bad);
    CHECK(info.format == NLCL_IMAGE_BMP && info.width == s->w && info.height == ah &&
          info.palette == (s->bpp <= 8) && !info.is_jpeg);
    same_from_memory_and_probe(name, file, n, &im, &info);
    nlcl_image_free(&im);
}

static uint8_t grey_pal[256 * 4], rand_pal[256 * 4];

static void test_bmp_valid(void) {
    static uint8_t pix[1 << 15];
    for (int i = 0; i < 256; i++) {
        grey_pal[4 * i] = grey_pal[4 * i + 1] = grey_pal[4 * i + 2] = (uint8_t)i;
        grey_pal[4 * i + 3] = 0;
    }
    fill_rand(rand_pal, sizeof rand_pal);
    fill_rand(pix, sizeof pix);
    /* 24-bit, bottom-up and top-down, odd widths (rows padded by 1, 3, 2 bytes) */
    bmp_spec s = {.hsize = 40, .w = 5, .h = 3, .bpp = 24};
    bmp_case("rgb24.bmp", &s, pix);
    s.h = -4, s.w = 7;
    bmp_case("rgb24_topdown.bmp", &s, pix);
    s.h = 6, s.w = 2;
    bmp_case("rgb24_w2.bmp", &s, pix);
    {
        /* orientation spelled out: the first stored row is the bottom one */
        uint8_t p[2 * 4] = {1, 2, 3, 0, 10, 20, 30, 0}; /* 1x2: bottom BGR 1,2,3; top 10,20,30 */
        bmp_spec o = {.hsize = 40, .w = 1, .h = 2, .bpp = 24};
        bmp_case("orient.bmp", &o, p);
        nlcl_image im;
        CHECK_OK(nlcl_image_load(test_path("orient.bmp"), &im, NULL));
        CHECK(im.data && px(&im, 0, 0, 0) == fx(30, 255) && px(&im, 2, 0, 0) == fx(10, 255) &&
              px(&im, 0, 1, 0) == fx(3, 255));
        nlcl_image_free(&im);
        o.h = -2;
        bmp_case("orient_td.bmp", &o, p);
        CHECK_OK(nlcl_image_load(test_path("orient_td.bmp"), &im, NULL));
        CHECK(im.data && px(&im, 0, 0, 0) == fx(3, 255) && px(&im, 0, 1, 0) == fx(30, 255));
        nlcl_image_free(&im);
    }
    /* 8-bit grey palette (like Set14's bridge.bmp), width 9 (3 bytes of padding) */
    s = (bmp_spec){.hsize = 40, .w = 9, .h = 5, .bpp = 8, .pal = grey_pal, .npal = 256, .clr_used = 256};
    bmp_case("grey8.bmp", &s, pix);
    /* 8-bit with a short palette (indices kept below 16) and a gap before the pixels */
    static uint8_t small[1 << 12];
    for (size_t i = 0; i < sizeof small; i++) small[i] = (uint8_t)(rnd() % 16);
    s = (bmp_spec){.hsize = 40, .w = 10, .h = -3, .bpp = 8, .pal = rand_pal, .npal = 16,
                   .clr_used = 16, .off_delta = 7};
    bmp_case("pal8_16.bmp", &s, small);
    /* 4-bit and 1-bit */
    s = (bmp_spec){.hsize = 40, .w = 11, .h = 3, .bpp = 4, .pal = rand_pal, .npal = 16};
    bmp_case("pal4.bmp", &s, pix);
    s = (bmp_spec){.hsize = 40, .w = 13, .h = 3, .bpp = 1, .pal = rand_pal, .npal = 2};
    bmp_case("pal1.bmp", &s, pix);
    s.w = 33, s.h = -2;
    bmp_case("pal1_33.bmp", &s, pix);
    /* 32-bit BI_RGB (BGRX; the 4th byte ignored) */
    s = (bmp_spec){.hsize = 40, .w = 3, .h = 2, .bpp = 32};
    bmp_case("bgrx.bmp", &s, pix);
    /* 32-bit BI_BITFIELDS: V4 header with ARGB masks; 40-byte header with
     * masks after it in RGB byte order; 10-10-10 fields */
    s = (bmp_spec){.hsize = 108, .w = 5, .h = 4, .bpp = 32, .comp = 3,
                   .masks = {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000}};
    bmp_case("argb_v4.bmp", &s, pix);
    s = (bmp_spec){.hsize = 40, .w = 5, .h = -4, .bpp = 32, .comp = 3, .masks_after = 3,
                   .masks = {0x000000FF, 0x0000FF00, 0x00FF0000}};
    bmp_case("rgbx_fields.bmp", &s, pix);
    s.masks[0] = 0x3FF00000, s.masks[1] = 0x000FFC00, s.masks[2] = 0x000003FF;
    bmp_case("rgb10.bmp", &s, pix);
    {
        nlcl_image im;
        nlcl_image_info info;
        CHECK_OK(nlcl_image_load(test_path("rgb10.bmp"), &im, &info));
        CHECK(info.bit_depth == 10);
        nlcl_image_free(&im);
    }
    /* 16-bit: BI_BITFIELDS 5-6-5 in a V5 header, BI_RGB 5-5-5, odd width */
    s = (bmp_spec){.hsize = 124, .w = 7, .h = 3, .bpp = 16, .comp = 3,
                   .masks = {0xF800, 0x07E0, 0x001F, 0}};
    bmp_case("rgb565_v5.bmp", &s, pix);
    s = (bmp_spec){.hsize = 40, .w = 7, .h = 3, .bpp = 16};
    uint8_t p16[4 * 16] = {0xFF, 0x7F, 0x00, 0x00, 0x1F, 0x00}; /* white, black, blue */
    memcpy(p16 + 6, pix, sizeof p16 - 6);
    bmp_case("rgb555.bmp", &s, p16);
    {
        nlcl_image im;
        CHECK_OK(nlcl_image_load(test_path("rgb555.bmp"), &im, NULL));
        /* bottom row (y = 2) holds the first stored row */
        CHECK(im.data && px(&im, 0, 2, 0) == 1.0f && px(&im, 2, 2, 0) == 1.0f &&
              px(&im, 0, 2, 1) == -1.0f && px(&im, 2, 2, 2) == 1.0f && px(&im, 0, 2, 2) == -1.0f);
        nlcl_image_free(&im);
    }
    /* Adobe 52/56-byte headers */
    s = (bmp_spec){.hsize = 56, .w = 4, .h = 2, .bpp = 32, .comp = 6,
                   .masks = {0x0000FF00, 0x00FF0000, 0xFF000000, 0x000000FF}};
    bmp_case("abgr56.bmp", &s, pix);
    s = (bmp_spec){.hsize = 52, .w = 4, .h = 2, .bpp = 24};
    bmp_case("rgb52.bmp", &s, pix);
}

static void test_bmp_bad(void) {
    nlcl_image im;
    nlcl_image_info info;
    static uint8_t f[1 << 16], pix[1 << 12];
    fill_rand(pix, sizeof pix);
    bmp_spec s = {.hsize = 40, .w = 5, .h = 5, .bpp = 24};
    size_t n = make_bmp(f, &s, pix, bmp_stride(5, 24) * 5);
    CHECK_OK(nlcl_image_load_memory(f, n, "ok.bmp", &im, NULL));
    nlcl_image_free(&im);
    /* truncated rows (refused from the sizes, before allocating the image),
     * then truncated headers */
    CHECK_ERR(nlcl_image_load_memory(f, n - 1, "cut.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "cut.bmp: BMP truncated: 5x5 pixels need 80 bytes");
    CHECK(im.data == NULL);
    CHECK(test_write_file(test_path("cut.bmp"), f, n - 40) == 0);
    CHECK_ERR(nlcl_image_load(test_path("cut.bmp"), &im, NULL), NLCL_ERR_FORMAT,
              "cut.bmp: BMP truncated: 5x5 pixels need 80 bytes of pixel data from byte 54, the file has 94");
    CHECK_ERR(nlcl_image_load_memory(f, 30, "hdr.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "hdr.bmp: BMP truncated (in the info header)");
    CHECK_ERR(nlcl_image_load_memory(f, 2, "bm.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "bm.bmp: BMP truncated (in the file header)");
    /* pixel-data offset past the end, or inside the headers */
    s.off_delta = 1000;
    n = make_bmp(f, &s, pix, 0);
    CHECK_ERR(nlcl_image_load_memory(f, n - 500, "far.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "far.bmp: corrupt BMP: pixel data offset 1054 is past the end of the file");
    s.off_delta = -4;
    n = make_bmp(f, &s, pix, bmp_stride(5, 24) * 5);
    CHECK_ERR(nlcl_image_load_memory(f, n, "overlap.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "overlap.bmp: corrupt BMP: pixel data offset 50 overlaps the headers");
    s.off_delta = 0;
    /* 100000x100000: the pixel limit before any allocation (header only, 54 bytes) */
    s.w = 100000, s.h = 100000;
    n = make_bmp(f, &s, pix, 0);
    CHECK(test_write_file(test_path("huge.bmp"), f, n) == 0);
    CHECK_ERR(nlcl_image_load(test_path("huge.bmp"), &im, &info), NLCL_ERR_LIMIT,
              "huge.bmp: 100000x100000 exceeds the pixel limit of 100000000");
    CHECK(im.data == NULL && info.width == 100000 && info.height == 100000 &&
          info.format == NLCL_IMAGE_BMP);
    s.h = -100000;
    n = make_bmp(f, &s, pix, 0);
    CHECK_ERR(nlcl_image_load_memory(f, n, "huge_td.bmp", &im, NULL), NLCL_ERR_LIMIT,
              "huge_td.bmp: 100000x100000 exceeds the pixel limit");
    CHECK_ERR(nlcl_image_probe(test_path("huge.bmp"), &info), NLCL_ERR_LIMIT, "huge.bmp: ");
    /* the pixel limit on a real one: 5x5 = 25 */
    s.w = 5, s.h = 5;
    n = make_bmp(f, &s, pix, bmp_stride(5, 24) * 5);
    nlcl_image_set_max_pixels(24);
    CHECK_ERR(nlcl_image_load_memory(f, n, "b25.bmp", &im, NULL), NLCL_ERR_LIMIT,
              "b25.bmp: 5x5 exceeds the pixel limit of 24");
    nlcl_image_set_max_pixels(25);
    CHECK_OK(nlcl_image_load_memory(f, n, "b25.bmp", &im, NULL));
    nlcl_image_free(&im);
    nlcl_image_set_max_pixels(0);
    /* zero and negative sizes */
    const struct { int32_t w, h; const char *name; } sz[] = {
        {0, 5, "w0.bmp"}, {5, 0, "h0.bmp"}, {-5, 5, "wneg.bmp"}, {5, INT32_MIN, "hmin.bmp"}};
    for (size_t k = 0; k < sizeof sz / sizeof sz[0]; k++) {
        s.w = sz[k].w, s.h = sz[k].h;
        n = make_bmp(f, &s, pix, 64);
        CHECK_ERR(nlcl_image_load_memory(f, n, sz[k].name, &im, NULL), NLCL_ERR_FORMAT,
                  "invalid image size");
        CHECK(test_contains(nlcl_error_message(), sz[k].name));
    }
    /* palette index out of range: 2 colours, index 5 */
    uint8_t p8[4 * 3] = {0, 1, 1, 0, 1, 1, 1, 0, 1, 5, 0, 0};
    s = (bmp_spec){.hsize = 40, .w = 3, .h = 3, .bpp = 8, .pal = rand_pal, .npal = 2, .clr_used = 2};
    n = make_bmp(f, &s, p8, sizeof p8);
    CHECK_ERR(nlcl_image_load_memory(f, n, "idx.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "idx.bmp: corrupt BMP: palette index 5 out of range (2 colours) at (1, 0)");
    CHECK(im.data == NULL);
    /* palette larger than 2^bits; palette cut short */
    s.clr_used = 300;
    n = make_bmp(f, &s, p8, sizeof p8);
    CHECK_ERR(nlcl_image_load_memory(f, n, "pal300.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "pal300.bmp: corrupt BMP: palette of 300 colours for a 8-bit image");
    s.clr_used = 0, s.npal = 256, s.pal = grey_pal;
    n = make_bmp(f, &s, p8, sizeof p8);
    CHECK_ERR(nlcl_image_load_memory(f, 54 + 100, "palcut.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "palcut.bmp: BMP truncated (in the palette)");
    /* unsupported and invalid forms */
    s = (bmp_spec){.hsize = 40, .w = 4, .h = 4, .bpp = 8, .comp = 1, .pal = grey_pal, .npal = 256};
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "rle8.bmp", &im, NULL), NLCL_ERR_UNSUPPORTED,
              "rle8.bmp: RLE-compressed BMP is not supported");
    s.comp = 4;
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "jpg.bmp", &im, NULL), NLCL_ERR_UNSUPPORTED,
              "jpg.bmp: BMP with embedded JPEG is not supported");
    s.comp = 9;
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "comp9.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "comp9.bmp: corrupt BMP: compression 9");
    s = (bmp_spec){.hsize = 12, .w = 4, .h = 4, .bpp = 24};
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "os2.bmp", &im, NULL), NLCL_ERR_UNSUPPORTED,
              "os2.bmp: OS/2 BMP (12-byte header) is not supported");
    s.hsize = 41;
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "h41.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "h41.bmp: corrupt BMP: header size 41");
    s = (bmp_spec){.hsize = 40, .w = 4, .h = 4, .bpp = 24, .planes = 2};
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "planes.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "planes.bmp: corrupt BMP: 2 planes");
    s = (bmp_spec){.hsize = 40, .w = 4, .h = 4, .bpp = 12};
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "bpp12.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "bpp12.bmp: corrupt BMP: 12 bits per pixel");
    s = (bmp_spec){.hsize = 40, .w = 4, .h = 4, .bpp = 24, .comp = 3, .masks_after = 3,
                   .masks = {0xFF0000, 0xFF00, 0xFF}};
    n = make_bmp(f, &s, pix, 64);
    CHECK_ERR(nlcl_image_load_memory(f, n, "bf24.bmp", &im, NULL), NLCL_ERR_FORMAT,
              "bf24.bmp: corrupt BMP: 24 bits per pixel with bitfields");
    const struct { uint32_t m[3]; uint16_t bpp; const char *what; } bad_masks[] = {
        {{0xF800, 0x07E0, 0}, 16, "invalid blue bitfield mask 0x00000000"},
        {{0xF00F, 0x07E0, 0x001F}, 16, "invalid red bitfield mask 0x0000f00f"},
        {{0xF8000, 0x07E0, 0x001F}, 16, "invalid red bitfield mask 0x000f8000"},
        {{0xFF00, 0x0FF0, 0x000F}, 16, "overlapping bitfield masks"},
    };
    for (size_t k = 0; k < sizeof bad_masks / sizeof bad_masks[0]; k++) {
        s = (bmp_spec){.hsize = 40, .w = 4, .h = 4, .bpp = bad_masks[k].bpp, .comp = 3,
                       .masks_after = 3,
                       .masks = {bad_masks[k].m[0], bad_masks[k].m[1], bad_masks[k].m[2]}};
        n = make_bmp(f, &s, pix, 64);
        CHECK_ERR(nlcl_image_load_memory(f, n, "mask.bmp", &im, NULL), NLCL_ERR_FORMAT,
                  bad_masks[k].what);
    }
    /* a text file named .bmp, and one that starts with "BM" */
    CHECK(test_write_file(test_path("text.bmp"), "hello\n", 6) == 0);
    CHECK_ERR(nlcl_image_load(test_path("text.bmp"), &im, NULL), NLCL_ERR_FORMAT,
              "text.bmp: not a PNG or JPEG file, nor TIFF or BMP");
    const char *bm = "BMW was here, this is text and not a bitmap at all\n";
    CHECK(test_write_file(test_path("bmw.bmp"), bm, strlen(bm)) == 0);
    CHECK_ERR(nlcl_image_load(test_path("bmw.bmp"), &im, NULL), NLCL_ERR_FORMAT, "bmw.bmp: ");
    CHECK(im.data == NULL);
}

/* Random byte mutations of valid files: any outcome but a crash, a leak or
 * an inconsistent result (ASan/valgrind runs check the first two). */
static void test_mutations(void) {
    const char *files[] = {"rgb8.tif", "tiled_lzw.tif", "pal4.tif", "rgb16.tif", "lzw.tif",
                           "rgb24.bmp", "pal1.bmp", "rgb565_v5.bmp", "pal8_16.bmp"};
    int ok = 0, failed = 0, consistent = 1;
    nlcl_image_set_max_pixels(1u << 20); /* keeps mutated sizes cheap (valgrind) */
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        size_t n;
        uint8_t *orig = test_read_file(test_path(files[k]), &n);
        if (!orig || n == 0) {
            CHECK_MSG(0, "%s missing", files[k]);
            free(orig);
            continue;
        }
        uint8_t *b = malloc(n);
        for (int it = 0; it < 60; it++) {
            memcpy(b, orig, n);
            int nm = 1 + (int)(rnd() % 4);
            for (int m = 0; m < nm; m++) {
                /* mostly the headers and IFD (first and last 200 bytes) */
                size_t pos = rnd() % 2 ? rnd() % (n < 200 ? n : 200)
                                       : n - 1 - rnd() % (n < 200 ? n : 200);
                b[pos] = rnd() % 3 ? (uint8_t)rnd() : (uint8_t)(b[pos] ^ 0x80);
            }
            size_t len = rnd() % 8 == 0 ? rnd() % n : n;
            nlcl_image im;
            nlcl_status st = nlcl_image_load_memory(b, len, "mut", &im, NULL);
            if (st == NLCL_OK) {
                ok++;
                consistent &= im.data != NULL && im.width > 0 && im.height > 0;
                /* values stay in [-1, 1] */
                size_t np = (size_t)im.width * im.height * 3;
                for (size_t i = 0; im.data && i < np; i++)
                    consistent &= im.data[i] >= -1.0f && im.data[i] <= 1.0f;
                nlcl_image_free(&im);
            } else {
                failed++;
                consistent &= im.data == NULL && test_contains(nlcl_error_message(), "mut: ");
            }
        }
        free(b);
        free(orig);
    }
    nlcl_image_set_max_pixels(0);
    CHECK(consistent);
    CHECK(failed > 0);
    printf("mutations: %d loaded, %d refused\n", ok, failed);
}

/* ---- names, listing, saving ----------------------------------------------------------------------- */

static void test_names(void) {
    CHECK(nlcl_is_image_name("a.tif") && nlcl_is_image_name("a.TIF") &&
          nlcl_is_image_name("b.tiff") && nlcl_is_image_name("b.TiFf") &&
          nlcl_is_image_name("c.bmp") && nlcl_is_image_name("c.BMP") &&
          nlcl_is_image_name("x.png") && nlcl_is_image_name("y.JPEG"));
    CHECK(!nlcl_is_image_name("a.tifx") && !nlcl_is_image_name("bmp") &&
          !nlcl_is_image_name("a.tif.txt") && !nlcl_is_image_name("a.bm"));
    /* listing picks them up, sorted */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/list", test_tmpdir());
    CHECK_OK(nlcl_mkdirs(dir));
    const char *names[] = {"b.TIFF", "a.bmp", "c.tif", "d.txt", "e.png"};
    for (size_t k = 0; k < 5; k++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        CHECK(test_write_file(p, "x", 1) == 0);
    }
    char **paths = NULL;
    int count = 0;
    CHECK_OK(nlcl_list_images(dir, &paths, &count));
    CHECK(count == 4 && paths && test_contains(paths[0], "/a.bmp") &&
          test_contains(paths[1], "/b.TIFF") && test_contains(paths[2], "/c.tif") &&
          test_contains(paths[3], "/e.png"));
    nlcl_list_free(paths);
    /* only PNG and JPEG are written */
    nlcl_image im;
    CHECK_OK(nlcl_image_alloc(&im, 2, 2));
    CHECK_ERR(nlcl_image_save(test_path("out.tif"), &im, NLCL_QUANT_ROUND), NLCL_ERR_INVALID_ARG,
              "unknown image extension");
    CHECK_ERR(nlcl_image_save(test_path("out.bmp"), &im, NLCL_QUANT_ROUND), NLCL_ERR_INVALID_ARG,
              "unknown image extension");
    nlcl_image_free(&im);
}

/* ---- the shared clean photo sets ----------------------------------------------------------------- */

static void test_shared_sets(const char *data) {
    /* every file of both sets loads */
    const char *sets[] = {"clean/mcmaster", "clean/set14"};
    for (int k = 0; k < 2; k++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", data, sets[k]);
        char **paths = NULL;
        int count = 0;
        if (nlcl_list_images(dir, &paths, &count) != NLCL_OK) {
            CHECK_MSG(0, "%s: cannot list its images", dir);
            continue;
        }
        CHECK(count == (k == 0 ? 18 : 14));
        double t0 = test_now_s();
        for (int i = 0; i < count; i++) {
            nlcl_image im;
            nlcl_image_info info;
            CHECK_OK(nlcl_image_load(paths[i], &im, &info));
            CHECK(im.data && info.format == (k == 0 ? NLCL_IMAGE_TIFF : NLCL_IMAGE_BMP));
            nlcl_image_free(&im);
        }
        printf("%s: %d files loaded in %.3f s\n", sets[k], count, test_now_s() - t0);
        nlcl_list_free(paths);
    }
    /* FNV-1a 64 of PIL 9.4's RGB bytes, computed once with
     *   cd ../shared/data/clean && /usr/bin/python3 -c "
     *   from PIL import Image
     *   def fnv(b):
     *       h = 0xcbf29ce484222325
     *       for x in b: h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
     *       return h
     *   for f in ['mcmaster/1.tif', 'mcmaster/10.tif', 'mcmaster/11.tif', 'set14/bridge.bmp',
     *             'set14/baboon.bmp', 'set14/comic.bmp', 'set14/ppt3.bmp']:
     *       im = Image.open(f); print(f, im.size, hex(fnv(im.convert('RGB').tobytes())))"
     * (McMaster: PackBits 8-bit RGB; bridge.bmp: 8-bit grey palette; comic and
     * ppt3: odd widths with row padding). */
    static const test_pil_ref ref[] = {
        {"clean/mcmaster/1.tif", 500, 500, 0x36fb3ad94f0dc6efull},
        {"clean/mcmaster/10.tif", 500, 500, 0x6be2c86cd3db6572ull},
        {"clean/mcmaster/11.tif", 500, 500, 0x6718bb3c9f85e275ull},
        {"clean/set14/bridge.bmp", 512, 512, 0xc6e9ef7b9981b949ull},
        {"clean/set14/baboon.bmp", 500, 480, 0x4830a2441fae8415ull},
        {"clean/set14/comic.bmp", 250, 361, 0x7cfa6d76f286f96bull},
        {"clean/set14/ppt3.bmp", 529, 656, 0x6e8f45ccf7c3528dull},
    };
    test_check_pil_hashes(data, ref, sizeof ref / sizeof ref[0]);
}

/* ---- transparency carried (nlcl_image_load_alpha) ------------------------------------------- */

/* The opacity of stored pixel (x, y) of a TIFF with one alpha extra sample
 * after `colour` colour samples. */
static double tiff_alpha(const tiff_spec *s, const uint8_t *d, uint32_t x, uint32_t y, unsigned colour) {
    return (double)t_sample(s, d, x, y, colour) / (double)((1u << s->bps) - 1);
}

/* TIFF unassociated alpha (8-bit RGBA contiguous, 16-bit grey+alpha planar,
 * and one turned upright by its Orientation) comes back exactly; an
 * associated alpha is not given back, and is refused when asked; BMP alpha
 * bitfields come back as v / 255. */
static void test_alpha(void) {
    static uint8_t d[2 * 4 * 7 * 5 * 2];
    fill_rand(d, sizeof d);
    const tiff_spec specs[3] = {
        {.w = 7, .h = 5, .bps = 8, .spp = 4, .photo = PHOTOMETRIC_RGB, .nextra = 1},
        {.w = 7, .h = 5, .bps = 16, .spp = 2, .photo = PHOTOMETRIC_MINISBLACK, .nextra = 1,
         .planar = PLANARCONFIG_SEPARATE},
        {.w = 7, .h = 5, .bps = 8, .spp = 4, .photo = PHOTOMETRIC_RGB, .nextra = 1, .orientation = 6},
    };
    for (int k = 0; k < 3; k++) {
        const tiff_spec *sp = &specs[k];
        const unsigned colour = sp->photo == PHOTOMETRIC_RGB ? 3 : 1;
        CHECK(write_tiff(test_path("alpha.tif"), sp, d) == 0);
        nlcl_image im;
        nlcl_image_info info;
        float *a = NULL;
        CHECK_OK(nlcl_image_load_alpha(test_path("alpha.tif"), &im, &a, &info));
        CHECK_MSG(a != NULL && info.transparent > 0, "case %d: no alpha given back", k);
        long bad = 0;
        const int o6 = sp->orientation == 6;
        for (uint32_t y = 0; a && y < (o6 ? sp->w : sp->h); y++)
            for (uint32_t x = 0; x < (o6 ? sp->h : sp->w); x++) {
                /* orientation 6: upright (x, y) is stored (y, H-1-x) */
                uint32_t sx = o6 ? y : x, sy = o6 ? sp->h - 1 - x : y;
                bad += a[(size_t)y * (size_t)im.width + x] != (float)tiff_alpha(sp, d, sx, sy, colour);
            }
        CHECK_MSG(bad == 0, "case %d: %ld alpha values differ", k, bad);
        CHECK(o6 ? im.width == 5 && im.height == 7 : check_tiff_values(&im, sp, d) == 0);
        free(a);
        nlcl_image_free(&im);
    }
    /* associated alpha: not given back; the nlcl command's refusal applies */
    tiff_spec as = specs[0];
    as.assoc = 1;
    CHECK(write_tiff(test_path("assoc.tif"), &as, d) == 0);
    nlcl_image im;
    float *a = (float *)1;
    CHECK_OK(nlcl_image_load_alpha(test_path("assoc.tif"), &im, &a, NULL));
    CHECK(a == NULL);
    nlcl_image_free(&im);
    nlcl_image_set_refuse_transparent(1);
    CHECK_ERR(nlcl_image_load_alpha(test_path("assoc.tif"), &im, &a, NULL), NLCL_ERR_UNSUPPORTED,
              "pixels are transparent");
    CHECK(a == NULL && im.data == NULL);
    CHECK_OK(nlcl_image_load_alpha(test_path("alpha.tif"), &im, &a, NULL)); /* carried: not refused */
    CHECK(a != NULL);
    free(a);
    nlcl_image_free(&im);
    nlcl_image_set_refuse_transparent(0);
    /* BMP: 32-bit ARGB bitfields, top-down */
    enum { BW = 5, BH = 3 };
    static uint8_t pix[BW * BH * 4], file[256 + sizeof pix];
    fill_rand(pix, sizeof pix);
    const bmp_spec bs = {.hsize = 108, .w = BW, .h = -BH, .bpp = 32, .comp = 3,
                         .masks = {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000}};
    size_t n = make_bmp(file, &bs, pix, sizeof pix);
    FILE *f = fopen(test_path("argb.bmp"), "wb");
    CHECK(f && fwrite(file, 1, n, f) == n);
    if (f) fclose(f);
    CHECK_OK(nlcl_image_load_alpha(test_path("argb.bmp"), &im, &a, NULL));
    long bad = 0;
    for (int i = 0; a && i < BW * BH; i++) bad += a[i] != (float)(pix[4 * i + 3] / 255.0);
    CHECK_MSG(a && bad == 0, "BMP alpha: %ld values differ", bad);
    free(a);
    nlcl_image_free(&im);
}

/* ---- colorimetry without an ICC profile ----------------------------------------------------- */

/* A 6x1 8-bit RGB TIFF (three pure primaries, three greys) with optional
 * WhitePoint + PrimaryChromaticities (prim: 6 values) and TransferFunction
 * (tf: 256 entries for each channel). */
static int write_tiff_colorimetry(const char *path, const float *prim, const uint16_t *tf) {
    static const uint8_t px6[18] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 30, 30, 30, 128, 128, 128, 250, 250, 250};
    TIFF *t = TIFFOpen(path, "w");
    if (!t) return -1;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 6);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    static float d65[2] = {0.3127f, 0.3290f};
    if (prim) {
        TIFFSetField(t, TIFFTAG_WHITEPOINT, d65);
        TIFFSetField(t, TIFFTAG_PRIMARYCHROMATICITIES, prim);
    }
    if (tf) TIFFSetField(t, TIFFTAG_TRANSFERFUNCTION, tf, tf, tf);
    uint8_t row[18];
    memcpy(row, px6, sizeof row);
    int r = TIFFWriteScanline(t, row, 0, 0) < 0 ? -1 : 0;
    TIFFClose(t);
    return r;
}

/* sRGB's chromaticities and the default transfer change nothing; wide
 * primaries are converted (the 3 pure primaries fall outside sRGB: counted);
 * a linear TransferFunction is refused, not ignored. */
static void test_tiff_colorimetry(void) {
    static float srgb[6] = {0.64f, 0.33f, 0.30f, 0.60f, 0.15f, 0.06f};
    static float rec2020[6] = {0.708f, 0.292f, 0.170f, 0.797f, 0.131f, 0.046f};
    static uint16_t lin[256], g22[256];
    for (int i = 0; i < 256; i++) {
        lin[i] = (uint16_t)(i * 257);
        g22[i] = (uint16_t)floor(65535.0 * pow(i / 255.0, 2.2) + 0.5);
    }
    nlcl_image plain, im;
    nlcl_image_info info;
    CHECK(write_tiff_colorimetry(test_path("plain.tif"), NULL, NULL) == 0);
    CHECK_OK(nlcl_image_load(test_path("plain.tif"), &plain, NULL));
    CHECK(write_tiff_colorimetry(test_path("srgb_chrm.tif"), srgb, g22) == 0);
    CHECK_OK(nlcl_image_load(test_path("srgb_chrm.tif"), &im, &info));
    CHECK_MSG(plain.data && im.data && !memcmp(plain.data, im.data, sizeof(float) * 18) &&
                  !info.colour_converted,
              "sRGB chromaticities with the default transfer changed the samples");
    nlcl_image_free(&im);
    CHECK(write_tiff_colorimetry(test_path("wide_chrm.tif"), rec2020, NULL) == 0);
    CHECK_OK(nlcl_image_load(test_path("wide_chrm.tif"), &im, &info));
    CHECK_MSG(info.colour_converted && info.gamut_clipped == 3,
              "Rec. 2020 primaries: converted %d, %llu clipped (want 1, 3)", info.colour_converted,
              (unsigned long long)info.gamut_clipped);
    /* greys stay grey (the white points agree) */
    if (im.data) CHECK(fabsf(im.data[4] - im.data[6 + 4]) < 2e-3f && fabsf(im.data[4] - im.data[12 + 4]) < 2e-3f);
    nlcl_image_free(&im);
    CHECK(write_tiff_colorimetry(test_path("linear_tf.tif"), NULL, lin) == 0);
    CHECK_ERR(nlcl_image_load(test_path("linear_tf.tif"), &im, NULL), NLCL_ERR_UNSUPPORTED,
              "linear_tf.tif: a TIFF TransferFunction other than the default 2.2 power is not supported");
    nlcl_image_free(&plain);
}

int main(void) {
    if (test_data_part()) { /* test_image_tiff_bmp_data */
        const char *data = test_shared_data();
        if (!data) return test_skip("../shared/data is missing (McMaster, Set14)");
        test_shared_sets(data);
        return test_finish("test_image_tiff_bmp_data");
    }
    test_tiff_valid();
    test_tiff_bad();
    test_bmp_valid();
    test_bmp_bad();
    test_mutations();
    test_names();
    test_alpha();
    test_tiff_colorimetry();
    return test_finish("test_image_tiff_bmp");
}
