/* safetensors reader and writer (include/nlcl/weights.h).
 *
 * Format (https://huggingface.co/docs/safetensors, "Format"): u64 LE header
 * length N, N bytes of UTF-8 JSON, then the data section; every tensor's
 * data_offsets [begin, end) are relative to the start of the data section.
 * The reader validates the whole header (see weights.h) before it allocates
 * any tensor memory; tensor bytes are then read range by range. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/internal.h"
#include "nlcl/files.h"
#include "nlcl/weights.h"

/* Largest integer a JSON number (IEEE double in cJSON) holds exactly. */
#define JSON_INT_MAX 9007199254740992.0

/* ---- little-endian scalar decoding and float conversions ---------------- */

static uint64_t rd_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE 754 binary16 -> binary32, exact (subnormals, infinities, NaN payload
 * kept in the top mantissa bits). */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13); /* rebias 15 -> 127 */
    } else if (man == 0) {
        u = sign;
    } else { /* subnormal: value = man * 2^-24, normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400u));
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    return f32_from_bits(u);
}

typedef enum { DT_F32, DT_F16, DT_BF16, DT_F64 } dtype_t;
static const char *const dtype_names[] = {"F32", "F16", "BF16", "F64"};
static const size_t dtype_size[] = {4, 2, 2, 8};
/* Valid safetensors dtypes nlcl does not read (UNSUPPORTED, not FORMAT). */
static const char *const other_dtypes[] = {"BOOL", "U8",  "I8",      "I16",     "U16",
                                           "I32",  "U32", "I64",     "U64",     "F8_E4M3",
                                           "F8_E5M2", "C64", "F8_E8M0", "F4", "F6_E2M3",
                                           "F6_E3M2", "C128"};

/* Returns how many values float32 could not hold exactly (F64 only). */
static size_t convert(dtype_t dt, const unsigned char *src, size_t n, float *dst) {
    size_t inexact = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = src + i * dtype_size[dt];
        switch (dt) {
        case DT_F32:
            dst[i] = f32_from_bits((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                   (uint32_t)p[3] << 24);
            break;
        case DT_F16: dst[i] = f16_to_f32((uint16_t)(p[0] | p[1] << 8)); break;
        case DT_BF16: dst[i] = f32_from_bits((uint32_t)p[0] << 16 | (uint32_t)p[1] << 24); break;
        case DT_F64: {
            uint64_t u = rd_le64(p);
            double v;
            memcpy(&v, &u, 8);
            dst[i] = (float)v;
            inexact += (double)dst[i] != v && !(v != v); /* NaN stays NaN */
            break;
        }
        }
    }
    return inexact;
}

/* ---- byte source: a memory buffer or a file descriptor ------------------ */

typedef struct {
    const unsigned char *mem; /* NULL for a file */
    int fd;
    uint64_t size;
    const char *name;
} source;

static nlcl_status src_read(const source *s, uint64_t off, void *dst, size_t len) {
    if (off > s->size || len > s->size - off)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: read past the end of the file",
                              s->name);
    if (s->mem) {
        memcpy(dst, s->mem + off, len);
        return NLCL_OK;
    }
    unsigned char *p = dst;
    while (len) {
        ssize_t r = pread(s->fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return nlcl_error_set(NLCL_ERR_IO, "%s: read failed: %s", s->name,
                                  strerror(errno));
        if (r == 0)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: file ended early (truncated while reading?)",
                                  s->name);
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return NLCL_OK;
}

/* ---- header validation -------------------------------------------------- */

typedef struct {
    const char *name; /* points into the cJSON tree */
    dtype_t dtype;
    int ndim;
    int64_t shape[NLCL_MAX_DIMS];
    uint64_t begin, end;
} entry;

/* A JSON number that is an exact non-negative integer. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double x = v->valuedouble;
    if (!(x >= 0.0) || x > JSON_INT_MAX || x != floor(x)) return 0;
    *out = (uint64_t)x;
    return 1;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const entry *const *)a)->name, (*(const entry *const *)b)->name);
}
static int cmp_range(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static nlcl_status parse_entry(const source *s, const cJSON *item, uint64_t data_size, entry *e) {
    const char *f = s->name, *n = item->string;
    if (!cJSON_IsObject(item))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%.200s': entry is not a JSON object",
                              f, n);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%.200s': missing string \"dtype\"",
                              f, n);
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(dt->valuestring, dtype_names[i]) == 0) found = i;
    if (found < 0) {
        for (size_t i = 0; i < sizeof other_dtypes / sizeof *other_dtypes; i++)
            if (strcmp(dt->valuestring, other_dtypes[i]) == 0)
                return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                      "%s: tensor '%.200s': dtype %s is not supported "
                                             "(F32, F16, BF16, F64 only)",
                                      f, n, dt->valuestring);
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%.200s': unknown dtype '%.40s'",
                              f, n, dt->valuestring);
    }
    e->dtype = (dtype_t)found;
    if (!cJSON_IsArray(sh))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%.200s': missing array \"shape\"",
                              f, n);
    int rank = cJSON_GetArraySize(sh);
    if (rank > NLCL_MAX_DIMS)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: tensor '%.200s': rank %d exceeds the maximum %d", f, n,
                              rank, NLCL_MAX_DIMS);
    e->ndim = rank;
    size_t numel = 1;
    int k = 0, overflow = 0;
    for (const cJSON *d = sh->child; d; d = d->next, k++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: tensor '%.200s': shape[%d] is not an integer in [0, 2^53]",
                                  f, n, k);
        e->shape[k] = (int64_t)v;
        if (v > SIZE_MAX || !nlcl_size_mul(numel, (size_t)v, &numel)) overflow = 1;
    }
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &e->begin) ||
        !json_uint(off->child->next, &e->end))
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: tensor '%.200s': \"data_offsets\" is not an array of "
                                     "two integers in [0, 2^53]",
                              f, n);
    if (e->begin > e->end)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: tensor '%.200s': data_offsets [%llu, %llu] end before they begin",
                              f, n, (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > data_size)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: tensor '%.200s': data_offsets [%llu, %llu] exceed the "
                                     "data section (%llu bytes): the file is truncated or corrupt",
                              f, n, (unsigned long long)e->begin, (unsigned long long)e->end,
                              (unsigned long long)data_size);
    size_t bytes;
    if (overflow || !nlcl_size_mul(numel, dtype_size[e->dtype], &bytes) ||
        (uint64_t)bytes != e->end - e->begin)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: tensor '%.200s': shape needs %s bytes of %s but "
                                     "data_offsets [%llu, %llu] hold %llu",
                              f, n, overflow ? "more than SIZE_MAX" : "a different number of",
                              dtype_names[e->dtype], (unsigned long long)e->begin,
                              (unsigned long long)e->end,
                              (unsigned long long)(e->end - e->begin));
    /* float32 copies of the tensor must be addressable as well. */
    if (!nlcl_size_mul(numel, sizeof(float), &bytes))
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: tensor '%.200s': too large", f, n);
    e->name = n;
    return NLCL_OK;
}

static nlcl_status parse_metadata(const source *s, const cJSON *meta, nlcl_tensor_dict *d) {
    if (!cJSON_IsObject(meta))
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: \"__metadata__\" is not a JSON object",
                              s->name);
    for (const cJSON *m = meta->child; m; m = m->next)
        if (!cJSON_IsString(m))
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: metadata value of '%.200s' is not a string",
                                  s->name, m->string);
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (nlcl_tensor_dict_get_meta(d, m->string))
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: duplicate metadata key '%.200s'",
                                  s->name, m->string);
        NLCL_TRY(nlcl_tensor_dict_set_meta(d, m->string, m->valuestring));
    }
    return NLCL_OK;
}

/* Validate the ranges as a whole: sorted by offset they must tile
 * [0, data_size) exactly (no overlap, no gap, no trailing bytes). */
static nlcl_status check_layout(const source *s, entry *ents, int count, uint64_t data_size) {
    nlcl_status st = NLCL_OK;
    if (count == 0) {
        if (data_size != 0)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: no tensors but a data section of %llu bytes",
                                  s->name, (unsigned long long)data_size);
        return NLCL_OK;
    }
    entry **p = malloc((size_t)count * sizeof *p);
    if (!p) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", s->name);
    for (int i = 0; i < count; i++) p[i] = &ents[i];
    qsort(p, (size_t)count, sizeof *p, cmp_name);
    for (int i = 1; i < count && st == NLCL_OK; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            st = nlcl_error_set(NLCL_ERR_FORMAT, "%s: duplicate tensor name '%.200s'",
                                s->name, p[i]->name);
    if (st == NLCL_OK) {
        qsort(p, (size_t)count, sizeof *p, cmp_range);
        uint64_t pos = 0;
        const entry *prev = NULL;
        for (int i = 0; i < count && st == NLCL_OK; i++) {
            if (p[i]->begin < pos)
                st = nlcl_error_set(NLCL_ERR_FORMAT,
                                    "%s: tensor '%.200s': data_offsets [%llu, %llu] "
                                           "overlap tensor '%.200s' [%llu, %llu]",
                                    s->name, p[i]->name, (unsigned long long)p[i]->begin,
                                    (unsigned long long)p[i]->end, prev->name,
                                    (unsigned long long)prev->begin, (unsigned long long)prev->end);
            else if (p[i]->begin > pos)
                st = nlcl_error_set(NLCL_ERR_FORMAT,
                                    "%s: bytes [%llu, %llu) of the data section belong "
                                           "to no tensor",
                                    s->name, (unsigned long long)pos,
                                    (unsigned long long)p[i]->begin);
            pos = p[i]->end;
            prev = p[i];
        }
        if (st == NLCL_OK && pos != data_size)
            st = nlcl_error_set(NLCL_ERR_FORMAT,
                                "%s: bytes [%llu, %llu) of the data section belong to no tensor",
                                s->name, (unsigned long long)pos, (unsigned long long)data_size);
    }
    free(p);
    return st;
}

/* *inexact counts the values float32 rounded (F64 tensors). */
static nlcl_status read_tensor(const source *s, uint64_t data_start, const entry *e,
                               nlcl_named_tensor *t, size_t *inexact) {
    size_t es = dtype_size[e->dtype];
    if (s->mem) {
        *inexact += convert(e->dtype, s->mem + data_start + e->begin, t->numel, t->data);
        return NLCL_OK;
    }
    unsigned char buf[65536];
    size_t per = sizeof buf / es, done = 0;
    while (done < t->numel) {
        size_t n = NLCL_MIN(per, t->numel - done);
        NLCL_TRY(src_read(s, data_start + e->begin + (uint64_t)done * es, buf, n * es));
        *inexact += convert(e->dtype, buf, n, t->data + done);
        done += n;
    }
    return NLCL_OK;
}

/* Not silent: F64 values that float32 rounds are reported in the metadata
 * entry "import" (nlcl info, derain -v). */
static nlcl_status note_rounding(nlcl_tensor_dict *d, size_t inexact, int tensors) {
    if (!inexact) return NLCL_OK;
    char note[160];
    snprintf(note, sizeof note,
             "%zu F64 value(s) in %d tensor(s) rounded to float32 (nlcl computes in float32)",
             inexact, tensors);
    return nlcl_tensor_dict_add_note(d, note);
}

static nlcl_status load_source(const source *s, nlcl_tensor_dict *d) {
    const char *f = s->name;
    if (s->size < 8)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: file is %llu bytes, too short for the 8-byte "
                                     "safetensors header length",
                              f, (unsigned long long)s->size);
    unsigned char lenbuf[8];
    NLCL_TRY(src_read(s, 0, lenbuf, 8));
    uint64_t hlen = rd_le64(lenbuf);
    if (hlen > s->size - 8)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: header length %llu exceeds file size %llu (truncated, "
                                     "or not a safetensors file)", f,
                              (unsigned long long)hlen, (unsigned long long)s->size);
    if (hlen > NLCL_SAFETENSORS_MAX_HEADER)
        return nlcl_error_set(NLCL_ERR_LIMIT,
                              "%s: header length %llu exceeds the limit of %llu bytes", f,
                              (unsigned long long)hlen,
                              (unsigned long long)NLCL_SAFETENSORS_MAX_HEADER);
    if (hlen < 2)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: header length %llu is too short", f,
                              (unsigned long long)hlen);
    uint64_t data_start = 8 + hlen, data_size = s->size - data_start;
    char *hdr = malloc((size_t)hlen + 1);
    if (!hdr) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", f);
    nlcl_status st = src_read(s, 8, hdr, (size_t)hlen);
    if (st != NLCL_OK) {
        free(hdr);
        return st;
    }
    hdr[hlen] = '\0';
    if (hdr[0] != '{') {
        free(hdr);
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: header does not start with '{' "
                                               "(not a safetensors file?)", f);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr && end <= hdr + hlen ? (size_t)(end - hdr) : 0;
        free(hdr);
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: header is not valid JSON (near byte %zu of %llu)",
                              f, at, (unsigned long long)hlen);
    }
    /* Only whitespace padding may follow the JSON object. */
    for (const char *q = end; st == NLCL_OK && q < hdr + hlen; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
            st = nlcl_error_set(NLCL_ERR_FORMAT,
                                "%s: header has trailing bytes after the JSON object", f);
    if (st == NLCL_OK && !cJSON_IsObject(root))
        st = nlcl_error_set(NLCL_ERR_FORMAT, "%s: header is not a JSON object", f);

    int count = 0, nmeta = 0;
    for (const cJSON *c = root->child; st == NLCL_OK && c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) nmeta++;
        else count++;
    }
    if (st == NLCL_OK && nmeta > 1)
        st = nlcl_error_set(NLCL_ERR_FORMAT, "%s: \"__metadata__\" appears %d times", f,
                            nmeta);
    entry *ents = NULL;
    if (st == NLCL_OK) {
        ents = calloc((size_t)count + 1, sizeof *ents);
        if (!ents) st = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", f);
    }
    int k = 0;
    for (const cJSON *c = root ? root->child : NULL; st == NLCL_OK && c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            st = parse_metadata(s, c, d);
        } else if (c->string[0] == '\0') {
            st = nlcl_error_set(NLCL_ERR_FORMAT, "%s: a tensor has an empty name", f);
        } else {
            st = parse_entry(s, c, data_size, &ents[k++]);
        }
    }
    if (st == NLCL_OK) st = check_layout(s, ents, count, data_size);
    /* Everything is validated: allocate and read, in header order. */
    size_t inexact = 0;
    int rounded = 0;
    for (int i = 0; st == NLCL_OK && i < count; i++) {
        nlcl_named_tensor *t;
        size_t before = inexact;
        st = nlcl_tensor_dict_add(d, ents[i].name, ents[i].ndim, ents[i].shape, NULL, &t);
        if (st == NLCL_OK) st = read_tensor(s, data_start, &ents[i], t, &inexact);
        else st = nlcl_error_prefix(st, "%s: ", f);
        rounded += inexact != before;
    }
    if (st == NLCL_OK) st = note_rounding(d, inexact, rounded);
    free(ents);
    cJSON_Delete(root);
    free(hdr);
    return st;
}

nlcl_status nlcl_safetensors_load_memory(const void *buf, size_t len, const char *name,
                                         nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    static const unsigned char empty[1] = {0};
    source s = {buf ? buf : empty, -1, buf ? (uint64_t)len : 0, name ? name : "<memory>"};
    nlcl_status st = load_source(&s, d);
    if (st != NLCL_OK) nlcl_tensor_dict_free(d);
    return st;
}

nlcl_status nlcl_safetensors_load(const char *path, nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    int fd;
    uint64_t size;
    NLCL_TRY(nlcl_open_regular(path, &fd, &size));
    source s = {NULL, fd, size, path};
    nlcl_status st = load_source(&s, d);
    close(fd);
    if (st != NLCL_OK) nlcl_tensor_dict_free(d);
    return st;
}

/* ---- writer ------------------------------------------------------------- */

/* JSON must be UTF-8: metadata (paths in training commands, sources) and
 * names that are not are escaped (\xNN, include/nlcl/files.h). */
static int add_meta(cJSON *meta, const char *key, const char *value) {
    char *k = nlcl_utf8_escape(key), *v = nlcl_utf8_escape(value);
    int ok = k && v && cJSON_AddStringToObject(meta, k, v) != NULL;
    free(k);
    free(v);
    return ok;
}

static cJSON *add_tensor_object(cJSON *root, const char *name) {
    char *n = nlcl_utf8_escape(name);
    cJSON *e = n ? cJSON_AddObjectToObject(root, n) : NULL;
    free(n);
    return e;
}

static char *build_header(const nlcl_tensor_dict *d) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int ok = 1;
    if (d->meta_count > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < d->meta_count; i++)
            ok = add_meta(meta, d->meta_keys[i], d->meta_values[i]);
    }
    uint64_t pos = 0;
    for (int i = 0; ok && i < d->count; i++) {
        const nlcl_named_tensor *t = &d->tensors[i];
        cJSON *e = add_tensor_object(root, t->name);
        cJSON *shape = e ? cJSON_CreateArray() : NULL;
        cJSON *offs = shape ? cJSON_CreateArray() : NULL;
        ok = e && shape && offs && cJSON_AddStringToObject(e, "dtype", "F32");
        if (shape) cJSON_AddItemToObject(e, "shape", shape);
        if (offs) cJSON_AddItemToObject(e, "data_offsets", offs);
        for (int k = 0; ok && k < t->ndim; k++) {
            cJSON *n = cJSON_CreateNumber((double)t->shape[k]);
            ok = n != NULL;
            if (n) cJSON_AddItemToArray(shape, n);
        }
        uint64_t end = pos + (uint64_t)t->numel * 4;
        cJSON *b = ok ? cJSON_CreateNumber((double)pos) : NULL;
        if (b) cJSON_AddItemToArray(offs, b);
        cJSON *en = b ? cJSON_CreateNumber((double)end) : NULL;
        if (en) cJSON_AddItemToArray(offs, en);
        ok = ok && b && en;
        pos = end;
    }
    char *txt = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return txt;
}

nlcl_status nlcl_safetensors_save(const char *path, const nlcl_tensor_dict *d) {
    /* Validate what the format cannot express before touching the disk. */
    uint64_t total = 0;
    for (int i = 0; i < d->count; i++) {
        const nlcl_named_tensor *t = &d->tensors[i];
        if (!t->name[0] || strcmp(t->name, "__metadata__") == 0)
            return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                  "%s: tensor name '%s' is not allowed", path,
                                  t->name);
        if (t->numel > (uint64_t)JSON_INT_MAX / 4 || total + (uint64_t)t->numel * 4 > JSON_INT_MAX)
            return nlcl_error_set(NLCL_ERR_LIMIT, "%s: tensors too large", path);
        total += (uint64_t)t->numel * 4;
    }
    char *hdr = build_header(d);
    if (!hdr) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8;
    uint64_t n = (uint64_t)(hl + pad);
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(n >> (8 * i));

    nlcl_afile af;
    nlcl_status st = nlcl_afile_open(&af, path);
    if (st != NLCL_OK) {
        free(hdr);
        return st;
    }
    st = nlcl_afile_write(&af, lenbuf, 8);
    if (st == NLCL_OK) st = nlcl_afile_write(&af, hdr, hl);
    if (st == NLCL_OK) st = nlcl_afile_write(&af, "       ", pad);
    free(hdr);
    unsigned char buf[65536];
    for (int i = 0; st == NLCL_OK && i < d->count; i++) {
        const nlcl_named_tensor *t = &d->tensors[i];
        for (size_t done = 0; st == NLCL_OK && done < t->numel;) {
            size_t m = NLCL_MIN(sizeof buf / 4, t->numel - done);
            for (size_t j = 0; j < m; j++) {
                uint32_t u;
                memcpy(&u, &t->data[done + j], 4);
                for (int b = 0; b < 4; b++) buf[4 * j + (size_t)b] = (unsigned char)(u >> (8 * b));
            }
            st = nlcl_afile_write(&af, buf, m * 4);
            done += m;
        }
    }
    if (st != NLCL_OK) {
        nlcl_afile_abort(&af);
        return st;
    }
    return nlcl_afile_commit(&af);
}
