/* Minimal test harness: every failed CHECK is printed and counted, and
 * test_finish() returns the exit status (non-zero on any failure; 77 =
 * skipped, which CTest reports as "Skipped", never as passed). */
#ifndef NLCL_TEST_HARNESS_H
#define NLCL_TEST_HARNESS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nlcl/image.h"
#include "nlcl/ops.h"
#include "nlcl/rng.h"
#include "nlcl/status.h"
#include "nlcl/train.h"
#include "nlcl/weights.h"

extern int test_failures;
extern int test_checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        test_checks++;                                                                \
        if (!(cond)) {                                                                \
            test_failures++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        test_checks++;                                                                \
        if (!(cond)) {                                                                \
            test_failures++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                    \
        }                                                                             \
    } while (0)

/* A call that must succeed; prints the library's error message if not. */
#define CHECK_OK(expr)                                                                \
    do {                                                                              \
        test_checks++;                                                                \
        nlcl_status s_ = (expr);                                                      \
        if (s_ != NLCL_OK) {                                                          \
            test_failures++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr,  \
                    nlcl_status_name(s_), nlcl_error_message());                      \
        }                                                                             \
    } while (0)

/* A call that must fail with status `want` and a message containing `sub`. */
#define CHECK_ERR(expr, want, sub)                                                    \
    do {                                                                              \
        test_checks++;                                                                \
        nlcl_error_clear();                                                           \
        nlcl_status s_ = (expr);                                                      \
        if (s_ != (want) || !test_contains(nlcl_error_message(), (sub))) {            \
            test_failures++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s -> %s \"%s\", wanted %s containing \"%s\"\n", \
                    __FILE__, __LINE__, #expr, nlcl_status_name(s_),                  \
                    nlcl_error_message(), nlcl_status_name(want), (sub));             \
        }                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                         \
    do {                                                                              \
        double a_ = (double)(a), b_ = (double)(b);                                    \
        test_checks++;                                                                \
        if (!(fabs(a_ - b_) <= (tol))) {                                              \
            test_failures++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s = %.10g, %s = %.10g, |diff| %.3g > %.3g\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, fabs(a_ - b_), (double)(tol)); \
        }                                                                             \
    } while (0)

int test_contains(const char *hay, const char *needle);
/* Print a summary and return the process exit status. */
int test_finish(const char *name);
/* Path of ../shared/data (or $NLCL_SHARED_DATA), or NULL if it is missing. */
const char *test_shared_data(void);

/* 1 when this run is a test's data part (NLCL_TEST_PART=data): the checks
 * that need ../shared/data, registered as their own CTest test <name>_data
 * (CMakeLists.txt), which is skipped (77), never passed, without the data.
 * The test's plain run leaves them out. */
int test_data_part(void);
/* 1 when the test runs under NLCL_TEST_WRAPPER (valgrind, scripts/valgrind.sh:
 * the environment has NLCL_TEST_WRAPPED=1), else 0. There every instruction
 * costs some 50 times more, and memcheck finds on small inputs what it finds
 * on large ones: the heaviest tests train on smaller crops (test_train_crop)
 * with the same checks; the plain and ASan suites run the full sizes. */
int test_wrapped(void);
/* The crop of a training test: full normally, under valgrind (test_wrapped)
 * the smallest crop the non-local search allows (NLCL_MIN_SEARCH_SIZE, 32). */
int test_train_crop(int full);
/* Return 77 after printing why, for `return test_skip("...")`. */
int test_skip(const char *why);
/* A fresh empty temporary directory (removed by test_finish). */
const char *test_tmpdir(void);
/* Fill with uniform values in [lo, hi). */
void test_fill_uniform(nlcl_rng *r, float *x, size_t n, float lo, float hi);
/* max |a-b| over n values. */
double test_max_abs_diff(const float *a, const float *b, size_t n);
/* PSNR in dB of n values in [-1, 1] (peak-to-peak 2); INFINITY when equal. */
double test_psnr(const float *a, const float *b, size_t n);
/* Run a shell command, return its exit status (or -1). */
int test_system(const char *fmt, ...);

/* A path in test_tmpdir(): "TMPDIR/name" (one of 8 rotating buffers). */
const char *test_path(const char *name);
/* The whole file (malloc'd, at least 1 byte even when empty) and its size in
 * *n; NULL (and *n = 0) if it cannot be read. */
unsigned char *test_read_file(const char *path, size_t *n);
/* Write n bytes to path: 0, or -1 (with a message) on failure. */
int test_write_file(const char *path, const void *b, size_t n);
/* Seconds on the monotonic clock. */
double test_now_s(void);

/* Read a little-endian float32 fixture file written by tests/fixtures/make_fixtures.py:
 * returns a malloc'd array and sets *n; NULL if missing. */
float *test_read_f32(const char *path, size_t *n);

/* The loss forwards of nlcl/ops.h return a status and write the loss: these
 * give the value (NaN, with a failed check, when the call fails). */
double test_loss_of(nlcl_status s, double v);
double test_mse_v(const float *a, const float *b, size_t n);
double test_l1_v(const float *a, const float *b, size_t n);
double test_msec_v(const float *a, float t, size_t n);
double test_ce_v(const float *l, const int32_t *tg, int m, int d);

/* CRC-32 of n bytes as PNG chunks and zlib use it (ISO 3309, reflected
 * polynomial 0xedb88320). */
uint32_t test_crc32(const uint8_t *b, size_t n);
/* FNV-1a 64 of n bytes. */
uint64_t test_fnv1a(const uint8_t *b, size_t n);
/* A photo of ../shared/data and what PIL 9.4 makes of it: the size and the
 * FNV-1a 64 of Image.open(f).convert("RGB").tobytes(). */
typedef struct test_pil_ref {
    const char *file; /* below ../shared/data */
    int w, h;
    uint64_t hash;
} test_pil_ref;
/* Load each of the n photos below `data` with nlcl_image_load and check its
 * size and the hash of its RGB bytes (NLCL_QUANT_ROUND) against PIL's; a
 * missing photo is a failure (the caller has found ../shared/data). One
 * line printed a photo. */
void test_check_pil_hashes(const char *data, const test_pil_ref *ref, size_t n);

/* A random generator (C channels, K residual blocks) as a state_dict with the
 * reference's tensor names (d is initialised here): weights and biases
 * uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default range. */
void test_random_gen_dict(nlcl_rng *r, int C, int K, nlcl_tensor_dict *d);
/* A tiny training configuration: preset p, generators of 8 channels and 2
 * blocks, discriminator of 8 filters, crop (pixels), batch 2, projection
 * heads of 32, 32 locations, 4 positives, 16 negatives. */
nlcl_train_config test_tiny_train_config(nlcl_preset p, int crop);

#endif
