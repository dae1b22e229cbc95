#include "harness.h"
#include "train/sampler.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int test_failures = 0;
int test_checks = 0;
static char tmpdir[256];

int test_contains(const char *hay, const char *needle) {
    return hay && needle && strstr(hay, needle) != NULL;
}

int test_finish(const char *name) {
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    }
    if (test_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, test_failures, test_checks);
        return 1;
    }
    if (test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, test_checks);
    return 0;
}

const char *test_shared_data(void) {
    static char path[1024];
    const char *env = getenv("NLCL_SHARED_DATA");
    snprintf(path, sizeof path, "%s", env && *env ? env : "../shared/data");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return path;
}

int test_data_part(void) {
    const char *env = getenv("NLCL_TEST_PART");
    return env && !strcmp(env, "data");
}

int test_wrapped(void) {
    const char *env = getenv("NLCL_TEST_WRAPPED");
    return env && *env && strcmp(env, "0") != 0;
}

int test_train_crop(int full) {
    return test_wrapped() && full > NLCL_MIN_SEARCH_SIZE ? NLCL_MIN_SEARCH_SIZE : full;
}

int test_skip(const char *why) {
    fprintf(stderr, "SKIPPED: %s\n", why);
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    }
    return 77;
}

const char *test_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/nlcl-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return tmpdir;
}

void test_fill_uniform(nlcl_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)nlcl_rng_uniform(r);
}

double test_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

double test_psnr(const float *a, const float *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return se > 0 ? 10 * log10(4.0 / (se / (double)n)) : INFINITY;
}

int test_system(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

float *test_read_f32(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz < 0 || sz % 4) {
        fclose(f);
        return NULL;
    }
    float *x = malloc((size_t)sz + 4);
    if (x && fread(x, 1, (size_t)sz, f) != (size_t)sz) {
        free(x);
        x = NULL;
    }
    fclose(f);
    *n = (size_t)sz / 4;
    return x;
}

const char *test_path(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

unsigned char *test_read_file(const char *path, size_t *n) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *q = realloc(b, cap);
            if (!q) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = q;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return NULL;
    }
    *n = len;
    return b;
}

int test_write_file(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "test: cannot write %s\n", path);
    return ok ? 0 : -1;
}

double test_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double test_loss_of(nlcl_status s, double v) {
    CHECK_OK(s);
    return s == NLCL_OK ? v : NAN;
}
double test_mse_v(const float *a, const float *b, size_t n) {
    double v = 0;
    nlcl_status st = nlcl_mse_forward(a, b, n, &v);
    return test_loss_of(st, v);
}
double test_l1_v(const float *a, const float *b, size_t n) {
    double v = 0;
    nlcl_status st = nlcl_l1_forward(a, b, n, &v);
    return test_loss_of(st, v);
}
double test_msec_v(const float *a, float t, size_t n) {
    double v = 0;
    nlcl_status st = nlcl_mse_const_forward(a, t, n, &v);
    return test_loss_of(st, v);
}
double test_ce_v(const float *l, const int32_t *tg, int m, int d) {
    double v = 0;
    nlcl_status st = nlcl_cross_entropy_forward(l, tg, m, d, &v);
    return test_loss_of(st, v);
}

uint32_t test_crc32(const uint8_t *b, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

uint64_t test_fnv1a(const uint8_t *b, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

void test_check_pil_hashes(const char *data, const test_pil_ref *ref, size_t n) {
    for (size_t k = 0; k < n; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", data, ref[k].file);
        struct stat st;
        if (stat(path, &st) != 0) { /* ../shared/data is there: every photo must be */
            CHECK_MSG(0, "%s missing", path);
            continue;
        }
        nlcl_image im;
        nlcl_image_info info;
        double t0 = test_now_s();
        CHECK_OK(nlcl_image_load(path, &im, &info));
        double t1 = test_now_s();
        if (!im.data) continue;
        CHECK(im.width == ref[k].w && im.height == ref[k].h);
        size_t bytes = (size_t)im.width * im.height * 3;
        uint8_t *rgb = malloc(bytes);
        nlcl_image_to_rgb8(&im, NLCL_QUANT_ROUND, rgb);
        uint64_t h = test_fnv1a(rgb, bytes);
        CHECK_MSG(h == ref[k].hash, "%s: hash %016llx, PIL gives %016llx", ref[k].file,
                  (unsigned long long)h, (unsigned long long)ref[k].hash);
        printf("%s: %dx%d, %d channel(s), decoded in %.3f s, equal to PIL: %s\n", ref[k].file,
               im.width, im.height, info.channels, t1 - t0, h == ref[k].hash ? "yes" : "NO");
        free(rgb);
        nlcl_image_free(&im);
    }
}

void test_random_gen_dict(nlcl_rng *r, int C, int K, nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    char name[96], n2[128];
    int convs = 2 * K + 4;
    for (int k = 0; k < convs; k++) {
        int cin = k == 0 ? 3 : C, cout = k == convs - 1 ? 3 : C;
        if (k == 0) snprintf(name, sizeof name, "gen.0");
        else if (k <= 2 * K) snprintf(name, sizeof name, "gen.%d.model.%d.conv", (k + 1) / 2, (k - 1) % 2);
        else if (k == 2 * K + 1) snprintf(name, sizeof name, "gen.%d.conv.0", K + 1);
        else if (k == 2 * K + 2) snprintf(name, sizeof name, "gen.%d.conv.3", K + 1);
        else snprintf(name, sizeof name, "gen.%d", K + 2);
        int64_t ws[4] = {cout, cin, 3, 3}, bs[1] = {cout};
        size_t nw = (size_t)cout * cin * 9;
        float *w = malloc(nw * 4), *b = malloc((size_t)cout * 4);
        float bound = 1.0f / sqrtf((float)cin * 9);
        test_fill_uniform(r, w, nw, -bound, bound);
        test_fill_uniform(r, b, (size_t)cout, -bound, bound);
        snprintf(n2, sizeof n2, "%s.weight", name);
        CHECK_OK(nlcl_tensor_dict_add(d, n2, 4, ws, w, NULL));
        snprintf(n2, sizeof n2, "%s.bias", name);
        CHECK_OK(nlcl_tensor_dict_add(d, n2, 1, bs, b, NULL));
        free(w);
        free(b);
    }
}

nlcl_train_config test_tiny_train_config(nlcl_preset p, int crop) {
    nlcl_train_config c;
    nlcl_train_config_preset(&c, p);
    c.gen_channels = 8;
    c.gen_blocks = 2;
    c.ndf = 8;
    c.crop = crop;
    c.batch = 2;
    c.head_dim = 32;
    c.n_loc = 32;
    c.n_pos = 4;
    c.n_neg = 16;
    return c;
}
