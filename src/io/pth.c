/* PyTorch .pth state_dict import (include/nlcl/weights.h).
 *
 * torch.save (PyTorch >= 1.6) writes a zip archive: <root>/data.pkl is a
 * pickle (protocol 2) of the state_dict whose tensors are rebuilt by
 * torch._utils._rebuild_tensor_v2 from storages named by persistent ids
 * ('storage', torch.<T>Storage, key, location, numel); storage <key> is the
 * raw little-endian file <root>/data/<key>. This file reads the archive;
 * the restricted unpickler is src/io/pickle.c. */
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/internal.h"
#include "io/pickle.h"
#include "nlcl/weights.h"


/* ---- zip helpers ------------------------------------------------------- */

static nlcl_status zip_open_error(const char *path, int code) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    char why[200];
    snprintf(why, sizeof why, "%s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    switch (code) {
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s", path, why);
    case ZIP_ER_MEMORY: return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    case ZIP_ER_NOZIP:
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: not a zip archive (truncated, or not a PyTorch >= 1.6 "
                                     ".pth file): %s",
                              path, why);
    default: return nlcl_error_set(NLCL_ERR_FORMAT, "%s: damaged zip archive: %s", path, why);
    }
}

static nlcl_status zip_entry_error(const char *path, const char *entry, zip_error_t *ze) {
    int code = zip_error_code_zip(ze);
    nlcl_status s = NLCL_ERR_FORMAT;
    if (code == ZIP_ER_COMPNOTSUPP || code == ZIP_ER_ENCRNOTSUPP || code == ZIP_ER_NOPASSWD)
        s = NLCL_ERR_UNSUPPORTED;
    else if (code == ZIP_ER_MEMORY) s = NLCL_ERR_NOMEM;
    else if (code == ZIP_ER_READ || code == ZIP_ER_SEEK) s = NLCL_ERR_IO;
    return nlcl_error_set(s, "%s: %s: %s", path, entry, zip_error_strerror(ze));
}

/* Open entry `idx` whose stat size must be `want` bytes. */
static nlcl_status entry_open(zip_t *za, zip_int64_t idx, const char *path, const char *name,
                              uint64_t want, zip_file_t **out) {
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return zip_entry_error(path, name, zip_get_error(za));
    if (sb.size != want)
        return nlcl_error_set(NLCL_ERR_FORMAT, "%s: %s holds %llu bytes, expected %llu",
                              path, name, (unsigned long long)sb.size, (unsigned long long)want);
    *out = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!*out) return zip_entry_error(path, name, zip_get_error(za));
    return NLCL_OK;
}

/* Read exactly `len` bytes (the zip's sizes are not trusted: a short entry is
 * an error, and libzip reports a CRC mismatch on the read that hits EOF, so
 * we always read to the end). */
static nlcl_status entry_read(zip_file_t *zf, const char *path, const char *name, void *buf,
                              size_t len, int expect_eof) {
    size_t got = 0;
    while (got < len) {
        zip_int64_t r = zip_fread(zf, (char *)buf + got, len - got);
        if (r < 0) return zip_entry_error(path, name, zip_file_get_error(zf));
        if (r == 0)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: %s ends after %zu bytes, expected %zu more", path,
                                  name, got, len - got);
        got += (size_t)r;
    }
    if (expect_eof) {
        char extra;
        zip_int64_t r = zip_fread(zf, &extra, 1);
        if (r < 0) return zip_entry_error(path, name, zip_file_get_error(zf));
        if (r > 0)
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: %s is longer than it claims",
                                  path, name);
    }
    return NLCL_OK;
}

/* ---- state_dict -> tensor dict ---------------------------------------- */

typedef struct {
    const char *name;
    const obj *t;          /* O_TENSOR */
    size_t numel;
    nlcl_named_tensor *out; /* index into the dict, set after allocation */
    int out_index;
} tref;

static int cmp_tref_key(const void *a, const void *b) {
    const tref *x = a, *y = b;
    int c = strcmp(x->t->u.tensor.storage->u.storage.key, y->t->u.tensor.storage->u.storage.key);
    if (c) return c;
    return x->out_index - y->out_index;
}

static nlcl_status check_tensor(const char *path, tref *r) {
    const obj *t = r->t, *st = t->u.tensor.storage;
    const char *n = r->name;
    const char *ty = st->u.storage.type->u.glob.name;
    if (strcmp(ty, "FloatStorage") != 0)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: tensor '%.200s': dtype torch.%s is not supported "
                                     "(float32 / torch.FloatStorage only)",
                              path, n, ty);
    int nd = t->u.tensor.ndim;
    if (nd > NLCL_MAX_DIMS)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: tensor '%.200s': rank %d exceeds %d",
                              path, n, nd, NLCL_MAX_DIMS);
    int64_t shape[NLCL_MAX_DIMS], stride[NLCL_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        shape[i] = t->u.tensor.size->u.tup.items[i]->u.i;
        stride[i] = t->u.tensor.stride->u.tup.items[i]->u.i;
    }
    if (nlcl_tensor_numel(nd, shape, &r->numel) != NLCL_OK)
        return nlcl_error_prefix(NLCL_ERR_FORMAT, "%s: tensor '%.200s': ", path, n);
    /* Row-major contiguity, as torch's is_contiguous: size-1 dims are free. */
    if (r->numel > 0) {
        int64_t expect = 1;
        for (int i = nd - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expect) {
                char buf[200];
                int k = 0;
                for (int j = 0; j < nd && k < 180; j++)
                    k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%lld", j ? ", " : "",
                                  (long long)stride[j]);
                buf[k] = '\0';
                return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                      "%s: tensor '%.200s': stride (%s) is not contiguous "
                                             "(a transposed or strided view; save tensor.contiguous())",
                                      path, n, buf);
            }
            expect *= shape[i]; /* no overflow: numel fits size_t and int64 here */
        }
    }
    int64_t off = t->u.tensor.offset, sn = st->u.storage.numel;
    if (off < 0 || off > sn || r->numel > (uint64_t)(sn - off))
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: tensor '%.200s': elements [%lld, %lld) lie outside its "
                                     "storage '%s' of %lld elements",
                              path, n, (long long)off, (long long)off + (long long)r->numel,
                              st->u.storage.key, (long long)sn);
    return NLCL_OK;
}

/* Before any tensor is allocated: storage `st` must be an entry of the
 * archive declaring exactly its bytes, and no more bytes than its compressed
 * size can expand to (deflate's limit is about 1032:1; torch stores storages
 * uncompressed), so that a small file cannot make the loader allocate and
 * zero gigabytes only to fail on a missing or short storage afterwards. */
#define MAX_EXPANSION 1032u
static nlcl_status check_storage_entry(zip_t *za, const char *path, const char *root,
                                       const obj *st, const char *tensor) {
    char ename[300];
    snprintf(ename, sizeof ename, "%s/data/%s", root, st->u.storage.key);
    zip_int64_t idx = zip_name_locate(za, ename, 0);
    if (idx < 0)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: storage '%s' of tensor '%.200s' is missing (no %s "
                                     "in the archive)",
                              path, st->u.storage.key, tensor, ename);
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE) ||
        !(sb.valid & ZIP_STAT_COMP_SIZE))
        return zip_entry_error(path, ename, zip_get_error(za));
    uint64_t want = (uint64_t)st->u.storage.numel * 4;
    if (sb.size != want)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: %s holds %llu bytes, expected %llu (storage of "
                                     "tensor '%.200s': %lld float32 elements)",
                              path, ename, (unsigned long long)sb.size, (unsigned long long)want,
                              tensor, (long long)st->u.storage.numel);
    if (sb.comp_size < (UINT64_MAX - 1024) / MAX_EXPANSION &&
        sb.size > sb.comp_size * MAX_EXPANSION + 1024)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: %s claims %llu bytes from %llu compressed bytes "
                                     "(more than deflate can expand)",
                              path, ename, (unsigned long long)sb.size,
                              (unsigned long long)sb.comp_size);
    return NLCL_OK;
}

static nlcl_status load_storages(zip_t *za, const char *path, const char *root, tref *refs,
                                 int nref) {
    /* Group tensors by storage key; every storage is streamed once, in
     * chunks, each chunk's floats going to the tensors that view them. */
    qsort(refs, (size_t)nref, sizeof *refs, cmp_tref_key);
    unsigned char buf[65536];
    nlcl_status s = NLCL_OK;
    for (int g = 0; g < nref && s == NLCL_OK;) {
        const obj *st = refs[g].t->u.tensor.storage;
        const char *key = st->u.storage.key;
        int ge = g;
        while (ge < nref && strcmp(refs[ge].t->u.tensor.storage->u.storage.key, key) == 0) ge++;
        char ename[300];
        snprintf(ename, sizeof ename, "%s/data/%s", root, key);
        zip_int64_t idx = zip_name_locate(za, ename, 0);
        if (idx < 0)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: storage '%s' of tensor '%.200s' is missing (no %s "
                                         "in the archive)",
                                  path, key, refs[g].name, ename);
        uint64_t bytes = (uint64_t)st->u.storage.numel * 4;
        zip_file_t *zf;
        s = entry_open(za, idx, path, ename, bytes, &zf);
        if (s != NLCL_OK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", nlcl_error_message());
            return nlcl_error_set(s, "%s (storage of tensor '%.200s': %lld float32 elements)", why,
                                  refs[g].name, (long long)st->u.storage.numel);
        }
        uint64_t pos = 0; /* bytes consumed */
        while (s == NLCL_OK && pos < bytes) {
            size_t n = (size_t)NLCL_MIN((uint64_t)sizeof buf, bytes - pos);
            s = entry_read(zf, path, ename, buf, n, 0);
            if (s != NLCL_OK) break;
            uint64_t e0 = pos / 4, e1 = (pos + n) / 4; /* element range of this chunk */
            for (int i = g; i < ge; i++) {
                uint64_t t0 = (uint64_t)refs[i].t->u.tensor.offset, t1 = t0 + refs[i].numel;
                uint64_t a = NLCL_MAX(t0, e0), b = NLCL_MIN(t1, e1);
                float *dst = refs[i].out->data;
                for (uint64_t e = a; e < b; e++) {
                    const unsigned char *q = buf + (e - e0) * 4;
                    uint32_t w = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                                 (uint32_t)q[3] << 24;
                    memcpy(&dst[e - t0], &w, 4);
                }
            }
            pos += n;
        }
        if (s == NLCL_OK) s = entry_read(zf, path, ename, buf, 0, 1);
        zip_fclose(zf);
        g = ge;
    }
    return s;
}

static nlcl_status find_root(zip_t *za, const char *path, char *root, size_t rootcap,
                             zip_int64_t *pkl) {
    zip_int64_t n = zip_get_num_entries(za, 0);
    int found = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!nm) continue;
        const char *slash = strchr(nm, '/');
        if (!slash || slash == nm || strcmp(slash, "/data.pkl") != 0) continue;
        if (found++) {
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: archive holds more than one <root>/data.pkl", path);
        }
        size_t rl = (size_t)(slash - nm);
        if (rl >= rootcap)
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: archive root folder name is too long",
                                  path);
        memcpy(root, nm, rl);
        root[rl] = '\0';
        *pkl = i;
    }
    if (!found)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: zip archive has no <root>/data.pkl (not a PyTorch .pth "
                                     "state_dict)",
                              path);
    return NLCL_OK;
}

static nlcl_status check_byteorder(zip_t *za, const char *path, const char *root) {
    char name[300];
    snprintf(name, sizeof name, "%s/byteorder", root);
    zip_int64_t idx = zip_name_locate(za, name, 0);
    if (idx < 0) return NLCL_OK; /* older torch: always little-endian */
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return zip_entry_error(path, name, zip_get_error(za));
    if (sb.size == 6) {
        zip_file_t *zf;
        char b[6];
        NLCL_TRY(entry_open(za, idx, path, name, 6, &zf));
        nlcl_status s = entry_read(zf, path, name, b, 6, 1);
        zip_fclose(zf);
        NLCL_TRY(s);
        if (memcmp(b, "little", 6) == 0) return NLCL_OK;
    }
    return nlcl_error_set(NLCL_ERR_UNSUPPORTED, "%s: storages are not little-endian", path);
}

/* <root>/data.pkl, whole, into a malloc'd buffer (at most NLCL_PTH_MAX_PICKLE bytes). */
static nlcl_status read_pickle(zip_t *za, const char *path, const char *root, zip_int64_t pidx,
                               unsigned char **pkl, size_t *plen) {
    zip_stat_t sb;
    zip_stat_init(&sb);
    char pname[300];
    snprintf(pname, sizeof pname, "%s/data.pkl", root);
    if (zip_stat_index(za, (zip_uint64_t)pidx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return zip_entry_error(path, pname, zip_get_error(za));
    if (sb.size > NLCL_PTH_MAX_PICKLE)
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: %s is %llu bytes, over the %llu-byte limit",
                              path, pname, (unsigned long long)sb.size,
                              (unsigned long long)NLCL_PTH_MAX_PICKLE);
    *plen = (size_t)sb.size;
    *pkl = malloc(*plen ? *plen : 1);
    if (!*pkl) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    zip_file_t *zf;
    nlcl_status s = entry_open(za, pidx, path, pname, *plen, &zf);
    if (s == NLCL_OK) {
        s = entry_read(zf, path, pname, *pkl, *plen, 1);
        zip_fclose(zf);
    }
    return s;
}

/* ---- the state_dict inside what people save ---------------------------- */

/* Keys under which training scripts keep the state_dict in a checkpoint:
 * torch.save({'epoch': .., 'state_dict': model.state_dict(), 'optimizer': ..}),
 * BasicSR's {'params': ..}, {'model': ..}. */
static const char *const wrapper_keys[] = {"state_dict", "params", "model"};

static int all_tensors(const obj *d) {
    for (size_t i = 1; i < d->u.dict.n; i += 2)
        if (d->u.dict.kv[i]->kind != O_TENSOR) return 0;
    return d->u.dict.n > 0;
}

static const obj *dict_get(const obj *d, const char *key) {
    for (size_t i = 0; i + 1 < d->u.dict.n; i += 2) {
        const obj *k = d->u.dict.kv[i];
        if (k->kind == O_STR && k->u.str.len == strlen(key) && !memcmp(k->u.str.s, key, k->u.str.len))
            return d->u.dict.kv[i + 1];
    }
    return NULL;
}

/* The dict of tensors: the pickle's own, or, when that holds other things,
 * the dict under a wrapper key (one or two levels down: {'model':
 * {'state_dict': ..}}). *under names the key path ("" for none). Without a
 * wrapper the pickle's dict is taken as it is, and its first entry that is
 * not a tensor is the error (collect_tensors). */
static nlcl_status find_state_dict(const char *path, const obj *res, const obj **sd,
                                   char *under, size_t n) {
    under[0] = '\0';
    if (res->kind != O_DICT)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: the pickle holds %s, not a state_dict (a dict of tensors)",
                              path, nlcl_pickle_kind_name(res));
    const obj *d = res;
    for (int depth = 0; depth < 2 && !all_tensors(d); depth++) {
        const obj *w = NULL;
        for (size_t k = 0; !w && k < sizeof wrapper_keys / sizeof *wrapper_keys; k++) {
            w = dict_get(d, wrapper_keys[k]);
            if (w && w->kind == O_DICT) {
                size_t l = strlen(under);
                snprintf(under + l, n - l, "%s'%s'", l ? " > " : "", wrapper_keys[k]);
            } else {
                w = NULL;
            }
        }
        if (!w) break;
        d = w;
    }
    *sd = d;
    return NLCL_OK;
}

/* DataParallel and DistributedDataParallel prefix every name with "module.":
 * stripped when every name has it. Returns the prefix length (0 or 7). */
static size_t module_prefix(const obj *d) {
    for (size_t i = 0; i + 1 < d->u.dict.n; i += 2) {
        const obj *k = d->u.dict.kv[i];
        if (k->kind != O_STR || k->u.str.len <= 7 || memcmp(k->u.str.s, "module.", 7) != 0)
            return 0;
    }
    return d->u.dict.n ? 7 : 0;
}

/* The state_dict's entries as tensor references, each checked (a string key,
 * a float32 contiguous tensor inside its storage), under the size cap. */
static nlcl_status collect_tensors(const char *path, const obj *res, size_t skip, int top,
                                   tref **refs, int *nref) {
    *nref = (int)(res->u.dict.n / 2);
    *refs = calloc((size_t)*nref + 1, sizeof **refs);
    if (!*refs) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    uint64_t tensor_bytes = 0;
    for (int i = 0; i < *nref; i++) {
        const obj *k = res->u.dict.kv[2 * i], *v = res->u.dict.kv[2 * i + 1];
        char pb[100];
        if (k->kind != O_STR || k->u.str.len == 0 || strlen(k->u.str.s) != k->u.str.len)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: state_dict entry %d has a key that is not a non-empty "
                                         "string",
                                  path, i);
        if (v->kind != O_TENSOR)
            return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                  "%s: state_dict entry '%s' is %s, not a tensor%s", path,
                                  nlcl_pickle_printable(k->u.str.s, k->u.str.len, pb, sizeof pb),
                                  nlcl_pickle_kind_name(v),
                                  top ? " (nor is there a state_dict under 'state_dict', "
                                        "'params' or 'model', where checkpoints keep it)"
                                      : "");
        tref *r = &(*refs)[i];
        r->name = k->u.str.s + skip;
        r->t = v;
        r->out_index = i;
        NLCL_TRY(check_tensor(path, r));
        tensor_bytes += (uint64_t)r->numel * 4;
        if (tensor_bytes > NLCL_WEIGHTS_MAX_BYTES)
            return nlcl_error_set(NLCL_ERR_LIMIT, "%s: tensors exceed %llu bytes in total",
                                  path, (unsigned long long)NLCL_WEIGHTS_MAX_BYTES);
    }
    return NLCL_OK;
}

/* Storages: consistent declarations for a key, sizes under the cap, each an
 * entry of the archive that can hold it. Leaves refs in state_dict order. */
static nlcl_status check_storages(zip_t *za, const char *path, const char *root, tref *refs, int nref) {
    qsort(refs, (size_t)nref, sizeof *refs, cmp_tref_key);
    uint64_t storage_bytes = 0;
    nlcl_status s = NLCL_OK;
    for (int i = 0; s == NLCL_OK && i < nref; i++) {
        const obj *st = refs[i].t->u.tensor.storage;
        const obj *prev = i ? refs[i - 1].t->u.tensor.storage : NULL;
        if (prev && strcmp(prev->u.storage.key, st->u.storage.key) == 0) {
            if (prev->u.storage.numel != st->u.storage.numel ||
                strcmp(prev->u.storage.type->u.glob.name, st->u.storage.type->u.glob.name) != 0)
                s = nlcl_error_set(NLCL_ERR_FORMAT,
                                   "%s: storage '%s' is declared with different "
                                          "types or sizes",
                                   path, st->u.storage.key);
            continue;
        }
        storage_bytes += (uint64_t)st->u.storage.numel * 4; /* numel < 2^62 by check_tensor */
        if (storage_bytes > NLCL_WEIGHTS_MAX_BYTES)
            s = nlcl_error_set(NLCL_ERR_LIMIT, "%s: storages exceed %llu bytes in total",
                               path, (unsigned long long)NLCL_WEIGHTS_MAX_BYTES);
        if (s == NLCL_OK) s = check_storage_entry(za, path, root, st, refs[i].name);
    }
    /* Back to state_dict order for allocation. */
    for (int i = 0; i < nref; i++) {
        while (refs[i].out_index != i) {
            tref tmp = refs[refs[i].out_index];
            refs[refs[i].out_index] = refs[i];
            refs[i] = tmp;
        }
    }
    return s;
}

/* Allocate every tensor in d, in state_dict order. */
static nlcl_status add_tensors(const char *path, tref *refs, int nref, nlcl_tensor_dict *d) {
    for (int i = 0; i < nref; i++) {
        const obj *t = refs[i].t;
        int64_t shape[NLCL_MAX_DIMS];
        for (int j = 0; j < t->u.tensor.ndim; j++) shape[j] = t->u.tensor.size->u.tup.items[j]->u.i;
        nlcl_status s = nlcl_tensor_dict_add(d, refs[i].name, t->u.tensor.ndim, shape, NULL, NULL);
        if (s == NLCL_ERR_INVALID_ARG) /* duplicate key */
            return nlcl_error_prefix(NLCL_ERR_FORMAT, "%s: state_dict: ", path);
        if (s != NLCL_OK) return nlcl_error_prefix(s, "%s: ", path);
    }
    for (int i = 0; i < nref; i++) refs[i].out = &d->tensors[i];
    return NLCL_OK;
}

/* What was done, for nlcl info and derain -v (metadata "import"). */
static nlcl_status note_import(nlcl_tensor_dict *d, const char *under, int stripped) {
    char note[200];
    if (under[0]) {
        snprintf(note, sizeof note, "the state_dict under %s of a checkpoint (its other entries ignored)",
                 under);
        NLCL_TRY(nlcl_tensor_dict_add_note(d, note));
    }
    if (stripped) {
        snprintf(note, sizeof note, "the DataParallel prefix 'module.' stripped from %d names",
                 stripped);
        NLCL_TRY(nlcl_tensor_dict_add_note(d, note));
    }
    return NLCL_OK;
}

static nlcl_status load_archive(zip_t *za, const char *path, nlcl_tensor_dict *d) {
    char root[200];
    zip_int64_t pidx = -1;
    NLCL_TRY(find_root(za, path, root, sizeof root, &pidx));
    NLCL_TRY(check_byteorder(za, path, root));
    unsigned char *pkl = NULL;
    size_t plen = 0;
    nlcl_status s = read_pickle(za, path, root, pidx, &pkl, &plen);
    if (s != NLCL_OK) {
        free(pkl);
        return s;
    }
    unpickler u;
    nlcl_unpickler_init(&u, path, pkl, plen);
    obj *res = NULL;
    tref *refs = NULL;
    int nref = 0;
    s = nlcl_unpickle(&u, &res);
    const obj *sd = NULL;
    char under[100];
    size_t skip = 0;
    if (s == NLCL_OK) s = find_state_dict(path, res, &sd, under, sizeof under);
    if (s == NLCL_OK) skip = module_prefix(sd);
    if (s == NLCL_OK) s = collect_tensors(path, sd, skip, !under[0], &refs, &nref);
    if (s == NLCL_OK) s = check_storages(za, path, root, refs, nref);
    if (s == NLCL_OK) s = add_tensors(path, refs, nref, d);
    if (s == NLCL_OK) s = note_import(d, under, skip ? nref : 0);
    if (s == NLCL_OK) s = load_storages(za, path, root, refs, nref);
    free(refs);
    nlcl_unpickler_free(&u);
    free(pkl);
    return s;
}

nlcl_status nlcl_pth_load(const char *path, nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za) return zip_open_error(path, err);
    nlcl_status s = load_archive(za, path, d);
    zip_discard(za);
    if (s != NLCL_OK) nlcl_tensor_dict_free(d);
    return s;
}

nlcl_status nlcl_pth_load_memory(const void *buf, size_t len, const char *name,
                                 nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    if (!name) name = "<memory>";
    if (!buf && len) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "%s: NULL buffer", name);
    static const unsigned char empty[1] = {0};
    zip_error_t ze;
    zip_error_init(&ze);
    /* The source borrows buf (freep = 0); the archive owns the source once
     * zip_open_from_source succeeds, and zip_discard frees both. */
    zip_source_t *zs = zip_source_buffer_create(buf ? buf : empty, len, 0, &ze);
    if (!zs) {
        zip_error_fini(&ze);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", name);
    }
    zip_t *za = zip_open_from_source(zs, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(zs);
        zip_error_fini(&ze);
        nlcl_status s = zip_open_error(name, code);
        /* A "read error" on a memory buffer means offsets past its end. */
        return s == NLCL_ERR_IO ? nlcl_error_prefix(NLCL_ERR_FORMAT, "%s", "") : s;
    }
    zip_error_fini(&ze);
    nlcl_status s = load_archive(za, name, d);
    zip_discard(za);
    if (s == NLCL_ERR_IO) s = nlcl_error_prefix(NLCL_ERR_FORMAT, "%s", "");
    if (s != NLCL_OK) nlcl_tensor_dict_free(d);
    return s;
}
