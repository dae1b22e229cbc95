/* Deraining: the authors' released G_B reproduces their published outputs;
 * .pth and safetensors give identical results; every size keeps its size;
 * reruns and thread counts are byte-identical; the C API's 8-bit entry point
 * agrees with the float one; the command line refuses what it must; the
 * library refuses what derain and demo must never be given (non-regular
 * files, non-model files, non-finite weights, non-finite outputs). */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "nlcl/files.h"
#include "nlcl/image.h"
#include "nlcl/model.h"
#include "nlcl/synth.h"
#include "nlcl/weights.h"

/* A small random generator (C=8, K=2) built through the public API. */
static nlcl_model *random_model(nlcl_rng *r, int C, int K) {
    nlcl_tensor_dict d;
    test_random_gen_dict(r, C, K, &d);
    nlcl_model *m = NULL;
    CHECK_OK(nlcl_model_from_dict(&d, "random", &m));
    nlcl_tensor_dict_free(&d);
    return m;
}

static void sizes_and_determinism(void) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 5, 5);
    nlcl_model *m = random_model(&r, 8, 2);
    if (!m) return;
    CHECK(nlcl_model_channels(m) == 8 && nlcl_model_blocks(m) == 2);
    int sizes[][2] = {{1, 1}, {2, 3}, {8, 8}, {16, 16}, {31, 31}, {257, 263}, {480, 320}, {481, 321},
                      {482, 322}, {483, 323}, {484, 324}, {485, 325}, {486, 326}, {487, 327}};
    /* memory checking (NLCL_MEMCHECK: ASan, valgrind): the first five sizes
     * (up to 31x31) reach every code path; the larger ones check numerics */
    size_t nsizes = sizeof sizes / sizeof *sizes;
    int memcheck = getenv("NLCL_MEMCHECK") != NULL;
    for (size_t i = 0; i < nsizes; i++) {
        if (memcheck && i >= 5) continue;
        int w = sizes[i][0], h = sizes[i][1];
        nlcl_image in = {0}, out = {0}, out2 = {0};
        CHECK_OK(nlcl_image_alloc(&in, h, w));
        test_fill_uniform(&r, in.data, (size_t)3 * w * h, -1, 1);
        CHECK_OK(nlcl_model_run_image(m, &in, &out));
        CHECK_MSG(out.width == w && out.height == h, "%dx%d gave %dx%d", w, h, out.width, out.height);
        int finite = 1;
        for (size_t k = 0; k < (size_t)3 * w * h; k++) finite &= isfinite(out.data[k]) != 0;
        CHECK_MSG(finite, "non-finite output at %dx%d", w, h);
        /* rerun and other thread counts: bit-identical */
        int threads[2] = {1, 2};
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(threads[t]);
            CHECK_OK(nlcl_model_run_image(m, &in, &out2));
            CHECK_MSG(out2.data && memcmp(out.data, out2.data, sizeof(float) * 3 * w * h) == 0,
                      "%dx%d: %d thread(s) differ", w, h, threads[t]);
            nlcl_image_free(&out2);
        }
        omp_set_num_threads(2);
        /* 8-bit entry point, in place */
        uint8_t *rgb = malloc((size_t)3 * w * h), *ref = malloc((size_t)3 * w * h);
        nlcl_image_to_rgb8(&in, NLCL_QUANT_ROUND, rgb);
        nlcl_image in8 = {0}, out8 = {0};
        CHECK_OK(nlcl_image_from_rgb8(&in8, rgb, h, w));
        CHECK_OK(nlcl_model_run_image(m, &in8, &out8));
        nlcl_image_to_rgb8(&out8, NLCL_QUANT_ROUND, ref);
        CHECK_OK(nlcl_model_run_rgb8(m, rgb, rgb, h, w, NLCL_QUANT_ROUND));
        CHECK(memcmp(rgb, ref, (size_t)3 * w * h) == 0);
        free(rgb);
        free(ref);
        nlcl_image_free(&in8);
        nlcl_image_free(&out8);
        nlcl_image_free(&in);
        nlcl_image_free(&out);
    }
    /* invalid sizes are errors, not crashes */
    float x[3] = {0};
    CHECK_ERR(nlcl_model_run(m, x, x, 0, 1), NLCL_ERR_INVALID_ARG, "invalid image size");
    nlcl_model_free(m);
}

static int official(const char *data) {
    char wpath[1024], st[1200];
    snprintf(wpath, sizeof wpath, "%s/nlcl_official/weights/latest_net_Back.pth", data);
    nlcl_model *m = NULL, *m2 = NULL;
    CHECK_OK(nlcl_model_load(wpath, &m));
    if (!m) return 0;
    CHECK(nlcl_model_channels(m) == 32 && nlcl_model_blocks(m) == 16);
    CHECK(nlcl_model_num_params(m) == 316195);
    /* .pth -> safetensors -> identical outputs */
    snprintf(st, sizeof st, "%s/back.safetensors", test_tmpdir());
    CHECK_OK(nlcl_model_save(m, st));
    CHECK_OK(nlcl_model_load(st, &m2));
    const char *names[5] = {"Eg1", "Eg2", "Eg3", "Eg4", "Eg5"};
    size_t total = 0, equal = 0, off1 = 0, worse = 0;
    if (getenv("NLCL_MEMCHECK")) {
        /* memory checking (ASan, valgrind): the authors' model runs on a
         * 64x48 crop of one photo, .pth and safetensors alike; the published
         * outputs are compared in the normal suite only */
        nlcl_image crop = {0}, o1 = {0}, o2 = {0};
        CHECK_OK(nlcl_image_alloc(&crop, 48, 64));
        for (size_t k = 0; crop.data && k < (size_t)3 * 64 * 48; k++) crop.data[k] = (float)(k % 97) / 48.0f - 1;
        CHECK_OK(nlcl_model_run_image(m, &crop, &o1));
        CHECK_OK(nlcl_model_run_image(m2, &crop, &o2));
        CHECK(o1.data && o2.data && memcmp(o1.data, o2.data, sizeof(float) * 3 * 64 * 48) == 0);
        printf("SKIPPED part: NLCL_MEMCHECK is set (published-output comparison)\n");
        nlcl_image_free(&crop), nlcl_image_free(&o1), nlcl_image_free(&o2);
        nlcl_model_free(m);
        nlcl_model_free(m2);
        return 1;
    }
    int nimg = 5;
    for (int i = 0; i < nimg; i++) {
        char in_path[1200], ref_path[1200];
        snprintf(in_path, sizeof in_path, "%s/nlcl_official/rainy/%s.JPG", data, names[i]);
        snprintf(ref_path, sizeof ref_path, "%s/nlcl_official/official_output/%s.png", data, names[i]);
        nlcl_image in = {0}, out = {0}, out2 = {0}, ref = {0};
        CHECK_OK(nlcl_image_load(in_path, &in, NULL));
        CHECK_OK(nlcl_image_load(ref_path, &ref, NULL));
        if (!in.data || !ref.data) continue;
        CHECK_OK(nlcl_model_run_image(m, &in, &out));
        size_t n = (size_t)3 * in.width * in.height;
        if (i == 0) {
            CHECK_OK(nlcl_model_run_image(m2, &in, &out2));
            CHECK_MSG(out2.data && memcmp(out.data, out2.data, n * 4) == 0,
                      ".pth and safetensors outputs differ");
            nlcl_image_free(&out2);
        }
        CHECK(ref.width == in.width && ref.height == in.height);
        uint8_t *a = malloc(n), *b = malloc(n);
        nlcl_image_to_rgb8(&out, NLCL_QUANT_TRUNCATE, a);
        nlcl_image_to_rgb8(&ref, NLCL_QUANT_ROUND, b);
        size_t eq = 0, o1 = 0, wz = 0;
        for (size_t k = 0; k < n; k++) {
            int d = abs((int)a[k] - (int)b[k]);
            eq += d == 0;
            o1 += d == 1;
            wz += d > 1;
        }
        printf("%s: %zu of %zu values equal, %zu off by 1, %zu off by more\n", names[i], eq, n, o1, wz);
        total += n, equal += eq, off1 += o1, worse += wz;
        free(a);
        free(b);
        nlcl_image_free(&in);
        nlcl_image_free(&out);
        nlcl_image_free(&ref);
    }
    double frac = total ? (double)equal / (double)total : 0;
    printf("official outputs: %.6f%% equal, %zu off by 1, %zu off by more\n", 100 * frac, off1, worse);
    CHECK_MSG(total > 0 && frac >= 0.9999, "only %.6f%% of values equal", 100 * frac);
    CHECK(worse == 0);
    nlcl_model_free(m);
    nlcl_model_free(m2);
    return 1;
}

/* A residual model (metadata residual = 1) with a zero last conv is the
 * identity, bit for bit; the flag survives save and load. */
static void residual_model(void) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 21, 2);
    nlcl_model *m = random_model(&r, 8, 1);
    if (!m) return;
    char p[1200];
    snprintf(p, sizeof p, "%s/res.safetensors", test_tmpdir());
    CHECK_OK(nlcl_model_save(m, p));
    nlcl_model_free(m);
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_safetensors_load(p, &d));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "residual", "1"));
    nlcl_named_tensor *w = nlcl_tensor_dict_find(&d, "gen.3.weight"), *b = nlcl_tensor_dict_find(&d, "gen.3.bias");
    CHECK(w && b);
    if (w && b) {
        memset(w->data, 0, w->numel * 4);
        memset(b->data, 0, b->numel * 4);
    }
    CHECK_OK(nlcl_model_from_dict(&d, "res", &m));
    nlcl_tensor_dict_free(&d);
    if (!m) return;
    CHECK(nlcl_model_residual(m) == 1);
    CHECK_OK(nlcl_model_save(m, p));
    nlcl_model_free(m);
    CHECK_OK(nlcl_model_load(p, &m));
    if (!m) return;
    CHECK(nlcl_model_residual(m) == 1);
    nlcl_image in = {0}, out = {0};
    CHECK_OK(nlcl_image_alloc(&in, 17, 33));
    test_fill_uniform(&r, in.data, 3 * 33 * 17, -1, 1);
    CHECK_OK(nlcl_model_run_image(m, &in, &out));
    CHECK(out.data && memcmp(in.data, out.data, sizeof(float) * 3 * 33 * 17) == 0);
    nlcl_image_free(&in);
    nlcl_image_free(&out);
    nlcl_model_free(m);
    /* a bad flag is an error */
    CHECK_OK(nlcl_safetensors_load(p, &d));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "residual", "yes"));
    CHECK_ERR(nlcl_model_from_dict(&d, "bad", &m), NLCL_ERR_FORMAT, "residual");
    nlcl_tensor_dict_free(&d);
}

static void malformed_models(void) {
    const char *dir = test_tmpdir();
    char p[1200];
    /* a truncated safetensors file, a foreign state_dict, wrong shapes */
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    int64_t s4[4] = {8, 3, 3, 3}, s1[1] = {8};
    CHECK_OK(nlcl_tensor_dict_add(&d, "gen.0.weight", 4, s4, NULL, NULL));
    CHECK_OK(nlcl_tensor_dict_add(&d, "gen.0.bias", 1, s1, NULL, NULL));
    snprintf(p, sizeof p, "%s/incomplete.safetensors", dir);
    CHECK_OK(nlcl_safetensors_save(p, &d));
    nlcl_model *m = NULL;
    CHECK_ERR(nlcl_model_load(p, &m), NLCL_ERR_FORMAT, "incomplete.safetensors");
    CHECK(m == NULL);
    nlcl_tensor_dict_free(&d);
    nlcl_tensor_dict_init(&d);
    CHECK_OK(nlcl_tensor_dict_add(&d, "model.0.weight", 4, s4, NULL, NULL));
    snprintf(p, sizeof p, "%s/foreign.safetensors", dir);
    CHECK_OK(nlcl_safetensors_save(p, &d));
    CHECK_ERR(nlcl_model_load(p, &m), NLCL_ERR_FORMAT, "not an NLCL generator");
    nlcl_tensor_dict_free(&d);
    /* a valid generator with one bias of the wrong length */
    nlcl_rng r;
    nlcl_rng_seed(&r, 9, 9);
    nlcl_model *good = random_model(&r, 8, 1);
    snprintf(p, sizeof p, "%s/good.safetensors", dir);
    CHECK_OK(nlcl_model_save(good, p));
    nlcl_model_free(good);
    nlcl_tensor_dict_init(&d);
    CHECK_OK(nlcl_safetensors_load(p, &d));
    nlcl_named_tensor *t = nlcl_tensor_dict_find(&d, "gen.1.model.0.conv.bias");
    CHECK(t != NULL);
    if (t) t->shape[0] = 4, t->numel = 4;
    snprintf(p, sizeof p, "%s/badshape.safetensors", dir);
    CHECK_OK(nlcl_safetensors_save(p, &d));
    CHECK_ERR(nlcl_model_load(p, &m), NLCL_ERR_FORMAT, "gen.1.model.0.conv.bias");
    nlcl_tensor_dict_free(&d);
    /* non-finite weights are refused, naming the tensor */
    nlcl_tensor_dict_init(&d);
    snprintf(p, sizeof p, "%s/good.safetensors", dir);
    CHECK_OK(nlcl_safetensors_load(p, &d));
    t = nlcl_tensor_dict_find(&d, "gen.0.bias");
    if (t) t->data[1] = NAN;
    snprintf(p, sizeof p, "%s/nan.safetensors", dir);
    CHECK_OK(nlcl_safetensors_save(p, &d));
    CHECK_ERR(nlcl_model_load(p, &m), NLCL_ERR_FORMAT, "gen.0.bias");
    nlcl_tensor_dict_free(&d);
    /* truncated copy of the good file */
    snprintf(p, sizeof p, "%s/good.safetensors", dir);
    CHECK(test_system("head -c 300 '%s' > '%s/trunc.safetensors'", p, dir) == 0);
    snprintf(p, sizeof p, "%s/trunc.safetensors", dir);
    CHECK_ERR(nlcl_model_load(p, &m), NLCL_ERR_FORMAT, "trunc.safetensors");
}

/* Inputs the loaders must refuse at once and by name: a FIFO (open() would
 * wait for a writer forever: SIGALRM ends the test instead of hanging), an
 * image given as a model, an empty file, a truncated .pth; path helpers. */
static void refused_inputs(void) {
    const char *dir = test_tmpdir();
    char p[1200], q[1200];
    nlcl_tensor_dict d;
    nlcl_image img = {0};
    snprintf(p, sizeof p, "%s/fifo.png", dir);
    CHECK(mkfifo(p, 0600) == 0);
    alarm(20);
    CHECK_ERR(nlcl_image_load(p, &img, NULL), NLCL_ERR_IO, "fifo.png: not a regular file");
    CHECK_ERR(nlcl_weights_load(p, &d), NLCL_ERR_IO, "fifo.png: not a regular file");
    CHECK_ERR(nlcl_safetensors_load(p, &d), NLCL_ERR_IO, "fifo.png: not a regular file");
    alarm(0);
    CHECK_ERR(nlcl_weights_load(dir, &d), NLCL_ERR_IO, "is a directory");
    /* an image as a model: no absurd header length */
    snprintf(p, sizeof p, "%s/photo.png", dir);
    CHECK_OK(nlcl_image_alloc(&img, 4, 5));
    CHECK_OK(nlcl_image_save_png(p, &img, NLCL_QUANT_ROUND, 0));
    nlcl_image_free(&img);
    CHECK_ERR(nlcl_weights_load(p, &d), NLCL_ERR_FORMAT,
              "photo.png: not a safetensors or PyTorch .pth file");
    nlcl_model *m = NULL;
    CHECK_ERR(nlcl_model_load(p, &m), NLCL_ERR_FORMAT, "not a safetensors or PyTorch .pth file");
    snprintf(p, sizeof p, "%s/empty.safetensors", dir);
    CHECK(test_system("printf '' > '%s'", p) == 0);
    CHECK_ERR(nlcl_weights_load(p, &d), NLCL_ERR_FORMAT, "empty.safetensors: file is 0 bytes (an empty file");
    /* a .pth cut in half: said once, plainly */
    snprintf(p, sizeof p, "%s/half.pth", dir);
    CHECK(test_system("head -c 400 tests/fixtures/weights/tiny_state.pth > '%s'", p) == 0);
    CHECK_ERR(nlcl_weights_load(p, &d), NLCL_ERR_FORMAT, "half.pth: truncated or corrupt zip archive");
    CHECK(!test_contains(nlcl_error_message(), "Not a zip"));
    CHECK_OK(nlcl_weights_load("tests/fixtures/weights/tiny_state.pth", &d)); /* whole: fine */
    nlcl_tensor_dict_free(&d);
    /* "dir/" lists "dir/x.png", not "dir//x.png" (the FIFO is not listed) */
    snprintf(q, sizeof q, "%s/", dir);
    char **list = NULL;
    int n = 0;
    CHECK_OK(nlcl_list_images(q, &list, &n));
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(!strstr(list[i], "//"), "listed %s", list[i]);
        CHECK(strcmp(nlcl_basename(list[i]), "fifo.png") != 0);
    }
    nlcl_list_free(list);
    char *dn = nlcl_dirname("a/b//c.png");
    CHECK(dn && !strcmp(dn, "a/b"));
    free(dn);
    dn = nlcl_dirname("c.png");
    CHECK(dn && !strcmp(dn, "."));
    free(dn);
    dn = nlcl_dirname("/c.png");
    CHECK(dn && !strcmp(dn, "/"));
    free(dn);
    snprintf(p, sizeof p, "%s/new1.json", dir);
    snprintf(q, sizeof q, "%s//new1.json", dir);
    CHECK(nlcl_same_path(p, q));         /* neither exists: same name, same folder */
    snprintf(q, sizeof q, "%s/new2.json", dir);
    CHECK(!nlcl_same_path(p, q));
}

/* nlcl_tensor_dict_all_finite names the first tensor with a NaN or inf. */
static void finite_weights(void) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    int64_t sh[1] = {3};
    float a[3] = {1, -2, 3e38f}, b[3] = {0, 0, 0};
    CHECK_OK(nlcl_tensor_dict_add(&d, "a", 1, sh, a, NULL));
    CHECK_OK(nlcl_tensor_dict_add(&d, "b", 1, sh, b, NULL));
    const char *bad = "x";
    CHECK(nlcl_tensor_dict_all_finite(&d, &bad) == 1 && bad == NULL);
    d.tensors[1].data[2] = NAN;
    CHECK(nlcl_tensor_dict_all_finite(&d, &bad) == 0 && bad && !strcmp(bad, "b"));
    d.tensors[0].data[0] = -INFINITY;
    CHECK(nlcl_tensor_dict_all_finite(&d, NULL) == 0);
    CHECK(nlcl_tensor_dict_all_finite(&d, &bad) == 0 && bad && !strcmp(bad, "a"));
    nlcl_tensor_dict_free(&d);
}

/* A model with finite weights whose output overflows (the last conv's
 * weights set to +-FLT_MAX: any input above 1 in magnitude overflows) is detected: the
 * run fails with NONFINITE naming the model, the derain and demo commands
 * write nothing, name the model and the image, and exit with status 1 (docs/
 * bad-inputs.md "NaN / Inf", issue 12 point 2). */
static nlcl_model *overflowing_model(const char *path) {
    nlcl_rng r;
    nlcl_rng_seed(&r, 31, 3);
    nlcl_model *m = random_model(&r, 8, 1);
    if (!m) return NULL;
    CHECK_OK(nlcl_model_save(m, path));
    nlcl_model_free(m);
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_safetensors_load(path, &d));
    nlcl_named_tensor *w = nlcl_tensor_dict_find(&d, "gen.3.weight");
    CHECK(w != NULL);
    if (w)
        for (size_t i = 0; i < w->numel; i++) w->data[i] = w->data[i] < 0 ? -FLT_MAX : FLT_MAX;
    CHECK(nlcl_tensor_dict_all_finite(&d, NULL) == 1);
    CHECK_OK(nlcl_safetensors_save(path, &d));
    nlcl_tensor_dict_free(&d);
    m = NULL;
    CHECK_OK(nlcl_model_load(path, &m));
    return m;
}

static void nonfinite_output(void) {
    const char *dir = test_tmpdir();
    char model[1200], in[1200];
    snprintf(model, sizeof model, "%s/overflow.safetensors", dir);
    nlcl_model *m = overflowing_model(model);
    if (!m) return;
    nlcl_image img = {0}, out = {0};
    nlcl_rng r;
    nlcl_rng_seed(&r, 32, 3);
    CHECK_OK(nlcl_image_alloc(&img, 11, 19));
    test_fill_uniform(&r, img.data, 3 * 19 * 11, -1, 1);
    CHECK_ERR(nlcl_model_run_image(m, &img, &out), NLCL_ERR_NONFINITE, "overflow.safetensors: ");
    CHECK(test_contains(nlcl_error_message(), "non-finite") && out.data == NULL);
    uint8_t rgb[19 * 11 * 3];
    nlcl_image_to_rgb8(&img, NLCL_QUANT_ROUND, rgb);
    CHECK_ERR(nlcl_model_run_rgb8(m, rgb, rgb, 11, 19, NLCL_QUANT_ROUND), NLCL_ERR_NONFINITE,
              "non-finite");
    nlcl_model_free(m);
    snprintf(in, sizeof in, "%s/finite_in.png", dir);
    CHECK_OK(nlcl_image_save_png(in, &img, NLCL_QUANT_ROUND, 0));
    nlcl_image_free(&img);
    const char *bin = getenv("NLCL_BIN");
    if (!bin) return;
    CHECK(test_system("'%s' derain -m '%s' -o '%s/nf' '%s' 2>'%s/nf.err'", bin, model, dir, in,
                      dir) == 1);
    CHECK(test_system("grep -q 'finite_in.png: .*overflow.safetensors: .*non-finite' '%s/nf.err'",
                      dir) == 0);
    CHECK(test_system("test ! -e '%s/nf'", dir) == 0); /* nothing written, the folder removed */
    /* demo names the image too */
    CHECK(test_system("'%s' demo -m '%s' -o '%s/nfd.png' '%s' >/dev/null 2>'%s/nfd.err'", bin, model, dir, in,
                      dir) == 1);
    CHECK(test_system("grep -q 'nlcl demo: .*finite_in.png: .*overflow.safetensors: .*non-finite' '%s/nfd.err'",
                      dir) == 0);
    CHECK(test_system("test ! -e '%s/nfd.png'", dir) == 0);
    /* with a good derainer and the overflowing model as the rain model:
     * nothing at all is written either */
    char good[1200];
    snprintf(good, sizeof good, "%s/good_nf.safetensors", dir);
    nlcl_rng_seed(&r, 33, 3);
    m = random_model(&r, 8, 1);
    if (m) CHECK_OK(nlcl_model_save(m, good));
    nlcl_model_free(m);
    CHECK(test_system("'%s' derain -q -m '%s' --rain-model '%s' -o '%s/nf2' '%s' 2>/dev/null",
                      bin, good, model, dir, in) == 1);
    CHECK(test_system("test ! -e '%s/nf2'", dir) == 0);
}

static void cli(void) {
    const char *bin = getenv("NLCL_BIN");
    if (!bin) {
        printf("SKIPPED part: NLCL_BIN not set (run through ctest)\n");
        return;
    }
    const char *dir = test_tmpdir();
    char in[1200], model[1200];
    nlcl_rng r;
    nlcl_rng_seed(&r, 11, 1);
    nlcl_image img = {0};
    CHECK_OK(nlcl_image_alloc(&img, 23, 37));
    test_fill_uniform(&r, img.data, 3 * 37 * 23, -1, 1);
    snprintf(in, sizeof in, "%s/in.png", dir);
    CHECK_OK(nlcl_image_save_png(in, &img, NLCL_QUANT_ROUND, 0));
    nlcl_image_free(&img);
    nlcl_model *m = random_model(&r, 8, 1);
    snprintf(model, sizeof model, "%s/m.safetensors", dir);
    CHECK_OK(nlcl_model_save(m, model));
    nlcl_model_free(m);
    /* one file out, same size */
    CHECK(test_system("'%s' derain -q -m '%s' -o '%s/out.png' '%s'", bin, model, dir, in) == 0);
    char out[1300];
    snprintf(out, sizeof out, "%s/out.png", dir);
    nlcl_image_info info;
    CHECK_OK(nlcl_image_probe(out, &info));
    CHECK(info.width == 37 && info.height == 23);
    /* folder out, with the rain layer */
    CHECK(test_system("'%s' derain -q -m '%s' --rain-model '%s' -o '%s/res' '%s'", bin, model, model,
                      dir, in) == 0);
    snprintf(out, sizeof out, "%s/res/in_rain.png", dir);
    CHECK_OK(nlcl_image_probe(out, &info));
    /* never overwrite the input */
    struct stat before, after;
    stat(in, &before);
    CHECK(test_system("'%s' derain -q -m '%s' -o '%s' '%s' 2>/dev/null", bin, model, in, in) == 1);
    stat(in, &after);
    CHECK(before.st_mtime == after.st_mtime && before.st_size == after.st_size);
    /* bad model file: exit 1 naming the file; usage errors: exit 2 */
    CHECK(test_system("'%s' derain -m '%s' -o '%s/x.png' '%s' 2>&1 | grep -q 'in.png'", bin, in, dir, in) == 0);
    CHECK(test_system("'%s' derain -m '%s' -o '%s/x.png' '%s' 2>/dev/null", bin, in, dir, in) == 1);
    CHECK(test_system("'%s' derain --bogus 2>/dev/null", bin) == 2);
    CHECK(test_system("'%s' derain --quantize sometimes x.png 2>/dev/null", bin) == 2);
    CHECK(test_system("'%s' derain 2>/dev/null", bin) == 2);
    CHECK(test_system("'%s' derain -m '%s' '%s/missing.png' 2>/dev/null", bin, model, dir) == 1);
    /* no partial output left behind by the failures */
    CHECK(test_system("ls '%s' | grep -q tmp", dir) != 0);
    /* convert + info */
    CHECK(test_system("'%s' convert '%s' '%s/conv.safetensors' 2>/dev/null", bin, model, dir) == 0);
    CHECK(test_system("'%s' info '%s/conv.safetensors' | grep -q 'channels: *8'", bin, dir) == 0);
    CHECK(test_system("'%s' convert '%s' '%s' 2>/dev/null", bin, model, model) == 1);
}

int main(void) {
    omp_set_num_threads(2);
    if (test_data_part()) { /* test_derain_data: the authors' published outputs */
        const char *data = test_shared_data();
        if (!data) return test_skip("../shared/data is missing (official-output checks)");
        official(data);
        return test_finish("test_derain_data");
    }
    sizes_and_determinism();
    residual_model();
    malformed_models();
    refused_inputs();
    finite_weights();
    nonfinite_output();
    cli();
    return test_finish("test_derain");
}
