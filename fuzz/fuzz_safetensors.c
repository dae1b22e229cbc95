/* libFuzzer target: nlcl_safetensors_load_memory (F32/F16/BF16/F64, metadata,
 * empty and scalar tensors).
 * Seeds: build-fuzz/seeds/safetensors (fuzz/make_seeds.c); dictionary: fuzz/json.dict.
 * Run: scripts/fuzz.sh 60 safetensors (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_safetensors(data, size)) abort();
    return 0;
}
