/* Projection heads (src/nn/heads.h). */
#include "nn/heads.h"

#include <string.h>

#include "core/internal.h"
#include "nlcl/ops.h"

nlcl_status nlcl_heads_init(nlcl_heads *h, int ntaps, const int *cin, int dim) {
    memset(h, 0, sizeof *h);
    NLCL_CHECK(ntaps >= 1 && ntaps <= NLCL_HEADS_MAX && dim >= 1);
    h->ntaps = ntaps;
    h->dim = dim;
    for (int t = 0; t < ntaps; t++) {
        char name[NLCL_PARAM_NAME];
        int64_t w1[2] = {dim, cin[t]}, w2[2] = {dim, dim}, b[1] = {dim};
        h->cin[t] = cin[t];
        snprintf(name, sizeof name, "mlp_%d.0.weight", t);
        h->w1[t] = nlcl_params_declare(&h->params, name, 2, w1);
        snprintf(name, sizeof name, "mlp_%d.0.bias", t);
        nlcl_params_declare(&h->params, name, 1, b);
        snprintf(name, sizeof name, "mlp_%d.2.weight", t);
        h->w2[t] = nlcl_params_declare(&h->params, name, 2, w2);
        snprintf(name, sizeof name, "mlp_%d.2.bias", t);
        nlcl_params_declare(&h->params, name, 1, b);
    }
    nlcl_status s = nlcl_params_alloc(&h->params);
    if (s != NLCL_OK) nlcl_heads_free(h);
    return s;
}

void nlcl_heads_free(nlcl_heads *h) {
    nlcl_params_free(&h->params);
    memset(h, 0, sizeof *h);
}

void nlcl_heads_init_weights(nlcl_heads *h, nlcl_rng *r) {
    for (int t = 0; t < h->ntaps; t++) {
        int idx[2] = {h->w1[t], h->w2[t]};
        for (int k = 0; k < 2; k++) {
            const nlcl_param *w = &h->params.p[idx[k]], *b = &h->params.p[idx[k] + 1];
            nlcl_init_xavier_normal(nlcl_params_at(&h->params, idx[k]),
                                    nlcl_params_at(&h->params, idx[k] + 1), w->numel, b->numel,
                                    (size_t)w->shape[1], (size_t)w->shape[0], 0.02f, r);
        }
    }
}

void nlcl_head_record_free(nlcl_head_record *r) {
    nlcl_free(r->rows);
    nlcl_free(r->h);
    nlcl_free(r->z2);
    nlcl_free(r->norm);
    nlcl_free(r->z);
    nlcl_free(r->drows);
    nlcl_free(r->tmp);
    memset(r, 0, sizeof *r);
}

nlcl_status nlcl_head_record_init(nlcl_head_record *r, const nlcl_heads *hs, int t, int max_m) {
    memset(r, 0, sizeof *r);
    r->t = t;
    r->cap_m = max_m;
    r->cin = hs->cin[t];
    r->dim = hs->dim;
    size_t md = (size_t)max_m * hs->dim, mc = (size_t)max_m * r->cin;
    const char *what = "projection head activations";
    int ok = (r->rows = nlcl_alloc_floats(mc, what)) && (r->h = nlcl_alloc_floats(md, what)) &&
             (r->z2 = nlcl_alloc_floats(md, what)) && (r->norm = nlcl_alloc_floats((size_t)max_m, what)) &&
             (r->z = nlcl_alloc_floats(md, what)) && (r->drows = nlcl_alloc_floats(mc, what)) &&
             (r->tmp = nlcl_alloc_floats(md, what));
    if (!ok) {
        nlcl_head_record_free(r);
        return NLCL_ERR_NOMEM;
    }
    return NLCL_OK;
}

void nlcl_head_forward(const nlcl_heads *hs, nlcl_head_record *r, int m) {
    NLCL_ASSERT(m <= r->cap_m);
    const nlcl_params *ps = &hs->params;
    int t = r->t, D = r->dim;
    r->m = m;
    nlcl_linear_forward(r->rows, nlcl_params_at(ps, hs->w1[t]), nlcl_params_at(ps, hs->w1[t] + 1),
                        r->h, m, r->cin, D);
    nlcl_relu_forward(r->h, r->h, (size_t)m * D);
    nlcl_linear_forward(r->h, nlcl_params_at(ps, hs->w2[t]), nlcl_params_at(ps, hs->w2[t] + 1),
                        r->z2, m, D, D);
    nlcl_l2norm_rows_forward(r->z2, r->z, r->norm, m, D);
}

void nlcl_head_backward(nlcl_heads *hs, nlcl_head_record *r, const float *dz, int param_grads) {
    nlcl_params *ps = &hs->params;
    int t = r->t, D = r->dim, m = r->m;
    int pg = param_grads && ps->grad;
    size_t md = (size_t)m * D;
    /* dz2 -> r->tmp */
    memset(r->tmp, 0, md * sizeof(float));
    nlcl_l2norm_rows_backward(dz, r->z2, r->z, r->norm, r->tmp, m, D);
    /* dh (post-ReLU) -> r->z2 is no longer needed: reuse as dh */
    float *dh = r->z2;
    memset(dh, 0, md * sizeof(float));
    nlcl_linear_backward(r->tmp, r->h, nlcl_params_at(ps, hs->w2[t]), dh,
                         pg ? nlcl_params_grad_at(ps, hs->w2[t]) : NULL,
                         pg ? nlcl_params_grad_at(ps, hs->w2[t] + 1) : NULL, m, D, D);
    memset(r->tmp, 0, md * sizeof(float));
    nlcl_relu_backward(dh, r->h, r->tmp, md);
    memset(r->drows, 0, (size_t)m * r->cin * sizeof(float));
    nlcl_linear_backward(r->tmp, r->rows, nlcl_params_at(ps, hs->w1[t]), r->drows,
                         pg ? nlcl_params_grad_at(ps, hs->w1[t]) : NULL,
                         pg ? nlcl_params_grad_at(ps, hs->w1[t] + 1) : NULL, m, r->cin, D);
}
