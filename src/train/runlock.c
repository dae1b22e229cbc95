/* The run folder lock (src/train/runlock.h). */
#define _DEFAULT_SOURCE /* flock, gethostname */
#include "train/runlock.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/internal.h"

/* What the holder wrote: "pid N\nhost H\nstarted T\n" -> "pid N on H, started T". */
static void describe_holder(int fd, char *out, size_t n) {
    char buf[512];
    ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
    buf[k > 0 ? k : 0] = '\0';
    long pid = 0;
    char host[256] = "?", when[64] = "?";
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "pid ", 4)) pid = strtol(line + 4, NULL, 10);
        else if (!strncmp(line, "host ", 5)) snprintf(host, sizeof host, "%s", line + 5);
        else if (!strncmp(line, "started ", 8)) snprintf(when, sizeof when, "%s", line + 8);
    }
    if (pid > 0) snprintf(out, n, "pid %ld on %s, started %s", pid, host, when);
    else snprintf(out, n, "no details recorded");
}

static long holder_pid(int fd) {
    char buf[64];
    ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
    buf[k > 0 ? k : 0] = '\0';
    return !strncmp(buf, "pid ", 4) ? strtol(buf + 4, NULL, 10) : 0;
}

nlcl_status nlcl_run_lock_acquire(nlcl_run_lock *l, const char *run_dir) {
    l->fd = -1;
    l->stale_pid = 0;
    size_t n = strlen(run_dir) + sizeof NLCL_RUN_LOCK_NAME + 2;
    if (!(l->path = malloc(n))) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    snprintf(l->path, n, "%s/%s", run_dir, NLCL_RUN_LOCK_NAME);
    /* no O_TRUNC: the holder's record stays until the lock is ours */
    int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        nlcl_status s = nlcl_error_set(NLCL_ERR_IO, "%s: cannot create the run's lock: %s",
                                       run_dir, strerror(errno));
        free(l->path);
        l->path = NULL;
        return s;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[400];
        describe_holder(fd, who, sizeof who);
        close(fd);
        free(l->path);
        l->path = NULL;
        if (e == EWOULDBLOCK)
            return nlcl_error_set(NLCL_ERR_IO,
                                  "%s: another nlcl train (%s) is using this run folder; "
                                  "wait for it to end, or choose another --out",
                                  run_dir, who);
        return nlcl_error_set(NLCL_ERR_IO, "%s: cannot lock the run folder: %s", run_dir,
                              strerror(e));
    }
    l->stale_pid = holder_pid(fd); /* a record left by a run that did not release */
    char rec[512], host[256] = "?", when[64] = "?";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int len = snprintf(rec, sizeof rec, "pid %ld\nhost %s\nstarted %s\n", (long)getpid(), host, when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, rec, (size_t)len, 0) != len) {
        /* the lock holds anyway; only the record for others' messages is lost */
    }
    l->fd = fd;
    return NLCL_OK;
}

void nlcl_run_lock_release(nlcl_run_lock *l, int remove) {
    if (l->fd >= 0) {
        if (remove && l->path) unlink(l->path);
        else if (ftruncate(l->fd, 0) != 0) { /* best effort: a stale record is harmless */
        }
        close(l->fd); /* releases the flock */
    }
    l->fd = -1;
    free(l->path);
    l->path = NULL;
}

static int sweep_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!nlcl_afile_is_temp_name(e->d_name)) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) break;
        snprintf(p, len, "%s/%s", dir, e->d_name);
        n += unlink(p) == 0;
        free(p);
    }
    closedir(d);
    return n;
}

int nlcl_run_lock_sweep(const char *run_dir) {
    size_t len = strlen(run_dir) + sizeof "/samples";
    char *samples = malloc(len);
    int n = sweep_dir(run_dir);
    if (samples) {
        snprintf(samples, len, "%s/samples", run_dir);
        n += sweep_dir(samples);
        free(samples);
    }
    return n;
}
