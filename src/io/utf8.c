/* UTF-8 validation and escaping of file names as text (include/nlcl/files.h). */
#include "nlcl/files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if p[0] does not
 * start one (RFC 3629 table 3-7 of Unicode: well-formed byte sequences). */
static size_t seq_len(const unsigned char *p) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
        else if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    return n;
}

int nlcl_utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = seq_len(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

static char *escape(const char *s, const char *prefix) {
    const unsigned char *p = (const unsigned char *)s;
    const size_t len = strlen(s), pl = strlen(prefix);
    char *out = malloc((pl + 3) * len + 1); /* every byte escaped at most */
    if (!out) return NULL;
    char *o = out;
    while (*p) {
        size_t n = seq_len(p);
        if (n) {
            memcpy(o, p, n);
            o += n, p += n;
        } else {
            memcpy(o, prefix, pl);
            snprintf(o + pl, 4, "x%02x", *p++);
            o += pl + 3;
        }
    }
    *o = '\0';
    return out;
}

char *nlcl_utf8_escape(const char *s) { return escape(s, "\\"); }

char *nlcl_utf8_escape_json_text(const char *json) { return escape(json, "\\\\"); }
