/* Atomic file writing: data goes to "<path>.tmp-XXXXXX" in the destination's
 * folder (the name before ".tmp-" cut, at a UTF-8 character boundary, where
 * the whole would pass the folder's name limit, 255 bytes on Linux, or
 * PATH_MAX; mkstemp makes it unique); commit flushes, fsyncs, closes and renames it over <path> (then
 * fsyncs the folder); abort removes it. A failure at any point leaves the
 * previous <path> untouched and no temporary file behind. Used for every
 * file nlcl writes: images, models, checkpoints, logs' snapshots. */
#ifndef NLCL_AFILE_H
#define NLCL_AFILE_H

#include <stdio.h>

#include "nlcl/status.h"

typedef struct nlcl_afile {
    FILE *fp;           /* write through this */
    char *path;         /* final path */
    char *tmp;          /* temporary path */
} nlcl_afile;

/* Errors: NLCL_ERR_IO ("path: cannot create temporary file: ..."). */
nlcl_status nlcl_afile_open(nlcl_afile *f, const char *path);
/* Errors: NLCL_ERR_IO (write error such as a full disk, fsync or rename
 * failure); on error the temporary file is removed. Always releases f. */
nlcl_status nlcl_afile_commit(nlcl_afile *f);
/* Discard everything written; always releases f. */
void nlcl_afile_abort(nlcl_afile *f);
/* Async-signal-safe: remove the temporary file of a write in progress, if
 * any (for a signal handler about to _exit; the final file is untouched). */
void nlcl_afile_remove_pending(void);
/* 1 when `name` (a file name, no folder) is a temporary name of an atomic
 * write, "NAME.tmp-XXXXXX" (X from mkstemp's letters and digits), or that
 * with the ".png" the loss plot's temporary name adds (cli/plot.c). */
int nlcl_afile_is_temp_name(const char *name);
/* Write all bytes; NLCL_ERR_IO naming the file on failure (f stays open:
 * call nlcl_afile_abort). */
nlcl_status nlcl_afile_write(nlcl_afile *f, const void *buf, size_t len);

#endif
