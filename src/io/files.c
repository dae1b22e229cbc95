/* Listing image files and path helpers (include/nlcl/files.h). */
#include "nlcl/files.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/internal.h"

int nlcl_is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    return !strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
           !strcasecmp(dot, ".tif") || !strcasecmp(dot, ".tiff") || !strcasecmp(dot, ".bmp");
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nlcl_list_free(char **paths) {
    if (!paths) return;
    for (char **p = paths; *p; p++) free(*p);
    free(paths);
}

nlcl_status nlcl_list_images(const char *dir, char ***paths, int *count) {
    *paths = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return nlcl_error_set(NLCL_ERR_IO, "list: %s: %s", dir, strerror(errno));
    size_t n = 0, cap = 16;
    char **v = calloc(cap + 1, sizeof *v);
    nlcl_status s = v ? NLCL_OK : nlcl_error_set(NLCL_ERR_NOMEM, "list: %s: out of memory", dir);
    struct dirent *e;
    /* "in/" gives "in/x.png", not "in//x.png" */
    size_t dl = strlen(dir);
    const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
    while (s == NLCL_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !nlcl_is_image_name(e->d_name)) continue;
        size_t len = dl + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            s = nlcl_error_set(NLCL_ERR_NOMEM, "list: %s: out of memory", dir);
            break;
        }
        snprintf(p, len, "%s%s%s", dir, sep, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            char **nv = realloc(v, (cap * 2 + 1) * sizeof *v);
            if (!nv) {
                free(p);
                s = nlcl_error_set(NLCL_ERR_NOMEM, "list: %s: out of memory", dir);
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = p;
        v[n] = NULL;
    }
    closedir(d);
    if (s != NLCL_OK) {
        nlcl_list_free(v);
        return s;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *paths = v;
    *count = (int)n;
    return NLCL_OK;
}

int nlcl_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

nlcl_status nlcl_mkdirs(const char *path) {
    size_t len = strlen(path);
    char *p = malloc(len + 1);
    if (!p) return nlcl_error_set(NLCL_ERR_NOMEM, "mkdir: %s: out of memory", path);
    memcpy(p, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            nlcl_status s = nlcl_error_set(NLCL_ERR_IO, "mkdir: %s: %s", p, strerror(errno));
            free(p);
            return s;
        }
        p[i] = c;
    }
    free(p);
    if (!nlcl_is_dir(path))
        return nlcl_error_set(NLCL_ERR_IO, "mkdir: %s: exists and is not a directory", path);
    return NLCL_OK;
}

int nlcl_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int nlcl_same_path(const char *a, const char *b) {
    struct stat st;
    if (nlcl_same_file(a, b)) return 1;
    if (stat(a, &st) == 0 || stat(b, &st) == 0) return 0; /* one exists, the other not */
    if (strcmp(nlcl_basename(a), nlcl_basename(b)) != 0) return 0;
    char *da = nlcl_dirname(a), *db = nlcl_dirname(b);
    int same = da && db && nlcl_same_file(da, db);
    free(da);
    free(db);
    return same;
}

char *nlcl_dirname(const char *path) {
    const char *s = strrchr(path, '/');
    if (!s) return strdup(".");
    size_t n = (size_t)(s - path);
    while (n > 0 && path[n - 1] == '/') n--;
    if (n == 0) return strdup("/");
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

const char *nlcl_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
