/* Internal helpers shared by libnlcl's sources: error propagation, argument and
 * invariant checks, checked size arithmetic, aligned allocation, opening a
 * file for reading. Not installed. */
#ifndef NLCL_INTERNAL_H
#define NLCL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nlcl/status.h"

/* Propagate a failing status unchanged. */
#define NLCL_TRY(expr)                                                         \
    do {                                                                       \
        nlcl_status try_s_ = (expr);                                           \
        if (try_s_ != NLCL_OK) return try_s_;                                  \
    } while (0)

/* Checks, and why none of them aborts (the rule of docs/ and issue 13: no
 * library code exits, aborts or prompts; it returns a status and a message).
 *
 *  - NLCL_ARG_CHECK(cond, fmt, ...): what a caller passes to a public
 *    function (NULL pointers, sizes, shapes, ids, enums). When cond is false
 *    the function returns NLCL_ERR_INVALID_ARG, the message "FUNCTION: text"
 *    naming the public function (nlcl/status.h). Always on; the public
 *    header lists the error.
 *  - NLCL_CHECK(cond): an invariant of the library's own code in a function
 *    that returns an nlcl_status (its callers are internal and validated
 *    what they pass). A violation is a library bug: the function returns
 *    NLCL_ERR_INTERNAL, message "internal error: COND (FILE:LINE)". Always on.
 *  - NLCL_ASSERT(cond): an invariant where no status can be returned (a void
 *    helper, a value getter, a hot loop), whose inputs the public entry
 *    points have validated. Checked, with abort(), only in debug builds
 *    (cmake -DNLCL_DEBUG_ASSERTS=ON, the default of the ASan/UBSan and fuzz
 *    builds, so that CI still catches a broken invariant); compiled out and
 *    not evaluated in the library that is built by default and installed,
 *    which therefore imports no abort (tests/package/noabort.sh checks the
 *    objects and libnlcl.so). Never for conditions caused by input data or
 *    by a caller's arguments.
 */
#define NLCL_ARG_CHECK(cond, ...)                                                                  \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return nlcl_error_prefix(nlcl_error_set(NLCL_ERR_INVALID_ARG, __VA_ARGS__),            \
                                     "%s: ", __func__);                                            \
    } while (0)

#define NLCL_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return nlcl_error_set(NLCL_ERR_INTERNAL, "internal error: %s (%s:%d)", #cond,          \
                                  __FILE__, __LINE__);                                             \
    } while (0)

#ifdef NLCL_DEBUG_ASSERTS
#define NLCL_ASSERT(cond)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "nlcl: assertion failed: %s (%s:%d)\n", #cond,     \
                    __FILE__, __LINE__);                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)
#else /* type-checked, never evaluated */
#define NLCL_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#define NLCL_MIN(a, b) ((a) < (b) ? (a) : (b))

/* nlcl's own hot loops (instance norm): compiled three times, for x86-64-v4
 * (AVX-512), x86-64-v3 (AVX2, FMA) and the baseline, the CPU's best picked at
 * load time (GCC function multiversioning), so that the portable build
 * (NLCL_NATIVE=OFF) does not run them as SSE2. Every clone computes the same
 * bits: no reassociation, and no FMA contraction (-std=c11 implies
 * -ffp-contract=off). Nothing where the build already targets AVX-512. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX512F__)
#define NLCL_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NLCL_VECTOR_CLONES
#endif
#define NLCL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Overflow-checked size arithmetic: return 0 on overflow, 1 on success. */
static inline int nlcl_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static inline int nlcl_size_add(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
/* a*b*c*d with overflow check. */
static inline int nlcl_size_mul4(size_t a, size_t b, size_t c, size_t d, size_t *out) {
    size_t t;
    return nlcl_size_mul(a, b, &t) && nlcl_size_mul(t, c, &t) && nlcl_size_mul(t, d, out);
}

/* Seconds on the monotonic clock (for durations). */
static inline double nlcl_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 64-byte aligned allocation (oneDNN-friendly). Sets the error message and
 * returns NULL on failure; `what` names the buffer in that message.
 * Free with nlcl_free. Zero bytes returns a valid unique pointer. */
void *nlcl_alloc(size_t bytes, const char *what);
void *nlcl_calloc(size_t count, size_t size, const char *what);
void nlcl_free(void *p);

/* Allocate `count` floats (64-byte aligned), zeroed. */
float *nlcl_alloc_floats(size_t count, const char *what);

/* memset(p, 0, n floats), on all threads when n is large (a training
 * iteration zeroes gradient buffers of megabytes, on one core otherwise). */
void nlcl_zero_floats(float *p, size_t n);

/* Open `path` for reading, refusing anything but a regular file: opened with
 * O_NONBLOCK (a FIFO must not make the open wait for a writer), which is
 * cleared once the type is checked, and close-on-exec. On success *fd is the
 * open descriptor (the caller closes it) and *size the file's size in bytes.
 * Errors: IO ("<path>: cannot open: <reason>", "<path>: is a directory",
 * "<path>: not a regular file"). Defined in src/io/files.c. */
nlcl_status nlcl_open_regular(const char *path, int *fd, uint64_t *size);

#endif
