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
#include "nlcl/files.h"

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

#define TMP_SUFFIX ".tmp-XXXXXX"

/* The longest file name the folder `dir` (with its trailing '/', or "")
 * accepts; 255 (Linux's NAME_MAX) when the system does not say. */
static size_t name_max(const char *path, size_t dirlen) {
    char *d = dirlen ? malloc(dirlen + 1) : NULL;
    if (d) memcpy(d, path, dirlen), d[dirlen] = '\0';
    long m = pathconf(d ? d : ".", _PC_NAME_MAX);
    free(d);
    return m > 0 && m < 4096 ? (size_t)m : 255;
}

/* "<dir>/<name>.tmp-XXXXXX", with <name> cut (at a UTF-8 character
 * boundary) so that the temporary name fits the folder's name limit and the
 * whole path fits PATH_MAX (4096): every name that is legal as a final name
 * has a legal temporary name. NULL when out of memory. */
static char *temp_template(const char *path) {
    const char *slash = strrchr(path, '/');
    const size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0, len = strlen(path);
    const size_t suf = sizeof TMP_SUFFIX - 1;
    size_t base = len - dirlen, keep = base, lim = name_max(path, dirlen);
    if (keep + suf > lim) keep = lim > suf ? lim - suf : 0;
    if (dirlen + keep + suf > 4095) keep = 4095 > dirlen + suf ? 4095 - dirlen - suf : 0;
    while (keep > 0 && keep < base && ((unsigned char)path[dirlen + keep] & 0xC0) == 0x80) keep--;
    char *t = malloc(dirlen + keep + suf + 1);
    if (t) {
        memcpy(t, path, dirlen + keep);
        memcpy(t + dirlen + keep, TMP_SUFFIX, suf + 1);
    }
    return t;
}

int nlcl_afile_is_temp_name(const char *name) {
    const size_t suf = sizeof TMP_SUFFIX - 1, x = suf - 6; /* ".tmp-" */
    for (const char *t = strstr(name, ".tmp-"); t; t = strstr(t + 1, ".tmp-")) {
        size_t k = 0;
        while (k < 6 && ((t[x + k] >= 'a' && t[x + k] <= 'z') || (t[x + k] >= 'A' && t[x + k] <= 'Z') ||
                         (t[x + k] >= '0' && t[x + k] <= '9')))
            k++;
        if (k == 6 && (!t[suf] || !strcmp(t + suf, ".png"))) return 1;
    }
    return 0;
}

nlcl_status nlcl_afile_open(nlcl_afile *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->path = dup_str(path);
    f->tmp = temp_template(path);
    if (!f->path || !f->tmp) {
        release(f);
        return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    }
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        int e = errno;
        release(f);
        return nlcl_error_set(NLCL_ERR_IO, "%s: cannot create temporary file: %s",
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
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s", path, strerror(e));
    }
    return NLCL_OK;
}

nlcl_status nlcl_afile_write(nlcl_afile *f, const void *buf, size_t len) {
    if (len && fwrite(buf, 1, len, f->fp) != len)
        return nlcl_error_set(NLCL_ERR_IO, "%s: write failed: %s", f->path,
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
        nlcl_status s = nlcl_error_set(NLCL_ERR_IO, "%s: %s: %s", f->path, what,
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

nlcl_status nlcl_write_file(const char *path, const void *data, size_t len) {
    nlcl_afile f;
    NLCL_TRY(nlcl_afile_open(&f, path));
    nlcl_status s = nlcl_afile_write(&f, data, len);
    if (s != NLCL_OK) {
        nlcl_afile_abort(&f);
        return s;
    }
    return nlcl_afile_commit(&f);
}

void nlcl_remove_partial_write(void) { nlcl_afile_remove_pending(); }
