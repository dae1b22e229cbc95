/* Activation stores of the band pipeline (src/nn/gen_store.h). */
#include "nn/gen_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/internal.h"

void nlcl_store_free(nlcl_store *s) {
    nlcl_free(s->mem);
    if (s->file) close(s->fd);
    memset(s, 0, sizeof *s);
}

static size_t row_floats(const nlcl_store *s) { return (size_t)s->w * (size_t)s->B; }
static size_t total_floats(const nlcl_store *s) { return (size_t)s->cb * s->h * row_floats(s); }

nlcl_status nlcl_store_init_mem(nlcl_store *s, int cb, int h, int w, int B, int R) {
    memset(s, 0, sizeof *s);
    s->cb = cb, s->h = h, s->w = w, s->B = B, s->R = R;
    s->mem = nlcl_alloc(total_floats(s) * sizeof(float), "generator activations");
    return s->mem ? NLCL_OK : NLCL_ERR_NOMEM;
}

nlcl_status nlcl_store_init_file(nlcl_store *s, int cb, int h, int w, int B, int R, const char *dir) {
    memset(s, 0, sizeof *s);
    s->cb = cb, s->h = h, s->w = w, s->B = B, s->R = R;
    size_t len = strlen(dir) + 32;
    char *path = malloc(len);
    if (!path) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    snprintf(path, len, "%s/nlcl-activations-XXXXXX", dir);
    s->fd = mkstemp(path);
    int err = errno;
    if (s->fd >= 0) unlink(path); /* gone with the process, whatever happens */
    free(path);
    s->file = s->fd >= 0;
    if (!s->file)
        return nlcl_error_set(NLCL_ERR_IO, "%s: cannot create a temporary file: %s",
                              dir, strerror(err));
    return NLCL_OK;
}

nlcl_status nlcl_store_check_space(const char *dir, size_t bytes) {
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s", dir, strerror(errno));
    double avail = (double)v.f_bavail * (double)v.f_frsize;
    if (avail < (double)bytes)
        return nlcl_error_set(NLCL_ERR_LIMIT,
                              "the image's activations need %.1f GB of temporary files, "
                              "but %s has %.1f GB free (choose another folder, or raise the memory "
                              "limit)",
                              (double)bytes / 1e9, dir, avail / 1e9);
    return NLCL_OK;
}

/* Float index of row r of block cb. */
static size_t row_index(const nlcl_store *s, int cb, int r) {
    int k = r / s->R, y0 = k * s->R, rows = NLCL_MIN(s->R, s->h - y0);
    return (size_t)k * s->cb * s->R * row_floats(s) +
           ((size_t)cb * rows + (size_t)(r - y0)) * row_floats(s);
}

static nlcl_status io_error(const char *what, int err) {
    return nlcl_error_set(err == ENOSPC ? NLCL_ERR_LIMIT : NLCL_ERR_IO,
                          "%s a temporary activation file failed: %s", what,
                          strerror(err));
}

static nlcl_status file_read(int fd, void *dst, size_t bytes, off_t off) {
    char *p = dst;
    while (bytes > 0) {
        ssize_t n = pread(fd, p, bytes, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return io_error("reading", n < 0 ? errno : EIO);
        p += n, off += n, bytes -= (size_t)n;
    }
    return NLCL_OK;
}

static nlcl_status file_write(int fd, const void *src, size_t bytes, off_t off) {
    const char *p = src;
    while (bytes > 0) {
        ssize_t n = pwrite(fd, p, bytes, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return io_error("writing", n < 0 ? errno : EIO);
        p += n, off += n, bytes -= (size_t)n;
    }
    return NLCL_OK;
}

float *nlcl_store_band(nlcl_store *s, int k) {
    return s->mem ? s->mem + (size_t)k * s->cb * s->R * row_floats(s) : NULL;
}

const float *nlcl_store_row(const nlcl_store *s, int cb, int r) { return s->mem + row_index(s, cb, r); }

nlcl_status nlcl_store_put_band(nlcl_store *s, int k, const float *src) {
    size_t at = (size_t)k * s->cb * s->R * row_floats(s);
    size_t n = (size_t)s->cb * NLCL_MIN(s->R, s->h - k * s->R) * row_floats(s);
    if (s->mem) {
        if (src != s->mem + at) memcpy(s->mem + at, src, n * sizeof(float));
        return NLCL_OK;
    }
    return file_write(s->fd, src, n * sizeof(float), (off_t)(at * sizeof(float)));
}

nlcl_status nlcl_store_get_rows(const nlcl_store *s, int cb, int r0, int r1, float *dst) {
    while (r0 < r1) { /* one band at a time: its rows of block cb are contiguous */
        int end = NLCL_MIN(r1, (r0 / s->R + 1) * s->R);
        size_t n = (size_t)(end - r0) * row_floats(s), at = row_index(s, cb, r0);
        if (s->mem) memcpy(dst, s->mem + at, n * sizeof(float));
        else NLCL_TRY(file_read(s->fd, dst, n * sizeof(float), (off_t)(at * sizeof(float))));
        dst += n;
        r0 = end;
    }
    return NLCL_OK;
}

nlcl_status nlcl_store_put_rows(nlcl_store *s, int cb, int r0, int r1, const float *src) {
    NLCL_CHECK(r0 / s->R == (r1 - 1) / s->R);
    size_t n = (size_t)(r1 - r0) * row_floats(s), at = row_index(s, cb, r0);
    if (s->mem) {
        memcpy(s->mem + at, src, n * sizeof(float));
        return NLCL_OK;
    }
    return file_write(s->fd, src, n * sizeof(float), (off_t)(at * sizeof(float)));
}
