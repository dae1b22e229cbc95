/* The restricted unpickler of PyTorch .pth files (src/io/pth.c reads the
 * zip archive around it; include/nlcl/weights.h).
 *
 * A non-recursive stack machine over a fixed opcode whitelist. Its objects
 * are plain data (none, bool, int, str, tuple, dict, a whitelisted global,
 * storage, tensor descriptor) kept in one list and freed together, so shared
 * or cyclic references cannot leak or recurse. Nothing from the file is ever
 * called. Not installed. */
#ifndef NLCL_IO_PICKLE_H
#define NLCL_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/status.h"

#define NLCL_PICKLE_MAX_GLOBAL_LINE 128

/* O_FLOAT: a Python float, or an int too large for int64 (LONG1/LONG4), kept
 * apart from O_INT so that it can never be a shape or an offset. O_LIST: a
 * list (items, n, cap as a dict's kv). Both occur in training checkpoints
 * around the state_dict (learning rates, optimizer parameter groups). */
typedef enum {
    O_NONE, O_BOOL, O_INT, O_FLOAT, O_STR, O_TUPLE, O_LIST, O_DICT, O_GLOBAL, O_STORAGE, O_TENSOR
} okind;
typedef enum { G_ODICT, G_REBUILD, G_REBUILD_PARAM, G_STORAGE_TYPE } gkind;

typedef struct obj obj;
struct obj {
    okind kind;
    obj *all_next; /* allocation list */
    union {
        int64_t i;
        struct {
            char *s;
            size_t len;
        } str;
        double f;
        struct {
            obj **items;
            size_t n, cap; /* cap: lists only */
        } tup;
        struct {
            obj **kv; /* key, value, key, value ... */
            size_t n, cap;
        } dict;
        struct {
            gkind g;
            char name[NLCL_PICKLE_MAX_GLOBAL_LINE]; /* storage type name, e.g. "FloatStorage" */
        } glob;
        struct {
            const obj *type; /* O_GLOBAL G_STORAGE_TYPE */
            const char *key; /* owned by the key's O_STR */
            int64_t numel;
        } storage;
        struct {
            const obj *storage;
            int64_t offset;
            int ndim; /* may exceed NLCL_MAX_DIMS; checked when used */
            const obj *size, *stride; /* O_TUPLEs of O_INT */
        } tensor;
    } u;
};

typedef struct {
    const char *file;
    const unsigned char *p;
    size_t len, pos;
    obj *all;
    size_t cells;
    obj **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    obj **memo;
    size_t memo_cap;
    size_t memo_len; /* distinct memo entries stored (MEMOIZE's next index) */
} unpickler;

/* Start an unpickler over the pickle p[0..len); `file` names it in messages. */
void nlcl_unpickler_init(unpickler *u, const char *file, const unsigned char *p, size_t len);
/* Run the pickle; *result is the object STOP returns, valid until
 * nlcl_unpickler_free. Errors ("FILE: pickle ... (data.pkl byte
 * N)"): FORMAT (malformed, truncated), UNSUPPORTED (an opcode or global
 * outside the whitelist), LIMIT (a bound of the stack, memo or object count),
 * NOMEM. */
nlcl_status nlcl_unpickle(unpickler *u, obj **result);
/* Free every object and the machine's stacks. */
void nlcl_unpickler_free(unpickler *u);
/* For messages: "a dict", "a tensor", ...; and a printable ASCII copy of s
 * (at most 80 characters, others as '?') into buf. */
const char *nlcl_pickle_kind_name(const obj *o);
const char *nlcl_pickle_printable(const char *s, size_t len, char *buf, size_t n);

#endif
