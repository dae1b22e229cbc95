/* The restricted unpickler of PyTorch .pth files (src/io/pickle.h). */
#include "io/pickle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"


/* Bounds of the unpickler (a 316k-parameter state_dict needs < 1000 of each). */
#define MAX_STACK (1u << 20)
#define MAX_MARKS (1u << 16)
#define MAX_MEMO (1u << 22)
#define MAX_STR (1u << 20)
#define MAX_CELLS (1u << 24) /* objects + tuple/dict slots */
#define MAX_GLOBAL_LINE NLCL_PICKLE_MAX_GLOBAL_LINE
#define MAX_KEY 64

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
const char *nlcl_pickle_printable(const char *s, size_t len, char *buf, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < len && k + 4 < n && i < 80; i++)
        buf[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (len > 80 && k + 4 < n) buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

const char *nlcl_pickle_kind_name(const obj *o) {
    switch (o->kind) {
    case O_NONE: return "None";
    case O_BOOL: return "a bool";
    case O_INT: return "an int";
    case O_FLOAT: return "a float";
    case O_LIST: return "a list";
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
    return nlcl_error_set(s, "%s: pickle %s (data.pkl byte %zu)", u->file, what, u->pos);
}

static nlcl_status new_obj(unpickler *u, okind k, size_t slots, obj **out) {
    if (u->cells > MAX_CELLS || slots > MAX_CELLS - u->cells)
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: pickle creates more than %u objects",
                              u->file, MAX_CELLS);
    obj *o = calloc(1, sizeof *o);
    if (!o) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
    o->kind = k;
    o->all_next = u->all;
    u->all = o;
    u->cells += 1 + slots;
    *out = o;
    return NLCL_OK;
}

void nlcl_unpickler_free(unpickler *u) {
    for (obj *o = u->all, *n; o; o = n) {
        n = o->all_next;
        if (o->kind == O_STR) free(o->u.str.s);
        else if (o->kind == O_TUPLE || o->kind == O_LIST) free(o->u.tup.items);
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
        if (!s) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
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
        if (!t->u.tup.items) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
        memcpy(t->u.tup.items, u->stack + from, n * sizeof(obj *));
    }
    t->u.tup.n = n;
    u->sp = from;
    return push(u, t);
}

/* Doubles the slot array of a list or dict (16 slots at first), counting the
 * new slots as cells; cells <= MAX_CELLS always holds (new_obj and this check
 * keep it). Errors: LIMIT, NOMEM. */
static nlcl_status grow_slots(unpickler *u, obj ***slots, size_t *cap) {
    if (*cap + 16 > MAX_CELLS - u->cells)
        return nlcl_error_set(NLCL_ERR_LIMIT, "%s: pickle creates more than %u objects", u->file,
                              MAX_CELLS);
    size_t nc = *cap ? 2 * *cap : 16;
    obj **p = realloc(*slots, nc * sizeof *p);
    if (!p) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
    u->cells += nc - *cap;
    *slots = p;
    *cap = nc;
    return NLCL_OK;
}

static nlcl_status dict_set(unpickler *u, obj *d, obj *k, obj *v) {
    if (d->kind != O_DICT)
        return up_fail(u, NLCL_ERR_FORMAT, "SETITEM target is not a dict");
    if (d->u.dict.n + 2 > d->u.dict.cap) NLCL_TRY(grow_slots(u, &d->u.dict.kv, &d->u.dict.cap));
    d->u.dict.kv[d->u.dict.n++] = k;
    d->u.dict.kv[d->u.dict.n++] = v;
    return NLCL_OK;
}

static int str_is(const obj *o, const char *s) {
    return o->kind == O_STR && o->u.str.len == strlen(s) && memcmp(o->u.str.s, s, o->u.str.len) == 0;
}

/* The whitelist of globals, for GLOBAL and STACK_GLOBAL. */
static nlcl_status push_global(unpickler *u, const char *mod, size_t ml, const char *name,
                               size_t nl, const char *opname) {
    obj *g;
#define IS(s, l, lit) (l == sizeof(lit) - 1 && memcmp(s, lit, l) == 0)
    if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict")) {
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_ODICT;
    } else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_tensor_v2")) {
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_REBUILD;
    } else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_parameter")) {
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_REBUILD_PARAM;
    } else if (IS(mod, ml, "torch") && nl > 7 && memcmp(name + nl - 7, "Storage", 7) == 0 &&
               nl < MAX_GLOBAL_LINE) {
        for (size_t i = 0; i < nl; i++) {
            char c = name[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                goto refuse;
        }
        NLCL_TRY(new_obj(u, O_GLOBAL, 0, &g));
        g->u.glob.g = G_STORAGE_TYPE;
        memcpy(g->u.glob.name, name, nl);
        g->u.glob.name[nl] = '\0';
    } else {
        goto refuse;
    }
#undef IS
    return push(u, g);
refuse:;
    char a[100], b[100];
    return nlcl_error_set(NLCL_ERR_UNSUPPORTED,
                          "%s: pickle global '%s.%s' (%s) is not allowed: only "
                                 "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                                 "torch._utils._rebuild_parameter and torch.*Storage may appear "
                                 "in a state_dict",
                          u->file, nlcl_pickle_printable(mod, ml, a, sizeof a),
                          nlcl_pickle_printable(name, nl, b, sizeof b), opname);
}

/* GLOBAL "module\nname\n" */
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
    return push_global(u, line[0], ln[0], line[1], ln[1], "opcode 'c' GLOBAL");
}

/* STACK_GLOBAL (protocol 4): module and name strings from the stack */
static nlcl_status op_stack_global(unpickler *u) {
    obj *mod, *name;
    NLCL_TRY(pop(u, &name));
    NLCL_TRY(pop(u, &mod));
    if (mod->kind != O_STR || name->kind != O_STR || mod->u.str.len >= MAX_GLOBAL_LINE ||
        name->u.str.len >= MAX_GLOBAL_LINE)
        return up_fail(u, NLCL_ERR_FORMAT, "STACK_GLOBAL wants two short strings");
    return push_global(u, mod->u.str.s, mod->u.str.len, name->u.str.s, name->u.str.len,
                       "opcode 0x93 STACK_GLOBAL");
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
    if (fn->kind == O_GLOBAL && fn->u.glob.g == G_REBUILD_PARAM) {
        /* an nn.Parameter: (data tensor, requires_grad, backward_hooks) */
        obj **a = args->kind == O_TUPLE ? args->u.tup.items : NULL;
        if (!a || args->u.tup.n != 3 || a[0]->kind != O_TENSOR || a[1]->kind != O_BOOL ||
            (a[2]->kind != O_DICT && a[2]->kind != O_NONE))
            return up_fail(u, NLCL_ERR_FORMAT,
                           "_rebuild_parameter arguments are not (tensor, bool, dict)");
        return push(u, a[0]);
    }
    char od[40], msg[200];
    snprintf(msg, sizeof msg, "opcode %s on %s is not allowed", op_desc('R', od, sizeof od),
             fn->kind == O_GLOBAL && fn->u.glob.g == G_STORAGE_TYPE ? fn->u.glob.name : nlcl_pickle_kind_name(fn));
    return up_fail(u, NLCL_ERR_UNSUPPORTED, msg);
}

static nlcl_status op_mark(unpickler *u) {
    if (u->nmarks == u->mcap) {
        if (u->mcap >= MAX_MARKS) return up_fail(u, NLCL_ERR_LIMIT, "MARK nesting exceeds its limit");
        size_t nc = u->mcap ? 2 * u->mcap : 16;
        size_t *mk = realloc(u->marks, nc * sizeof *mk);
        if (!mk) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
        u->marks = mk;
        u->mcap = nc;
    }
    u->marks[u->nmarks++] = u->sp;
    return NLCL_OK;
}

/* BINUNICODE ('X': a 4-byte length), SHORT_BINUNICODE (0x8c: 1 byte),
 * BINUNICODE8 (0x8d: 8 bytes), then UTF-8 bytes */
static nlcl_status op_binunicode(unpickler *u, int op) {
    obj *o;
    const size_t lb = op == 0x8c ? 1 : op == 'X' ? 4 : 8;
    NLCL_TRY(need(u, lb));
    uint64_t n = 0;
    for (size_t i = lb; i-- > 0;) n = n << 8 | u->p[u->pos + i];
    u->pos += lb;
    if (n > MAX_STR) return up_fail(u, NLCL_ERR_LIMIT, "string exceeds the 1 MiB limit");
    NLCL_TRY(need(u, n));
    NLCL_TRY(new_obj(u, O_STR, n / 16, &o));
    o->u.str.s = malloc((size_t)n + 1);
    if (!o->u.str.s) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
    memcpy(o->u.str.s, u->p + u->pos, n);
    o->u.str.s[n] = '\0';
    o->u.str.len = n;
    u->pos += n;
    return push(u, o);
}

/* BININT ('J', 4 bytes signed), BININT1 ('K'), BININT2 ('M') */
static nlcl_status op_int(unpickler *u, int op) {
    obj *o;
    size_t n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
    NLCL_TRY(need(u, n));
    const unsigned char *q = u->p + u->pos;
    int64_t val = op == 'J' ? (int64_t)(int32_t)rd_u32(q) : op == 'K' ? q[0] : (q[0] | q[1] << 8);
    u->pos += n;
    NLCL_TRY(new_obj(u, O_INT, 0, &o));
    o->u.i = val;
    return push(u, o);
}

/* Store the top of the stack at memo index idx (BINPUT, MEMOIZE); the memo
 * grows by doubling from 256 entries, up to MAX_MEMO. */
static nlcl_status memo_put(unpickler *u, size_t idx) {
    if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
    if (idx >= MAX_MEMO) return up_fail(u, NLCL_ERR_LIMIT, "memo index exceeds its limit");
    if (idx >= u->memo_cap) {
        size_t nc = u->memo_cap ? u->memo_cap : 256;
        while (nc <= idx) nc *= 2;
        obj **mm = realloc(u->memo, nc * sizeof *mm);
        if (!mm) return nlcl_error_set(NLCL_ERR_NOMEM, "%s: out of memory", u->file);
        memset(mm + u->memo_cap, 0, (nc - u->memo_cap) * sizeof *mm);
        u->memo = mm;
        u->memo_cap = nc;
    }
    if (!u->memo[idx]) u->memo_len++;
    u->memo[idx] = u->stack[u->sp - 1];
    return NLCL_OK;
}

/* BINPUT ('q'), LONG_BINPUT ('r'): store the top in the memo; BINGET ('h'),
 * LONG_BINGET ('j'): push a stored one */
static nlcl_status op_memo(unpickler *u, int op) {
    size_t n = (op == 'q' || op == 'h') ? 1 : 4;
    NLCL_TRY(need(u, n));
    uint32_t idx = n == 1 ? u->p[u->pos] : rd_u32(u->p + u->pos);
    u->pos += n;
    if (op == 'h' || op == 'j') {
        if (idx >= u->memo_cap || !u->memo[idx])
            return up_fail(u, NLCL_ERR_FORMAT, "reads a memo entry that was never stored");
        return push(u, u->memo[idx]);
    }
    return memo_put(u, idx);
}

/* MEMOIZE (protocol 4): BINPUT at the memo's length, as Python's pickle */
static nlcl_status op_memoize(unpickler *u) { return memo_put(u, u->memo_len); }

/* SETITEM ('s') and SETITEMS ('u') into the dict below */
static nlcl_status op_setitems(unpickler *u, int op) {
    obj *k, *v;
    size_t m = 0;
    if (op == 's') {
        NLCL_TRY(pop(u, &v));
        NLCL_TRY(pop(u, &k));
        if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
        return dict_set(u, u->stack[u->sp - 1], k, v);
    }
    NLCL_TRY(pop_mark(u, &m));
    if (m == 0 || m <= floor_sp(u) || (u->sp - m) % 2)
        return up_fail(u, NLCL_ERR_FORMAT, "SETITEMS without a dict or with an odd item count");
    for (size_t i = m; i < u->sp; i += 2) NLCL_TRY(dict_set(u, u->stack[m - 1], u->stack[i], u->stack[i + 1]));
    u->sp = m;
    return NLCL_OK;
}

/* BUILD: only on a dict, whose state (the state_dict's _metadata) is ignored */
static nlcl_status op_build(unpickler *u) {
    obj *v;
    char od[40], msg[200];
    NLCL_TRY(pop(u, &v));
    if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
    obj *o = u->stack[u->sp - 1];
    if (o->kind == O_DICT) return NLCL_OK;
    snprintf(msg, sizeof msg, "opcode %s on %s is not allowed", op_desc('b', od, sizeof od),
             nlcl_pickle_kind_name(o));
    return up_fail(u, NLCL_ERR_UNSUPPORTED, msg);
}

/* BINFLOAT ('G'): an 8-byte big-endian double */
static nlcl_status op_binfloat(unpickler *u) {
    obj *o;
    NLCL_TRY(need(u, 8));
    uint64_t b = 0;
    for (int i = 0; i < 8; i++) b = b << 8 | u->p[u->pos + i];
    u->pos += 8;
    NLCL_TRY(new_obj(u, O_FLOAT, 0, &o));
    memcpy(&o->u.f, &b, 8);
    return push(u, o);
}

/* LONG1 (0x8a: 1-byte length), LONG4 (0x8b: 4 bytes): a little-endian two's
 * complement integer; up to 8 bytes an O_INT, longer an O_FLOAT (only ever
 * metadata beside the tensors: never a shape or an offset) */
static nlcl_status op_long(unpickler *u, int op) {
    obj *o;
    const size_t lb = op == 0x8a ? 1 : 4;
    NLCL_TRY(need(u, lb));
    uint32_t n = lb == 1 ? u->p[u->pos] : rd_u32(u->p + u->pos);
    u->pos += lb;
    if (n > MAX_STR) return up_fail(u, NLCL_ERR_LIMIT, "integer exceeds the 1 MiB limit");
    NLCL_TRY(need(u, n));
    const unsigned char *q = u->p + u->pos;
    u->pos += n;
    if (n <= 8) {
        uint64_t v = n && (q[n - 1] & 0x80) ? UINT64_MAX : 0; /* sign extension */
        for (size_t i = n; i-- > 0;) v = v << 8 | q[i];
        NLCL_TRY(new_obj(u, O_INT, 0, &o));
        o->u.i = (int64_t)v;
    } else {
        NLCL_TRY(new_obj(u, O_FLOAT, 0, &o));
        o->u.f = (q[n - 1] & 0x80) ? -HUGE_VAL : HUGE_VAL;
    }
    return push(u, o);
}

/* APPEND ('a'), APPENDS ('e'): items onto the list below */
static nlcl_status list_append(unpickler *u, obj *l, obj *v) {
    if (l->kind != O_LIST) return up_fail(u, NLCL_ERR_FORMAT, "APPEND target is not a list");
    if (l->u.tup.n == l->u.tup.cap) NLCL_TRY(grow_slots(u, &l->u.tup.items, &l->u.tup.cap));
    l->u.tup.items[l->u.tup.n++] = v;
    return NLCL_OK;
}

static nlcl_status op_append(unpickler *u, int op) {
    obj *v;
    size_t m = 0;
    if (op == 'a') {
        NLCL_TRY(pop(u, &v));
        if (u->sp <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
        return list_append(u, u->stack[u->sp - 1], v);
    }
    NLCL_TRY(pop_mark(u, &m));
    if (m == 0 || m <= floor_sp(u)) return up_fail(u, NLCL_ERR_FORMAT, "APPENDS without a list");
    for (size_t i = m; i < u->sp; i++) NLCL_TRY(list_append(u, u->stack[m - 1], u->stack[i]));
    u->sp = m;
    return NLCL_OK;
}

/* One opcode (at u->p[u->pos - 1]); *stop when it was STOP. */
static nlcl_status step(unpickler *u, int op, obj **result, int *stop) {
    obj *o;
    size_t m = 0;
    switch (op) {
    case 0x80: /* PROTO */
        NLCL_TRY(need(u, 1));
        if (u->p[u->pos] > 5) return up_fail(u, NLCL_ERR_UNSUPPORTED, "protocol is newer than 5");
        u->pos++;
        return NLCL_OK;
    case 0x95: /* FRAME: a length hint only */
        NLCL_TRY(need(u, 8));
        u->pos += 8;
        return NLCL_OK;
    case '}':
        NLCL_TRY(new_obj(u, O_DICT, 0, &o));
        return push(u, o);
    case ')': return make_tuple(u, u->sp);
    case 'N':
    case 0x88:
    case 0x89:
        NLCL_TRY(new_obj(u, op == 'N' ? O_NONE : O_BOOL, 0, &o));
        o->u.i = op == 0x88;
        return push(u, o);
    case ']':
        NLCL_TRY(new_obj(u, O_LIST, 0, &o));
        return push(u, o);
    case '(': return op_mark(u);
    case 'X':
    case 0x8c:
    case 0x8d: return op_binunicode(u, op);
    case 'G': return op_binfloat(u);
    case 0x8a:
    case 0x8b: return op_long(u, op);
    case 'a':
    case 'e': return op_append(u, op);
    case 0x93: return op_stack_global(u);
    case 0x94: return op_memoize(u);
    case 'J':
    case 'K':
    case 'M': return op_int(u, op);
    case 'q':
    case 'r':
    case 'h':
    case 'j': return op_memo(u, op);
    case 'c': return op_global(u);
    case 'Q': return op_binpersid(u);
    case 't':
        NLCL_TRY(pop_mark(u, &m));
        return make_tuple(u, m);
    case 0x85:
    case 0x86:
    case 0x87: {
        size_t n = (size_t)(op - 0x84);
        if (u->sp < floor_sp(u) + n) return up_fail(u, NLCL_ERR_FORMAT, "stack underflow");
        return make_tuple(u, u->sp - n);
    }
    case 'R': return op_reduce(u);
    case 's':
    case 'u': return op_setitems(u, op);
    case 'b': return op_build(u);
    case '.':
        *stop = 1;
        return pop(u, result);
    default: {
        char od[40], msg[200];
        u->pos--;
        snprintf(msg, sizeof msg, "opcode %s is not allowed", op_desc(op, od, sizeof od));
        return up_fail(u, NLCL_ERR_UNSUPPORTED, msg);
    }
    }
}

nlcl_status nlcl_unpickle(unpickler *u, obj **result) {
    while (u->pos < u->len) {
        int op = u->p[u->pos++], stop = 0;
        NLCL_TRY(step(u, op, result, &stop));
        if (stop) return NLCL_OK;
    }
    return up_fail(u, NLCL_ERR_FORMAT, "ends without STOP (truncated?)");
}

void nlcl_unpickler_init(unpickler *u, const char *file, const unsigned char *p, size_t len) {
    memset(u, 0, sizeof *u);
    u->file = file;
    u->p = p;
    u->len = len;
}
