/* The fuzz entry points, shared by the libFuzzer targets (fuzz/fuzz_*.c,
 * built with clang when NLCL_FUZZ=ON) and by the regression test
 * (tests/test_fuzz_regressions.c, normal build), so that a saved crashing
 * input replays through exactly the code that found it.
 *
 * Each nlcl_fuzz_<target>(data, size) feeds one input to a reader of
 * untrusted bytes. Errors returned by the library are the expected outcome
 * for most inputs; what must never happen is a crash, a sanitizer report, a
 * leak, or a result that breaks the reader's documented promises. The latter
 * are checked here (oracles) and reported by returning non-zero after
 * printing why; the libFuzzer wrappers turn that into abort().
 *
 * Targets and input formats:
 *   image       nlcl_image_load_memory on the raw bytes (PNG, JPEG and any
 *               other format the sniffer knows), then the header-only decode
 *               (what nlcl_image_probe runs) on the same bytes, and the
 *               metadata collection (nlcl_image_load_meta's path). Pixel limit
 *               4 Mpx so that time goes to structure, not to huge images.
 *   png         image on the raw bytes, then again with the chunk CRCs
 *               repaired (when any was wrong).
 *   safetensors nlcl_safetensors_load_memory on the raw bytes.
 *   pth         nlcl_pth_load_memory on the raw bytes (a whole zip archive).
 *   pickle      the bytes are archive/data.pkl of a .pth built here in memory
 *               (stored entries, valid CRCs, byteorder "little", storages
 *               archive/data/0..3 of 16 float32 each), so that mutations reach
 *               the unpickler instead of failing the zip CRC check.
 *   cli         cli_parse() with a fixed option table of every option type;
 *               argv[1..] are the input split at NUL bytes.
 */
#ifndef NLCL_FUZZ_COMMON_H
#define NLCL_FUZZ_COMMON_H

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/image_internal.h"
#include "nlcl/image.h"
#include "nlcl/weights.h"

#define NLCL_FUZZ_MAX_PIXELS 4000000u

static inline int nlcl_fuzz_fail(const char *target, const char *what) {
    fprintf(stderr, "fuzz %s: oracle violated: %s\n", target, what);
    return 1;
}

/* CRC-32 (ISO 3309, as zip and PNG use it). */
static inline uint32_t nlcl_fuzz_crc32(const uint8_t *p, size_t n) {
    static uint32_t table[256];
    static int ready = 0;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---- images --------------------------------------------------------------- */

/* The metadata collection (nlcl_image_load_meta's path: the decoders with
 * src.meta, then nlcl_meta_finish and the EXIF rewrite) on the same bytes.
 * Oracles: a kept XMP is NUL-terminated at its length and, for an image
 * turned upright, every Orientation="d" / >d< in it says 1; the Photoshop
 * resources are non-empty; every text has a key; lost is terminated; the
 * savers' argument check accepts the metadata as read (texts, PNG chunks). */
static inline int nlcl_fuzz_meta(const uint8_t *data, size_t size) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    nlcl_image_meta m;
    memset(&m, 0, sizeof m);
    nlcl_img_src src;
    memset(&src, 0, sizeof src);
    src.name = "fuzz", src.mem = data, src.len = size, src.meta = &m, src.want_exif = 1;
    nlcl_image_info info;
    nlcl_status s = NLCL_ERR_FORMAT;
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) s = nlcl_png_decode(&src, NULL, &info);
    else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) s = nlcl_jpeg_decode(&src, NULL, &info);
    else if (size >= 4 && (!memcmp(data, "II*\0", 4) || !memcmp(data, "MM\0*", 4))) s = nlcl_tiff_decode(&src, NULL, &info);
    free(src.icc);
    int bad = 0, w = info.width, h = info.height;
    if (src.orientation >= 5) w = info.height, h = info.width;
    if (s == NLCL_OK && src.exif) {
        uint8_t *e = NULL;
        size_t n = 0;
        if (nlcl_exif_upright("fuzz", src.exif, src.exif_len, w, h, &e, &n) == NLCL_OK &&
            (!e || n < 14 || n > NLCL_EXIF_MAX_BYTES || memcmp(e, "Exif\0\0", 6)))
            bad |= nlcl_fuzz_fail("meta", "rewritten EXIF block malformed");
        free(e);
    }
    free(src.exif);
    if (s == NLCL_OK) s = nlcl_meta_finish("fuzz", &m, src.orientation, w, h);
    if (s == NLCL_OK && m.xmp) {
        if (strlen(m.xmp) > m.xmp_len || m.xmp[m.xmp_len]) bad |= nlcl_fuzz_fail("meta", "XMP not terminated at its length");
        for (const char *p = m.xmp; src.orientation >= 2 && (p = strstr(p, "Orientation")) != NULL; p++) {
            const char *q = p + 11, *b = p; /* b: before the name and its prefix */
            while (b > m.xmp && (isalnum((unsigned char)b[-1]) || strchr("_-.:", b[-1]) || (unsigned char)b[-1] >= 0x80)) b--;
            if ((b > m.xmp && b[-1] == '/') || (p > m.xmp && p[-1] != ':' && b != p)) continue; /* end tags, other names */
            if (*q == '=') q += 2; /* ="d or ='d */
            else if (*q == '>') q++;
            else continue;
            if (q < m.xmp + m.xmp_len && *q >= '0' && *q <= '9' && (q[0] != '1' || (q[1] >= '0' && q[1] <= '9')))
                bad |= nlcl_fuzz_fail("meta", "an XMP Orientation of a turned image kept its value");
        }
    }
    if (m.iptc && !m.iptc_len) bad |= nlcl_fuzz_fail("meta", "empty Photoshop resources kept");
    if (s == NLCL_OK && nlcl_meta_check("fuzz", &m) != NLCL_OK) { /* what was read can be written */
        fprintf(stderr, "fuzz meta: %s\n", nlcl_error_message());
        bad |= nlcl_fuzz_fail("meta", "the savers refuse the metadata as read");
    }
    for (int i = 0; i < m.ntext; i++)
        if (!m.text[i].key || !m.text[i].key[0] || !m.text[i].text) bad |= nlcl_fuzz_fail("meta", "text without key");
    if (!memchr(m.lost, 0, sizeof m.lost)) bad |= nlcl_fuzz_fail("meta", "lost not terminated");
    char buf[300];
    nlcl_image_meta_unwritable(&m, NLCL_IMAGE_JPEG, buf, sizeof buf);
    nlcl_image_meta_free(&m);
    return bad;
}

static inline int nlcl_fuzz_image(const uint8_t *data, size_t size) {
    nlcl_image_set_max_pixels(NLCL_FUZZ_MAX_PIXELS);
    nlcl_image img;
    nlcl_image_info info;
    int bad = 0;
    nlcl_error_clear();
    float *alpha = (float *)&bad; /* must become NULL or a plane */
    nlcl_status s = nlcl_image_load_memory_alpha(data, size, "fuzz", &img, &alpha, &info);
    if (s != NLCL_OK && alpha)
        bad |= nlcl_fuzz_fail("image", "failed load gave an alpha plane");
    /* (a TIFF associated alpha is counted but not given back) */
    if (s == NLCL_OK && alpha && !info.transparent)
        bad |= nlcl_fuzz_fail("image", "alpha plane given for an opaque image");
    if (s == NLCL_OK && alpha) { /* opacity in [0, 1] */
        size_t n = (size_t)img.width * (size_t)img.height;
        for (size_t i = 0; i < n; i++)
            if (!(alpha[i] >= 0.0f && alpha[i] <= 1.0f)) {
                bad |= nlcl_fuzz_fail("image", "alpha outside [0, 1]");
                break;
            }
    }
    if (s == NLCL_OK) free(alpha);
    if (s == NLCL_OK) {
        /* Every sample is in [-1, 1] (hence finite) and the size is sane. */
        if (img.width <= 0 || img.height <= 0 || !img.data ||
            (uint64_t)img.width * (uint64_t)img.height > NLCL_FUZZ_MAX_PIXELS)
            bad |= nlcl_fuzz_fail("image", "bad size after a successful load");
        else {
            size_t n = (size_t)img.width * (size_t)img.height * 3;
            for (size_t i = 0; i < n; i++)
                if (!(img.data[i] >= -1.0f && img.data[i] <= 1.0f)) {
                    bad |= nlcl_fuzz_fail("image", "sample outside [-1, 1]");
                    break;
                }
        }
        if (info.width != img.width || info.height != img.height)
            bad |= nlcl_fuzz_fail("image", "info size differs from the image size");
        nlcl_image_free(&img);
    } else if (img.data || img.width || img.height) {
        bad |= nlcl_fuzz_fail("image", "failed load left data in *img");
    }
    if (!*nlcl_error_message() && s != NLCL_OK)
        bad |= nlcl_fuzz_fail("image", "error without a message");

    /* Header only (the decoders with img == NULL, as nlcl_image_probe runs
     * them). A file that loads must probe to the same description. */
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    nlcl_img_src src;
    memset(&src, 0, sizeof src);
    src.name = "fuzz";
    src.mem = data;
    src.len = size;
    nlcl_image_info pinfo;
    memset(&pinfo, 0, sizeof pinfo);
    nlcl_status ps = NLCL_ERR_FORMAT;
    int probed = 0;
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) {
        ps = nlcl_png_decode(&src, NULL, &pinfo);
        probed = 1;
    } else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        ps = nlcl_jpeg_decode(&src, NULL, &pinfo);
        probed = 1;
    }
    free(src.icc); /* the front end's job after a decode */
    if (src.orientation >= 5) { /* the front end reports the upright size */
        int t = pinfo.width;
        pinfo.width = pinfo.height;
        pinfo.height = t;
    }
    /* Field by field: the front end may add fields the decoders do not set. */
    if (probed && s == NLCL_OK &&
        (ps != NLCL_OK || pinfo.width != info.width || pinfo.height != info.height ||
         pinfo.channels != info.channels || pinfo.bit_depth != info.bit_depth ||
         pinfo.is_jpeg != info.is_jpeg || pinfo.palette != info.palette))
        bad |= nlcl_fuzz_fail("image", "the header-only decode disagrees with the full load");
    if (probed && s == NLCL_ERR_LIMIT && ps != NLCL_ERR_LIMIT)
        bad |= nlcl_fuzz_fail("image", "the full load hit the pixel limit, the probe did not");
    bad |= nlcl_fuzz_meta(data, size);
    return bad;
}

/* PNG: the input as it is (CRC errors are refused early, which is worth
 * testing but stops most mutations), then, if any chunk's CRC was wrong, a
 * copy with every complete chunk's CRC recomputed, so that mutations inside
 * chunks reach libpng's parsing and nlcl's conversion. */
static inline int nlcl_fuzz_png(const uint8_t *data, size_t size) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int bad = nlcl_fuzz_image(data, size);
    if (size < 8 || memcmp(data, sig, 8) != 0) return bad;
    uint8_t *c = malloc(size);
    if (!c) return bad;
    memcpy(c, data, size);
    int changed = 0;
    for (size_t p = 8; size - p >= 12;) {
        uint32_t len = (uint32_t)c[p] << 24 | (uint32_t)c[p + 1] << 16 | (uint32_t)c[p + 2] << 8 | c[p + 3];
        if (len > size - p - 12) break;
        uint32_t crc = nlcl_fuzz_crc32(c + p + 4, (size_t)len + 4);
        uint8_t *q = c + p + 8 + len;
        uint8_t want[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
        if (memcmp(q, want, 4) != 0) {
            memcpy(q, want, 4);
            changed = 1;
        }
        p += 12 + (size_t)len;
    }
    if (changed) bad |= nlcl_fuzz_image(c, size);
    free(c);
    return bad;
}

/* ---- weights -------------------------------------------------------------- */

/* Checks common to both weight formats after a successful load. */
static inline int nlcl_fuzz_check_dict(const char *target, const nlcl_tensor_dict *d) {
    int bad = 0;
    if (d->count < 0 || d->count > d->cap || d->meta_count < 0 || d->meta_count > d->meta_cap)
        return nlcl_fuzz_fail(target, "dict counts out of range");
    volatile float sink = 0.0f;
    for (int i = 0; i < d->count; i++) {
        const nlcl_named_tensor *t = &d->tensors[i];
        size_t numel;
        if (!t->name || !t->name[0]) bad |= nlcl_fuzz_fail(target, "empty tensor name");
        if (nlcl_tensor_numel(t->ndim, t->shape, &numel) != NLCL_OK || numel != t->numel)
            bad |= nlcl_fuzz_fail(target, "numel differs from the shape");
        else
            for (size_t k = 0; k < t->numel; k++) sink += t->data[k]; /* ASan: in bounds */
        for (int j = 0; j < i && !bad; j++)
            if (strcmp(d->tensors[j].name, t->name) == 0)
                bad |= nlcl_fuzz_fail(target, "duplicate tensor names accepted");
    }
    for (int i = 0; i < d->meta_count; i++)
        if (!d->meta_keys[i] || !d->meta_values[i])
            bad |= nlcl_fuzz_fail(target, "NULL metadata string");
    (void)sink;
    return bad;
}

static inline int nlcl_fuzz_weights_result(const char *target, nlcl_status s,
                                           nlcl_tensor_dict *d) {
    int bad = 0;
    if (s == NLCL_OK) {
        bad |= nlcl_fuzz_check_dict(target, d);
        nlcl_tensor_dict_free(d);
    } else {
        if (d->count || d->tensors || d->meta_count)
            bad |= nlcl_fuzz_fail(target, "failed load left entries in the dict");
        if (!*nlcl_error_message()) bad |= nlcl_fuzz_fail(target, "error without a message");
        if (s == NLCL_ERR_IO) bad |= nlcl_fuzz_fail(target, "I/O error from a memory buffer");
    }
    return bad;
}

static inline int nlcl_fuzz_safetensors(const uint8_t *data, size_t size) {
    nlcl_tensor_dict d;
    nlcl_error_clear();
    nlcl_status s = nlcl_safetensors_load_memory(data, size, "fuzz.safetensors", &d);
    return nlcl_fuzz_weights_result("safetensors", s, &d);
}

static inline int nlcl_fuzz_pth(const uint8_t *data, size_t size) {
    nlcl_tensor_dict d;
    nlcl_error_clear();
    nlcl_status s = nlcl_pth_load_memory(data, size, "fuzz.pth", &d);
    return nlcl_fuzz_weights_result("pth", s, &d);
}

/* ---- a minimal zip writer (stored entries) for the pickle target ---------- */

typedef struct nlcl_fuzz_buf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} nlcl_fuzz_buf;

static inline void nlcl_fuzz_put(nlcl_fuzz_buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t nc = (b->cap ? b->cap : 1024);
        while (nc < b->n + n) nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void nlcl_fuzz_le(nlcl_fuzz_buf *b, uint32_t v, int bytes) {
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    nlcl_fuzz_put(b, t, (size_t)bytes);
}

typedef struct nlcl_fuzz_entry {
    const char *name;
    const uint8_t *data;
    size_t len;
} nlcl_fuzz_entry;

/* A zip archive (PKWARE APPNOTE 4.3: local headers, central directory, end
 * record; method 0 = stored) of `n` entries, in *out (malloc'd). */
static inline int nlcl_fuzz_zip(const nlcl_fuzz_entry *e, int n, nlcl_fuzz_buf *out) {
    uint32_t offsets[16];
    if (n > 16) return 0;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++) {
        offsets[i] = (uint32_t)out->n;
        uint32_t crc = nlcl_fuzz_crc32(e[i].data, e[i].len);
        nlcl_fuzz_le(out, 0x04034b50u, 4);
        nlcl_fuzz_le(out, 20, 2); /* version needed */
        nlcl_fuzz_le(out, 0, 2);  /* flags */
        nlcl_fuzz_le(out, 0, 2);  /* stored */
        nlcl_fuzz_le(out, 0, 4);  /* time, date */
        nlcl_fuzz_le(out, crc, 4);
        nlcl_fuzz_le(out, (uint32_t)e[i].len, 4);
        nlcl_fuzz_le(out, (uint32_t)e[i].len, 4);
        nlcl_fuzz_le(out, (uint32_t)strlen(e[i].name), 2);
        nlcl_fuzz_le(out, 0, 2);
        nlcl_fuzz_put(out, e[i].name, strlen(e[i].name));
        nlcl_fuzz_put(out, e[i].data, e[i].len);
    }
    uint32_t cd = (uint32_t)out->n;
    for (int i = 0; i < n; i++) {
        nlcl_fuzz_le(out, 0x02014b50u, 4);
        nlcl_fuzz_le(out, 20, 2); /* version made by */
        nlcl_fuzz_le(out, 20, 2);
        nlcl_fuzz_le(out, 0, 2);
        nlcl_fuzz_le(out, 0, 2);
        nlcl_fuzz_le(out, 0, 4);
        nlcl_fuzz_le(out, nlcl_fuzz_crc32(e[i].data, e[i].len), 4);
        nlcl_fuzz_le(out, (uint32_t)e[i].len, 4);
        nlcl_fuzz_le(out, (uint32_t)e[i].len, 4);
        nlcl_fuzz_le(out, (uint32_t)strlen(e[i].name), 2);
        nlcl_fuzz_le(out, 0, 2); /* extra */
        nlcl_fuzz_le(out, 0, 2); /* comment */
        nlcl_fuzz_le(out, 0, 2); /* disk */
        nlcl_fuzz_le(out, 0, 2); /* internal attributes */
        nlcl_fuzz_le(out, 0, 4); /* external attributes */
        nlcl_fuzz_le(out, offsets[i], 4);
        nlcl_fuzz_put(out, e[i].name, strlen(e[i].name));
    }
    uint32_t cdlen = (uint32_t)out->n - cd;
    nlcl_fuzz_le(out, 0x06054b50u, 4);
    nlcl_fuzz_le(out, 0, 2);
    nlcl_fuzz_le(out, 0, 2);
    nlcl_fuzz_le(out, (uint32_t)n, 2);
    nlcl_fuzz_le(out, (uint32_t)n, 2);
    nlcl_fuzz_le(out, cdlen, 4);
    nlcl_fuzz_le(out, cd, 4);
    nlcl_fuzz_le(out, 0, 2);
    return !out->oom;
}

/* Number of float32 elements in each storage archive/data/<k> that the
 * pickle target provides (keys "0".."3"). */
#define NLCL_FUZZ_PICKLE_NUMEL 16

static inline int nlcl_fuzz_pickle(const uint8_t *data, size_t size) {
    static uint8_t storage[4 * NLCL_FUZZ_PICKLE_NUMEL];
    for (size_t i = 0; i < sizeof storage; i += 4) { /* 1.0f, 2.0f, ... little-endian */
        float f = (float)(i / 4 + 1);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++) storage[i + (size_t)k] = (uint8_t)(u >> (8 * k));
    }
    static const uint8_t little[6] = {'l', 'i', 't', 't', 'l', 'e'};
    const nlcl_fuzz_entry e[] = {
        {"archive/data.pkl", data, size},
        {"archive/byteorder", little, sizeof little},
        {"archive/data/0", storage, sizeof storage},
        {"archive/data/1", storage, sizeof storage},
        {"archive/data/2", storage, sizeof storage},
        {"archive/data/3", storage, sizeof storage},
    };
    nlcl_fuzz_buf z;
    if (!nlcl_fuzz_zip(e, 6, &z)) {
        free(z.p);
        return 0; /* out of memory here is not a finding */
    }
    nlcl_tensor_dict d;
    nlcl_error_clear();
    nlcl_status s = nlcl_pth_load_memory(z.p, z.n, "fuzz.pth", &d);
    int bad = nlcl_fuzz_weights_result("pickle", s, &d);
    free(z.p);
    return bad;
}

/* ---- command line ------------------------------------------------------------ */

#define NLCL_FUZZ_MAX_ARGS 64

static inline int nlcl_fuzz_cli(const uint8_t *data, size_t size) {
    /* argv[0] is the subcommand; the input, split at NUL, gives argv[1..]. */
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[NLCL_FUZZ_MAX_ARGS + 2], *orig[NLCL_FUZZ_MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "fuzz";
    for (size_t i = 0; i <= size && argc < NLCL_FUZZ_MAX_ARGS + 1;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    if (size == 0) argc = 1;
    argv[argc] = NULL;
    memcpy(orig, argv, sizeof(char *) * (size_t)(argc + 1)); /* cli_parse reorders argv */

    const char *model = NULL, *out = NULL;
    int fmt = -1, quant = -1, verbose = 0, quiet = 1, quality = -1, threads = -1;
    int64_t maxpix = -1;
    uint64_t seed = 0;
    double lr = -1.0;
    const char *items[3];
    cli_list dirs = {items, 0, 3}; /* a repeatable option, at most 3 */
    const cli_opt opts[] = {
        {"dir", 0, CLI_LIST, &dirs, "DIR", "folder (repeatable)", 0, 0, NULL},
        {"model", 'm', CLI_STRING, &model, "FILE", "weights", 0, 0, NULL},
        {"output", 'o', CLI_STRING, &out, "PATH", "output", 0, 0, NULL},
        {"format", 0, CLI_CHOICE, &fmt, NULL, "format", 0, 0, "png|jpg"},
        {"quality", 0, CLI_INT, &quality, "Q", "quality", 1, 100, NULL},
        {"quantize", 0, CLI_CHOICE, &quant, NULL, "quantise", 0, 0, "round|truncate"},
        {"threads", 't', CLI_INT, &threads, "N", "threads", 1, 1024, NULL},
        {"max-pixels", 0, CLI_INT64, &maxpix, "N", "limit", 1, 1e15, NULL},
        {"seed", 's', CLI_UINT64, &seed, "S", "seed", 0, 0, NULL},
        {"lr", 0, CLI_DOUBLE, &lr, "X", "learning rate", 0, 1, NULL},
        {"verbose", 'v', CLI_FLAG, &verbose, NULL, "verbose", 0, 0, NULL},
        {"loud", 0, CLI_FLAG_OFF, &quiet, NULL, "not quiet", 0, 0, NULL},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
    const cli_command cmd = {"fuzz", "usage: fuzz [options] FILE...", opts, 0, 3, "at most three FILEs", NULL};
    cli_pos pos = {NULL, -1};
    int r = cli_parse(&cmd, argc, argv, &pos);
    int bad = 0;
    if (r != CLI_CONTINUE && r != CLI_EXIT_OK && r != CLI_EXIT_USAGE)
        bad |= nlcl_fuzz_fail("cli", "unknown parse result");
    if (pos.n < 0 || pos.n > argc - 1) bad |= nlcl_fuzz_fail("cli", "positional count out of range");
    if (r == CLI_CONTINUE && pos.n > 3) bad |= nlcl_fuzz_fail("cli", "positional count not checked");
    if (r == CLI_CONTINUE && !bad) {
        for (int i = 0; i < pos.n; i++) {
            int found = 0;
            for (int k = 1; k < argc; k++) found |= pos.v[i] == orig[k];
            for (int k = 0; k < i; k++) found &= pos.v[k] != pos.v[i]; /* each argument once */
            if (!found) bad |= nlcl_fuzz_fail("cli", "positional not from argv");
        }
        const char *strs[2] = {model, out};
        for (int j = 0; j < 2; j++) {
            if (!strs[j]) continue;
            int inside = strs[j] >= buf && strs[j] < buf + size + 1;
            if (!inside || !*strs[j]) bad |= nlcl_fuzz_fail("cli", "string option not a non-empty argv substring");
        }
        if (quality != -1 && (quality < 1 || quality > 100)) bad |= nlcl_fuzz_fail("cli", "--quality out of range");
        if (threads != -1 && (threads < 1 || threads > 1024)) bad |= nlcl_fuzz_fail("cli", "--threads out of range");
        if (maxpix != -1 && (maxpix < 1 || maxpix > 1000000000000000LL)) bad |= nlcl_fuzz_fail("cli", "--max-pixels out of range");
        if (lr != -1.0 && !(isfinite(lr) && lr >= 0 && lr <= 1)) bad |= nlcl_fuzz_fail("cli", "--lr out of range");
        if (fmt < -1 || fmt > 1 || quant < -1 || quant > 1) bad |= nlcl_fuzz_fail("cli", "choice index out of range");
        if ((verbose != 0 && verbose != 1) || (quiet != 0 && quiet != 1)) bad |= nlcl_fuzz_fail("cli", "flag not 0/1");
        if (dirs.n < 0 || dirs.n > dirs.cap) bad |= nlcl_fuzz_fail("cli", "list count out of range");
        for (int j = 0; j < dirs.n && !bad; j++)
            if (!(items[j] >= buf && items[j] < buf + size + 1) || !*items[j])
                bad |= nlcl_fuzz_fail("cli", "list item not a non-empty argv substring");
    }
    free(buf);
    return bad;
}

#endif
