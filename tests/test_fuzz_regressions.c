/* Replays every file of tests/fuzz_regressions/<target>/ through the fuzz entry points of
 * fuzz/fuzz_common.h (the very code the libFuzzer targets run): every input
 * must come back as OK or an error, never a crash, a sanitizer report, a
 * broken oracle, or (for the inputs that once did) gigabytes of memory.
 * Also checks nlcl_pth_load_memory against nlcl_pth_load.
 * Runs in the normal and the ASan+UBSan build (-DNLCL_SANITIZE=ON). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fuzz_common.h"
#include "harness.h"

#define DIR_REG "tests/fuzz_regressions"
/* Growth of the peak RSS allowed for any one input (the pth storage-size
 * regression used to allocate and zero 4 GiB). Generous for ASan's shadow
 * memory. */
#define MAX_PEAK_KIB (1024L * 1024L)

static long peak_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef int (*entry_fn)(const uint8_t *, size_t);

/* Run every file of DIR_REG/<target> (hidden files and README* skipped);
 * returns the number of inputs. */
static int replay(const char *target, entry_fn fn) {
    char dir[512];
    snprintf(dir, sizeof dir, DIR_REG "/%s", target);
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[1024];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 1024;) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0) continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        unsigned char *b = test_read_file(path, &len);
        CHECK_MSG(b != NULL, "cannot read %s", path);
        if (b) {
            long before = peak_kib();
            int bad = fn(b, len);
            CHECK_MSG(bad == 0, "%s: oracle violated (see above)", path);
            long grew = peak_kib() - before;
            CHECK_MSG(grew < MAX_PEAK_KIB, "%s: peak RSS grew by %ld KiB", path, grew);
            printf("  %-44s %s\n", path, nlcl_error_message()[0] ? nlcl_error_message() : "ok");
        }
        free(b);
        free(names[i]);
    }
    return n;
}

static void test_replay_all(void) {
    static const struct {
        const char *target;
        entry_fn fn;
    } targets[] = {
        {"png", nlcl_fuzz_png},         {"jpeg", nlcl_fuzz_image}, {"bmp", nlcl_fuzz_image},
        {"tiff", nlcl_fuzz_image},        {"safetensors", nlcl_fuzz_safetensors},
        {"pth", nlcl_fuzz_pth},           {"pickle", nlcl_fuzz_pickle},
        {"cli", nlcl_fuzz_cli},
    };
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        nlcl_error_clear();
        int n = replay(targets[i].target, targets[i].fn);
        /* Every target of fuzz/ keeps at least one input here. */
        CHECK_MSG(n > 0, "no inputs in " DIR_REG "/%s", targets[i].target);
    }
    nlcl_image_set_max_pixels(0);
}

/* The pth storage regression, with its exact outcome: refused on the first
 * storage's size before any tensor is allocated. */
static void test_pth_storage_regression(void) {
    size_t n;
    unsigned char *b = test_read_file(DIR_REG "/pickle/storage_size_4gib.pkl", &n);
    CHECK(b != NULL);
    if (!b) return;
    long before = peak_kib();
    const nlcl_fuzz_entry e[] = {{"archive/data.pkl", b, n}};
    nlcl_fuzz_buf z;
    CHECK(nlcl_fuzz_zip(e, 1, &z));
    nlcl_tensor_dict d;
    /* Without the storages: missing, not allocated. */
    CHECK_ERR(nlcl_pth_load_memory(z.p, z.n, "big.pth", &d), NLCL_ERR_FORMAT,
              "big.pth: storage '0' of tensor 't0' is missing (no archive/data/0 in the archive)");
    CHECK(d.count == 0 && d.tensors == NULL);
    free(z.p);
    /* Through the pickle target (64-byte storages). */
    CHECK(nlcl_fuzz_pickle(b, n) == 0);
    CHECK(test_contains(nlcl_error_message(),
                        "fuzz.pth: archive/data/0 holds 64 bytes, expected 2147483644 (storage of "
                        "tensor 't0'"));
    CHECK_MSG(peak_kib() - before < 256L * 1024L, "peak RSS grew by %ld KiB", peak_kib() - before);
    free(b);
}

static int same_dict(const nlcl_tensor_dict *a, const nlcl_tensor_dict *b) {
    if (a->count != b->count || a->meta_count != b->meta_count) return 0;
    for (int i = 0; i < a->count; i++) {
        const nlcl_named_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        if (strcmp(x->name, y->name) || x->ndim != y->ndim || x->numel != y->numel ||
            memcmp(x->shape, y->shape, sizeof x->shape) ||
            (x->numel && memcmp(x->data, y->data, x->numel * sizeof(float))))
            return 0;
    }
    return 1;
}

static void test_pth_memory(void) {
    const char *fx = "tests/fixtures/weights/tiny_state.pth";
    size_t n;
    unsigned char *b = test_read_file(fx, &n);
    CHECK_MSG(b != NULL, "missing %s", fx);
    if (!b) return;
    nlcl_tensor_dict a, m;
    CHECK_OK(nlcl_pth_load(fx, &a));
    CHECK_OK(nlcl_pth_load_memory(b, n, "mem.pth", &m));
    CHECK(a.count > 0);
    CHECK(same_dict(&a, &m));
    nlcl_tensor_dict_free(&a);
    nlcl_tensor_dict_free(&m);
    /* Every strict prefix fails cleanly (zip's end record is at the end). */
    for (size_t k = 0; k < n; k += 97) {
        nlcl_status s = nlcl_pth_load_memory(b, k, "cut.pth", &m);
        CHECK_MSG(s == NLCL_ERR_FORMAT && m.count == 0, "prefix %zu: %s %s", k, nlcl_status_name(s),
                  nlcl_error_message());
        CHECK(test_contains(nlcl_error_message(), "cut.pth: "));
    }
    free(b);

    b = test_read_file("tests/fixtures/weights/evil.pth", &n);
    CHECK(b != NULL);
    if (b) {
        CHECK_ERR(nlcl_pth_load_memory(b, n, "evil.pth", &m), NLCL_ERR_UNSUPPORTED,
                  "evil.pth: pickle global 'os.system' (opcode 'c' GLOBAL) is not allowed");
        free(b);
    }
    CHECK_ERR(nlcl_pth_load_memory(NULL, 5, "x.pth", &m), NLCL_ERR_INVALID_ARG, "x.pth: NULL buffer");
    CHECK_ERR(nlcl_pth_load_memory(NULL, 0, NULL, &m), NLCL_ERR_FORMAT, "<memory>: ");
    CHECK_ERR(nlcl_pth_load_memory("not a zip at all, just text", 27, "t.pth", &m), NLCL_ERR_FORMAT,
              "t.pth: not a zip archive");
    CHECK(m.count == 0 && m.tensors == NULL);
}

int main(void) {
    test_pth_memory();
    test_pth_storage_regression();
    test_replay_all();
    return test_finish("test_fuzz_regressions");
}
