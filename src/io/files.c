/* Listing image files and path helpers (include/nlcl/files.h); opening a file
 * for reading (nlcl_open_regular, src/core/internal.h). */
#include "nlcl/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

int nlcl_is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".jpe", ".jfif",
                                      ".tif", ".tiff", ".bmp", ".dib"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

const char *nlcl_unreadable_image_format(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return NULL;
    static const char *const ext[][2] = {
        {".webp", "WebP"}, {".heic", "HEIC"}, {".heif", "HEIF"}, {".hif", "HEIF"}, {".avif", "AVIF"},
        {".gif", "GIF"}, {".jp2", "JPEG 2000"}, {".j2k", "JPEG 2000"}, {".j2c", "JPEG 2000"},
        {".jpx", "JPEG 2000"}, {".jpf", "JPEG 2000"}, {".jxl", "JPEG XL"}, {".jxr", "JPEG XR"},
        {".wdp", "JPEG XR"}, {".hdp", "JPEG XR"}, {".dng", "camera RAW"}, {".cr2", "camera RAW"},
        {".cr3", "camera RAW"}, {".crw", "camera RAW"}, {".nef", "camera RAW"}, {".nrw", "camera RAW"},
        {".arw", "camera RAW"}, {".srf", "camera RAW"}, {".sr2", "camera RAW"}, {".orf", "camera RAW"},
        {".rw2", "camera RAW"}, {".raf", "camera RAW"}, {".pef", "camera RAW"}, {".srw", "camera RAW"},
        {".x3f", "camera RAW"}, {".3fr", "camera RAW"}, {".iiq", "camera RAW"}, {".ppm", "Netpbm"},
        {".pgm", "Netpbm"}, {".pbm", "Netpbm"}, {".pnm", "Netpbm"}, {".pam", "Netpbm"}, {".tga", "TGA"},
        {".psd", "Photoshop"}, {".psb", "Photoshop"}, {".exr", "OpenEXR"}, {".hdr", "Radiance HDR"},
        {".ico", "ICO"}, {".cur", "ICO"}, {".pcx", "PCX"}, {".svg", "SVG"}, {".xcf", "GIMP XCF"}};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot, ext[i][0])) return ext[i][1];
    return NULL;
}

const char *nlcl_skipped_image_reason(const char *path) {
    const char *f = nlcl_unreadable_image_format(nlcl_basename(path));
    struct stat st;
    if (!nlcl_is_image_name(nlcl_basename(path)) && f) return f;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) != 0) return "a broken symbolic link";
    if (stat(path, &st) != 0) return "cannot be read";
    if (S_ISFIFO(st.st_mode)) return "a FIFO, not a file";
    if (S_ISSOCK(st.st_mode)) return "a socket, not a file";
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "a device, not a file";
    return f ? f : "not a regular file";
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nlcl_list_free(char **paths) {
    if (!paths) return;
    for (char **p = paths; *p; p++) free(*p);
    free(paths);
}

/* A growing NULL-terminated list of strings. */
typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_add(strlist *l, char *p) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 16;
        char **nv = realloc(l->v, (nc + 1) * sizeof *nv);
        if (!nv) return 0;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = p;
    l->v[l->n] = NULL;
    return 1;
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

#define LIST_MAX_DEPTH 64

/* The images (and names of unreadable ones) of dir, into `out` (and `bad`),
 * descending into subfolders when depth >= 0 (not through symbolic links to
 * folders, so a link cannot make a loop). */
static nlcl_status list_dir(const char *dir, int depth, strlist *out, strlist *bad) {
    DIR *d = opendir(dir);
    if (!d) return nlcl_error_set(NLCL_ERR_IO, "%s: %s", dir, strerror(errno));
    nlcl_status s = NLCL_OK;
    struct dirent *e;
    /* "in/" gives "in/x.png", not "in//x.png" */
    size_t dl = strlen(dir);
    const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
    strlist sub = {0};
    while (s == NLCL_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int image = nlcl_is_image_name(e->d_name);
        int other = !image && nlcl_unreadable_image_format(e->d_name);
        if (!image && !other && depth < 0) continue;
        size_t len = dl + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        snprintf(p, len, "%s%s%s", dir, sep, e->d_name);
        struct stat st, lst;
        int ok = 0, found = stat(p, &st) == 0;
        if (found && S_ISREG(st.st_mode) && image)
            ok = strlist_add(out, p);
        else if (depth >= 0 && lstat(p, &lst) == 0 && S_ISDIR(lst.st_mode))
            ok = strlist_add(&sub, p);
        else if ((image || other) && bad && !(found && S_ISDIR(st.st_mode)))
            ok = strlist_add(bad, p); /* unreadable format, broken link, FIFO, ... */
        else
            ok = (free(p), 1);
        if (!ok) {
            free(p);
            s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", dir);
        }
    }
    closedir(d);
    if (sub.n && depth >= LIST_MAX_DEPTH)
        s = nlcl_error_set(NLCL_ERR_LIMIT, "%s: folders nested deeper than %d", dir,
                           LIST_MAX_DEPTH);
    if (sub.n) qsort(sub.v, sub.n, sizeof *sub.v, cmp_str);
    for (size_t i = 0; s == NLCL_OK && i < sub.n; i++) s = list_dir(sub.v[i], depth + 1, out, bad);
    strlist_free(&sub);
    return s;
}

nlcl_status nlcl_list_images_ex(const char *dir, int recursive, char ***paths, int *count,
                                char ***unreadable, int *nunreadable) {
    *paths = NULL;
    *count = 0;
    if (unreadable) *unreadable = NULL, *nunreadable = 0;
    strlist out = {0}, bad = {0};
    nlcl_status s = list_dir(dir, recursive ? 0 : -1, &out, unreadable ? &bad : NULL);
    if (s == NLCL_OK && (out.n > INT32_MAX || bad.n > INT32_MAX))
        s = nlcl_error_set(NLCL_ERR_LIMIT, "%s: too many files", dir);
    if (s == NLCL_OK && !out.v && !(out.v = calloc(1, sizeof *out.v)))
        s = nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", dir);
    if (s != NLCL_OK) {
        strlist_free(&out);
        strlist_free(&bad);
        return s;
    }
    qsort(out.v, out.n, sizeof *out.v, cmp_str);
    *paths = out.v;
    *count = (int)out.n;
    if (unreadable) {
        if (bad.n) qsort(bad.v, bad.n, sizeof *bad.v, cmp_str);
        *unreadable = bad.v; /* NULL when none */
        *nunreadable = (int)bad.n;
    }
    return NLCL_OK;
}

nlcl_status nlcl_list_images(const char *dir, char ***paths, int *count) {
    return nlcl_list_images_ex(dir, 0, paths, count, NULL, NULL);
}

nlcl_status nlcl_open_regular(const char *path, int *fd, uint64_t *size) {
    *fd = -1;
    *size = 0;
    int d = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (d < 0)
        return nlcl_error_set(NLCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(d, &st) != 0) {
        int e = errno;
        close(d);
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(d);
        return nlcl_error_set(NLCL_ERR_IO, "%s: %s", path,
                              S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    int fl = fcntl(d, F_GETFL);
    if (fl == -1 || fcntl(d, F_SETFL, fl & ~O_NONBLOCK) == -1) {
        int e = errno;
        close(d);
        return nlcl_error_set(NLCL_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *fd = d;
    *size = (uint64_t)st.st_size;
    return NLCL_OK;
}

int nlcl_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

nlcl_status nlcl_mkdirs(const char *path) {
    size_t len = strlen(path);
    char *p = malloc(len + 1);
    if (!p) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", path);
    memcpy(p, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            nlcl_status s = nlcl_error_set(NLCL_ERR_IO, "%s: %s", p, strerror(errno));
            free(p);
            return s;
        }
        p[i] = c;
    }
    free(p);
    if (!nlcl_is_dir(path))
        return nlcl_error_set(NLCL_ERR_IO, "%s: exists and is not a directory", path);
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
