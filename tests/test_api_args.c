/* Bad arguments to the public ops and convolution functions (nlcl/ops.h,
 * nlcl/conv.h) and the loss-term accessors (nlcl/train.h): each call returns
 * NLCL_ERR_INVALID_ARG with a message naming the function and the problem,
 * writes nothing, and never aborts or crashes (issue 13: no library code
 * exits, aborts or prompts). Each group also makes a valid call, so that the
 * checks are seen to reject the bad argument and not everything.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "nlcl/conv.h"
#include "nlcl/ops.h"
#include "nlcl/train.h"

#define NBUF 4096
#define SENTINEL 7.25f
static float x[NBUF], y[NBUF], out[NBUF], mean[64], rstd[64];

static void fill_out(void) {
    for (int i = 0; i < NBUF; i++) out[i] = SENTINEL;
}
static int out_untouched(void) {
    for (int i = 0; i < NBUF; i++)
        if (out[i] != SENTINEL) return 0;
    return 1;
}

/* A call that must fail with INVALID_ARG and a message containing `sub`,
 * leaving out[] as it was. */
#define BAD(call, sub)                                                                             \
    do {                                                                                           \
        fill_out();                                                                                \
        CHECK_ERR(call, NLCL_ERR_INVALID_ARG, sub);                                                \
        CHECK_MSG(out_untouched(), "%s wrote its output", #call);                                  \
    } while (0)

static const int N = 2, C = 3, H = 4, W = 5; /* 120 values */
#define NCHW NLCL_NCHW

static void t_norm(void) {
    CHECK_OK(nlcl_instance_norm_forward(x, NULL, out, mean, rstd, N, C, H, W, NCHW, 1e-5f, 1));
    BAD(nlcl_instance_norm_forward(x, NULL, out, mean, rstd, 0, C, H, W, NCHW, 1e-5f, 1),
        "nlcl_instance_norm_forward: tensor (n, c, h, w) = (0, 3, 4, 5)");
    BAD(nlcl_instance_norm_forward(x, NULL, out, mean, rstd, N, -1, H, W, NCHW, 1e-5f, 1),
        "size below 1");
    BAD(nlcl_instance_norm_forward(x, NULL, out, mean, rstd, N, C, H, W, (nlcl_layout)7, 1e-5f, 1),
        "unknown layout 7");
    BAD(nlcl_instance_norm_forward(NULL, NULL, out, mean, rstd, N, C, H, W, NCHW, 1e-5f, 1),
        "nlcl_instance_norm_forward: NULL argument");
    BAD(nlcl_instance_norm_forward(x, NULL, out, mean, rstd, N, C, H, W, NCHW, -1.0f, 1), "eps");
    BAD(nlcl_instance_norm_backward(y, x, mean, rstd, out, N, C, 0, W, NCHW, 1),
        "nlcl_instance_norm_backward");
    BAD(nlcl_instance_norm_backward(NULL, x, mean, rstd, out, N, C, H, W, NCHW, 1), "NULL");
    /* a NULL gradient output means "not needed": nothing to read */
    CHECK_OK(nlcl_instance_norm_backward(NULL, NULL, NULL, NULL, NULL, N, C, H, W, NCHW, 1));
}

static void t_activations(void) {
    CHECK_OK(nlcl_relu_forward(NULL, NULL, 0));
    BAD(nlcl_relu_forward(NULL, out, 5), "nlcl_relu_forward: NULL argument");
    BAD(nlcl_relu_backward(NULL, x, out, 5), "nlcl_relu_backward: NULL argument");
    CHECK_OK(nlcl_leaky_relu_forward(x, y, 5, 0.2f));
    BAD(nlcl_leaky_relu_forward(x, out, 5, 0.0f), "nlcl_leaky_relu_forward: slope 0 is not > 0");
    BAD(nlcl_leaky_relu_forward(x, out, 5, -0.2f), "slope");
    BAD(nlcl_leaky_relu_forward(x, out, 5, NAN), "slope");
    BAD(nlcl_leaky_relu_backward(x, y, out, 5, 0.0f), "nlcl_leaky_relu_backward: slope");
    BAD(nlcl_tanh_forward(x, NULL, 5), "nlcl_tanh_forward: NULL");
    BAD(nlcl_tanh_backward(x, NULL, out, 5), "nlcl_tanh_backward: NULL");
}

static void t_spatial(void) {
    CHECK_OK(nlcl_reflect_pad_forward(x, y, N, C, H, W, 3, NCHW));
    BAD(nlcl_reflect_pad_forward(x, out, N, C, H, W, 4, NCHW),
        "nlcl_reflect_pad_forward: padding 4 is not in [0, min(h, w))");
    BAD(nlcl_reflect_pad_forward(x, out, N, C, H, W, -1, NCHW), "padding -1");
    BAD(nlcl_reflect_pad_forward(x, out, N, C, H, W, 1, (nlcl_layout)-1), "unknown layout");
    BAD(nlcl_reflect_pad_backward(x, out, N, C, H, 0, 1, NCHW), "nlcl_reflect_pad_backward");
    BAD(nlcl_reflect_pad_backward(NULL, out, N, C, H, W, 1, NCHW), "NULL");
    CHECK_OK(nlcl_blur_downsample_forward(x, y, N, C, 2, 2, NCHW));
    BAD(nlcl_blur_downsample_forward(x, out, N, C, 1, W, NCHW),
        "nlcl_blur_downsample_forward: 5x1 input is smaller than 2x2");
    BAD(nlcl_blur_downsample_backward(x, out, N, 0, H, W, NCHW), "nlcl_blur_downsample_backward");
}

static void t_linear(void) {
    CHECK_OK(nlcl_linear_forward(x, y, NULL, out, 3, 4, 5));
    CHECK_OK(nlcl_linear_forward(NULL, NULL, NULL, NULL, 0, 4, 5)); /* no rows */
    BAD(nlcl_linear_forward(x, y, NULL, out, 3, 0, 5), "nlcl_linear_forward: sizes m 3, nin 0");
    BAD(nlcl_linear_forward(x, y, NULL, out, -1, 4, 5), "m -1");
    BAD(nlcl_linear_forward(x, NULL, NULL, out, 3, 4, 5), "NULL");
    BAD(nlcl_linear_backward(x, x, y, out, NULL, NULL, 3, 4, -5), "nlcl_linear_backward");
    BAD(nlcl_linear_backward(NULL, x, y, out, NULL, NULL, 3, 4, 5), "NULL");
    BAD(nlcl_linear_backward(x, x, NULL, out, NULL, NULL, 3, 4, 5), "NULL"); /* dx needs W */
    BAD(nlcl_l2norm_rows_forward(x, out, NULL, 3, 0), "nlcl_l2norm_rows_forward: sizes m 3, d 0");
    BAD(nlcl_l2norm_rows_backward(x, x, NULL, NULL, out, 3, 4), "nlcl_l2norm_rows_backward: NULL");
}

static void t_rows(void) {
    int32_t ids[3] = {0, 7, 19}, past[3] = {0, 20, 1}, neg[3] = {0, -1, 1};
    CHECK_OK(nlcl_gather_rows(x, N, C, H, W, NCHW, 1, ids, 3, y));
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, 2, ids, 3, out),
        "nlcl_gather_rows: image 2 not in [0, 2)");
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, -1, ids, 3, out), "image -1");
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, 0, past, 3, out), "id 20 (row 1) not in [0, 20)");
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, 0, neg, 3, out), "id -1");
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, 0, ids, -3, out), "k -3");
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, 0, NULL, 3, out), "NULL");
    BAD(nlcl_gather_rows(x, N, C, H, W, NCHW, 0, ids, 3, NULL), "NULL");
    BAD(nlcl_scatter_rows_add(x, N, C, H, W, NCHW, 0, past, 3, out), "nlcl_scatter_rows_add: id 20");
    BAD(nlcl_scatter_rows_add(x, N, C, H, W, NCHW, 5, ids, 3, out), "image 5");
    BAD(nlcl_scatter_rows_add(NULL, N, C, H, W, NCHW, 0, ids, 3, out), "NULL");
}

static void t_elementwise(void) {
    CHECK_OK(nlcl_add(x, x, y, 8));
    BAD(nlcl_add(x, NULL, out, 8), "nlcl_add: NULL argument");
    BAD(nlcl_sub(NULL, x, out, 8), "nlcl_sub: NULL argument");
    BAD(nlcl_scale(NULL, 2.0f, out, 8), "nlcl_scale: NULL argument");
    BAD(nlcl_axpy(2.0f, x, NULL, 8), "nlcl_axpy: NULL argument");
}

static void t_losses(void) {
    double l = -1;
    CHECK_OK(nlcl_mse_forward(x, y, 10, &l));
    CHECK(l >= 0);
    BAD(nlcl_mse_forward(x, y, 0, &l), "nlcl_mse_forward: count is 0");
    BAD(nlcl_mse_forward(x, NULL, 10, &l), "NULL");
    BAD(nlcl_mse_forward(x, y, 10, NULL), "NULL");
    BAD(nlcl_mse_backward(x, y, 0, 1.0f, out, NULL), "nlcl_mse_backward: count is 0");
    BAD(nlcl_l1_forward(NULL, y, 10, &l), "nlcl_l1_forward: NULL");
    BAD(nlcl_l1_backward(x, y, 0, 1.0f, out, NULL), "nlcl_l1_backward: count is 0");
    BAD(nlcl_mse_const_forward(x, 1.0f, 0, &l), "nlcl_mse_const_forward: count is 0");
    BAD(nlcl_mse_const_backward(NULL, 1.0f, 10, 1.0f, out), "nlcl_mse_const_backward: NULL");
    CHECK_OK(nlcl_eroded_l1_forward(x, y, 2, 4, 5, 3, &l));
    BAD(nlcl_eroded_l1_forward(x, y, 0, 4, 5, 3, &l), "nlcl_eroded_l1_forward: planes 0");
    BAD(nlcl_eroded_l1_forward(x, y, NLCL_MAX_PLANES_SUM + 1, 1, 1, 1, &l), "planes 4097");
    BAD(nlcl_eroded_l1_forward(x, y, 2, 4, 5, 0, &l), "window 0");
    BAD(nlcl_eroded_l1_backward(x, y, 2, -4, 5, 3, 1.0f, out), "nlcl_eroded_l1_backward");
    BAD(nlcl_eroded_l1_backward(x, NULL, 2, 4, 5, 3, 1.0f, out), "NULL");
    CHECK_OK(nlcl_mean_l1_forward(x, y, 2, 20, &l));
    BAD(nlcl_mean_l1_forward(x, y, 0, 20, &l), "nlcl_mean_l1_forward: planes 0");
    BAD(nlcl_mean_l1_forward(x, y, 2, 0, &l), "hw 0");
    BAD(nlcl_mean_l1_forward(x, y, NLCL_MAX_PLANES_SUM + 1, 1, &l), "planes 4097");
    BAD(nlcl_mean_l1_forward(x, y, 2, 20, NULL), "NULL");
    BAD(nlcl_mean_l1_backward(NULL, y, 2, 20, 1.0f, out), "NULL");

    int32_t tg[3] = {0, 4, 1}, tg_past[3] = {0, 5, 1}, tg_neg[3] = {-2, 0, 1};
    double lse[3];
    CHECK_OK(nlcl_cross_entropy_forward(x, tg, 3, 5, &l));
    BAD(nlcl_cross_entropy_forward(x, tg_past, 3, 5, &l),
        "nlcl_cross_entropy_forward: target 5 of row 1 not in [0, 5)");
    BAD(nlcl_cross_entropy_forward(x, tg_neg, 3, 5, &l), "target -2 of row 0");
    BAD(nlcl_cross_entropy_forward(x, tg, 0, 5, &l), "sizes m 0, d 5");
    BAD(nlcl_cross_entropy_forward(x, NULL, 3, 5, &l), "NULL");
    BAD(nlcl_cross_entropy_backward(x, tg_past, 3, 5, 1.0f, out),
        "nlcl_cross_entropy_backward: target 5");
    BAD(nlcl_logsumexp_rows(x, 3, 0, lse), "nlcl_logsumexp_rows: sizes m 3, d 0");
    BAD(nlcl_logsumexp_rows(x, 3, 5, NULL), "NULL");
}

static void t_adam(void) {
    nlcl_adam_cfg cfg = {1e-3, 0.9, 0.999, 1e-8};
    float g[8] = {1, 2, 3, 4, 5, 6, 7, 8}, m[8] = {0}, v[8] = {0};
    fill_out();
    CHECK_ERR(nlcl_adam_step(out, g, m, v, 8, &cfg, 0), NLCL_ERR_INVALID_ARG,
              "nlcl_adam_step: step 0 is not >= 1");
    CHECK_ERR(nlcl_adam_step(out, g, m, v, 8, NULL, 1), NLCL_ERR_INVALID_ARG, "NULL argument");
    CHECK_ERR(nlcl_adam_step(out, g, NULL, v, 8, &cfg, 1), NLCL_ERR_INVALID_ARG, "NULL argument");
    CHECK(out_untouched());
    CHECK(m[0] == 0 && v[0] == 0);
    CHECK_OK(nlcl_adam_step(out, g, m, v, 8, &cfg, 1));
    CHECK(out[0] != SENTINEL);
}

static void t_conv(void) {
    nlcl_conv2d_shape s = {N, C, H, W, 4, 3, 3, 1, 1, 1, NCHW, NCHW};
    nlcl_conv2d_plan *p = NULL;
    CHECK_ERR(nlcl_conv2d_plan_create(NULL, &s, 1), NLCL_ERR_INVALID_ARG, "NULL argument");
    CHECK_ERR(nlcl_conv2d_plan_create(&p, NULL, 1), NLCL_ERR_INVALID_ARG, "NULL argument");
    nlcl_conv2d_shape bad = s;
    bad.n = 0;
    CHECK_ERR(nlcl_conv2d_plan_create(&p, &bad, 1), NLCL_ERR_INVALID_ARG, "invalid shape n=0");
    bad = s;
    bad.kh = 9;
    CHECK_ERR(nlcl_conv2d_plan_create(&p, &bad, 1), NLCL_ERR_INVALID_ARG, "does not fit");
    bad = s;
    bad.dst_layout = (nlcl_layout)3;
    CHECK_ERR(nlcl_conv2d_plan_create(&p, &bad, 1), NLCL_ERR_INVALID_ARG, "unknown layout");
    CHECK(p == NULL);
    CHECK_OK(nlcl_conv2d_plan_create(&p, &s, 1));
    if (!p) return;
    float *w = y, *b = y + 200; /* (4, 3, 3, 3) weights, (4) bias */
    BAD(nlcl_conv2d_forward(p, x, w, NULL, out), "nlcl_conv2d_forward: the plan has a bias");
    BAD(nlcl_conv2d_forward(NULL, x, w, b, out), "nlcl_conv2d_forward: NULL argument");
    BAD(nlcl_conv2d_forward(p, NULL, w, b, out), "NULL argument");
    CHECK_OK(nlcl_conv2d_forward(p, x, w, b, y + 300));
    BAD(nlcl_conv2d_backward_data(p, x, w, out, 0.5f),
        "nlcl_conv2d_backward_data: beta 0.5 is neither 0 nor 1");
    BAD(nlcl_conv2d_backward_data(p, NULL, w, out, 0.0f), "NULL argument");
    BAD(nlcl_conv2d_backward_weights(p, NULL, x, out, NULL),
        "nlcl_conv2d_backward_weights: NULL argument");
    BAD(nlcl_conv2d_backward_weights(NULL, x, x, out, NULL), "NULL argument");
    int ho = -1, wo = -1;
    nlcl_conv2d_plan_out(NULL, &ho, &wo);
    CHECK(ho == 0 && wo == 0);
    nlcl_conv2d_plan_out(p, &ho, &wo);
    CHECK(ho == H && wo == W);
    CHECK(nlcl_conv2d_plan_shape(NULL) == NULL && nlcl_conv2d_plan_impl(NULL, 0) == NULL);
    nlcl_conv2d_plan_free(p);

    BAD(nlcl_layout_convert(x, NCHW, out, NLCL_BLOCKED, 0, C, H, W), "nlcl_layout_convert");
    BAD(nlcl_layout_convert(x, NCHW, out, (nlcl_layout)3, N, C, H, W), "unknown layout 3");
    BAD(nlcl_layout_convert(NULL, NCHW, out, NLCL_BLOCKED, N, C, H, W), "NULL argument");
    BAD(nlcl_layout_convert(out, NCHW, out, NLCL_BLOCKED, N, C, H, W), "the same buffer");
    CHECK_OK(nlcl_layout_convert(x, NCHW, y, NLCL_BLOCKED, N, C, H, W));
    /* NHWC: conversions take any channel count, the ops of ops.h at most 64 */
    CHECK_OK(nlcl_layout_convert(x, NLCL_NHWC, y, NLCL_BLOCKED, 1, 65, 1, 1));
    BAD(nlcl_instance_norm_forward(x, NULL, out, mean, rstd, 1, 65, 1, 1, NLCL_NHWC, 1e-5f, 1),
        "NHWC tensor of 65 channels (at most 64)");
    CHECK(nlcl_layout_lanes(NLCL_NHWC, 65) == 65 && nlcl_layout_lanes((nlcl_layout)3, 1) == 0);
}

static void t_loss_terms(void) {
    nlcl_losses L;
    memset(&L, 0, sizeof L);
    CHECK_OK(nlcl_loss_set(&L, NLCL_LOSS_CONS, 0.5));
    CHECK(nlcl_loss_get(&L, NLCL_LOSS_CONS) == 0.5);
    CHECK_ERR(nlcl_loss_set(&L, NLCL_LOSS_COUNT, 1.0), NLCL_ERR_INVALID_ARG,
              "nlcl_loss_set: unknown loss term 10");
    CHECK_ERR(nlcl_loss_set(&L, (nlcl_loss_term)-1, 1.0), NLCL_ERR_INVALID_ARG, "unknown loss term");
    CHECK_ERR(nlcl_loss_set(NULL, NLCL_LOSS_G, 1.0), NLCL_ERR_INVALID_ARG, "NULL argument");
    CHECK(isnan(nlcl_loss_get(&L, NLCL_LOSS_COUNT)) && isnan(nlcl_loss_get(NULL, NLCL_LOSS_G)));
    CHECK(isnan(nlcl_loss_weight(NULL, NLCL_LOSS_GAN)));
    CHECK(nlcl_loss_name(NLCL_LOSS_COUNT) == NULL);
}

int main(void) {
    for (int i = 0; i < NBUF; i++) x[i] = y[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    t_norm();
    t_activations();
    t_spatial();
    t_linear();
    t_rows();
    t_elementwise();
    t_losses();
    t_adam();
    t_conv();
    t_loss_terms();
    return test_finish("api_args");
}
