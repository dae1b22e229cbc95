/* libFuzzer target: nlcl_image_load_memory (the full load), started from
 * TIFF seeds (RGB 8/16, RGBA, planar, grey 1/4/16, MinIsWhite, palette,
 * tiles; none/LZW/deflate/PackBits).
 * Seeds: build-fuzz/seeds/tiff (fuzz/make_seeds.c); dictionary: fuzz/tiff.dict.
 * Run: scripts/fuzz.sh 60 tiff (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_image(data, size)) abort();
    return 0;
}
