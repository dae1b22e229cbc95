/* Hand-written PyTorch state_dict pickles (protocol 2, as torch.save writes
 * them) for the tests of the restricted unpickler (tests/test_weights.c) and
 * the fuzz seeds (fuzz/make_seeds.c). One growable byte buffer; every writer
 * appends one pickle construct. Allocation failure aborts (test code). */
#ifndef NLCL_TESTS_PICKLE_WRITER_H
#define NLCL_TESTS_PICKLE_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct pw_bytes {
    unsigned char *b;
    size_t n, cap;
} pw_bytes;

void pw_put(pw_bytes *x, const void *p, size_t n); /* raw bytes */
void pw_op(pw_bytes *x, int op);                   /* one opcode byte */
void pw_str(pw_bytes *x, const char *s);           /* BINUNICODE */
void pw_int(pw_bytes *x, int64_t v);               /* BININT1, BININT2 or BININT (int32) */
void pw_global(pw_bytes *x, const char *mod, const char *name); /* GLOBAL mod\nname\n */
/* a tuple of ints: EMPTY_TUPLE, TUPLE1..3, or MARK ... TUPLE */
void pw_int_tuple(pw_bytes *x, const int64_t *v, int n);

/* One state_dict entry name -> _rebuild_tensor_v2(storage, offset, size,
 * stride, False, OrderedDict()), the storage a persistent id ('storage',
 * torch.<stype>, key, 'cpu', snumel); memo > 0 memoises the storage there
 * (BINPUT, as torch.save does). */
typedef struct pw_tensor {
    const char *name, *stype, *key;
    int64_t snumel, offset;
    int ndim;
    int64_t size[9], stride[9];
    int memo;
} pw_tensor;
void pw_tensor_entry(pw_bytes *x, const pw_tensor *t);

/* PROTO 2, OrderedDict() memoised at 0 and 1, MARK: the entries follow. */
void pw_begin(pw_bytes *x);
/* SETITEMS, with_metadata: BUILD {'_metadata': OrderedDict()}, STOP. */
void pw_end(pw_bytes *x, int with_metadata);
/* A whole state_dict pickle of n tensors. */
void pw_state_dict(pw_bytes *x, const pw_tensor *ts, int n);

#endif
