/* Status names and the thread-local error message (include/nlcl/status.h). */
#include "nlcl/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NLCL_ERRBUF 1024
static _Thread_local char errbuf[NLCL_ERRBUF];

const char *nlcl_status_name(nlcl_status s) {
    switch (s) {
    case NLCL_OK: return "ok";
    case NLCL_ERR_INVALID_ARG: return "invalid argument";
    case NLCL_ERR_IO: return "i/o error";
    case NLCL_ERR_FORMAT: return "format error";
    case NLCL_ERR_UNSUPPORTED: return "unsupported";
    case NLCL_ERR_LIMIT: return "limit exceeded";
    case NLCL_ERR_NOMEM: return "out of memory";
    case NLCL_ERR_NONFINITE: return "non-finite value";
    case NLCL_ERR_INTERRUPTED: return "interrupted";
    case NLCL_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *nlcl_error_message(void) { return errbuf; }

void nlcl_error_clear(void) { errbuf[0] = '\0'; }

nlcl_status nlcl_error_set(nlcl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return s;
}

nlcl_status nlcl_error_prefix(nlcl_status s, const char *fmt, ...) {
    char old[NLCL_ERRBUF];
    memcpy(old, errbuf, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof errbuf) snprintf(errbuf + n, sizeof errbuf - (size_t)n, "%s", old);
    return s;
}
