/* Aligned, checked allocation (src/core/internal.h). */
/* MADV_HUGEPAGE is a Linux extension: <sys/mman.h> declares it only with
 * _GNU_SOURCE (or _DEFAULT_SOURCE), which the build's -D_POSIX_C_SOURCE
 * otherwise turns off (as in src/io/image.c) */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

void *nlcl_alloc(size_t bytes, const char *what) {
    size_t rounded;
    if (!nlcl_size_add(bytes, 63, &rounded)) {
        nlcl_error_set(NLCL_ERR_NOMEM, "%s: size overflow", what ? what : "buffer");
        return NULL;
    }
    rounded &= ~(size_t)63;
    if (rounded == 0) rounded = 64;
    void *p = NULL;
    if (rounded >= ((size_t)4 << 20)) {
        /* Large activations: 2 MiB alignment and transparent huge pages
         * (where the kernel offers them on request), which removes most
         * first-touch page faults of multi-megabyte tensors. */
        size_t huge = (size_t)2 << 20;
        size_t r2 = (rounded + huge - 1) & ~(huge - 1);
        if (posix_memalign(&p, huge, r2) != 0) p = NULL;
#if defined(__linux__) && !defined(MADV_HUGEPAGE)
#error "MADV_HUGEPAGE undeclared: huge pages for the activations would be lost silently"
#endif
#ifdef MADV_HUGEPAGE
        if (p) (void)madvise(p, r2, MADV_HUGEPAGE);
#endif
    } else {
        p = aligned_alloc(64, rounded);
    }
    if (!p)
        nlcl_error_set(NLCL_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                       what ? what : "buffer", bytes);
    return p;
}

/* Zeroing a fresh buffer is mostly its first-touch page faults (the kernel
 * clears every page): on 2 threads a 64 MiB activation of the generator is
 * zeroed in about 2/3 of the time of one (23 against 35 ms on the development
 * machine, without huge pages); `nlcl derain` zeroes three of them. */
#define ZERO_CHUNK ((size_t)256 << 10)
#define ZERO_PARALLEL_MIN ((size_t)1 << 20)

static void zero(void *p, size_t bytes) {
    if (bytes < ZERO_PARALLEL_MIN) {
        memset(p, 0, bytes);
        return;
    }
    const long nchunks = (long)((bytes + ZERO_CHUNK - 1) / ZERO_CHUNK);
#pragma omp parallel for schedule(static)
    for (long k = 0; k < nchunks; k++) {
        size_t off = (size_t)k * ZERO_CHUNK;
        memset((char *)p + off, 0, NLCL_MIN(ZERO_CHUNK, bytes - off));
    }
}

void *nlcl_calloc(size_t count, size_t size, const char *what) {
    size_t bytes;
    if (!nlcl_size_mul(count, size, &bytes)) {
        nlcl_error_set(NLCL_ERR_NOMEM, "%s: size overflow", what ? what : "buffer");
        return NULL;
    }
    void *p = nlcl_alloc(bytes, what);
    if (p) zero(p, bytes);
    return p;
}

void nlcl_zero_floats(float *p, size_t n) {
    if (n) zero(p, n * sizeof(float));
}

float *nlcl_alloc_floats(size_t count, const char *what) {
    return (float *)nlcl_calloc(count, sizeof(float), what);
}

void nlcl_free(void *p) { free(p); }
