/* Parameter tables (src/nn/params.h). */
#include "params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int nlcl_params_declare(nlcl_params *ps, const char *name, int ndim, const int64_t *shape) {
    if (ps->err != NLCL_OK) return -1;
    if (!(ndim >= 1 && ndim <= 4 && strlen(name) < NLCL_PARAM_NAME && ps->data == NULL)) {
        ps->err = NLCL_ERR_INTERNAL; /* a library bug: the tables are nlcl's own */
        return -1;
    }
    if (ps->count == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 32;
        nlcl_param *p = realloc(ps->p, sizeof(nlcl_param) * (size_t)cap);
        if (!p) {
            ps->err = NLCL_ERR_NOMEM;
            return -1;
        }
        ps->p = p;
        ps->cap = cap;
    }
    nlcl_param *q = &ps->p[ps->count];
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    q->ndim = ndim;
    q->numel = 1;
    for (int i = 0; i < ndim; i++) {
        q->shape[i] = shape[i];
        q->numel *= (size_t)shape[i];
    }
    /* keep every tensor 64-byte aligned inside the block */
    q->offset = (ps->total + 15) & ~(size_t)15;
    ps->total = q->offset + q->numel;
    return ps->count++;
}

nlcl_status nlcl_params_alloc(nlcl_params *ps) {
    if (ps->err == NLCL_ERR_NOMEM)
        return nlcl_error_set(NLCL_ERR_NOMEM, "parameter table: out of memory");
    if (ps->err != NLCL_OK)
        return nlcl_error_set(ps->err, "internal error: a parameter declared with a bad name or "
                                       "shape, or after allocation (nlcl_params_declare)");
    ps->data = nlcl_alloc_floats(ps->total, "parameters");
    return ps->data ? NLCL_OK : NLCL_ERR_NOMEM;
}

nlcl_status nlcl_params_alloc_training(nlcl_params *ps) {
    if (!ps->grad) ps->grad = nlcl_alloc_floats(ps->total, "gradients");
    if (!ps->adam_m) ps->adam_m = nlcl_alloc_floats(ps->total, "Adam first moments");
    if (!ps->adam_v) ps->adam_v = nlcl_alloc_floats(ps->total, "Adam second moments");
    return ps->grad && ps->adam_m && ps->adam_v ? NLCL_OK : NLCL_ERR_NOMEM;
}

void nlcl_params_free(nlcl_params *ps) {
    free(ps->p);
    nlcl_free(ps->data);
    nlcl_free(ps->grad);
    nlcl_free(ps->adam_m);
    nlcl_free(ps->adam_v);
    memset(ps, 0, sizeof *ps);
}

int nlcl_params_find(const nlcl_params *ps, const char *name) {
    for (int i = 0; i < ps->count; i++)
        if (!strcmp(ps->p[i].name, name)) return i;
    return -1;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

nlcl_status nlcl_params_block_from_dict(const nlcl_params *ps, float *block, const char *prefix,
                                        const nlcl_tensor_dict *d, const char *what) {
    char key[NLCL_PARAM_NAME + 64];
    for (int i = 0; i < ps->count; i++) {
        const nlcl_param *q = &ps->p[i];
        snprintf(key, sizeof key, "%s%s", prefix, q->name);
        const nlcl_named_tensor *t = nlcl_tensor_dict_find(d, key);
        if (!t) return nlcl_error_set(NLCL_ERR_FORMAT, "%s: missing tensor '%s'", what, key);
        int same = t->ndim == q->ndim;
        for (int k = 0; same && k < q->ndim; k++) same = t->shape[k] == q->shape[k];
        if (!same) {
            char a[96], b[96];
            shape_str(a, sizeof a, t->ndim, t->shape);
            shape_str(b, sizeof b, q->ndim, q->shape);
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s",
                                  what, key, a, b);
        }
        memcpy(block + q->offset, t->data, q->numel * sizeof(float));
    }
    return NLCL_OK;
}

nlcl_status nlcl_params_from_dict(nlcl_params *ps, const nlcl_tensor_dict *d, const char *what) {
    for (int i = 0; i < d->count; i++)
        if (nlcl_params_find(ps, d->tensors[i].name) < 0)
            return nlcl_error_set(NLCL_ERR_FORMAT, "%s: unexpected tensor '%s'", what,
                                  d->tensors[i].name);
    return nlcl_params_block_from_dict(ps, ps->data, "", d, what);
}

nlcl_status nlcl_params_block_to_dict(const nlcl_params *ps, const float *block,
                                      const char *prefix, nlcl_tensor_dict *d) {
    char key[NLCL_PARAM_NAME + 64];
    for (int i = 0; i < ps->count; i++) {
        const nlcl_param *q = &ps->p[i];
        snprintf(key, sizeof key, "%s%s", prefix, q->name);
        NLCL_TRY(nlcl_tensor_dict_add(d, key, q->ndim, q->shape, block + q->offset, NULL));
    }
    return NLCL_OK;
}

nlcl_status nlcl_params_to_dict(const nlcl_params *ps, const char *prefix, nlcl_tensor_dict *d) {
    return nlcl_params_block_to_dict(ps, ps->data, prefix, d);
}

void nlcl_init_torch_default(float *w, float *b, size_t nw, size_t nb, size_t fan_in, nlcl_rng *r) {
    double bound = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < nw; i++) w[i] = (float)((2.0 * nlcl_rng_uniform(r) - 1.0) * bound);
    for (size_t i = 0; i < nb; i++) b[i] = (float)((2.0 * nlcl_rng_uniform(r) - 1.0) * bound);
}

void nlcl_init_xavier_normal(float *w, float *b, size_t nw, size_t nb, size_t fan_in,
                             size_t fan_out, float gain, nlcl_rng *r) {
    double std = gain * sqrt(2.0 / (double)(fan_in + fan_out));
    for (size_t i = 0; i < nw; i++) w[i] = (float)(std * nlcl_rng_normal(r));
    for (size_t i = 0; i < nb; i++) b[i] = 0.0f;
}
