/* nlcl/files.h - listing image files, path helpers shared by the commands
 * and the training data loader. */
#ifndef NLCL_FILES_H
#define NLCL_FILES_H

#include "nlcl/export.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

/* 1 if the name ends in .png, .jpg, .jpeg, .tif, .tiff or .bmp (any case). */
int nlcl_is_image_name(const char *name);

/* The image files (by extension, see above; regular files only, no
 * recursion, hidden files skipped) directly inside `dir`, as "dir/name",
 * sorted by name (strcmp); a trailing '/' of dir is not doubled. *paths is a NULL-terminated array; free with
 * nlcl_free_list. An empty folder gives count 0 and is not an error.
 * Errors: IO ("list: DIR: No such file or directory"). */
nlcl_status nlcl_list_images(const char *dir, char ***paths, int *count);
void nlcl_free_list(char **paths);

/* 1 if path is an existing directory. */
int nlcl_is_dir(const char *path);
/* Create a directory and its parents (mode 0777 & ~umask); existing is fine.
 * Errors: IO. */
nlcl_status nlcl_mkdirs(const char *path);
/* 1 if a and b name the same existing file (same device and inode). */
int nlcl_same_file(const char *a, const char *b);
/* 1 if a and b name the same file, existing or not: the same existing file,
 * or (neither existing) the same name in the same existing folder. For
 * refusing to write one output over another, or over an input. */
int nlcl_same_path(const char *a, const char *b);
/* The folder part of path as a new string (free it): "a/b.png" -> "a",
 * "b.png" -> ".", "/b.png" -> "/"; NULL if out of memory. */
char *nlcl_dirname(const char *path);
/* Pointer to the final component of path (after the last '/'). */
const char *nlcl_basename(const char *path);

NLCL_API_END
#endif
