/* Named float32 tensors plus string metadata (include/nlcl/weights.h), and
 * nlcl_weights_load, which picks the format by content. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "nlcl/weights.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void nlcl_tensor_dict_init(nlcl_tensor_dict *d) { memset(d, 0, sizeof *d); }

void nlcl_tensor_dict_free(nlcl_tensor_dict *d) {
    if (!d) return;
    for (int i = 0; i < d->count; i++) {
        free(d->tensors[i].name);
        nlcl_free(d->tensors[i].data);
    }
    free(d->tensors);
    for (int i = 0; i < d->meta_count; i++) {
        free(d->meta_keys[i]);
        free(d->meta_values[i]);
    }
    free(d->meta_keys);
    free(d->meta_values);
    nlcl_tensor_dict_init(d);
}

nlcl_named_tensor *nlcl_tensor_dict_find(const nlcl_tensor_dict *d, const char *name) {
    for (int i = 0; i < d->count; i++)
        if (strcmp(d->tensors[i].name, name) == 0) return &d->tensors[i];
    return NULL;
}

nlcl_status nlcl_tensor_numel(int ndim, const int64_t *shape, size_t *numel) {
    if (ndim < 0 || ndim > NLCL_MAX_DIMS)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "rank %d is outside 0..%d", ndim,
                              NLCL_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return nlcl_error_set(NLCL_ERR_INVALID_ARG, "dimension %d is negative (%lld)",
                                  i, (long long)shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX || !nlcl_size_mul(n, (size_t)shape[i], &n))
            return nlcl_error_set(NLCL_ERR_LIMIT, "element count overflows");
    }
    /* The bytes must be addressable too. */
    size_t bytes;
    if (!nlcl_size_mul(n, sizeof(float), &bytes))
        return nlcl_error_set(NLCL_ERR_LIMIT, "byte count overflows");
    *numel = n;
    return NLCL_OK;
}

nlcl_status nlcl_tensor_dict_add(nlcl_tensor_dict *d, const char *name, int ndim,
                                 const int64_t *shape, const float *data,
                                 nlcl_named_tensor **out) {
    if (out) *out = NULL;
    if (!name || !name[0])
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "empty tensor name");
    size_t numel;
    nlcl_status s = nlcl_tensor_numel(ndim, shape, &numel);
    if (s != NLCL_OK) return nlcl_error_prefix(s, "'%.200s': ", name);
    if (nlcl_tensor_dict_find(d, name))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "duplicate tensor name '%.200s'",
                              name);
    if (d->count == d->cap) {
        if (d->cap > (1 << 28))
            return nlcl_error_set(NLCL_ERR_LIMIT, "too many tensors");
        int ncap = d->cap ? 2 * d->cap : 16;
        nlcl_named_tensor *t = realloc(d->tensors, (size_t)ncap * sizeof *t);
        if (!t) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
        d->tensors = t;
        d->cap = ncap;
    }
    nlcl_named_tensor *t = &d->tensors[d->count];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    if (!t->name) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    t->data = nlcl_alloc_floats(numel, name);
    if (!t->data) {
        free(t->name);
        t->name = NULL;
        return NLCL_ERR_NOMEM; /* nlcl_alloc_floats said what */
    }
    if (data && numel) memcpy(t->data, data, numel * sizeof(float));
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    d->count++;
    if (out) *out = t;
    return NLCL_OK;
}

size_t nlcl_tensor_dict_numel(const nlcl_tensor_dict *d) {
    size_t n = 0;
    for (int i = 0; i < d->count; i++) n += d->tensors[i].numel;
    return n;
}

static int meta_index(const nlcl_tensor_dict *d, const char *key) {
    for (int i = 0; i < d->meta_count; i++)
        if (strcmp(d->meta_keys[i], key) == 0) return i;
    return -1;
}

nlcl_status nlcl_tensor_dict_set_meta(nlcl_tensor_dict *d, const char *key, const char *value) {
    if (!key || !value)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "NULL metadata key or value");
    char *v = dup_str(value);
    if (!v) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    int i = meta_index(d, key);
    if (i >= 0) {
        free(d->meta_values[i]);
        d->meta_values[i] = v;
        return NLCL_OK;
    }
    if (d->meta_count == d->meta_cap) {
        if (d->meta_cap > (1 << 24)) {
            free(v);
            return nlcl_error_set(NLCL_ERR_LIMIT, "too many metadata entries");
        }
        int ncap = d->meta_cap ? 2 * d->meta_cap : 8;
        char **k = realloc(d->meta_keys, (size_t)ncap * sizeof *k);
        if (k) d->meta_keys = k;
        char **vv = k ? realloc(d->meta_values, (size_t)ncap * sizeof *vv) : NULL;
        if (vv) d->meta_values = vv;
        if (!k || !vv) {
            free(v);
            return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
        }
        d->meta_cap = ncap;
    }
    char *k = dup_str(key);
    if (!k) {
        free(v);
        return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    }
    d->meta_keys[d->meta_count] = k;
    d->meta_values[d->meta_count] = v;
    d->meta_count++;
    return NLCL_OK;
}

nlcl_status nlcl_tensor_dict_add_note(nlcl_tensor_dict *d, const char *note) {
    const char *old = nlcl_tensor_dict_get_meta(d, "import");
    if (!old) return nlcl_tensor_dict_set_meta(d, "import", note);
    size_t n = strlen(old) + strlen(note) + 3;
    char *v = malloc(n);
    if (!v) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    snprintf(v, n, "%s; %s", old, note);
    nlcl_status s = nlcl_tensor_dict_set_meta(d, "import", v);
    free(v);
    return s;
}

const char *nlcl_tensor_dict_get_meta(const nlcl_tensor_dict *d, const char *key) {
    int i = meta_index(d, key);
    return i >= 0 ? d->meta_values[i] : NULL;
}

int nlcl_tensor_dict_all_finite(const nlcl_tensor_dict *d, const char **bad_name) {
    if (bad_name) *bad_name = NULL;
    for (int i = 0; i < d->count; i++) {
        const nlcl_named_tensor *t = &d->tensors[i];
        for (size_t k = 0; k < t->numel; k++)
            if (!isfinite(t->data[k])) {
                if (bad_name) *bad_name = t->name;
                return 0;
            }
    }
    return 1;
}

/* 1 if the last 65557 bytes of a zip file (the end-of-central-directory
 * record, 22 bytes, and at most 65535 bytes of comment) hold its signature:
 * a truncated archive lacks it. */
static int zip_has_eocd(int fd, uint64_t size) {
    size_t n = size < 65557 ? (size_t)size : 65557;
    if (n < 22) return 0;
    unsigned char *buf = malloc(n);
    if (!buf) return 1; /* cannot tell: let the zip reader judge */
    int found = 0;
    if (pread(fd, buf, n, (off_t)(size - n)) == (ssize_t)n)
        for (size_t i = n - 22 + 1; !found && i-- > 0;) found = memcmp(buf + i, "PK\5\6", 4) == 0;
    free(buf);
    return found;
}

nlcl_status nlcl_weights_load(const char *path, nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    int fd;
    uint64_t size;
    NLCL_TRY(nlcl_open_regular(path, &fd, &size));
    unsigned char head[9] = {0};
    ssize_t n = size ? pread(fd, head, sizeof head, 0) : 0;
    int err = n < 0 ? errno : 0;
    int eocd = n >= 4 && memcmp(head, "PK\3\4", 4) == 0 ? zip_has_eocd(fd, size) : 0;
    close(fd);
    if (err) return nlcl_error_set(NLCL_ERR_IO, "%s: %s", path, strerror(err));
    if (size == 0)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: file is 0 bytes (an empty file, not a model)", path);
    if (n >= 4 && memcmp(head, "PK\3\4", 4) == 0) {
        if (!eocd)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  "%s: truncated or corrupt zip archive (no end of "
                                  "central directory; a PyTorch .pth file is a zip archive)",
                                  path);
        return nlcl_pth_load(path, d);
    }
    /* torch.save(..., _use_new_zipfile_serialization=False) and torch < 1.6
     * start with the pickled magic number 0x1950a86a20f9469cfc6c (PROTO 2,
     * LONG1 10 bytes); as a safetensors header length these bytes would be
     * ~177 MB, beyond NLCL_SAFETENSORS_MAX_HEADER, so nothing valid is lost. */
    if (n >= 4 && memcmp(head, "\x80\x02\x8a\x0a", 4) == 0)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "%s: legacy (pre-1.6) PyTorch serialization is not "
                              "supported; re-save it with torch.save in PyTorch >= 1.6",
                              path);
    /* safetensors: an 8-byte header length, then a JSON object. Anything
     * else (an image passed as a model, a text file) gets a plain answer
     * rather than an absurd header length. A '{' with a length beyond the
     * end is left to the reader: a truncated safetensors file. */
    uint64_t hlen = 0;
    for (int i = 7; n >= 8 && i >= 0; i--) hlen = hlen << 8 | head[i];
    if (n < 9 || head[8] != '{' || hlen < 2 || hlen > NLCL_SAFETENSORS_MAX_HEADER)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              "%s: not a safetensors or PyTorch .pth file", path);
    return nlcl_safetensors_load(path, d);
}
