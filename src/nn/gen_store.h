/* Activation stores of the generator's band pipeline (gen_bands.c): one
 * blocked activation of h x w pixels, ceil(C/B) channel blocks of B lanes,
 * kept band-major: band k (rows [kR, min(h, kR + R))) is one contiguous
 * blocked tensor (ceil(C/B), rows, w, B), so that a convolution writes a
 * band straight into it; in memory, or in an unlinked temporary file (the
 * same layout). Not thread-safe; called between parallel regions. */
#ifndef NLCL_NN_GEN_STORE_H
#define NLCL_NN_GEN_STORE_H

#include <stddef.h>

#include "nlcl/status.h"

typedef struct nlcl_store {
    int cb, h, w, B, R; /* channel blocks, rows, columns, lanes, rows per band */
    float *mem;         /* the activation, or NULL when file-backed */
    int file, fd;       /* file: fd is the temporary file (a zeroed store is empty) */
} nlcl_store;

/* In memory. Errors: NOMEM. */
nlcl_status nlcl_store_init_mem(nlcl_store *s, int cb, int h, int w, int B, int R);
/* In a temporary file of `dir`, unlinked at once (it disappears with the
 * process). Errors: IO naming the folder. */
nlcl_status nlcl_store_init_file(nlcl_store *s, int cb, int h, int w, int B, int R, const char *dir);
void nlcl_store_free(nlcl_store *s);
/* Errors: LIMIT when `dir` has less than `bytes` free, IO. */
nlcl_status nlcl_store_check_space(const char *dir, size_t bytes);

/* Band k of a memory store (NULL for files). */
float *nlcl_store_band(nlcl_store *s, int k);
/* Row r of channel block cb of a memory store (w * B floats). */
const float *nlcl_store_row(const nlcl_store *s, int cb, int r);
/* Store band k from src (cb * rows * w * B floats; nothing to do when src is
 * the memory band itself). Errors: IO, LIMIT (disk full). */
nlcl_status nlcl_store_put_band(nlcl_store *s, int k, const float *src);
/* Rows [r0, r1) of block cb into dst (contiguous), across bands. Errors: IO. */
nlcl_status nlcl_store_get_rows(const nlcl_store *s, int cb, int r0, int r1, float *dst);
/* Store rows [r0, r1) of block cb (within one band) from src. Errors: IO, LIMIT. */
nlcl_status nlcl_store_put_rows(nlcl_store *s, int cb, int r0, int r1, const float *src);

#endif
