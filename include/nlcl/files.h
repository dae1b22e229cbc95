/* nlcl/files.h - listing image files, path helpers shared by the commands
 * and the training data loader. */
#ifndef NLCL_FILES_H
#define NLCL_FILES_H

#include <stddef.h>

#include "nlcl/export.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

/* 1 if the name ends in .png, .jpg, .jpeg, .jpe, .jfif, .tif, .tiff, .bmp
 * or .dib (any case): the names nlcl reads as images (by content, not by
 * name). */
int nlcl_is_image_name(const char *name);
/* The format of an image name nlcl cannot read ("WebP" for .webp; HEIC,
 * HEIF (.heif, .hif), AVIF, GIF, "JPEG 2000" (.jp2, .j2k, .j2c, .jpx,
 * .jpf), "JPEG XL", "JPEG XR", "camera RAW" (.dng, .cr2, .nef, .arw, ...),
 * Netpbm, TGA, Photoshop, OpenEXR, "Radiance HDR", ICO, PCX, SVG, "GIMP
 * XCF"), else NULL: for reporting such files as skipped rather than leaving
 * them out unsaid. */
const char *nlcl_unreadable_image_format(const char *name);
/* Why a file of nlcl_list_images_ex's unreadable list is skipped: its
 * format (nlcl_unreadable_image_format), or "a broken symbolic link", "a
 * FIFO, not a file", ... for an image name that is not a readable file.
 * Never NULL. */
const char *nlcl_skipped_image_reason(const char *path);

/* The image files (by extension, see above; regular files only, no
 * recursion, hidden files skipped) directly inside `dir`, as "dir/name",
 * sorted by name (strcmp); a trailing '/' of dir is not doubled. *paths is a NULL-terminated array; free with
 * nlcl_list_free. An empty folder gives count 0 and is not an error.
 * Errors: IO ("DIR: No such file or directory"). */
nlcl_status nlcl_list_images(const char *dir, char ***paths, int *count);
/* The same, and with recursive = 1 also in every subfolder (hidden ones
 * skipped; symbolic links to folders are not followed, so links cannot make
 * a loop; at most 64 levels, else LIMIT), as "dir/sub/name", sorted (strcmp).
 * unreadable (may be NULL): the files in the same places whose names say a
 * format nlcl cannot read (nlcl_unreadable_image_format), and those with an
 * image name that are not regular files (a broken symbolic link, a FIFO;
 * not folders), each said by nlcl_skipped_image_reason, sorted; NULL and
 * *nunreadable = 0 when there are none. Free both with nlcl_list_free. */
nlcl_status nlcl_list_images_ex(const char *dir, int recursive, char ***paths, int *count,
                                char ***unreadable, int *nunreadable);
void nlcl_list_free(char **paths);

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

/* File names as text. On Linux a name is any bytes but '/' and NUL, and
 * archives unpacked from other systems often hold Latin-1 or CP437 names;
 * JSON, safetensors headers and CSV files must be UTF-8.
 * nlcl_utf8_valid: 1 if s is valid UTF-8 (Unicode 3.9 table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF).
 * nlcl_utf8_escape: a copy of s in which every byte that is not part of a
 * valid UTF-8 sequence is written as the four characters \xNN (lower-case
 * hex), as Python's errors="backslashreplace": "caf\xe9.png" for Latin-1
 * "café.png"; valid UTF-8 is copied unchanged.
 * nlcl_utf8_escape_json_text: the same for JSON text whose strings hold raw
 * bytes (bytes >= 0x80 occur only inside JSON strings): each such byte
 * becomes \\xNN, the JSON escape of the text \xNN, so the strings read back
 * as nlcl_utf8_escape would have made them.
 * Both return a malloc'd string (free it), NULL when out of memory. */
int nlcl_utf8_valid(const char *s);
char *nlcl_utf8_escape(const char *s);
char *nlcl_utf8_escape_json_text(const char *json);

/* Write len bytes to path atomically, as nlcl writes every file (images,
 * models, checkpoints, logs): into a temporary file in path's folder, which
 * is flushed, synced and renamed over path. path then holds either its old
 * content or all the new bytes, never a part. Errors: IO naming the file
 * (a missing folder, a full disk). */
nlcl_status nlcl_write_file(const char *path, const void *data, size_t len);
/* For a signal handler about to _exit: remove the temporary file of an
 * atomic write in progress in this process, if any (the file being written
 * keeps its old content). Async-signal-safe. */
void nlcl_remove_partial_write(void);

NLCL_API_END
#endif
