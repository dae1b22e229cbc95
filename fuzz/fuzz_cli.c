/* libFuzzer target: cli_parse() (cli/args.c) with a fixed option table of every
 * option type; argv is the input split at NUL bytes.
 * Seeds: build-fuzz/seeds/cli (fuzz/make_seeds.c); dictionary: fuzz/cli.dict.
 * Run: scripts/fuzz.sh 60 cli (see fuzz/README.md). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (nlcl_fuzz_cli(data, size)) abort();
    return 0;
}
