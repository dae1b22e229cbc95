/* Hand-written state_dict pickles (tests/pickle_writer.h). */
#include "pickle_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pw_put(pw_bytes *x, const void *p, size_t n) {
    if (n == 0) return;
    if (x->n + n > x->cap) {
        x->cap = (x->n + n) * 2 + 64;
        unsigned char *b = realloc(x->b, x->cap);
        if (!b) {
            fprintf(stderr, "pickle_writer: out of memory\n");
            abort();
        }
        x->b = b;
    }
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

void pw_op(pw_bytes *x, int op) {
    unsigned char u = (unsigned char)op;
    pw_put(x, &u, 1);
}

static void u32(pw_bytes *x, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    pw_put(x, b, 4);
}

void pw_str(pw_bytes *x, const char *s) {
    pw_op(x, 'X');
    u32(x, (uint32_t)strlen(s));
    pw_put(x, s, strlen(s));
}

void pw_int(pw_bytes *x, int64_t v) {
    if (v >= 0 && v < 256) {
        pw_op(x, 'K');
        pw_op(x, (int)v);
    } else if (v >= 0 && v < 65536) {
        pw_op(x, 'M');
        pw_op(x, (int)(v & 0xff));
        pw_op(x, (int)(v >> 8));
    } else {
        pw_op(x, 'J');
        u32(x, (uint32_t)(int32_t)v);
    }
}

void pw_global(pw_bytes *x, const char *mod, const char *name) {
    pw_op(x, 'c');
    pw_put(x, mod, strlen(mod));
    pw_op(x, '\n');
    pw_put(x, name, strlen(name));
    pw_op(x, '\n');
}

void pw_int_tuple(pw_bytes *x, const int64_t *v, int n) {
    if (n == 0) {
        pw_op(x, ')');
        return;
    }
    if (n > 3) pw_op(x, '(');
    for (int i = 0; i < n; i++) pw_int(x, v[i]);
    pw_op(x, n == 1 ? 0x85 : n == 2 ? 0x86 : n == 3 ? 0x87 : 't');
}

void pw_tensor_entry(pw_bytes *x, const pw_tensor *t) {
    pw_str(x, t->name);
    pw_global(x, "torch._utils", "_rebuild_tensor_v2");
    pw_op(x, '(');
    pw_op(x, '(');
    pw_str(x, "storage");
    pw_global(x, "torch", t->stype);
    pw_str(x, t->key);
    pw_str(x, "cpu");
    pw_int(x, t->snumel);
    pw_op(x, 't');
    pw_op(x, 'Q');
    if (t->memo > 0) { /* BINPUT */
        pw_op(x, 'q');
        pw_op(x, t->memo);
    }
    pw_int(x, t->offset);
    pw_int_tuple(x, t->size, t->ndim);
    pw_int_tuple(x, t->stride, t->ndim);
    pw_op(x, 0x89);
    pw_global(x, "collections", "OrderedDict");
    pw_op(x, ')');
    pw_op(x, 'R');
    pw_op(x, 't');
    pw_op(x, 'R');
}

void pw_begin(pw_bytes *x) {
    pw_op(x, 0x80);
    pw_op(x, 2);
    pw_global(x, "collections", "OrderedDict");
    pw_op(x, 'q');
    pw_op(x, 0);
    pw_op(x, ')');
    pw_op(x, 'R');
    pw_op(x, 'q');
    pw_op(x, 1);
    pw_op(x, '(');
}

void pw_end(pw_bytes *x, int with_metadata) {
    pw_op(x, 'u');
    if (with_metadata) {
        pw_op(x, '}');
        pw_str(x, "_metadata");
        pw_global(x, "collections", "OrderedDict");
        pw_op(x, ')');
        pw_op(x, 'R');
        pw_op(x, 's');
        pw_op(x, 'b');
    }
    pw_op(x, '.');
}

void pw_state_dict(pw_bytes *x, const pw_tensor *ts, int n) {
    pw_begin(x);
    for (int i = 0; i < n; i++) pw_tensor_entry(x, &ts[i]);
    pw_end(x, 0);
}
