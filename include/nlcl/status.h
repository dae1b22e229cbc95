/* nlcl/status.h - status codes and the thread-local error message.
 *
 * Every fallible libnlcl function returns an nlcl_status. On failure it also
 * stores a message in a per-thread buffer, "subject: problem", where the
 * subject is the file (or tensor, option...) concerned, e.g.
 *     "rain.png: PNG truncated".
 * Messages never name the library's internals: a program prints them after
 * its own context, as the nlcl command does ("nlcl derain: rain.png: PNG
 * truncated"). Only a misuse of the API (a NULL argument) names the public
 * function called: "nlcl_image_load: NULL argument".
 * The message stays valid until the next failing call on the same thread.
 * The library never prints and never exits; the command-line tool maps
 * statuses to exit codes.
 */
#ifndef NLCL_STATUS_H
#define NLCL_STATUS_H

#include "nlcl/export.h"

NLCL_API_BEGIN

typedef enum nlcl_status {
    NLCL_OK = 0,
    NLCL_ERR_INVALID_ARG = 1, /* a caller-supplied argument is out of range */
    NLCL_ERR_IO = 2,          /* open/read/write/rename failed */
    NLCL_ERR_FORMAT = 3,      /* a file is malformed, truncated or corrupt */
    NLCL_ERR_UNSUPPORTED = 4, /* well-formed but not supported (dtype, opcode...) */
    NLCL_ERR_LIMIT = 5,       /* exceeds a configured limit (pixels, memory) */
    NLCL_ERR_NOMEM = 6,       /* allocation failed */
    NLCL_ERR_NONFINITE = 7,   /* a NaN or Inf appeared (training) */
    NLCL_ERR_INTERRUPTED = 8, /* stopped by a signal or a callback */
    NLCL_ERR_INTERNAL = 9     /* backend (oneDNN) failure or library bug */
} nlcl_status;

/* Short stable name of a status, e.g. "format". Never NULL. */
const char *nlcl_status_name(nlcl_status s);

/* The calling thread's last error message ("" if none). Never NULL. */
const char *nlcl_error_message(void);

/* Store a printf-formatted message for this thread and return `s`, so that
 * `return nlcl_error_set(NLCL_ERR_FORMAT, "x: %s: bad", path);` reads well. */
nlcl_status nlcl_error_set(nlcl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prepend "prefix" to the current message (adds context while unwinding)
 * and return `s`. */
nlcl_status nlcl_error_prefix(nlcl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void nlcl_error_clear(void);

NLCL_API_END
#endif
