#!/bin/sh
# Set up (Debian packages), build, and run every test.
#   scripts/test.sh            the normal build (build/)
#   scripts/test.sh --sanitize the same suite under ASan+UBSan (build-asan/)
# Tests that need ../shared/data report "Skipped" when it is missing.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${1:-}" = "--sanitize" ]; then
  NLCL_BUILD_DIR=build-asan scripts/build.sh -DNLCL_SANITIZE=ON
  cd build-asan
  ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j1
else
  scripts/build.sh
  cd build
  ctest --output-on-failure -j1
fi
