#!/bin/sh
# Set up (Debian packages, with --test: numpy, PIL, python3-onnx, Node.js and
# ONNX Runtime from npm), build, and run every test.
#   scripts/test.sh            the normal build (build/, or $NLCL_BUILD_DIR as
#                              for scripts/build.sh)
#   scripts/test.sh --sanitize the same suite under ASan+UBSan (build-asan/, or
#                              $NLCL_BUILD_DIR), with NLCL_MEMCHECK=1: the
#                              numerics-only parts on large inputs are skipped
# Tests that need ../shared/data report "Skipped" when it is missing.
set -eu
cd "$(dirname "$0")/.."
top="$PWD"
scripts/setup.sh --test
if [ "${1:-}" = "--sanitize" ]; then
  dir="${NLCL_BUILD_DIR:-build-asan}"
  NLCL_BUILD_DIR="$dir" scripts/build.sh -DNLCL_SANITIZE=ON
  cd "$dir"
  NLCL_MEMCHECK=1 ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$top/scripts/lsan.supp:print_suppressions=0" \
    ctest --output-on-failure -j1 --timeout 1200
else
  dir="${NLCL_BUILD_DIR:-build}"
  NLCL_BUILD_DIR="$dir" scripts/build.sh
  cd "$dir"
  ctest --output-on-failure -j1 --timeout 1200
fi
