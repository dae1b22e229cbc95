/* Atomic file writing (src/core/afile.h). */
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The temporary path of the write in progress (one at a time is enough for
 * the command-line tool's signal handler). */
static char pending[4096];
static volatile sig_atomic_t have_pending;

void nlcl_afile_remove_pending(void) {
    if (have_pending) unlink(pending);
}

static void set_pending(const char *tmp) {
    have_pending = 0;
    if (strlen(tmp) < sizeof pending) {
        memcpy(pending, tmp, strlen(tmp) + 1);
        have_pending = 1;
    }
}

static void release(nlcl_afile *f) {
    have_pending = 0;
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
    f->fp = NULL;
}

nlcl_status nlcl_afile_open(nlcl_afile *f, const char *path, const char *domain) {
    memset(f, 0, sizeof *f);
    f->domain = domain;
    size_t n = strlen(path);
    f->path = dup_str(path);
    f->tmp = malloc(n + 16);
    if (!f->path || !f->tmp) {
        release(f);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: %s: out of memory", domain, path);
    }
    snprintf(f->tmp, n + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        int e = errno;
        release(f);
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s: cannot create temporary file: %s", domain,
                              path, strerror(e));
    }
    /* mkstemp creates 0600; make outputs ordinary files (0666 & ~umask). */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um); /* best effort: a 0600 output is still usable */
    set_pending(f->tmp);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp);
        release(f);
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s: %s", domain, path, strerror(e));
    }
    return NLCL_OK;
}

nlcl_status nlcl_afile_write(nlcl_afile *f, const void *buf, size_t len) {
    if (len && fwrite(buf, 1, len, f->fp) != len)
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s: write failed: %s", f->domain, f->path,
                              strerror(errno));
    return NLCL_OK;
}

void nlcl_afile_abort(nlcl_afile *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp) unlink(f->tmp);
    release(f);
}

nlcl_status nlcl_afile_commit(nlcl_afile *f) {
    const char *what = NULL;
    int e = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp)) what = "write failed", e = errno;
    else if (fsync(fileno(f->fp)) != 0) what = "fsync failed", e = errno;
    if (fclose(f->fp) != 0 && !what) what = "close failed", e = errno;
    f->fp = NULL;
    if (!what && rename(f->tmp, f->path) != 0) what = "rename failed", e = errno;
    if (what) {
        unlink(f->tmp);
        nlcl_status s = nlcl_error_set(NLCL_ERR_IO, "%s: %s: %s: %s", f->domain, f->path, what,
                                       e ? strerror(e) : "unknown error");
        release(f);
        return s;
    }
    /* Make the rename durable: fsync the containing folder (best effort). */
    char *d = dup_str(f->path);
    if (d) {
        int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(d);
    }
    release(f);
    return NLCL_OK;
}
