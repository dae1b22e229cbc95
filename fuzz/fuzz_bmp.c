/* libFuzzer target: nlcl_image_load_memory (the full load), started from
 * BMP seeds (24/32-bit, X1R5G5B5, 565/ARGB bitfields with a V4 header,
 * 1/4/8-bit palettes, top-down).
 * Seeds: build-fuzz/seeds/bmp (fuzz/make_seeds.c); dictionary: fuzz/bmp.dict.
 * Run: scripts/fuzz.sh 60 bmp (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_image(data, size)) abort();
    return 0;
}
