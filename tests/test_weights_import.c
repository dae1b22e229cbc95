/* Weights as people save them (issue 12, points 6 and 10): what the loaders
 * do to carry a file into float32 tensors is said, never done silently, in
 * the metadata entry "import" (include/nlcl/weights.h).
 *
 * Oracles: the committed fixtures of tests/fixtures/make_weight_fixtures.py
 * (written by torch.save and by hand), whose values are restated here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlcl/weights.h"

#define FIX "tests/fixtures/weights/"

/* tiny_mixed.safetensors holds F64 [0.1, 2.5]: 0.1 is rounded (reported),
 * 2.5 is exact; F16/BF16 convert exactly (no note of theirs). */
static void f64_rounding(void) {
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_safetensors_load(FIX "tiny_mixed.safetensors", &d));
    const char *note = nlcl_tensor_dict_get_meta(&d, "import");
    CHECK_MSG(note && !strcmp(note, "1 F64 value(s) in 1 tensor(s) rounded to float32 (nlcl "
                                    "computes in float32)"),
              "import note: %s", note ? note : "(none)");
    nlcl_named_tensor *t = nlcl_tensor_dict_find(&d, "dbl");
    CHECK(t && t->data[0] == 0.1f && t->data[1] == 2.5f);
    nlcl_tensor_dict_free(&d);
    /* a file of F32 only: no note */
    char p[1200];
    snprintf(p, sizeof p, "%s/f32.safetensors", test_tmpdir());
    nlcl_tensor_dict_init(&d);
    int64_t sh[1] = {2};
    float v[2] = {0.1f, 2};
    CHECK_OK(nlcl_tensor_dict_add(&d, "w", 1, sh, v, NULL));
    CHECK_OK(nlcl_safetensors_save(p, &d));
    nlcl_tensor_dict_free(&d);
    CHECK_OK(nlcl_safetensors_load(p, &d));
    CHECK(nlcl_tensor_dict_get_meta(&d, "import") == NULL);
    /* notes accumulate */
    CHECK_OK(nlcl_tensor_dict_add_note(&d, "a"));
    CHECK_OK(nlcl_tensor_dict_add_note(&d, "b"));
    CHECK(!strcmp(nlcl_tensor_dict_get_meta(&d, "import"), "a; b"));
    nlcl_tensor_dict_free(&d);
}

int main(void) {
    f64_rounding();
    return test_finish("test_weights_import");
}
