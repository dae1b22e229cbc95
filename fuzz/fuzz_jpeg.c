/* libFuzzer target: nlcl_image_load_memory and the header-only decode, started from
 * JPEG seeds (grey, 4:2:0/4:2:2/4:4:4, progressive, restart markers,
 * arithmetic coding).
 * Seeds: build-fuzz/seeds/jpeg (fuzz/make_seeds.c); dictionary: fuzz/jpeg.dict.
 * Run: scripts/fuzz.sh 60 jpeg (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_image(data, size)) abort();
    return 0;
}
