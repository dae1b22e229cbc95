/* Weights as people save them (issue 12, points 6 and 10): what the loaders
 * do to carry a file into float32 tensors is said, never done silently, in
 * the metadata entry "import" (include/nlcl/weights.h).
 *
 * Oracles: the committed fixtures of tests/fixtures/make_weight_fixtures.py
 * (written by torch.save and by hand), whose values are restated here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "harness.h"
#include "nlcl/image.h"
#include "nlcl/model.h"
#include "nlcl/weights.h"
#include "pickle_writer.h"

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

/* Checkpoints as training scripts save them (make_weight_fixtures.py,
 * written by torch.save): the state_dict under 'state_dict' (with the epoch,
 * Adam's state, a float, a list and a 2**40 beside it), 'params' (pickle
 * protocol 4) or 'model'; DataParallel's 'module.' prefix stripped; what was
 * done said in "import". The Conv2d's values are restated here. */
static void check_conv(const nlcl_tensor_dict *d, const char *file) {
    nlcl_named_tensor *w = nlcl_tensor_dict_find(d, "weight"), *b = nlcl_tensor_dict_find(d, "bias");
    CHECK_MSG(d->count == 2 && w && b, "%s: %d tensors, weight %p, bias %p", file, d->count,
              (void *)w, (void *)b);
    if (!w || !b) return;
    CHECK(w->ndim == 4 && w->shape[0] == 2 && w->shape[1] == 3 && w->shape[2] == 2 && w->numel == 24);
    int bad = 0;
    for (int i = 0; i < 24; i++) bad += w->data[i] != (float)i / 8 - 1.5f;
    CHECK_MSG(bad == 0 && b->data[0] == 0.5f && b->data[1] == -0.25f, "%s: values", file);
}

static void wrapped_checkpoints(void) {
    static const struct {
        const char *file, *note;
    } cases[] = {
        {FIX "wrapped_dp.pth", "the state_dict under 'state_dict' of a checkpoint (its other "
                               "entries ignored); the DataParallel prefix 'module.' stripped "
                               "from 2 names"},
        {FIX "wrapped_params.pth", "the state_dict under 'params' of a checkpoint (its other "
                                   "entries ignored)"},
        {FIX "wrapped_model.pth", "the state_dict under 'model' of a checkpoint (its other "
                                  "entries ignored)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nlcl_tensor_dict d;
        nlcl_status s = nlcl_weights_load(cases[i].file, &d);
        CHECK_MSG(s == NLCL_OK, "%s: %s", cases[i].file, nlcl_error_message());
        if (s != NLCL_OK) continue;
        check_conv(&d, cases[i].file);
        const char *note = nlcl_tensor_dict_get_meta(&d, "import");
        CHECK_MSG(note && !strcmp(note, cases[i].note), "%s: import note: %s", cases[i].file,
                  note ? note : "(none)");
        nlcl_tensor_dict_free(&d);
    }
    /* a plain state_dict: nothing to say */
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_weights_load(FIX "tiny_state.pth", &d));
    CHECK(nlcl_tensor_dict_get_meta(&d, "import") == NULL);
    nlcl_tensor_dict_free(&d);
    /* no known wrapper: refused, naming the entry and where state_dicts are */
    CHECK_ERR(nlcl_weights_load(FIX "wrapped_none.pth", &d), NLCL_ERR_UNSUPPORTED,
              "wrapped_none.pth: state_dict entry 'epoch' is an int, not a tensor (nor is there "
              "a state_dict under 'state_dict', 'params' or 'model'");
}

/* A generator (C 4, K 1) saved as a training script would: {'epoch': 3,
 * 'state_dict': {'module.gen.0.weight': ...}} by DataParallel. It loads as a
 * model; nlcl info and nlcl derain -v say what was done. */
static const char *wrapped_generator(void) {
    enum { C = 4, NT = 12 };
    static const char *const names[6] = {"gen.0", "gen.1.model.0.conv", "gen.1.model.1.conv",
                                         "gen.2.conv.0", "gen.2.conv.3", "gen.3"};
    static float vals[NT][C * C * 9];
    static char tname[NT][64], key[NT][8], zname[NT][128];
    pw_tensor ts[NT];
    pw_bytes pk = {0};
    pw_op(&pk, 0x80), pw_op(&pk, 2), pw_op(&pk, '}'), pw_op(&pk, '(');
    pw_str(&pk, "epoch"), pw_int(&pk, 3);
    pw_str(&pk, "state_dict");
    pw_global(&pk, "collections", "OrderedDict"), pw_op(&pk, ')'), pw_op(&pk, 'R'), pw_op(&pk, '(');
    for (int i = 0; i < NT; i++) {
        int conv = i / 2, bias = i % 2;
        int64_t cout = conv == 5 ? 3 : C, cin = conv == 0 ? 3 : C;
        int64_t n = bias ? cout : cout * cin * 9;
        snprintf(tname[i], sizeof tname[i], "module.%s.%s", names[conv], bias ? "bias" : "weight");
        snprintf(key[i], sizeof key[i], "%d", i);
        for (int64_t k = 0; k < n; k++) vals[i][k] = (float)((k * 7 + i) % 11) / 64.0f - 0.08f;
        ts[i] = (pw_tensor){tname[i], "FloatStorage", key[i], n, 0, bias ? 1 : 4,
                            {bias ? cout : cout, cin, 3, 3}, {bias ? 1 : cin * 9, 9, 3, 1}, 0};
        pw_tensor_entry(&pk, &ts[i]);
    }
    pw_op(&pk, 'u'), pw_op(&pk, 'u'), pw_op(&pk, '.');
    const char *path = test_path("wrapped_gen.pth");
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    CHECK(za != NULL);
    if (!za) return NULL;
    zip_file_add(za, "arch/data.pkl", zip_source_buffer(za, pk.b, pk.n, 0), 0);
    for (int i = 0; i < NT; i++) {
        snprintf(zname[i], sizeof zname[i], "arch/data/%s", key[i]);
        zip_file_add(za, zname[i], zip_source_buffer(za, vals[i], (size_t)ts[i].snumel * 4, 0), 0);
    }
    CHECK(zip_close(za) == 0);
    free(pk.b);
    return path;
}

static void wrapped_generator_model(void) {
    const char *path = wrapped_generator();
    if (!path) return;
    nlcl_model *m = NULL;
    CHECK_OK(nlcl_model_load(path, &m));
    if (!m) return;
    CHECK(nlcl_model_channels(m) == 4 && nlcl_model_blocks(m) == 1);
    const char *note = nlcl_model_meta(m, "import");
    CHECK(note && test_contains(note, "under 'state_dict'") && test_contains(note, "from 12 names"));
    nlcl_model_free(m);
    const char *bin = getenv("NLCL_BIN");
    if (!bin) return;
    nlcl_image img = {0};
    CHECK_OK(nlcl_image_alloc(&img, 5, 7));
    const char *in = test_path("in.png");
    CHECK_OK(nlcl_image_save_png(in, &img, NLCL_QUANT_ROUND, 0));
    nlcl_image_free(&img);
    CHECK(test_system("'%s' derain -v -m '%s' -o '%s' '%s' 2>&1 | grep -q \"import: the state_dict "
                      "under 'state_dict' of a checkpoint\"",
                      bin, path, test_path("out.png"), in) == 0);
    CHECK(test_system("'%s' info '%s' | grep -q \"'module.' stripped from 12 names\"", bin, path) == 0);
}

int main(void) {
    f64_rounding();
    wrapped_checkpoints();
    wrapped_generator_model();
    return test_finish("test_weights_import");
}
