/* PyTorch .pth state_dict import (include/nlcl/weights.h).
 *
 * torch.save (PyTorch >= 1.6) writes a zip archive: <root>/data.pkl is a
 * pickle (protocol 2) of the state_dict whose tensors are rebuilt by
 * torch._utils._rebuild_tensor_v2 from storages named by persistent ids
 * ('storage', torch.<T>Storage, key, location, numel); storage <key> is the
 * raw little-endian file <root>/data/<key>.
 *
 * The unpickler below is a non-recursive stack machine over a fixed opcode
 * whitelist. Its objects are plain data (none, bool, int, str, tuple, dict,
 * a whitelisted global, storage, tensor descriptor) kept in one list and
 * freed together, so shared or cyclic references cannot leak or recurse.
 * Nothing from the file is ever called. */
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/internal.h"
#include "nlcl/weights.h"

#define DOMAIN "weights_load"

/* Bounds of the unpickler (a 316k-parameter state_dict needs < 1000 of each). */
#define MAX_STACK (1u << 20)
#define MAX_MARKS (1u << 16)
#define MAX_MEMO (1u << 22)
#define MAX_STR (1u << 20)
#define MAX_CELLS (1u << 24) /* objects + tuple/dict slots */
#define MAX_GLOBAL_LINE 128
#define MAX_KEY 64

/* ---- objects --------------------------------------------------------- */

typedef enum { O_NONE, O_BOOL, O_INT, O_STR, O_TUPLE, O_DICT, O_GLOBAL, O_STORAGE, O_TENSOR } okind;
typedef enum { G_ODICT, G_REBUILD, G_STORAGE_TYPE } gkind;

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
        struct {
            obj **items;
            size_t n;
        } tup;
        struct {
            obj **kv; /* key, value, key, value ... */
            size_t n, cap;
        } dict;
        struct {
            gkind g;
            char name[MAX_GLOBAL_LINE]; /* storage type name, e.g. "FloatStorage" */
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
} unpickler;

static const char *op_name(int op) {
    switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    }
    return "unknown";
}

/* "'R' (REDUCE)" or "0x93 (STACK_GLOBAL)". */
static const char *op_desc(int op, char *buf, size_t n) {
    if (op > 32 && op < 127) snprintf(buf, n, "'%c' (%s)", op, op_name(op));
    else snprintf(buf, n, "0x%02x (%s)", op, op_name(op));
    return buf;
}

/* Copy for messages: printable ASCII only, at most 80 chars. */
static const char *printable(const char *s, size_t len, char *buf, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < len && k + 4 < n && i < 80; i++)
        buf[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (len > 80 && k + 4 < n) buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

static const char *kind_name(const obj *o) {
    switch (o->kind) {
    case O_NONE: return "None";
    case O_BOOL: return "a bool";
    case O_INT: return "an int";
    case O_STR: return "a string";
    case O_TUPLE: return "a tuple";
    case O_DICT: return "a dict";
    case O_GLOBAL:
        return o->u.glob.g == G_ODICT     ? "collections.OrderedDict"
               : o->u.glob.g == G_REBUILD ? "torch._utils._rebuild_tensor_v2"
                                          : "a torch storage type";
    case O_STORAGE: return "a storage";
    case O_TENSOR: return "a tensor";
    }
    return "?";
}

static nlcl_status up_fail(unpickler *u, nlcl_status s, const char *what) {
    return nlcl_error_set(s, DOMAIN ": %s: pickle %s (data.pkl byte %zu)", u->file, what, u->pos);
}

static nlcl_status new_obj(unpickler *u, okind k, size_t slots, obj **out) {
    if (u->cells > MAX_CELLS || slots > MAX_CELLS - u->cells)
        return nlcl_error_set(NLCL_ERR_LIMIT, DOMAIN ": %s: pickle creates more than %u objects",
                              u->file, MAX_CELLS);
    obj *o = calloc(1, sizeof *o);
    if (!o) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
    o->kind = k;
    o->all_next = u->all;
    u->all = o;
    u->cells += 1 + slots;
    *out = o;
    return NLCL_OK;
}

static void free_all(unpickler *u) {
    for (obj *o = u->all, *n; o; o = n) {
        n = o->all_next;
        if (o->kind == O_STR) free(o->u.str.s);
        else if (o->kind == O_TUPLE) free(o->u.tup.items);
        else if (o->kind == O_DICT) free(o->u.dict.kv);
        free(o);
    }
    u->all = NULL;
    free(u->stack);
    free(u->marks);
    free(u->memo);
}

static nlcl_status push(unpickler *u, obj *o) {
    if (u->sp == u->scap) {
        if (u->scap >= MAX_STACK)
            return up_fail(u, NLCL_ERR_LIMIT, "stack exceeds its limit");
        size_t nc = u->scap ? 2 * u->scap : 64;
        obj **s = realloc(u->stack, nc * sizeof *s);
        if (!s) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
        u->stack = s;
        u->scap = nc;
    }
    u->stack[u->sp++] = o;
    return NLCL_OK;
}

/* Items above the innermost mark must stay above it: popping below the mark
 * is a malformed pickle (CPython raises too). */
static size_t floor_sp(const unpickler *u) { return u->nmarks ? u->marks[u->nmarks - 1] : 0; }

static nlcl_status pop(unpickler *u, obj **o) {
    if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
    *o = u->stack[--u->sp];
    return NLCL_OK;
}

static nlcl_status pop_mark(unpickler *u, size_t *k) {
    if (!u->nmarks) return up_fail(u, NLCL_ERR_FORMAT, "has no MARK for a MARK-based opcode");
    *k = u->marks[--u->nmarks];
    return NLCL_OK;
}

static nlcl_status need(unpickler *u, size_t n) {
    if (n > u->len - u->pos) return up_fail(u, NLCL_ERR_FORMAT, "is truncated (an argument runs past its end)");
    return NLCL_OK;
}

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static nlcl_status make_tuple(unpickler *u, size_t from) {
    size_t n = u->sp - from;
    obj *t;
    NLCL_TRY(new_obj(u, O_TUPLE, n, &t));
    if (n) {
        t->u.tup.items = malloc(n * sizeof(obj *));
        if (!t->u.tup.items) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
        memcpy(t->u.tup.items, u->stack + from, n * sizeof(obj *));
    }
    t->u.tup.n = n;
    u->sp = from;
    return push(u, t);
}

static nlcl_status dict_set(unpickler *u, obj *d, obj *k, obj *v) {
    if (d->kind != O_DICT)
        return up_fail(u, NLCL_ERR_FORMAT, "SETITEM target is not a dict");
    if (d->u.dict.n + 2 > d->u.dict.cap) {
        /* cells <= MAX_CELLS always holds (new_obj and this check keep it). */
        if (d->u.dict.cap + 16 > MAX_CELLS - u->cells)
            return nlcl_error_set(NLCL_ERR_LIMIT, DOMAIN ": %s: pickle creates more than %u objects",
                                  u->file, MAX_CELLS);
        size_t nc = d->u.dict.cap ? 2 * d->u.dict.cap : 16;
        obj **kv = realloc(d->u.dict.kv, nc * sizeof *kv);
        if (!kv) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
        u->cells += nc - d->u.dict.cap;
        d->u.dict.kv = kv;
        d->u.dict.cap = nc;
    }
    d->u.dict.kv[d->u.dict.n++] = k;
    d->u.dict.kv[d->u.dict.n++] = v;
    return NLCL_OK;
}

static int str_is(const obj *o, const char *s) {
    return o->kind == O_STR && o->u.str.len == strlen(s) && memcmp(o->u.str.s, s, o->u.str.len) == 0;
}

/* GLOBAL "module\nname\n": the whitelist. */
static nlcl_status op_global(unpickler *u) {
    const char *line[2];
    size_t ln[2];
    for (int i = 0; i < 2; i++) {
        const unsigned char *start = u->p + u->pos;
        size_t max = NLCL_MIN(u->len - u->pos, (size_t)MAX_GLOBAL_LINE);
        const unsigned char *nl = memchr(start, '\n', max);
        if (!nl) return up_fail(u, NLCL_ERR_FORMAT, "GLOBAL argument is unterminated or too long");
        line[i] = (const char *)start;
        ln[i] = (size_t)(nl - start);
        u->pos += ln[i] + 1;
    }
    obj *g;
#define IS(i, lit) (ln[i] == sizeof(lit) - 1 && memcmp(line[i], lit, ln[i]) == 0)
    if (IS(0, "collections") && IS(1, "OrderedDict")) {
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_ODICT;
    } else if (IS(0, "torch._utils") && IS(1, "_rebuild_tensor_v2")) {
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_REBUILD;
    } else if (IS(0, "torch") && ln[1] > 7 && memcmp(line[1] + ln[1] - 7, "Storage", 7) == 0 &&
               ln[1] < MAX_GLOBAL_LINE) {
        for (size_t i = 0; i < ln[1]; i++) {
            char c = line[1][i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                goto refuse;
        }
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_STORAGE_TYPE;
        memcpy(g->u.glob.name, line[1], ln[1]);
        g->u.glob.name[ln[1]] = '\0';
    } else {
        goto refuse;
    }
#undef IS
    return push(u, g);
refuse:;
    char a[100], b[100];
    return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                          DOMAIN ": %s: pickle global '%s.%s' (opcode 'c' GLOBAL) is not allowed: "
                                 "only collections.OrderedDict, torch._utils._rebuild_tensor_v2 "
                                 "and torch.*Storage may appear in a state_dict",
                          u->file, printable(line[0], ln[0], a, sizeof a),
                          printable(line[1], ln[1], b, sizeof b));
}

/* persistent_load(('storage', storage_type, key, location, numel)). */
static nlcl_status op_binpersid(unpickler *u) {
    obj *pid, *st;
    NLCL_TRY(pop(u, &pid));
    if (pid->kind != O_TUPLE || pid->u.tup.n != 5 || !str_is(pid->u.tup.items[0], "storage"))
        return up_fail(u, NLCL_ERR_UNSUPPORTED,
                       "persistent id is not a ('storage', type, key, location, numel) tuple");
    obj **it = pid->u.tup.items;
    if (it[1]->kind != O_GLOBAL || it[1]->u.glob.g != G_STORAGE_TYPE || it[2]->kind != O_STR ||
        it[3]->kind != O_STR || it[4]->kind != O_INT || it[4]->u.i < 0)
        return up_fail(u, NLCL_ERR_FORMAT,
                       "persistent id has the wrong types (want storage type, str, str, int >= 0)");
    const obj *key = it[2];
    if (key->u.str.len == 0 || key->u.str.len > MAX_KEY)
        return up_fail(u, NLCL_ERR_FORMAT, "storage key is empty or too long");
    for (size_t i = 0; i < key->u.str.len; i++) {
        char c = key->u.str.s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return up_fail(u, NLCL_ERR_FORMAT, "storage key has characters other than [A-Za-z0-9_]");
    }
    NLCL_TRY(new_obj(u, O_STORAGE, 0, &st));
    st->u.storage.type = it[1];
    st->u.storage.key = key->u.str.s;
    st->u.storage.numel = it[4]->u.i;
    return push(u, st);
}

static int int_tuple(const obj *t) {
    if (t->kind != O_TUPLE) return 0;
    for (size_t i = 0; i < t->u.tup.n; i++)
        if (t->u.tup.items[i]->kind != O_INT) return 0;
    return 1;
}

static nlcl_status op_reduce(unpickler *u) {
    obj *args, *fn, *r;
    NLCL_TRY(pop(u, &args));
    NLCL_TRY(pop(u, &fn));
    if (fn->kind == O_GLOBAL && fn->u.glob.g == G_ODICT) {
        if (args->kind != O_TUPLE || args->u.tup.n != 0)
            return up_fail(u, NLCL_ERR_UNSUPPORTED, "calls OrderedDict with arguments (only OrderedDict() is allowed)");
        NLCL_TRY(new_obj(u, O_DICT, 0, &r));
        return push(u, r);
    }
    if (fn->kind == O_GLOBAL && fn->u.glob.g == G_REBUILD) {
        /* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
        obj **a = args->kind == O_TUPLE ? args->u.tup.items : NULL;
        size_t n = args->kind == O_TUPLE ? args->u.tup.n : 0;
        if (!a || (n != 6 && n != 7) || a[0]->kind != O_STORAGE || a[1]->kind != O_INT ||
            !int_tuple(a[2]) || !int_tuple(a[3]) || a[2]->u.tup.n != a[3]->u.tup.n ||
            a[4]->kind != O_BOOL || (a[5]->kind != O_DICT && a[5]->kind != O_NONE))
            return up_fail(u, NLCL_ERR_FORMAT,
                           "_rebuild_tensor_v2 arguments are not (storage, int, size tuple, "
                           "stride tuple of the same length, bool, dict[, metadata])");
        NLCL_TRY(new_obj(u, O_TENSOR, 0, &r));
        r->u.tensor.storage = a[0];
        r->u.tensor.offset = a[1]->u.i;
        r->u.tensor.ndim = (int)NLCL_MIN(a[2]->u.tup.n, (size_t)1000);
        r->u.tensor.size = a[2];
        r->u.tensor.stride = a[3];
        return push(u, r);
    }
    char od[40], msg[200];
    snprintf(msg, sizeof msg, "opcode %s on %s is not allowed", op_desc('R', od, sizeof od),
             fn->kind == O_GLOBAL && fn->u.glob.g == G_STORAGE_TYPE ? fn->u.glob.name : kind_name(fn));
    return up_fail(u, NLCL_ERR_UNSUPPORTED, msg);
}

/* Run the pickle; *result is the object STOP returns. */
static nlcl_status unpickle(unpickler *u, obj **result) {
    char od[40], msg[200];
    while (u->pos < u->len) {
        size_t at = u->pos;
        int op = u->p[u->pos++];
        obj *o, *k, *v;
        size_t m = 0;
        switch (op) {
        case 0x80: /* PROTO */
            NLCL_TRY(need(u, 1));
            if (u->p[u->pos] > 5) return up_fail(u, NLCL_ERR_UNSUPPORTED, "protocol is newer than 5");
            u->pos++;
            break;
        case 0x95: /* FRAME: a length hint only */
            NLCL_TRY(need(u, 8));
            u->pos += 8;
            break;
        case '}':
            NLCL_TRY(new_obj(u, O_DICT, 0, &o));
            NLCL_TRY(push(u, o));
            break;
        case ')':
            NLCL_TRY(make_tuple(u, u->sp));
            break;
        case 'N':
        case 0x88:
        case 0x89:
            NLCL_TRY(new_obj(u, op == 'N' ? O_NONE : O_BOOL, 0, &o));
            o->u.i = op == 0x88;
            NLCL_TRY(push(u, o));
            break;
        case '(':
            if (u->nmarks == u->mcap) {
                if (u->mcap >= MAX_MARKS) return up_fail(u, NLCL_ERR_LIMIT, "MARK nesting exceeds its limit");
                size_t nc = u->mcap ? 2 * u->mcap : 16;
                size_t *mk = realloc(u->marks, nc * sizeof *mk);
                if (!mk) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
                u->marks = mk;
                u->mcap = nc;
            }
            u->marks[u->nmarks++] = u->sp;
            break;
        case 'X': {
            NLCL_TRY(need(u, 4));
            uint32_t n = rd_u32(u->p + u->pos);
            u->pos += 4;
            if (n > MAX_STR) return up_fail(u, NLCL_ERR_LIMIT, "string exceeds the 1 MiB limit");
            NLCL_TRY(need(u, n));
            NLCL_TRY(new_obj(u, O_STR, n / 16, &o));
            o->u.str.s = malloc((size_t)n + 1);
            if (!o->u.str.s) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
            memcpy(o->u.str.s, u->p + u->pos, n);
            o->u.str.s[n] = '\0';
            o->u.str.len = n;
            u->pos += n;
            NLCL_TRY(push(u, o));
            break;
        }
        case 'J':
        case 'K':
        case 'M': {
            size_t n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            NLCL_TRY(need(u, n));
            const unsigned char *q = u->p + u->pos;
            int64_t val = op == 'J' ? (int64_t)(int32_t)rd_u32(q) : op == 'K' ? q[0] : (q[0] | q[1] << 8);
            u->pos += n;
            NLCL_TRY(new_obj(u, O_INT, 0, &o));
            o->u.i = val;
            NLCL_TRY(push(u, o));
            break;
        }
        case 'q':
        case 'r':
        case 'h':
        case 'j': {
            size_t n = (op == 'q' || op == 'h') ? 1 : 4;
            NLCL_TRY(need(u, n));
            uint32_t idx = n == 1 ? u->p[u->pos] : rd_u32(u->p + u->pos);
            u->pos += n;
            if (op == 'q' || op == 'r') {
                if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
                if (idx >= MAX_MEMO) return up_fail(u, NLCL_ERR_LIMIT, "memo index exceeds its limit");
                if (idx >= u->memo_cap) {
                    size_t nc = u->memo_cap ? u->memo_cap : 256;
                    while (nc <= idx) nc *= 2;
                    obj **mm = realloc(u->memo, nc * sizeof *mm);
                    if (!mm) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", u->file);
                    memset(mm + u->memo_cap, 0, (nc - u->memo_cap) * sizeof *mm);
                    u->memo = mm;
                    u->memo_cap = nc;
                }
                u->memo[idx] = u->stack[u->sp - 1];
            } else {
                if (idx >= u->memo_cap || !u->memo[idx])
                    return up_fail(u, NLCL_ERR_FORMAT, "reads a memo entry that was never stored");
                NLCL_TRY(push(u, u->memo[idx]));
            }
            break;
        }
        case 'c':
            NLCL_TRY(op_global(u));
            break;
        case 'Q':
            NLCL_TRY(op_binpersid(u));
            break;
        case 't':
            NLCL_TRY(pop_mark(u, &m));
            NLCL_TRY(make_tuple(u, m));
            break;
        case 0x85:
        case 0x86:
        case 0x87: {
            size_t n = (size_t)(op - 0x84);
            if (u->sp < floor_sp(u) + n) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
            NLCL_TRY(make_tuple(u, u->sp - n));
            break;
        }
        case 'R':
            NLCL_TRY(op_reduce(u));
            break;
        case 's':
            NLCL_TRY(pop(u, &v));
            NLCL_TRY(pop(u, &k));
            if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
            NLCL_TRY(dict_set(u, u->stack[u->sp - 1], k, v));
            break;
        case 'u':
            NLCL_TRY(pop_mark(u, &m));
            if (m == 0 || m <= floor_sp(u) || (u->sp - m) % 2)
                return up_fail(u, NLCL_ERR_FORMAT, "SETITEMS without a dict or with an odd item count");
            for (size_t i = m; i < u->sp; i += 2)
                NLCL_TRY(dict_set(u, u->stack[m - 1], u->stack[i], u->stack[i + 1]));
            u->sp = m;
            break;
        case 'b':
            NLCL_TRY(pop(u, &v));
            if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
            o = u->stack[u->sp - 1];
            if (o->kind != O_DICT) {
                snprintf(msg, sizeof msg, "opcode %s on %s is not allowed",
                         op_desc('b', od, sizeof od), kind_name(o));
                return up_fail(u, NLCL_ERR_UNSUPPORTED, msg);
            }
            break; /* state (the state_dict's _metadata) ignored */
        case '.':
            NLCL_TRY(pop(u, result));
            return NLCL_OK;
        default:
            u->pos = at;
            snprintf(msg, sizeof msg, "opcode %s is not allowed", op_desc(op, od, sizeof od));
            return up_fail(u, NLCL_ERR_UNSUPPORTED, msg);
        }
    }
    return up_fail(u, NLCL_ERR_FORMAT, "ends without STOP (truncated?)");
}

/* ---- zip helpers ------------------------------------------------------- */

static nlcl_status zip_open_error(const char *path, int code) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    char why[200];
    snprintf(why, sizeof why, "%s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    switch (code) {
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return nlcl_error_set(NLCL_ERR_IO, DOMAIN ": %s: %s", path, why);
    case ZIP_ER_MEMORY: return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", path);
    case ZIP_ER_NOZIP:
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              DOMAIN ": %s: not a zip archive (truncated, or not a PyTorch >= 1.6 "
                                     ".pth file): %s",
                              path, why);
    default: return nlcl_error_set(NLCL_ERR_FORMAT, DOMAIN ": %s: damaged zip archive: %s", path, why);
    }
}

static nlcl_status zip_entry_error(const char *path, const char *entry, zip_error_t *ze) {
    int code = zip_error_code_zip(ze);
    nlcl_status s = NLCL_ERR_FORMAT;
    if (code == ZIP_ER_COMPNOTSUPP || code == ZIP_ER_ENCRNOTSUPP || code == ZIP_ER_NOPASSWD)
        s = NLCL_ERR_UNSUPPORTED;
    else if (code == ZIP_ER_MEMORY) s = NLCL_ERR_NOMEM;
    else if (code == ZIP_ER_READ || code == ZIP_ER_SEEK) s = NLCL_ERR_IO;
    return nlcl_error_set(s, DOMAIN ": %s: %s: %s", path, entry, zip_error_strerror(ze));
}

/* Open entry `idx` whose stat size must be `want` bytes. */
static nlcl_status entry_open(zip_t *za, zip_int64_t idx, const char *path, const char *name,
                              uint64_t want, zip_file_t **out) {
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return zip_entry_error(path, name, zip_get_error(za));
    if (sb.size != want)
        return nlcl_error_set(NLCL_ERR_FORMAT, DOMAIN ": %s: %s holds %llu bytes, expected %llu",
                              path, name, (unsigned long long)sb.size, (unsigned long long)want);
    *out = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!*out) return zip_entry_error(path, name, zip_get_error(za));
    return NLCL_OK;
}

/* Read exactly `len` bytes (the zip's sizes are not trusted: a short entry is
 * an error, and libzip reports a CRC mismatch on the read that hits EOF, so
 * we always read to the end). */
static nlcl_status entry_read(zip_file_t *zf, const char *path, const char *name, void *buf,
                              size_t len, int expect_eof) {
    size_t got = 0;
    while (got < len) {
        zip_int64_t r = zip_fread(zf, (char *)buf + got, len - got);
        if (r < 0) return zip_entry_error(path, name, zip_file_get_error(zf));
        if (r == 0)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  DOMAIN ": %s: %s ends after %zu bytes, expected %zu more", path,
                                  name, got, len - got);
        got += (size_t)r;
    }
    if (expect_eof) {
        char extra;
        zip_int64_t r = zip_fread(zf, &extra, 1);
        if (r < 0) return zip_entry_error(path, name, zip_file_get_error(zf));
        if (r > 0)
            return nlcl_error_set(NLCL_ERR_FORMAT, DOMAIN ": %s: %s is longer than it claims",
                                  path, name);
    }
    return NLCL_OK;
}

/* ---- state_dict -> tensor dict ---------------------------------------- */

typedef struct {
    const char *name;
    const obj *t;          /* O_TENSOR */
    size_t numel;
    nlcl_named_tensor *out; /* index into the dict, set after allocation */
    int out_index;
} tref;

static int cmp_tref_key(const void *a, const void *b) {
    const tref *x = a, *y = b;
    int c = strcmp(x->t->u.tensor.storage->u.storage.key, y->t->u.tensor.storage->u.storage.key);
    if (c) return c;
    return x->out_index - y->out_index;
}

static nlcl_status check_tensor(const char *path, tref *r) {
    const obj *t = r->t, *st = t->u.tensor.storage;
    const char *n = r->name;
    const char *ty = st->u.storage.type->u.glob.name;
    if (strcmp(ty, "FloatStorage") != 0)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                              DOMAIN ": %s: tensor '%.200s': dtype torch.%s is not supported "
                                     "(float32 / torch.FloatStorage only)",
                              path, n, ty);
    int nd = t->u.tensor.ndim;
    if (nd > NLCL_MAX_DIMS)
        return nlcl_error_set(NLCL_ERR_UNSUPPORTED, DOMAIN ": %s: tensor '%.200s': rank %d exceeds %d",
                              path, n, nd, NLCL_MAX_DIMS);
    int64_t shape[NLCL_MAX_DIMS], stride[NLCL_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        shape[i] = t->u.tensor.size->u.tup.items[i]->u.i;
        stride[i] = t->u.tensor.stride->u.tup.items[i]->u.i;
    }
    if (nlcl_tensor_numel(nd, shape, &r->numel) != NLCL_OK)
        return nlcl_error_prefix(NLCL_ERR_FORMAT, DOMAIN ": %s: tensor '%.200s': ", path, n);
    /* Row-major contiguity, as torch's is_contiguous: size-1 dims are free. */
    if (r->numel > 0) {
        int64_t expect = 1;
        for (int i = nd - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expect) {
                char buf[200];
                int k = 0;
                for (int j = 0; j < nd && k < 180; j++)
                    k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%lld", j ? ", " : "",
                                  (long long)stride[j]);
                buf[k] = '\0';
                return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                                      DOMAIN ": %s: tensor '%.200s': stride (%s) is not contiguous "
                                             "(a transposed or strided view; save tensor.contiguous())",
                                      path, n, buf);
            }
            expect *= shape[i]; /* no overflow: numel fits size_t and int64 here */
        }
    }
    int64_t off = t->u.tensor.offset, sn = st->u.storage.numel;
    if (off < 0 || off > sn || r->numel > (uint64_t)(sn - off))
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              DOMAIN ": %s: tensor '%.200s': elements [%lld, %lld) lie outside its "
                                     "storage '%s' of %lld elements",
                              path, n, (long long)off, (long long)off + (long long)r->numel,
                              st->u.storage.key, (long long)sn);
    return NLCL_OK;
}

/* Before any tensor is allocated: storage `st` must be an entry of the
 * archive declaring exactly its bytes, and no more bytes than its compressed
 * size can expand to (deflate's limit is about 1032:1; torch stores storages
 * uncompressed), so that a small file cannot make the loader allocate and
 * zero gigabytes only to fail on a missing or short storage afterwards. */
#define MAX_EXPANSION 1032u
static nlcl_status check_storage_entry(zip_t *za, const char *path, const char *root,
                                       const obj *st, const char *tensor) {
    char ename[300];
    snprintf(ename, sizeof ename, "%s/data/%s", root, st->u.storage.key);
    zip_int64_t idx = zip_name_locate(za, ename, 0);
    if (idx < 0)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              DOMAIN ": %s: storage '%s' of tensor '%.200s' is missing (no %s "
                                     "in the archive)",
                              path, st->u.storage.key, tensor, ename);
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE) ||
        !(sb.valid & ZIP_STAT_COMP_SIZE))
        return zip_entry_error(path, ename, zip_get_error(za));
    uint64_t want = (uint64_t)st->u.storage.numel * 4;
    if (sb.size != want)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              DOMAIN ": %s: %s holds %llu bytes, expected %llu (storage of "
                                     "tensor '%.200s': %lld float32 elements)",
                              path, ename, (unsigned long long)sb.size, (unsigned long long)want,
                              tensor, (long long)st->u.storage.numel);
    if (sb.comp_size < (UINT64_MAX - 1024) / MAX_EXPANSION &&
        sb.size > sb.comp_size * MAX_EXPANSION + 1024)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              DOMAIN ": %s: %s claims %llu bytes from %llu compressed bytes "
                                     "(more than deflate can expand)",
                              path, ename, (unsigned long long)sb.size,
                              (unsigned long long)sb.comp_size);
    return NLCL_OK;
}

static nlcl_status load_storages(zip_t *za, const char *path, const char *root, tref *refs,
                                 int nref) {
    /* Group tensors by storage key; every storage is streamed once, in
     * chunks, each chunk's floats going to the tensors that view them. */
    qsort(refs, (size_t)nref, sizeof *refs, cmp_tref_key);
    unsigned char buf[65536];
    nlcl_status s = NLCL_OK;
    for (int g = 0; g < nref && s == NLCL_OK;) {
        const obj *st = refs[g].t->u.tensor.storage;
        const char *key = st->u.storage.key;
        int ge = g;
        while (ge < nref && strcmp(refs[ge].t->u.tensor.storage->u.storage.key, key) == 0) ge++;
        char ename[300];
        snprintf(ename, sizeof ename, "%s/data/%s", root, key);
        zip_int64_t idx = zip_name_locate(za, ename, 0);
        if (idx < 0)
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  DOMAIN ": %s: storage '%s' of tensor '%.200s' is missing (no %s "
                                         "in the archive)",
                                  path, key, refs[g].name, ename);
        uint64_t bytes = (uint64_t)st->u.storage.numel * 4;
        zip_file_t *zf;
        s = entry_open(za, idx, path, ename, bytes, &zf);
        if (s != NLCL_OK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", nlcl_error_message());
            return nlcl_error_set(s, "%s (storage of tensor '%.200s': %lld float32 elements)", why,
                                  refs[g].name, (long long)st->u.storage.numel);
        }
        uint64_t pos = 0; /* bytes consumed */
        while (s == NLCL_OK && pos < bytes) {
            size_t n = (size_t)NLCL_MIN((uint64_t)sizeof buf, bytes - pos);
            s = entry_read(zf, path, ename, buf, n, 0);
            if (s != NLCL_OK) break;
            uint64_t e0 = pos / 4, e1 = (pos + n) / 4; /* element range of this chunk */
            for (int i = g; i < ge; i++) {
                uint64_t t0 = (uint64_t)refs[i].t->u.tensor.offset, t1 = t0 + refs[i].numel;
                uint64_t a = NLCL_MAX(t0, e0), b = NLCL_MIN(t1, e1);
                float *dst = refs[i].out->data;
                for (uint64_t e = a; e < b; e++) {
                    const unsigned char *q = buf + (e - e0) * 4;
                    uint32_t w = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                                 (uint32_t)q[3] << 24;
                    memcpy(&dst[e - t0], &w, 4);
                }
            }
            pos += n;
        }
        if (s == NLCL_OK) s = entry_read(zf, path, ename, buf, 0, 1);
        zip_fclose(zf);
        g = ge;
    }
    return s;
}

static nlcl_status find_root(zip_t *za, const char *path, char *root, size_t rootcap,
                             zip_int64_t *pkl) {
    zip_int64_t n = zip_get_num_entries(za, 0);
    int found = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!nm) continue;
        const char *slash = strchr(nm, '/');
        if (!slash || slash == nm || strcmp(slash, "/data.pkl") != 0) continue;
        if (found++) {
            return nlcl_error_set(NLCL_ERR_FORMAT,
                                  DOMAIN ": %s: archive holds more than one <root>/data.pkl", path);
        }
        size_t rl = (size_t)(slash - nm);
        if (rl >= rootcap)
            return nlcl_error_set(NLCL_ERR_FORMAT, DOMAIN ": %s: archive root folder name is too long",
                                  path);
        memcpy(root, nm, rl);
        root[rl] = '\0';
        *pkl = i;
    }
    if (!found)
        return nlcl_error_set(NLCL_ERR_FORMAT,
                              DOMAIN ": %s: zip archive has no <root>/data.pkl (not a PyTorch .pth "
                                     "state_dict)",
                              path);
    return NLCL_OK;
}

static nlcl_status check_byteorder(zip_t *za, const char *path, const char *root) {
    char name[300];
    snprintf(name, sizeof name, "%s/byteorder", root);
    zip_int64_t idx = zip_name_locate(za, name, 0);
    if (idx < 0) return NLCL_OK; /* older torch: always little-endian */
    zip_stat_t sb;
    zip_stat_init(&sb);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return zip_entry_error(path, name, zip_get_error(za));
    if (sb.size == 6) {
        zip_file_t *zf;
        char b[6];
        NLCL_TRY(entry_open(za, idx, path, name, 6, &zf));
        nlcl_status s = entry_read(zf, path, name, b, 6, 1);
        zip_fclose(zf);
        NLCL_TRY(s);
        if (memcmp(b, "little", 6) == 0) return NLCL_OK;
    }
    return nlcl_error_set(NLCL_ERR_UNSUPPORTED, DOMAIN ": %s: storages are not little-endian", path);
}

static nlcl_status load_archive(zip_t *za, const char *path, nlcl_tensor_dict *d) {
    char root[200];
    zip_int64_t pidx = -1;
    NLCL_TRY(find_root(za, path, root, sizeof root, &pidx));
    NLCL_TRY(check_byteorder(za, path, root));

    zip_stat_t sb;
    zip_stat_init(&sb);
    char pname[300];
    snprintf(pname, sizeof pname, "%s/data.pkl", root);
    if (zip_stat_index(za, (zip_uint64_t)pidx, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return zip_entry_error(path, pname, zip_get_error(za));
    if (sb.size > NLCL_PTH_MAX_PICKLE)
        return nlcl_error_set(NLCL_ERR_LIMIT, DOMAIN ": %s: %s is %llu bytes, over the %llu-byte limit",
                              path, pname, (unsigned long long)sb.size,
                              (unsigned long long)NLCL_PTH_MAX_PICKLE);
    size_t plen = (size_t)sb.size;
    unsigned char *pkl = malloc(plen ? plen : 1);
    if (!pkl) return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", path);
    zip_file_t *zf;
    nlcl_status s = entry_open(za, pidx, path, pname, plen, &zf);
    if (s == NLCL_OK) {
        s = entry_read(zf, path, pname, pkl, plen, 1);
        zip_fclose(zf);
    }
    if (s != NLCL_OK) {
        free(pkl);
        return s;
    }

    unpickler u;
    memset(&u, 0, sizeof u);
    u.file = path;
    u.p = pkl;
    u.len = plen;
    obj *res = NULL;
    s = unpickle(&u, &res);

    tref *refs = NULL;
    int nref = 0;
    if (s == NLCL_OK && res->kind != O_DICT)
        s = nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                           DOMAIN ": %s: the pickle holds %s, not a state_dict (a dict of tensors)",
                           path, kind_name(res));
    if (s == NLCL_OK) {
        nref = (int)(res->u.dict.n / 2);
        refs = calloc((size_t)nref + 1, sizeof *refs);
        if (!refs) s = nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", path);
    }
    uint64_t tensor_bytes = 0;
    for (int i = 0; s == NLCL_OK && i < nref; i++) {
        const obj *k = res->u.dict.kv[2 * i], *v = res->u.dict.kv[2 * i + 1];
        char pb[100];
        if (k->kind != O_STR || k->u.str.len == 0 || strlen(k->u.str.s) != k->u.str.len) {
            s = nlcl_error_set(NLCL_ERR_FORMAT,
                               DOMAIN ": %s: state_dict entry %d has a key that is not a non-empty "
                                      "string",
                               path, i);
            break;
        }
        if (v->kind != O_TENSOR) {
            s = nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                               DOMAIN ": %s: state_dict entry '%s' is %s, not a tensor", path,
                               printable(k->u.str.s, k->u.str.len, pb, sizeof pb), kind_name(v));
            break;
        }
        refs[i].name = k->u.str.s;
        refs[i].t = v;
        refs[i].out_index = i;
        s = check_tensor(path, &refs[i]);
        if (s == NLCL_OK) {
            tensor_bytes += (uint64_t)refs[i].numel * 4;
            if (tensor_bytes > NLCL_WEIGHTS_MAX_BYTES)
                s = nlcl_error_set(NLCL_ERR_LIMIT, DOMAIN ": %s: tensors exceed %llu bytes in total",
                                   path, (unsigned long long)NLCL_WEIGHTS_MAX_BYTES);
        }
    }
    /* Storages: consistent declarations for a key, sizes under the cap. */
    if (s == NLCL_OK) {
        qsort(refs, (size_t)nref, sizeof *refs, cmp_tref_key);
        uint64_t storage_bytes = 0;
        for (int i = 0; s == NLCL_OK && i < nref; i++) {
            const obj *st = refs[i].t->u.tensor.storage;
            const obj *prev = i ? refs[i - 1].t->u.tensor.storage : NULL;
            if (prev && strcmp(prev->u.storage.key, st->u.storage.key) == 0) {
                if (prev->u.storage.numel != st->u.storage.numel ||
                    strcmp(prev->u.storage.type->u.glob.name, st->u.storage.type->u.glob.name) != 0)
                    s = nlcl_error_set(NLCL_ERR_FORMAT,
                                       DOMAIN ": %s: storage '%s' is declared with different "
                                              "types or sizes",
                                       path, st->u.storage.key);
                continue;
            }
            storage_bytes += (uint64_t)st->u.storage.numel * 4; /* numel < 2^62 by check_tensor */
            if (storage_bytes > NLCL_WEIGHTS_MAX_BYTES)
                s = nlcl_error_set(NLCL_ERR_LIMIT, DOMAIN ": %s: storages exceed %llu bytes in total",
                                   path, (unsigned long long)NLCL_WEIGHTS_MAX_BYTES);
            if (s == NLCL_OK) s = check_storage_entry(za, path, root, st, refs[i].name);
        }
        /* Back to state_dict order for allocation. */
        for (int i = 0; i < nref; i++) {
            while (refs[i].out_index != i) {
                tref tmp = refs[refs[i].out_index];
                refs[refs[i].out_index] = refs[i];
                refs[i] = tmp;
            }
        }
    }
    for (int i = 0; s == NLCL_OK && i < nref; i++) {
        const obj *t = refs[i].t;
        int64_t shape[NLCL_MAX_DIMS];
        for (int j = 0; j < t->u.tensor.ndim; j++) shape[j] = t->u.tensor.size->u.tup.items[j]->u.i;
        s = nlcl_tensor_dict_add(d, refs[i].name, t->u.tensor.ndim, shape, NULL, NULL);
        if (s == NLCL_ERR_INVALID_ARG) /* duplicate key */
            s = nlcl_error_prefix(NLCL_ERR_FORMAT, DOMAIN ": %s: state_dict: ", path);
        else if (s != NLCL_OK)
            s = nlcl_error_prefix(s, DOMAIN ": %s: ", path);
    }
    if (s == NLCL_OK) {
        for (int i = 0; i < nref; i++) refs[i].out = &d->tensors[i];
        s = load_storages(za, path, root, refs, nref);
    }
    free(refs);
    free_all(&u);
    free(pkl);
    return s;
}

nlcl_status nlcl_pth_load(const char *path, nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za) return zip_open_error(path, err);
    nlcl_status s = load_archive(za, path, d);
    zip_discard(za);
    if (s != NLCL_OK) nlcl_tensor_dict_free(d);
    return s;
}

nlcl_status nlcl_pth_load_memory(const void *buf, size_t len, const char *name,
                                 nlcl_tensor_dict *d) {
    nlcl_tensor_dict_init(d);
    if (!name) name = "<memory>";
    if (!buf && len) return nlcl_error_set(NLCL_ERR_INVALID_ARG, DOMAIN ": %s: NULL buffer", name);
    static const unsigned char empty[1] = {0};
    zip_error_t ze;
    zip_error_init(&ze);
    /* The source borrows buf (freep = 0); the archive owns the source once
     * zip_open_from_source succeeds, and zip_discard frees both. */
    zip_source_t *zs = zip_source_buffer_create(buf ? buf : empty, len, 0, &ze);
    if (!zs) {
        zip_error_fini(&ze);
        return nlcl_error_set(NLCL_ERR_NOMEM, DOMAIN ": %s: out of memory", name);
    }
    zip_t *za = zip_open_from_source(zs, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(zs);
        zip_error_fini(&ze);
        nlcl_status s = zip_open_error(name, code);
        /* A "read error" on a memory buffer means offsets past its end. */
        return s == NLCL_ERR_IO ? nlcl_error_prefix(NLCL_ERR_FORMAT, "%s", "") : s;
    }
    zip_error_fini(&ze);
    nlcl_status s = load_archive(za, name, d);
    zip_discard(za);
    if (s == NLCL_ERR_IO) s = nlcl_error_prefix(NLCL_ERR_FORMAT, "%s", "");
    if (s != NLCL_OK) nlcl_tensor_dict_free(d);
    return s;
}
