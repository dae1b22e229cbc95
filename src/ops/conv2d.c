/* 2-D convolution through oneDNN 2.x (include/nlcl/conv.h).
 *
 * Each plan holds up to three oneDNN primitives (forward, backward-data,
 * backward-weights) for one shape. Memory formats are chosen by oneDNN
 * (format "any") except for activations the caller gives in the blocked or
 * NHWC layout, which are pinned so that consecutive layers hand tensors to
 * each other without reorders; bf16 plans on AMX CPUs leave the activations'
 * format to oneDNN too (its AMX kernels take NHWC only). Where the format
 * oneDNN chose differs from the caller's, a reorder (blocked <-> NHWC: exact
 * copies of runs, layout.c) and a scratch buffer are kept in the plan.
 *
 * Each plan owns the scratchpad of its convolutions (oneDNN's user scratchpad
 * mode): one buffer, as large as the largest of its passes needs (they never
 * run at the same time). oneDNN's own scratchpad for the Winograd and GEMM
 * convolutions is one buffer per thread (a thread_local in oneDNN 2.x): a
 * plan built on one thread and run on another would use the other thread's
 * buffer, and a thread that ends before the primitives it built are
 * destroyed leaves its buffer unreachable (valgrind: "definitely lost" in
 * dnnl_primitive_create, tests/test_train_dist.c at 32x32 crops).
 */
#include "nlcl/conv.h"

#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "../core/internal.h"
#include "conv_bf16.h"
#include "conv_internal.h"
#include "ops_check.h"

/* ---------------------------------------------------------------- engine */

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_engine_status = dnnl_success;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) {
    g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_engine_status == dnnl_success)
        g_engine_status = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
}

static nlcl_status get_engine(void) {
    pthread_once(&g_engine_once, engine_init);
    if (g_engine_status != dnnl_success)
        return nlcl_error_set(NLCL_ERR_INTERNAL, "oneDNN CPU engine unavailable (status %d)",
                              (int)g_engine_status);
    return NLCL_OK;
}

nlcl_status nlcl_dnnl_get(dnnl_engine_t *engine, dnnl_stream_t *stream) {
    NLCL_TRY(get_engine());
    *engine = g_engine;
    *stream = g_stream;
    return NLCL_OK;
}

/* ------------------------------------------------------------- reorders */

/* A memory object whose layout the caller uses, and optionally the format a
 * primitive wants, with the reorder between them. */
typedef struct port {
    dnnl_memory_desc_t user_md, prim_md;
    dnnl_memory_t user_mem, prim_mem;
    dnnl_primitive_t to_prim;   /* user -> prim, or NULL */
    dnnl_primitive_t to_user;   /* prim -> user, or NULL */
    void *buf;                  /* prim-format buffer when a reorder is needed */
    int needs_reorder;
    int split;                  /* user nChw<B>c, prim NHWC: split_copy instead of to_prim/to_user */
} port;

/* 1 if md is an activation (N, C, H, W) of C a multiple of the layout block
 * in format tag `tag`, with the data type of `like`. */
static int md_is(const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *like, dnnl_format_tag_t tag) {
    if (md->ndims != 4 || md->dims[1] % nlcl_layout_block() || md->data_type != like->data_type)
        return 0;
    dnnl_memory_desc_t t;
    if (dnnl_memory_desc_init_by_tag(&t, 4, md->dims, md->data_type, tag) != dnnl_success) return 0;
    return dnnl_memory_desc_equal(md, &t);
}

/* oneDNN's tag of NLCL_BLOCKED on this CPU */
static dnnl_format_tag_t blocked_tag(void) {
    return nlcl_layout_block() == 16 ? dnnl_nChw16c : dnnl_nChw8c;
}

/* A split port's exact copy (layout.c), into the primitive's NHWC
 * (to_prim) or back into the caller's blocked layout. */
static void port_split(const port *p, const void *from, void *to, int to_prim) {
    const dnnl_memory_desc_t *u = &p->user_md;
    nlcl_layout_split_copy(u->data_type == dnnl_f32 ? 4 : 2, (size_t)u->dims[0], (size_t)u->dims[1],
                           (size_t)u->dims[2] * u->dims[3], from, to, to_prim);
}

static nlcl_status port_init(port *p, const dnnl_memory_desc_t *user_md,
                             const dnnl_memory_desc_t *prim_md, int dir_to_prim, int dir_to_user) {
    memset(p, 0, sizeof *p);
    p->user_md = *user_md;
    p->prim_md = *prim_md;
    DNNL_TRY(dnnl_memory_create(&p->user_mem, &p->user_md, g_engine, DNNL_MEMORY_NONE),
             "memory_create");
    p->needs_reorder = !dnnl_memory_desc_equal(&p->user_md, &p->prim_md);
    if (!p->needs_reorder) return NLCL_OK;
    size_t sz = dnnl_memory_desc_get_size(&p->prim_md);
    p->buf = nlcl_alloc(sz, "conv2d reorder buffer");
    if (!p->buf) return NLCL_ERR_NOMEM;
    DNNL_TRY(dnnl_memory_create(&p->prim_mem, &p->prim_md, g_engine, p->buf), "memory_create");
    p->split = md_is(&p->user_md, &p->prim_md, blocked_tag()) &&
               md_is(&p->prim_md, &p->user_md, dnnl_nhwc);
    if (p->split) return NLCL_OK;
    if (dir_to_prim) {
        dnnl_primitive_desc_t pd;
        DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, &p->user_md, g_engine, &p->prim_md,
                                                    g_engine, NULL),
                 "reorder_primitive_desc_create");
        dnnl_status_t st = dnnl_primitive_create(&p->to_prim, pd);
        dnnl_primitive_desc_destroy(pd);
        DNNL_TRY(st, "primitive_create(reorder)");
    }
    if (dir_to_user) {
        dnnl_primitive_desc_t pd;
        DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, &p->prim_md, g_engine, &p->user_md,
                                                    g_engine, NULL),
                 "reorder_primitive_desc_create");
        dnnl_status_t st = dnnl_primitive_create(&p->to_user, pd);
        dnnl_primitive_desc_destroy(pd);
        DNNL_TRY(st, "primitive_create(reorder)");
    }
    return NLCL_OK;
}

static void port_free(port *p) {
    if (p->to_prim) dnnl_primitive_destroy(p->to_prim);
    if (p->to_user) dnnl_primitive_destroy(p->to_user);
    if (p->user_mem) dnnl_memory_destroy(p->user_mem);
    if (p->prim_mem) dnnl_memory_destroy(p->prim_mem);
    nlcl_free(p->buf);
    memset(p, 0, sizeof *p);
}

/* Small reorders (weights, mostly: a 32x32x3x3 conv has 37 KB) run on the
 * calling thread alone: the work takes microseconds, while a parallel region
 * costs a barrier, and a barrier can cost a scheduler time slice when another
 * process shares the cores. */
#define SMALL_REORDER_BYTES ((size_t)256 << 10)

static nlcl_status run_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    const dnnl_memory_desc_t *md = NULL;
    int small = dnnl_memory_get_memory_desc(from, &md) == dnnl_success && md &&
                dnnl_memory_desc_get_size(md) <= SMALL_REORDER_BYTES;
    int nthr = omp_get_max_threads();
    if (small && nthr > 1) omp_set_num_threads(1);
    dnnl_status_t st = dnnl_primitive_execute(r, g_stream, 2, args);
    if (small && nthr > 1) omp_set_num_threads(nthr);
    DNNL_TRY(st, "reorder");
    return NLCL_OK;
}

/* Bring caller data `ptr` into the primitive's format; returns the memory
 * object to pass to the primitive. */
static nlcl_status port_in(port *p, const void *ptr, dnnl_memory_t *out) {
    DNNL_TRY(dnnl_memory_set_data_handle(p->user_mem, (void *)ptr), "set_data_handle");
    if (!p->needs_reorder) {
        *out = p->user_mem;
        return NLCL_OK;
    }
    if (p->split)
        port_split(p, ptr, p->buf, 1);
    else
        NLCL_TRY(run_reorder(p->to_prim, p->user_mem, p->prim_mem));
    *out = p->prim_mem;
    return NLCL_OK;
}

/* Memory object a primitive writes an output into: the caller's buffer when
 * formats agree, otherwise the scratch buffer (then call port_out). */
static nlcl_status port_target(port *p, void *ptr, dnnl_memory_t *out) {
    DNNL_TRY(dnnl_memory_set_data_handle(p->user_mem, ptr), "set_data_handle");
    *out = p->needs_reorder ? p->prim_mem : p->user_mem;
    return NLCL_OK;
}

static nlcl_status port_out(port *p) {
    if (!p->needs_reorder) return NLCL_OK;
    if (p->split) {
        void *user = NULL;
        DNNL_TRY(dnnl_memory_get_data_handle(p->user_mem, &user), "get_data_handle");
        port_split(p, p->buf, user, 0);
        return NLCL_OK;
    }
    return run_reorder(p->to_user, p->prim_mem, p->user_mem);
}

/* ----------------------------------------------------------------- plan */

struct nlcl_conv2d_plan {
    nlcl_conv2d_shape s;
    conv_geom g; /* input rows and columns, vertical padding */
    int ho, wo, training;
    int free_layout; /* the pinned blocked layout had no fast kernel */
    char impl[3][96]; /* "candidate:oneDNN implementation" per pass, once built */
    dnnl_memory_desc_t src_u, dst_u, w_u, b_u; /* caller formats */
    /* forward */
    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd;
    port f_src, f_w, f_dst;
    dnnl_memory_t f_b;
    /* backward data */
    dnnl_primitive_t bd;
    port d_ddst, d_w, d_dsrc;
    float *d_acc; /* caller-layout scratch for beta = 1 */
    /* backward weights */
    dnnl_primitive_t bw;
    port g_src, g_ddst, g_dw;
    dnnl_memory_t g_db;
    float *g_dw_acc, *g_db_acc; /* OIHW / (cout) scratch before accumulation */
    /* scratchpad: one buffer, a memory object per pass that needs one */
    void *scr;
    size_t scr_size;
    dnnl_memory_t scr_mem[3];
};

int nlcl_conv2d_out_size(int in, int k, int stride, int pad) {
    if (in <= 0 || k <= 0 || stride <= 0 || pad < 0) return 0;
    long span = (long)in + 2L * pad - k;
    if (span < 0) return 0;
    return (int)(span / stride + 1);
}

static void act_md_t(dnnl_memory_desc_t *md, int n, int c, int h, int w, nlcl_layout l, int any,
                     dnnl_data_type_t dt) {
    dnnl_dims_t dims = {n, c, h, w};
    dnnl_format_tag_t tag = l == NLCL_BLOCKED ? blocked_tag() : l == NLCL_NHWC ? dnnl_nhwc : dnnl_nchw;
    if (any) tag = dnnl_format_tag_any;
    dnnl_memory_desc_init_by_tag(md, 4, dims, dt, tag);
}

const nlcl_conv2d_shape *nlcl_conv2d_plan_shape(const nlcl_conv2d_plan *plan) {
    return plan ? &plan->s : NULL;
}

void nlcl_conv2d_plan_out(const nlcl_conv2d_plan *plan, int *ho, int *wo) {
    if (ho) *ho = plan ? plan->ho : 0;
    if (wo) *wo = plan ? plan->wo : 0;
}

/* output rows of a (possibly band) geometry; 0 if the kernel does not fit */
static int out_rows(const nlcl_conv2d_shape *s, const conv_geom *g) {
    long span = (long)g->h + g->pad_top + g->pad_bottom - s->kh;
    if (g->h <= 0 || span < 0) return 0;
    return (int)(span / s->stride + 1);
}

/* 1 if oneDNN picked its slow reference implementation. */
static int is_ref_impl(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        return 0;
    return strncmp(impl, "ref", 3) == 0;
}

/* Operation descriptor of one pass. Blocked activations are pinned (so
 * layers chain without reorders); oneDNN chooses where the caller uses plain
 * NCHW, or where the pinned layout has no fast kernel (free_layout: e.g. 8
 * channels in 16-channel blocks). Weights: always oneDNN's choice. */
static dnnl_status_t op_desc(dnnl_convolution_desc_t *d, const nlcl_conv2d_shape *s,
                             const conv_geom *g, int training, conv_pass pass, conv_cand cand,
                             int free_layout) {
    dnnl_memory_desc_t src_a, dst_a, w_a, b_a;
    const int h = g->h, w = g->w;
    int ho = out_rows(s, g);
    int wo = nlcl_conv2d_out_size(w, s->kw, s->stride, s->pad);
    /* bf16: the multiplied operands in bfloat16 (src and weights forward,
     * diff_dst and weights backward-data, src and diff_dst backward-weights),
     * everything produced in float32 but forward's dst with dst_bf16 */
    const dnnl_data_type_t lo = g->bf16 ? dnnl_bf16 : dnnl_f32;
    act_md_t(&src_a, s->n, s->cin, h, w, s->src_layout, free_layout || s->src_layout == NLCL_NCHW,
             pass == CONV_BWD_DATA ? dnnl_f32 : lo);
    act_md_t(&dst_a, s->n, s->cout, ho, wo, s->dst_layout, free_layout || s->dst_layout == NLCL_NCHW,
             pass != CONV_FWD ? lo : g->dst_bf16 ? dnnl_bf16 : dnnl_f32);
    dnnl_dims_t wd = {s->cout, s->cin, s->kh, s->kw};
    dnnl_memory_desc_init_by_tag(&w_a, 4, wd, pass == CONV_BWD_WEIGHTS ? dnnl_f32 : lo,
                                 dnnl_format_tag_any);
    dnnl_dims_t bd = {s->cout};
    dnnl_memory_desc_init_by_tag(&b_a, 1, bd, dnnl_f32, dnnl_x);
    dnnl_dims_t strides = {s->stride, s->stride}, pad_l = {g->pad_top, s->pad},
                pad_r = {g->pad_bottom, s->pad};
    dnnl_alg_kind_t alg = cand == CAND_DIRECT ? dnnl_convolution_direct : dnnl_convolution_winograd;
    if (pass == CONV_FWD) {
        dnnl_prop_kind_t prop =
            training || cand == CAND_WINO ? dnnl_forward_training : dnnl_forward_inference;
        return dnnl_convolution_forward_desc_init(d, prop, alg, &src_a, &w_a, s->bias ? &b_a : NULL,
                                                  &dst_a, strides, pad_l, pad_r);
    }
    if (pass == CONV_BWD_DATA)
        return dnnl_convolution_backward_data_desc_init(d, alg, &src_a, &w_a, &dst_a, strides, pad_l,
                                                        pad_r);
    return dnnl_convolution_backward_weights_desc_init(d, alg, &src_a, &w_a, s->bias ? &b_a : NULL,
                                                       &dst_a, strides, pad_l, pad_r);
}

nlcl_status nlcl_conv_pd_create(dnnl_primitive_desc_t *pd, const nlcl_conv2d_shape *s,
                                const conv_geom *g, int training, conv_pass pass, conv_cand cand,
                                int free_layout) {
    *pd = NULL;
    NLCL_TRY(get_engine());
    dnnl_convolution_desc_t d, fd;
    dnnl_primitive_desc_t hint = NULL;
    if (op_desc(&d, s, g, training, pass, cand, free_layout) != dnnl_success)
        return NLCL_ERR_UNSUPPORTED;
    if (pass != CONV_FWD) { /* backward passes need a forward hint */
        if (op_desc(&fd, s, g, 1, CONV_FWD, cand, free_layout) != dnnl_success ||
            dnnl_primitive_desc_create(&hint, &fd, NULL, g_engine, NULL) != dnnl_success)
            return NLCL_ERR_UNSUPPORTED;
    }
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &d, attr, g_engine, hint);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (hint) dnnl_primitive_desc_destroy(hint);
    if (st != dnnl_success) {
        *pd = NULL;
        return NLCL_ERR_UNSUPPORTED;
    }
    if (is_ref_impl(*pd)) {
        dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
        return NLCL_ERR_UNSUPPORTED;
    }
    return NLCL_OK;
}

/* The primitive descriptor of a pass: the chosen candidate in the pinned
 * layout, then with free layouts (remembered in the plan), then direct. */
static nlcl_status plan_pd(nlcl_conv2d_plan *p, conv_pass pass, dnnl_primitive_desc_t *pd) {
    for (int free_layout = p->free_layout; free_layout <= 1; free_layout++) {
        conv_cand c = p->g.bf16 ? CAND_DIRECT : nlcl_conv_choose(&p->s, p->training, pass, free_layout);
        nlcl_status st = nlcl_conv_pd_create(pd, &p->s, &p->g, p->training, pass, c, free_layout);
        if (st != NLCL_OK && c != CAND_DIRECT) {
            c = CAND_DIRECT;
            st = nlcl_conv_pd_create(pd, &p->s, &p->g, p->training, pass, c, free_layout);
        }
        if (st == NLCL_OK) {
            const char *impl = NULL;
            dnnl_primitive_desc_query(*pd, dnnl_query_impl_info_str, 0, &impl);
            snprintf(p->impl[pass], sizeof p->impl[pass], "%s:%s", nlcl_conv_cand_name(c),
                     impl ? impl : "?");
            p->free_layout = free_layout;
            return NLCL_OK;
        }
    }
    return nlcl_error_set(NLCL_ERR_INTERNAL,
                          "oneDNN has no convolution for n=%d cin=%d %dx%d cout=%d k=%dx%d "
                          "stride=%d pad=%d",
                          p->s.n, p->s.cin, p->s.h, p->s.w, p->s.cout, p->s.kh, p->s.kw,
                          p->s.stride, p->s.pad);
}

/* The scratchpad of pass `pass` (primitive descriptor pd), if it needs one:
 * a memory object for the plan's buffer, grown to the size it asks for. */
static nlcl_status scratch_init(nlcl_conv2d_plan *p, conv_pass pass, const_dnnl_primitive_desc_t pd) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sz = md ? dnnl_memory_desc_get_size(md) : 0;
    if (!sz) return NLCL_OK;
    if (sz > p->scr_size) {
        nlcl_free(p->scr);
        p->scr_size = 0;
        if (!(p->scr = nlcl_alloc(sz, "conv2d scratchpad"))) return NLCL_ERR_NOMEM;
        p->scr_size = sz;
    }
    DNNL_TRY(dnnl_memory_create(&p->scr_mem[pass], md, g_engine, DNNL_MEMORY_NONE), "memory_create");
    return NLCL_OK;
}

/* Appends pass `pass`'s scratchpad to the n arguments of args; the count. */
static int scratch_arg(nlcl_conv2d_plan *p, conv_pass pass, dnnl_exec_arg_t *args, int n) {
    if (!p->scr_mem[pass] || dnnl_memory_set_data_handle(p->scr_mem[pass], p->scr) != dnnl_success)
        return n;
    args[n] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scr_mem[pass]};
    return n + 1;
}

static nlcl_status plan_build_forward(nlcl_conv2d_plan *p) {
    NLCL_TRY(plan_pd(p, CONV_FWD, &p->fwd_pd));
    DNNL_TRY(dnnl_primitive_create(&p->fwd, p->fwd_pd), "primitive_create(forward)");
    NLCL_TRY(scratch_init(p, CONV_FWD, p->fwd_pd));
    NLCL_TRY(port_init(&p->f_src, &p->src_u, dnnl_primitive_desc_query_md(p->fwd_pd, dnnl_query_src_md, 0), 1, 0));
    NLCL_TRY(port_init(&p->f_w, &p->w_u, dnnl_primitive_desc_query_md(p->fwd_pd, dnnl_query_weights_md, 0), 1, 0));
    NLCL_TRY(port_init(&p->f_dst, &p->dst_u, dnnl_primitive_desc_query_md(p->fwd_pd, dnnl_query_dst_md, 0), 0, 1));
    if (p->s.bias)
        DNNL_TRY(dnnl_memory_create(&p->f_b, &p->b_u, g_engine, DNNL_MEMORY_NONE), "memory_create");
    return NLCL_OK;
}

static nlcl_status plan_build_backward_data(nlcl_conv2d_plan *p) {
    dnnl_primitive_desc_t pd;
    NLCL_TRY(plan_pd(p, CONV_BWD_DATA, &pd));
    nlcl_status st = NLCL_OK;
    if (dnnl_primitive_create(&p->bd, pd) != dnnl_success)
        st = nlcl_error_set(NLCL_ERR_INTERNAL, "oneDNN primitive_create(backward_data) failed");
    if (st == NLCL_OK) st = scratch_init(p, CONV_BWD_DATA, pd);
    if (st == NLCL_OK)
        st = port_init(&p->d_ddst, &p->dst_u, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), 1, 0);
    if (st == NLCL_OK)
        st = port_init(&p->d_w, &p->w_u, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 1, 0);
    if (st == NLCL_OK)
        st = port_init(&p->d_dsrc, &p->src_u, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0), 0, 1);
    dnnl_primitive_desc_destroy(pd);
    return st;
}

static nlcl_status plan_build_backward_weights(nlcl_conv2d_plan *p) {
    const nlcl_conv2d_shape *s = &p->s;
    dnnl_primitive_desc_t pd;
    NLCL_TRY(plan_pd(p, CONV_BWD_WEIGHTS, &pd));
    nlcl_status st = NLCL_OK;
    if (dnnl_primitive_create(&p->bw, pd) != dnnl_success)
        st = nlcl_error_set(NLCL_ERR_INTERNAL, "oneDNN primitive_create(backward_weights) failed");
    if (st == NLCL_OK) st = scratch_init(p, CONV_BWD_WEIGHTS, pd);
    if (st == NLCL_OK)
        st = port_init(&p->g_src, &p->src_u, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 1, 0);
    if (st == NLCL_OK)
        st = port_init(&p->g_ddst, &p->dst_u, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), 1, 0);
    if (st == NLCL_OK)
        st = port_init(&p->g_dw, &p->w_u, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0), 0, 1);
    dnnl_primitive_desc_destroy(pd);
    if (st != NLCL_OK) return st;
    size_t nw = (size_t)s->cout * s->cin * s->kh * s->kw;
    p->g_dw_acc = nlcl_alloc_floats(nw, "conv2d weight-gradient scratch");
    p->g_db_acc = nlcl_alloc_floats((size_t)s->cout, "conv2d bias-gradient scratch");
    if (!p->g_dw_acc || !p->g_db_acc) return NLCL_ERR_NOMEM;
    if (s->bias)
        DNNL_TRY(dnnl_memory_create(&p->g_db, &p->b_u, g_engine, p->g_db_acc), "memory_create");
    return NLCL_OK;
}

const char *nlcl_conv2d_plan_impl(const nlcl_conv2d_plan *p, int pass) {
    if (!p || pass < 0 || pass > 2 || !p->impl[pass][0]) return NULL;
    return p->impl[pass];
}

nlcl_status nlcl_conv2d_plan_create_rows(nlcl_conv2d_plan **out, const nlcl_conv2d_shape *s,
                                         int pad_top, int pad_bottom, int training) {
    return nlcl_conv2d_plan_create_ex(out, s, pad_top, pad_bottom, training, 0, 0);
}

int nlcl_bf16_prefers_nhwc(void) {
    return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_amx;
}

int nlcl_bf16_available(void) {
    return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16;
}

nlcl_status nlcl_conv2d_plan_create_ex(nlcl_conv2d_plan **out, const nlcl_conv2d_shape *s,
                                       int pad_top, int pad_bottom, int training, int bf16,
                                       int bf16_io) {
    if (!out || !s) return nlcl_error_set(NLCL_ERR_INVALID_ARG, "conv2d plan: NULL argument");
    *out = NULL;
    if (bf16 && !nlcl_bf16_available())
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              "bfloat16 arithmetic needs a CPU with AVX512_BF16 "
                              "(this one has not, or DNNL_MAX_CPU_ISA hides them; use float32)");
    if (s->n <= 0 || s->cin <= 0 || s->h <= 0 || s->w <= 0 || s->cout <= 0 || s->kh <= 0 ||
        s->kw <= 0 || s->stride <= 0 || s->pad < 0 || pad_top < 0 || pad_bottom < 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "invalid shape n=%d cin=%d h=%d w=%d cout=%d k=%dx%d "
                              "stride=%d pad=%d (top %d, bottom %d)",
                              s->n, s->cin, s->h, s->w, s->cout, s->kh, s->kw, s->stride, s->pad,
                              pad_top, pad_bottom);
    if (!nlcl_layout_lanes(s->src_layout, 1) || !nlcl_layout_lanes(s->dst_layout, 1))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "unknown layout (source %d, destination %d)",
                              (int)s->src_layout, (int)s->dst_layout);
    if (bf16_io & ~(NLCL_BF16_SRC | NLCL_BF16_DST) || (bf16_io && !bf16) || (bf16_io && training))
        return nlcl_error_set(NLCL_ERR_INVALID_ARG, "conv2d plan: bf16 input/output flags %d with "
                              "bf16 %d, training %d", bf16_io, bf16, training);
    conv_geom g = {s->h, s->w, pad_top, pad_bottom, bf16 != 0, (bf16_io & NLCL_BF16_DST) != 0};
    int ho = out_rows(s, &g);
    int wo = nlcl_conv2d_out_size(s->w, s->kw, s->stride, s->pad);
    if (ho <= 0 || wo <= 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "%dx%d kernel does not fit a %dx%d input with padding %d",
                              s->kh, s->kw, s->h, s->w, s->pad);
    NLCL_TRY(get_engine());
    nlcl_conv2d_plan *p = nlcl_calloc(1, sizeof *p, "conv2d plan");
    if (!p) return NLCL_ERR_NOMEM;
    p->s = *s;
    p->g = g;
    p->ho = ho;
    p->wo = wo;
    p->training = training;
    p->free_layout = bf16 && nlcl_bf16_prefers_nhwc();
    act_md_t(&p->src_u, s->n, s->cin, s->h, s->w, s->src_layout, 0,
             bf16_io & NLCL_BF16_SRC ? dnnl_bf16 : dnnl_f32);
    act_md_t(&p->dst_u, s->n, s->cout, ho, wo, s->dst_layout, 0,
             bf16_io & NLCL_BF16_DST ? dnnl_bf16 : dnnl_f32);
    dnnl_dims_t wd = {s->cout, s->cin, s->kh, s->kw};
    dnnl_memory_desc_init_by_tag(&p->w_u, 4, wd, dnnl_f32, dnnl_oihw);
    dnnl_dims_t bd = {s->cout};
    dnnl_memory_desc_init_by_tag(&p->b_u, 1, bd, dnnl_f32, dnnl_x);
    nlcl_status st = plan_build_forward(p);
    if (st != NLCL_OK) {
        nlcl_conv2d_plan_free(p);
        return st;
    }
    *out = p;
    return NLCL_OK;
}

nlcl_status nlcl_conv2d_plan_create(nlcl_conv2d_plan **out, const nlcl_conv2d_shape *s,
                                    int training) {
    return nlcl_conv2d_plan_create_ex(out, s, s ? s->pad : 0, s ? s->pad : 0, training, 0, 0);
}

void nlcl_conv2d_plan_free(nlcl_conv2d_plan *p) {
    if (!p) return;
    if (p->fwd) dnnl_primitive_destroy(p->fwd);
    if (p->fwd_pd) dnnl_primitive_desc_destroy(p->fwd_pd);
    if (p->f_b) dnnl_memory_destroy(p->f_b);
    port_free(&p->f_src);
    port_free(&p->f_w);
    port_free(&p->f_dst);
    if (p->bd) dnnl_primitive_destroy(p->bd);
    port_free(&p->d_ddst);
    port_free(&p->d_w);
    port_free(&p->d_dsrc);
    nlcl_free(p->d_acc);
    if (p->bw) dnnl_primitive_destroy(p->bw);
    if (p->g_db) dnnl_memory_destroy(p->g_db);
    port_free(&p->g_src);
    port_free(&p->g_ddst);
    port_free(&p->g_dw);
    nlcl_free(p->g_dw_acc);
    nlcl_free(p->g_db_acc);
    for (int i = 0; i < 3; i++)
        if (p->scr_mem[i]) dnnl_memory_destroy(p->scr_mem[i]);
    nlcl_free(p->scr);
    nlcl_free(p);
}

/* ------------------------------------------------------------ execution */

nlcl_status nlcl_conv2d_forward(nlcl_conv2d_plan *p, const float *src, const float *w,
                                const float *b, float *dst) {
    NLCL_ARG_NONNULL(p && src && w && dst);
    NLCL_ARG_CHECK(b || !p->s.bias, "the plan has a bias but b is NULL");
    dnnl_memory_t msrc = NULL, mw = NULL, mdst = NULL;
    NLCL_TRY(port_in(&p->f_src, src, &msrc));
    NLCL_TRY(port_in(&p->f_w, w, &mw));
    NLCL_TRY(port_target(&p->f_dst, dst, &mdst));
    dnnl_exec_arg_t args[5] = {
        {DNNL_ARG_SRC, msrc}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mdst}, {DNNL_ARG_BIAS, NULL}};
    int nargs = 3;
    if (p->s.bias) {
        DNNL_TRY(dnnl_memory_set_data_handle(p->f_b, (void *)b), "set_data_handle");
        args[3].memory = p->f_b;
        nargs = 4;
    }
    nargs = scratch_arg(p, CONV_FWD, args, nargs);
    DNNL_TRY(dnnl_primitive_execute(p->fwd, g_stream, nargs, args), "convolution forward");
    return port_out(&p->f_dst);
}

static void add_inplace(float *restrict acc, const float *restrict x, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) acc[i] += x[i];
}

nlcl_status nlcl_conv2d_backward_data(nlcl_conv2d_plan *p, const float *ddst, const float *w,
                                      float *dsrc, float beta) {
    NLCL_ARG_NONNULL(p && ddst && w && dsrc);
    NLCL_ARG_CHECK(beta == 0.0f || beta == 1.0f, "beta %g is neither 0 nor 1", (double)beta);
    if (!p->bd) NLCL_TRY(plan_build_backward_data(p));
    size_t nsrc = nlcl_layout_numel(p->s.src_layout, p->s.n, p->s.cin, p->s.h, p->s.w);
    float *target = dsrc;
    if (beta != 0.0f) {
        if (!p->d_acc) {
            p->d_acc = nlcl_alloc_floats(nsrc, "conv2d backward-data scratch");
            if (!p->d_acc) return NLCL_ERR_NOMEM;
        }
        target = p->d_acc;
    }
    dnnl_memory_t mdd = NULL, mw = NULL, mds = NULL;
    NLCL_TRY(port_in(&p->d_ddst, ddst, &mdd));
    NLCL_TRY(port_in(&p->d_w, w, &mw));
    NLCL_TRY(port_target(&p->d_dsrc, target, &mds));
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_DIFF_DST, mdd}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DIFF_SRC, mds}};
    int nargs = scratch_arg(p, CONV_BWD_DATA, args, 3);
    DNNL_TRY(dnnl_primitive_execute(p->bd, g_stream, nargs, args), "convolution backward_data");
    NLCL_TRY(port_out(&p->d_dsrc));
    if (beta != 0.0f) add_inplace(dsrc, p->d_acc, nsrc);
    return NLCL_OK;
}

nlcl_status nlcl_conv2d_backward_weights(nlcl_conv2d_plan *p, const float *src,
                                         const float *ddst, float *dw, float *db) {
    NLCL_ARG_NONNULL(p);
    if (!dw && !db) return NLCL_OK;
    NLCL_ARG_NONNULL(src && ddst);
    if (!p->bw) NLCL_TRY(plan_build_backward_weights(p));
    dnnl_memory_t ms = NULL, mdd = NULL, mdw = NULL;
    NLCL_TRY(port_in(&p->g_src, src, &ms));
    NLCL_TRY(port_in(&p->g_ddst, ddst, &mdd));
    NLCL_TRY(port_target(&p->g_dw, p->g_dw_acc, &mdw));
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, ms},
                               {DNNL_ARG_DIFF_DST, mdd},
                               {DNNL_ARG_DIFF_WEIGHTS, mdw},
                               {DNNL_ARG_DIFF_BIAS, p->g_db}};
    int nargs = scratch_arg(p, CONV_BWD_WEIGHTS, args, p->s.bias ? 4 : 3);
    DNNL_TRY(dnnl_primitive_execute(p->bw, g_stream, nargs, args), "convolution backward_weights");
    NLCL_TRY(port_out(&p->g_dw));
    const nlcl_conv2d_shape *s = &p->s;
    if (dw) add_inplace(dw, p->g_dw_acc, (size_t)s->cout * s->cin * s->kh * s->kw);
    if (db && s->bias) add_inplace(db, p->g_db_acc, (size_t)s->cout);
    return NLCL_OK;
}
