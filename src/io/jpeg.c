/* JPEG reading and writing with libjpeg-turbo (include/nlcl/image.h).
 *
 * Decoding uses libjpeg's default settings (islow IDCT, fancy upsampling,
 * block smoothing for progressive files), which is what PIL does, so the
 * pixels equal PIL's. Errors and warnings go to j_error_exit/j_emit below,
 * which record the message (nothing is printed) and longjmp back to the
 * caller's setjmp. Warnings that mean lost or wrong pixel data are errors:
 * a premature end of file ("JPEG truncated": libjpeg would fill the rest with
 * grey), even when only the final EOI marker is missing (PIL refuses those
 * too), and the "Corrupt JPEG data" family. A progress monitor caps
 * progressive files at JPEG_MAX_SCANS scans (a known CPU-exhaustion vector).
 *
 * Besides the samples the decoder hands the front end (image.c) the EXIF
 * orientation (the first APP1 "Exif" marker, libexif) and the ICC profile
 * (APP2 "ICC_PROFILE" markers, libjpeg-turbo's jpeg_read_icc_profile;
 * inconsistent markers are an error). CMYK and YCCK files are decoded to
 * CMYK by libjpeg-turbo (which converts YCCK) and converted to RGB here
 * (colour.c): through their CMYK ICC profile when they carry one, else
 * naively, with the samples inverted when an Adobe APP14 marker is present
 * (Photoshop's convention, which PIL and viewers follow).
 * For nlcl_image_load_meta the decoder also saves COM, APP13 and the other
 * APPn markers (these only up to 64 bytes, to name them); the encoder writes
 * the metadata as markers after SOI. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include <jerror.h> /* after jpeglib.h: its codes depend on jconfig.h */

#include "core/internal.h"
#include "image_internal.h"

#define JPEG_MAX_SCANS 1000
#define JPEG_SRC_BUF 65536

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* must be first: cinfo->err points here */
    jmp_buf jb;
    nlcl_status status;
    int compress;   /* encoding: errors are I/O or internal, not format */
    int bad_icc;    /* libjpeg warned that the ICC_PROFILE markers are inconsistent */
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_ctx;

_Noreturn static void j_fail(j_common_ptr ci, nlcl_status s, const char *prefix) {
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    char buf[JMSG_LENGTH_MAX];
    (*ci->err->format_message)(ci, buf);
    c->status = s;
    snprintf(c->msg, sizeof c->msg, "%s%s", prefix, buf);
    longjmp(c->jb, 1);
}

static void j_error_exit(j_common_ptr ci) {
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    switch (ci->err->msg_code) {
    case JERR_OUT_OF_MEMORY: j_fail(ci, NLCL_ERR_NOMEM, "JPEG: "); break;
    case JERR_FILE_READ:
    case JERR_FILE_WRITE: j_fail(ci, NLCL_ERR_IO, "JPEG: "); break;
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
        j_fail(ci, c->compress ? NLCL_ERR_INTERNAL : NLCL_ERR_UNSUPPORTED, "unsupported JPEG: ");
        break;
    default:
        if (c->compress) j_fail(ci, NLCL_ERR_INTERNAL, "JPEG: ");
        j_fail(ci, NLCL_ERR_FORMAT, "corrupt JPEG: ");
    }
}

static void j_emit(j_common_ptr ci, int level) {
    if (level >= 0) return; /* trace messages */
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    ci->err->num_warnings++;
    switch (ci->err->msg_code) {
    case JWRN_BOGUS_ICC: c->bad_icc = 1; break;
    case JWRN_JPEG_EOF:
        c->status = NLCL_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "JPEG truncated");
        longjmp(c->jb, 1);
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
#ifdef D_ARITH_CODING_SUPPORTED
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION: j_fail(ci, NLCL_ERR_FORMAT, ""); break;
    default: break; /* harmless: extraneous bytes, unknown JFIF/Adobe versions */
    }
}

static void j_output(j_common_ptr ci) { (void)ci; }

static void j_progress(j_common_ptr ci) {
    j_decompress_ptr d = (j_decompress_ptr)ci;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_ctx *c = (jpeg_ctx *)ci->err;
        c->status = NLCL_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "corrupt JPEG: more than %d scans", JPEG_MAX_SCANS);
        longjmp(c->jb, 1);
    }
}

static void j_init_error(jpeg_ctx *c, int compress) {
    jpeg_std_error(&c->pub);
    c->pub.error_exit = j_error_exit;
    c->pub.emit_message = j_emit;
    c->pub.output_message = j_output;
    c->status = NLCL_OK;
    c->compress = compress;
}

/* ---- source manager over nlcl_img_src -------------------------------------------- */

typedef struct jsrc {
    struct jpeg_source_mgr pub;
    nlcl_img_src *in;
    JOCTET *buf; /* file sources only */
} jsrc;

static const JOCTET fake_eoi[2] = {0xFF, JPEG_EOI};

static void js_init(j_decompress_ptr d) { (void)d; }
static void js_term(j_decompress_ptr d) { (void)d; }

static boolean js_fill(j_decompress_ptr d) {
    jsrc *s = (jsrc *)d->src;
    nlcl_img_src *in = s->in;
    if (!in->fp) {
        if (in->pos < in->len) { /* the whole remaining buffer at once */
            s->pub.next_input_byte = in->mem + in->pos;
            s->pub.bytes_in_buffer = in->len - in->pos;
            in->pos = in->len;
            return TRUE;
        }
    } else {
        size_t n = nlcl_img_src_read(in, s->buf, JPEG_SRC_BUF);
        if (n) {
            s->pub.next_input_byte = s->buf;
            s->pub.bytes_in_buffer = n;
            return TRUE;
        }
        if (in->read_error) ERREXIT(d, JERR_FILE_READ);
    }
    WARNMS(d, JWRN_JPEG_EOF); /* an error: j_emit longjmps */
    s->pub.next_input_byte = fake_eoi;
    s->pub.bytes_in_buffer = 2;
    return TRUE;
}

static void js_skip(j_decompress_ptr d, long n) {
    jsrc *s = (jsrc *)d->src;
    if (n <= 0) return;
    while ((size_t)n > s->pub.bytes_in_buffer) {
        n -= (long)s->pub.bytes_in_buffer;
        (void)js_fill(d);
    }
    s->pub.next_input_byte += n;
    s->pub.bytes_in_buffer -= (size_t)n;
}

/* ---- decoding -------------------------------------------------------------------------- */

typedef struct jdec {
    struct jpeg_decompress_struct d;
    jpeg_ctx err;
    struct jpeg_progress_mgr prog;
    nlcl_image_info *info, scratch;
    nlcl_cmyk_conv *cmyk; /* CMYK/YCCK files */
    uint8_t *row;         /* one output row; freed by nlcl_jpeg_decode, also after a longjmp */
} jdec;

/* The EXIF orientation, the ICC profile and, without one, whether the EXIF
 * says Adobe RGB (after jpeg_read_header, which saved the APP1/APP2
 * markers), into src. */
static nlcl_status read_metadata(jdec *j, nlcl_img_src *src) {
    j_decompress_ptr d = &j->d;
    int exif = 0;
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
        if (!exif && m->marker == JPEG_APP0 + 1 && m->data_length > 6 && !memcmp(m->data, "Exif\0\0", 6)) {
            /* adobe_rgb: unless an ICC profile follows */
            src->orientation = nlcl_exif_orientation(m->data, m->data_length, 0, &src->adobe_rgb);
            if (nlcl_img_src_keep_exif(src, m->data + 6, m->data_length - 6) != NLCL_OK)
                return NLCL_ERR_NOMEM;
            exif = 1;
        } else if (src->meta) {
            NLCL_TRY(nlcl_meta_jpeg_marker(src, m->marker, m->data, m->data_length));
        }
    JOCTET *icc = NULL;
    unsigned int len = 0;
    if (jpeg_read_icc_profile(d, &icc, &len) && icc) {
        if (len > NLCL_ICC_MAX_BYTES) {
            free(icc);
            return nlcl_error_set(NLCL_ERR_LIMIT, "%s: ICC profile of %u bytes (limit %zu)",
                                  src->name, len, NLCL_ICC_MAX_BYTES);
        }
        src->icc = icc;
        src->icc_len = len;
        src->adobe_rgb = 0; /* the profile says what the samples mean */
    } else if (j->err.bad_icc) {
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: corrupt JPEG: inconsistent ICC_PROFILE markers", src->name);
    }
    return NLCL_OK;
}

/* The source manager over src (libjpeg's pool owns it). */
static void set_source(jdec *j, nlcl_img_src *src) {
    j_decompress_ptr d = &j->d;
    jsrc *js = (jsrc *)(*d->mem->alloc_small)((j_common_ptr)d, JPOOL_PERMANENT, sizeof(jsrc));
    js->in = src;
    js->buf = src->fp ? (JOCTET *)(*d->mem->alloc_small)((j_common_ptr)d, JPOOL_PERMANENT,
                                                           JPEG_SRC_BUF)
                      : NULL;
    js->pub.init_source = js_init;
    js->pub.fill_input_buffer = js_fill;
    js->pub.skip_input_data = js_skip;
    js->pub.resync_to_restart = jpeg_resync_to_restart;
    js->pub.term_source = js_term;
    js->pub.next_input_byte = NULL;
    js->pub.bytes_in_buffer = 0;
    d->src = &js->pub;
    j->prog.progress_monitor = j_progress;
    d->progress = &j->prog;
}

/* The header (after jpeg_read_header) into the info, and the output colour
 * space: grey, RGB (from YCbCr or RGB) or CMYK (from CMYK or YCCK, which
 * colour.c converts); *nc its components. */
static nlcl_status choose_output(jdec *j, nlcl_img_src *src, int *nc) {
    j_decompress_ptr d = &j->d;
    const char *name = src->name;
    nlcl_image_info *const inf = j->info;
    memset(inf, 0, sizeof *inf);
    inf->width = (int)d->image_width; /* <= 65535 */
    inf->height = (int)d->image_height;
    inf->channels = d->num_components;
    inf->bit_depth = d->data_precision;
    inf->is_jpeg = 1;
    NLCL_TRY(nlcl_image_check_dims(name, d->image_width, d->image_height));
    switch (d->jpeg_color_space) {
    case JCS_GRAYSCALE:
        d->out_color_space = JCS_GRAYSCALE;
        *nc = 1;
        src->grey = 1;
        return NLCL_OK;
    case JCS_YCbCr:
    case JCS_RGB:
        d->out_color_space = JCS_RGB;
        *nc = 3;
        return NLCL_OK;
    case JCS_CMYK:
    case JCS_YCCK: /* libjpeg converts YCCK to CMYK, colour.c CMYK to RGB */
        d->out_color_space = JCS_CMYK;
        *nc = 4;
        src->cmyk = 1;
        return NLCL_OK;
    default:
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: JPEG colour space with %d components is not supported",
                              name, d->num_components);
    }
}

/* Decompress into img (nc output components). */
static nlcl_status read_pixels(jdec *j, nlcl_img_src *src, int nc, nlcl_image *img) {
    j_decompress_ptr d = &j->d;
    const char *name = src->name;
    jpeg_start_decompress(d);
    if (d->output_width != d->image_width || d->output_height != d->image_height ||
        d->output_components != nc)
        return nlcl_error_set(NLCL_ERR_INTERNAL, "%s: unexpected JPEG output layout", name);
    NLCL_TRY(nlcl_image_alloc_for(name, img, (int)d->output_width, (int)d->output_height));
    if (!(j->row = malloc((size_t)d->output_width * (size_t)nc)))
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a JPEG row", name);
    if (nc == 4) { /* the CMYK profile is used here, not by the front end */
        NLCL_TRY(nlcl_cmyk_conv_open(name, src->icc, src->icc_len, d->saw_Adobe_marker,
                                     (int)d->output_width, &j->cmyk));
        src->converted = src->icc != NULL;
        src->adobe_rgb = 0; /* EXIF's Adobe RGB is an RGB space */
        free(src->icc);
        src->icc = NULL;
        src->icc_len = 0;
    }
    while (d->output_scanline < d->output_height) {
        int y = (int)d->output_scanline;
        JSAMPROW r = j->row;
        if (jpeg_read_scanlines(d, &r, 1) != 1) /* cannot happen: the source never suspends */
            return nlcl_error_set(NLCL_ERR_INTERNAL, "%s: JPEG decoder returned no data", name);
        if (nc == 4) nlcl_cmyk_conv_row(j->cmyk, j->row, img, y);
        else nlcl_image_put_row8(img, y, j->row, nc);
    }
    src->clipped = nlcl_cmyk_conv_clipped(j->cmyk);
    jpeg_finish_decompress(d);
    return NLCL_OK;
}

nlcl_status nlcl_jpeg_decode(nlcl_img_src *src, nlcl_image *img,
                             nlcl_image_info *info) {
    const char *name = src->name;
    /* Decoder state lives on the heap so that it stays well defined after a
     * longjmp; locals written after setjmp are volatile. */
    jdec *const j = calloc(1, sizeof *j);
    if (!j) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    j_decompress_ptr d = &j->d;
    volatile int created = 0;
    volatile nlcl_status s = NLCL_OK;
    j->info = info ? info : &j->scratch;
    d->err = (struct jpeg_error_mgr *)&j->err;
    j_init_error(&j->err, 0);
    if (setjmp(j->err.jb)) {
        s = nlcl_error_set(j->err.status, "%s: %s", name, j->err.msg);
        goto done;
    }
    jpeg_create_decompress(d);
    created = 1;
    set_source(j, src);
    jpeg_save_markers(d, JPEG_APP0 + 1, 0xFFFF); /* EXIF */
    jpeg_save_markers(d, JPEG_APP0 + 2, 0xFFFF); /* ICC profile */
    if (src->meta) { /* nlcl_image_load_meta: comments, APP13; the others to name them */
        jpeg_save_markers(d, JPEG_COM, 0xFFFF);
        jpeg_save_markers(d, JPEG_APP0 + 13, 0xFFFF);
        for (int k = 0; k < 16; k++)
            if (k != 1 && k != 2 && k != 13) jpeg_save_markers(d, JPEG_APP0 + k, 64);
    }
    jpeg_read_header(d, TRUE);
    s = read_metadata(j, src);
    if (s == NLCL_OK && src->meta && d->saw_JFIF_marker && d->X_density && d->Y_density &&
        (d->density_unit == 1 || d->density_unit == 2 || d->X_density != d->Y_density)) {
        src->meta->res_unit = d->density_unit == 1 ? NLCL_RES_INCH : d->density_unit == 2 ? NLCL_RES_CM : NLCL_RES_ASPECT;
        src->meta->res_x = d->X_density, src->meta->res_y = d->Y_density;
    }
    int nc = 0;
    if (s == NLCL_OK) s = choose_output(j, src, &nc);
    if (s == NLCL_OK && img) s = read_pixels(j, src, nc, img);
done:
    if (created) jpeg_destroy_decompress(d);
    nlcl_cmyk_conv_close(j->cmyk);
    free(j->row);
    free(j);
    if (s != NLCL_OK && img) nlcl_image_free(img);
    return s;
}

/* ---- encoding -------------------------------------------------------------------------- */

typedef struct jenc {
    struct jpeg_compress_struct c;
    jpeg_ctx err;
} jenc;

/* The APP1 XMP or APP13 marker: header (with its NUL), then the payload. */
static void write_with_header(j_compress_ptr c, int marker, const char *hdr, const void *p, size_t n) {
    const size_t h = strlen(hdr) + 1;
    jpeg_write_m_header(c, marker, (unsigned int)(h + n));
    for (size_t i = 0; i < h; i++) jpeg_write_m_byte(c, hdr[i]);
    for (size_t i = 0; i < n; i++) jpeg_write_m_byte(c, ((const uint8_t *)p)[i]);
}

/* The resolution into the JFIF marker: 1 if there is one it can hold. */
static int set_density(j_compress_ptr c, const nlcl_image_meta *m) {
    double f = m->res_unit == NLCL_RES_METRE ? 0.0254 : 1; /* pixels per metre: as dpi */
    double x = m->res_x * f + 0.5, y = m->res_y * f + 0.5;
    if (m->res_unit <= NLCL_RES_NONE || m->res_unit > NLCL_RES_METRE || !(x >= 1 && y >= 1 && x < 65536 && y < 65536))
        return 0;
    c->density_unit = m->res_unit == NLCL_RES_ASPECT ? 0 : m->res_unit == NLCL_RES_CM ? 2 : 1;
    c->X_density = (UINT16)x;
    c->Y_density = (UINT16)y;
    return 1;
}

/* APP1 EXIF, APP1 XMP, APP13, COM (the "Comment" texts): what a marker
 * holds (nlcl_image_meta_unwritable says what is left out). */
static void write_meta(j_compress_ptr c, const nlcl_image_meta *m) {
    if (m->exif) jpeg_write_marker(c, JPEG_APP0 + 1, m->exif, (unsigned int)m->exif_len);
    if (m->xmp && m->xmp_len + sizeof NLCL_XMP_JPEG_HDR <= 65533)
        write_with_header(c, JPEG_APP0 + 1, NLCL_XMP_JPEG_HDR, m->xmp, m->xmp_len);
    if (m->iptc && m->iptc_len + sizeof NLCL_PS_JPEG_HDR <= 65533)
        write_with_header(c, JPEG_APP0 + 13, NLCL_PS_JPEG_HDR, m->iptc, m->iptc_len);
    for (int i = 0; i < m->ntext; i++) {
        size_t n = strlen(m->text[i].text);
        if (!strcmp(m->text[i].key, "Comment") && n <= 65533)
            jpeg_write_marker(c, JPEG_COM, (const JOCTET *)m->text[i].text, (unsigned int)n);
    }
}

nlcl_status nlcl_jpeg_encode(nlcl_afile *f, const char *path, const nlcl_image *img,
                             const nlcl_image_meta *meta, nlcl_quantize q, int quality) {
    jenc *const j = calloc(1, sizeof *j);
    if (!j) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    j_compress_ptr c = &j->c;
    uint8_t *volatile row = NULL;
    volatile int created = 0;
    volatile nlcl_status s = NLCL_OK;

    c->err = (struct jpeg_error_mgr *)&j->err;
    j_init_error(&j->err, 1);
    if (setjmp(j->err.jb)) {
        s = nlcl_error_set(j->err.status, "%s: %s", path, j->err.msg);
        goto done;
    }
    jpeg_create_compress(c);
    created = 1;
    row = malloc((size_t)img->width * 3);
    if (!row) {
        s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate a JPEG row", path);
        goto done;
    }
    jpeg_stdio_dest(c, f->fp); /* short writes raise JERR_FILE_WRITE */
    c->image_width = (JDIMENSION)img->width;
    c->image_height = (JDIMENSION)img->height;
    c->input_components = 3;
    c->in_color_space = JCS_RGB;
    jpeg_set_defaults(c); /* baseline, 4:2:0, islow DCT */
    jpeg_set_quality(c, quality, TRUE);
    /* EXIF's APP1 comes right after SOI, unless a JFIF marker holds the
     * resolution (as Photoshop writes them: JFIF, then EXIF) */
    const int density = meta && set_density(c, meta);
    c->write_JFIF_header = meta && meta->exif && !density ? FALSE : TRUE;
    jpeg_start_compress(c, TRUE);
    if (meta) write_meta(c, meta);
    while (c->next_scanline < c->image_height) {
        nlcl_image_get_row8(img, (int)c->next_scanline, q, row);
        JSAMPROW r = row;
        jpeg_write_scanlines(c, &r, 1);
    }
    jpeg_finish_compress(c);
    s = NLCL_OK;
done:
    if (created) jpeg_destroy_compress(c);
    free(row);
    free(j);
    return s;
}

/* ---- JPEG compression as a degradation (synthetic rain) --------------------------- */

/* A growing in-memory destination that owns its buffer (libjpeg's jpeg_mem_dest
 * frees its old buffer on growth without telling the caller until
 * jpeg_finish_compress, so an error in between would leave a stale pointer). */
typedef struct mem_dest {
    struct jpeg_destination_mgr pub;
    JOCTET *buf;
    size_t cap;
} mem_dest;

static void md_init(j_compress_ptr c) {
    mem_dest *m = (mem_dest *)c->dest;
    m->pub.next_output_byte = m->buf;
    m->pub.free_in_buffer = m->cap;
}

static boolean md_grow(j_compress_ptr c) {
    mem_dest *m = (mem_dest *)c->dest;
    JOCTET *b = realloc(m->buf, 2 * m->cap);
    if (!b) ERREXIT1(c, JERR_OUT_OF_MEMORY, 10);
    m->buf = b;
    m->pub.next_output_byte = b + m->cap;
    m->pub.free_in_buffer = m->cap;
    m->cap *= 2;
    return TRUE;
}

static void md_term(j_compress_ptr c) { (void)c; }

typedef struct degrade {
    jenc enc;
    mem_dest dest;
    uint8_t *row;
} degrade;

/* Encode img at `quality` (libjpeg's defaults: 4:2:0, islow DCT) into g->dest. */
static void encode_to_memory(degrade *g, const nlcl_image *img, int quality) {
    j_compress_ptr c = &g->enc.c;
    jpeg_create_compress(c);
    c->dest = &g->dest.pub;
    g->dest.pub.init_destination = md_init;
    g->dest.pub.empty_output_buffer = md_grow;
    g->dest.pub.term_destination = md_term;
    c->image_width = (JDIMENSION)img->width, c->image_height = (JDIMENSION)img->height;
    c->input_components = 3, c->in_color_space = JCS_RGB;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, quality, TRUE);
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < c->image_height) {
        nlcl_image_get_row8(img, (int)c->next_scanline, NLCL_QUANT_ROUND, g->row);
        JSAMPROW r = g->row;
        jpeg_write_scanlines(c, &r, 1);
    }
    jpeg_finish_compress(c);
}

/* img's samples become those of the JPEG file, decoded by nlcl's own reader
 * (nlcl_image_load_memory), as a JPEG photo on disk would be. */
nlcl_status nlcl_jpeg_degrade(nlcl_image *img, int quality) {
    degrade *const g = calloc(1, sizeof *g);
    volatile nlcl_status s = NLCL_OK;
    if (!g || !(g->row = malloc((size_t)img->width * 3)) || !(g->dest.buf = malloc(g->dest.cap = 65536))) {
        s = nlcl_error_set(NLCL_ERR_NOMEM, "JPEG degradation: out of memory");
        goto done;
    }
    g->enc.c.err = (struct jpeg_error_mgr *)&g->enc.err;
    j_init_error(&g->enc.err, 1);
    if (setjmp(g->enc.err.jb)) {
        s = nlcl_error_set(g->enc.err.status, "JPEG degradation: %s", g->enc.err.msg);
        goto done;
    }
    encode_to_memory(g, img, quality);
    nlcl_image back = {0};
    s = nlcl_image_load_memory(g->dest.buf, g->dest.cap - g->dest.pub.free_in_buffer,
                               "JPEG degradation", &back, NULL);
    if (s == NLCL_OK) memcpy(img->data, back.data, sizeof(float) * 3 * (size_t)img->width * img->height);
    nlcl_image_free(&back);
done:
    if (g) { /* destroying a never-created (zeroed) object is a no-op */
        jpeg_destroy_compress(&g->enc.c);
        free(g->dest.buf);
        free(g->row);
        free(g);
    }
    return s;
}
