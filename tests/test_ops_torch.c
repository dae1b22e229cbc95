/* The ops of include/nlcl/ops.h (and conv2d) against PyTorch 1.13: forward
 * outputs and backward gradients from tests/fixtures/ops/, written by
 * tests/fixtures/make_op_fixtures.py (float32, CPU). No torch needed here.
 *
 * Every layout-aware op runs in both layouts (NCHW and blocked). The error
 * reported is max|ours - torch| / max|torch| over the tensor; the tolerance
 * is 2e-6 for the ops of ops.h (1e-6 for the losses, 1e-5 for oneDNN's
 * convolution, whose kernels depend on the CPU), and pure data movement
 * (ReLU, padding, gathering) must match exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/conv.h"
#include "nlcl/ops.h"

#define DIR "tests/fixtures/ops/"

static double worst = 0;
static char worst_what[96] = "";

/* Load <name>.bin and check it holds `want` floats; NULL (and a failure) if not. */
static float *load(const char *name, size_t want) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s.bin", name);
    size_t n = 0;
    float *x = test_read_f32(path, &n);
    CHECK_MSG(x != NULL, "fixture %s missing (run tests/fixtures/make_op_fixtures.py)", path);
    if (!x) return NULL;
    CHECK_MSG(n == want, "fixture %s: %zu values, expected %zu", path, n, want);
    if (n != want) {
        free(x);
        return NULL;
    }
    return x;
}

/* The fixture "<tag>_<part>". */
static float *load_part(const char *tag, const char *part, size_t want) {
    char name[128];
    snprintf(name, sizeof name, "%s_%s", tag, part);
    return load(name, want);
}

static double rel_err(const float *got, const float *ref, size_t n) {
    double s = 1e-30, m = 0;
    for (size_t i = 0; i < n; i++) s = fmax(s, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= m)) m = d; /* NaN -> stays NaN-ish failure below */
    }
    return m / s;
}

static void compare(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double e = rel_err(got, ref, n);
    CHECK_MSG(e <= tol, "%s: error %.3g > %.1g", what, e, tol);
    printf("  %-46s %.2e\n", what, e);
    if (e > worst) {
        worst = e;
        snprintf(worst_what, sizeof worst_what, "%s", what);
    }
}

static const char *lname(nlcl_layout l) { return l == NLCL_BLOCKED ? "blocked" : "nchw"; }

static float *conv_to(const float *src, nlcl_layout l, int n, int c, int h, int w) {
    float *d = calloc(nlcl_layout_numel(l, n, c, h, w), sizeof(float));
    nlcl_layout_convert(src, NLCL_NCHW, d, l, n, c, h, w);
    return d;
}

static float *conv_from(const float *src, nlcl_layout l, int n, int c, int h, int w) {
    float *d = calloc((size_t)n * c * h * w, sizeof(float));
    nlcl_layout_convert(src, l, d, NLCL_NCHW, n, c, h, w);
    return d;
}

/* ------------------------------------------------------ instance norm */

static void t_instance_norm(const char *tag, int n, int c, int h, int w, int relu, int res) {
    size_t cnt = (size_t)n * c * h * w;
    float *x = load_part(tag, "x", cnt);
    float *r = res ? load_part(tag, "res", cnt) : NULL;
    float *dy = load_part(tag, "dy", cnt);
    float *y = load_part(tag, "y", cnt);
    float *dx = load_part(tag, "dx", cnt);
    if (!x || (res && !r) || !dy || !y || !dx) return;
    for (int li = 0; li < 2; li++) {
        nlcl_layout l = li ? NLCL_BLOCKED : NLCL_NCHW;
        size_t tot = nlcl_layout_numel(l, n, c, h, w);
        float *xl = conv_to(x, l, n, c, h, w), *rl = res ? conv_to(r, l, n, c, h, w) : NULL;
        float *dyl = conv_to(dy, l, n, c, h, w), *yl = calloc(tot, 4), *dxl = calloc(tot, 4);
        float *mean = calloc((size_t)n * c, 4), *rstd = calloc((size_t)n * c, 4);
        nlcl_instance_norm_forward(xl, rl, yl, mean, rstd, n, c, h, w, l, 1e-5f, relu);
        nlcl_instance_norm_backward(dyl, xl, mean, rstd, dxl, n, c, h, w, l, relu);
        float *yo = conv_from(yl, l, n, c, h, w), *dxo = conv_from(dxl, l, n, c, h, w);
        char what[96];
        snprintf(what, sizeof what, "%s forward %s", tag, lname(l));
        compare(what, yo, y, cnt, 2e-6);
        snprintf(what, sizeof what, "%s backward %s", tag, lname(l));
        compare(what, dxo, dx, cnt, 2e-6);
        free(xl);
        free(rl);
        free(dyl);
        free(yl);
        free(dxl);
        free(mean);
        free(rstd);
        free(yo);
        free(dxo);
    }
    free(x);
    free(r);
    free(dy);
    free(y);
    free(dx);
}

/* -------------------------------------------------------- activations */

static void t_activation(const char *tag, int kind, size_t cnt) {
    float *x = load_part(tag, "x", cnt);
    float *dy = load_part(tag, "dy", cnt);
    float *y = load_part(tag, "y", cnt);
    float *dx = load_part(tag, "dx", cnt);
    if (!x || !dy || !y || !dx) return;
    float *yo = calloc(cnt, 4), *dxo = calloc(cnt, 4);
    if (kind == 0) nlcl_relu_forward(x, yo, cnt);
    if (kind == 1) nlcl_leaky_relu_forward(x, yo, cnt, 0.2f);
    if (kind == 2) nlcl_tanh_forward(x, yo, cnt);
    if (kind == 0) nlcl_relu_backward(dy, yo, dxo, cnt);
    if (kind == 1) nlcl_leaky_relu_backward(dy, yo, dxo, cnt, 0.2f);
    if (kind == 2) nlcl_tanh_backward(dy, yo, dxo, cnt);
    char what[64];
    double tol = kind == 2 ? 1e-6 : 0.0; /* tanh: libm vs PyTorch's vectorised tanh */
    snprintf(what, sizeof what, "%s forward", tag);
    compare(what, yo, y, cnt, tol);
    snprintf(what, sizeof what, "%s backward", tag);
    compare(what, dxo, dx, cnt, tol ? 2e-6 : 0.0);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(yo);
    free(dxo);
}

/* ------------------------------------------------------------ spatial */

static void t_spatial(const char *tag, int kind, int n, int c, int h, int w, int p) {
    int ho = kind == 0 ? h + 2 * p : (h - 1) / 2 + 1, wo = kind == 0 ? w + 2 * p : (w - 1) / 2 + 1;
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * ho * wo;
    float *x = load_part(tag, "x", nx);
    float *dy = load_part(tag, "dy", ny);
    float *y = load_part(tag, "y", ny);
    float *dx = load_part(tag, "dx", nx);
    if (!x || !dy || !y || !dx) return;
    for (int li = 0; li < 2; li++) {
        nlcl_layout l = li ? NLCL_BLOCKED : NLCL_NCHW;
        float *xl = conv_to(x, l, n, c, h, w), *dyl = conv_to(dy, l, n, c, ho, wo);
        float *yl = calloc(nlcl_layout_numel(l, n, c, ho, wo), 4);
        float *dxl = calloc(nlcl_layout_numel(l, n, c, h, w), 4);
        if (kind == 0) {
            nlcl_reflect_pad_forward(xl, yl, n, c, h, w, p, l);
            nlcl_reflect_pad_backward(dyl, dxl, n, c, h, w, p, l);
        } else {
            nlcl_blur_downsample_forward(xl, yl, n, c, h, w, l);
            nlcl_blur_downsample_backward(dyl, dxl, n, c, h, w, l);
        }
        float *yo = conv_from(yl, l, n, c, ho, wo), *dxo = conv_from(dxl, l, n, c, h, w);
        char what[96];
        snprintf(what, sizeof what, "%s forward %s", tag, lname(l));
        compare(what, yo, y, ny, kind == 0 ? 0.0 : 1e-6);
        snprintf(what, sizeof what, "%s backward %s", tag, lname(l));
        compare(what, dxo, dx, nx, 1e-6);
        free(xl);
        free(dyl);
        free(yl);
        free(dxl);
        free(yo);
        free(dxo);
    }
    free(x);
    free(dy);
    free(y);
    free(dx);
}

/* -------------------------------------------------------------- linear */

static void t_linear(void) {
    const int m = 37, nin = 20, nout = 13;
    float *x = load("lin_x", (size_t)m * nin), *W = load("lin_w", (size_t)nout * nin);
    float *b = load("lin_b", nout), *dy = load("lin_dy", (size_t)m * nout);
    float *y = load("lin_y", (size_t)m * nout), *dx = load("lin_dx", (size_t)m * nin);
    float *dW = load("lin_dw", (size_t)nout * nin), *db = load("lin_db", nout);
    if (!x || !W || !b || !dy || !y || !dx || !dW || !db) return;
    float *yo = calloc((size_t)m * nout, 4), *dxo = calloc((size_t)m * nin, 4);
    float *dWo = calloc((size_t)nout * nin, 4), *dbo = calloc(nout, 4);
    nlcl_linear_forward(x, W, b, yo, m, nin, nout);
    nlcl_linear_backward(dy, x, W, dxo, dWo, dbo, m, nin, nout);
    compare("linear forward", yo, y, (size_t)m * nout, 2e-6);
    compare("linear backward dx", dxo, dx, (size_t)m * nin, 2e-6);
    compare("linear backward dW", dWo, dW, (size_t)nout * nin, 2e-6);
    compare("linear backward db", dbo, db, nout, 2e-6);
    free(x); free(W); free(b); free(dy); free(y); free(dx); free(dW); free(db);
    free(yo); free(dxo); free(dWo); free(dbo);
}

static void t_l2norm(void) {
    const int m = 17, d = 24;
    size_t n = (size_t)m * d;
    float *x = load("l2n_x", n), *dy = load("l2n_dy", n), *y = load("l2n_y", n);
    float *dx = load("l2n_dx", n);
    if (!x || !dy || !y || !dx) return;
    float *yo = calloc(n, 4), *dxo = calloc(n, 4), *nrm = calloc(m, 4);
    nlcl_l2norm_rows_forward(x, yo, nrm, m, d);
    nlcl_l2norm_rows_backward(dy, x, yo, nrm, dxo, m, d);
    compare("l2norm_rows (Normalize) forward", yo, y, n, 1e-6);
    compare("l2norm_rows (Normalize) backward", dxo, dx, n, 2e-6);
    free(x); free(dy); free(y); free(dx); free(yo); free(dxo); free(nrm);
}

static void t_gather(void) {
    const int n = 2, c = 20, h = 7, w = 5, k = 11, img = 1;
    size_t nx = (size_t)n * c * h * w;
    float *x = load("gat_x", nx), *idf = load("gat_ids", k), *rows = load("gat_rows", (size_t)k * c);
    float *drows = load("gat_drows", (size_t)k * c), *dx = load("gat_dx", nx);
    if (!x || !idf || !rows || !drows || !dx) return;
    int32_t ids[11];
    for (int i = 0; i < k; i++) ids[i] = (int32_t)idf[i];
    for (int li = 0; li < 2; li++) {
        nlcl_layout l = li ? NLCL_BLOCKED : NLCL_NCHW;
        float *xl = conv_to(x, l, n, c, h, w), *ro = calloc((size_t)k * c, 4);
        float *dxl = calloc(nlcl_layout_numel(l, n, c, h, w), 4);
        nlcl_gather_rows(xl, n, c, h, w, l, img, ids, k, ro);
        nlcl_scatter_rows_add(drows, n, c, h, w, l, img, ids, k, dxl);
        float *dxo = conv_from(dxl, l, n, c, h, w);
        char what[96];
        snprintf(what, sizeof what, "gather_rows %s", lname(l));
        compare(what, ro, rows, (size_t)k * c, 0.0);
        snprintf(what, sizeof what, "scatter_rows_add %s", lname(l));
        compare(what, dxo, dx, nx, 1e-7); /* duplicate id: sum order */
        free(xl); free(ro); free(dxl); free(dxo);
    }
    free(x); free(idf); free(rows); free(drows); free(dx);
}

/* -------------------------------------------------------------- losses */


/* A loss of two tensors (MSELoss, L1Loss: fwd and bwd) against the fixtures
 * "<tag>_a", "_b", "_g" (upstream gradient), "_loss", "_da", "_db"; da_note
 * follows "backward da" in the messages. */
static void t_pair_loss(const char *tag, const char *name,
                        double (*fwd)(const float *, const float *, size_t),
                        nlcl_status (*bwd)(const float *, const float *, size_t, float, float *, float *),
                        const char *da_note) {
    const size_t n = 60;
    float *a = load_part(tag, "a", n), *b = load_part(tag, "b", n), *g = load_part(tag, "g", 1);
    float *loss = load_part(tag, "loss", 1), *da = load_part(tag, "da", n), *db = load_part(tag, "db", n);
    if (a && b && g && loss && da && db) {
        float *oa = calloc(n, 4), *ob = calloc(n, 4);
        float l = (float)fwd(a, b, n);
        CHECK_OK(bwd(a, b, n, g[0], oa, ob));
        char what[96];
        snprintf(what, sizeof what, "%s forward", name);
        compare(what, &l, loss, 1, 1e-6);
        snprintf(what, sizeof what, "%s backward da%s", name, da_note);
        compare(what, oa, da, n, 1e-6);
        snprintf(what, sizeof what, "%s backward db", name);
        compare(what, ob, db, n, 1e-6);
        free(oa); free(ob);
    }
    free(a); free(b); free(g); free(loss); free(da); free(db);
}

static void t_losses(void) {
    t_pair_loss("mse", "MSELoss", test_mse_v, nlcl_mse_backward, "");
    t_pair_loss("l1", "L1Loss", test_l1_v, nlcl_l1_backward, " (incl. sign(0) = 0)");

    const size_t nc = 60;
    float *a = load("msec_a", nc), *g = load("msec_g", 1), *loss = load("msec_loss", 1);
    float *da = load("msec_da", nc);
    if (a && g && loss && da) {
        float *oa = calloc(nc, 4);
        float l = (float)test_msec_v(a, 1.0f, nc);
        nlcl_mse_const_backward(a, 1.0f, nc, g[0], oa);
        compare("MSELoss vs constant 1 forward", &l, loss, 1, 1e-6);
        compare("MSELoss vs constant 1 backward", oa, da, nc, 1e-6);
        free(oa);
    }
    free(a); free(g); free(loss); free(da);

    const int m = 9, d = 12;
    float *lg = load("ce_logits", (size_t)m * d), *tf = load("ce_target", m);
    g = load("ce_g", 1), loss = load("ce_loss", 1);
    float *dl = load("ce_dlogits", (size_t)m * d), *lse = load("lse_out", m);
    if (lg && tf && g && loss && dl && lse) {
        int32_t tg[9];
        for (int i = 0; i < m; i++) tg[i] = (int32_t)tf[i];
        float *od = calloc((size_t)m * d, 4);
        double ol[9];
        float olf[9];
        float l = (float)test_ce_v(lg, tg, m, d);
        nlcl_cross_entropy_backward(lg, tg, m, d, g[0], od);
        nlcl_logsumexp_rows(lg, m, d, ol);
        for (int i = 0; i < m; i++) olf[i] = (float)ol[i];
        compare("CrossEntropyLoss forward", &l, loss, 1, 1e-6);
        compare("CrossEntropyLoss backward", od, dl, (size_t)m * d, 1e-6);
        compare("logsumexp", olf, lse, m, 1e-6);
        free(od);
    }
    free(lg); free(tf); free(g); free(loss); free(dl); free(lse);
}

/* -------------------------------------------------------------- conv2d */

static void t_conv(const char *tag, int n, int cin, int h, int w, int cout, int k) {
    int ho = h + 2 - k + 1, wo = w + 2 - k + 1;
    size_t nx = (size_t)n * cin * h * w, ny = (size_t)n * cout * ho * wo;
    size_t nw = (size_t)cout * cin * k * k;
    float *x = load_part(tag, "x", nx), *wt = load_part(tag, "w", nw);
    float *b = load_part(tag, "b", cout), *dy = load_part(tag, "dy", ny);
    float *y = load_part(tag, "y", ny), *dx = load_part(tag, "dx", nx);
    float *dw = load_part(tag, "dw", nw), *db = load_part(tag, "db", cout);
    if (!x || !wt || !b || !dy || !y || !dx || !dw || !db) return;
    for (int li = 0; li < 2; li++) {
        nlcl_layout l = li ? NLCL_BLOCKED : NLCL_NCHW;
        nlcl_conv2d_shape s = {n, cin, h, w, cout, k, k, 1, 1, 1, l, l};
        nlcl_conv2d_plan *plan = NULL;
        CHECK_OK(nlcl_conv2d_plan_create(&plan, &s, 1));
        if (!plan) continue;
        float *xl = conv_to(x, l, n, cin, h, w), *dyl = conv_to(dy, l, n, cout, ho, wo);
        float *yl = calloc(nlcl_layout_numel(l, n, cout, ho, wo), 4);
        float *dxl = calloc(nlcl_layout_numel(l, n, cin, h, w), 4);
        float *dwo = calloc(nw, 4), *dbo = calloc(cout, 4);
        CHECK_OK(nlcl_conv2d_forward(plan, xl, wt, b, yl));
        CHECK_OK(nlcl_conv2d_backward_data(plan, dyl, wt, dxl, 0.0f));
        CHECK_OK(nlcl_conv2d_backward_weights(plan, xl, dyl, dwo, dbo));
        float *yo = conv_from(yl, l, n, cout, ho, wo), *dxo = conv_from(dxl, l, n, cin, h, w);
        char what[96];
        snprintf(what, sizeof what, "%s forward %s", tag, lname(l));
        compare(what, yo, y, ny, 1e-5);
        snprintf(what, sizeof what, "%s backward dx %s", tag, lname(l));
        compare(what, dxo, dx, nx, 1e-5);
        snprintf(what, sizeof what, "%s backward dw %s", tag, lname(l));
        compare(what, dwo, dw, nw, 1e-5);
        snprintf(what, sizeof what, "%s backward db %s", tag, lname(l));
        compare(what, dbo, db, cout, 1e-5);
        nlcl_conv2d_plan_free(plan);
        free(xl); free(dyl); free(yl); free(dxl); free(dwo); free(dbo); free(yo); free(dxo);
    }
    free(x); free(wt); free(b); free(dy); free(y); free(dx); free(dw); free(db);
}

int main(void) {
    printf("test_ops_torch: block B = %d; max |ours - torch| / max |torch|:\n", nlcl_layout_block());
    t_instance_norm("in_plain", 2, 20, 9, 7, 0, 0);
    t_instance_norm("in_relu", 2, 20, 9, 7, 1, 0);
    t_instance_norm("in_res", 2, 20, 9, 7, 0, 1);
    t_instance_norm("in_big", 1, 3, 40, 50, 1, 0);
    t_activation("relu", 0, 2 * 3 * 5 * 7);
    t_activation("lrelu", 1, 2 * 3 * 5 * 7);
    t_activation("tanh", 2, 2 * 3 * 5 * 7);
    t_spatial("pad1", 0, 2, 5, 7, 6, 1);
    t_spatial("pad3", 0, 1, 20, 7, 5, 3);
    t_spatial("down_a", 1, 2, 5, 9, 8, 0);
    t_spatial("down_b", 1, 1, 20, 8, 7, 0);
    t_linear();
    t_l2norm();
    t_gather();
    t_losses();
    t_conv("conv3", 2, 3, 9, 8, 5, 3);
    t_conv("conv4", 1, 4, 10, 9, 6, 4);
    printf("  worst: %s %.2e\n", worst_what, worst);
    return test_finish("test_ops_torch");
}
