/* Weight files (include/nlcl/weights.h): the tensor dict, safetensors
 * round trip (bit-exact) and interop with an independent Python reader and
 * writer (tests/fixtures/make_weight_fixtures.py), .pth import of
 * torch.save-made fixtures and of the authors' released generators (values
 * from torch.load), and every malformed-file class we know of, each with its
 * status and a message naming the file. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "harness.h"
#include "pickle_writer.h"
#include "nlcl/weights.h"

#define FIX "tests/fixtures/weights/"

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int dict_is_empty(const nlcl_tensor_dict *d) {
    return d->count == 0 && d->tensors == NULL && d->meta_count == 0 && d->meta_keys == NULL;
}

/* ---- tensor dict ---------------------------------------------------- */

static void test_dict(void) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    int64_t sh[2] = {2, 3};
    float v[6] = {1, 2, 3, 4, 5, 6};
    nlcl_named_tensor *t = NULL;
    CHECK_OK(nlcl_tensor_dict_add(&d, "a", 2, sh, v, &t));
    CHECK(t && t->numel == 6 && t->data[5] == 6.0f && t->ndim == 2);
    CHECK_OK(nlcl_tensor_dict_add(&d, "zero", 1, sh, NULL, &t));
    CHECK(t && t->numel == 2 && t->data[0] == 0.0f && t->data[1] == 0.0f);
    CHECK_OK(nlcl_tensor_dict_add(&d, "scalar", 0, NULL, v, &t));
    CHECK(t && t->numel == 1 && t->data[0] == 1.0f);
    CHECK_ERR(nlcl_tensor_dict_add(&d, "a", 2, sh, v, NULL), NLCL_ERR_INVALID_ARG, "duplicate tensor name 'a'");
    CHECK_ERR(nlcl_tensor_dict_add(&d, "", 2, sh, v, NULL), NLCL_ERR_INVALID_ARG, "empty tensor name");
    int64_t neg[2] = {2, -1};
    CHECK_ERR(nlcl_tensor_dict_add(&d, "neg", 2, neg, NULL, NULL), NLCL_ERR_INVALID_ARG, "negative");
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_ERR(nlcl_tensor_dict_add(&d, "r9", 9, nine, NULL, NULL), NLCL_ERR_INVALID_ARG, "rank 9");
    int64_t huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 4};
    CHECK_ERR(nlcl_tensor_dict_add(&d, "huge", 3, huge, NULL, NULL), NLCL_ERR_LIMIT, "overflow");
    /* Many tensors: growth keeps earlier ones intact. */
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", i);
        float x = (float)i;
        CHECK_OK(nlcl_tensor_dict_add(&d, name, 0, NULL, &x, NULL));
    }
    CHECK(d.count == 103);
    CHECK(nlcl_tensor_dict_find(&d, "t57") && nlcl_tensor_dict_find(&d, "t57")->data[0] == 57.0f);
    CHECK(nlcl_tensor_dict_find(&d, "a")->data[2] == 3.0f);
    CHECK(nlcl_tensor_dict_find(&d, "nope") == NULL);
    CHECK(nlcl_tensor_dict_numel(&d) == 6 + 2 + 1 + 100);
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "k", "v1"));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "k2", "x"));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "k", "v2"));
    CHECK(d.meta_count == 2);
    CHECK(strcmp(nlcl_tensor_dict_get_meta(&d, "k"), "v2") == 0);
    CHECK(nlcl_tensor_dict_get_meta(&d, "none") == NULL);
    nlcl_tensor_dict_free(&d);
    CHECK(dict_is_empty(&d));
}

/* ---- safetensors round trip ----------------------------------------- */

static void check_same(const nlcl_tensor_dict *a, const nlcl_tensor_dict *b) {
    CHECK(a->count == b->count);
    CHECK(a->meta_count == b->meta_count);
    for (int i = 0; i < a->count && i < b->count; i++) {
        const nlcl_named_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        CHECK_MSG(strcmp(x->name, y->name) == 0, "%s vs %s", x->name, y->name);
        CHECK(x->ndim == y->ndim && x->numel == y->numel);
        CHECK(memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->ndim) == 0);
        CHECK_MSG(x->numel == y->numel && (x->numel == 0 || memcmp(x->data, y->data, x->numel * 4) == 0),
                  "tensor %s differs", x->name);
    }
    for (int i = 0; i < a->meta_count; i++) {
        const char *v = nlcl_tensor_dict_get_meta(b, a->meta_keys[i]);
        CHECK_MSG(v && strcmp(v, a->meta_values[i]) == 0, "meta %s", a->meta_keys[i]);
    }
}

static void test_roundtrip(void) {
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    nlcl_rng r;
    nlcl_rng_seed(&r, 7, 0);
    int64_t s1[4] = {3, 2, 5, 7}, s2[1] = {33}, s3[2] = {0, 5};
    nlcl_named_tensor *t;
    CHECK_OK(nlcl_tensor_dict_add(&d, "gen.0.weight", 4, s1, NULL, &t));
    test_fill_uniform(&r, t->data, t->numel, -3, 3);
    CHECK_OK(nlcl_tensor_dict_add(&d, "special", 1, s2, NULL, &t));
    const uint32_t sp[] = {0x7fc00001u /* NaN with payload */, 0xff800000u, 0x7f800000u,
                           0x80000000u /* -0 */, 0x00000001u /* min subnormal */, 0x7f7fffffu};
    for (size_t i = 0; i < t->numel; i++) t->data[i] = from_bits(sp[i % 6] ^ (uint32_t)(i / 6 == 2));
    CHECK_OK(nlcl_tensor_dict_add(&d, "empty", 2, s3, NULL, NULL));
    float sc = -1.25f;
    CHECK_OK(nlcl_tensor_dict_add(&d, "scalar \"quoted\" \\ \xc3\xa9", 0, NULL, &sc, NULL));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "architecture", "nlcl-generator"));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "multi\nline", "tab\there \"q\" \x01"));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "empty", ""));

    const char *p = test_path("rt.safetensors");
    CHECK_OK(nlcl_safetensors_save(p, &d));
    nlcl_tensor_dict e;
    CHECK_OK(nlcl_safetensors_load(p, &e));
    check_same(&d, &e);
    nlcl_tensor_dict_free(&e);
    CHECK_OK(nlcl_weights_load(p, &e));
    check_same(&d, &e);
    nlcl_tensor_dict_free(&e);

    /* Layout: header length a multiple of 8, "__metadata__" first, space padding. */
    size_t len;
    unsigned char *buf = test_read_file(p, &len);
    CHECK(buf != NULL);
    if (buf) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
        CHECK(n % 8 == 0 && 8 + n <= len);
        CHECK(memcmp(buf + 8, "{\"__metadata__\":{", 17) == 0);
        size_t data = 4 * (3 * 2 * 5 * 7 + 33 + 1);
        CHECK(len == 8 + n + data);
        CHECK(buf[8 + n - 1] == '}' || buf[8 + n - 1] == ' ');
        /* the first tensor's bytes start the data section, little-endian */
        float x0 = d.tensors[0].data[0];
        uint32_t u = bits(x0);
        CHECK(buf[8 + n] == (u & 0xff) && buf[8 + n + 3] == (u >> 24));
        CHECK_OK(nlcl_safetensors_load_memory(buf, len, "mem", &e));
        check_same(&d, &e);
        nlcl_tensor_dict_free(&e);
        free(buf);
    }
    /* Overwrite in place works (atomic rename), no temporary left behind. */
    CHECK_OK(nlcl_safetensors_save(p, &d));
    CHECK(test_system("ls '%s' | grep -q tmp-", test_tmpdir()) != 0);

    /* Reserved / empty names are refused before the file is touched. */
    nlcl_tensor_dict bad;
    nlcl_tensor_dict_init(&bad);
    CHECK_OK(nlcl_tensor_dict_add(&bad, "__metadata__", 0, NULL, &sc, NULL));
    CHECK_ERR(nlcl_safetensors_save(test_path("bad.safetensors"), &bad), NLCL_ERR_INVALID_ARG,
              "'__metadata__' is not allowed");
    CHECK(access(test_path("bad.safetensors"), F_OK) != 0);
    nlcl_tensor_dict_free(&bad);
    CHECK_ERR(nlcl_safetensors_save("/nonexistent-dir/x.safetensors", &d), NLCL_ERR_IO,
              "/nonexistent-dir/x.safetensors");
    /* A dict without metadata has no "__metadata__" key. */
    nlcl_tensor_dict nm;
    nlcl_tensor_dict_init(&nm);
    CHECK_OK(nlcl_tensor_dict_add(&nm, "x", 0, NULL, &sc, NULL));
    CHECK_OK(nlcl_safetensors_save(test_path("nm.safetensors"), &nm));
    buf = test_read_file(test_path("nm.safetensors"), &len);
    CHECK(buf && len > 10 && memcmp(buf + 8, "{\"x\":", 5) == 0);
    free(buf);
    CHECK_OK(nlcl_safetensors_load(test_path("nm.safetensors"), &e));
    check_same(&nm, &e);
    nlcl_tensor_dict_free(&e);
    nlcl_tensor_dict_free(&nm);
    nlcl_tensor_dict_free(&d);
}

/* C writes, Python (struct+json, tests/fixtures/make_weight_fixtures.py
 * verify) reads and checks every value. */
static void test_python_reads_ours(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("note: /usr/bin/python3 missing, Python interop check skipped\n");
        return;
    }
    nlcl_tensor_dict d;
    nlcl_tensor_dict_init(&d);
    int64_t sa[2] = {3, 4}, sb[1] = {5}, se[2] = {0, 3};
    nlcl_named_tensor *t;
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "architecture", "test"));
    CHECK_OK(nlcl_tensor_dict_set_meta(&d, "unicode", "caf\xc3\xa9 \xe2\x98\x83 \"q\"\\"));
    CHECK_OK(nlcl_tensor_dict_add(&d, "a", 2, sa, NULL, &t));
    for (int i = 0; i < 12; i++) t->data[i] = (float)(i - 5) * 0.375f;
    CHECK_OK(nlcl_tensor_dict_add(&d, "b.bias", 1, sb, NULL, &t));
    for (int i = 0; i < 5; i++) t->data[i] = (float)((i * 7) % 13) / 16.0f - 0.5f;
    float mz = -0.0f;
    CHECK_OK(nlcl_tensor_dict_add(&d, "scalar", 0, NULL, &mz, NULL));
    CHECK_OK(nlcl_tensor_dict_add(&d, "empty", 2, se, NULL, NULL));
    const char *p = test_path("for_python.safetensors");
    CHECK_OK(nlcl_safetensors_save(p, &d));
    CHECK(test_system("/usr/bin/python3 tests/fixtures/make_weight_fixtures.py verify '%s'", p) == 0);
    nlcl_tensor_dict_free(&d);
}

/* Python wrote (hand-made, F16/F32/BF16/F64 + metadata), C reads. */
static void test_python_fixture(void) {
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_safetensors_load(FIX "tiny_mixed.safetensors", &d));
    CHECK(d.count == 4);
    if (d.count != 4) {
        nlcl_tensor_dict_free(&d);
        return;
    }
    CHECK(strcmp(d.tensors[0].name, "half") == 0 && strcmp(d.tensors[3].name, "dbl") == 0);
    const char *fmt = nlcl_tensor_dict_get_meta(&d, "format");
    const char *note = nlcl_tensor_dict_get_meta(&d, "note");
    CHECK(fmt && strcmp(fmt, "pt") == 0);
    CHECK(note && strcmp(note, "fixture \"quoted\" \xc3\xbc") == 0);
    const nlcl_named_tensor *h = nlcl_tensor_dict_find(&d, "half");
    CHECK(h && h->ndim == 2 && h->shape[0] == 2 && h->shape[1] == 3);
    const float hv[6] = {1.0f, -2.5f, 65504.0f, 5.9604644775390625e-08f /* 2^-24 */, -INFINITY,
                         0.333251953125f};
    for (int i = 0; h && i < 6; i++) CHECK_MSG(bits(h->data[i]) == bits(hv[i]), "half[%d] = %g", i, h->data[i]);
    const nlcl_named_tensor *f = nlcl_tensor_dict_find(&d, "float");
    const float fv[4] = {1.5f, -3.25f, 1e-38f, 3.4028234663852886e38f};
    for (int i = 0; f && i < 4; i++) CHECK(bits(f->data[i]) == bits(fv[i]));
    const nlcl_named_tensor *b = nlcl_tensor_dict_find(&d, "bf");
    CHECK(b && b->data[0] == 1.0078125f && b->data[1] == -3.0f);
    const nlcl_named_tensor *g = nlcl_tensor_dict_find(&d, "dbl");
    CHECK(g && g->ndim == 2 && g->shape[1] == 1 && g->data[0] == 0.1f && g->data[1] == 2.5f);
    nlcl_tensor_dict_free(&d);
}

/* ---- malformed safetensors ------------------------------------------- */

/* u64 length + header + `data` zero bytes, loaded from memory as "m.safetensors". */
static nlcl_status load_st(const char *header, size_t data, nlcl_tensor_dict *d) {
    size_t hl = strlen(header);
    unsigned char *b = calloc(1, 8 + hl + data + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    nlcl_status s = nlcl_safetensors_load_memory(b, 8 + hl + data, "m.safetensors", d);
    free(b);
    return s;
}

#define ST_ERR(hdr, data, status, sub)                                                  \
    do {                                                                                \
        nlcl_tensor_dict d_;                                                            \
        CHECK_ERR(load_st(hdr, data, &d_), status, sub);                                \
        CHECK(dict_is_empty(&d_));                                                      \
    } while (0)

static void test_bad_safetensors(void) {
    /* A valid baseline first, so the failures below are the edits'. */
    nlcl_tensor_dict d;
    CHECK_OK(load_st("{\"__metadata__\":{\"a\":\"b\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                     "\"data_offsets\":[0,24]},\"y\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[24,26]}}  ",
                     26, &d));
    CHECK(d.count == 2 && d.meta_count == 1);
    nlcl_tensor_dict_free(&d);
    CHECK_OK(load_st("{}", 0, &d)); /* no tensors at all is valid */
    CHECK(d.count == 0);
    nlcl_tensor_dict_free(&d);

    /* header not JSON / not an object / trailing garbage */
    ST_ERR("{not json}", 0, NLCL_ERR_FORMAT, "m.safetensors: header is not valid JSON");
    ST_ERR("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, NLCL_ERR_FORMAT, "not valid JSON");
    ST_ERR("[1, 2]  ", 0, NLCL_ERR_FORMAT, "does not start with '{'");
    ST_ERR("{} x", 0, NLCL_ERR_FORMAT, "trailing bytes");
    ST_ERR("{", 0, NLCL_ERR_FORMAT, "too short");
    /* dtype */
    ST_ERR("{\"w\":{\"dtype\":\"float32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT,
           "m.safetensors: tensor 'w': unknown dtype 'float32'");
    ST_ERR("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, NLCL_ERR_UNSUPPORTED,
           "tensor 'w': dtype I64 is not supported");
    ST_ERR("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT, "\"dtype\"");
    ST_ERR("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT, "missing string \"dtype\"");
    /* shape */
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20, NLCL_ERR_FORMAT,
           "tensor 'w': shape needs");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT,
           "shape[0] is not an integer in [0, 2^53]");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT,
           "shape[0] is not an integer in [0, 2^53]");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,\"2\"],\"data_offsets\":[0,8]}}", 8, NLCL_ERR_FORMAT, "shape[1]");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
           NLCL_ERR_UNSUPPORTED, "rank 9 exceeds");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT, "\"shape\"");
    /* numel * 4 overflows 64 bits: must not wrap to the range size */
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,1073741824],\"data_offsets\":[0,0]}}",
           0, NLCL_ERR_FORMAT, "more than SIZE_MAX");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[4503599627370496,4096],\"data_offsets\":[0,0]}}", 0,
           NLCL_ERR_FORMAT, "more than SIZE_MAX");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0,
           NLCL_ERR_FORMAT, "shape[0] is not an integer in [0, 2^53]");
    /* offsets */
    ST_ERR("{\"gen.0.weight\":{\"dtype\":\"F32\",\"shape\":[249999],\"data_offsets\":[0,999999]}}", 3456,
           NLCL_ERR_FORMAT,
           "m.safetensors: tensor 'gen.0.weight': data_offsets [0, 999999] exceed the data section (3456 bytes)");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, NLCL_ERR_FORMAT, "end before they begin");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, NLCL_ERR_FORMAT, "data_offsets");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, NLCL_ERR_FORMAT, "data_offsets");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, NLCL_ERR_FORMAT, "data_offsets");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, NLCL_ERR_FORMAT, "data_offsets");
    ST_ERR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}", 4, NLCL_ERR_FORMAT, "data_offsets");
    /* overlap, gap, trailing bytes */
    ST_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
           24, NLCL_ERR_FORMAT, "tensor 'b': data_offsets [8, 24] overlap tensor 'a' [0, 16]");
    ST_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
           8, NLCL_ERR_FORMAT, "overlap");
    ST_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
           24, NLCL_ERR_FORMAT, "bytes [8, 16) of the data section belong to no tensor");
    ST_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, NLCL_ERR_FORMAT,
           "bytes [8, 12) of the data section belong to no tensor");
    ST_ERR("{}", 4, NLCL_ERR_FORMAT, "no tensors but a data section of 4 bytes");
    /* names and entries */
    ST_ERR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
           8, NLCL_ERR_FORMAT, "m.safetensors: duplicate tensor name 'a'");
    ST_ERR("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NLCL_ERR_FORMAT, "empty name");
    ST_ERR("{\"a\":5}", 0, NLCL_ERR_FORMAT, "tensor 'a': entry is not a JSON object");
    /* metadata */
    ST_ERR("{\"__metadata__\":{\"k\":1}}", 0, NLCL_ERR_FORMAT, "metadata value of 'k' is not a string");
    ST_ERR("{\"__metadata__\":[\"k\"]}", 0, NLCL_ERR_FORMAT, "\"__metadata__\" is not a JSON object");
    ST_ERR("{\"__metadata__\":{},\"__metadata__\":{}}", 0, NLCL_ERR_FORMAT, "appears 2 times");
    ST_ERR("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, NLCL_ERR_FORMAT, "duplicate metadata key 'k'");

    /* header length: huge (2^64-1, 2^40), longer than the file, 0 */
    unsigned char b[64] = {0};
    memset(b, 0xff, 8);
    memcpy(b + 8, "{}", 2);
    CHECK_ERR(nlcl_safetensors_load_memory(b, 10, "m.safetensors", &d), NLCL_ERR_FORMAT,
              "m.safetensors: header length 18446744073709551615 exceeds file size 10");
    memset(b, 0, 8);
    b[5] = 1; /* 2^40 */
    CHECK_ERR(nlcl_safetensors_load_memory(b, 10, "m.safetensors", &d), NLCL_ERR_FORMAT,
              "header length 1099511627776 exceeds file size 10");
    memset(b, 0, 8);
    b[0] = 3;
    CHECK_ERR(nlcl_safetensors_load_memory(b, 10, "m.safetensors", &d), NLCL_ERR_FORMAT,
              "header length 3 exceeds file size 10");
    memset(b, 0, 8);
    CHECK_ERR(nlcl_safetensors_load_memory(b, 10, "m.safetensors", &d), NLCL_ERR_FORMAT, "too short");
    CHECK_ERR(nlcl_safetensors_load_memory(b, 5, "m.safetensors", &d), NLCL_ERR_FORMAT,
              "file is 5 bytes, too short");
    CHECK_ERR(nlcl_safetensors_load_memory(NULL, 0, "m.safetensors", &d), NLCL_ERR_FORMAT,
              "file is 0 bytes");
    CHECK(dict_is_empty(&d));

    /* A header over the 100 MB cap inside a (sparse) file that is larger
     * still: NLCL_ERR_LIMIT, refused before anything is allocated. */
    const char *big = test_path("big.safetensors");
    int fd = open(big, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd >= 0) {
        uint64_t hl = NLCL_SAFETENSORS_MAX_HEADER + 1;
        unsigned char lb[8];
        for (int i = 0; i < 8; i++) lb[i] = (unsigned char)(hl >> (8 * i));
        CHECK(write(fd, lb, 8) == 8);
        CHECK(ftruncate(fd, (off_t)(hl + 16)) == 0);
        close(fd);
        CHECK_ERR(nlcl_safetensors_load(big, &d), NLCL_ERR_LIMIT, "big.safetensors: header length 100000001 exceeds the limit");
        unlink(big);
    }

    /* Truncations of a real file at many points: each is a FORMAT error. */
    nlcl_tensor_dict w;
    nlcl_tensor_dict_init(&w);
    int64_t sh[2] = {4, 8};
    nlcl_named_tensor *t;
    CHECK_OK(nlcl_tensor_dict_add(&w, "gen.0.weight", 2, sh, NULL, &t));
    for (size_t i = 0; i < t->numel; i++) t->data[i] = (float)i;
    CHECK_OK(nlcl_tensor_dict_add(&w, "gen.0.bias", 1, sh, NULL, NULL));
    CHECK_OK(nlcl_tensor_dict_set_meta(&w, "k", "v"));
    const char *full = test_path("full.safetensors");
    CHECK_OK(nlcl_safetensors_save(full, &w));
    nlcl_tensor_dict_free(&w);
    size_t len;
    unsigned char *buf = test_read_file(full, &len);
    CHECK(buf != NULL);
    size_t cuts[] = {0, 1, 7, 8, 9, 30, 60, 0 /* end of header */, 0 /* mid data */, 0 /* len-1 */};
    uint64_t hl = 0;
    for (int i = 7; buf && i >= 0; i--) hl = hl << 8 | buf[i];
    cuts[7] = 8 + (size_t)hl;
    cuts[8] = 8 + (size_t)hl + 50;
    cuts[9] = len - 1;
    for (size_t i = 0; buf && i < sizeof cuts / sizeof *cuts; i++) {
        const char *cp = test_path("cut.safetensors");
        CHECK(test_write_file(cp, buf, cuts[i]) == 0);
        nlcl_error_clear();
        nlcl_status s = nlcl_safetensors_load(cp, &d);
        CHECK_MSG(s == NLCL_ERR_FORMAT && test_contains(nlcl_error_message(), "cut.safetensors: "),
                  "cut at %zu: %s %s", cuts[i], nlcl_status_name(s), nlcl_error_message());
        CHECK(dict_is_empty(&d));
        s = nlcl_safetensors_load_memory(buf, cuts[i], "cut", &d);
        CHECK_MSG(s == NLCL_ERR_FORMAT, "memory cut at %zu: %s", cuts[i], nlcl_status_name(s));
    }
    /* Every single-byte corruption of the header either loads or fails cleanly. */
    for (size_t i = 0; buf && i < 8 + hl; i++) {
        unsigned char *c = malloc(len);
        memcpy(c, buf, len);
        c[i] ^= 0x5a;
        nlcl_status s = nlcl_safetensors_load_memory(c, len, "fuzz", &d);
        CHECK_MSG(s == NLCL_OK || s == NLCL_ERR_FORMAT || s == NLCL_ERR_UNSUPPORTED || s == NLCL_ERR_LIMIT,
                  "byte %zu: %s", i, nlcl_status_name(s));
        if (s == NLCL_OK) nlcl_tensor_dict_free(&d);
        free(c);
    }
    free(buf);
    CHECK_ERR(nlcl_safetensors_load(test_path("missing.safetensors"), &d), NLCL_ERR_IO,
              "missing.safetensors: cannot open: No such file");
    CHECK_ERR(nlcl_safetensors_load(test_tmpdir(), &d), NLCL_ERR_IO, "directory");
}

/* ---- .pth: building archives in C -------------------------------------- */

typedef struct {
    const char *name;
    const void *data;
    size_t len;
    int deflate;
} zentry;

static void write_zip(const char *path, const zentry *e, int n) {
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za) abort();
    for (int i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(za, e[i].data, e[i].len, 0);
        zip_int64_t idx = src ? zip_file_add(za, e[i].name, src, ZIP_FL_OVERWRITE) : -1;
        if (idx < 0) abort();
        zip_set_file_compression(za, (zip_uint64_t)idx, e[i].deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    if (zip_close(za) != 0) abort();
}

/* A .pth whose pickle is `pk` and whose storages are given as (key, floats, count). */
static const char *make_pth(const char *fname, const pw_bytes *pk, const char *const *keys,
                            const float *const *vals, const size_t *counts, int ns, int deflate) {
    const char *path = test_path(fname);
    zentry e[16];
    char names[16][64];
    int n = 0;
    e[n++] = (zentry){"arch/data.pkl", pk->b, pk->n, deflate};
    for (int i = 0; i < ns && n < 15; i++, n++) {
        snprintf(names[n], sizeof names[n], "arch/data/%s", keys[i]);
        e[n] = (zentry){names[n], vals[i], counts[i] * 4, deflate};
    }
    e[n++] = (zentry){"arch/version", "3\n", 2, 0};
    write_zip(path, e, n);
    return path;
}

static nlcl_status load_one(const pw_tensor *t, const char *key, const float *v, size_t cnt,
                            nlcl_tensor_dict *d) {
    pw_bytes pk = {0};
    pw_state_dict(&pk, t, 1);
    const char *p = make_pth("one.pth", &pk, &key, &v, &cnt, key ? 1 : 0, 0);
    free(pk.b);
    nlcl_status s = nlcl_pth_load(p, d);
    if (s != NLCL_OK) CHECK(dict_is_empty(d));
    return s;
}

/* A pickle given as raw bytes inside an otherwise valid archive. */
static nlcl_status load_raw(const void *pkl, size_t n, nlcl_tensor_dict *d) {
    pw_bytes pk = {0};
    pw_put(&pk, pkl, n);
    const char *p = make_pth("raw.pth", &pk, NULL, NULL, NULL, 0, 0);
    free(pk.b);
    nlcl_status s = nlcl_pth_load(p, d);
    if (s != NLCL_OK) CHECK(dict_is_empty(d));
    return s;
}
#define RAW(lit) lit, sizeof(lit) - 1

static void test_pth_built(void) {
    nlcl_tensor_dict d;
    /* A valid archive: shared storage, offsets crossing the 64 KiB read
     * chunks, size-1 dims with arbitrary strides, deflated entries. */
    enum { BIG = 40000 };
    float *big = malloc(BIG * sizeof(float));
    for (int i = 0; i < BIG; i++) big[i] = (float)i * 0.5f - 7.0f;
    float small[6] = {1, 2, 3, 4, 5, 6};
    pw_tensor ts[3] = {
        {"big.view", "FloatStorage", "0", BIG, 16383, 2, {100, 200}, {200, 1}, 0},
        {"big.head", "FloatStorage", "0", BIG, 0, 3, {1, 3, 1}, {99, 1, 5}, 0},
        {"small", "FloatStorage", "k_1", 6, 0, 2, {2, 3}, {3, 1}, 0},
    };
    const char *keys[2] = {"0", "k_1"};
    const float *vals[2] = {big, small};
    size_t counts[2] = {BIG, 6};
    for (int deflate = 0; deflate < 2; deflate++) {
        pw_bytes pk = {0};
        pw_state_dict(&pk, ts, 3);
        const char *p = make_pth(deflate ? "ok_deflate.pth" : "ok.pth", &pk, keys, vals, counts, 2, deflate);
        free(pk.b);
        CHECK_OK(nlcl_weights_load(p, &d));
        CHECK(d.count == 3);
        const nlcl_named_tensor *v = nlcl_tensor_dict_find(&d, "big.view");
        CHECK(v && v->numel == 20000 && v->shape[1] == 200);
        int bad = 0;
        for (int i = 0; v && i < 20000; i++) bad += v->data[i] != big[16383 + i];
        CHECK(bad == 0);
        const nlcl_named_tensor *h = nlcl_tensor_dict_find(&d, "big.head");
        CHECK(h && h->numel == 3 && h->data[0] == big[0] && h->data[2] == big[2]);
        const nlcl_named_tensor *s = nlcl_tensor_dict_find(&d, "small");
        CHECK(s && s->data[5] == 6.0f);
        CHECK(d.count == 3 && strcmp(d.tensors[0].name, "big.view") == 0 &&
              strcmp(d.tensors[2].name, "small") == 0);
        nlcl_tensor_dict_free(&d);
    }

    /* Tensor / storage mismatches. */
    pw_tensor t = {"a", "FloatStorage", "0", 6, 0, 2, {2, 3}, {3, 1}, 0};
    CHECK_ERR(load_one(&t, "0", small, 2, &d), NLCL_ERR_FORMAT,
              "one.pth: arch/data/0 holds 8 bytes, expected 24 (storage of tensor 'a'");
    CHECK_ERR(load_one(&t, NULL, NULL, 0, &d), NLCL_ERR_FORMAT, "storage '0' of tensor 'a' is missing");
    t.snumel = 4;
    CHECK_ERR(load_one(&t, "0", small, 4, &d), NLCL_ERR_FORMAT,
              "tensor 'a': elements [0, 6) lie outside its storage '0' of 4 elements");
    t.snumel = 6;
    t.offset = 1;
    CHECK_ERR(load_one(&t, "0", small, 6, &d), NLCL_ERR_FORMAT, "elements [1, 7) lie outside");
    t.offset = -1;
    CHECK_ERR(load_one(&t, "0", small, 6, &d), NLCL_ERR_FORMAT, "lie outside");
    t.offset = 0;
    t.stride[0] = 1, t.stride[1] = 2; /* a transpose */
    CHECK_ERR(load_one(&t, "0", small, 6, &d), NLCL_ERR_UNSUPPORTED, "tensor 'a': stride (1, 2) is not contiguous");
    t.stride[0] = 3, t.stride[1] = 1;
    t.size[1] = -3;
    CHECK_ERR(load_one(&t, "0", small, 6, &d), NLCL_ERR_FORMAT, "tensor 'a': ");
    t.size[1] = 3;
    t.stype = "DoubleStorage";
    CHECK_ERR(load_one(&t, "0", big, 12, &d), NLCL_ERR_UNSUPPORTED, "tensor 'a': dtype torch.DoubleStorage is not supported");
    t.stype = "HalfStorage";
    CHECK_ERR(load_one(&t, "0", small, 3, &d), NLCL_ERR_UNSUPPORTED, "torch.HalfStorage");
    t.stype = "FloatStorage";
    t.key = "../../etc/passwd";
    CHECK_ERR(load_one(&t, "0", small, 6, &d), NLCL_ERR_FORMAT, "storage key has characters");
    t.key = "0";
    t.ndim = 9;
    for (int i = 0; i < 9; i++) t.size[i] = 1, t.stride[i] = 1;
    t.snumel = 1;
    CHECK_ERR(load_one(&t, "0", small, 1, &d), NLCL_ERR_UNSUPPORTED, "rank 9 exceeds");
    /* an empty tensor on an empty storage is fine */
    pw_tensor z = {"e", "FloatStorage", "0", 0, 0, 2, {0, 4}, {4, 1}, 0};
    CHECK_OK(load_one(&z, "0", small, 0, &d));
    CHECK(d.count == 1 && d.tensors[0].numel == 0 && d.tensors[0].shape[1] == 4);
    nlcl_tensor_dict_free(&d);

    /* Same key twice: consistent = shared storage, inconsistent = error;
     * duplicate state_dict keys. */
    pw_tensor two[2] = {{"a", "FloatStorage", "0", 6, 0, 1, {6}, {1}, 0},
                      {"b", "FloatStorage", "0", 5, 0, 1, {5}, {1}, 0}};
    pw_bytes pk = {0};
    pw_state_dict(&pk, two, 2);
    const char *k0 = "0";
    const float *v0 = small;
    size_t c6 = 6;
    const char *p = make_pth("two.pth", &pk, &k0, &v0, &c6, 1, 0);
    CHECK_ERR(nlcl_pth_load(p, &d), NLCL_ERR_FORMAT, "storage '0' is declared with different types or sizes");
    free(pk.b);
    two[1].snumel = 6;
    two[1].name = "a";
    pk = (pw_bytes){0};
    pw_state_dict(&pk, two, 2);
    p = make_pth("dup.pth", &pk, &k0, &v0, &c6, 1, 0);
    CHECK_ERR(nlcl_pth_load(p, &d), NLCL_ERR_FORMAT, "duplicate tensor name 'a'");

    /* Archive structure: no data.pkl, two roots, big-endian, a lying size. */
    zentry e1[1] = {{"x/version", "3\n", 2, 0}};
    write_zip(test_path("nopkl.pth"), e1, 1);
    CHECK_ERR(nlcl_pth_load(test_path("nopkl.pth"), &d), NLCL_ERR_FORMAT, "nopkl.pth: zip archive has no <root>/data.pkl");
    zentry e2[2] = {{"x/data.pkl", pk.b, pk.n, 0}, {"y/data.pkl", pk.b, pk.n, 0}};
    write_zip(test_path("tworoots.pth"), e2, 2);
    CHECK_ERR(nlcl_pth_load(test_path("tworoots.pth"), &d), NLCL_ERR_FORMAT, "more than one <root>/data.pkl");
    zentry e3[3] = {{"r/data.pkl", pk.b, pk.n, 0}, {"r/byteorder", "big", 3, 0}, {"r/data/0", small, 24, 0}};
    write_zip(test_path("big_endian.pth"), e3, 3);
    CHECK_ERR(nlcl_pth_load(test_path("big_endian.pth"), &d), NLCL_ERR_UNSUPPORTED, "not little-endian");
    e3[1] = (zentry){"r/byteorder", "little", 6, 0};
    two[1].name = "b";
    free(pk.b);
    pk = (pw_bytes){0};
    pw_state_dict(&pk, two, 2);
    e3[0] = (zentry){"r/data.pkl", pk.b, pk.n, 0};
    write_zip(test_path("little.pth"), e3, 3);
    CHECK_OK(nlcl_pth_load(test_path("little.pth"), &d));
    CHECK(d.count == 2 && d.tensors[0].data[5] == 6.0f && d.tensors[1].numel == 5 && d.tensors[1].data[4] == 5.0f);
    nlcl_tensor_dict_free(&d);
    /* Shrink data.pkl's recorded sizes (local and central headers) by 5:
     * the content no longer matches its CRC. */
    size_t len;
    unsigned char *zb = test_read_file(test_path("little.pth"), &len);
    if (zb && memcmp(zb, "PK\3\4", 4) == 0) {
        uint32_t sz = (uint32_t)pk.n - 5;
        memcpy(zb + 18, &sz, 4);
        memcpy(zb + 22, &sz, 4);
        for (size_t i = 0; i + 46 < len; i++)
            if (memcmp(zb + i, "PK\1\2", 4) == 0) {
                memcpy(zb + i + 20, &sz, 4);
                memcpy(zb + i + 24, &sz, 4);
                break;
            }
        CHECK(test_write_file(test_path("lying.pth"), zb, len) == 0);
        nlcl_error_clear();
        nlcl_status s = nlcl_pth_load(test_path("lying.pth"), &d);
        CHECK_MSG(s == NLCL_ERR_FORMAT && test_contains(nlcl_error_message(), "lying.pth"), "%s: %s",
                  nlcl_status_name(s), nlcl_error_message());
    }
    free(zb);
    free(pk.b);

    /* data.pkl over the 64 MiB cap (deflated to ~64 KiB in the archive). */
    size_t hugelen = (size_t)NLCL_PTH_MAX_PICKLE + 1;
    unsigned char *huge = calloc(1, hugelen);
    zentry e4[1] = {{"h/data.pkl", huge, hugelen, 1}};
    write_zip(test_path("hugepkl.pth"), e4, 1);
    free(huge);
    CHECK_ERR(nlcl_pth_load(test_path("hugepkl.pth"), &d), NLCL_ERR_LIMIT, "h/data.pkl is 67108865 bytes, over the");

    /* The unpickler: foreign opcodes and globals, bad structure, limits. */
    CHECK_ERR(load_raw(RAW("\x80\x02\x63\x62uiltins\neval\nX\x01\x00\x00\x00" "1\x85R."), &d), NLCL_ERR_UNSUPPORTED,
              "raw.pth: pickle global 'builtins.eval' (opcode 'c' GLOBAL) is not allowed");
    CHECK_ERR(load_raw(RAW("\x80\x02\x63posix\nsystem\n."), &d), NLCL_ERR_UNSUPPORTED, "'posix.system'");
    CHECK_ERR(load_raw(RAW("\x80\x02\x63torch\nload\n."), &d), NLCL_ERR_UNSUPPORTED, "'torch.load'");
    CHECK_ERR(load_raw(RAW("\x80\x02\x63torch\nFloat/Storage\n."), &d), NLCL_ERR_UNSUPPORTED, "not allowed");
    CHECK_ERR(load_raw(RAW("\x80\x02\x63torch\nFloatStorage\n)R."), &d), NLCL_ERR_UNSUPPORTED,
              "pickle opcode 'R' (REDUCE) on FloatStorage is not allowed");
    CHECK_ERR(load_raw(RAW("\x80\x02)X\x01\x00\x00\x00" "a\x85R."), &d), NLCL_ERR_UNSUPPORTED,
              "opcode 'R' (REDUCE) on a tuple is not allowed");
    CHECK_ERR(load_raw(RAW("\x80\x02\x63" "collections\nOrderedDict\nK\x01\x85R."), &d), NLCL_ERR_UNSUPPORTED,
              "only OrderedDict() is allowed");
    CHECK_ERR(load_raw(RAW("\x80\x02(cos\nsystem\nX\x02\x00\x00\x00lsi."), &d), NLCL_ERR_UNSUPPORTED, "'os.system'");
    CHECK_ERR(load_raw(RAW("\x80\x02(X\x02\x00\x00\x00osX\x06\x00\x00\x00systemi."), &d), NLCL_ERR_UNSUPPORTED,
              "pickle opcode 'i' (INST) is not allowed");
    CHECK_ERR(load_raw(RAW("\x80\x04X\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93."), &d), NLCL_ERR_UNSUPPORTED,
              "pickle global 'os.system' (opcode 0x93 STACK_GLOBAL) is not allowed");
    CHECK_ERR(load_raw(RAW("\x80\x02]."), &d), NLCL_ERR_UNSUPPORTED, "the pickle holds a list, not a state_dict");
    CHECK_ERR(load_raw(RAW("\x80\x02)\x81."), &d), NLCL_ERR_UNSUPPORTED, "0x81 (NEWOBJ)");
    CHECK_ERR(load_raw(RAW("\x80\x02\xff."), &d), NLCL_ERR_UNSUPPORTED, "0xff (unknown)");
    CHECK_ERR(load_raw(RAW("\x80\x06}."), &d), NLCL_ERR_UNSUPPORTED, "protocol");
    CHECK_ERR(load_raw(RAW("\x80\x02)K\x01\x62."), &d), NLCL_ERR_UNSUPPORTED, "opcode 'b' (BUILD) on a tuple");
    CHECK_ERR(load_raw(RAW("\x80\x02K\x05."), &d), NLCL_ERR_UNSUPPORTED, "the pickle holds an int, not a state_dict");
    CHECK_ERR(load_raw(RAW("\x80\x02}X\x01\x00\x00\x00" "aK\x05s."), &d), NLCL_ERR_UNSUPPORTED,
              "state_dict entry 'a' is an int, not a tensor");
    CHECK_ERR(load_raw(RAW("\x80\x02}K\x01K\x05s."), &d), NLCL_ERR_FORMAT, "key that is not a non-empty string");
    CHECK_ERR(load_raw(RAW("\x80\x02}X\x01\x00\x00\x00"), &d), NLCL_ERR_FORMAT, "truncated");
    CHECK_ERR(load_raw(RAW("\x80\x02}"), &d), NLCL_ERR_FORMAT, "ends without STOP");
    CHECK_ERR(load_raw(RAW(""), &d), NLCL_ERR_FORMAT, "ends without STOP");
    CHECK_ERR(load_raw(RAW("\x80\x02R."), &d), NLCL_ERR_FORMAT, "stack underflow");
    CHECK_ERR(load_raw(RAW("\x80\x02."), &d), NLCL_ERR_FORMAT, "stack underflow");
    CHECK_ERR(load_raw(RAW("\x80\x02}(s."), &d), NLCL_ERR_FORMAT, "stack underflow");
    CHECK_ERR(load_raw(RAW("\x80\x02t."), &d), NLCL_ERR_FORMAT, "no MARK");
    CHECK_ERR(load_raw(RAW("\x80\x02}(K\x01u."), &d), NLCL_ERR_FORMAT, "odd item count");
    CHECK_ERR(load_raw(RAW("\x80\x02h\x07."), &d), NLCL_ERR_FORMAT, "memo entry that was never stored");
    CHECK_ERR(load_raw(RAW("\x80\x02}r\xff\xff\xff\xff."), &d), NLCL_ERR_LIMIT, "memo index");
    CHECK_ERR(load_raw(RAW("\x80\x02X\xff\xff\xff\x7f"), &d), NLCL_ERR_LIMIT, "string exceeds");
    CHECK_ERR(load_raw(RAW("\x80\x02X\x00\x01\x00\x00" "abc"), &d), NLCL_ERR_FORMAT, "truncated");
    CHECK_ERR(load_raw(RAW("\x80\x02\x63os"), &d), NLCL_ERR_FORMAT, "GLOBAL argument is unterminated");
    CHECK_ERR(load_raw(RAW("\x80\x02}K\x01Q."), &d), NLCL_ERR_UNSUPPORTED, "persistent id is not a ('storage'");
    CHECK_ERR(load_raw(RAW("\x80\x02(X\x07\x00\x00\x00storageK\x01K\x02K\x03K\x04tQ."), &d), NLCL_ERR_FORMAT,
              "persistent id has the wrong types");
    /* a cycle (d['x'] = d) must neither loop nor leak */
    CHECK_ERR(load_raw(RAW("\x80\x02}q\x00X\x01\x00\x00\x00xh\x00s."), &d), NLCL_ERR_UNSUPPORTED, "is a dict, not a tensor");
    /* MEMOIZE (protocol 4) stores at the memo's length, past the first 256 entries too */
    CHECK_ERR(load_raw(RAW("\x80\x04\x94."), &d), NLCL_ERR_FORMAT, "stack underflow");
    pw_bytes memo = {0};
    pw_op(&memo, 0x80);
    pw_op(&memo, 4);
    pw_op(&memo, '}');
    for (int i = 0; i < 300; i++) pw_op(&memo, 0x94);
    pw_op(&memo, 'X');
    pw_op(&memo, 1), pw_op(&memo, 0), pw_op(&memo, 0), pw_op(&memo, 0), pw_op(&memo, 'x');
    pw_op(&memo, 'j');
    pw_op(&memo, 299 & 255), pw_op(&memo, 299 >> 8), pw_op(&memo, 0), pw_op(&memo, 0);
    pw_op(&memo, 's');
    pw_op(&memo, '.');
    CHECK_ERR(load_raw(memo.b, memo.n, &d), NLCL_ERR_UNSUPPORTED, "is a dict, not a tensor");
    memo.n -= 7; /* LONG_BINGET 300: never stored */
    pw_op(&memo, 'j');
    pw_op(&memo, 300 & 255), pw_op(&memo, 300 >> 8), pw_op(&memo, 0), pw_op(&memo, 0);
    pw_op(&memo, 's');
    pw_op(&memo, '.');
    CHECK_ERR(load_raw(memo.b, memo.n, &d), NLCL_ERR_FORMAT, "memo entry that was never stored");
    free(memo.b);
    /* deep MARK nesting and a huge stack hit limits, not the C stack */
    pw_bytes deep = {0};
    pw_op(&deep, 0x80);
    pw_op(&deep, 2);
    for (int i = 0; i < 70000; i++) pw_op(&deep, '(');
    pw_op(&deep, '.');
    CHECK_ERR(load_raw(deep.b, deep.n, &d), NLCL_ERR_LIMIT, "MARK nesting");
    deep.n = 2;
    pw_op(&deep, '}');
    pw_op(&deep, 'q');
    pw_op(&deep, 0);
    for (int i = 0; i < (1 << 20) + 1; i++) pw_op(&deep, 'h'), pw_op(&deep, 0);
    pw_op(&deep, '.');
    CHECK_ERR(load_raw(deep.b, deep.n, &d), NLCL_ERR_LIMIT, "stack exceeds");
    free(deep.b);
    /* Every truncation of a valid pickle fails cleanly. */
    pw_tensor one = {"w", "FloatStorage", "0", 6, 0, 2, {2, 3}, {3, 1}, 0};
    pw_bytes good = {0};
    pw_state_dict(&good, &one, 1);
    for (size_t cut = 0; cut < good.n; cut++) {
        nlcl_error_clear();
        nlcl_status s = load_raw(good.b, cut, &d);
        CHECK_MSG(s == NLCL_ERR_FORMAT || s == NLCL_ERR_UNSUPPORTED, "pickle cut at %zu: %s %s", cut,
                  nlcl_status_name(s), nlcl_error_message());
    }
    free(good.b);
    free(big);
}

/* ---- .pth: torch.save-made fixtures -------------------------------- */

static void test_pth_torch_fixtures(void) {
    nlcl_tensor_dict d;
    CHECK_OK(nlcl_pth_load(FIX "tiny_state.pth", &d));
    const char *names[6] = {"weight", "bias", "shared.head", "shared.tail", "scalar", "empty"};
    CHECK(d.count == 6);
    for (int i = 0; i < 6 && i < d.count; i++) CHECK(strcmp(d.tensors[i].name, names[i]) == 0);
    const nlcl_named_tensor *w = nlcl_tensor_dict_find(&d, "weight");
    CHECK(w && w->ndim == 4 && w->shape[0] == 2 && w->shape[1] == 3 && w->shape[2] == 2 && w->shape[3] == 2);
    for (int i = 0; w && i < 24; i++) CHECK(w->data[i] == (float)i / 8.0f - 1.5f);
    const nlcl_named_tensor *b = nlcl_tensor_dict_find(&d, "bias");
    CHECK(b && b->numel == 2 && b->data[0] == 0.5f && b->data[1] == -0.25f);
    const nlcl_named_tensor *h = nlcl_tensor_dict_find(&d, "shared.head");
    CHECK(h && h->numel == 3 && h->data[0] == 0.0f && h->data[1] == 0.25f && h->data[2] == 0.5f);
    const nlcl_named_tensor *t = nlcl_tensor_dict_find(&d, "shared.tail"); /* storage offset 3 */
    CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 2);
    for (int i = 0; t && i < 4; i++) CHECK(t->data[i] == (float)(3 + i) / 4.0f);
    const nlcl_named_tensor *s = nlcl_tensor_dict_find(&d, "scalar");
    CHECK(s && s->ndim == 0 && s->numel == 1 && s->data[0] == 3.25f);
    const nlcl_named_tensor *e = nlcl_tensor_dict_find(&d, "empty");
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 4 && e->numel == 0);

    /* What `nlcl convert` does: .pth -> safetensors -> identical tensors. */
    const char *p = test_path("converted.safetensors");
    CHECK_OK(nlcl_safetensors_save(p, &d));
    nlcl_tensor_dict c;
    CHECK_OK(nlcl_weights_load(p, &c));
    check_same(&d, &c);
    nlcl_tensor_dict_free(&c);
    nlcl_tensor_dict_free(&d);
    CHECK_OK(nlcl_weights_load(FIX "tiny_state.pth", &d));
    CHECK(d.count == 6);
    nlcl_tensor_dict_free(&d);

    CHECK_ERR(nlcl_weights_load(FIX "evil.pth", &d), NLCL_ERR_UNSUPPORTED,
              "evil.pth: pickle global 'os.system' (opcode 'c' GLOBAL) is not allowed");
    CHECK(dict_is_empty(&d));
    CHECK_ERR(nlcl_pth_load(FIX "noncontig.pth", &d), NLCL_ERR_UNSUPPORTED,
              "noncontig.pth: tensor 't': stride (1, 3) is not contiguous");
    CHECK_ERR(nlcl_pth_load(FIX "double.pth", &d), NLCL_ERR_UNSUPPORTED,
              "double.pth: tensor 'd': dtype torch.DoubleStorage is not supported");

    /* Truncated archives, a text file, an empty file, a missing file, a legacy pickle. */
    size_t len;
    unsigned char *buf = test_read_file(FIX "tiny_state.pth", &len);
    CHECK(buf != NULL);
    size_t cuts[] = {0, 3, 30, 100, 700, 0, 0, 0, 0};
    cuts[5] = len / 2, cuts[6] = len - 100, cuts[7] = len - 22, cuts[8] = len - 1;
    for (size_t i = 0; buf && i < sizeof cuts / sizeof *cuts; i++) {
        const char *cp = test_path("cut.pth");
        CHECK(test_write_file(cp, buf, cuts[i]) == 0);
        nlcl_error_clear();
        nlcl_status st = nlcl_pth_load(cp, &d);
        CHECK_MSG(st == NLCL_ERR_FORMAT && test_contains(nlcl_error_message(), "cut.pth: "),
                  "cut at %zu: %s %s", cuts[i], nlcl_status_name(st), nlcl_error_message());
        CHECK(dict_is_empty(&d));
        st = nlcl_weights_load(cp, &d); /* routed by content; still a clean failure */
        CHECK_MSG(st == NLCL_ERR_FORMAT, "weights_load cut at %zu: %s", cuts[i], nlcl_status_name(st));
    }
    /* Flip each byte of the archive in turn (every 7th, to keep it quick):
     * never a crash; a flipped storage byte must fail the CRC. */
    for (size_t i = 0; buf && i < len; i += 7) {
        unsigned char *c = malloc(len);
        memcpy(c, buf, len);
        c[i] ^= 0x20;
        const char *cp = test_path("flip.pth");
        CHECK(test_write_file(cp, c, len) == 0);
        free(c);
        nlcl_status st = nlcl_pth_load(cp, &d);
        if (st == NLCL_OK) nlcl_tensor_dict_free(&d);
        CHECK_MSG(st == NLCL_OK || st == NLCL_ERR_FORMAT || st == NLCL_ERR_UNSUPPORTED || st == NLCL_ERR_LIMIT,
                  "flip at %zu: %s", i, nlcl_status_name(st));
    }
    /* A flipped byte inside each storage and inside data.pkl: CRC error. */
    const char *entries[3] = {"tiny_state/data.pkl", "tiny_state/data/0", "tiny_state/data/2"};
    for (int k = 0; k < 3; k++) {
        long at = -1;
        size_t nl = strlen(entries[k]);
        for (size_t i = 0; buf && i + 30 + nl < len; i++) {
            if (memcmp(buf + i, "PK\3\4", 4) != 0) continue;
            size_t n = (size_t)(buf[i + 26] | buf[i + 27] << 8), m = (size_t)(buf[i + 28] | buf[i + 29] << 8);
            if (n == nl && memcmp(buf + i + 30, entries[k], nl) == 0) {
                at = (long)(i + 30 + n + m) + 5;
                break;
            }
        }
        CHECK(at > 0);
        if (at <= 0) continue;
        unsigned char *c = malloc(len);
        memcpy(c, buf, len);
        c[at] ^= 0x01;
        CHECK(test_write_file(test_path("crc.pth"), c, len) == 0);
        free(c);
        CHECK_ERR(nlcl_pth_load(test_path("crc.pth"), &d), NLCL_ERR_FORMAT, entries[k]);
        CHECK(test_contains(nlcl_error_message(), "CRC"));
    }
    free(buf);
    CHECK(test_write_file(test_path("text.pth"), "this is not a zip\n", 18) == 0);
    CHECK_ERR(nlcl_pth_load(test_path("text.pth"), &d), NLCL_ERR_FORMAT, "text.pth: not a zip archive");
    CHECK(test_write_file(test_path("empty.pth"), "", 0) == 0);
    CHECK_ERR(nlcl_pth_load(test_path("empty.pth"), &d), NLCL_ERR_FORMAT, "empty.pth: ");
    CHECK_ERR(nlcl_weights_load(test_path("empty.pth"), &d), NLCL_ERR_FORMAT, "empty.pth: file is 0 bytes");
    CHECK_ERR(nlcl_pth_load(test_path("nothere.pth"), &d), NLCL_ERR_IO, "nothere.pth");
    CHECK_ERR(nlcl_weights_load(test_path("nothere.pth"), &d), NLCL_ERR_IO, "nothere.pth");
    CHECK(test_write_file(test_path("legacy.pth"), "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15) == 0);
    CHECK_ERR(nlcl_weights_load(test_path("legacy.pth"), &d), NLCL_ERR_UNSUPPORTED, "legacy (pre-1.6)");
}

/* ---- the authors' released generators ------------------------------- */

/* Oracle values computed once with torch 1.13 (Debian python3-torch):
 *   /usr/bin/python3 -c "import torch; sd = torch.load(
 *     '../shared/data/nlcl_official/weights/latest_net_Back.pth', map_location='cpu');
 *     print(len(sd), sum(v.numel() for v in sd.values()),
 *           repr(sum(float(v.double().sum()) for v in sd.values())),
 *           repr(sum(float(v.double().abs().sum()) for v in sd.values())));
 *     print('%.9g' % sd['gen.0.weight'][31,2,2,2])"   (and so on, also for _Rain)
 * Specific values are compared bit for bit. */
typedef struct {
    const char *file;
    double sum, abssum;
    uint32_t w0_first, w0_last, g9_17_5_1_2, g18_bias2, g17c3_bias0;
} oracle;

static void test_official(const char *root) {
    const oracle o[2] = {
        {"latest_net_Back.pth", -347.4355027612529, 36838.81209942883, 0x3e224cd3u, 0xbe300d9au,
         0x3e05ab72u, 0x3e14d71au, 0xbc078367u},
        {"latest_net_Rain.pth", -103.16533103451707, 43135.01554923868, 0x3ef04af8u, 0x3e86379du,
         0x3e489c59u, 0x3db8d2c1u, 0x3abcb1d1u},
    };
    for (int k = 0; k < 2; k++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/nlcl_official/weights/%s", root, o[k].file);
        if (access(path, R_OK) != 0) { /* ../shared/data is there: so must the weights be */
            CHECK_MSG(0, "%s missing", path);
            continue;
        }
        nlcl_tensor_dict d;
        CHECK_OK(nlcl_weights_load(path, &d));
        CHECK_MSG(d.count == 72, "%s: %d tensors", o[k].file, d.count);
        CHECK(nlcl_tensor_dict_numel(&d) == 316195);
        /* Names and shapes as in nlcl-reference.md section 5.1, in order. */
        int idx = 0, bad = 0;
#define EXPECT(nm, nd, a, b, c, e)                                                             \
    do {                                                                                       \
        const nlcl_named_tensor *t_ = idx < d.count ? &d.tensors[idx] : NULL;                  \
        int64_t s_[4] = {a, b, c, e};                                                          \
        if (!t_ || strcmp(t_->name, nm) != 0 || t_->ndim != nd ||                              \
            memcmp(t_->shape, s_, sizeof(int64_t) * nd) != 0) {                                \
            bad++;                                                                             \
            fprintf(stderr, "tensor %d: want %s\n", idx, nm);                                  \
        }                                                                                      \
        idx++;                                                                                 \
    } while (0)
        EXPECT("gen.0.weight", 4, 32, 3, 3, 3);
        EXPECT("gen.0.bias", 1, 32, 0, 0, 0);
        for (int b = 1; b <= 16; b++) {
            char n[64];
            for (int m = 0; m < 2; m++) {
                snprintf(n, sizeof n, "gen.%d.model.%d.conv.weight", b, m);
                EXPECT(n, 4, 32, 32, 3, 3);
                snprintf(n, sizeof n, "gen.%d.model.%d.conv.bias", b, m);
                EXPECT(n, 1, 32, 0, 0, 0);
            }
        }
        EXPECT("gen.17.conv.0.weight", 4, 32, 32, 3, 3);
        EXPECT("gen.17.conv.0.bias", 1, 32, 0, 0, 0);
        EXPECT("gen.17.conv.3.weight", 4, 32, 32, 3, 3);
        EXPECT("gen.17.conv.3.bias", 1, 32, 0, 0, 0);
        EXPECT("gen.18.weight", 4, 3, 32, 3, 3);
        EXPECT("gen.18.bias", 1, 3, 0, 0, 0);
#undef EXPECT
        CHECK(bad == 0 && idx == 72);
        double sum = 0, abssum = 0;
        for (int i = 0; i < d.count; i++)
            for (size_t j = 0; j < d.tensors[i].numel; j++) {
                sum += d.tensors[i].data[j];
                abssum += fabs(d.tensors[i].data[j]);
            }
        CHECK_NEAR(sum, o[k].sum, 1e-9);
        CHECK_NEAR(abssum, o[k].abssum, 1e-8);
        const nlcl_named_tensor *w0 = nlcl_tensor_dict_find(&d, "gen.0.weight");
        const nlcl_named_tensor *g9 = nlcl_tensor_dict_find(&d, "gen.9.model.1.conv.weight");
        const nlcl_named_tensor *b18 = nlcl_tensor_dict_find(&d, "gen.18.bias");
        const nlcl_named_tensor *b17 = nlcl_tensor_dict_find(&d, "gen.17.conv.3.bias");
        CHECK(w0 && bits(w0->data[0]) == o[k].w0_first);
        CHECK(w0 && bits(w0->data[31 * 27 + 2 * 9 + 2 * 3 + 2]) == o[k].w0_last);
        CHECK(g9 && bits(g9->data[17 * 288 + 5 * 9 + 1 * 3 + 2]) == o[k].g9_17_5_1_2);
        CHECK(b18 && bits(b18->data[2]) == o[k].g18_bias2);
        CHECK(b17 && bits(b17->data[0]) == o[k].g17c3_bias0);
        nlcl_tensor_dict_free(&d);
    }
}

int main(void) {
    if (test_data_part()) { /* test_weights_data: the authors' released weights */
        const char *root = test_shared_data();
        if (!root) return test_skip("../shared/data is missing (the authors' weights)");
        test_official(root);
        return test_finish("test_weights_data");
    }
    test_dict();
    test_roundtrip();
    test_python_reads_ours();
    test_python_fixture();
    test_bad_safetensors();
    test_pth_built();
    test_pth_torch_fixtures();
    return test_finish("test_weights");
}
