/* libFuzzer target: nlcl_image_load_memory and the header-only decode, started from
 * PNG seeds (grey 1/2/4/8/16-bit, grey+alpha, palette+tRNS, RGB(A) 8/16-bit,
 * Adam7, ancillary chunks); each input runs as is and, if a chunk CRC is
 * wrong, again with the CRCs repaired (nlcl_fuzz_png in fuzz_common.h).
 * Seeds: build-fuzz/seeds/png (fuzz/make_seeds.c); dictionary: fuzz/png.dict.
 * Run: scripts/fuzz.sh 60 png (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_png(data, size)) abort();
    return 0;
}
