/* libFuzzer target: the .pth unpickler: the input is archive/data.pkl of an
 * archive built in memory (fuzz_common.h), so mutations are not stopped by
 * the zip CRC check.
 * Seeds: build-fuzz/seeds/pickle (fuzz/make_seeds.c); dictionary: fuzz/pickle.dict.
 * Run: scripts/fuzz.sh 60 pickle (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_pickle(data, size)) abort();
    return 0;
}
