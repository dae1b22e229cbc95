/* libFuzzer target: nlcl_pth_load_memory on whole .pth zip archives.
 * Seeds: build-fuzz/seeds/pth (fuzz/make_seeds.c); dictionary: fuzz/pickle.dict.
 * Run: scripts/fuzz.sh 60 pth (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_pth(data, size)) abort();
    return 0;
}
