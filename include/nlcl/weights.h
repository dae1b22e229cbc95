/* nlcl/weights.h - named float32 tensors and the files that hold them:
 * safetensors (nlcl's own format) and PyTorch .pth state_dict archives
 * (import only).
 *
 * safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian
 * header length N, then N bytes of JSON
 *     {"__metadata__": {"key": "value", ...},
 *      "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the tensor bytes, little-endian, offsets relative to the end of the
 * header. nlcl writes F32 only and reads F32, F16, BF16 and F64 (converted to
 * float32). The loader checks, before using anything: the header length
 * against the file size and a 100 MB cap, that the JSON parses, that every
 * entry has a known dtype, a shape of at most 8 non-negative dims whose
 * product times the dtype size equals its byte range, that the ranges lie in
 * the file, do not overlap and cover the data section exactly, and that names
 * are unique and non-empty.
 *
 * .pth (torch.save, PyTorch >= 1.6 zip format): a zip archive holding
 * "<root>/data.pkl", a pickle of an OrderedDict name -> tensor, and one raw
 * little-endian file per storage at "<root>/data/<key>". The importer reads it
 * with libzip and a restricted unpickler that understands only the opcodes a
 * state_dict uses (protocol 2: PROTO, FRAME, EMPTY_DICT, MARK, BINUNICODE,
 * BINPUT/LONG_BINPUT, BINGET/LONG_BINGET, GLOBAL for exactly
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
 * torch.FloatStorage (and a few other torch.*Storage names, which are rejected
 * as unsupported dtypes), BINPERSISTID, TUPLE*, EMPTY_TUPLE, BININT*, NEWFALSE/
 * NEWTRUE, NONE, REDUCE, SETITEM(S), BUILD on an OrderedDict, STOP). Any other
 * opcode or global is refused with NLCL_ERR_UNSUPPORTED naming it: nothing is
 * ever executed. Storages must be float32 and contiguous views with in-range
 * offsets.
 *
 * Errors: NLCL_ERR_IO, NLCL_ERR_FORMAT ("weights_load: f.safetensors: header
 * length 18446744073709551615 exceeds file size 1234"), NLCL_ERR_UNSUPPORTED,
 * NLCL_ERR_NOMEM. Writing is atomic (temporary file, fsync, rename).
 */
#ifndef NLCL_WEIGHTS_H
#define NLCL_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NLCL_MAX_DIMS 8

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
 * NULL, in which case it is zero-filled. Duplicate names are
 * NLCL_ERR_INVALID_ARG. Returns the new tensor in *out if out != NULL. */
nlcl_status nlcl_tensor_dict_add(nlcl_tensor_dict *d, const char *name, int ndim,
                                 const int64_t *shape, const float *data,
                                 nlcl_named_tensor **out);
/* NULL if absent. */
nlcl_named_tensor *nlcl_tensor_dict_find(const nlcl_tensor_dict *d, const char *name);
/* Set (or replace) a metadata entry. */
nlcl_status nlcl_tensor_dict_set_meta(nlcl_tensor_dict *d, const char *key, const char *value);
/* NULL if absent. */
const char *nlcl_tensor_dict_get_meta(const nlcl_tensor_dict *d, const char *key);

/* safetensors. Tensors are written in the dict's order; metadata as
 * "__metadata__". */
nlcl_status nlcl_safetensors_save(const char *path, const nlcl_tensor_dict *d);
nlcl_status nlcl_safetensors_load(const char *path, nlcl_tensor_dict *d);
/* From memory (e.g. the embedded default model); `name` is used in errors. */
nlcl_status nlcl_safetensors_load_memory(const void *buf, size_t len, const char *name,
                                         nlcl_tensor_dict *d);

/* PyTorch .pth state_dict import (see above). */
nlcl_status nlcl_pth_load(const char *path, nlcl_tensor_dict *d);

/* Either format, recognised by content ("PK\3\4" = .pth zip, otherwise
 * safetensors). */
nlcl_status nlcl_weights_load(const char *path, nlcl_tensor_dict *d);

#ifdef __cplusplus
}
#endif
#endif
