/* ONNX export of a model (include/nlcl/onnx.h), through protobuf-c and the
 * C code protoc-c generates at build time from Debian's onnx.proto
 * (/usr/include/onnx/onnx.proto of libonnx-dev; CMakeLists.txt). */
#include "nlcl/onnx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/afile.h"
#include "core/internal.h"
#include "nlcl/files.h"
#include "nlcl/version.h"
#include "nn/generator.h"
#include "nn/model_internal.h"
#include "onnx.pb-c.h"

/* Every allocation of one export, freed together. */
typedef struct pool {
    void **p;
    size_t n, cap;
    int oom;
} pool;

static void *pool_alloc(pool *P, size_t bytes) {
    if (P->oom) return NULL;
    if (P->n == P->cap) {
        size_t cap = P->cap ? 2 * P->cap : 256;
        void **np = realloc(P->p, cap * sizeof *np);
        if (!np) {
            P->oom = 1;
            return NULL;
        }
        P->p = np, P->cap = cap;
    }
    void *q = calloc(1, bytes ? bytes : 1);
    if (!q) {
        P->oom = 1;
        return NULL;
    }
    return P->p[P->n++] = q;
}

static char *pool_str(pool *P, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? pool_alloc(P, (size_t)n + 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void pool_free(pool *P) {
    for (size_t i = 0; i < P->n; i++) free(P->p[i]);
    free(P->p);
}

/* The graph under construction: nodes and initializers (arrays sized by the
 * caller), and a counter for intermediate tensor names. */
typedef struct builder {
    pool *P;
    Onnx__NodeProto **node;
    size_t n_node;
    Onnx__TensorProto **init;
    size_t n_init;
    int next;
} builder;

static Onnx__AttributeProto *attr_ints(pool *P, const char *name, const int64_t *v, size_t n) {
    Onnx__AttributeProto *a = pool_alloc(P, sizeof *a);
    int64_t *ints = pool_alloc(P, n * sizeof *ints);
    if (!a || !ints) return NULL;
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    memcpy(ints, v, n * sizeof *ints);
    a->n_ints = n, a->ints = ints;
    return a;
}

static Onnx__AttributeProto *attr_float(pool *P, const char *name, float v) {
    Onnx__AttributeProto *a = pool_alloc(P, sizeof *a);
    if (!a) return NULL;
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1, a->f = v;
    return a;
}

/* Append a node op(in...) with the given attributes; returns its output's
 * name (`out`, or a fresh "t<k>"), NULL when out of memory. */
static char *node(builder *b, const char *op, const char *out, const char *const *in, size_t nin,
                  Onnx__AttributeProto **attrs, size_t nattr) {
    pool *P = b->P;
    Onnx__NodeProto *n = pool_alloc(P, sizeof *n);
    char **ins = pool_alloc(P, nin * sizeof *ins), **outs = pool_alloc(P, sizeof *outs);
    Onnx__AttributeProto **as = pool_alloc(P, (nattr ? nattr : 1) * sizeof *as);
    char *name = out ? pool_str(P, "%s", out) : pool_str(P, "t%d", b->next++);
    if (!n || !ins || !outs || !as || !name) return NULL;
    *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    for (size_t i = 0; i < nin; i++)
        if (!in[i]) return NULL; /* an earlier node failed */
    memcpy(ins, in, nin * sizeof *ins);
    for (size_t i = 0; i < nattr; i++)
        if (!(as[i] = attrs[i])) return NULL;
    outs[0] = name;
    n->op_type = (char *)op;
    n->name = pool_str(P, "%s_%zu", op, b->n_node);
    n->n_input = nin, n->input = ins;
    n->n_output = 1, n->output = outs;
    n->n_attribute = nattr, n->attribute = as;
    b->node[b->n_node++] = n;
    return name;
}

/* A float32 initializer over `data` (not copied; raw little-endian bytes). */
static const char *initializer(builder *b, const char *name, const int64_t *dims, int ndim,
                               const float *data, size_t numel) {
    pool *P = b->P;
    Onnx__TensorProto *t = pool_alloc(P, sizeof *t);
    int64_t *d = pool_alloc(P, (size_t)(ndim ? ndim : 1) * sizeof *d);
    char *nm = pool_str(P, "%s", name);
    if (!t || !d || !nm) return NULL;
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    if (ndim > 0) memcpy(d, dims, (size_t)ndim * sizeof *d);
    t->n_dims = (size_t)ndim, t->dims = d;
    t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = nm;
    t->has_raw_data = 1;
    t->raw_data.len = numel * sizeof(float);
    t->raw_data.data = (uint8_t *)data;
    b->init[b->n_init++] = t;
    return nm;
}

/* Conv 3x3 (pads k/2) with parameter table entry i (weight) and i + 1 (bias). */
static char *conv(builder *b, const nlcl_params *ps, int i, const char *x) {
    const nlcl_param *w = &ps->p[i], *bias = &ps->p[i + 1];
    const char *wn = initializer(b, w->name, w->shape, w->ndim, nlcl_params_at(ps, i), w->numel);
    const char *bn = initializer(b, bias->name, bias->shape, bias->ndim, nlcl_params_at(ps, i + 1),
                                 bias->numel);
    int64_t k[2] = {w->shape[2], w->shape[3]};
    int64_t pads[4] = {k[0] / 2, k[1] / 2, k[0] / 2, k[1] / 2}, strides[2] = {1, 1};
    Onnx__AttributeProto *a[3] = {attr_ints(b->P, "kernel_shape", k, 2),
                                  attr_ints(b->P, "pads", pads, 4),
                                  attr_ints(b->P, "strides", strides, 2)};
    const char *in[3] = {x, wn, bn};
    return node(b, "Conv", NULL, in, 3, a, 3);
}

static char *instance_norm(builder *b, const char *x, const char *scale, const char *bias) {
    Onnx__AttributeProto *a[1] = {attr_float(b->P, "epsilon", 1e-5f)};
    const char *in[3] = {x, scale, bias};
    return node(b, "InstanceNormalization", NULL, in, 3, a, 1);
}

static char *unary(builder *b, const char *op, const char *x) {
    const char *in[1] = {x};
    return node(b, op, NULL, in, 1, NULL, 0);
}

static char *binary(builder *b, const char *op, const char *out, const char *x, const char *y) {
    const char *in[2] = {x, y};
    return node(b, op, out, in, 2, NULL, 0);
}

/* The generator's forward pass (src/nn/generator.c, nlcl_gen_infer_run). */
static void build_graph(builder *b, const nlcl_gen *g, const float *ones, const float *zeros,
                        const float *clip) {
    const nlcl_params *ps = &g->params;
    const int K = g->cfg.blocks;
    int64_t C = g->cfg.channels;
    const char *scale = initializer(b, "nlcl.instance_norm.scale", &C, 1, ones, (size_t)C);
    const char *shift = initializer(b, "nlcl.instance_norm.bias", &C, 1, zeros, (size_t)C);
    const char *lo = initializer(b, "nlcl.clip.min", NULL, 0, clip, 1);
    const char *hi = initializer(b, "nlcl.clip.max", NULL, 0, clip + 1, 1);
    char *x = conv(b, ps, g->conv_in, "input");
    for (int i = 0; i < K; i++) {
        char *t = unary(b, "Relu", instance_norm(b, conv(b, ps, g->block[i][0], x), scale, shift));
        char *u = instance_norm(b, conv(b, ps, g->block[i][1], t), scale, shift);
        x = binary(b, "Add", NULL, x, u);
    }
    char *t = unary(b, "Relu", instance_norm(b, conv(b, ps, g->sandwich[0], x), scale, shift));
    char *y = conv(b, ps, g->conv_out, conv(b, ps, g->sandwich[1], t));
    if (g->cfg.residual) y = binary(b, "Add", NULL, y, "input");
    const char *in[3] = {y, lo, hi};
    node(b, "Clip", "output", in, 3, NULL, 0);
}

/* (N, 3, H, W) float32 with N, H and W dynamic */
static Onnx__ValueInfoProto *image_value(pool *P, const char *name) {
    Onnx__ValueInfoProto *v = pool_alloc(P, sizeof *v);
    Onnx__TypeProto *ty = pool_alloc(P, sizeof *ty);
    Onnx__TypeProto__Tensor *tt = pool_alloc(P, sizeof *tt);
    Onnx__TensorShapeProto *sh = pool_alloc(P, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = pool_alloc(P, 4 * sizeof *dims);
    if (!v || !ty || !tt || !sh || !dims) return NULL;
    static const char *const params[4] = {"batch", NULL, "height", "width"};
    for (int i = 0; i < 4; i++) {
        Onnx__TensorShapeProto__Dimension *d = dims[i] = pool_alloc(P, sizeof *d);
        if (!d) return NULL;
        *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (params[i]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)params[i];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = 3;
        }
    }
    *sh = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    sh->n_dim = 4, sh->dim = dims;
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = sh;
    *ty = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    ty->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, ty->tensor_type = tt;
    *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    v->name = (char *)name, v->type = ty;
    return v;
}

/* s as valid UTF-8 (protobuf strings must be): bytes outside UTF-8 as \xNN, as
 * in safetensors metadata (nlcl_utf8_escape, include/nlcl/files.h). */
static char *pool_utf8(pool *P, const char *s) {
    char *e = nlcl_utf8_escape(s);
    if (!e) {
        P->oom = 1;
        return NULL;
    }
    char *q = pool_str(P, "%s", e);
    free(e);
    return q;
}

/* The model's metadata plus nlcl_residual/channels/blocks. */
static Onnx__StringStringEntryProto **metadata(pool *P, const nlcl_model *m, size_t *n) {
    int nm = nlcl_model_meta_count(m);
    Onnx__StringStringEntryProto **e = pool_alloc(P, (size_t)(nm + 3) * sizeof *e);
    if (!e) return NULL;
    for (int i = 0; i < nm + 3; i++) {
        if (!(e[i] = pool_alloc(P, sizeof *e[i]))) return NULL;
        *e[i] = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        if (i < nm) {
            const char *key = nlcl_model_meta_key(m, i);
            e[i]->key = pool_utf8(P, key);
            e[i]->value = pool_utf8(P, nlcl_model_meta(m, key));
        }
    }
    e[nm]->key = "nlcl_residual";
    e[nm]->value = nlcl_model_residual(m) ? "1" : "0";
    e[nm + 1]->key = "nlcl_channels";
    e[nm + 1]->value = pool_str(P, "%d", nlcl_model_channels(m));
    e[nm + 2]->key = "nlcl_blocks";
    e[nm + 2]->value = pool_str(P, "%d", nlcl_model_blocks(m));
    *n = (size_t)nm + 3;
    return P->oom ? NULL : e;
}

static nlcl_status write_file(const char *path, const Onnx__ModelProto *model) {
    size_t len = protobuf_c_message_get_packed_size(&model->base);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, len);
    protobuf_c_message_pack(&model->base, buf);
    nlcl_afile f;
    nlcl_status s = nlcl_afile_open(&f, path);
    if (s == NLCL_OK) {
        s = nlcl_afile_write(&f, buf, len);
        if (s == NLCL_OK) s = nlcl_afile_commit(&f);
        else nlcl_afile_abort(&f);
    }
    free(buf);
    return s;
}

static const char doc[] =
    "NLCL deraining generator exported by nlcl. input: float32 (N, 3, H, W) RGB, "
    "x = u8 / 255 * 2 - 1; output: float32 (N, 3, H, W) in [-1, 1], u8 = round((y + 1) / 2 * 255).";

nlcl_status nlcl_model_save_onnx(const nlcl_model *m, const char *path) {
    if (!m || !path) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "nlcl_model_save_onnx: NULL argument");
    const nlcl_gen *g = nlcl_model_generator(m);
    const int K = g->cfg.blocks, C = g->cfg.channels;
    pool P = {0};
    /* nodes: 2K + 4 Conv, 2K + 1 InstanceNormalization, K + 1 Relu, K + 1 Add, Clip */
    size_t max_nodes = (size_t)(6 * K + 8), max_inits = (size_t)(2 * (2 * K + 4) + 4);
    builder b = {&P, pool_alloc(&P, max_nodes * sizeof(void *)), 0,
                 pool_alloc(&P, max_inits * sizeof(void *)), 0, 0};
    float *ones = pool_alloc(&P, (size_t)C * sizeof(float));
    float *zeros = pool_alloc(&P, (size_t)C * sizeof(float)); /* calloc'ed */
    static const float clip[2] = {-1.0f, 1.0f};
    for (int i = 0; ones && i < C; i++) ones[i] = 1.0f;
    if (b.node && b.init && ones && zeros) build_graph(&b, g, ones, zeros, clip);
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__ValueInfoProto *in = image_value(&P, "input"), *out = image_value(&P, "output");
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = {&opset};
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    model.metadata_props = metadata(&P, m, &model.n_metadata_props);
    if (P.oom || !in || !out || b.n_node == 0 ||
        strcmp(b.node[b.n_node - 1]->output[0], "output") != 0) {
        pool_free(&P);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    }
    graph.name = "nlcl_generator";
    graph.doc_string = (char *)doc;
    graph.n_node = b.n_node, graph.node = b.node;
    graph.n_initializer = b.n_init, graph.initializer = b.init;
    graph.n_input = 1, graph.input = &in;
    graph.n_output = 1, graph.output = &out;
    opset.domain = "";
    opset.has_version = 1, opset.version = NLCL_ONNX_OPSET;
    model.has_ir_version = 1, model.ir_version = 7;
    model.n_opset_import = 1, model.opset_import = opsets;
    model.producer_name = "nlcl";
    model.producer_version = (char *)nlcl_version();
    model.doc_string = (char *)doc;
    model.graph = &graph;
    nlcl_status s = write_file(path, &model);
    pool_free(&P);
    return s;
}
