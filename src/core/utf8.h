/* Text that must be UTF-8 (JSON, safetensors metadata, CSV) made from bytes
 * that need not be (file names on Linux are any bytes but '/' and NUL, and
 * archives unpacked from other systems often hold Latin-1 or CP437 names).
 * Not installed. */
#ifndef NLCL_UTF8_H
#define NLCL_UTF8_H

#include <stddef.h>

/* 1 if s is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF). */
int nlcl_utf8_valid(const char *s);

/* A malloc'd copy of s in which every byte that is not part of a valid UTF-8
 * sequence is written as the four characters \xNN (lower-case hex), as
 * Python's errors="backslashreplace" does: "caf\xe9.png" for Latin-1
 * "café.png". Valid UTF-8 is copied unchanged. NULL when out of memory. */
char *nlcl_utf8_escape(const char *s);

/* The same for JSON text whose strings hold raw bytes (e.g. cJSON's output
 * for such strings; bytes >= 0x80 occur only inside strings): each such byte
 * becomes \\xNN, the JSON escape of the text \xNN, so the strings read back
 * as nlcl_utf8_escape would have made them. */
char *nlcl_utf8_escape_json_text(const char *json);

#endif
