/* The generator's band pipeline (src/nn/gen_bands.c, the path of
 * nlcl_model_run) against the whole-image path (nlcl_gen_infer_run, which
 * runs each layer over the whole image with nlcl_instance_norm_forward):
 * bit-identical outputs for every band height, in memory and streamed
 * through temporary files, for direct and Winograd convolutions; the model
 * API's memory limit, scratch folder and band rows; refusals (a missing
 * scratch folder, not enough free space). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "nlcl/conv.h"
#include "nlcl/model.h"
#include "nlcl/weights.h"
#include "nn/generator.h"

/* Every size and band height: bands (memory, streamed) == whole image. */
static void identity(nlcl_rng *r, int C, int K, int memcheck) {
    nlcl_tensor_dict d;
    test_random_gen_dict(r, C, K, &d);
    nlcl_gen g;
    CHECK_OK(nlcl_gen_from_dict(&g, &d, "random"));
    nlcl_tensor_dict_free(&d);
    const int sizes[][2] = {{1, 1}, {3, 2}, {9, 5}, {31, 9}, {20, 37}, {70, 100}, {131, 257}};
    const int rows[] = {0, 4, 8, 12, 40};
    int nsizes = memcheck ? 4 : 7, fails = 0, runs = 0;
    for (int si = 0; si < nsizes; si++) {
        int w = sizes[si][0], h = sizes[si][1];
        size_t n = (size_t)3 * w * h;
        float *in = malloc(n * 4), *ref = malloc(n * 4), *out = malloc(n * 4);
        test_fill_uniform(r, in, n, -1, 1);
        nlcl_gen_infer ws = {0};
        CHECK_OK(nlcl_gen_infer_prepare(&ws, &g, h, w));
        CHECK_OK(nlcl_gen_infer_run(&ws, &g, in, ref));
        nlcl_gen_infer_free(&ws);
        for (size_t ri = 0; ri < sizeof rows / sizeof *rows; ri++)
            for (int streamed = 0; streamed < 2; streamed++) {
                if (memcheck && ri > 2) continue;
                nlcl_gen_bands b;
                memset(&b, 0, sizeof b);
                nlcl_gen_band_opts o = {streamed ? 1 : 0, test_tmpdir(), rows[ri]};
                CHECK_OK(nlcl_gen_bands_prepare(&b, &g, h, w, &o));
                CHECK(b.streaming == streamed);
                memset(out, 0xff, n * 4);
                CHECK_OK(nlcl_gen_bands_run(&b, &g, in, out));
                int same = memcmp(out, ref, n * 4) == 0;
                runs++;
                fails += !same;
                CHECK_MSG(same, "C %d K %d, %dx%d, %d rows per band (asked %d)%s: differs from the "
                          "whole-image path", C, K, w, h, b.R, rows[ri], streamed ? ", streamed" : "");
                nlcl_gen_bands_free(&b);
            }
        free(in), free(ref), free(out);
    }
    printf("C %d K %d: %d of %d band runs identical to the whole image\n", C, K, runs - fails, runs);
    nlcl_gen_free(&g);
}

/* The model API: memory limit, scratch folder, band rows; refusals. */
static void model_api(nlcl_rng *r) {
    nlcl_tensor_dict d;
    test_random_gen_dict(r, 16, 1, &d);
    nlcl_model *m = NULL;
    CHECK_OK(nlcl_model_from_dict(&d, "random", &m));
    nlcl_tensor_dict_free(&d);
    if (!m) return;
    const int w = 45, h = 38;
    nlcl_image in = {0}, a = {0}, b = {0};
    CHECK_OK(nlcl_image_alloc(&in, h, w));
    test_fill_uniform(r, in.data, (size_t)3 * w * h, -1, 1);
    CHECK(nlcl_model_memory_limit(m) > ((size_t)1 << 20)); /* half the RAM by default */
    CHECK_OK(nlcl_model_run_image(m, &in, &a));
    CHECK(nlcl_model_streamed(m) == 0);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/scratch", test_tmpdir());
    mkdir(dir, 0700);
    CHECK_OK(nlcl_model_set_scratch_dir(m, dir));
    nlcl_model_set_memory_limit(m, 1000);
    CHECK(nlcl_model_memory_limit(m) == 1000);
    nlcl_model_set_band_rows(m, 8);
    for (int t = 1; t <= 2; t++) { /* any thread count: the same bytes */
        omp_set_num_threads(t);
        CHECK_OK(nlcl_model_run_image(m, &in, &b));
        CHECK(nlcl_model_streamed(m) == 1);
        CHECK_MSG(a.data && b.data && memcmp(a.data, b.data, sizeof(float) * 3 * w * h) == 0,
                  "streamed in bands of 8 rows with %d thread(s): differs", t);
        nlcl_image_free(&b);
    }
    omp_set_num_threads(2);
    /* the temporary files are unlinked from the start: nothing is left */
    CHECK(test_system("test -z \"$(ls -A '%s')\"", dir) == 0);
    /* a missing scratch folder: an I/O error naming it, before any work */
    snprintf(dir, sizeof dir, "%s/no/such/folder", test_tmpdir());
    CHECK_OK(nlcl_model_set_scratch_dir(m, dir));
    CHECK_ERR(nlcl_model_run_image(m, &in, &b), NLCL_ERR_IO, "no/such/folder");
    CHECK(b.data == NULL);
    /* back in memory: no limit */
    nlcl_model_set_memory_limit(m, SIZE_MAX);
    CHECK_OK(nlcl_model_run_image(m, &in, &b));
    CHECK(nlcl_model_streamed(m) == 0);
    CHECK(a.data && b.data && memcmp(a.data, b.data, sizeof(float) * 3 * w * h) == 0);
    nlcl_image_free(&b);
    nlcl_image_free(&a);
    nlcl_image_free(&in);
    nlcl_model_free(m);
}

int main(void) {
    omp_set_num_threads(2);
    int memcheck = getenv("NLCL_MEMCHECK") != NULL;
    nlcl_rng r;
    nlcl_rng_seed(&r, 14, 1);
    identity(&r, 8, 2, memcheck);  /* 8 channels: direct convolutions, padding lanes */
    identity(&r, 16, 1, memcheck); /* 16 and 32: Winograd where this CPU measures it faster */
    const char *wino = "0,0,32,32,3,3,1,1,1,1,1=wino";
    CHECK_OK(nlcl_conv2d_choices_import(wino));
    identity(&r, 32, 2, memcheck);
    CHECK_OK(nlcl_conv2d_choices_import("0,0,32,32,3,3,1,1,1,1,1=direct"));
    identity(&r, 32, 1, memcheck);
    model_api(&r);
    return test_finish("test_bands");
}
