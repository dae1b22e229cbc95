/* nlcl/weights.h - named float32 tensors and the files that hold them:
 * safetensors (nlcl's own format) and PyTorch .pth state_dict archives
 * (import only).
 *
 * safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian
 * header length N, then N bytes of JSON
 *     {"__metadata__": {"key": "value", ...},
 *      "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the tensor bytes, little-endian, offsets relative to the end of the
 * header. nlcl writes F32 only ("__metadata__" first, then the tensors in
 * the dict's order, data packed in the same order, the header padded with
 * spaces to a multiple of 8 bytes as the reference implementation does) and
 * reads F32, F16, BF16 and F64 (converted to float32: F16/BF16 exactly, F64
 * rounded to nearest, which the metadata entry "import" reports when it
 * changed a value). The loader checks, before it allocates any tensor: the
 * header length against the file size and a 100 MB cap
 * (NLCL_SAFETENSORS_MAX_HEADER), that the header is one JSON object (only
 * whitespace may follow it), that "__metadata__" (optional, at most once) maps
 * strings to strings, that every tensor entry has a known dtype, a shape of
 * at most 8 non-negative integer dims whose product times the dtype size
 * equals its byte range (overflow-checked), data_offsets [begin, end] with
 * begin <= end inside the data section, that the ranges do not overlap and
 * cover the data section exactly, and that names are unique and non-empty.
 * A valid safetensors dtype other than the four above (I64, U8, ...) is
 * NLCL_ERR_UNSUPPORTED; an unknown dtype string is NLCL_ERR_FORMAT.
 *
 * .pth (torch.save, PyTorch >= 1.6 zip format): a zip archive holding
 * "<root>/data.pkl", a pickle of an OrderedDict name -> tensor, and one raw
 * little-endian file per storage at "<root>/data/<key>" (<root> is the one
 * top-level folder: "archive" or the file's stem, depending on the torch
 * version). The importer reads it with libzip (stored or deflated entries)
 * and a restricted unpickler that understands only the opcodes torch.save
 * writes for a state_dict and for a training checkpoint around one
 * (protocols 2 and 4): PROTO, FRAME, EMPTY_DICT, EMPTY_LIST, MARK,
 * BINUNICODE/SHORT_BINUNICODE/BINUNICODE8, BINPUT/LONG_BINPUT/MEMOIZE,
 * BINGET/LONG_BINGET, GLOBAL and STACK_GLOBAL for exactly
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter and torch.<T>Storage (any storage type
 * parses; all but torch.FloatStorage are rejected as unsupported dtypes when
 * a tensor of the state_dict uses them), BINPERSID with the persistent id
 * ('storage', storage_type, key, location, numel), TUPLE, TUPLE1/2/3,
 * EMPTY_TUPLE, BININT/BININT1/BININT2, LONG1/LONG4, BINFLOAT,
 * NEWFALSE/NEWTRUE, NONE, APPEND(S) on a list, REDUCE (only OrderedDict(),
 * _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks[, metadata]) and _rebuild_parameter(tensor, requires_grad,
 * hooks)), SETITEM(S), BUILD on a dict (the state_dict's `_metadata`
 * attribute, ignored), STOP. Checkpoints as people save them are found: a
 * pickle whose dict holds other things than tensors (an epoch, an optimizer
 * state, arguments) gives the dict under 'state_dict', 'params' or 'model'
 * (one or two levels down; the rest is ignored), and a "module." prefix on
 * every name (DataParallel, DistributedDataParallel) is stripped; both are
 * said in the metadata entry "import" ("the state_dict under 'state_dict' of
 * a checkpoint ...; the DataParallel prefix 'module.' stripped from N
 * names"), which nlcl info and nlcl derain -v print. Any other
 * opcode or global is refused with NLCL_ERR_UNSUPPORTED naming it, e.g.
 * "evil.pth: pickle global 'os.system' (opcode 'c' GLOBAL) is
 * not allowed ...": nothing is ever executed. The pickle (at most
 * NLCL_PTH_MAX_PICKLE bytes), its stack, marks, memo, strings and object
 * count are bounded, and the interpreter does not recurse. Tensors must be
 * float32, contiguous (row-major strides; dims of size 1 ignored) and lie
 * inside their storage; a storage file must hold exactly the bytes its
 * persistent id declares (the zip's sizes are checked against that and
 * against what is actually read, CRC included); every storage's entry, its
 * declared size, and a size of at most 1032 times its compressed size (the
 * most deflate can expand) are checked before any tensor is allocated, so a
 * missing, short or implausibly compressed storage is refused before the
 * loader allocates (and zeroes) the tensors it claims. The total of storage bytes
 * and of tensor bytes is capped at NLCL_WEIGHTS_MAX_BYTES (NLCL_ERR_LIMIT).
 * Pre-1.6 (non-zip) torch files are NLCL_ERR_UNSUPPORTED.
 *
 * Loaders initialise *d themselves (previous contents are not freed: pass an
 * empty or uninitialised dict) and leave it empty on failure, so only a
 * successful load needs nlcl_tensor_dict_free.
 *
 * Errors: NLCL_ERR_IO, NLCL_ERR_FORMAT ("f.safetensors: header
 * length 18446744073709551615 exceeds file size 1234"), NLCL_ERR_UNSUPPORTED,
 * NLCL_ERR_LIMIT, NLCL_ERR_NOMEM. Messages start "<path>: " and name the
 * tensor concerned. Writing is
 * atomic (temporary file, fsync, rename).
 */
#ifndef NLCL_WEIGHTS_H
#define NLCL_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/export.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

#define NLCL_MAX_DIMS 8
/* Largest safetensors JSON header accepted (bytes). */
#define NLCL_SAFETENSORS_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* Largest data.pkl accepted in a .pth archive (bytes). */
#define NLCL_PTH_MAX_PICKLE ((uint64_t)64 << 20)
/* Largest total of tensor (and, for .pth, storage) bytes one load accepts. */
#define NLCL_WEIGHTS_MAX_BYTES ((uint64_t)4 << 30)

typedef struct nlcl_named_tensor {
    char *name;
    int ndim;
    int64_t shape[NLCL_MAX_DIMS];
    size_t numel;
    float *data; /* numel floats, owned by the dict */
} nlcl_named_tensor;

typedef struct nlcl_tensor_dict {
    nlcl_named_tensor *tensors;
    int count, cap;
    char **meta_keys, **meta_values; /* string -> string metadata */
    int meta_count, meta_cap;
} nlcl_tensor_dict;

/* An empty dict (equivalent to zero-initialising the struct). */
void nlcl_tensor_dict_init(nlcl_tensor_dict *d);
void nlcl_tensor_dict_free(nlcl_tensor_dict *d);
/* Add a tensor, copying `data` (numel = product of shape) unless data is
 * NULL, in which case it is zero-filled. ndim 0..NLCL_MAX_DIMS (0 = scalar,
 * numel 1), dims >= 0. Empty or duplicate names and negative dims are
 * NLCL_ERR_INVALID_ARG; an element count overflowing size_t is
 * NLCL_ERR_LIMIT. Returns the new tensor in *out if out != NULL (valid until
 * the next add). */
nlcl_status nlcl_tensor_dict_add(nlcl_tensor_dict *d, const char *name, int ndim,
                                 const int64_t *shape, const float *data,
                                 nlcl_named_tensor **out);
/* Total number of elements of all tensors. */
size_t nlcl_tensor_dict_numel(const nlcl_tensor_dict *d);
/* Element count of a shape (product of dims, 1 for ndim 0) with the checks of
 * nlcl_tensor_dict_add (ndim range, dims >= 0, no size_t overflow of the
 * count or of its float32 byte size). */
nlcl_status nlcl_tensor_numel(int ndim, const int64_t *shape, size_t *numel);
/* NULL if absent. */
nlcl_named_tensor *nlcl_tensor_dict_find(const nlcl_tensor_dict *d, const char *name);
/* Set (or replace) a metadata entry. */
nlcl_status nlcl_tensor_dict_set_meta(nlcl_tensor_dict *d, const char *key, const char *value);
/* NULL if absent. */
const char *nlcl_tensor_dict_get_meta(const nlcl_tensor_dict *d, const char *key);
/* Append `note` to the metadata entry "import" ("; "-separated), where the
 * loaders say what they did to carry a file's content into float32 tensors
 * (F64 values rounded; a .pth state_dict found under a wrapper key, a
 * "module." prefix stripped). nlcl info and nlcl derain -v print it. */
nlcl_status nlcl_tensor_dict_add_note(nlcl_tensor_dict *d, const char *note);

/* safetensors. Tensors are written in the dict's order as F32; metadata as
 * "__metadata__" (omitted when empty). Tensor names "" and "__metadata__"
 * are NLCL_ERR_INVALID_ARG. Loading keeps the header's order. The header is
 * JSON, which must be UTF-8: bytes of names, keys and values that are not
 * (e.g. a Latin-1 file name in a training command) are written as \xNN, as
 * Python's errors="backslashreplace" does, so "caf\xe9" is read back.
 * Loading a FIFO, device or folder is NLCL_ERR_IO ("not a regular file",
 * without waiting for a writer). */
nlcl_status nlcl_safetensors_save(const char *path, const nlcl_tensor_dict *d);
nlcl_status nlcl_safetensors_load(const char *path, nlcl_tensor_dict *d);
/* From memory (e.g. the embedded default model); `name` is used in errors. */
nlcl_status nlcl_safetensors_load_memory(const void *buf, size_t len, const char *name,
                                         nlcl_tensor_dict *d);

/* PyTorch .pth state_dict import (see above). */
nlcl_status nlcl_pth_load(const char *path, nlcl_tensor_dict *d);
/* The same from a .pth file already in memory (an embedded model, a
 * download, a fuzzer's input): buf holds the whole zip archive (len bytes,
 * borrowed, not modified, needed only during the call); `name` is used in
 * error messages in place of the path (NULL: "<memory>"). Same checks,
 * limits and errors as nlcl_pth_load, except that nothing is read from disk
 * (no NLCL_ERR_IO); buf == NULL with len > 0 is NLCL_ERR_INVALID_ARG, and an
 * empty or non-zip buffer is NLCL_ERR_FORMAT. */
nlcl_status nlcl_pth_load_memory(const void *buf, size_t len, const char *name,
                                 nlcl_tensor_dict *d);

/* Either format, recognised by content ("PK\3\4" = .pth zip, a pre-1.6
 * torch pickle = NLCL_ERR_UNSUPPORTED, otherwise safetensors). Before either
 * reader runs: a FIFO, device or folder is NLCL_ERR_IO ("not a regular
 * file", without waiting for a writer); an empty file, a zip archive without
 * its end-of-central-directory record ("truncated or corrupt zip archive")
 * and a file that is neither format (byte 8 is not the '{' of a safetensors
 * header, or the header length is implausible: "not a safetensors or
 * PyTorch .pth file", e.g. an image) are NLCL_ERR_FORMAT. */
nlcl_status nlcl_weights_load(const char *path, nlcl_tensor_dict *d);

/* 1 if every element of every tensor is finite; otherwise 0, with
 * *bad_name (if bad_name != NULL) set to the first tensor holding a NaN or
 * an infinity (a pointer into d, valid while d is). For refusing weights that
 * would turn every output into NaN. */
int nlcl_tensor_dict_all_finite(const nlcl_tensor_dict *d, const char **bad_name);

NLCL_API_END
#endif
